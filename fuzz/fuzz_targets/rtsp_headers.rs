//! Transport, Range and Session header values (`common::rtsp::headers`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtsp_headers", data));
