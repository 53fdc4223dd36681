//! The AC-3 and E-AC-3 elementary stream readers on arbitrary bytes
//! (`common::readers::ac3`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("ac3", data));
