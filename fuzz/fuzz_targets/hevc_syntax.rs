//! The H.265 syntax parsers (`common::syntax::hevc`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("hevc_syntax", data));
