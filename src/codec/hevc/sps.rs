//! `seq_parameter_set_rbsp()` up to the VUI timing information: ITU-T H.265
//! §7.3.2.2, §7.3.4 (scaling lists), §7.3.7 (short-term reference picture
//! sets) and Annex E.2.1 (VUI).
//!
//! Written by hand rather than with scuffle-h265 0.2.2: on corrupted SPSs
//! that crate panics (integer underflow at sps/mod.rs:303 in debug builds,
//! an index out of bounds in scaling_list.rs:90 in release builds, found by
//! flipping bits of a valid SPS), and bad input must never panic here.
//! The tests check this parser against it on valid SPSs.

use super::bits::{parse_rbsp, Bits};
use super::ptl::ProfileTierLevel;
use super::SyntaxError;
use crate::codec::picture::{sample_aspect_ratio, EXTENDED_SAR};
use crate::vocab::Rational;

/// Largest `pic_width_in_luma_samples`/`pic_height_in_luma_samples` of any
/// level: √(8 × MaxLumaPs) for level 6.2 (Annex A.4.1).
const MAX_DIMENSION: u32 = 16888;

/// The fields of a sequence parameter set that demuxers, timestamping and
/// SDP need (ITU-T H.265 §7.4.3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sps {
    /// `sps_video_parameter_set_id`.
    pub vps_id: u8,
    /// `sps_seq_parameter_set_id` (0–15).
    pub id: u8,
    /// The general profile, tier and level.
    pub ptl: ProfileTierLevel,
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `separate_colour_plane_flag`.
    pub separate_colour_plane: bool,
    /// `pic_width_in_luma_samples`: the coded width.
    pub coded_width: u32,
    /// `pic_height_in_luma_samples`: the coded height.
    pub coded_height: u32,
    /// Width inside the conformance window (§7.4.3.2.1): what is displayed.
    pub width: u32,
    /// Height inside the conformance window.
    pub height: u32,
    /// `BitDepthY` (§7.4.3.2.1).
    pub bit_depth_luma: u8,
    /// `log2_max_pic_order_cnt_lsb_minus4 + 4`: bits of `slice_pic_order_cnt_lsb`.
    pub log2_max_poc_lsb: u8,
    /// `sps_max_num_reorder_pics[sps_max_sub_layers_minus1]`: pictures that
    /// may precede a picture in decoding order and follow it in output order.
    pub max_num_reorder_pics: u8,
    /// `sps_max_dec_pic_buffering_minus1[sps_max_sub_layers_minus1] + 1`.
    pub max_dec_pic_buffering: u8,
    /// VUI `vui_time_scale / vui_num_units_in_tick` (Annex E.3.1), reduced.
    pub frame_rate: Option<Rational>,
    /// VUI sample aspect ratio (Annex E.3.1, Table E-1), reduced; `None`
    /// when absent or unspecified.
    pub sample_aspect_ratio: Option<Rational>,
    /// VUI `video_full_range_flag`.
    pub full_range: bool,
    /// VUI `matrix_coeffs` is 0: 4:4:4 pictures are GBR (Table E-5).
    pub rgb: bool,
}

/// The VUI fields (Annex E.2.1) up to the timing information that the
/// SPS keeps.
#[derive(Default)]
struct Vui {
    sample_aspect_ratio: Option<Rational>,
    full_range: bool,
    rgb: bool,
    frame_rate: Option<Rational>,
}

/// `SubWidthC`, `SubHeightC` for `chroma_format_idc` (Table 6-1).
fn chroma_subsampling(chroma_format_idc: u8, separate_planes: bool) -> (u32, u32) {
    match (chroma_format_idc, separate_planes) {
        (1, _) => (2, 2),
        (2, _) => (2, 1),
        _ => (1, 1),
    }
}

/// `vui_time_scale / vui_num_units_in_tick` (Annex E.3.1, or the VPS
/// equivalents of §7.4.3.1) as a reduced ratio; `None` when either is zero.
pub fn timing_rate(num_units_in_tick: u32, time_scale: u32) -> Option<Rational> {
    Rational::reduced(u64::from(time_scale), u64::from(num_units_in_tick))
}

impl Sps {
    /// Parses an SPS NAL unit as found in the stream (header included,
    /// ITU-T H.265 §7.3.2.2.1).
    pub fn from_nal(nal: &[u8]) -> Result<Sps, SyntaxError> {
        parse_rbsp(nal, Sps::parse)
    }

    /// Parses the RBSP of an SPS NAL unit (`rbsp` starts after the 2-byte
    /// NAL unit header, emulation prevention removed) with `nuh_layer_id` 0.
    pub fn parse(rbsp: &[u8]) -> Result<Sps, SyntaxError> {
        let bits = &mut Bits::new(rbsp, "sequence parameter set");
        let vps_id = bits.u(4)? as u8;
        let max_sub_layers_minus1 = bits.u(3)? as u8;
        if max_sub_layers_minus1 > 6 {
            return Err(invalid("sps_max_sub_layers_minus1 is 7"));
        }
        bits.skip(1)?; // sps_temporal_id_nesting_flag
        let ptl = ProfileTierLevel::parse(bits, max_sub_layers_minus1)?;
        let id = bits.ue_max("sps_seq_parameter_set_id", 15)? as u8;
        let chroma_format_idc = bits.ue_max("chroma_format_idc", 3)? as u8;
        let separate_colour_plane = chroma_format_idc == 3 && bits.flag()?;
        let coded_width = bits.ue_max("pic_width_in_luma_samples", MAX_DIMENSION)?;
        let coded_height = bits.ue_max("pic_height_in_luma_samples", MAX_DIMENSION)?;
        if coded_width == 0 || coded_height == 0 {
            return Err(invalid("picture size is zero"));
        }
        let (mut width, mut height) = (coded_width, coded_height);
        if bits.flag()? {
            // conformance_window_flag: offsets in chroma sample units.
            let (sub_w, sub_h) = chroma_subsampling(chroma_format_idc, separate_colour_plane);
            let mut offsets = [0u32; 4];
            for offset in &mut offsets {
                *offset = bits.ue_max("conf_win offset", MAX_DIMENSION)?;
            }
            let [left, right, top, bottom] = offsets;
            width = coded_width
                .checked_sub(sub_w * (left + right))
                .filter(|&w| w > 0)
                .ok_or_else(|| invalid("conformance window is wider than the picture"))?;
            height = coded_height
                .checked_sub(sub_h * (top + bottom))
                .filter(|&h| h > 0)
                .ok_or_else(|| invalid("conformance window is taller than the picture"))?;
        }
        let bit_depth_luma = 8 + bits.ue_max("bit_depth_luma_minus8", 8)? as u8;
        bits.ue_max("bit_depth_chroma_minus8", 8)?;
        let log2_max_poc_lsb = 4 + bits.ue_max("log2_max_pic_order_cnt_lsb_minus4", 12)? as u8;
        let ordering_info_for_all = bits.flag()?;
        let first = if ordering_info_for_all {
            0
        } else {
            max_sub_layers_minus1
        };
        let (mut max_dec_pic_buffering, mut max_num_reorder_pics) = (1, 0);
        for _ in first..=max_sub_layers_minus1 {
            let buffering_minus1 = bits.ue_max("sps_max_dec_pic_buffering_minus1", 15)?;
            max_num_reorder_pics = bits.ue_max("sps_max_num_reorder_pics", buffering_minus1)? as u8;
            bits.ue()?; // sps_max_latency_increase_plus1
            max_dec_pic_buffering = buffering_minus1 as u8 + 1;
        }
        let min_cb_log2 = 3 + bits.ue_max("log2_min_luma_coding_block_size_minus3", 3)?;
        let ctb_log2 = min_cb_log2 + bits.ue_max("log2_diff_max_min_luma_coding_block_size", 3)?;
        bits.ue_max("log2_min_luma_transform_block_size_minus2", 3)?;
        bits.ue_max("log2_diff_max_min_luma_transform_block_size", 3)?;
        bits.ue_max("max_transform_hierarchy_depth_inter", ctb_log2)?;
        bits.ue_max("max_transform_hierarchy_depth_intra", ctb_log2)?;
        if bits.flag()? && bits.flag()? {
            // scaling_list_enabled_flag, sps_scaling_list_data_present_flag
            skip_scaling_list_data(bits)?;
        }
        bits.skip(2)?; // amp_enabled_flag, sample_adaptive_offset_enabled_flag
        if bits.flag()? {
            // pcm_enabled_flag: two bit depths, two sizes, loop filter flag.
            bits.skip(8)?;
            bits.ue_max("log2_min_pcm_luma_coding_block_size_minus3", 2)?;
            bits.ue_max("log2_diff_max_min_pcm_luma_coding_block_size", 2)?;
            bits.skip(1)?;
        }
        let num_sets = bits.ue_max("num_short_term_ref_pic_sets", 64)?;
        let mut sets: Vec<RefPicSet> = Vec::with_capacity(num_sets as usize);
        for _ in 0..num_sets {
            let set = RefPicSet::parse(bits, &sets)?;
            sets.push(set);
        }
        if bits.flag()? {
            // long_term_ref_pics_present_flag
            let count = bits.ue_max("num_long_term_ref_pics_sps", 32)?;
            for _ in 0..count {
                bits.skip(u32::from(log2_max_poc_lsb) + 1)?;
            }
        }
        bits.skip(2)?; // sps_temporal_mvp_enabled_flag, strong_intra_smoothing_enabled_flag
        let vui = if bits.flag()? {
            Vui::parse(bits)?
        } else {
            Vui::default()
        };
        Ok(Sps {
            vps_id,
            id,
            ptl,
            chroma_format_idc,
            separate_colour_plane,
            coded_width,
            coded_height,
            width,
            height,
            bit_depth_luma,
            log2_max_poc_lsb,
            max_num_reorder_pics,
            max_dec_pic_buffering,
            frame_rate: vui.frame_rate,
            sample_aspect_ratio: vui.sample_aspect_ratio,
            full_range: vui.full_range,
            rgb: vui.rgb,
        })
    }
}

fn invalid(reason: &str) -> SyntaxError {
    SyntaxError::Invalid(format!("sequence parameter set: {reason}"))
}

/// Skips `scaling_list_data()` (§7.3.4).
fn skip_scaling_list_data(bits: &mut Bits) -> Result<(), SyntaxError> {
    for size_id in 0..4u32 {
        let matrices = if size_id == 3 { 2 } else { 6 };
        for _ in 0..matrices {
            if !bits.flag()? {
                bits.ue_max("scaling_list_pred_matrix_id_delta", 5)?;
                continue;
            }
            let coefficients = 64.min(1 << (4 + (size_id << 1)));
            if size_id > 1 {
                bits.se()?; // scaling_list_dc_coef_minus8
            }
            for _ in 0..coefficients {
                bits.se()?; // scaling_list_delta_coef
            }
        }
    }
    Ok(())
}

/// Picture order count deltas of one `st_ref_pic_set()` (§7.4.8): only the
/// SPS parse needs them, because inter-set prediction of a later set
/// depends on the earlier sets' values.
struct RefPicSet {
    /// `DeltaPocS0`, negative, closest first.
    negative: Vec<i64>,
    /// `DeltaPocS1`, positive, closest first.
    positive: Vec<i64>,
}

/// At most 16 pictures on each side (`sps_max_dec_pic_buffering_minus1` ≤ 15).
const MAX_REFS: u32 = 16;

impl RefPicSet {
    /// Parses `st_ref_pic_set(idx)` for `idx = earlier.len()` in an SPS
    /// (§7.3.7), deriving the deltas by (7-61)/(7-62) when predicted.
    fn parse(bits: &mut Bits, earlier: &[RefPicSet]) -> Result<RefPicSet, SyntaxError> {
        // inter_ref_pic_set_prediction_flag (absent for the first set); in an
        // SPS the reference is always the previous set (delta_idx_minus1 = 0).
        let predicted = !earlier.is_empty() && bits.flag()?;
        let Some(reference) = earlier.last().filter(|_| predicted) else {
            let negatives = bits.ue_max("num_negative_pics", MAX_REFS)?;
            let positives = bits.ue_max("num_positive_pics", MAX_REFS)?;
            let mut side = |count: u32, sign: i64| -> Result<Vec<i64>, SyntaxError> {
                let mut poc = 0i64;
                (0..count)
                    .map(|_| {
                        poc += sign * (i64::from(bits.ue_max("delta_poc_minus1", 0x7fff)?) + 1);
                        bits.skip(1)?; // used_by_curr_pic_flag
                        Ok(poc)
                    })
                    .collect()
            };
            let negative = side(negatives, -1)?;
            let positive = side(positives, 1)?;
            return Ok(RefPicSet { negative, positive });
        };
        let sign = if bits.flag()? { -1 } else { 1 };
        let delta_rps = sign * (i64::from(bits.ue_max("abs_delta_rps_minus1", 0x7fff)?) + 1);
        // One flag pair per reference delta, then one for the reference
        // picture itself: use_delta_flag is inferred 1 when used_by_curr.
        let mut use_delta = Vec::with_capacity(reference.len() + 1);
        for _ in 0..=reference.len() {
            let used = bits.flag()?;
            use_delta.push(used || bits.flag()?);
        }
        let (neg, pos) = (&reference.negative, &reference.positive);
        let used = |j: usize| use_delta.get(j).copied().unwrap_or(false);
        let own = used(reference.len());
        // (7-61): S0 from positive deltas (farthest first), delta_rps, negative deltas.
        let mut negative: Vec<i64> = pos
            .iter()
            .enumerate()
            .rev()
            .filter(|&(j, &d)| d + delta_rps < 0 && used(neg.len() + j))
            .map(|(_, &d)| d + delta_rps)
            .collect();
        if delta_rps < 0 && own {
            negative.push(delta_rps);
        }
        negative.extend(
            neg.iter()
                .enumerate()
                .filter(|&(j, &d)| d + delta_rps < 0 && used(j))
                .map(|(_, &d)| d + delta_rps),
        );
        // (7-62): S1 from negative deltas (farthest first), delta_rps, positive deltas.
        let mut positive: Vec<i64> = neg
            .iter()
            .enumerate()
            .rev()
            .filter(|&(j, &d)| d + delta_rps > 0 && used(j))
            .map(|(_, &d)| d + delta_rps)
            .collect();
        if delta_rps > 0 && own {
            positive.push(delta_rps);
        }
        positive.extend(
            pos.iter()
                .enumerate()
                .filter(|&(j, &d)| d + delta_rps > 0 && used(neg.len() + j))
                .map(|(_, &d)| d + delta_rps),
        );
        if negative.len() + positive.len() > 2 * MAX_REFS as usize {
            return Err(invalid("short-term reference picture set is too large"));
        }
        Ok(RefPicSet { negative, positive })
    }

    /// `NumDeltaPocs`.
    fn len(&self) -> usize {
        self.negative.len() + self.positive.len()
    }
}

impl Vui {
    /// Parses `vui_parameters()` (Annex E.2.1) up to its timing information.
    fn parse(bits: &mut Bits) -> Result<Vui, SyntaxError> {
        let mut vui = Vui::default();
        if bits.flag()? {
            // aspect_ratio_info_present_flag
            let idc = bits.u(8)? as u8;
            let extended = if idc == EXTENDED_SAR {
                (bits.u(16)? as u16, bits.u(16)? as u16)
            } else {
                (0, 0)
            };
            vui.sample_aspect_ratio = sample_aspect_ratio(idc, extended);
        }
        if bits.flag()? {
            bits.skip(1)?; // overscan_appropriate_flag
        }
        if bits.flag()? {
            // video_signal_type_present_flag: video_format, full range,
            // then the colour description.
            bits.skip(3)?;
            vui.full_range = bits.flag()?;
            if bits.flag()? {
                bits.skip(16)?; // colour_primaries, transfer_characteristics
                vui.rgb = bits.u(8)? == 0;
            }
        }
        if bits.flag()? {
            bits.ue()?; // chroma_sample_loc_type_top_field
            bits.ue()?; // chroma_sample_loc_type_bottom_field
        }
        bits.skip(3)?; // neutral_chroma_indication, field_seq, frame_field_info_present
        if bits.flag()? {
            for _ in 0..4 {
                bits.ue()?; // def_disp_win offsets
            }
        }
        if bits.flag()? {
            let num_units_in_tick = bits.u(32)?;
            let time_scale = bits.u(32)?;
            vui.frame_rate = timing_rate(num_units_in_tick, time_scale);
        }
        Ok(vui)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::codec::hevc::{nal_type, NalHeader};

    fn parse_nal(nal: &[u8]) -> Result<Sps, SyntaxError> {
        Sps::from_nal(nal)
    }

    fn fixture_sps(name: &str) -> Vec<u8> {
        let units = crate::codec::nal::fixture_nal_units(name);
        let sps = units
            .into_iter()
            .find(|n| NalHeader::parse(n).unwrap().nal_type == nal_type::SPS);
        sps.unwrap()
    }

    /// SPSs from scuffle-h265's own tests: 1440p (OBS), 1080p, 2160p Main 10
    /// with scaling lists, 4320p, 1080p Main Still Picture, 2160p 4:2:2
    /// Rext, and one from the HM encoder with inter-predicted RPSs.
    const VECTORS: [&[u8]; 7] = [
        b"B\x01\x01\x01@\0\0\x03\0\x90\0\0\x03\0\0\x03\0\x99\xa0\x01@ \x05\xa1e\x95R\x90\x84d_\xf8\xc0Z\x80\x80\x80\x82\0\0\x03\0\x02\0\0\x03\x01 \xc0\x0b\xbc\xa2\0\x02bX\0\x011-\x08",
        b"\x42\x01\x01\x01\x40\x00\x00\x03\x00\x90\x00\x00\x03\x00\x00\x03\x00\x78\xa0\x03\xc0\x80\x11\x07\xcb\x96\xb4\xa4\x25\x92\xe3\x01\x6a\x02\x02\x02\x08\x00\x00\x03\x00\x08\x00\x00\x03\x00\xf3\x00\x2e\xf2\x88\x00\x02\x62\x5a\x00\x00\x13\x12\xd0\x20",
        b"\x42\x01\x01\x22\x20\x00\x00\x03\x00\x90\x00\x00\x03\x00\x00\x03\x00\x99\xA0\x01\xE0\x20\x02\x1C\x4D\x8D\x35\x92\x4F\x84\x14\x70\xF1\xC0\x90\x3B\x0E\x18\x36\x1A\x08\x42\xF0\x81\x21\x00\x88\x40\x10\x06\xE1\xA3\x06\xC3\x41\x08\x5C\xA0\xA0\x21\x04\x41\x70\xB0\x2A\x0A\xC2\x80\x35\x40\x70\x80\xE0\x07\xD0\x2B\x41\x80\xA8\x20\x0B\x85\x81\x50\x56\x14\x01\xAA\x03\x84\x07\x00\x3E\x81\x58\xA1\x0D\x35\xE9\xE8\x60\xD7\x43\x03\x41\xB1\xB8\xC0\xD0\x70\x3A\x1B\x1B\x18\x1A\x0E\x43\x21\x30\xC8\x60\x24\x18\x10\x1F\x1F\x1C\x1E\x30\x74\x26\x12\x0E\x0C\x04\x30\x40\x38\x10\x82\x00\x94\x0F\xF0\x86\x9A\xF2\x17\x20\x48\x26\x59\x02\x41\x20\x98\x4F\x09\x04\x83\x81\xD0\x98\x4E\x12\x09\x07\x21\x90\x98\x5C\x2C\x12\x0C\x08\x0F\x8F\x8E\x0F\x18\x3A\x13\x09\x07\x06\x02\x18\x20\x1C\x08\x41\x00\x4A\x07\xF2\x86\x89\x4D\x08\x2C\x83\x8E\x52\x18\x17\x02\xF2\xC8\x0B\x80\xDC\x06\xB0\x5F\x82\xE0\x35\x03\xA0\x66\x06\xB0\x63\x06\x00\x6A\x06\x40\xE0\x0B\x20\x73\x06\x60\xC8\x0E\x40\x58\x03\x90\x0A\xB0\x77\x07\x40\x2A\x81\xC7\xFF\xC1\x24\x34\x49\x8E\x61\x82\x62\x0C\x72\x90\xC0\xB8\x17\x96\x40\x5C\x06\xE0\x35\x82\xFC\x17\x01\xA8\x1D\x03\x30\x35\x83\x18\x30\x03\x50\x32\x07\x00\x59\x03\x98\x33\x06\x40\x72\x02\xC0\x1C\x80\x55\x83\xB8\x3A\x01\x54\x0E\x3F\xFE\x09\x0A\x10\xE9\xAF\x4F\x43\x06\xBA\x18\x1A\x0D\x8D\xC6\x06\x83\x81\xD0\xD8\xD8\xC0\xD0\x72\x19\x09\x86\x43\x01\x20\xC0\x80\xF8\xF8\xE0\xF1\x83\xA1\x30\x90\x70\x60\x21\x82\x01\xC0\x84\x10\x04\xA0\x7F\x84\x3A\x6B\xC8\x5C\x81\x20\x99\x64\x09\x04\x82\x61\x3C\x24\x12\x0E\x07\x42\x61\x38\x48\x24\x1C\x86\x42\x61\x70\xB0\x48\x30\x20\x3E\x3E\x38\x3C\x60\xE8\x4C\x24\x1C\x18\x08\x60\x80\x70\x21\x04\x01\x28\x1F\xCA\x1A\x92\x9A\x10\x59\x07\x1C\xA4\x30\x2E\x05\xE5\x90\x17\x01\xB8\x0D\x60\xBF\x05\xC0\x6A\x07\x40\xCC\x0D\x60\xC6\x0C\x00\xD4\x0C\x81\xC0\x16\x40\xE6\x0C\xC1\x90\x1C\x80\xB0\x07\x20\x15\x60\xEE\x0E\x80\x55\x03\x8F\xFF\x82\x48\x6A\x49\x8E\x61\x82\x62\x0C\x72\x90\xC0\xB8\x17\x96\x40\x5C\x06\xE0\x35\x82\xFC\x17\x01\xA8\x1D\x03\x30\x35\x83\x18\x30\x03\x50\x32\x07\x00\x59\x03\x98\x33\x06\x40\x72\x02\xC0\x1C\x80\x55\x83\xB8\x3A\x01\x54\x0E\x3F\xFE\x09\x0A\x10\xE9\xAF\x4F\x43\x06\xBA\x18\x1A\x0D\x8D\xC6\x06\x83\x81\xD0\xD8\xD8\xC0\xD0\x72\x19\x09\x86\x43\x01\x20\xC0\x80\xF8\xF8\xE0\xF1\x83\xA1\x30\x90\x70\x60\x21\x82\x01\xC0\x84\x10\x04\xA0\x7F\x86\xA4\x98\xE6\x18\x26\x20\xC7\x29\x0C\x0B\x81\x79\x64\x05\xC0\x6E\x03\x58\x2F\xC1\x70\x1A\x81\xD0\x33\x03\x58\x31\x83\x00\x35\x03\x20\x70\x05\x90\x39\x83\x30\x64\x07\x20\x2C\x01\xC8\x05\x58\x3B\x83\xA0\x15\x40\xE3\xFF\xE0\x91\x11\x5C\x96\xA5\xDE\x02\xD4\x24\x40\x26\xD9\x40\x00\x07\xD2\x00\x01\xD4\xC0\x3E\x46\x81\x8D\xC0\x00\x26\x25\xA0\x00\x13\x12\xD0\x00\x04\xC4\xB4\x00\x02\x62\x5A\x8B\x84\x02\x08\xA2\x00\x01\x00\x08\x44\x01\xC1\x72\x43\x8D\x62\x24\x00\x00\x00\x14",
        b"\x42\x01\x01\x01\x60\x00\x00\x03\x00\x90\x00\x00\x03\x00\x00\x03\x00\xB4\xA0\x00\xF0\x08\x00\x43\x85\x96\x56\x69\x24\xC2\xB0\x16\x80\x80\x00\x00\x03\x00\x80\x00\x00\x05\x04\x22\x00\x01",
        b"\x42\x01\x01\x03\x70\x00\x00\x03\x00\x00\x03\x00\x00\x03\x00\x00\x03\x00\x78\xA0\x03\xC0\x80\x10\xE7\xF9\x7E\x49\x1B\x65\xB2\x22\x00\x01\x00\x07\x44\x01\xC1\x90\x95\x81\x12\x00\x00\x00\x14",
        b"\x42\x01\x01\x24\x08\x00\x00\x03\x00\x9D\x08\x00\x00\x03\x00\x00\x99\xB0\x01\xE0\x20\x02\x1C\x4D\x94\xD6\xED\xBE\x41\x12\x64\xEB\x25\x11\x44\x1A\x6C\x9D\x64\xA2\x29\x09\x26\xBA\xF5\xFF\xEB\xFA\xFD\x7F\xEB\xF5\x44\x51\x04\x93\x5D\x7A\xFF\xF5\xFD\x7E\xBF\xF5\xFA\xC8\xA4\x92\x4D\x75\xEB\xFF\xD7\xF5\xFA\xFF\xD7\xEA\x88\xA2\x24\x93\x5D\x7A\xFF\xF5\xFD\x7E\xBF\xF5\xFA\xC8\x94\x08\x53\x49\x29\x24\x89\x55\x12\xA5\x2A\x94\xC1\x35\x01\x01\x01\x03\xB8\x40\x20\x80\xA2\x00\x01\x00\x07\x44\x01\xC0\x72\xB0\x3C\x90\x00\x00\x00\x13\x63\x6F\x6C\x72\x6E\x63\x6C\x78\x00\x01\x00\x01\x00\x01\x00\x00\x00\x00\x18",
        b"\x42\x01\x01\x01\x60\x00\x00\x03\x00\x00\x03\x00\x00\x03\x00\x00\x03\x00\x00\xA0\x0B\x08\x04\x85\x96\x5E\x49\x1B\x60\xD9\x78\x88\x88\x8F\xE7\x9F\xCF\xE7\xF3\xF9\xFC\xF2\xFF\xFF\xFF\xCF\xE7\xF3\xF9\xFC\xFE\x7F\x3F\x3F\x9F\xCF\xE7\xF3\xF9\xDB\x20",
    ];

    /// Our parse and scuffle-h265's agree on every field we extract.
    fn assert_agrees_with_scuffle(nal: &[u8]) -> Sps {
        let ours = parse_nal(nal).unwrap();
        let theirs = scuffle_h265::SpsNALUnit::parse(Cursor::new(nal))
            .unwrap()
            .rbsp;
        let general = &theirs.profile_tier_level.general_profile;
        let ordering = &theirs.sub_layer_ordering_info;
        assert_eq!(u64::from(ours.width), theirs.cropped_width());
        assert_eq!(u64::from(ours.height), theirs.cropped_height());
        assert_eq!(
            u64::from(ours.coded_width),
            theirs.pic_width_in_luma_samples.get()
        );
        assert_eq!(ours.id as u64, theirs.sps_seq_parameter_set_id);
        assert_eq!(ours.vps_id, theirs.sps_video_parameter_set_id);
        assert_eq!(ours.chroma_format_idc, theirs.chroma_format_idc);
        assert_eq!(ours.bit_depth_luma, theirs.bit_depth_y());
        assert_eq!(
            ours.log2_max_poc_lsb,
            theirs.log2_max_pic_order_cnt_lsb_minus4 + 4
        );
        assert_eq!(
            u64::from(ours.max_num_reorder_pics),
            *ordering.sps_max_num_reorder_pics.last().unwrap()
        );
        assert_eq!(ours.ptl.profile_idc, general.profile_idc);
        assert_eq!(ours.ptl.profile_space, general.profile_space);
        assert_eq!(ours.ptl.tier_flag, general.tier_flag);
        assert_eq!(Some(ours.ptl.level_idc), general.level_idc);
        let timing = theirs
            .vui_parameters
            .as_ref()
            .and_then(|v| v.vui_timing_info.as_ref())
            .and_then(|t| timing_rate(t.num_units_in_tick.get(), t.time_scale.get()));
        assert_eq!(ours.frame_rate, timing);
        let vui = theirs.vui_parameters.as_ref();
        let sar = vui.and_then(|v| match v.aspect_ratio_info {
            scuffle_h265::AspectRatioInfo::Predefined(idc) => sample_aspect_ratio(idc.0, (0, 0)),
            scuffle_h265::AspectRatioInfo::ExtendedSar {
                sar_width,
                sar_height,
            } => sample_aspect_ratio(EXTENDED_SAR, (sar_width, sar_height)),
        });
        assert_eq!(ours.sample_aspect_ratio, sar);
        ours
    }

    #[test]
    fn agrees_with_scuffle_on_valid_sps() {
        let sizes: Vec<(u32, u32, &str)> = VECTORS
            .iter()
            .map(|nal| {
                let sps = assert_agrees_with_scuffle(nal);
                (sps.width, sps.height, sps.ptl.profile_name().unwrap_or("?"))
            })
            .collect();
        assert_eq!(
            sizes,
            [
                (2560, 1440, "Main"),
                (1920, 1080, "Main"),
                (3840, 2160, "Main 10"),
                (7680, 4320, "Main"),
                (1920, 1080, "Main Still Picture"),
                (3840, 2160, "Rext"),
                (352, 288, "Main"),
            ]
        );
    }

    #[test]
    fn fixture_sps_values_match_ffmpeg_trace_headers() {
        // Values from `ffmpeg -bsf:v trace_headers` on the fixtures.
        let sps = assert_agrees_with_scuffle(&fixture_sps("hevc_bframes.265"));
        assert_eq!((sps.coded_width, sps.coded_height), (320, 240));
        assert_eq!((sps.width, sps.height), (320, 240));
        assert_eq!((sps.log2_max_poc_lsb, sps.max_num_reorder_pics), (8, 2));
        assert_eq!((sps.ptl.profile_idc, sps.ptl.level_idc), (1, 60));
        assert_eq!(sps.frame_rate, Rational::new(25, 1));

        let sps = assert_agrees_with_scuffle(&fixture_sps("hevc_odd_ntsc.h265"));
        assert_eq!((sps.coded_width, sps.coded_height), (256, 144));
        // conf_win_right_offset 3, bottom 1, in 4:2:0 chroma units.
        assert_eq!((sps.width, sps.height), (250, 142));
        assert_eq!((sps.log2_max_poc_lsb, sps.max_num_reorder_pics), (8, 0));
        assert_eq!(sps.frame_rate, Rational::new(30000, 1001));
    }

    #[test]
    fn corrupted_sps_gives_errors_not_panics() {
        let mut random = crate::vocab::testing::XorShift(0x9e37_79b9_7f4a_7c15);
        let mut next = move || random.next_u64();
        let mut outcomes = [0usize; 2];
        for base in VECTORS
            .iter()
            .copied()
            .chain([&fixture_sps("hevc_bframes.265")[..]])
        {
            for len in 0..base.len() {
                let _ = parse_nal(&base[..len]);
            }
            for _ in 0..3000 {
                let mut nal = base.to_vec();
                for _ in 0..1 + next() % 4 {
                    let bit = (next() % ((nal.len() as u64 - 2) * 8)) as usize + 16;
                    nal[bit / 8] ^= 1 << (bit % 8);
                }
                outcomes[usize::from(parse_nal(&nal).is_ok())] += 1;
            }
        }
        // Both outcomes happen: the flips reach fields that are checked.
        assert!(outcomes[0] > 100 && outcomes[1] > 100, "{outcomes:?}");
    }
}
