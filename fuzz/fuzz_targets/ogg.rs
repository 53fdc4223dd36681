//! The Ogg reader on arbitrary bytes, as they are and with every page's
//! CRC set right (`common::readers::ogg`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("ogg", data));
