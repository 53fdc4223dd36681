//! Format detection on arbitrary bytes (`common::readers::detect_format`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("detect", data));
