//! The H.264 syntax parsers (`common::syntax::h264`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("h264_syntax", data));
