//! One connection's bytes through the server core (`common::rtsp::serve`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("serve_requests", data));
