//! What `probe` reports about a stream from its sequence parameter set:
//! ffprobe's profile names (Annex A), the displayed size (§7.4.2.1.1), the
//! frame rate of the VUI timing information and the picture reorder depth
//! (Annex E).

use std::borrow::Cow;

use h264_reader::nal::sps::{ChromaFormat, ConstraintFlags, FrameMbsFlags, Level, SeqParameterSet};

use super::SyntaxError;
use crate::codec::picture::{Decoder, PictureLayout};
use crate::codec::DEFAULT_FRAME_RATE;
use crate::vocab::Rational;

/// The profile name ffprobe prints for `profile_idc` and the constraint flags
/// byte (`constraint_set0_flag` in its top bit), as libavcodec's
/// `ff_h264_profiles` spells the profiles of Annex A; the number itself for a
/// profile without a name there.
pub fn profile_name(profile_idc: u8, constraint_flags: u8) -> Cow<'static, str> {
    let set1 = constraint_flags & 0x40 != 0;
    let set3 = constraint_flags & 0x10 != 0;
    Cow::Borrowed(match profile_idc {
        66 if set1 => "Constrained Baseline",
        66 => "Baseline",
        77 => "Main",
        88 => "Extended",
        100 => "High",
        110 if set3 => "High 10 Intra",
        110 => "High 10",
        122 if set3 => "High 4:2:2 Intra",
        122 => "High 4:2:2",
        144 => "High 4:4:4",
        244 if set3 => "High 4:4:4 Intra",
        244 => "High 4:4:4 Predictive",
        44 => "CAVLC 4:4:4",
        118 => "Multiview High",
        128 => "Stereo High",
        other => return Cow::Owned(other.to_string()),
    })
}

/// A level as §A.3 writes it: `level_idc` is 10 × the level (13 is level
/// 1.3), and 9 is level 1b.
pub fn level_name(level_idc: u32) -> String {
    match level_idc {
        9 => "1b".to_owned(),
        idc => super::super::level_number(f64::from(idc) / 10.0),
    }
}

/// Largest reorder depth: the DPB holds at most 16 frames (§A.3.1 item h).
const MAX_REORDER_DEPTH: u32 = 16;

/// What a demuxer reports about a stream from its sequence parameter set
/// (ITU-T H.264 §7.4.2.1.1, Annex A, §E.2.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpsInfo {
    /// `profile_idc`.
    pub profile_idc: u8,
    /// `constraint_set0_flag`..`constraint_set5_flag` and the two reserved
    /// bits, as the byte they are coded in.
    pub constraint_flags: u8,
    /// `level_idc`, as ffprobe reports the level.
    pub level_idc: u8,
    /// Displayed width after frame cropping (§7.4.2.1.1, CropUnitX).
    pub width: u32,
    /// Displayed height after frame cropping (CropUnitY).
    pub height: u32,
    /// `time_scale / (2 * num_units_in_tick)` of the VUI timing information
    /// (§E.2.1), reduced; [`DEFAULT_FRAME_RATE`] when absent or unusable.
    pub frame_rate: Rational,
    /// Whether `frame_rate` comes from the stream rather than the default.
    pub frame_rate_signalled: bool,
    /// How many frames may precede a frame in decoding order and follow it in
    /// output order: `max_num_reorder_frames` of the VUI (§E.2.1), else
    /// inferred: 0 for profiles without B slices or intra-only profiles,
    /// MaxDpbFrames (§A.3.1, Table A-1) otherwise; at most 16.
    pub reorder_depth: u32,
    /// `BitDepthY` (§7.4.2.1.1): ffprobe's `bits_per_raw_sample`.
    pub bit_depth: u8,
    /// The decoded pictures' pixel format as ffprobe names it.
    pub pix_fmt: Option<&'static str>,
    /// The VUI sample aspect ratio (§E.2.1, Table E-1), when specified.
    pub sample_aspect_ratio: Option<Rational>,
}

impl SpsInfo {
    /// Summarises a parsed SPS.
    pub fn new(sps: &SeqParameterSet) -> Result<SpsInfo, SyntaxError> {
        let (width, height) = sps
            .pixel_dimensions()
            .map_err(|e| SyntaxError::Invalid(format!("bad picture size: {e:?}")))?;
        if width == 0 || height == 0 {
            return Err(SyntaxError::Invalid(
                "frame cropping leaves an empty picture".into(),
            ));
        }
        let vui = sps.vui_parameters.as_ref();
        let timing = vui
            .and_then(|vui| vui.timing_info.as_ref())
            .and_then(|t| timing_frame_rate(t.time_scale, t.num_units_in_tick));
        let signal = vui.and_then(|vui| vui.video_signal_type.as_ref());
        let chroma = &sps.chroma_info;
        let bit_depth = 8 + chroma.bit_depth_luma_minus8;
        let layout = PictureLayout {
            chroma_format_idc: match chroma.chroma_format {
                ChromaFormat::Monochrome => 0,
                ChromaFormat::YUV420 => 1,
                ChromaFormat::YUV422 => 2,
                ChromaFormat::YUV444 => 3,
                ChromaFormat::Invalid(_) => u8::MAX,
            },
            bit_depth,
            rgb: signal
                .and_then(|s| s.colour_description.as_ref())
                .is_some_and(|c| c.matrix_coefficients == 0),
            full_range: signal.is_some_and(|s| s.video_full_range_flag),
        };
        Ok(SpsInfo {
            profile_idc: sps.profile_idc.into(),
            constraint_flags: sps.constraint_flags.into(),
            level_idc: sps.level_idc,
            width,
            height,
            frame_rate: timing.unwrap_or(DEFAULT_FRAME_RATE),
            frame_rate_signalled: timing.is_some(),
            reorder_depth: reorder_depth(sps),
            bit_depth,
            pix_fmt: layout.pix_fmt(Decoder::H264),
            sample_aspect_ratio: vui
                .and_then(|vui| vui.aspect_ratio_info.as_ref())
                .and_then(|a| a.get())
                .and_then(|(w, h)| Rational::reduced(w.into(), h.into())),
        })
    }

    /// The profile name as ffprobe prints it.
    pub fn profile(&self) -> Cow<'static, str> {
        profile_name(self.profile_idc, self.constraint_flags)
    }
}

/// `time_scale / (2 * num_units_in_tick)` reduced (§E.2.1), when both are
/// non-zero and a frame lasts between one 90 kHz tick and one hour (beyond
/// that the values are not a frame rate anyone means).
fn timing_frame_rate(time_scale: u32, num_units_in_tick: u32) -> Option<Rational> {
    let rate = Rational::reduced(u64::from(time_scale), 2 * u64::from(num_units_in_tick))?;
    let ticks_per_frame = 90_000 * u64::from(rate.den) / u64::from(rate.num);
    (1..=90_000 * 3600)
        .contains(&ticks_per_frame)
        .then_some(rate)
}

/// The reorder depth of [`SpsInfo::reorder_depth`].
fn reorder_depth(sps: &SeqParameterSet) -> u32 {
    if let Some(restrictions) = sps
        .vui_parameters
        .as_ref()
        .and_then(|vui| vui.bitstream_restrictions.as_ref())
    {
        return restrictions.max_num_reorder_frames.min(MAX_REORDER_DEPTH);
    }
    let profile_idc = u8::from(sps.profile_idc);
    let set3 = sps.constraint_flags.flag3();
    // Baseline has no B slices; §E.2.1 infers 0 for the intra-only profiles.
    let intra_only = set3 && matches!(profile_idc, 44 | 86 | 100 | 110 | 122 | 244);
    if profile_idc == 66 || profile_idc == 44 || intra_only {
        return 0;
    }
    max_dpb_frames(sps)
}

/// MaxDpbFrames = Min(MaxDpbMbs / (PicWidthInMbs * FrameHeightInMbs), 16)
/// (§A.3.1 item h, MaxDpbMbs of Table A-1; the largest level's value for
/// levels the table does not list).
fn max_dpb_frames(sps: &SeqParameterSet) -> u32 {
    let profile_idc = u8::from(sps.profile_idc);
    // Level 1b is level_idc 11 with constraint_set3_flag in the Baseline,
    // Main and Extended profiles and level_idc 9 elsewhere (§A.3.1);
    // h264-reader reads the flag in every profile, so decide here.
    let level = if sps.level_idc == 9
        || (sps.level_idc == 11
            && sps.constraint_flags.flag3()
            && matches!(profile_idc, 66 | 77 | 88))
    {
        Level::L1_b
    } else {
        Level::from_constraint_flags_and_level_idc(ConstraintFlags::from(0), sps.level_idc)
    };
    let max_dpb_mbs = level.limits().map_or(696_320, |limits| limits.max_dpb_mbs);
    let frame_height_in_mbs = match sps.frame_mbs_flags {
        FrameMbsFlags::Frames => sps.pic_height_in_map_units(),
        FrameMbsFlags::Fields { .. } => 2 * sps.pic_height_in_map_units(),
    };
    let frame_mbs = sps.pic_width_in_mbs().saturating_mul(frame_height_in_mbs);
    (max_dpb_mbs / frame_mbs.max(1)).min(MAX_REORDER_DEPTH)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::test_support::first_of_type;
    use crate::codec::h264::{nal_type, parse_sps};
    use crate::codec::nal::fixture_nal_units;

    #[test]
    fn levels_read_as_the_standard_writes_them() {
        for (idc, name) in [(13, "1.3"), (9, "1b"), (40, "4"), (51, "5.1")] {
            assert_eq!(level_name(idc), name, "{idc}");
        }
    }

    #[test]
    fn profile_names_follow_ffprobe() {
        assert_eq!(profile_name(66, 0x40), "Constrained Baseline");
        assert_eq!(profile_name(66, 0xc0), "Constrained Baseline");
        assert_eq!(profile_name(66, 0x00), "Baseline");
        assert_eq!(profile_name(77, 0x40), "Main");
        assert_eq!(profile_name(88, 0), "Extended");
        assert_eq!(profile_name(100, 0x0c), "High");
        assert_eq!(profile_name(110, 0), "High 10");
        assert_eq!(profile_name(110, 0x10), "High 10 Intra");
        assert_eq!(profile_name(122, 0), "High 4:2:2");
        assert_eq!(profile_name(122, 0x10), "High 4:2:2 Intra");
        assert_eq!(profile_name(244, 0), "High 4:4:4 Predictive");
        assert_eq!(profile_name(244, 0x10), "High 4:4:4 Intra");
        assert_eq!(profile_name(44, 0), "CAVLC 4:4:4");
        assert_eq!(profile_name(83, 0), "83");
    }

    #[test]
    fn timing_info_gives_exact_rates() {
        assert_eq!(timing_frame_rate(50, 1), Rational::new(25, 1));
        assert_eq!(timing_frame_rate(60000, 1001), Rational::new(30000, 1001));
        assert_eq!(timing_frame_rate(u32::MAX, u32::MAX), Rational::new(1, 2));
        assert_eq!(timing_frame_rate(0, 1), None);
        assert_eq!(timing_frame_rate(1, 0), None);
        // Faster than one frame per 90 kHz tick, or slower than one an hour.
        assert_eq!(timing_frame_rate(1_000_000, 1), None);
        assert_eq!(timing_frame_rate(1, 4000), None);
    }

    #[test]
    fn sps_summaries_match_ffprobe() {
        let cases = [
            ("h264_bframes.264", "High", 13, 320, 240, (25, 1), 2),
            (
                "h264_baseline.h264",
                "Constrained Baseline",
                13,
                320,
                240,
                (25, 1),
                0,
            ),
            (
                "h264_odd_ntsc_slices.264",
                "Main",
                12,
                250,
                142,
                (30000, 1001),
                2,
            ),
        ];
        for (name, profile, level, width, height, (num, den), reorder) in cases {
            let nals = fixture_nal_units(name);
            let sps = parse_sps(first_of_type(&nals, nal_type::SPS)).unwrap();
            let info = SpsInfo::new(&sps).unwrap();
            assert_eq!(info.profile(), profile, "{name}");
            assert_eq!(info.level_idc, level, "{name}");
            assert_eq!((info.width, info.height), (width, height), "{name}");
            assert_eq!(info.frame_rate, Rational { num, den }, "{name}");
            assert!(info.frame_rate_signalled, "{name}");
            assert_eq!(info.reorder_depth, reorder, "{name}");
        }
    }

    #[test]
    fn reorder_depth_inferred_without_bitstream_restriction() {
        let nals = fixture_nal_units("h264_bframes.264");
        let mut sps = parse_sps(first_of_type(&nals, nal_type::SPS)).unwrap();
        if let Some(vui) = sps.vui_parameters.as_mut() {
            vui.bitstream_restrictions = None;
        }
        // Level 1.3: MaxDpbMbs 2376 / (20 * 15) = 7 frames.
        assert_eq!(reorder_depth(&sps), 7);
        sps.level_idc = 51; // 184320 / 300 capped at 16
        assert_eq!(reorder_depth(&sps), 16);
        sps.level_idc = 9; // level 1b: 396 / 300
        assert_eq!(reorder_depth(&sps), 1);
        sps.profile_idc = 66.into();
        assert_eq!(reorder_depth(&sps), 0);
        sps.profile_idc = 110.into();
        sps.constraint_flags = 0x10.into(); // High 10 Intra
        assert_eq!(reorder_depth(&sps), 0);
    }
}
