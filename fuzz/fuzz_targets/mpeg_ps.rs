//! The MPEG program stream reader on arbitrary bytes (`common::readers::read_as`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("mpeg_ps", data));
