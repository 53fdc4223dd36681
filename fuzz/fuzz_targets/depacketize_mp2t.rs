//! The RFC 2250 MP2T depacketizer on arbitrary packets.
#![no_main]

mod depacketize;

use libfuzzer_sys::fuzz_target;
use mediatool::media::TrackKind;
use mediatool::rtp::{self, PayloadDescription};

fuzz_target!(|data: &[u8]| {
    let description = PayloadDescription::parse(TrackKind::Video, "MP2T/90000", None).unwrap();
    depacketize::feed(rtp::depacketizer(&description).unwrap().as_mut(), data);
});
