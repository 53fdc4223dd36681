//! The MPEG transport stream reader on arbitrary bytes, read as tracks
//! and whole (MP2T): no panic, no hang, the reading contract held (see
//! `common::read_as`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::mpeg_ts;

fuzz_target!(|data: &[u8]| {
    common::read_as(&mpeg_ts::FORMAT, data);
    common::read_as(&mpeg_ts::READ_AS_MP2T, data);
});
