//! Tests of the WAVE reader against ffprobe's view of the fixtures, on
//! synthetic chunk layouts and on broken input.

use super::*;
use crate::media::inspect::count_units;
use crate::media::testing::{capture_warnings, check_cuts_and_seeks, gsm_wav, read_clean, Opener};
use crate::vocab::testing::fixture;
use crate::vocab::{Codec, PcmFormat};

const OPEN: Opener = |input| Ok(Box::new(WavReader::new(input)?));

fn open(data: Vec<u8>) -> Result<WavReader> {
    WavReader::new(BytesReader::from_bytes(data))
}

fn read(data: Vec<u8>) -> (WavReader, Vec<AccessUnit>) {
    read_clean(WavReader::new, data)
}

/// A RIFF WAVE file of `chunks`, each padded to an even size.
fn wav(chunks: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
    let mut body = b"WAVE".to_vec();
    for (id, data) in chunks {
        body.extend_from_slice(*id);
        body.extend_from_slice(&(data.len() as u32).to_le_bytes());
        body.extend_from_slice(data);
        if data.len() % 2 == 1 {
            body.push(0);
        }
    }
    [
        b"RIFF".to_vec(),
        (body.len() as u32).to_le_bytes().to_vec(),
        body,
    ]
    .concat()
}

/// A WAVEFORMATEX body.
fn fmt(tag: u16, channels: u16, rate: u32, block_align: u16, bits: u16) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&rate.wrapping_mul(u32::from(block_align)).to_le_bytes());
    f.extend_from_slice(&block_align.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    f
}

/// ffprobe (ffmpeg 5.1) `codec_name`, `sample_rate`, `channels`,
/// `bits_per_sample` and `duration_ts` (sample frames), with the offset
/// of the data chunk body.
const EXPECTED: [(&str, PcmFormat, u32, u16, u64, u64); 7] = [
    (
        "wav_s16_44k_stereo.wav",
        PcmFormat::S16Le,
        44100,
        2,
        44100,
        78,
    ),
    ("wav_u8_8k_mono.wav", PcmFormat::U8, 8000, 1, 24000, 78),
    (
        "wav_s24_48k_stereo_extensible.wav",
        PcmFormat::S24Le,
        48000,
        2,
        48000,
        102,
    ),
    ("wav_mulaw_8k.wav", PcmFormat::Mulaw, 8000, 1, 24000, 92),
    ("wav_alaw_8k.wav", PcmFormat::Alaw, 8000, 1, 24000, 92),
    (
        "wav_rf64_16k_mono.wav",
        PcmFormat::S16Le,
        16000,
        1,
        32000,
        114,
    ),
    (
        "bad/wav_lying_size.wav",
        PcmFormat::S16Le,
        44100,
        2,
        44100,
        78,
    ),
];

#[test]
fn fixtures_match_ffprobe() {
    let names = [
        "pcm_s16le",
        "pcm_u8",
        "pcm_s24le",
        "pcm_mulaw",
        "pcm_alaw",
        "pcm_s16le",
        "pcm_s16le",
    ];
    for ((name, format, rate, channels, frames, data_start), codec) in EXPECTED.iter().zip(names) {
        let data = fixture(name);
        let (reader, units) = read(data.clone());
        let track = &reader.tracks()[0];
        assert_eq!(reader.format(), &FORMAT);
        assert_eq!(track.codec.name(), codec, "{name}");
        assert_eq!(track.codec, Codec::Pcm(*format));
        let audio = track.audio().unwrap();
        assert_eq!((track.clock_rate, audio.sample_rate), (*rate, *rate));
        assert_eq!(audio.channels, *channels, "{name}");
        assert_eq!(audio.bits_per_sample, Some(format.bits()), "{name}");
        let frame_bytes = u64::from(*channels) * format.bits() as u64 / 8;
        assert_eq!(track.bit_rate, Some(u64::from(*rate) * frame_bytes * 8));
        let stats = reader.stats().unwrap();
        assert_eq!(stats[0].frames, *frames, "{name}");
        assert_eq!(stats[0].duration, *frames, "{name}");
        assert_eq!(stats[0].bytes, frames * frame_bytes, "{name}");
        // Reading agrees with the sizes: 20 ms units, sample-frame pts.
        let per_unit = u64::from(rate / 50);
        assert_eq!(units.len() as u64, frames.div_ceil(per_unit), "{name}");
        for (i, unit) in units.iter().enumerate() {
            assert_eq!(unit.pts as u64, i as u64 * per_unit);
            assert_eq!(
                unit.data.len() as u64,
                u64::from(unit.duration) * frame_bytes
            );
            assert!(unit.keyframe);
        }
        let start = *data_start as usize;
        assert_eq!(units[0].data, data[start..start + units[0].data.len()]);
        let mut reader = open(data).unwrap();
        assert_eq!(count_units(&mut reader).unwrap(), stats, "{name}");
    }
}

#[test]
fn streaming_and_unknown_sizes_run_to_the_end_of_the_file() {
    let clean = fixture("wav_s16_44k_stereo.wav");
    for size in [0u32, 0xffff_ffff] {
        let mut data = clean.clone();
        data[74..78].copy_from_slice(&size.to_le_bytes());
        assert_eq!(open(data).unwrap().stats().unwrap()[0].frames, 44100);
    }
    // A partial last sample frame is dropped, with a warning, whether the
    // size says so or is unknown.
    for size in [44100 * 4 + 3, 0u32] {
        let mut data = clean.clone();
        data.extend_from_slice(&[1, 2, 3]);
        data[74..78].copy_from_slice(&size.to_le_bytes());
        let ((reader, units), warnings) = capture_warnings(|| read(data));
        assert_eq!(reader.stats().unwrap()[0].frames, 44100);
        assert_eq!(
            units.iter().map(|u| u64::from(u.duration)).sum::<u64>(),
            44100
        );
        assert_eq!(
            warnings,
            [
                "WAVE data at byte 78: last block cut short at byte 176478 (needs 4 bytes, 3 \
              remain): dropped"
            ]
        );
    }
}

/// The truncation policy: a data chunk cut short serves its whole sample
/// frames with one warning; with not one whole, the file is an error.
#[test]
fn data_cut_short_is_clamped_and_none_whole_is_an_error() {
    let clean = fixture("wav_s16_44k_stereo.wav");
    let ((reader, units), warnings) = capture_warnings(|| read(clean[..1001].to_vec()));
    assert_eq!(reader.stats().unwrap()[0].frames, 230);
    assert_eq!(units.iter().map(|u| u.data.len()).sum::<usize>(), 920);
    assert_eq!(
        warnings,
        [
            "WAVE data at byte 78: its data chunk header claims 176400 bytes, the file holds 923: \
          reading those (file truncated?)"
        ]
    );
    for cut in [78, 81] {
        let error = open(clean[..cut].to_vec()).err().unwrap();
        assert_eq!(
            error.to_string(),
            format!(
                "truncated at byte 78: the WAVE data holds {} bytes, not one whole 4-byte block",
                cut - 78
            )
        );
    }
}

#[test]
fn a_hostile_sample_rate_keeps_units_small() {
    // 4 GHz: 20 ms would be 85 million sample frames (170 MB) a unit.
    let samples = vec![0u8; 3 << 20];
    let data = wav(&[(b"fmt ", &fmt(1, 1, u32::MAX, 2, 16)), (b"data", &samples)]);
    let (_, units) = read(data);
    let sizes: Vec<usize> = units.iter().map(|u| u.data.len()).collect();
    assert_eq!(sizes, [1 << 20; 3]);
    assert_eq!(units[2].pts, 2 << 19);
}

#[test]
fn skips_unknown_and_odd_sized_chunks() {
    let samples: Vec<u8> = (0..=255).collect();
    let data = wav(&[
        (b"bext", &[7; 5]),
        (b"fmt ", &fmt(3, 2, 1000, 8, 32)),
        (b"LIST", b"INFOx"),
        (b"data", &samples),
    ]);
    let (reader, units) = read(data);
    let track = &reader.tracks()[0];
    assert_eq!(track.codec.name(), "pcm_f32le");
    assert_eq!(reader.stats().unwrap()[0].frames, 32);
    assert_eq!(units.len(), 2); // 20 frames per unit at 1 kHz
    assert_eq!(units[0].data, samples[..160]);
    assert_eq!((units[1].pts, units[1].duration), (20, 12));
    let data = wav(&[(b"fmt ", &fmt(3, 1, 8000, 8, 64)), (b"data", &[0; 16])]);
    assert_eq!(open(data).unwrap().tracks()[0].codec.name(), "pcm_f64le");
    let data = wav(&[(b"fmt ", &fmt(1, 3, 8000, 12, 32)), (b"data", &[0; 24])]);
    assert_eq!(open(data).unwrap().tracks()[0].codec.name(), "pcm_s32le");
}

#[test]
fn rejects_inconsistent_or_unsupported_formats() {
    let cases: [(&[u8], &str); 8] = [
        (
            &fmt(1, 2, 8000, 3, 16),
            "block_align 3 does not match 2 channels",
        ),
        (&fmt(1, 0, 8000, 0, 16), "0 channels"),
        (
            &fmt(1, 1, 8000, 2, 12),
            "unsupported: WAVE format tag 0x0001 with 12 bits",
        ),
        (
            &fmt(0x55, 2, 44100, 1, 0),
            "unsupported: WAVE format tag 0x0055",
        ),
        (&fmt(0x31, 1, 8000, 0, 0), "gsm_ms with block_align 0"),
        (
            &fmt(0x02, 1, 8000, 256, 4),
            "adpcm_ms WAVE file whose 'fmt ' chunk lacks wSamplesPerBlock",
        ),
        (
            &fmt(1, 1, 8000, 2, 16)[..14],
            "'fmt ' chunk has 14 bytes, at least 16",
        ),
        (&fmt(0xfffe, 2, 8000, 4, 16), "40 needed"),
    ];
    for (body, message) in cases {
        let err = open(wav(&[(b"fmt ", body), (b"data", &[0; 8])]))
            .err()
            .unwrap();
        assert!(err.to_string().contains(message), "{err} / {message}");
    }
    // An extensible format with a SubFormat GUID outside the KSDATAFORMAT family.
    let mut ext = fmt(0xfffe, 2, 8000, 4, 16);
    ext.extend_from_slice(&[22, 0, 16, 0, 3, 0, 0, 0]);
    ext.extend_from_slice(&[0x11; 16]);
    let err = open(wav(&[(b"fmt ", &ext), (b"data", &[0; 8])]))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
    let err = open(wav(&[
        (b"data", &[0; 8]),
        (b"fmt ", &fmt(1, 1, 8000, 2, 16)),
    ]))
    .err()
    .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid data at byte 12: the 'data' chunk comes before the 'fmt ' chunk"
    );
    let err = open(wav(&[(b"fmt ", &fmt(1, 1, 8000, 2, 16))]))
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "truncated at byte 36: the WAVE file ends before its 'data' chunk"
    );
}

#[test]
fn broken_and_foreign_files_are_clear_errors() {
    let err = open(fixture("bad/header_cut.wav")).err().unwrap();
    assert_eq!(
        err.to_string(),
        "truncated at byte 12: the 'fmt ' chunk needs 16 bytes, 10 remain"
    );
    assert!(matches!(
        open(fixture("bad/empty.h264")),
        Err(MediaError::Empty)
    ));
    for name in ["bad/random.bin", "bad/text.mp3", "audio_44k_stereo.mp3"] {
        let err = open(fixture(name)).err().unwrap();
        assert_eq!(
            err.to_string(),
            "invalid data at byte 0: not a RIFF/RF64 WAVE file"
        );
    }
    let err = open(b"RIFF\x10\0\0\0WA".to_vec()).err().unwrap();
    assert!(
        matches!(err, MediaError::Truncated { offset: 0, .. }),
        "{err}"
    );
}

#[test]
fn truncations_and_seeks_agree_with_a_straight_read() {
    for (name, ..) in EXPECTED {
        check_cuts_and_seeks(&fixture(name), OPEN);
    }
    check_cuts_and_seeks(&gsm_wav(33, Some(10_500)), OPEN);
}

/// Block-coded formats are described (ffprobe's codec name, blocks as
/// frames, the duration of their samples cut to the fact chunk's count)
/// and read one block per unit (no RTP payload format takes them: the
/// rtp tests check that).
#[test]
fn block_coded_formats_are_described_block_by_block() {
    // ffprobe on a 1.3 s libgsm_ms file: 33 frames, duration_ts 10560.
    let (reader, units) = read(gsm_wav(33, Some(10_560)));
    let track = &reader.tracks()[0];
    assert_eq!(track.codec.name(), "gsm_ms");
    let audio = track.audio().unwrap();
    assert_eq!((audio.block_align, audio.bits_per_sample), (Some(65), None));
    assert_eq!(track.bit_rate, Some(13_000));
    let stats = reader.stats().unwrap()[0];
    assert_eq!(
        (stats.frames, stats.duration, stats.bytes),
        (33, 10_560, 33 * 65)
    );
    assert_eq!(units.len(), 33);
    assert!(units
        .iter()
        .all(|u| u.data.len() == 65 && u.duration == 320));
    assert_eq!(units[32].pts, 32 * 320);
    // A fact count inside the last block shortens it; one outside it (a
    // lying chunk) is ignored; without one, the blocks are whole.
    for (fact, duration) in [
        (Some(10_300), 10_300),
        (Some(99_999), 10_560),
        (Some(5), 10_560),
        (None, 10_560),
    ] {
        let (reader, units) = read(gsm_wav(33, fact));
        assert_eq!(reader.stats().unwrap()[0].duration, duration, "{fact:?}");
        let counted = count_units(&mut open(gsm_wav(33, fact)).unwrap()).unwrap();
        assert_eq!(counted, reader.stats().unwrap(), "{fact:?}");
        assert_eq!(
            units.iter().map(|u| u64::from(u.duration)).sum::<u64>(),
            duration
        );
    }
    // MS ADPCM states its samples per block in its own extension.
    let mut adpcm = fmt(0x02, 1, 8000, 1024, 4);
    adpcm.extend_from_slice(&[32, 0, 0xf4, 0x07]);
    adpcm.resize(adpcm.len() + 30, 0);
    let (reader, units) = read(wav(&[(b"fmt ", &adpcm), (b"data", &[0; 6 * 1024])]));
    assert_eq!(reader.tracks()[0].codec.name(), "adpcm_ms");
    assert_eq!(reader.stats().unwrap()[0].duration, 6 * 2036);
    assert_eq!(units.len(), 6);
}
