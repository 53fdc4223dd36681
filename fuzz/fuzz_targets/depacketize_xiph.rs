//! The RFC 5215 Vorbis and Theora depacketizers on arbitrary packets,
//! after an arbitrary or a valid `configuration`; the Xiph header
//! splitting and the Vorbis and Theora header parsers on arbitrary bytes.
#![no_main]

mod depacketize;

use base64::Engine;
use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use mediatool::codec::xiph::XiphHeaders;
use mediatool::codec::{theora, vorbis};
use mediatool::media::{Codec, Track, TrackKind};
use mediatool::rtp::{self, PayloadDescription};

/// Valid Vorbis headers: stereo 44.1 kHz, blocks of 256 and 2048, two
/// modes (short, long).
fn vorbis_headers() -> XiphHeaders {
    let mut identification = b"\x01vorbis\0\0\0\0\x02\x44\xac\0\0".to_vec();
    identification.extend_from_slice(&[0; 12]);
    identification.extend_from_slice(&[0xb8, 1]);
    // LSB first: mode count - 1 (6 bits: 1), mode 0 (block flag 0, 32
    // zero bits, mapping 0), mode 1 (block flag 1, 32 zero bits, mapping
    // 1), framing bit: 89 bits.
    let mut bits: Vec<bool> = (0..6).map(|i| i == 0).collect();
    for (flag, mapping) in [(false, 0u8), (true, 1)] {
        bits.push(flag);
        bits.extend(std::iter::repeat_n(false, 32));
        bits.extend((0..8).map(|i| mapping >> i & 1 == 1));
    }
    bits.push(true);
    let mut setup = b"\x05vorbis".to_vec();
    setup.extend(bits.chunks(8).map(|c| {
        c.iter()
            .enumerate()
            .fold(0u8, |b, (i, &bit)| b | u8::from(bit) << i)
    }));
    XiphHeaders {
        identification: identification.into(),
        comment: Bytes::from_static(b"\x03vorbis\0\0\0\0\0\0\0\0\x01"),
        setup: setup.into(),
    }
}

/// Valid Theora headers: 176x144 at 25 fps.
fn theora_headers() -> XiphHeaders {
    let mut identification = b"\x80theora\x03\x02\x01\0\x0b\0\x09\0\0\xb0\0\0\x90\0\0".to_vec();
    identification.extend_from_slice(&[
        0, 0, 0, 25, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0xc0,
    ]);
    XiphHeaders {
        identification: identification.into(),
        comment: Bytes::from_static(b"\x81theora\0\0\0\0\0\0\0\0"),
        setup: Bytes::from_static(b"\x82theora"),
    }
}

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    if let Ok(headers) = XiphHeaders::from_codec_private(&bytes) {
        let _ = vorbis::VorbisTiming::from_headers(&headers);
    }
    let _ = vorbis::mode_blockflags(data);
    if let Ok(id) = theora::Identification::parse(data) {
        let (width, height) = id.display_size();
        assert!(width <= id.frame_width && height <= id.frame_height);
    }
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (codec, headers) = match selector & 1 {
        0 => (Codec::Vorbis, vorbis_headers()),
        _ => (Codec::Theora, theora_headers()),
    };
    let description = if selector & 2 == 0 {
        // The configuration of a packetizer, then arbitrary packets.
        let mut track = Track::new(0, codec, 90000);
        track.config.extradata = headers.to_codec_private();
        rtp::packetizer(&track).unwrap().description()
    } else {
        // An arbitrary configuration (the first 255 bytes at most).
        let len = rest
            .first()
            .map_or(0, |&n| usize::from(n))
            .min(rest.len().saturating_sub(1));
        let config =
            base64::engine::general_purpose::STANDARD.encode(&rest[1.min(rest.len())..][..len]);
        let (media, rtpmap) = match codec {
            Codec::Vorbis => (TrackKind::Audio, "vorbis/44100/2"),
            _ => (TrackKind::Video, "theora/90000"),
        };
        PayloadDescription::parse(media, rtpmap, Some(&format!("configuration={config}"))).unwrap()
    };
    if let Ok(mut depacketizer) = rtp::depacketizer(&description) {
        depacketize::feed(depacketizer.as_mut(), rest);
    }
});
