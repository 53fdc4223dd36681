//! The RFC 4184 AC-3 depacketizer on arbitrary packets, and the AC-3 and
//! E-AC-3 sync frame header parser on arbitrary bytes.
#![no_main]

mod depacketize;

use libfuzzer_sys::fuzz_target;
use mediatool::codec::ac3::{SyncFrame, HEADER_LEN};
use mediatool::media::TrackKind;
use mediatool::rtp::{self, PayloadDescription};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = SyncFrame::parse(data) {
        assert!(frame.frame_len >= HEADER_LEN && frame.sample_rate > 0 && frame.samples > 0);
        assert!((1..=6).contains(&frame.channels()));
    }
    let description = PayloadDescription::parse(TrackKind::Audio, "AC3/48000/2", None).unwrap();
    depacketize::feed(rtp::depacketizer(&description).unwrap().as_mut(), data);
});
