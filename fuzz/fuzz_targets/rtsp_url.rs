//! Request-URIs mapped to files under a directory (`common::rtsp::url_path`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtsp_url", data));
