//! Tests of the H.264 reader against ffprobe's view of the fixtures, and on
//! broken input.

use super::*;
use crate::codec::h264::{has_slice_header, nal_type, nal_unit_type};
use crate::media::inspect;
use crate::media::inspect::count_units;
use crate::media::testing::{
    assert_consistent_timing, capture_warnings, check_video_truncations, read_all_and_stop,
};
use crate::vocab::testing::{fixture, fixture_path, XorShift};
use crate::vocab::Rational;

fn open_bytes(data: &[u8]) -> Result<H264Reader> {
    H264Reader::new(BytesReader::from_bytes(data.to_vec()))
}

fn fixture_units(name: &str) -> Vec<AccessUnit> {
    let mut reader =
        H264Reader::new(BytesReader::open(fixture_path(name).as_ref()).unwrap()).unwrap();
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none(), "{name}: {error:?}");
    units
}

/// Output index of each picture in decoding order, from
/// `ffprobe -show_entries frame=coded_picture_number` (frames listed in
/// output order).
const BFRAMES_OUTPUT_ORDER: [u64; 50] = [
    0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15, 20, 18, 17, 19, 24, 22, 21, 23, 25,
    29, 27, 26, 28, 33, 31, 30, 32, 37, 35, 34, 36, 39, 38, 43, 41, 40, 42, 47, 45, 44, 46, 49, 48,
];
const SLICES_OUTPUT_ORDER: [u64; 60] = [
    0, 3, 1, 2, 5, 4, 8, 6, 7, 11, 9, 10, 14, 12, 13, 17, 15, 16, 20, 18, 19, 23, 21, 22, 25, 24,
    28, 26, 27, 29, 30, 33, 31, 32, 36, 34, 35, 38, 37, 41, 39, 40, 43, 42, 46, 44, 45, 48, 47, 51,
    49, 50, 53, 52, 56, 54, 55, 59, 57, 58,
];

struct Expected {
    name: &'static str,
    profile: &'static str,
    level: u32,
    size: (u32, u32),
    rate: (u32, u32),
    frames: usize,
    reorder: i64,
    keyframes: &'static [usize],
    slices_per_unit: usize,
    /// Output index of each picture in decoding order; empty: no reordering.
    output_order: &'static [u64],
}

const EXPECTED: [Expected; 3] = [
    Expected {
        name: "h264_bframes.264",
        profile: "High",
        level: 13,
        size: (320, 240),
        rate: (25, 1),
        frames: 50,
        reorder: 2,
        keyframes: &[0, 25],
        slices_per_unit: 1,
        output_order: &BFRAMES_OUTPUT_ORDER,
    },
    Expected {
        name: "h264_baseline.h264",
        profile: "Constrained Baseline",
        level: 13,
        size: (320, 240),
        rate: (25, 1),
        frames: 50,
        reorder: 0,
        keyframes: &[0, 25],
        slices_per_unit: 1,
        output_order: &[],
    },
    Expected {
        name: "h264_odd_ntsc_slices.264",
        profile: "Main",
        level: 12,
        size: (250, 142),
        rate: (30000, 1001),
        frames: 60,
        reorder: 2,
        keyframes: &[0, 30],
        slices_per_unit: 4,
        output_order: &SLICES_OUTPUT_ORDER,
    },
];

fn frame_ticks(rate: (u32, u32), i: i64) -> i64 {
    (i128::from(i) * 90_000 * i128::from(rate.1)).div_euclid(i128::from(rate.0)) as i64
}

#[test]
fn tracks_match_ffprobe() {
    for e in &EXPECTED {
        let reader =
            H264Reader::new(BytesReader::open(fixture_path(e.name).as_ref()).unwrap()).unwrap();
        assert_eq!(reader.format(), &FORMAT);
        let [track] = reader.tracks() else {
            panic!("{}: one track expected", e.name);
        };
        assert_eq!(track.codec, Codec::H264);
        assert_eq!(track.clock_rate, 90_000);
        assert_eq!(track.framing, NalFraming::AnnexB);
        assert_eq!(track.profile.as_deref(), Some(e.profile), "{}", e.name);
        let video = track.video().unwrap();
        assert_eq!(
            video.level.as_ref().map(|l| l.idc),
            Some(e.level),
            "{}",
            e.name
        );
        assert_eq!((video.width, video.height), e.size);
        assert_eq!(video.frame_rate, Rational::new(e.rate.0, e.rate.1));
        let types: Vec<u8> = track
            .config
            .parameter_sets
            .iter()
            .map(|nal| nal_unit_type(nal[0]))
            .collect();
        assert_eq!(types, [nal_type::SPS, nal_type::PPS], "{}", e.name);
        assert!(track
            .config
            .parameter_sets
            .iter()
            .all(|nal| nal[nal.len() - 1] != 0));
    }
}

#[test]
fn timestamps_are_exact_frame_slots() {
    for e in &EXPECTED {
        let units = fixture_units(e.name);
        assert_eq!(units.len(), e.frames, "{}", e.name);
        let dur = frame_ticks(e.rate, 1);
        let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
        pts.sort_unstable();
        let slots: Vec<i64> = (0..e.frames as i64)
            .map(|i| frame_ticks(e.rate, i))
            .collect();
        assert_eq!(pts, slots, "{}", e.name);
        for (i, unit) in units.iter().enumerate() {
            assert!(unit.pts >= unit.dts, "{} unit {i}", e.name);
            assert_eq!(unit.dts, frame_ticks(e.rate, i as i64 - e.reorder));
            // 3600 and 3003 ticks: whole numbers, so every frame lasts one.
            assert_eq!(i64::from(unit.duration), dur, "{} unit {i}", e.name);
        }
        assert!(units.windows(2).all(|w| w[0].dts < w[1].dts), "{}", e.name);
        let keyframes: Vec<usize> = (0..units.len()).filter(|&i| units[i].keyframe).collect();
        assert_eq!(keyframes, e.keyframes, "{}", e.name);
    }
}

/// The output order in decoding order matches ffmpeg's decoder.
#[test]
fn presentation_order_matches_ffmpeg() {
    for e in &EXPECTED {
        let units = fixture_units(e.name);
        let expected: Vec<i64> = if e.output_order.is_empty() {
            (0..units.len() as i64)
                .map(|i| frame_ticks(e.rate, i))
                .collect()
        } else {
            e.output_order
                .iter()
                .map(|&o| frame_ticks(e.rate, o as i64))
                .collect()
        };
        let pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
        assert_eq!(pts, expected, "{}", e.name);
    }
}

#[test]
fn units_are_whole_access_units() {
    for e in &EXPECTED {
        let file = fixture(e.name);
        let units = fixture_units(e.name);
        // Every byte of the file is in exactly one unit, in order.
        let joined: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
        assert_eq!(joined, file, "{}", e.name);
        // The file fits one read buffer: units are adjacent slices of it.
        for pair in units.windows(2) {
            let end = pair[0].data.as_ptr().wrapping_add(pair[0].data.len());
            assert_eq!(end, pair[1].data.as_ptr(), "{}: a unit was copied", e.name);
        }
        for (i, unit) in units.iter().enumerate() {
            assert!(unit.data.starts_with(&[0, 0, 1]) || unit.data.starts_with(&[0, 0, 0, 1]));
            let types: Vec<u8> = crate::codec::nal::annexb_ranges(&unit.data)
                .map(|r| nal_unit_type(unit.data[r.start]))
                .collect();
            let slices = types.iter().filter(|&&t| t == 1 || t == 5).count();
            assert_eq!(slices, e.slices_per_unit, "{} unit {i}: {types:?}", e.name);
            let last_slice = types.iter().rposition(|&t| t == 1 || t == 5).unwrap();
            assert!(
                types[..last_slice]
                    .iter()
                    .all(|&t| matches!(t, 1 | 5 | 6..=9)),
                "{} unit {i}: {types:?}",
                e.name
            );
            if e.name == "h264_baseline.h264" {
                assert_eq!(types[0], nal_type::AUD, "unit {i}");
                assert_eq!(types.iter().filter(|&&t| t == nal_type::AUD).count(), 1);
            }
        }
    }
}

#[test]
fn inspect_counts_frames_and_duration() {
    for e in &EXPECTED {
        let info = inspect(fixture_path(e.name).as_ref()).unwrap();
        assert_eq!(info.format, &FORMAT);
        assert_eq!(info.stats[0].frames, e.frames as u64, "{}", e.name);
        assert_eq!(
            info.stats[0].duration,
            frame_ticks(e.rate, e.frames as i64) as u64,
            "{}",
            e.name
        );
        assert_eq!(info.stats[0].bytes, info.size, "{}", e.name);
    }
}

fn assert_same(a: &AccessUnit, b: &AccessUnit, what: &str) {
    assert_eq!(
        (a.pts, a.dts, a.duration, a.keyframe, &a.data),
        (b.pts, b.dts, b.duration, b.keyframe, &b.data),
        "{what}"
    );
}

#[test]
fn seek_reproduces_a_straight_reading() {
    for e in &EXPECTED {
        let straight = fixture_units(e.name);
        let duration = frame_ticks(e.rate, e.frames as i64);
        let key_pts: Vec<i64> = e.keyframes.iter().map(|&k| straight[k].pts).collect();
        let open =
            || H264Reader::new(BytesReader::open(fixture_path(e.name).as_ref()).unwrap()).unwrap();
        // A fresh reader must scan forward; a used one reuses its index.
        let mut used = open();
        read_all_and_stop(&mut used);
        for reader in [&mut open(), &mut used] {
            for ms in [
                1900u64,
                0,
                999,
                1000,
                1001,
                1500,
                40,
                1200,
                5000,
                u64::MAX,
                0,
            ] {
                let time = Duration::from_millis(ms);
                let got = reader.seek(time).unwrap();
                let target = ticks_at(time);
                if target >= duration {
                    assert_eq!(got, time_of_ticks(duration), "{} {ms} ms", e.name);
                    assert!(reader.read_unit().unwrap().is_none());
                    continue;
                }
                let k = key_pts.iter().rposition(|&p| p <= target).unwrap();
                let first = e.keyframes[k];
                assert_eq!(
                    got,
                    time_of_ticks(straight[first].pts),
                    "{} {ms} ms",
                    e.name
                );
                assert_eq!(ticks_at(got), straight[first].pts);
                let (rest, error) = read_all_and_stop(reader);
                assert!(error.is_none());
                assert_eq!(rest.len(), straight.len() - first, "{} {ms} ms", e.name);
                for (i, unit) in rest.iter().enumerate() {
                    assert_same(unit, &straight[first + i], e.name);
                }
            }
        }
    }
}

#[test]
fn seek_to_a_key_frame_time_lands_on_it() {
    let straight = fixture_units("h264_odd_ntsc_slices.264");
    let mut reader = H264Reader::new(
        BytesReader::open(fixture_path("h264_odd_ntsc_slices.264").as_ref()).unwrap(),
    )
    .unwrap();
    let key = &straight[30];
    let at = reader.seek(time_of_ticks(key.pts)).unwrap();
    assert_eq!(ticks_at(at), key.pts);
    assert_same(&reader.read_unit().unwrap().unwrap(), key, "key frame");
    // Just before it: the previous key frame.
    reader.seek(time_of_ticks(key.pts - 1)).unwrap();
    assert_same(&reader.read_unit().unwrap().unwrap(), &straight[0], "first");
}

#[test]
fn concatenated_streams_continue_the_timeline() {
    let file = fixture("h264_bframes.264");
    let twice = [&file[..], &file[..]].concat();
    let mut reader = open_bytes(&twice).unwrap();
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none());
    assert_eq!(units.len(), 100);
    let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
    pts.sort_unstable();
    assert_eq!(pts, (0..100).map(|i| i * 3600).collect::<Vec<i64>>());
    let keys: Vec<usize> = (0..100).filter(|&i| units[i].keyframe).collect();
    assert_eq!(keys, [0, 25, 50, 75]);
    let second_half: Vec<i64> = units[50..].iter().map(|u| u.pts - 50 * 3600).collect();
    let first_half: Vec<i64> = units[..50].iter().map(|u| u.pts).collect();
    assert_eq!(second_half, first_half);
}

/// A file joined to one of another rate and size: timing follows each
/// part's SPS, from the IDR picture where it takes effect (4.002 s, not
/// 110 frames at the first part's 25 fps), and seeking stays exact.
#[test]
fn a_new_sps_rate_takes_effect_at_its_idr() {
    let open: crate::media::testing::Opener = |input| Ok(Box::new(H264Reader::new(input)?));
    crate::media::testing::check_rate_change(
        open,
        [
            &fixture("h264_bframes.264"),
            &fixture("h264_odd_ntsc_slices.264"),
        ],
        [
            Rational::new(25, 1).unwrap(),
            Rational::new(30000, 1001).unwrap(),
        ],
        [50, 60],
    );
}

#[test]
fn leading_junk_is_skipped() {
    let file = fixture("h264_baseline.h264");
    let mut data = b"junk before the stream".to_vec();
    data.extend_from_slice(&file);
    let mut reader = open_bytes(&data).unwrap();
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none());
    assert_eq!(units.len(), 50);
    assert_eq!(units[0].data, file[..units[0].data.len()]);
}

#[test]
fn slices_without_parameter_sets_are_dropped() {
    // Units 10 to 24 of the stream (no SPS/PPS: they come with the IDR
    // pictures), then the whole stream: the leading slices cannot be
    // decoded.
    let file = fixture("h264_bframes.264");
    let units = fixture_units("h264_bframes.264");
    let offset = |n: usize| -> usize { units[..n].iter().map(|u| u.data.len()).sum() };
    let data = [&file[offset(10)..offset(25)], &file[..]].concat();
    let mut reader = open_bytes(&data).unwrap();
    let (got, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none());
    assert_eq!(got.len(), 50);
    assert_eq!(got[0].data, units[0].data);
}

#[test]
fn truncated_files_yield_complete_units_then_stop() {
    for e in &EXPECTED {
        let full = fixture_units(e.name);
        let open: crate::media::testing::Opener = |input| Ok(Box::new(H264Reader::new(input)?));
        check_video_truncations(&fixture(e.name), open, &full, |i| frame_ticks(e.rate, i));
    }
}

/// The truncation policy: an access unit whose slice header the end of
/// the file cuts is dropped with a warning after the whole ones; cut in
/// the stream's first picture, nothing whole remains and it is an error.
#[test]
fn an_access_unit_cut_in_its_slice_header_is_dropped() {
    let file = fixture("h264_bframes.264");
    let units = fixture_units("h264_bframes.264");
    // Cut 2 bytes into the slice NAL unit of unit 10: first_mb_in_slice
    // (0) is readable, the rest of the header is not.
    let start: usize = units[..10].iter().map(|u| u.data.len()).sum();
    let nal = crate::codec::nal::annexb_ranges(&units[10].data)
        .find(|r| has_slice_header(nal_unit_type(units[10].data[r.start])))
        .unwrap();
    let cut = start + nal.start + 2;
    let ((got, error), warnings) =
        capture_warnings(|| read_all_and_stop(&mut open_bytes(&file[..cut]).unwrap()));
    assert!(error.is_none(), "{error:?}");
    let want: Vec<&Bytes> = units[..10].iter().map(|u| &u.data).collect();
    let got: Vec<&Bytes> = got.iter().map(|u| &u.data).collect();
    assert_eq!(got, want);
    let nal_type = nal_unit_type(units[10].data[nal.start]);
    assert_eq!(
        warnings,
        [format!(
            "H.264 stream, byte {start}: last access unit cut short (the file ends inside the \
             slice header of the NAL unit of type {nal_type} at byte {} (2 bytes of it)): \
             dropped",
            cut - 2
        )]
    );
    // The same cut in the first picture leaves nothing whole.
    let nal = crate::codec::nal::annexb_ranges(&units[0].data)
        .find(|r| has_slice_header(nal_unit_type(units[0].data[r.start])))
        .unwrap();
    let error = open_bytes(&file[..nal.start + 2]).err().unwrap();
    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
    assert!(
        error.to_string().starts_with(&format!(
            "truncated at byte {}: the file ends inside the slice header",
            nal.start
        )),
        "{error}"
    );
}

#[test]
fn broken_inputs_give_clear_errors() {
    let empty = fixture("bad/empty.h264");
    assert!(matches!(open_bytes(&empty), Err(MediaError::Empty)));
    for (name, needle) in [
        ("bad/random.bin", "no Annex B start code"),
        ("bad/text.mp3", "no Annex B start code"),
        ("audio_44k_stereo.aac", "not an H.264 stream"),
    ] {
        let data = fixture(name);
        match open_bytes(&data) {
            Err(e @ MediaError::Invalid { .. }) => {
                assert!(e.to_string().contains(needle), "{name}: {e}")
            }
            other => panic!("{name}: {:?}", other.err()),
        }
    }
    // Every other fixture (H.265, audio, WAV) read as H.264: a clear
    // error, or whatever units its bytes happen to make, never a panic.
    for entry in std::fs::read_dir(fixture_path("")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_file() && !name.starts_with("h264_") && name != "generate.sh" {
            let data = std::fs::read(&path).unwrap();
            if let Ok(mut reader) = open_bytes(&data) {
                read_all_and_stop(&mut reader);
            }
        }
    }
    // Parameter sets only, no picture.
    let file = fixture("h264_bframes.264");
    let units = fixture_units("h264_bframes.264");
    let ranges: Vec<_> = crate::codec::nal::annexb_ranges(&units[0].data).collect();
    let before_slice = ranges
        .iter()
        .find(|r| has_slice_header(nal_unit_type(units[0].data[r.start])))
        .unwrap()
        .start
        - 4;
    let e = open_bytes(&file[..before_slice]).err().unwrap();
    assert!(e.to_string().contains("no coded slice"), "{e}");
}

/// Deterministic corruption: overwrite bytes at pseudo-random places.
#[test]
fn corrupted_streams_never_panic_or_hang() {
    for e in &EXPECTED {
        let file = fixture(e.name);
        let mut random = XorShift(0x2545_f491_4f6c_dd1d);
        for round in 0..40 {
            let mut data = file.clone();
            for _ in 0..1 + round % 8 {
                let r = random.next_u64();
                let at = (r % data.len() as u64) as usize;
                // Mostly the first bytes (parameter sets, headers).
                let at = if round % 2 == 0 { at % 200 } else { at };
                data[at] = (r >> 32) as u8;
            }
            let Ok(mut reader) = open_bytes(&data) else {
                continue;
            };
            let (units, _) = read_all_and_stop(&mut reader);
            assert_consistent_timing(&units);
            for ms in [1500, 0, 700] {
                if reader.seek(Duration::from_millis(ms)).is_ok() {
                    let (after, _) = read_all_and_stop(&mut reader);
                    assert!(after.iter().all(|u| u.dts <= u.pts), "after {ms} ms");
                }
            }
        }
    }
}

#[test]
fn a_huge_nal_unit_is_refused_without_reading_it_whole() {
    // The limit lowered to 2 MiB (the real one, 16 MiB, works the same way).
    let file = fixture("h264_baseline.h264");
    let mut data = file.clone();
    data.extend(std::iter::repeat_n(0xffu8, 4 << 20));
    let mut reader = open_bytes(&data).unwrap();
    reader.scanner.max_access_unit = 2 << 20;
    let (units, error) = read_all_and_stop(&mut reader);
    assert_eq!(units.len(), 49);
    let error = error.unwrap().to_string();
    assert!(error.contains("access unit larger than 2 MiB"), "{error}");
}

#[test]
fn count_units_reads_everything() {
    let mut reader =
        H264Reader::new(BytesReader::open(fixture_path("h264_bframes.264").as_ref()).unwrap())
            .unwrap();
    let stats = count_units(&mut reader).unwrap();
    assert_eq!(stats[0].frames, 50);
    assert_eq!(stats[0].duration, 50 * 3600);
}
