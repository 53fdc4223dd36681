//! The MPV depacketizer on arbitrary packets, and our round trip of
//! what it makes (see `rtp_video::run`).
#![no_main]

mod rtp_video;

use libfuzzer_sys::fuzz_target;
use mediatool::media::Codec;

fuzz_target!(|data: &[u8]| rtp_video::run("MPV", Codec::Mpeg2Video, data));
