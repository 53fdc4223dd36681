//! The Vorbis and Theora depacketizers and header parsers (`common::payloads::xiph`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("rtp_xiph", data));
