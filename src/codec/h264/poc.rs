//! Picture order count decoding: ITU-T H.264 §8.2.1.

use h264_reader::nal::sps::{PicOrderCntType, SeqParameterSet};

use super::{PictureStructure, SliceInfo};

/// Picture order count decoding (§8.2.1): the state carried from picture to
/// picture in decoding order, for `pic_order_cnt_type` 0, 1 and 2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PocDecoder {
    /// `prevPicOrderCntMsb` (type 0): of the previous reference picture.
    prev_poc_msb: i64,
    /// `prevPicOrderCntLsb` (type 0).
    prev_poc_lsb: i64,
    /// `prevFrameNumOffset` (types 1 and 2): of the previous picture.
    prev_frame_num_offset: i64,
    /// `frame_num` of the previous picture (0 after MMCO 5, §7.4.3).
    prev_frame_num: i64,
}

impl PocDecoder {
    /// A decoder at the start of a stream.
    pub fn new() -> PocDecoder {
        PocDecoder::default()
    }

    /// Decodes `PicOrderCnt(CurrPic)` of the picture whose first slice is
    /// `slice` (§8.2.1.1–§8.2.1.3): the minimum of the frame's two field
    /// order counts, or the field's. A picture with MMCO 5 gets the value it
    /// has after its decoding, i.e. relative to itself (0 for a frame whose
    /// top field comes first), as §8.2.1 prescribes for the pictures that
    /// follow it. Updates the state for the next picture.
    pub fn decode(&mut self, sps: &SeqParameterSet, slice: &SliceInfo) -> i64 {
        let idr = slice.is_idr();
        let is_ref = slice.nal_ref_idc != 0;
        let frame_num = i64::from(slice.frame_num);
        let max_frame_num = 1i64 << sps.log2_max_frame_num();
        let frame_num_offset = if idr {
            0
        } else if self.prev_frame_num > frame_num {
            self.prev_frame_num_offset.saturating_add(max_frame_num)
        } else {
            self.prev_frame_num_offset
        };
        let mut poc_msb = 0;
        let (top, bottom) = match &sps.pic_order_cnt {
            PicOrderCntType::TypeZero {
                log2_max_pic_order_cnt_lsb_minus4,
            } => {
                let max_lsb = 1i64 << (log2_max_pic_order_cnt_lsb_minus4 + 4);
                let (prev_msb, prev_lsb) = if idr {
                    (0, 0)
                } else {
                    (self.prev_poc_msb, self.prev_poc_lsb)
                };
                let lsb = i64::from(slice.pic_order_cnt_lsb);
                poc_msb = if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
                    prev_msb.saturating_add(max_lsb)
                } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
                    prev_msb.saturating_sub(max_lsb)
                } else {
                    prev_msb
                };
                let top = poc_msb.saturating_add(lsb);
                let bottom = match slice.structure {
                    PictureStructure::Frame => {
                        top.saturating_add(i64::from(slice.delta_pic_order_cnt_bottom))
                    }
                    _ => top,
                };
                (top, bottom)
            }
            PicOrderCntType::TypeOne {
                offset_for_non_ref_pic,
                offset_for_top_to_bottom_field,
                offsets_for_ref_frame,
                ..
            } => {
                let expected = expected_poc(
                    offsets_for_ref_frame,
                    frame_num_offset,
                    frame_num,
                    is_ref,
                    i64::from(*offset_for_non_ref_pic),
                );
                let [delta0, delta1] = slice.delta_pic_order_cnt.map(i64::from);
                let to_bottom = i64::from(*offset_for_top_to_bottom_field);
                match slice.structure {
                    PictureStructure::Frame => {
                        let top = expected.saturating_add(delta0);
                        (top, top.saturating_add(to_bottom).saturating_add(delta1))
                    }
                    PictureStructure::TopField => {
                        let top = expected.saturating_add(delta0);
                        (top, top)
                    }
                    PictureStructure::BottomField => {
                        let bottom = expected.saturating_add(to_bottom).saturating_add(delta0);
                        (bottom, bottom)
                    }
                }
            }
            PicOrderCntType::TypeTwo => {
                let temp = if idr {
                    0
                } else {
                    let doubled = frame_num_offset.saturating_add(frame_num).saturating_mul(2);
                    if is_ref {
                        doubled
                    } else {
                        doubled - 1
                    }
                };
                (temp, temp)
            }
        };
        let mut poc = match slice.structure {
            PictureStructure::Frame => top.min(bottom),
            PictureStructure::TopField => top,
            PictureStructure::BottomField => bottom,
        };
        // §8.2.1: after a picture with MMCO 5, its field order counts are
        // taken relative to tempPicOrderCnt = PicOrderCnt(CurrPic).
        let top_after = if slice.mmco5 {
            top.saturating_sub(poc)
        } else {
            top
        };
        if slice.mmco5 {
            poc = 0;
        }
        if is_ref {
            (self.prev_poc_msb, self.prev_poc_lsb) = if !slice.mmco5 {
                (poc_msb, i64::from(slice.pic_order_cnt_lsb))
            } else if slice.structure == PictureStructure::BottomField {
                (0, 0)
            } else {
                (0, top_after)
            };
        }
        (self.prev_frame_num_offset, self.prev_frame_num) = if slice.mmco5 {
            (0, 0)
        } else {
            (frame_num_offset, frame_num)
        };
        poc
    }
}

/// `expectedPicOrderCnt` of `pic_order_cnt_type` 1 (§8.2.1.2), including
/// `offset_for_non_ref_pic` for non-reference pictures; saturating, since the
/// offsets come from the stream.
fn expected_poc(
    offsets: &[i32],
    frame_num_offset: i64,
    frame_num: i64,
    is_ref: bool,
    offset_for_non_ref_pic: i64,
) -> i64 {
    let cycle = offsets.len() as i64;
    let mut abs_frame_num = if cycle != 0 {
        frame_num_offset.saturating_add(frame_num)
    } else {
        0
    };
    if !is_ref && abs_frame_num > 0 {
        abs_frame_num -= 1;
    }
    let mut expected = 0i64;
    if abs_frame_num > 0 {
        let delta_per_cycle: i64 = offsets.iter().map(|&o| i64::from(o)).sum();
        let cycle_count = (abs_frame_num - 1) / cycle;
        let in_cycle = ((abs_frame_num - 1) % cycle) as usize;
        expected = cycle_count.saturating_mul(delta_per_cycle);
        for &offset in &offsets[..=in_cycle] {
            expected = expected.saturating_add(i64::from(offset));
        }
    }
    if !is_ref {
        expected = expected.saturating_add(offset_for_non_ref_pic);
    }
    expected
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::test_support::{first_of_type, slice};
    use crate::codec::h264::{nal_type, parse_sps};
    use crate::codec::nal::fixture_nal_units;

    /// An SPS of the given `pic_order_cnt_type` with 4-bit frame_num and
    /// 4-bit POC lsb, from the fixture's SPS.
    fn sps_with_poc(poc: PicOrderCntType) -> SeqParameterSet {
        let nals = fixture_nal_units("h264_bframes.264");
        let mut sps = parse_sps(first_of_type(&nals, nal_type::SPS)).unwrap();
        sps.log2_max_frame_num_minus4 = 0;
        sps.pic_order_cnt = poc;
        sps
    }

    #[test]
    fn poc_type0_wraps_lsb_and_resets_at_idr() {
        let sps = sps_with_poc(PicOrderCntType::TypeZero {
            log2_max_pic_order_cnt_lsb_minus4: 0,
        });
        let mut poc = PocDecoder::new();
        // I0 P(lsb 6) B(lsb 2, non-ref) P(12) P(2 = 18 mod 16) B(14 = -2 mod 16).
        let pictures = [
            (slice(5, 3, 0, 0), 0),
            (slice(1, 2, 1, 6), 6),
            (slice(1, 0, 2, 2), 2),
            (slice(1, 2, 2, 12), 12),
            (slice(1, 2, 3, 2), 18),
            (slice(1, 0, 4, 14), 14),
            (slice(1, 2, 4, 8), 24),
            (slice(5, 3, 0, 4), 4),
        ];
        for (i, (s, expected)) in pictures.iter().enumerate() {
            assert_eq!(poc.decode(&sps, s), *expected, "picture {i}");
        }
        // Bottom field order count of a frame: the picture's POC is the minimum.
        let frame = SliceInfo {
            delta_pic_order_cnt_bottom: -1,
            ..slice(1, 2, 1, 10)
        };
        assert_eq!(poc.decode(&sps, &frame), 9);
    }

    #[test]
    fn poc_type0_after_mmco5() {
        let sps = sps_with_poc(PicOrderCntType::TypeZero {
            log2_max_pic_order_cnt_lsb_minus4: 0,
        });
        let mut poc = PocDecoder::new();
        assert_eq!(poc.decode(&sps, &slice(5, 3, 0, 0)), 0);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 4)), 4);
        let reset = SliceInfo {
            mmco5: true,
            ..slice(1, 2, 2, 10)
        };
        assert_eq!(poc.decode(&sps, &reset), 0);
        // Next pictures count from the reset picture: prevPicOrderCntLsb is
        // its top field order count after the reset (0).
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 4)), 4);
        assert_eq!(poc.decode(&sps, &slice(1, 0, 2, 2)), 2);
    }

    #[test]
    fn poc_type1_cycles() {
        let sps = sps_with_poc(PicOrderCntType::TypeOne {
            delta_pic_order_always_zero_flag: false,
            offset_for_non_ref_pic: -2,
            offset_for_top_to_bottom_field: 1,
            offsets_for_ref_frame: vec![4, 2],
        });
        let mut poc = PocDecoder::new();
        assert_eq!(poc.decode(&sps, &slice(5, 3, 0, 0)), 0);
        // frame_num 1: abs 1, cycle 0, in-cycle 0 -> 4; frame_num 2: 4+2 = 6.
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 0)), 4);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 2, 0)), 6);
        // Non-reference with frame_num 3: abs 2 -> 6, then -2.
        assert_eq!(poc.decode(&sps, &slice(1, 0, 3, 0)), 4);
        // frame_num 15: abs 15, 7 cycles of 6 plus 4; then frame_num wraps
        // at 16: FrameNumOffset becomes 16, abs 17, 8 cycles plus 4.
        assert_eq!(poc.decode(&sps, &slice(1, 2, 15, 0)), 7 * 6 + 4);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 0)), 8 * 6 + 4);
        let delta = SliceInfo {
            delta_pic_order_cnt: [3, -5],
            ..slice(1, 2, 1, 0)
        };
        // Top = 52 + 3 = 55, bottom = 55 + 1 - 5 = 51.
        assert_eq!(poc.decode(&sps, &delta), 51);
    }

    #[test]
    fn poc_type2_follows_frame_num() {
        let sps = sps_with_poc(PicOrderCntType::TypeTwo);
        let mut poc = PocDecoder::new();
        assert_eq!(poc.decode(&sps, &slice(5, 3, 0, 0)), 0);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 0)), 2);
        assert_eq!(poc.decode(&sps, &slice(1, 0, 2, 0)), 3);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 2, 0)), 4);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 0, 0)), 32);
        let reset = SliceInfo {
            mmco5: true,
            ..slice(1, 2, 1, 0)
        };
        assert_eq!(poc.decode(&sps, &reset), 0);
        assert_eq!(poc.decode(&sps, &slice(1, 2, 1, 0)), 2);
    }
}
