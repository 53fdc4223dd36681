//! Tests of the MP4 reader on the fixtures (made by FFmpeg:
//! fixtures/generate.sh), their damaged variants and hand-made tables.

use std::time::Duration;

use super::entries::Table;
use super::sample_table::{Cursor, Sizes, TableBoxes};
use super::*;
use crate::media::testing::{capture_warnings, check_cuts_and_seeks, read_all};
use crate::media::{AccessUnit, Demuxer};
use crate::vocab::testing::{fixture, fuzz_regression, XorShift};
use crate::vocab::{Codec, NalFraming, PcmFormat};

fn open(data: Vec<u8>) -> Result<Box<dyn Demuxer>> {
    crate::media::open_reader(BytesReader::from_bytes(data), &FORMAT)
}

/// Every unit of a fixture, read cleanly.
fn units_of(name: &str) -> (Vec<Track>, Vec<AccessUnit>) {
    let mut demuxer = open(fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    let (units, error) = read_all(demuxer.as_mut());
    assert!(error.is_none(), "{name}: {error:?}");
    (demuxer.tracks().to_vec(), units)
}

/// The units of track `track`.
fn of_track(units: &[AccessUnit], track: usize) -> Vec<&AccessUnit> {
    units.iter().filter(|u| u.track == track).collect()
}

#[test]
fn h264_and_aac_with_their_configuration() {
    let (tracks, units) = units_of("mp4_h264_aac_faststart.mp4");
    assert_eq!(tracks.len(), 2);
    let video = &tracks[0];
    assert_eq!(
        (&video.codec, video.framing, video.clock_rate),
        (&Codec::H264, NalFraming::LengthPrefixed(4), 12800)
    );
    assert_eq!(video.config.parameter_sets.len(), 2);
    let audio = &tracks[1];
    assert_eq!((&audio.codec, audio.clock_rate), (&Codec::Aac, 44100));
    // AAC LC, 44.1 kHz, stereo (and FFmpeg's SBR sync extension).
    assert!(audio.config.extradata.starts_with(&[0x12, 0x10]));
    let video_units = of_track(&units, 0);
    let audio_units = of_track(&units, 1);
    // The AAC priming frame (before the edit's start) is left out.
    assert_eq!((video_units.len(), audio_units.len()), (50, 87));
    // B-frames: the edit list removes their delay; DTS starts before 0.
    assert_eq!((video_units[0].pts, video_units[0].dts), (0, -1024));
    assert!(video_units[0].keyframe);
    assert_eq!(audio_units[0].pts, 0);
    assert!(units.iter().all(|u| u.dts <= u.pts));
    // Every NAL unit of every picture is whole, length-prefixed.
    for unit in &video_units {
        let mut rest = &unit.data[..];
        while !rest.is_empty() {
            let len = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
            rest = &rest[4 + len..];
        }
    }
}

/// The moov at the end reads the same samples as faststart; fragmented
/// files (with and without mfra) carry the same coded frames.
#[test]
fn layouts_carry_the_same_samples() {
    let (_, faststart) = units_of("mp4_h264_aac_faststart.mp4");
    let (_, at_end) = units_of("mp4_h264_aac_moov_at_end.mp4");
    assert_eq!(faststart, at_end);
    let data = |units: &[AccessUnit], track| -> Vec<Bytes> {
        of_track(units, track)
            .iter()
            .map(|u| u.data.clone())
            .collect()
    };
    for name in ["mp4_fragmented.mp4", "mp4_fragmented_mfra.mp4"] {
        let (_, fragmented) = units_of(name);
        assert_eq!(data(&fragmented, 0), data(&faststart, 0), "{name}");
        // No edit list: the AAC priming frame is there.
        let audio = data(&fragmented, 1);
        assert_eq!(audio[1..], data(&faststart, 1)[..], "{name}");
        // Without the edit list the video starts after its B-frame delay,
        // the audio at 0.
        let first_video = fragmented.iter().find(|u| u.track == 0).unwrap();
        assert_eq!(first_video.pts, 1024, "{name}");
        assert_eq!(fragmented.iter().find(|u| u.track == 1).unwrap().pts, 0);
    }
}

/// An empty edit delays the audio; negative composition offsets (ctts
/// version 1) move decoding times back.
#[test]
fn empty_edits_and_negative_composition_offsets() {
    let (_, units) = units_of("mp4_edit_list_offset.mp4");
    let audio = of_track(&units, 1);
    // 476 ms in the 44.1 kHz clock.
    assert_eq!(audio[0].pts, 20992);
    let video = of_track(&units, 0);
    assert_eq!(video[0].pts, 0);
    assert!(video.iter().all(|u| u.dts <= u.pts), "{video:?}");
    assert!(video.windows(2).all(|w| w[0].dts < w[1].dts));
}

#[test]
fn pcm_comes_in_runs_of_20_ms() {
    let (tracks, units) = units_of("mov_pcm_s16le.mov");
    assert_eq!(tracks[0].codec, Codec::Pcm(PcmFormat::S16Le));
    assert!(units
        .iter()
        .all(|u| u.duration == 160 && u.data.len() == 320));
    assert_eq!(units.len(), 50);
    assert_eq!(units[7].pts, 7 * 160);
    let (tracks, _) = units_of("mov_h264_pcm_s16be.mov");
    let kinds: Vec<&str> = tracks.iter().map(|t| t.codec.name()).collect();
    assert_eq!(kinds, ["h264", "pcm_s16be", "bin_data", "unknown"]);
}

#[test]
fn opus_ac3_and_mpeg_audio() {
    let (tracks, units) = units_of("mp4_hevc_opus.mp4");
    assert_eq!(tracks[0].codec, Codec::Hevc);
    assert_eq!(tracks[0].config.parameter_sets.len(), 3);
    let head = crate::codec::opus::OpusHead::parse(&tracks[1].config.extradata).unwrap();
    assert_eq!((head.channels, head.pre_skip), (2, 312));
    // The pre-skip is presented from 0: the first packet starts before.
    assert_eq!(of_track(&units, 1)[0].pts, -312);
    let (tracks, _) = units_of("mp4_ac3.mp4");
    assert_eq!(tracks[0].codec, Codec::Ac3);
    assert_eq!(tracks[0].audio().unwrap().channels, 1);
    let (tracks, _) = units_of("mp4_mp3.mp4");
    assert_eq!(tracks[0].codec, Codec::Mp3);
}

/// The table statistics are what reading yields.
#[test]
fn stats_count_what_reading_yields() {
    for name in [
        "mp4_h264_aac_faststart.mp4",
        "mp4_edit_list_offset.mp4",
        "mov_h264_pcm_s16be.mov",
        "mp4_hevc_opus.mp4",
        "bad/mp4_stco_past_end.mp4",
        "bad/mp4_sample_4gb.mp4",
        "bad/mp4_cut_mid_mdat.mp4",
    ] {
        let demuxer = open(fixture(name)).unwrap();
        let stated = demuxer.stats().unwrap();
        let (tracks, units) = units_of(name);
        let mut counter = crate::media::StatsCounter::new(&tracks);
        units.iter().for_each(|u| counter.add(u));
        let counted = counter.finish();
        for (i, (s, c)) in stated.iter().zip(&counted).enumerate() {
            assert_eq!((s.frames, s.bytes), (c.frames, c.bytes), "{name} track {i}");
        }
    }
    assert!(open(fixture("mp4_fragmented.mp4"))
        .unwrap()
        .stats()
        .is_none());
}

/// Damaged files: samples past the end are dropped with one warning, the
/// others served; nested boxes are no track.
#[test]
fn damaged_files() {
    let (full_tracks, full) = units_of("mp4_h264_aac_faststart.mp4");
    for (name, missing) in [
        ("bad/mp4_mdat_size_past_end.mp4", 0),
        ("bad/mp4_stco_past_end.mp4", 1),
        ("bad/mp4_sample_4gb.mp4", 1),
    ] {
        let ((tracks, units), warnings) = capture_warnings(|| units_of(name));
        assert_eq!(tracks, full_tracks, "{name}");
        assert_eq!(of_track(&units, 1).len(), 87, "{name}");
        let video = of_track(&units, 0).len();
        assert!(video < 50 || missing == 0, "{name}: {video} pictures");
        assert!(units.iter().all(|u| full.contains(u)), "{name}");
        assert_eq!(warnings.len(), missing, "{name}: {warnings:?}");
    }
    let ((_, units), warnings) = capture_warnings(|| units_of("bad/mp4_cut_mid_mdat.mp4"));
    assert!(units.len() > 20 && units.len() < full.len());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("past the end of the file"),
        "{warnings:?}"
    );
    let error = open(fixture("bad/mp4_deep_nesting.mp4")).err().unwrap();
    assert_eq!(
        error.to_string(),
        "invalid data at byte 32: the 'moov' box describes no track"
    );
}

/// Files cut at every tenth: a faststart file serves the samples before
/// the cut (whole ones only, in the same order), one with its index at
/// the end cannot open, with a message saying so.
#[test]
fn cut_files() {
    let data = fixture("mp4_h264_aac_faststart.mp4");
    let (_, full) = units_of("mp4_h264_aac_faststart.mp4");
    let mut served = 0;
    for tenth in 1..10 {
        let cut = data.len() * tenth / 10;
        let Ok(mut demuxer) = open(data[..cut].to_vec()) else {
            assert!(tenth == 1, "cut at {cut}");
            continue;
        };
        let (units, error) = read_all(demuxer.as_mut());
        assert!(error.is_none(), "cut at {cut}: {error:?}");
        let mut from = 0;
        for unit in &units {
            let at = full[from..]
                .iter()
                .position(|u| u == unit)
                .expect("a unit of the file");
            from += at + 1;
        }
        assert!(
            units.len() >= served,
            "cut at {cut}: fewer units than before"
        );
        served = units.len();
    }
    assert!(
        served * 10 >= full.len() * 8,
        "{served} of {} at 9/10",
        full.len()
    );
    let data = fixture("mp4_h264_aac_moov_at_end.mp4");
    for tenth in 1..10 {
        let error = open(data[..data.len() * tenth / 10].to_vec())
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("before any 'moov' box"),
            "{tenth}/10: {error}"
        );
    }
}

/// Single-track audio files starting at 0: cuts and seeks as every audio
/// reader's. (The MP3 and AC-3 fixtures' first frames start before 0, the
/// encoder delay their edit lists skip.)
#[test]
fn audio_files_cut_and_seek() {
    let opener: crate::media::testing::Opener = |input| crate::media::open_reader(input, &FORMAT);
    for name in [
        "mov_pcm_s16le.mov",
        "mov_mulaw_8k.mov",
        "m4a_aac_44k_stereo.m4a",
    ] {
        check_cuts_and_seeks(&fixture(name), opener);
    }
}

/// Seeking lands on the key frame at or before the time in every layout,
/// the audio on the frame playing then.
#[test]
fn seeks_land_on_key_frames() {
    for name in [
        "mp4_h264_aac_faststart.mp4",
        "mp4_h264_aac_moov_at_end.mp4",
        "mp4_fragmented.mp4",
        "mp4_fragmented_mfra.mp4",
        "mp4_hevc_opus.mp4",
    ] {
        let (_, full) = units_of(name);
        let mut demuxer = open(fixture(name)).unwrap();
        let rate = f64::from(demuxer.tracks()[0].clock_rate);
        for target in [1.3, 0.2, 1.0, 0.0] {
            let landed = demuxer.seek(Duration::from_secs_f64(target)).unwrap();
            let first = demuxer.read_unit().unwrap().unwrap();
            assert_eq!(first.track, 0, "{name} at {target}");
            assert!(first.keyframe, "{name} at {target}");
            let at = first.pts as f64 / rate;
            // Landed on the key frame, or at the target when the first key
            // frame comes after it (the other tracks start there).
            let expected = at.max(0.0).min(target);
            assert!((landed.as_secs_f64() - expected).abs() < 1e-6, "{name}");
            let first_key = full.iter().find(|u| u.track == 0).unwrap().pts as f64 / rate;
            assert!(
                at <= target + 1e-9 || at == first_key,
                "{name}: {at} for {target}"
            );
            // The key frame before the target: none between it and it.
            let later_key = full
                .iter()
                .filter(|u| u.track == 0 && u.keyframe)
                .any(|u| u.pts as f64 / rate > at && u.pts as f64 / rate <= target);
            assert!(!later_key, "{name}: {at} for {target}");
            // Reading goes on as a straight read does from that picture.
            let i = full.iter().position(|u| u == &first).unwrap();
            let next = demuxer.read_unit().unwrap().unwrap();
            assert!(full[i + 1..].contains(&next), "{name} at {target}");
        }
        demuxer.seek(Duration::ZERO).unwrap();
        if name.contains("fragmented") {
            // The first fragment again, from its key frame.
            assert!(demuxer.read_unit().unwrap().unwrap().keyframe);
        } else {
            assert_eq!(read_all(demuxer.as_mut()).0, full, "{name}");
        }
    }
}

/// Corrupted files never panic, loop or allocate beyond the file.
#[test]
fn corruption_is_survived() {
    let mut rng = XorShift(0x4d50_3420);
    for name in [
        "mp4_h264_aac_faststart.mp4",
        "mp4_fragmented_mfra.mp4",
        "mov_h264_pcm_s16be.mov",
    ] {
        let data = fixture(name);
        for _ in 0..150 {
            let mut bad = data.clone();
            for _ in 0..1 + rng.next_u64() % 8 {
                let at = (rng.next_u64() % bad.len() as u64) as usize;
                bad[at] = rng.next_u64() as u8;
            }
            if let Ok(mut demuxer) = open(bad) {
                let (units, _) = read_all(demuxer.as_mut());
                assert!(units.len() < 100_000);
                let _ = demuxer.stats();
                let _ = demuxer.seek(Duration::from_millis(900));
            }
        }
    }
}

/// A sample table built by hand: `stsc` entries out of order (a first
/// entry not at chunk 1, a repeated first chunk, a chunk of no samples)
/// are read, not refused: the first applies from chunk 1, the others that
/// break the order are skipped.
#[test]
fn tolerant_chunk_runs() {
    // stsc: (first chunk, samples per chunk, description) x 4, then stco
    // of 4 chunks, then stts: 10 samples of 1 tick.
    let mut table = Vec::new();
    for (first, per_chunk) in [(2u32, 2u32), (2, 5), (3, 0), (3, 3)] {
        table.extend_from_slice(&first.to_be_bytes());
        table.extend_from_slice(&per_chunk.to_be_bytes());
        table.extend_from_slice(&1u32.to_be_bytes());
    }
    for offset in [1000u32, 2000, 3000, 4000] {
        table.extend_from_slice(&offset.to_be_bytes());
    }
    table.extend_from_slice(&10u32.to_be_bytes());
    table.extend_from_slice(&1u32.to_be_bytes());
    let boxes = TableBoxes {
        stsc: Table {
            offset: 0,
            count: 4,
            entry_size: 12,
        },
        chunks: Table {
            offset: 48,
            count: 4,
            entry_size: 4,
        },
        stts: Table {
            offset: 64,
            count: 1,
            entry_size: 8,
        },
        sizes: Sizes::Constant(10),
        sample_count: 10,
        ..TableBoxes::default()
    };
    let mut input = BytesReader::from_bytes(table);
    let mut cursor = Cursor::new(&boxes, false, 0, &mut input).unwrap();
    let mut offsets = Vec::new();
    while let Some(sample) = cursor.next(&mut input, 1).unwrap() {
        offsets.push(sample.offset);
    }
    // Chunk 1 and 2: 2 samples each (the first entry from chunk 1), then
    // 3 per chunk; 10 samples fill the 4 chunks with 3 to spare.
    assert_eq!(
        offsets,
        [1000, 1010, 2000, 2010, 3000, 3010, 3020, 4000, 4010, 4020]
    );
    assert!(cursor.skipped_chunk_entries());
    // Positioning at any sample agrees with walking to it.
    for index in [0, 3, 5, 9] {
        cursor.seek_to(&mut input, index).unwrap();
        let sample = cursor.next(&mut input, 1).unwrap().unwrap();
        assert_eq!(sample.offset, offsets[index as usize], "sample {index}");
        assert_eq!(sample.dts, i64::from(index));
    }
}

/// Detection: by the first box's type, whatever the samples hold, and the
/// extensions that name the format.
#[test]
fn detected_by_the_first_box() {
    for head in [
        &b"\0\0\0\x20ftypisom"[..],
        b"\0\0\0\x08mdat",
        b"\0\0\0\x08wide\0\0\x10\0mdat",
        b"\0\0\x02\0moov",
    ] {
        assert_eq!(crate::media::detect(head, None), Some(&FORMAT), "{head:?}");
    }
    for name in ["mp4_mp3.mp4", "mov_mulaw_8k.mov", "m4a_aac_44k_stereo.m4a"] {
        let data = fixture(name);
        assert_eq!(
            crate::media::detect(&data, Some("mp3")),
            Some(&FORMAT),
            "{name}"
        );
    }
    assert_eq!(
        crate::media::detect(b"\0\0\0\x20ftxpisom", Some("mp4")),
        None
    );
}

/// Found by fuzzing: a track run of billions of samples all from the
/// defaults, walked sample by sample at open. It holds what the file can.
#[test]
fn runs_of_default_samples_are_bounded_by_the_file() {
    let started = std::time::Instant::now();
    let mut demuxer = open(fuzz_regression("mp4", "mp4_fuzz_huge_default_run.mp4")).unwrap();
    let (units, _) = read_all(demuxer.as_mut());
    assert!(units.len() < 1000);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Found by fuzzing: chunks of 16 million samples of 4 GB each, every one
/// past the end of the file, dropped one by one. A chunk's samples follow
/// each other: past the first one past the end, the chunk is skipped.
#[test]
fn chunks_past_the_end_are_skipped_whole() {
    let started = std::time::Instant::now();
    let error = open(fuzz_regression("mp4", "mp4_fuzz_huge_chunks.mp4"))
        .err()
        .unwrap();
    assert!(
        error.to_string().contains("no sample of the file"),
        "{error}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Found by fuzzing: a chunk index at the end of its range moved past it
/// (an overflow); such inputs read, or fail, cleanly.
#[test]
fn fuzz_regressions_read_cleanly() {
    for name in ["mp4_fuzz_chunk_overflow.mp4"] {
        if let Ok(mut demuxer) = open(fuzz_regression("mp4", name)) {
            read_all(demuxer.as_mut());
            let _ = demuxer.stats();
            demuxer.seek(Duration::from_millis(1500)).unwrap();
            read_all(demuxer.as_mut());
        }
    }
}
