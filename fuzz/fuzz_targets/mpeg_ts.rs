//! The MPEG transport stream reader on arbitrary bytes, as tracks and whole
//! (MP2T) (`common::readers::mpeg_ts`).
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| common::run("mpeg_ts", data));
