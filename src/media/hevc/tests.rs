//! Tests of the H.265 reader against ffprobe's view of the fixtures, on a
//! synthetic open-GOP stream with RASL and RADL pictures, and on broken input.

use std::time::Duration;

use bitstream_io::{BigEndian, BitWrite, BitWriter};

use super::*;
use crate::codec::hevc::{nal_type, NalHeader};
use crate::codec::nal::annexb_ranges;
use crate::media::testing::{
    assert_consistent_timing, assert_frame_timing, check_video_truncations, fixture, fixture_path,
    read_all_and_stop, Opener, XorShift,
};
use crate::media::Rational;

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
    assert_eq!(reader.format(), Format::Hevc);
    let track = reader.tracks()[0].clone();
    assert_eq!(track.codec, Codec::Hevc);
    assert_eq!(
        (track.clock_rate, track.framing),
        (90000, NalFraming::AnnexB)
    );
    assert_eq!(track.profile.as_deref(), Some("Main"));
    assert_eq!(track.level, Some(60));
    assert_eq!((track.width, track.height), (Some(320), Some(240)));
    assert_eq!(track.frame_rate, Rational::new(25, 1));
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
    assert_eq!(track.level, Some(60));
    assert_eq!((track.width, track.height), (Some(250), Some(142)));
    assert_eq!(track.frame_rate, Rational::new(30000, 1001));
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
    assert_eq!(info.format, Format::Hevc);
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

/// One start code and NAL unit, with emulation prevention applied.
fn push_nal(stream: &mut Vec<u8>, header: [u8; 2], rbsp: &[u8]) {
    stream.extend([0, 0, 0, 1]);
    stream.extend(header);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            stream.push(3);
            zeros = 0;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        stream.push(b);
    }
}

/// A slice NAL unit of a picture for the fixture's PPS 0 / SPS 0 (8-bit POC
/// LSBs, no extra slice header bits): `slice_segment_header()` up to
/// `slice_pic_order_cnt_lsb`, then filler and the stop bit.
fn push_picture(stream: &mut Vec<u8>, nal_type: u8, poc_lsb: u32) {
    push_picture_with_extra_bits(stream, nal_type, poc_lsb, 0);
}

/// [`push_picture`] for a PPS with `num_extra_slice_header_bits` = `extra`.
fn push_picture_with_extra_bits(stream: &mut Vec<u8>, nal_type: u8, poc_lsb: u32, extra: u32) {
    let mut w = BitWriter::endian(Vec::new(), BigEndian);
    w.write_bit(true).unwrap(); // first_slice_segment_in_pic_flag
    if (16..=23).contains(&nal_type) {
        w.write_bit(false).unwrap(); // no_output_of_prior_pics_flag
    }
    w.write_bit(true).unwrap(); // slice_pic_parameter_set_id ue(0)
    for _ in 0..extra {
        w.write_bit(false).unwrap(); // slice_reserved_flag
    }
    w.write_var(3, 0b010u32).unwrap(); // slice_type ue(1): P
    if nal_type != nal_type::IDR_W_RADL && nal_type != nal_type::IDR_N_LP {
        w.write_var(8, poc_lsb).unwrap();
    }
    w.write_var(16, 0xa5a5u32).unwrap();
    w.write_bit(true).unwrap(); // rbsp_stop_one_bit
    w.byte_align().unwrap();
    push_nal(stream, [nal_type << 1, 1], &w.into_writer());
}

/// The fixture's VPS, SPS and PPS (sps_max_num_reorder_pics 2).
fn parameter_sets() -> Vec<u8> {
    let data = fixture("hevc_bframes.265");
    let mut out = Vec::new();
    for range in annexb_ranges(&data).take(3) {
        out.extend([0, 0, 0, 1]);
        out.extend(&data[range]);
    }
    out
}

/// (nal_unit_type, slice_pic_order_cnt_lsb) in decoding order: a closed
/// GOP, two open GOPs whose CRA pictures have three RASL pictures each, and
/// an IDR_W_RADL with two RADL pictures (POC −2, −1).
#[rustfmt::skip]
const OPEN_GOPS: [(u8, u32); 28] = [
    (20, 0), (1, 4), (1, 2), (0, 1), (0, 3), (1, 8), (1, 6), (0, 5), (0, 7),
    (21, 12), (9, 10), (8, 9), (8, 11), (1, 16), (1, 14), (0, 13), (0, 15),
    (21, 20), (9, 18), (8, 17), (8, 19), (1, 22), (0, 21),
    (19, 0), (7, 254), (6, 255), (1, 2), (0, 1),
];

fn open_gop_stream(pictures: &[(u8, u32)]) -> Vec<u8> {
    let mut stream = parameter_sets();
    for &(t, lsb) in pictures {
        push_picture(&mut stream, t, lsb);
    }
    stream
}

#[test]
fn open_gops_with_leading_pictures() {
    let stream = open_gop_stream(&OPEN_GOPS);
    let (units, error) = read_all_and_stop(&mut open(&stream).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 28);
    assert_frame_timing(&units, |i| i * 3600);
    // Output order is POC order; the IDR flushes everything before it and
    // its RADL pictures come out before it.
    assert_eq!(
        output_indexes(&units, 3600),
        [
            0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15, 20, 18, 17, 19, 22, 21, 25,
            23, 24, 27, 26
        ]
    );
    let keys: Vec<usize> = (0..28).filter(|&i| units[i].keyframe).collect();
    assert_eq!(keys, [0, 9, 17, 23]);
}

#[test]
fn seeking_to_a_cra_skips_its_rasl_pictures_and_keeps_timestamps() {
    let stream = open_gop_stream(&OPEN_GOPS);
    let (all, _) = read_all_and_stop(&mut open(&stream).unwrap());
    let mut reader = open(&stream).unwrap();
    // frame 12 and 13 -> CRA 12; 20, 24 -> CRA 20; 25 -> IDR; 3 -> IDR 0.
    for (frame, key) in [(13, 9), (24, 17), (12, 9), (25, 23), (3, 0), (20, 17)] {
        let (at, units) = after_seek(&mut reader, Duration::from_millis(frame * 40));
        assert_eq!(at, time_of_ticks(all[key].pts), "seek to frame {frame}");
        // The same units as a straight read, RASL pictures of the CRA
        // sought to left out, with identical PTS and DTS.
        let expected = after_key(&all, key);
        if key == 9 || key == 17 {
            assert_eq!(expected.len(), all.len() - key - 3, "three RASL skipped");
        }
        assert_eq!(units, expected, "seek to frame {frame}");
    }
    // Past the end: positioned at the end, the duration returned.
    let (at, units) = after_seek(&mut reader, Duration::from_secs(2));
    assert_eq!((at, units.len()), (time_of_ticks(28 * 3600), 0));
}

#[test]
fn seeking_to_each_cra_of_the_fixture_skips_its_rasl_pictures() {
    let data = fixture("hevc_bframes.265");
    let (all, _) = read_all_and_stop(&mut open(&data).unwrap());
    let mut used = open(&data).unwrap();
    read_all_and_stop(&mut used);
    for &cra in &BFRAMES_KEYFRAMES[1..] {
        assert!(all[cra + 1..cra + 4].iter().all(is_rasl));
        let pts = all[cra].pts;
        // The CRA's own time, within its frame, and the next frame's.
        for time in [pts, pts + 3599, pts + 3600] {
            // A fresh reader indexes forward; a used one knows the CRA.
            for reader in [&mut open(&data).unwrap(), &mut used] {
                let (at, units) = after_seek(reader, time_of_ticks(time));
                assert_eq!(at, time_of_ticks(pts), "CRA {cra}, {time} ticks");
                assert_eq!(units[0], all[cra]);
                // Its three RASL pictures are skipped; everything after
                // them is the straight read, PTS and DTS included: the
                // skipped pictures keep their decoding slots.
                assert_eq!(units[1..], all[cra + 4..], "CRA {cra}, {time} ticks");
                assert_eq!(units[1].dts, all[cra].dts + 4 * 3600);
            }
        }
    }
}

#[test]
fn rasl_pictures_of_a_leading_cra_are_skipped() {
    // The stream starts at the first CRA: its RASL pictures reference
    // pictures that are not there, so a decoder drops them (§8.1.3); those
    // of the second CRA are decodable and kept.
    let stream = open_gop_stream(&OPEN_GOPS[9..]);
    let (units, error) = read_all_and_stop(&mut open(&stream).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 19 - 3);
    assert_frame_timing(&units, |i| i * 3600);
    assert_eq!(
        output_indexes(&units, 3600),
        [0, 4, 2, 1, 3, 8, 6, 5, 7, 10, 9, 13, 11, 12, 15, 14]
    );
}

#[test]
fn a_cra_after_end_of_sequence_starts_over() {
    // GOP 1, an end of sequence NAL unit, then the CRA with RASL pictures:
    // the CRA has NoRaslOutputFlag = 1, so its RASL pictures are skipped
    // and not counted in decoding order, in a straight read and after a seek.
    let mut stream = open_gop_stream(&OPEN_GOPS[..9]);
    push_nal(&mut stream, [nal_type::EOS << 1, 1], &[]);
    for &(t, lsb) in &OPEN_GOPS[9..17] {
        push_picture(&mut stream, t, lsb);
    }
    let mut reader = open(&stream).unwrap();
    let (units, error) = read_all_and_stop(&mut reader);
    assert!(error.is_none());
    assert_frame_timing(&units, |i| i * 3600);
    assert_eq!(
        output_indexes(&units, 3600),
        [0, 4, 2, 1, 3, 8, 6, 5, 7, 9, 13, 11, 10, 12]
    );
    assert!(units[8]
        .data
        .ends_with(&[0, 0, 0, 1, nal_type::EOS << 1, 1]));
    let (at, after) = after_seek(&mut reader, Duration::from_millis(400));
    assert_eq!(at, time_of_ticks(9 * 3600));
    assert_eq!(after, units[9..]);
}

#[test]
fn pictures_before_the_first_random_access_point_are_skipped() {
    let mut pictures = vec![(1, 30), (0, 29)];
    pictures.extend(&OPEN_GOPS[..9]);
    let (units, error) = read_all_and_stop(&mut open(&open_gop_stream(&pictures)).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 9);
    assert!(units[0].keyframe);
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

#[test]
fn truncated_files_give_complete_units_then_stop() {
    for (name, frame) in [("hevc_bframes.265", 3600), ("hevc_odd_ntsc.h265", 3003)] {
        let data = fixture(name);
        let (all, _) = read_all_and_stop(&mut open(&data).unwrap());
        let open: Opener = |input| Ok(Box::new(HevcReader::new(input)?));
        check_video_truncations(&data, open, &all, |i| i * frame);
    }
}

#[test]
fn cut_inside_headers_is_reported_as_truncated() {
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
    for (cut, expected_units) in [(second + 3, 1), (second + 1, 1)] {
        let (units, error) = read_all_and_stop(&mut open(&data[..cut]).unwrap());
        assert_eq!(units.len(), expected_units);
        let error = error.expect("truncation reported");
        assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
        assert!(error.to_string().contains("ends inside"), "{error}");
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
        assert!(open(&fixture(&format!("broken/{broken}"))).is_err());
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
        let _ = reader.seek(Duration::from_millis(next() % 2500));
        read_all_and_stop(&mut reader);
    }
}

#[test]
fn seeking_restores_the_parameter_sets_in_force_at_the_key_frame() {
    // GOP 1 uses the fixture's PPS 0; a new PPS 0 with two extra slice
    // header bits then replaces it for GOP 2. A seek back to the CRA of
    // GOP 1 (whose access unit repeats no parameter set) after reading the
    // whole file must parse its slices with the first PPS again.
    let mut stream = open_gop_stream(&[(20, 0), (1, 1), (1, 2), (21, 3), (1, 4), (1, 5)]);
    // pps_pic_parameter_set_id 0, pps_seq_parameter_set_id 0, two flags 0,
    // num_extra_slice_header_bits 2, then the stop bit.
    push_nal(&mut stream, [nal_type::PPS << 1, 1], &[0b1100_0101, 0x80]);
    for (t, lsb) in [(20, 0), (1, 1), (1, 2)] {
        push_picture_with_extra_bits(&mut stream, t, lsb, 2);
    }
    let (all, error) = read_all_and_stop(&mut open(&stream).unwrap());
    assert!(error.is_none());
    assert_eq!(all.len(), 9);
    let keys: Vec<usize> = (0..9).filter(|&i| all[i].keyframe).collect();
    assert_eq!(keys, [0, 3, 6]);
    let mut used = open(&stream).unwrap();
    read_all_and_stop(&mut used);
    for reader in [&mut used, &mut open(&stream).unwrap()] {
        let (at, units) = after_seek(reader, time_of_ticks(all[3].pts + 1));
        assert_eq!(at, time_of_ticks(all[3].pts));
        assert_eq!(units, all[3..]);
    }
}

#[test]
fn a_picture_output_after_a_later_cra_keeps_dts_before_pts_after_a_seek() {
    // Found by fuzzing (a mutated hevc_bframes.265): POCs that break the
    // output order rules, a picture before a CRA in decoding order (POC 40)
    // being output after it, and RASL pictures output after their CRA. A
    // restart at that CRA cannot number what follows as the straight read
    // does (a DTS came after its PTS), so it is no seek point: seeks land
    // on the IDR before it.
    #[rustfmt::skip]
    let pictures = [
        (20, 0), (1, 4), (0, 2), (0, 1), (0, 3), (1, 40), (0, 17), (0, 19),
        (21, 24), (9, 22), (8, 21), (8, 23), (1, 28), (1, 26), (0, 25), (0, 27),
        (1, 32), (1, 30), (0, 29), (0, 31),
    ];
    let stream = open_gop_stream(&pictures);
    let (all, error) = read_all_and_stop(&mut open(&stream).unwrap());
    assert!(error.is_none());
    assert_eq!(all.len(), pictures.len());
    assert_consistent_timing(&all);
    assert!(all[8].keyframe);
    let mut used = open(&stream).unwrap();
    read_all_and_stop(&mut used);
    for reader in [&mut open(&stream).unwrap(), &mut used] {
        let (at, units) = after_seek(reader, time_of_ticks(all[8].pts + 10));
        assert_eq!(at, time_of_ticks(all[0].pts));
        assert_eq!(units, all);
    }
}
