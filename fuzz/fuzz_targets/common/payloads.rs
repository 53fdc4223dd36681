//! The payload formats' own checks, beyond the generic `depacketize`
//! target: each video format's round trip (what a depacketizer makes, our
//! packetizer and depacketizer give back byte for byte), and the audio
//! formats' depacketizers behind the header parsers they rely on.

use base64::Engine;
use bytes::Bytes;
use mediatool::codec::ac3::{SyncFrame, HEADER_LEN};
use mediatool::codec::av1::{obu_type, obus};
use mediatool::codec::opus::{packet_samples, OpusHead, MAX_PACKET_SAMPLES};
use mediatool::codec::xiph::XiphHeaders;
use mediatool::codec::{av1, mpeg_video, theora, vorbis, vp8, vp9};
use mediatool::media::{AccessUnit, Track};
use mediatool::rtp::{self, Depacketizer, PayloadDescription, ReceivedPacket, ReceivedUnit};
use mediatool::vocab::{Codec, TrackKind};

/// Packets of the input: each a control byte (bit 0 marker, bit 1 a
/// sequence gap, bit 2 a new timestamp), a length byte, then the payload.
fn packets(mut data: &[u8]) -> Vec<ReceivedPacket> {
    let mut packets = Vec::new();
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    while let [control, len, rest @ ..] = data {
        let len = usize::from(*len).min(rest.len());
        sequence = sequence.wrapping_add(1 + u16::from(control & 2 != 0));
        timestamp = timestamp.wrapping_add(3000 * u32::from(control & 4 != 0));
        packets.push(ReceivedPacket {
            sequence,
            timestamp,
            marker: control & 1 != 0,
            payload: Bytes::copy_from_slice(&rest[..len]),
        });
        data = &rest[len..];
    }
    packets
}

fn depacketize(encoding: &str, packets: &[ReceivedPacket]) -> Vec<ReceivedUnit> {
    let description =
        PayloadDescription::parse(TrackKind::Video, &format!("{encoding}/90000"), None).unwrap();
    let mut depacketizer = rtp::depacketizer(&description).unwrap();
    let mut out = Vec::new();
    for packet in packets {
        let _ = depacketizer.push(packet, &mut out);
    }
    depacketizer.finish(&mut out);
    out
}

/// Runs the checks for `encoding`, whose packetizer takes `codec`.
pub fn video_round_trip(encoding: &str, codec: Codec, data: &[u8]) {
    let Some((&size, data)) = data.split_first() else {
        return;
    };
    let packets = packets(data);
    let input: usize = packets.iter().map(|p| p.payload.len()).sum();
    let units = depacketize(encoding, &packets);
    let output: usize = units.iter().map(|u| u.data.len()).sum();
    assert!(
        output <= 2 * input + 2 * units.len(),
        "{encoding}: {output} bytes out of {input}"
    );
    for unit in units {
        // AV1 tile list OBUs are not sent (§5 of the payload format).
        if codec == Codec::Av1
            && obus(&unit.data).any(|o| o.is_ok_and(|o| o.header.obu_type == obu_type::TILE_LIST))
        {
            continue;
        }
        let mut packetizer = rtp::packetizer(&Track::new(0, codec.clone(), 90000)).unwrap();
        let max_payload = packetizer.min_payload() + usize::from(size);
        let access_unit = AccessUnit {
            track: 0,
            pts: i64::from(unit.timestamp),
            dts: i64::from(unit.timestamp),
            duration: 0,
            keyframe: false,
            data: unit.data.clone(),
        };
        let mut payloads = Vec::new();
        packetizer
            .packetize(&access_unit, max_payload, &mut payloads)
            .unwrap_or_else(|e| panic!("{encoding}: our own unit refused: {e}"));
        let again: Vec<ReceivedPacket> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| ReceivedPacket {
                sequence: i as u16,
                timestamp: p.timestamp,
                marker: p.marker,
                payload: [&p.header[..], &p.data[..]].concat().into(),
            })
            .collect();
        assert!(payloads.iter().all(|p| p.len() <= max_payload));
        assert_eq!(depacketize(encoding, &again), [unit], "{encoding}");
    }
}

/// Feeds `data` to `depacketizer` as packets: each packet is a length
/// byte, a sequence number step (0 repeats, 1 follows, more loses
/// packets), a byte whose top bit is the marker and whose rest steps the
/// timestamp, then that many payload bytes. Checks that what comes out is
/// bounded by what went in: a depacketizer only ever gives back bytes it
/// was given.
fn feed(depacketizer: &mut dyn Depacketizer, data: &[u8]) {
    let mut rest = data;
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    let mut out = Vec::new();
    while let [len, step, flags, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        sequence = sequence.wrapping_add(u16::from(*step));
        timestamp = timestamp.wrapping_add(u32::from(flags & 0x7f) * 960);
        let packet = ReceivedPacket {
            sequence,
            timestamp,
            marker: flags & 0x80 != 0,
            payload: Bytes::copy_from_slice(&tail[..len]),
        };
        let _ = depacketizer.push(&packet, &mut out);
        rest = &tail[len..];
    }
    depacketizer.finish(&mut out);
    let output: usize = out.iter().map(|u| u.data.len()).sum();
    assert!(
        output <= data.len(),
        "{output} bytes out of {} in",
        data.len()
    );
}

/// The video header parsers on arbitrary bytes: VP8 frame headers, VP9
/// uncompressed headers, superframe indexes and codec configurations, AV1
/// OBUs, sequence headers and av1C records, MPEG-1/2 video headers and
/// access unit splitting. No panic; what they return lies within the input.
pub fn video_headers(data: &[u8]) {
    let _ = vp8::FrameHeader::parse(data);
    if let Ok(frames) = vp9::superframe_frames(data) {
        assert!(frames.iter().map(|f| f.len()).sum::<usize>() <= data.len());
        for frame in frames {
            if let Ok(vp9::FrameHeader {
                kind: vp9::FrameKind::Coded(f),
                ..
            }) = vp9::FrameHeader::parse(frame)
            {
                let _ = f.color.map(|c| c.pix_fmt());
            }
        }
    }
    let _ = vp9::config_profile(data);

    for obu in av1::obus(data).map_while(Result::ok) {
        assert!(obu.offset + obu.len <= data.len() && obu.payload.len() < obu.len);
        if let Ok(h) = av1::SequenceHeader::parse(obu.payload) {
            let _ = (h.pix_fmt(), h.profile_name());
        }
    }
    if let Ok((value, len)) = av1::read_leb128(data) {
        assert!(value <= u64::from(u32::MAX) && len <= 8);
    }
    let _ = av1::config_obus(data);
    let _ = av1::SequenceHeader::parse(data);

    let mut end = 0;
    for unit in mpeg_video::access_units(data) {
        assert!(unit.start >= end && unit.start < unit.end && unit.end <= data.len());
        end = unit.end;
    }
    for code in mpeg_video::start_codes(data) {
        let body = &data[code.body().min(data.len())..];
        match code.code {
            mpeg_video::start_code::SEQUENCE_HEADER => {
                if let Ok(h) = mpeg_video::SequenceHeader::parse(body) {
                    assert!(h.len <= body.len());
                    let _ = (
                        h.frame_rate(None),
                        h.bit_rate(None),
                        h.vbv_buffer_size(None),
                    );
                }
            }
            mpeg_video::start_code::EXTENSION => {
                if let Ok(e) = mpeg_video::SequenceExtension::parse(body) {
                    let _ = (e.profile_name(), e.level(), e.pix_fmt());
                }
                let _ = mpeg_video::PictureCodingExtension::parse(body);
            }
            mpeg_video::start_code::GROUP => {
                let _ = mpeg_video::GopHeader::parse(body);
            }
            mpeg_video::start_code::PICTURE => {
                let _ = mpeg_video::PictureHeader::parse(body);
            }
            _ => {}
        }
    }
}

/// The RFC 7587 Opus depacketizer on arbitrary packets, and the Opus
/// header and packet parsers on arbitrary bytes.
pub fn opus(data: &[u8]) {
    if let Ok(head) = OpusHead::parse(data) {
        assert!(head.channels > 0);
    }
    if let Ok(samples) = packet_samples(data) {
        assert!(samples > 0 && samples <= MAX_PACKET_SAMPLES);
    }
    let description =
        PayloadDescription::parse(TrackKind::Audio, "opus/48000/2", Some("sprop-stereo=1"))
            .unwrap();
    feed(rtp::depacketizer(&description).unwrap().as_mut(), data);
}

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

/// The RFC 5215 Vorbis and Theora depacketizers on arbitrary packets,
/// after an arbitrary or a valid `configuration`; the Xiph header
/// splitting and the Vorbis and Theora header parsers on arbitrary bytes.
pub fn xiph(data: &[u8]) {
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
        feed(depacketizer.as_mut(), rest);
    }
}

/// The RFC 4184 AC-3 depacketizer on arbitrary packets, and the AC-3 and
/// E-AC-3 sync frame header parser on arbitrary bytes.
pub fn ac3(data: &[u8]) {
    if let Ok(frame) = SyncFrame::parse(data) {
        assert!(frame.frame_len >= HEADER_LEN && frame.sample_rate > 0 && frame.samples > 0);
        assert!((1..=6).contains(&frame.channels()));
    }
    let description = PayloadDescription::parse(TrackKind::Audio, "AC3/48000/2", None).unwrap();
    feed(rtp::depacketizer(&description).unwrap().as_mut(), data);
}
