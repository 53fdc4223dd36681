//! Picture order count decoding: ITU-T H.265 §8.3.1.

use super::slice::SliceHeader;
use super::NalHeader;

/// The decoding process for picture order count (ITU-T H.265 §8.3.1),
/// carried from picture to picture in decoding order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PocDecoder {
    /// `PicOrderCntVal` of `prevTid0Pic`: the previous picture with
    /// TemporalId 0 that is not a RASL, RADL or sub-layer non-reference
    /// picture.
    prev_tid0: Option<i64>,
}

impl PocDecoder {
    /// A decoder before the first picture.
    pub fn new() -> PocDecoder {
        PocDecoder::default()
    }

    /// `PicOrderCntVal` of the picture whose first slice has `header` and
    /// `slice`. `no_rasl_output` is the picture's NoRaslOutputFlag (§8.1.3):
    /// true for IDR and BLA pictures and for a CRA picture that starts the
    /// bitstream, follows an end of sequence, or where decoding starts
    /// after a seek. For such IRAP pictures PicOrderCntMsb is 0; otherwise
    /// it follows `prevTid0Pic` across `slice_pic_order_cnt_lsb` wraps (8-1).
    pub fn decode(&mut self, header: NalHeader, slice: &SliceHeader, no_rasl_output: bool) -> i64 {
        let max_lsb = 1i64 << slice.log2_max_poc_lsb;
        let lsb = i64::from(slice.pic_order_cnt_lsb);
        let msb = if header.is_irap() && no_rasl_output {
            0
        } else {
            let prev = self.prev_tid0.unwrap_or(0);
            let prev_lsb = prev.rem_euclid(max_lsb);
            let prev_msb = prev - prev_lsb;
            if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
                prev_msb + max_lsb
            } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
                prev_msb - max_lsb
            } else {
                prev_msb
            }
        };
        let poc = msb + lsb;
        if header.temporal_id == 0
            && !header.is_rasl()
            && !header.is_radl()
            && !header.is_sub_layer_non_reference()
        {
            self.prev_tid0 = Some(poc);
        }
        poc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(nal_type: u8, temporal_id: u8) -> NalHeader {
        NalHeader {
            nal_type,
            layer_id: 0,
            temporal_id,
        }
    }

    fn slice(lsb: u32) -> SliceHeader {
        SliceHeader {
            pps_id: 0,
            sps_id: 0,
            slice_type: 1,
            pic_output_flag: true,
            pic_order_cnt_lsb: lsb,
            log2_max_poc_lsb: 4,
        }
    }

    #[test]
    fn msb_follows_lsb_wraps_forward_and_backward() {
        let mut poc = PocDecoder::new();
        assert_eq!(poc.decode(header(20, 0), &slice(0), true), 0);
        let lsbs = [4, 8, 12, 0, 14, 4, 2];
        let pocs: Vec<i64> = lsbs
            .iter()
            .map(|&l| poc.decode(header(1, 0), &slice(l), false))
            .collect();
        assert_eq!(pocs, [4, 8, 12, 16, 14, 20, 18]);
    }

    #[test]
    fn only_tid0_reference_pictures_anchor_the_msb() {
        let mut poc = PocDecoder::new();
        poc.decode(header(19, 0), &slice(0), true);
        assert_eq!(poc.decode(header(1, 0), &slice(6), false), 6);
        // TRAIL_N (sub-layer non-reference) with lsb 15: 15 - 6 > 8, read
        // as -1, and it does not become prevTid0Pic.
        assert_eq!(poc.decode(header(0, 0), &slice(15), false), -1);
        // Temporal id 1 does not anchor either.
        assert_eq!(poc.decode(header(1, 1), &slice(12), false), 12);
        assert_eq!(poc.decode(header(1, 0), &slice(14), false), 14);
        assert_eq!(poc.decode(header(1, 0), &slice(3), false), 19);
    }

    #[test]
    fn irap_with_no_rasl_output_resets_the_msb() {
        let mut poc = PocDecoder::new();
        poc.decode(header(20, 0), &slice(0), true);
        for lsb in [8, 0, 8] {
            poc.decode(header(1, 0), &slice(lsb), false);
        }
        // A CRA in the middle of the stream continues the count...
        assert_eq!(poc.decode(header(21, 0), &slice(0), false), 32);
        // ...one after a seek or an end of sequence starts again.
        assert_eq!(poc.decode(header(21, 0), &slice(4), true), 4);
        assert_eq!(poc.decode(header(8, 0), &slice(2), false), 2);
    }
}
