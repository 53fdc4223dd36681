//! The MP4 reader on arbitrary bytes, and its table statistics
//! (`common::readers::mp4`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("mp4", data));
