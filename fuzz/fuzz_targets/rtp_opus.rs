//! The Opus depacketizer and header parsers (`common::payloads::opus`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtp_opus", data));
