//! The Authorization header: Digest and Basic (`common::auth::authorization`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("digest", data));
