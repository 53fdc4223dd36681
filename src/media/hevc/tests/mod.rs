//! Tests of the H.265 reader against ffprobe's view of the fixtures and on
//! broken input; `synthetic` builds streams for the cases the fixtures lack.

mod synthetic;

use std::time::Duration;

use self::synthetic::parameter_sets;
use super::*;
use crate::codec::hevc::{nal_type, NalHeader};
use crate::codec::nal::annexb_ranges;
use crate::media::testing::{
    assert_consistent_timing, assert_frame_timing, capture_warnings, check_video_truncations,
    read_all_and_stop, Opener,
};
use crate::vocab::testing::{fixture, fixture_path, XorShift};
use crate::vocab::Rational;

fn open(data: &[u8]) -> Result<HevcReader> {
    HevcReader::new(BytesReader::from_bytes(data.to_vec()))
}

/// Output index of each unit in decoding order, for PTS a multiple of `step`.
fn output_indexes(units: &[AccessUnit], step: i64) -> Vec<i64> {
    units
        .iter()
        .map(|u| {
            assert_eq!(u.pts % step, 0);
            u.pts / step
        })
        .collect()
}

/// Unit sizes as FFmpeg's H.265 parser cuts packets: it leaves the
/// `zero_byte` of a 4-byte start code at the end of the previous packet,
/// where the reader keeps it with the NAL unit it belongs to (Annex B.2).
fn ffmpeg_sizes(units: &[AccessUnit]) -> Vec<usize> {
    let mut sizes: Vec<usize> = units.iter().map(|u| u.data.len()).collect();
    for i in 1..units.len() {
        if units[i].data.starts_with(&[0, 0, 0, 1]) {
            sizes[i] -= 1;
            sizes[i - 1] += 1;
        }
    }
    sizes
}

#[test]
fn bframes_fixture_agrees_with_ffprobe() {
    let data = fixture("hevc_bframes.265");
    let mut reader = open(&data).unwrap();
    assert_eq!(reader.format(), &FORMAT);
    let track = reader.tracks()[0].clone();
    assert_eq!(track.codec, Codec::Hevc);
    assert_eq!(
        (track.clock_rate, track.framing),
        (90000, NalFraming::AnnexB)
    );
    assert_eq!(track.profile.as_deref(), Some("Main"));
    let video = track.video().unwrap();
    let level = video.level.as_ref().unwrap();
    assert_eq!((level.idc, level.name.as_str()), (60, "2"));
    assert_eq!(
        (video.tier, video.pix_fmt, video.sample_aspect_ratio),
        (Some("Main"), Some("yuv420p"), Rational::new(1, 1))
    );
    assert_eq!((video.width, video.height), (320, 240));
    assert_eq!(video.frame_rate, Rational::new(25, 1));
    let types: Vec<u8> = track
        .config
        .parameter_sets
        .iter()
        .map(|n| n[0] >> 1)
        .collect();
    assert_eq!(types, [32, 33, 34]);
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none(), "{error:?}");
    // ffprobe -show_packets: 50 packets, these sizes, key frames 0, 21, 45.
    assert_eq!(
        ffmpeg_sizes(&units),
        [
            5999, 2239, 1076, 494, 593, 1982, 922, 407, 374, 1724, 838, 412, 494, 1556, 940, 481,
            472, 1822, 883, 470, 475, 6857, 920, 527, 448, 1966, 731, 348, 365, 1657, 749, 305,
            452, 1600, 945, 372, 302, 1792, 971, 390, 426, 1657, 971, 492, 417, 6259, 967, 455,
            483, 1079
        ]
    );
    let keys: Vec<usize> = (0..units.len()).filter(|&i| units[i].keyframe).collect();
    assert_eq!(keys, BFRAMES_KEYFRAMES);
    assert_frame_timing(&units, |i| i * 3600);
    // ffprobe -show_frames: the decoder outputs the packet at decode index
    // i as frame number output[i] (matched by pkt_pos).
    assert_eq!(
        output_indexes(&units, 3600),
        [
            0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15, 20, 18, 17, 19, 24, 22, 21,
            23, 28, 26, 25, 27, 32, 30, 29, 31, 36, 34, 33, 35, 40, 38, 37, 39, 44, 42, 41, 43, 48,
            46, 45, 47, 49
        ]
    );
    // sps_max_num_reorder_pics = 2: DTS trails by two frames.
    assert_eq!(units[0].dts, -7200);
    assert_eq!(units[49].dts, 47 * 3600);
}

/// Decode indexes of the key frames of `hevc_bframes.265`: the IDR picture
/// and two CRA pictures (`ffprobe -show_packets` flags `K`).
const BFRAMES_KEYFRAMES: [usize; 3] = [0, 21, 45];

/// `nal_unit_type` of the picture in an access unit.
fn picture_type(unit: &AccessUnit) -> u8 {
    annexb_ranges(&unit.data)
        .filter_map(|r| NalHeader::parse(&unit.data[r]))
        .find(|h| h.is_vcl())
        .map(|h| h.nal_type)
        .unwrap()
}

fn is_rasl(unit: &AccessUnit) -> bool {
    matches!(picture_type(unit), nal_type::RASL_N | nal_type::RASL_R)
}

#[test]
fn bframes_fixture_has_rasl_pictures_after_each_cra() {
    // x265 with keyint=24, open GOP and 3 B-frames: each CRA picture is
    // followed in decoding order by three RASL pictures that precede it in
    // output order (`ffmpeg -bsf:v trace_headers`: nal_unit_type 21 at
    // packets 21 and 45, 9, 8, 8 after each).
    let (units, _) = read_all_and_stop(&mut open(&fixture("hevc_bframes.265")).unwrap());
    let types: Vec<u8> = units.iter().map(picture_type).collect();
    assert_eq!(types[0], nal_type::IDR_N_LP);
    let cras: Vec<usize> = (0..units.len())
        .filter(|&i| types[i] == nal_type::CRA_NUT)
        .collect();
    assert_eq!(cras, BFRAMES_KEYFRAMES[1..]);
    for &cra in &cras {
        assert_eq!(
            types[cra + 1..cra + 5],
            [
                nal_type::RASL_R,
                nal_type::RASL_N,
                nal_type::RASL_N,
                nal_type::TRAIL_R
            ],
            "after the CRA at {cra}"
        );
        for rasl in &units[cra + 1..cra + 4] {
            assert!(rasl.pts < units[cra].pts && rasl.dts > units[cra].dts);
        }
    }
    let rasl: Vec<usize> = (0..units.len()).filter(|&i| is_rasl(&units[i])).collect();
    assert_eq!(rasl, [22, 23, 24, 46, 47, 48]);
}

#[test]
fn units_are_zero_copy_slices_of_the_file() {
    let data = fixture("hevc_bframes.265");
    let (units, _) = read_all_and_stop(&mut open(&data).unwrap());
    let joined: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
    assert_eq!(joined, data);
    for pair in units.windows(2) {
        let end = pair[0].data.as_ptr().wrapping_add(pair[0].data.len());
        assert_eq!(end, pair[1].data.as_ptr(), "units share one buffer");
    }
}

#[test]
fn odd_ntsc_fixture_agrees_with_ffprobe() {
    let data = fixture("hevc_odd_ntsc.h265");
    let mut reader = open(&data).unwrap();
    let track = reader.tracks()[0].clone();
    assert_eq!(track.profile.as_deref(), Some("Main"));
    let video = track.video().unwrap();
    assert_eq!(video.level.as_ref().map(|l| l.idc), Some(60));
    assert_eq!((video.width, video.height), (250, 142));
    assert_eq!(video.frame_rate, Rational::new(30000, 1001));
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none());
    assert_eq!(units.len(), 60);
    assert_eq!(ffmpeg_sizes(&units)[..3], [4744, 663, 734]);
    assert_frame_timing(&units, |i| i * 3003);
    // No reordering: PTS = DTS = i × 3003, IDR every 30 frames.
    for (i, unit) in units.iter().enumerate() {
        assert_eq!((unit.pts, unit.dts), (i as i64 * 3003, i as i64 * 3003));
        assert_eq!(unit.keyframe, i % 30 == 0);
    }
}

#[test]
fn probe_path_counts_frames() {
    let path = fixture_path("hevc_odd_ntsc.h265");
    let info = crate::media::inspect(std::path::Path::new(&path)).unwrap();
    assert_eq!(info.format, &FORMAT);
    assert_eq!(info.stats[0].frames, 60);
    assert_eq!(info.stats[0].duration, 60 * 3003);
}

/// What reading from the key frame at decode index `key` of a straight read
/// `all` yields: the key frame, then everything after it but its RASL
/// pictures (leading pictures that reference pictures before the key frame,
/// which a decoder starting there skips, §8.1.3), with unchanged timestamps.
fn after_key(all: &[AccessUnit], key: usize) -> Vec<AccessUnit> {
    // Leading pictures (RADL and RASL, types 6 to 9) come right after their
    // IRAP picture in decoding order (§7.4.2.2).
    let leading = all[key + 1..]
        .iter()
        .take_while(|u| (6..=9).contains(&picture_type(u)))
        .count();
    let (leading, rest) = all[key + 1..].split_at(leading);
    std::iter::once(&all[key])
        .chain(leading.iter().filter(|u| !is_rasl(u)))
        .chain(rest)
        .cloned()
        .collect()
}

/// Units from `reader` after seeking to `time`, and the time it reported.
fn after_seek(reader: &mut HevcReader, time: Duration) -> (Duration, Vec<AccessUnit>) {
    let at = reader.seek(time).unwrap();
    let (units, error) = read_all_and_stop(reader);
    assert!(error.is_none());
    (at, units)
}

#[test]
fn seeking_the_fixtures_matches_a_straight_read() {
    for (name, frame) in [("hevc_bframes.265", 3600), ("hevc_odd_ntsc.h265", 3003)] {
        let data = fixture(name);
        let (all, _) = read_all_and_stop(&mut open(&data).unwrap());
        let mut fresh = open(&data).unwrap();
        let mut used = open(&data).unwrap();
        read_all_and_stop(&mut used);
        for tenth in (0..=25).rev() {
            let time = Duration::from_millis(tenth * 100);
            let ticks = tenth as i64 * 9000;
            let key = all
                .iter()
                .rposition(|u| u.keyframe && u.pts <= ticks)
                .unwrap();
            for reader in [&mut fresh, &mut used] {
                let (at, units) = after_seek(reader, time);
                let duration = all.len() as i64 * frame;
                if ticks >= duration {
                    assert_eq!(at, time_of_ticks(duration), "{name} past the end");
                    assert!(units.is_empty());
                    continue;
                }
                assert_eq!(at, time_of_ticks(all[key].pts), "{name} at {time:?}");
                assert_eq!(units, after_key(&all, key), "{name} at {time:?}");
            }
        }
        for reader in [&mut fresh, &mut used] {
            let (at, units) = after_seek(reader, Duration::MAX);
            let end = time_of_ticks(all.len() as i64 * frame);
            assert_eq!((at, units.len()), (end, 0), "{name} at the largest time");
        }
    }
}

#[test]
fn a_long_stream_refills_the_buffer_across_access_units() {
    // 45 copies of the fixture (2.7 MB, so units straddle the 1 MiB reads):
    // each copy starts with an IDR and a new coded video sequence and has
    // two CRA pictures whose RASL pictures are decodable.
    let data = fixture("hevc_bframes.265").repeat(45);
    let (units, error) = read_all_and_stop(&mut open(&data).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 50 * 45);
    let joined: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
    assert!(joined == data);
    assert_frame_timing(&units, |i| i * 3600);
    assert_eq!(units.iter().filter(|u| u.keyframe).count(), 3 * 45);
}

/// A file joined to one of another rate and size: timing follows each
/// part's SPS from the IRAP picture that starts its coded video sequence,
/// and seeking stays exact.
#[test]
fn a_new_sps_rate_takes_effect_at_its_irap() {
    let open: crate::media::testing::Opener = |input| Ok(Box::new(HevcReader::new(input)?));
    crate::media::testing::check_rate_change(
        open,
        [&fixture("hevc_bframes.265"), &fixture("hevc_odd_ntsc.h265")],
        [
            Rational::new(25, 1).unwrap(),
            Rational::new(30000, 1001).unwrap(),
        ],
        [50, 60],
    );
}

#[test]
fn truncated_files_give_complete_units_then_stop() {
    for (name, frame) in [("hevc_bframes.265", 3600), ("hevc_odd_ntsc.h265", 3003)] {
        let data = fixture(name);
        let (all, _) = read_all_and_stop(&mut open(&data).unwrap());
        let open: Opener = |input| Ok(Box::new(HevcReader::new(input)?));
        check_video_truncations(&data, open, &all, |i| i * frame);
    }
}

/// The truncation policy: an access unit cut inside its slice segment
/// header or a NAL unit header is dropped with a warning after the whole
/// ones; parameter sets without any picture are an error.
#[test]
fn access_units_cut_inside_headers_are_dropped() {
    let data = fixture("hevc_bframes.265");
    // Cut 2 bytes into the slice of the second picture (its header
    // continues), and 1 byte into a NAL unit header.
    let second = data
        .windows(4)
        .enumerate()
        .filter(|(_, w)| w[..3] == [0, 0, 1] && w[3] >> 1 == 1)
        .map(|(i, _)| i + 3)
        .next()
        .unwrap();
    // The access unit it opens starts with its start code's zero_byte.
    let unit = second - 4;
    for (cut, reason) in [
        (
            second + 3,
            format!(
                "byte {unit}: last access unit cut short (the file ends inside the slice \
                 segment header of the picture at byte {unit}): dropped"
            ),
        ),
        (
            second + 1,
            format!(
                "byte {unit}: last access unit cut short (the file ends inside a NAL unit \
                 header): dropped"
            ),
        ),
    ] {
        let ((units, error), warnings) =
            capture_warnings(|| read_all_and_stop(&mut open(&data[..cut]).unwrap()));
        assert!(error.is_none(), "{error:?}");
        assert_eq!(units.len(), 1);
        assert_eq!(warnings, [format!("H.265 stream, {reason}")]);
    }
    // Parameter sets only, no picture.
    let error = open(&parameter_sets()).err().unwrap();
    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
}

#[test]
fn empty_random_and_text_input_are_clear_errors() {
    assert!(matches!(open(&[]), Err(MediaError::Empty)));
    let mut random = XorShift(0x2545_f491_4f6c_dd1d);
    let random: Vec<u8> = (0..300_000).map(|_| random.next_u64() as u8).collect();
    let text = "An H.265 file this is not.\n".repeat(2000);
    for input in [
        &random[..],
        text.as_bytes(),
        &[0u8; 5000][..],
        &[0, 0, 1][..],
    ] {
        match open(input) {
            Err(e @ (MediaError::Invalid { .. } | MediaError::Truncated { .. })) => {
                assert!(!e.to_string().is_empty())
            }
            Err(e) => panic!("unexpected error {e}"),
            Ok(_) => panic!("accepted junk"),
        }
    }
    let error = open(text.as_bytes()).err().unwrap().to_string();
    assert!(error.contains("no H.265"), "{error}");
    for broken in ["random.bin", "text.mp3", "empty.h264"] {
        assert!(open(&fixture(&format!("bad/{broken}"))).is_err());
    }
}

#[test]
fn junk_before_the_stream_is_skipped_up_to_a_limit() {
    let data = fixture("hevc_odd_ntsc.h265");
    let mut small = b"junk".repeat(100);
    small.extend(&data);
    let (units, error) = read_all_and_stop(&mut open(&small).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 60);
    let mut large = vec![0xffu8; 1 << 21];
    large.extend(&data);
    let error = open(&large).err().unwrap();
    assert!(
        error
            .to_string()
            .contains("not an H.265 stream: no Annex B start code"),
        "{error}"
    );
}

#[test]
fn corrupted_streams_end_without_panicking() {
    let data = fixture("hevc_bframes.265");
    let mut random = XorShift(0x853c_49e6_748f_ea9b);
    let mut next = move || random.next_u64();
    for _ in 0..150 {
        let mut bad = data.clone();
        for _ in 0..1 + next() % 20 {
            // Mostly the first 300 bytes: parameter sets and slice headers.
            let limit = if next() % 2 == 0 {
                300
            } else {
                bad.len() as u64
            };
            let at = (next() % limit) as usize;
            bad[at] = next() as u8;
        }
        let Ok(mut reader) = open(&bad) else {
            continue;
        };
        let (units, _) = read_all_and_stop(&mut reader);
        assert!(units.len() <= 60);
        assert_consistent_timing(&units);
        if reader.seek(Duration::from_millis(next() % 2500)).is_ok() {
            let (after, _) = read_all_and_stop(&mut reader);
            assert!(after.iter().all(|u| u.dts <= u.pts), "DTS after PTS");
        }
    }
}
