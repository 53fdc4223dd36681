//! Tests of the MPEG audio reader against ffprobe's view of the fixtures,
//! on LAME-tagged streams, and on broken input.

use std::path::Path;

use super::*;
use crate::media::testing::{capture_warnings, check_cuts_and_seeks, read_all, read_clean, Opener};
use crate::media::MediaError;
use crate::vocab::testing::fixture;

const OPEN: Opener = |input| Ok(Box::new(MpegAudioReader::new(input)?));

fn read(data: Vec<u8>) -> (MpegAudioReader, Vec<AccessUnit>) {
    read_clean(MpegAudioReader::new, data)
}

/// Values from `ffprobe -v error -count_frames -show_streams` and
/// `-show_packets` (ffmpeg 5.1).
struct Expected {
    name: &'static str,
    codec: Codec,
    sample_rate: u32,
    channels: u16,
    bit_rate: u64,
    /// ffprobe `nb_read_frames`.
    frames: usize,
    /// ffprobe `duration_ts` converted to samples.
    ffprobe_samples: u64,
    /// ffprobe `-show_packets`: pos and size of the first and last
    /// packet that decodes to output.
    first_packet: (usize, usize),
    last_packet: (usize, usize),
}

const EXPECTED: [Expected; 3] = [
    Expected {
        name: "audio_44k_stereo.mp3",
        codec: Codec::Mp3,
        sample_rate: 44100,
        channels: 2,
        bit_rate: 128_000,
        frames: 116,
        ffprobe_samples: 116 * 1152,
        first_packet: (491, 417),
        last_packet: (48_556, 418),
    },
    Expected {
        name: "audio_22k_mono_vbr.mp3",
        codec: Codec::Mp3,
        sample_rate: 22050,
        channels: 1,
        bit_rate: 13410,
        frames: 116,
        ffprobe_samples: 117 * 576,
        // ffprobe's first packet (pos 227) is swallowed by the decoder skip.
        first_packet: (592, 182),
        last_packet: (5090, 78),
    },
    Expected {
        name: "audio_48k_stereo.mp2",
        codec: Codec::Mp2,
        sample_rate: 48000,
        channels: 2,
        bit_rate: 192_000,
        frames: 125,
        ffprobe_samples: 144_000,
        first_packet: (0, 576),
        last_packet: (71_424, 576),
    },
];

#[test]
fn fixtures_match_ffprobe() {
    for e in &EXPECTED {
        let data = fixture(e.name);
        let (reader, units) = read(data.clone());
        let track = &reader.tracks()[0];
        assert_eq!(reader.format(), &FORMAT);
        assert_eq!(track.codec, e.codec, "{}", e.name);
        assert_eq!(track.clock_rate, e.sample_rate, "{}", e.name);
        let audio = track.audio().unwrap();
        assert_eq!(audio.sample_rate, e.sample_rate, "{}", e.name);
        assert_eq!(audio.channels, e.channels, "{}", e.name);
        assert_eq!(track.bit_rate, Some(e.bit_rate), "{}", e.name);
        assert_eq!(track.profile, None);
        assert_eq!(units.len(), e.frames, "{}", e.name);
        let spf = units[0].duration;
        for (i, unit) in units.iter().enumerate() {
            assert_eq!(unit.pts, i as i64 * i64::from(spf), "{}", e.name);
            assert_eq!((unit.dts, unit.keyframe), (unit.pts, true));
            assert_eq!(
                FrameHeader::parse(&unit.data).unwrap().frame_len,
                unit.data.len()
            );
        }
        let duration = units.len() as u64 * u64::from(spf);
        assert!(
            e.ffprobe_samples.abs_diff(duration) <= u64::from(spf),
            "{}",
            e.name
        );
        for (unit, (pos, size)) in [
            (&units[0], e.first_packet),
            (&units[units.len() - 1], e.last_packet),
        ] {
            assert_eq!(unit.data, data[pos..pos + size], "{}", e.name);
        }
    }
}

#[test]
fn inspect_counts_like_ffprobe() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audio_22k_mono_vbr.mp3");
    let info = crate::media::inspect(&path).unwrap();
    assert_eq!(info.format, &FORMAT);
    assert_eq!(
        (info.stats[0].frames, info.stats[0].duration),
        (116, 116 * 576)
    );
}

/// The gapless length: the Xing frame count less the LAME tag's encoder
/// delay and padding (both fixtures were made from 3 s of audio); none
/// without a LAME tag, and never below zero on a lying one.
#[test]
fn gapless_duration_from_the_lame_tag() {
    for (name, gapless) in [
        ("audio_22k_mono_vbr.mp3", Some(3 * 22050)),
        ("audio_44k_stereo.mp3", Some(3 * 44100)),
        ("audio_48k_stereo.mp2", None),
    ] {
        let reader = MpegAudioReader::new(BytesReader::from_bytes(fixture(name))).unwrap();
        let audio = reader.tracks()[0].audio().unwrap();
        assert_eq!(audio.gapless_duration, gapless, "{name}");
    }
    let tag = |frames, encoder_delay| VbrTag {
        kind: VbrTagKind::Xing,
        frames,
        bytes: 0,
        encoder_delay,
    };
    assert_eq!(gapless_samples(&tag(10, Some((4000, 4000))), 576), Some(0));
    assert_eq!(gapless_samples(&tag(0, Some((576, 100))), 576), None);
    assert_eq!(gapless_samples(&tag(10, None), 576), None);
}

#[test]
fn reads_the_xing_and_lame_tags() {
    let data = fixture("audio_22k_mono_vbr.mp3");
    let header = FrameHeader::parse(&data[45..]).unwrap();
    let tag = VbrTag::parse(&data[45..45 + header.frame_len], &header).unwrap();
    assert_eq!(
        tag,
        VbrTag {
            kind: VbrTagKind::Xing,
            frames: 117,
            bytes: 5123,
            encoder_delay: Some((576, 666)),
        }
    );
    let data = fixture("audio_44k_stereo.mp3");
    let header = FrameHeader::parse(&data[74..]).unwrap();
    let tag = VbrTag::parse(&data[74..74 + header.frame_len], &header).unwrap();
    assert_eq!(
        (tag.kind, tag.frames, tag.bytes, tag.encoder_delay),
        (VbrTagKind::Info, 116, 48_900, Some((576, 756)))
    );
    let data = fixture("audio_48k_stereo.mp2");
    assert_eq!(
        VbrTag::parse(&data[..576], &FrameHeader::parse(&data).unwrap()),
        None
    );
}

/// An MPEG-2 layer III 16 kHz mono stream as LAME writes short files:
/// a 300-byte ID3v2 tag, an Info frame at 40 kb/s (its tag needs the
/// room), ten audio frames at 32 kb/s, encoder delay 576 and padding
/// 1800. Real files of this shape (`-b:a 8k`, 581 samples at 8 kHz)
/// give ffprobe `nb_read_frames` = frames − 2.
fn lame_short_file() -> Vec<u8> {
    let frame = |b2: u8, len: usize| {
        let mut f = vec![0xff, 0xf3, b2, 0xc4];
        f.resize(len, 0);
        f
    };
    let mut data = b"ID3\x04\0\0\0\0\x02\x22".to_vec(); // 290-byte body
    data.resize(300, 0);
    let mut info = frame(0x58, 180);
    let mut tag = b"Info\0\0\0\x03".to_vec();
    tag.extend_from_slice(&10u32.to_be_bytes());
    tag.extend_from_slice(&(180u32 + 10 * 144).to_be_bytes());
    tag.extend_from_slice(b"LAME3.100");
    tag.extend_from_slice(&[0; 12]);
    tag.extend_from_slice(&((576u32 << 12) | 1800).to_be_bytes()[1..]);
    info[13..13 + tag.len()].copy_from_slice(&tag);
    data.extend_from_slice(&info);
    for i in 0..10 {
        let mut f = frame(0x48, 144);
        f[100] = i;
        data.extend_from_slice(&f);
    }
    data
}

#[test]
fn lame_padding_can_empty_the_last_frames() {
    let data = lame_short_file();
    let (reader, units) = read(data.clone());
    // Nominal rate of the audio frames, not of the Info frame.
    assert_eq!(reader.tracks()[0].bit_rate, Some(32_000));
    // Frame 0 goes to the start skip (576 + 529), frames 8 and 9 to the
    // end discard (1800 − 529 = 1271 samples); frame 7 is only shortened.
    assert_eq!(units.len(), 7);
    for (i, unit) in units.iter().enumerate() {
        assert_eq!((unit.pts, unit.data[100]), (i as i64 * 576, i as u8 + 1));
    }
    check_cuts_and_seeks(&data, OPEN);
}

/// The truncation policy: whole frames are served, a last frame cut short
/// is dropped with one warning (however often the end is read again).
#[test]
fn a_last_frame_cut_short_is_dropped_with_a_warning() {
    let data = fixture("bad/frame_cut.mp2");
    let ((units, err, again), warnings) = capture_warnings(|| {
        let mut reader = MpegAudioReader::new(BytesReader::from_bytes(data)).unwrap();
        let (units, err) = read_all(&mut reader);
        assert_eq!(reader.read_unit().unwrap(), None);
        reader.seek(Duration::ZERO).unwrap();
        let (again, _) = read_all(&mut reader);
        (units, err, again)
    });
    assert!(err.is_none(), "{err:?}");
    assert_eq!((units.len(), &again), (2, &units));
    assert_eq!(
        warnings,
        ["MPEG audio: last frame cut short at byte 1152 (needs 576 bytes, 100 remain): dropped"]
    );
    // Cut inside the header of the third frame.
    let data = fixture("audio_48k_stereo.mp2");
    let ((units, err), warnings) = capture_warnings(|| {
        read_all(&mut MpegAudioReader::new(BytesReader::from_bytes(&data[..2 * 576 + 3])).unwrap())
    });
    assert_eq!((units.len(), err.is_none()), (2, true));
    assert_eq!(
        warnings,
        [
            "MPEG audio: last frame cut short at byte 1152 (its header needs 4 bytes, 3 remain): \
          dropped"
        ]
    );
}

/// A stream with no whole audio frame is an error: the Info frame of a
/// LAME file followed by its first audio frame cut short, or by nothing.
#[test]
fn no_whole_audio_frame_is_an_error() {
    let data = fixture("audio_44k_stereo.mp3");
    let cut = 74 + 417 + 100;
    let err = MpegAudioReader::new(BytesReader::from_bytes(&data[..cut]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "truncated at byte 491: MPEG audio frame needs 417 bytes, 100 remain"
    );
    let err = MpegAudioReader::new(BytesReader::from_bytes(&data[..491]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid data at byte 491: no MPEG audio frame after the Xing/Info/VBRI header frame"
    );
    // One whole audio frame is a stream.
    let (_, units) = read(data[..491 + 417 + 50].to_vec());
    assert_eq!(units.len(), 1);
    // At 22.05 kHz the encoder delay swallows the first audio frame (227,
    // 365 bytes): with only it whole, nothing decodes, and the cut frame
    // after it is the error, without a warning about dropping it.
    let data = fixture("audio_22k_mono_vbr.mp3");
    let (err, warnings) = capture_warnings(|| {
        MpegAudioReader::new(BytesReader::from_bytes(&data[..592 + 100]))
            .err()
            .unwrap()
    });
    assert_eq!(
        err.to_string(),
        "truncated at byte 592: MPEG audio frame needs 182 bytes, 100 remain"
    );
    assert_eq!(warnings, Vec::<String>::new());
    let err = MpegAudioReader::new(BytesReader::from_bytes(&data[..592]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid data at byte 227: no MPEG audio frame decodes to output: the encoder delay \
         and padding of the LAME tag cover them all"
    );
}

#[test]
fn non_mpeg_input_is_a_clear_error() {
    for name in ["bad/empty.h264", "bad/random.bin", "bad/text.mp3"] {
        let err = MpegAudioReader::new(BytesReader::from_bytes(fixture(name)))
            .err()
            .unwrap();
        match name {
            "bad/empty.h264" => assert!(matches!(err, MediaError::Empty)),
            _ => assert_eq!(
                err.to_string(),
                format!(
                    "invalid data at byte 0: no MPEG audio frames found in the {} bytes \
                     from here",
                    fixture(name).len()
                )
            ),
        }
    }
    let err = MpegAudioReader::new(BytesReader::from_bytes(fixture("audio_48k_mono.aac")))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Invalid { .. }), "{err}");
}

#[test]
fn layer_one_is_mp1_with_384_sample_frames() {
    // MPEG-1 layer I, 32 kb/s, 32 kHz, mono: 48-byte frames.
    let mut frame = vec![0xff, 0xff, 0x18, 0xc0];
    frame.resize(48, 0x11);
    let (reader, units) = read(frame.repeat(5));
    let track = &reader.tracks()[0];
    assert_eq!((track.codec.name(), track.clock_rate), ("mp1", 32000));
    let channels = track.audio().unwrap().channels;
    assert_eq!((channels, track.bit_rate), (1, Some(32_000)));
    assert_eq!(units.len(), 5);
    assert_eq!((units[4].pts, units[4].duration), (4 * 384, 384));
}

#[test]
fn free_format_is_unsupported() {
    let mut data = vec![0xff, 0xfb, 0x00, 0x64];
    data.resize(2000, 0x55);
    let err = MpegAudioReader::new(BytesReader::from_bytes(data))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
    assert!(err.to_string().contains("free-format"), "{err}");
}

#[test]
fn skips_tags_and_resyncs_after_junk() {
    let clean = fixture("audio_48k_stereo.mp2");
    let (_, want) = read(clean.clone());
    // Two ID3v2 tags (the second with a footer), junk holding a lone
    // valid-looking header between frames 3 and 4, an ID3v2 tag after
    // frame 5, an APEv2 tag and an ID3v1 tag at the end.
    let mut data = b"ID3\x03\0\0\0\0\0\x04abcd".to_vec();
    data.extend_from_slice(b"ID3\x04\0\x10\0\0\0\x02xy3DI\x04\0\x10\0\0\0\x02");
    data.extend_from_slice(&clean[..3 * 576]);
    data.extend_from_slice(&[0x12, 0xff, 0xfd, 0x94, 0x00, 0x77, 0xff, 0xff, 0x00]);
    data.extend_from_slice(&clean[3 * 576..5 * 576]);
    // A tag between frames (concatenated files) whose body holds three
    // frames: skipped as a tag, they must not surface as audio.
    data.extend_from_slice(b"ID3\x04\0\0\0\0\x0d\x40");
    data.extend_from_slice(&clean[..3 * 576]);
    data.extend_from_slice(&clean[5 * 576..]);
    let mut ape = b"APETAGEX".to_vec();
    for v in [2000u32, 32, 0, 0, 0, 0] {
        ape.extend_from_slice(&v.to_le_bytes());
    }
    data.extend_from_slice(&ape);
    let mut id3v1 = b"TAG".to_vec();
    id3v1.resize(128, b' ');
    data.extend_from_slice(&id3v1);
    let (_, got) = read(data);
    assert_eq!(got, want);
}

/// An ID3v2 tag whose body holds frames of the same stream (an embedded
/// clip; a cover picture's 0xFFE2 marker is the everyday case) is skipped
/// by its size wherever it sits: after junk before the first frame, and
/// after junk between frames, the sync search stops at the tag, not
/// inside it.
#[test]
fn tags_hiding_frames_are_skipped_whole() {
    let clean = fixture("audio_48k_stereo.mp2");
    let (_, want) = read(clean.clone());
    let hiding = [&b"ID3\x03\0\0\0\0\x0d\x40"[..], &clean[..3 * 576]].concat();
    let data = [
        &b"\0\0junk"[..],
        &hiding,
        &clean[..4 * 576],
        b"\x12\x34junk",
        &hiding,
        &clean[4 * 576..],
    ]
    .concat();
    let (_, got) = read(data);
    assert_eq!(got, want);
}

#[test]
fn truncations_and_seeks_agree_with_a_straight_read() {
    for e in &EXPECTED {
        check_cuts_and_seeks(&fixture(e.name), OPEN);
    }
    // A file cut inside a frame: seeking past the end lands at the end
    // of the complete frames, where reading ends.
    let data = fixture("bad/frame_cut.mp2");
    let mut reader = MpegAudioReader::new(BytesReader::from_bytes(data)).unwrap();
    assert_eq!(
        reader.seek(Duration::from_secs(5)).unwrap(),
        Duration::from_millis(48)
    );
    assert_eq!(reader.read_unit().unwrap(), None);
    assert_eq!(
        reader.seek(Duration::from_millis(30)).unwrap(),
        Duration::from_millis(24)
    );
    assert_eq!(reader.read_unit().unwrap().unwrap().pts, 1152);
}
