//! The RFC 7587 Opus depacketizer on arbitrary packets, and the Opus
//! header and packet parsers on arbitrary bytes.
#![no_main]

mod depacketize;

use libfuzzer_sys::fuzz_target;
use mediatool::codec::opus::{packet_samples, OpusHead, MAX_PACKET_SAMPLES};
use mediatool::media::TrackKind;
use mediatool::rtp::{self, PayloadDescription};

fuzz_target!(|data: &[u8]| {
    if let Ok(head) = OpusHead::parse(data) {
        assert!(head.channels > 0);
    }
    if let Ok(samples) = packet_samples(data) {
        assert!(samples > 0 && samples <= MAX_PACKET_SAMPLES);
    }
    let description =
        PayloadDescription::parse(TrackKind::Audio, "opus/48000/2", Some("sprop-stereo=1"))
            .unwrap();
    depacketize::feed(rtp::depacketizer(&description).unwrap().as_mut(), data);
});
