//! The VP8 depacketizer and our round trip of what it makes (`common::payloads`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtp_vp8", data));
