//! The RTSP framing of a connection's bytes (`common::rtsp::request`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtsp_request", data));
