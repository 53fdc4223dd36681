//! The MPEG program stream reader on arbitrary bytes: no panic, no hang,
//! the reading contract held (see `common::read_as`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::mpeg_ps;

fuzz_target!(|data: &[u8]| common::read_as(&mpeg_ps::FORMAT, data));
