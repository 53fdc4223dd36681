//! Video and picture parameter sets (ITU-T H.265 §7.3.2.1, §7.3.2.3), the
//! table of active parameter sets, and the stream summary readers report.

use std::sync::Arc;

use super::bits::{parse_rbsp, Bits};
use super::ptl::ProfileTierLevel;
use super::sps::{timing_rate, Sps};
use super::{nal_type, NalHeader, SyntaxError};
use crate::codec::picture::{Decoder, PictureLayout};
use crate::codec::DEFAULT_FRAME_RATE;
use crate::vocab::Rational;

/// The fields of a video parameter set that describe the stream (§7.4.3.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vps {
    /// `vps_video_parameter_set_id`.
    pub id: u8,
    /// The general profile, tier and level.
    pub ptl: ProfileTierLevel,
    /// `vps_time_scale / vps_num_units_in_tick`, reduced, when present.
    pub frame_rate: Option<Rational>,
}

impl Vps {
    /// Parses a VPS NAL unit as found in the stream (header included,
    /// ITU-T H.265 §7.3.2.1).
    pub fn from_nal(nal: &[u8]) -> Result<Vps, SyntaxError> {
        parse_rbsp(nal, Vps::parse)
    }

    /// Parses the RBSP of a VPS (after the NAL unit header, unescaped).
    pub fn parse(rbsp: &[u8]) -> Result<Vps, SyntaxError> {
        let bits = &mut Bits::new(rbsp, "video parameter set");
        let id = bits.u(4)? as u8;
        bits.skip(8)?; // base layer internal/available flags, vps_max_layers_minus1
        let max_sub_layers_minus1 = bits.u(3)? as u8;
        if max_sub_layers_minus1 > 6 {
            return Err(SyntaxError::Invalid(
                "video parameter set: vps_max_sub_layers_minus1 is 7".into(),
            ));
        }
        bits.skip(17)?; // vps_temporal_id_nesting_flag, vps_reserved_0xffff_16bits
        let ptl = ProfileTierLevel::parse(bits, max_sub_layers_minus1)?;
        let first = if bits.flag()? {
            0
        } else {
            max_sub_layers_minus1
        };
        for _ in first..=max_sub_layers_minus1 {
            // vps_max_dec_pic_buffering_minus1, vps_max_num_reorder_pics,
            // vps_max_latency_increase_plus1
            for _ in 0..3 {
                bits.ue()?;
            }
        }
        let max_layer_id = bits.u(6)?;
        let layer_sets = bits.ue_max("vps_num_layer_sets_minus1", 1023)?;
        for _ in 0..layer_sets {
            bits.skip(max_layer_id + 1)?; // layer_id_included_flag[i][0..=max]
        }
        let frame_rate = if bits.flag()? {
            let num_units_in_tick = bits.u(32)?;
            timing_rate(num_units_in_tick, bits.u(32)?)
        } else {
            None
        };
        Ok(Vps {
            id,
            ptl,
            frame_rate,
        })
    }
}

/// The fields of a picture parameter set that slice headers depend on up to
/// `slice_pic_order_cnt_lsb` (§7.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pps {
    /// `pps_pic_parameter_set_id` (0–63).
    pub id: u8,
    /// `pps_seq_parameter_set_id` (0–15).
    pub sps_id: u8,
    /// `dependent_slice_segments_enabled_flag`.
    pub dependent_slice_segments_enabled: bool,
    /// `output_flag_present_flag`: slices carry `pic_output_flag`.
    pub output_flag_present: bool,
    /// `num_extra_slice_header_bits`.
    pub num_extra_slice_header_bits: u8,
}

impl Pps {
    /// Parses a PPS NAL unit as found in the stream (header included,
    /// ITU-T H.265 §7.3.2.3.1).
    pub fn from_nal(nal: &[u8]) -> Result<Pps, SyntaxError> {
        parse_rbsp(nal, Pps::parse)
    }

    /// Parses the start of the RBSP of a PPS (after the NAL unit header).
    pub fn parse(rbsp: &[u8]) -> Result<Pps, SyntaxError> {
        let bits = &mut Bits::new(rbsp, "picture parameter set");
        Ok(Pps {
            id: bits.ue_max("pps_pic_parameter_set_id", 63)? as u8,
            sps_id: bits.ue_max("pps_seq_parameter_set_id", 15)? as u8,
            dependent_slice_segments_enabled: bits.flag()?,
            output_flag_present: bits.flag()?,
            num_extra_slice_header_bits: bits.u(3)? as u8,
        })
    }
}

/// One stored parameter set: its NAL unit bytes (to skip reparsing
/// repeats) and what was parsed from them.
#[derive(Clone, Debug)]
struct Stored<T> {
    nal: Vec<u8>,
    parsed: T,
}

/// The largest VPS, SPS or PPS NAL unit taken in. Real ones are well under
/// 1 KiB (scaling lists and HRD parameters included); the parsers read only
/// the fields they need, so without a limit a padded set of megabytes would
/// be kept, and sent in the SDP.
pub const MAX_PARAMETER_SET_BYTES: usize = 64 << 10;

/// The parameter sets seen so far, by id, as a decoder keeps them
/// (§7.4.2.4.2): a later set with the same id replaces the earlier one.
///
/// Each set is behind an `Arc`: the seek index keeps a copy of the table
/// at every key frame, and a copy must cost the table's 96 pointers, not
/// its sets' bytes (a hostile stream alternating a PPS before each key
/// frame would otherwise copy a large VPS each time).
#[derive(Clone, Debug, Default)]
pub struct ParameterSets {
    vps: Vec<Option<Arc<Stored<Vps>>>>,
    sps: Vec<Option<Arc<Stored<Sps>>>>,
    pps: Vec<Option<Arc<Stored<Pps>>>>,
}

/// Whether `table` already holds exactly these NAL unit bytes (parameter
/// sets are repeated at every random access point; parse them once).
fn known<T>(table: &[Option<Arc<Stored<T>>>], nal: &[u8]) -> bool {
    table.iter().flatten().any(|s| s.nal == nal)
}

/// Stores `parsed` (from `nal`) at `id`, replacing any earlier set.
fn insert<T>(table: &mut Vec<Option<Arc<Stored<T>>>>, slots: usize, nal: &[u8], parsed: T, id: u8) {
    if table.len() < slots {
        table.resize_with(slots, || None);
    }
    if let Some(slot) = table.get_mut(usize::from(id)) {
        *slot = Some(Arc::new(Stored {
            nal: nal.to_vec(),
            parsed,
        }));
    }
}

impl ParameterSets {
    /// An empty table.
    pub fn new() -> ParameterSets {
        ParameterSets::default()
    }

    /// Whether `nal` (header included) is a VPS, SPS or PPS stored exactly
    /// as it is: parameter sets are repeated at every random access point,
    /// and a repeat changes nothing.
    pub fn contains(&self, nal: &[u8]) -> bool {
        known(&self.vps, nal) || known(&self.sps, nal) || known(&self.pps, nal)
    }

    /// Takes in a NAL unit (header included, no start code): VPS, SPS and
    /// PPS units of the base layer are parsed and stored, others ignored.
    /// A set that fails to parse leaves the table unchanged. Returns the id
    /// of a set stored (new or changed), `None` for a repeat or another
    /// kind of unit.
    pub fn update(&mut self, nal: &[u8]) -> Result<Option<u8>, SyntaxError> {
        let Some(header) = NalHeader::parse(nal).filter(|h| h.layer_id == 0) else {
            return Ok(None);
        };
        let is_known = match header.nal_type {
            nal_type::VPS => known(&self.vps, nal),
            nal_type::SPS => known(&self.sps, nal),
            nal_type::PPS => known(&self.pps, nal),
            _ => return Ok(None),
        };
        if is_known {
            return Ok(None);
        }
        if nal.len() > MAX_PARAMETER_SET_BYTES {
            return Err(SyntaxError::Invalid(format!(
                "a parameter set of {} bytes (at most {MAX_PARAMETER_SET_BYTES} are taken)",
                nal.len()
            )));
        }
        let id = match header.nal_type {
            nal_type::VPS => {
                let vps = Vps::from_nal(nal)?;
                let id = vps.id;
                insert(&mut self.vps, 16, nal, vps, id);
                id
            }
            nal_type::SPS => {
                let sps = Sps::from_nal(nal)?;
                let id = sps.id;
                insert(&mut self.sps, 16, nal, sps, id);
                id
            }
            _ => {
                let pps = Pps::from_nal(nal)?;
                let id = pps.id;
                insert(&mut self.pps, 64, nal, pps, id);
                id
            }
        };
        Ok(Some(id))
    }

    /// The VPS with `id`, if seen.
    pub fn vps(&self, id: u8) -> Option<&Vps> {
        self.get(&self.vps, id).map(|s| &s.parsed)
    }

    /// The SPS with `id`, if seen.
    pub fn sps(&self, id: u8) -> Option<&Sps> {
        self.get(&self.sps, id).map(|s| &s.parsed)
    }

    /// The PPS with `id`, if seen.
    pub fn pps(&self, id: u8) -> Option<&Pps> {
        self.get(&self.pps, id).map(|s| &s.parsed)
    }

    /// The NAL units of the VPS, SPS and PPS that a picture using PPS
    /// `pps_id` activates (§7.4.2.4.2), in that order; sets not seen are
    /// left out.
    pub fn active_nal_units(&self, pps_id: u8) -> Vec<&[u8]> {
        let pps = self.get(&self.pps, pps_id);
        let sps = pps.and_then(|p| self.get(&self.sps, p.parsed.sps_id));
        let vps = sps.and_then(|s| self.get(&self.vps, s.parsed.vps_id));
        [
            vps.map(|v| &v.nal),
            sps.map(|s| &s.nal),
            pps.map(|p| &p.nal),
        ]
        .into_iter()
        .flatten()
        .map(Vec::as_slice)
        .collect()
    }

    fn get<'a, T>(&self, table: &'a [Option<Arc<Stored<T>>>], id: u8) -> Option<&'a Stored<T>> {
        table.get(usize::from(id))?.as_deref()
    }
}

/// What `probe` and SDP report about an H.265 stream, from its SPS and VPS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamParams {
    /// Profile name as ffprobe spells it (`Main`, `Main 10`, ...).
    pub profile: Option<&'static str>,
    /// `general_profile_space` (RFC 7798 `profile-space`).
    pub profile_space: u8,
    /// `general_tier_flag` (RFC 7798 `tier-flag`).
    pub tier_flag: bool,
    /// `general_profile_idc` (RFC 7798 `profile-id`).
    pub profile_idc: u8,
    /// `general_level_idc`: ffprobe's `level`, RFC 7798 `level-id`.
    pub level_idc: u8,
    /// Displayed width (conformance window applied).
    pub width: u32,
    /// Displayed height.
    pub height: u32,
    /// Frames per second from the SPS VUI timing, else the VPS timing, else
    /// 25/1 (what FFmpeg assumes).
    pub frame_rate: Rational,
    /// Whether the stream signals its frame rate (VUI or VPS timing).
    pub frame_rate_signalled: bool,
    /// `sps_max_num_reorder_pics` of the highest sub-layer.
    pub max_num_reorder_pics: u8,
    /// The tier (§A.4.1): `Main`, or `High` when `general_tier_flag` is set.
    pub tier: &'static str,
    /// The decoded pictures' pixel format as ffprobe names it.
    pub pix_fmt: Option<&'static str>,
    /// The VUI sample aspect ratio, when specified.
    pub sample_aspect_ratio: Option<Rational>,
}

impl StreamParams {
    /// The summary of a stream using `sps` (and `vps`, for its timing).
    pub fn new(sps: &Sps, vps: Option<&Vps>) -> StreamParams {
        let signalled = sps.frame_rate.or_else(|| vps.and_then(|v| v.frame_rate));
        StreamParams {
            profile: sps.ptl.profile_name(),
            profile_space: sps.ptl.profile_space,
            tier_flag: sps.ptl.tier_flag,
            profile_idc: sps.ptl.profile_idc,
            level_idc: sps.ptl.level_idc,
            width: sps.width,
            height: sps.height,
            frame_rate: signalled.unwrap_or(DEFAULT_FRAME_RATE),
            frame_rate_signalled: signalled.is_some(),
            max_num_reorder_pics: sps.max_num_reorder_pics,
            tier: if sps.ptl.tier_flag { "High" } else { "Main" },
            pix_fmt: PictureLayout {
                chroma_format_idc: sps.chroma_format_idc,
                bit_depth: sps.bit_depth_luma,
                rgb: sps.rgb,
                full_range: sps.full_range,
            }
            .pix_fmt(Decoder::Hevc),
            sample_aspect_ratio: sps.sample_aspect_ratio,
        }
    }

    /// The summary of the first SPS among `nal_units` (as in an MP4 `hvcC`
    /// record, a Matroska CodecPrivate or an SDP `sprop-*`), with the VPS it
    /// refers to when present. `None` without a parsable SPS.
    pub fn from_nal_units<'a>(nal_units: impl IntoIterator<Item = &'a [u8]>) -> Option<Self> {
        let mut sets = ParameterSets::new();
        let mut sps_id = None;
        for nal in nal_units {
            let is_sps = NalHeader::parse(nal).is_some_and(|h| h.nal_type == nal_type::SPS);
            if sets.update(nal).is_ok() && is_sps && sps_id.is_none() {
                sps_id = sets
                    .sps
                    .iter()
                    .flatten()
                    .find(|s| s.nal == nal)
                    .map(|s| s.parsed.id);
            }
        }
        let sps = sets.sps(sps_id?)?;
        Some(StreamParams::new(sps, sets.vps(sps.vps_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::hevc::SliceHeader;
    use crate::codec::nal::fixture_nal_units;

    fn of_type(units: &[Vec<u8>], t: u8) -> Vec<&[u8]> {
        units
            .iter()
            .filter(|n| NalHeader::parse(n).unwrap().nal_type == t)
            .map(Vec::as_slice)
            .collect()
    }

    #[test]
    fn stream_params_of_the_fixtures_match_ffprobe() {
        // ffprobe -show_streams: profile, level, width, height, r_frame_rate.
        let units = fixture_nal_units("hevc_bframes.265");
        let params = StreamParams::from_nal_units(units.iter().map(Vec::as_slice)).unwrap();
        assert_eq!(
            params,
            StreamParams {
                profile: Some("Main"),
                profile_space: 0,
                tier_flag: false,
                profile_idc: 1,
                level_idc: 60,
                width: 320,
                height: 240,
                frame_rate: Rational { num: 25, den: 1 },
                frame_rate_signalled: true,
                max_num_reorder_pics: 2,
                tier: "Main",
                pix_fmt: Some("yuv420p"),
                sample_aspect_ratio: Rational::new(1, 1),
            }
        );
        let units = fixture_nal_units("hevc_odd_ntsc.h265");
        let params = StreamParams::from_nal_units(units.iter().map(Vec::as_slice)).unwrap();
        assert_eq!((params.width, params.height), (250, 142));
        assert_eq!(
            params.frame_rate,
            Rational {
                num: 30000,
                den: 1001
            }
        );
        assert_eq!((params.max_num_reorder_pics, params.level_idc), (0, 60));
    }

    /// A copy of the table (the seek index keeps one per key frame) shares
    /// the sets, and a changed PPS in the original leaves the copy's VPS
    /// where it was; a padded set beyond the limit is refused.
    #[test]
    fn copies_share_the_sets_and_huge_sets_are_refused() {
        let units = fixture_nal_units("hevc_bframes.265");
        let mut sets = ParameterSets::new();
        for nal in &units {
            sets.update(nal).unwrap();
        }
        let copy = sets.clone();
        let mut pps = of_type(&units, nal_type::PPS)[0].to_vec();
        pps.push(0x80);
        sets.update(&pps).unwrap();
        let shares_vps = |a: &ParameterSets, b: &ParameterSets| {
            std::ptr::eq(a.vps[0].as_deref().unwrap(), b.vps[0].as_deref().unwrap())
        };
        assert!(shares_vps(&sets, &copy), "the VPS was copied");
        assert_ne!(sets.active_nal_units(0)[2], copy.active_nal_units(0)[2]);

        let mut huge = of_type(&units, nal_type::VPS)[0].to_vec();
        huge.resize(MAX_PARAMETER_SET_BYTES + 1, 0x55);
        assert!(matches!(sets.update(&huge), Err(SyntaxError::Invalid(_))));
        assert!(shares_vps(&sets, &copy), "a refused set replaced the VPS");
    }

    #[test]
    fn vps_and_pps_fields() {
        let units = fixture_nal_units("hevc_bframes.265");
        let vps = Vps::from_nal(of_type(&units, nal_type::VPS)[0]).unwrap();
        assert_eq!((vps.id, vps.ptl.level_idc, vps.frame_rate), (0, 60, None));
        let pps = Pps::from_nal(of_type(&units, nal_type::PPS)[0]).unwrap();
        assert_eq!(
            pps,
            Pps {
                id: 0,
                sps_id: 0,
                dependent_slice_segments_enabled: false,
                output_flag_present: false,
                num_extra_slice_header_bits: 0,
            }
        );
    }

    #[test]
    fn frame_rate_falls_back_to_vps_timing_then_25() {
        let units = fixture_nal_units("hevc_odd_ntsc.h265");
        let mut sets = ParameterSets::new();
        for nal in &units {
            sets.update(nal).unwrap();
        }
        let mut sps = sets.sps(0).unwrap().clone();
        sps.frame_rate = None;
        let mut vps = sets.vps(0).unwrap().clone();
        assert_eq!(
            StreamParams::new(&sps, Some(&vps)).frame_rate,
            DEFAULT_FRAME_RATE
        );
        assert!(!StreamParams::new(&sps, None).frame_rate_signalled);
        vps.frame_rate = Rational::new(50, 1);
        assert_eq!(StreamParams::new(&sps, Some(&vps)).frame_rate.num, 50);
    }

    #[test]
    fn table_tracks_active_sets_and_ignores_bad_ones() {
        let units = fixture_nal_units("hevc_bframes.265");
        let mut sets = ParameterSets::new();
        assert!(sets.active_nal_units(0).is_empty());
        for nal in &units {
            sets.update(nal).unwrap();
        }
        let active = sets.active_nal_units(0);
        let types: Vec<u8> = active.iter().map(|n| n[0] >> 1).collect();
        assert_eq!(types, [32, 33, 34]);
        assert_eq!(active[1], of_type(&units, nal_type::SPS)[0]);
        // A cut SPS with the same id is an error and keeps the good one.
        let cut = &of_type(&units, nal_type::SPS)[0][..12];
        assert!(matches!(sets.update(cut), Err(SyntaxError::Truncated(_))));
        assert_eq!(sets.sps(0).unwrap().width, 320);
        assert_eq!(sets.pps(1), None);
    }

    #[test]
    fn slice_headers_give_the_poc_lsbs_of_trace_headers() {
        let units = fixture_nal_units("hevc_bframes.265");
        let mut sets = ParameterSets::new();
        let mut lsbs = Vec::new();
        for nal in &units {
            sets.update(nal).unwrap();
            let header = NalHeader::parse(nal).unwrap();
            if header.is_picture() {
                let slice = SliceHeader::parse(nal, &sets).unwrap();
                lsbs.push(slice.pic_order_cnt_lsb);
            }
        }
        // `slice_pic_order_cnt_lsb` from `ffmpeg -bsf:v trace_headers`; the
        // IDR has none (0).
        let expected = [
            0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15, 20, 18, 17, 19, 24, 22, 21,
            23, 28, 26, 25, 27, 32, 30, 29, 31, 36, 34, 33, 35, 40, 38, 37, 39, 44, 42, 41, 43, 48,
            46, 45, 47, 49,
        ];
        assert_eq!(lsbs.len(), 50);
        assert_eq!(lsbs, expected);
    }

    #[test]
    fn slice_header_needs_its_parameter_sets() {
        let units = fixture_nal_units("hevc_bframes.265");
        let idr = units
            .iter()
            .find(|n| n[0] >> 1 == nal_type::IDR_N_LP)
            .unwrap();
        let err = SliceHeader::parse(idr, &ParameterSets::new()).unwrap_err();
        assert!(matches!(err, SyntaxError::MissingParameterSet(_)), "{err}");
        assert_eq!(
            SliceHeader::parse(&idr[..2], &ParameterSets::new()),
            Err(SyntaxError::Truncated("slice segment header"))
        );
    }
}
