//! Tests of the H.265 reader on synthetic streams: open GOPs with RASL and
//! RADL pictures, end of sequence, parameter sets that change, and the
//! corrupt output orders fuzzing found. Pictures are the fixture's
//! parameter sets plus slice headers written bit by bit.

use std::time::Duration;

use bitstream_io::{BigEndian, BitWrite, BitWriter};

use super::*;

/// One start code and NAL unit, with emulation prevention applied.
pub(super) fn push_nal(stream: &mut Vec<u8>, header: [u8; 2], rbsp: &[u8]) {
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
pub(super) fn push_picture(stream: &mut Vec<u8>, nal_type: u8, poc_lsb: u32) {
    push_picture_with_extra_bits(stream, nal_type, poc_lsb, 0);
}

/// [`push_picture`] for a PPS with `num_extra_slice_header_bits` = `extra`.
pub(super) fn push_picture_with_extra_bits(
    stream: &mut Vec<u8>,
    nal_type: u8,
    poc_lsb: u32,
    extra: u32,
) {
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
pub(super) fn parameter_sets() -> Vec<u8> {
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

pub(super) fn open_gop_stream(pictures: &[(u8, u32)]) -> Vec<u8> {
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

#[test]
fn trailing_zero_bytes_stay_with_their_access_unit() {
    // Annex B (§B.2): zeros after a NAL unit are its trailing_zero_8bits,
    // but for the zero_byte of a 4-byte start code, which belongs to the
    // next unit; zeros at the end of the file end the last access unit.
    let mut stream = parameter_sets();
    push_picture(&mut stream, nal_type::IDR_N_LP, 0);
    stream.extend([0, 0, 0]);
    let first_end = stream.len();
    push_picture(&mut stream, nal_type::TRAIL_R, 1);
    stream.extend([0, 0]);
    let (units, error) = read_all_and_stop(&mut open(&stream).unwrap());
    assert!(error.is_none());
    assert_eq!(units.len(), 2);
    assert_eq!(units[0].data, stream[..first_end]);
    assert_eq!(units[1].data, stream[first_end..]);
    assert!(units[1].data.starts_with(&[0, 0, 0, 1]));
}
