//! The AC-3 depacketizer and sync frame parser (`common::payloads::ac3`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtp_ac3", data));
