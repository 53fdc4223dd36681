//! The MPEG audio and ADTS header parsers (`common::syntax::audio_headers`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("audio_headers", data));
