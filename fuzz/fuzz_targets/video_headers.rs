//! The video header parsers on arbitrary bytes (`common::payloads::video_headers`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("video_headers", data));
