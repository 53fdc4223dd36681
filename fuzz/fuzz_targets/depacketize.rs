//! Every registered RTP depacketizer (`common::rtp::depacketize`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("depacketize", data));
