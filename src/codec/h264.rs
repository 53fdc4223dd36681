//! H.264 bitstream syntax shared by the elementary-stream, MP4, Matroska and
//! MPEG-TS readers and the RTP packetizer (ITU-T H.264 (08/2021)).
//!
//! Parameter sets, slice headers and SEI messages are parsed by the
//! `h264-reader` crate. This module adds what that crate does not do and
//! every demuxer needs:
//! - NAL unit type classification for access unit assembly (§7.4.1.2.3),
//! - a summary of a sequence parameter set as `probe` reports it: ffprobe's
//!   profile names, the displayed size, the frame rate of the VUI timing
//!   information and the picture reorder depth (Annex A, Annex E),
//! - a compact slice header summary and the detection of the first VCL NAL
//!   unit of a new primary coded picture (§7.4.1.2.4),
//! - picture order count decoding (§8.2.1) and an emulation of the output
//!   order of the decoded picture buffer (the "bumping" process of §C.4.5.3),
//!   from which readers of elementary streams derive presentation times.
//!
//! Left out, on purpose: gaps in `frame_num` (§8.2.5.2, frames the decoder
//! would infer are not counted), `no_output_of_prior_pics_flag` (pictures an
//! IDR would discard are still given an output slot), and the pairing of
//! complementary fields: field pictures get their correct field POC, but each
//! field counts as one picture for output order.

use std::borrow::Cow;

use h264_reader::nal::pps::PicParameterSet;
use h264_reader::nal::sei::recovery_point::RecoveryPoint;
use h264_reader::nal::sei::{HeaderType, SeiReader};
use h264_reader::nal::slice::{
    DecRefPicMarking, Field, FieldPic, MemoryManagementControlOperation, PicOrderCountLsb,
    SliceFamily, SliceHeader, SliceHeaderError,
};
use h264_reader::nal::sps::{
    ConstraintFlags, FrameMbsFlags, Level, PicOrderCntType, SeqParameterSet,
};
use h264_reader::nal::{Nal, NalHeader, RefNal};
use h264_reader::rbsp::{BitRead, BitReaderError};
use h264_reader::Context;

use crate::media::Rational;

/// `nal_unit_type` values (ITU-T H.264 Table 7-1).
pub mod nal_type {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice data partition A.
    pub const PARTITION_A: u8 = 2;
    /// Coded slice data partition B.
    pub const PARTITION_B: u8 = 3;
    /// Coded slice data partition C.
    pub const PARTITION_C: u8 = 4;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Supplemental enhancement information.
    pub const SEI: u8 = 6;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
    /// Access unit delimiter.
    pub const AUD: u8 = 9;
    /// End of sequence.
    pub const END_OF_SEQUENCE: u8 = 10;
    /// End of stream.
    pub const END_OF_STREAM: u8 = 11;
    /// Filler data.
    pub const FILLER: u8 = 12;
    /// Sequence parameter set extension.
    pub const SPS_EXTENSION: u8 = 13;
    /// Prefix NAL unit (SVC/MVC, Annexes G and H).
    pub const PREFIX: u8 = 14;
    /// Subset sequence parameter set.
    pub const SUBSET_SPS: u8 = 15;
    /// Coded slice of an auxiliary coded picture.
    pub const AUXILIARY_SLICE: u8 = 19;
    /// Coded slice extension (SVC/MVC).
    pub const SLICE_EXTENSION: u8 = 20;
}

/// `nal_unit_type` of a NAL unit header byte (§7.3.1).
pub fn nal_unit_type(header: u8) -> u8 {
    header & 0x1f
}

/// `nal_ref_idc` of a NAL unit header byte (§7.3.1).
pub fn nal_ref_idc(header: u8) -> u8 {
    (header >> 5) & 3
}

/// Whether NAL units of this type are VCL NAL units of the primary or
/// redundant coded picture (Table 7-1: types 1 to 5).
pub fn is_vcl(nal_unit_type: u8) -> bool {
    (nal_type::SLICE..=nal_type::IDR).contains(&nal_unit_type)
}

/// Whether NAL units of this type begin with a `slice_header()`: slices and
/// data partition A (§7.3.2.8, §7.3.2.9.1).
pub fn has_slice_header(nal_unit_type: u8) -> bool {
    matches!(
        nal_unit_type,
        nal_type::SLICE | nal_type::PARTITION_A | nal_type::IDR
    )
}

/// Whether a NAL unit of this type, found after the last VCL NAL unit of a
/// primary coded picture, starts a new access unit (§7.4.1.2.3): access unit
/// delimiter, SPS, PPS, SEI and types 14 to 18.
pub fn starts_access_unit(nal_unit_type: u8) -> bool {
    matches!(nal_unit_type, nal_type::SEI..=nal_type::AUD | 14..=18)
}

/// Why a parameter set, slice header or SEI message cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The NAL unit ends inside the named syntax structure.
    #[error("{0} is cut short")]
    CutShort(&'static str),
    /// A slice or PPS refers to a parameter set not seen (yet).
    #[error("{0}")]
    MissingParameterSet(String),
    /// The bits break the syntax or semantics of the standard.
    #[error("{0}")]
    Invalid(String),
}

fn reader_error(structure: &'static str, error: &BitReaderError) -> SyntaxError {
    match error {
        BitReaderError::ReaderError(_, e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            SyntaxError::CutShort(structure)
        }
        other => SyntaxError::Invalid(format!("bad {structure}: {other:?}")),
    }
}

/// Parses a sequence parameter set NAL unit (header byte included, no start
/// code) (§7.3.2.1).
pub fn parse_sps(nal: &[u8]) -> Result<SeqParameterSet, SyntaxError> {
    if nal.is_empty() {
        return Err(SyntaxError::CutShort("sequence parameter set"));
    }
    let bits = RefNal::new(nal, &[], true).rbsp_bits();
    SeqParameterSet::from_bits(bits).map_err(|e| match e {
        h264_reader::nal::sps::SpsError::RbspReaderError(e) => {
            reader_error("sequence parameter set", &e)
        }
        other => SyntaxError::Invalid(format!("bad sequence parameter set: {other:?}")),
    })
}

/// Parses a picture parameter set NAL unit (header byte included, no start
/// code) against the SPSs of `ctx` (§7.3.2.2).
pub fn parse_pps(ctx: &Context, nal: &[u8]) -> Result<PicParameterSet, SyntaxError> {
    if nal.is_empty() {
        return Err(SyntaxError::CutShort("picture parameter set"));
    }
    let bits = RefNal::new(nal, &[], true).rbsp_bits();
    PicParameterSet::from_bits(ctx, bits).map_err(|e| match e {
        h264_reader::nal::pps::PpsError::RbspReaderError(e) => {
            reader_error("picture parameter set", &e)
        }
        h264_reader::nal::pps::PpsError::UnknownSeqParamSetId(id) => {
            SyntaxError::MissingParameterSet(format!(
                "picture parameter set refers to unknown SPS {}",
                id.id()
            ))
        }
        other => SyntaxError::Invalid(format!("bad picture parameter set: {other:?}")),
    })
}

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

/// The frame rate assumed when the VUI has no timing information (what
/// ffmpeg assumes for raw H.264 too).
pub const DEFAULT_FRAME_RATE: Rational = Rational { num: 25, den: 1 };

/// Largest reorder depth: the DPB holds at most 16 frames (§A.3.1 item h).
const MAX_REORDER_DEPTH: u32 = 16;

/// What a demuxer reports about a stream from its sequence parameter set.
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
        let timing = sps
            .vui_parameters
            .as_ref()
            .and_then(|vui| vui.timing_info.as_ref())
            .and_then(|t| timing_frame_rate(t.time_scale, t.num_units_in_tick));
        Ok(SpsInfo {
            profile_idc: sps.profile_idc.into(),
            constraint_flags: sps.constraint_flags.into(),
            level_idc: sps.level_idc,
            width,
            height,
            frame_rate: timing.unwrap_or(DEFAULT_FRAME_RATE),
            frame_rate_signalled: timing.is_some(),
            reorder_depth: reorder_depth(sps),
        })
    }

    /// The profile name as ffprobe prints it.
    pub fn profile(&self) -> Cow<'static, str> {
        profile_name(self.profile_idc, self.constraint_flags)
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `time_scale / (2 * num_units_in_tick)` reduced (§E.2.1), when both are
/// non-zero and a frame lasts between one 90 kHz tick and one hour (beyond
/// that the values are not a frame rate anyone means).
fn timing_frame_rate(time_scale: u32, num_units_in_tick: u32) -> Option<Rational> {
    let num = u64::from(time_scale);
    let den = 2 * u64::from(num_units_in_tick);
    if num == 0 || den == 0 {
        return None;
    }
    let g = gcd(num, den);
    let (num, den) = (num / g, den / g);
    let ticks_per_frame = 90_000 * den / num;
    if !(1..=90_000 * 3600).contains(&ticks_per_frame) {
        return None;
    }
    Rational::new(u32::try_from(num).ok()?, u32::try_from(den).ok()?)
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

/// Whether a picture is a frame or one field (`field_pic_flag`,
/// `bottom_field_flag`, §7.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PictureStructure {
    /// A coded frame.
    #[default]
    Frame,
    /// A coded top field.
    TopField,
    /// A coded bottom field.
    BottomField,
}

/// The slice header fields that access unit assembly and picture order count
/// decoding need (§7.3.3, §7.4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SliceInfo {
    /// `nal_unit_type` of the slice's NAL unit (1, 2 or 5).
    pub nal_unit_type: u8,
    /// `nal_ref_idc` of the slice's NAL unit.
    pub nal_ref_idc: u8,
    /// `first_mb_in_slice`.
    pub first_mb_in_slice: u32,
    /// An I or SI slice.
    pub intra: bool,
    /// `pic_parameter_set_id`.
    pub pps_id: u8,
    /// `colour_plane_id` (0 unless `separate_colour_plane_flag`).
    pub colour_plane: u8,
    /// `frame_num`.
    pub frame_num: u16,
    /// Frame or field (`field_pic_flag`, `bottom_field_flag`).
    pub structure: PictureStructure,
    /// `idr_pic_id` (IDR pictures only).
    pub idr_pic_id: Option<u32>,
    /// `pic_order_cnt_lsb` (0 unless `pic_order_cnt_type` is 0).
    pub pic_order_cnt_lsb: u32,
    /// `delta_pic_order_cnt_bottom` (0 when absent).
    pub delta_pic_order_cnt_bottom: i32,
    /// `delta_pic_order_cnt[0..2]` (0 when absent).
    pub delta_pic_order_cnt: [i32; 2],
    /// `redundant_pic_cnt` (0 when absent; > 0 for redundant pictures).
    pub redundant_pic_cnt: u32,
    /// The picture's `dec_ref_pic_marking()` holds
    /// `memory_management_control_operation` 5.
    pub mmco5: bool,
}

/// How many bytes of a slice NAL unit are handed to the slice header parser
/// first: enough for nearly every header, so slice data is never unescaped.
const SLICE_HEADER_PREFIX: usize = 128;

fn is_would_block(error: &SliceHeaderError) -> bool {
    matches!(error, SliceHeaderError::RbspError(BitReaderError::ReaderError(_, e))
        if e.kind() == std::io::ErrorKind::WouldBlock)
}

impl SliceInfo {
    /// Parses the slice header of a slice or partition A NAL unit (header
    /// byte included, no start code) against the parameter sets of `ctx`,
    /// reading only as far into the NAL unit as the header goes; returns the
    /// summary and the SPS the slice refers to.
    pub fn parse<'a>(
        ctx: &'a Context,
        nal: &[u8],
    ) -> Result<(SliceInfo, &'a SeqParameterSet), SyntaxError> {
        let Some(&header_byte) = nal.first() else {
            return Err(SyntaxError::CutShort("slice header"));
        };
        let header = NalHeader::new(header_byte)
            .map_err(|_| SyntaxError::Invalid("forbidden_zero_bit is set".into()))?;
        let parse = |bytes: &[u8], complete: bool| {
            let nal = RefNal::new(bytes, &[], complete);
            SliceHeader::from_bits(ctx, &mut nal.rbsp_bits(), header, None)
        };
        let parsed = if nal.len() > SLICE_HEADER_PREFIX {
            match parse(&nal[..SLICE_HEADER_PREFIX], false) {
                Err(e) if is_would_block(&e) => parse(nal, true),
                other => other,
            }
        } else {
            parse(nal, true)
        };
        let (slice, sps, pps) = parsed.map_err(|e| match e {
            SliceHeaderError::RbspError(e) => reader_error("slice header", &e),
            SliceHeaderError::UndefinedPicParamSetId(id) => {
                SyntaxError::MissingParameterSet(format!("slice refers to unknown PPS {}", id.id()))
            }
            SliceHeaderError::UndefinedSeqParamSetId(id) => {
                SyntaxError::MissingParameterSet(format!("slice refers to unknown SPS {}", id.id()))
            }
            other => SyntaxError::Invalid(format!("bad slice header: {other:?}")),
        })?;
        let (pic_order_cnt_lsb, delta_pic_order_cnt_bottom, delta_pic_order_cnt) =
            match slice.pic_order_cnt_lsb {
                Some(PicOrderCountLsb::Frame(lsb)) => (lsb, 0, [0, 0]),
                Some(PicOrderCountLsb::FieldsAbsolute {
                    pic_order_cnt_lsb,
                    delta_pic_order_cnt_bottom,
                }) => (pic_order_cnt_lsb, delta_pic_order_cnt_bottom, [0, 0]),
                Some(PicOrderCountLsb::FieldsDelta(deltas)) => (0, 0, deltas),
                None => (0, 0, [0, 0]),
            };
        let mmco5 = matches!(&slice.dec_ref_pic_marking,
            Some(DecRefPicMarking::Adaptive(ops))
                if ops.iter().any(|op| matches!(op, MemoryManagementControlOperation::AllRefPicturesUnused)));
        let info = SliceInfo {
            nal_unit_type: nal_unit_type(header_byte),
            nal_ref_idc: header.nal_ref_idc(),
            first_mb_in_slice: slice.first_mb_in_slice,
            intra: matches!(slice.slice_type.family, SliceFamily::I | SliceFamily::SI),
            pps_id: pps.pic_parameter_set_id.id(),
            colour_plane: slice.colour_plane.as_ref().map_or(0, |plane| match plane {
                h264_reader::nal::slice::ColourPlane::Y => 0,
                h264_reader::nal::slice::ColourPlane::Cb => 1,
                h264_reader::nal::slice::ColourPlane::Cr => 2,
            }),
            frame_num: slice.frame_num,
            structure: match slice.field_pic {
                FieldPic::Frame => PictureStructure::Frame,
                FieldPic::Field(Field::Top) => PictureStructure::TopField,
                FieldPic::Field(Field::Bottom) => PictureStructure::BottomField,
            },
            idr_pic_id: slice.idr_pic_id,
            pic_order_cnt_lsb,
            delta_pic_order_cnt_bottom,
            delta_pic_order_cnt,
            redundant_pic_cnt: slice.redundant_pic_cnt.unwrap_or(0),
            mmco5,
        };
        Ok((info, sps))
    }

    /// `IdrPicFlag`: the slice belongs to an IDR picture.
    pub fn is_idr(&self) -> bool {
        self.nal_unit_type == nal_type::IDR
    }

    /// Whether this slice, following `prev` (the previous VCL NAL unit of a
    /// primary coded picture), is the first VCL NAL unit of a new primary
    /// coded picture (§7.4.1.2.4). Fields absent from both headers compare
    /// equal, which makes the per-`pic_order_cnt_type` conditions of the
    /// standard a plain comparison.
    pub fn first_vcl_of_new_picture(&self, prev: &SliceInfo) -> bool {
        self.frame_num != prev.frame_num
            || self.pps_id != prev.pps_id
            || self.structure != prev.structure
            || (self.nal_ref_idc == 0) != (prev.nal_ref_idc == 0)
            || self.pic_order_cnt_lsb != prev.pic_order_cnt_lsb
            || self.delta_pic_order_cnt_bottom != prev.delta_pic_order_cnt_bottom
            || self.delta_pic_order_cnt != prev.delta_pic_order_cnt
            || self.is_idr() != prev.is_idr()
            || (self.is_idr() && self.idr_pic_id != prev.idr_pic_id)
    }
}

/// `first_mb_in_slice`, the first syntax element of a slice header
/// (§7.3.3), of a slice NAL unit (header byte included) that may be cut short
/// or refer to unknown parameter sets.
pub fn first_mb_in_slice(nal: &[u8]) -> Option<u32> {
    if nal.is_empty() {
        return None;
    }
    RefNal::new(nal, &[], true)
        .rbsp_bits()
        .read_ue("first_mb_in_slice")
        .ok()
}

/// The `recovery_frame_cnt` of the first recovery point SEI message
/// (§D.1.8) in an SEI NAL unit (header byte included), if it has one.
pub fn recovery_point(sei_nal: &[u8]) -> Option<u32> {
    if sei_nal.is_empty() {
        return None;
    }
    let nal = RefNal::new(sei_nal, &[], true);
    let mut scratch = Vec::new();
    let mut messages = SeiReader::from_rbsp_bytes(nal.rbsp_bytes(), &mut scratch);
    while let Ok(Some(message)) = messages.next() {
        if message.payload_type == HeaderType::RecoveryPoint {
            return RecoveryPoint::read(&message)
                .ok()
                .map(|point| point.recovery_frame_cnt);
        }
    }
    None
}

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
        let top_after = if slice.mmco5 { top - poc } else { top };
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

/// A picture leaving [`OutputOrder`]: its index in decoding order and in
/// output order, both counted from the start of the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Output {
    /// Position in decoding order.
    pub decode_index: u64,
    /// Position in output (presentation) order.
    pub output_index: u64,
}

/// How many pictures may be decoded after a picture, beyond the reorder
/// depth, before it is output regardless of its POC: bounds the pictures a
/// reader holds back when the POC goes backwards without an IDR picture.
pub const MAX_OUTPUT_DELAY: u64 = 128;

/// The output order of decoded pictures: the bumping process of §C.4.5.3
/// with a buffer of `reorder_depth` pictures waiting for output (the
/// `num_reorder_frames` model that players and muxers use). Callers
/// [`flush`](Self::flush) it before an IDR picture or a picture with MMCO 5
/// (§C.4.4) and at the end of the stream. A picture never waits longer than
/// `reorder_depth + MAX_OUTPUT_DELAY` pictures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutputOrder {
    depth: usize,
    /// Pictures waiting for output: (PicOrderCnt, decode index).
    waiting: Vec<(i64, u64)>,
    decoded: u64,
    output: u64,
}

impl OutputOrder {
    /// An empty buffer that keeps `reorder_depth` pictures waiting.
    pub fn new(reorder_depth: u32) -> OutputOrder {
        OutputOrder {
            depth: reorder_depth.min(MAX_REORDER_DEPTH) as usize,
            waiting: Vec::new(),
            decoded: 0,
            output: 0,
        }
    }

    /// Pictures decoded so far (the decode index of the next one).
    pub fn decoded(&self) -> u64 {
        self.decoded
    }

    /// Pictures output so far.
    pub fn output(&self) -> u64 {
        self.output
    }

    /// Adds the next picture in decoding order, with its `PicOrderCnt`.
    /// Reports each picture that leaves the buffer to `emit`, in output
    /// order, and returns the decode index given to the new picture.
    pub fn push(&mut self, poc: i64, mut emit: impl FnMut(Output)) -> u64 {
        let decode_index = self.decoded;
        self.decoded += 1;
        self.waiting.push((poc, decode_index));
        while self.waiting.len() > self.depth {
            self.bump(&mut emit);
        }
        let patience = self.depth as u64 + MAX_OUTPUT_DELAY;
        while let Some(oldest) = self.waiting.iter().map(|&(_, d)| d).min() {
            if oldest + patience >= self.decoded {
                break;
            }
            self.bump(&mut emit);
        }
        decode_index
    }

    /// Outputs every waiting picture (before an IDR picture or a picture
    /// with MMCO 5, and at the end of the stream).
    pub fn flush(&mut self, mut emit: impl FnMut(Output)) {
        while !self.waiting.is_empty() {
            self.bump(&mut emit);
        }
    }

    /// Outputs the waiting picture with the smallest POC (the earlier one in
    /// decoding order on a tie).
    fn bump(&mut self, emit: &mut impl FnMut(Output)) {
        let Some(position) = self
            .waiting
            .iter()
            .enumerate()
            .min_by_key(|(_, &key)| key)
            .map(|(i, _)| i)
        else {
            return;
        };
        let (_, decode_index) = self.waiting.swap_remove(position);
        emit(Output {
            decode_index,
            output_index: self.output,
        });
        self.output += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The NAL units of a fixture.
    fn fixture_nals(name: &str) -> Vec<Vec<u8>> {
        let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        let data = std::fs::read(path).unwrap();
        crate::codec::nal::annexb_ranges(&data)
            .map(|r| data[r].to_vec())
            .collect()
    }

    fn first_of_type(nals: &[Vec<u8>], t: u8) -> &[u8] {
        nals.iter().find(|n| nal_unit_type(n[0]) == t).unwrap()
    }

    #[test]
    fn nal_type_classes() {
        assert!(is_vcl(1) && is_vcl(5) && !is_vcl(6) && !is_vcl(20));
        assert!(has_slice_header(1) && has_slice_header(2) && has_slice_header(5));
        assert!(!has_slice_header(3) && !has_slice_header(4));
        for t in [6, 7, 8, 9, 14, 15, 16, 17, 18] {
            assert!(starts_access_unit(t), "{t}");
        }
        for t in [0, 1, 5, 10, 11, 12, 13, 19, 20, 21, 31] {
            assert!(!starts_access_unit(t), "{t}");
        }
        assert_eq!(nal_unit_type(0x65), 5);
        assert_eq!(nal_ref_idc(0x65), 3);
        assert_eq!(nal_ref_idc(0x01), 0);
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
            let nals = fixture_nals(name);
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
        let nals = fixture_nals("h264_bframes.264");
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

    #[test]
    fn broken_parameter_sets_are_errors() {
        assert_eq!(
            parse_sps(&[0x67]),
            Err(SyntaxError::CutShort("sequence parameter set"))
        );
        assert!(parse_sps(&[]).is_err());
        let nals = fixture_nals("h264_bframes.264");
        let sps = first_of_type(&nals, nal_type::SPS);
        for cut in 1..sps.len() - 1 {
            assert!(parse_sps(&sps[..cut]).is_err(), "cut at {cut}");
        }
        let ctx = Context::new();
        assert!(matches!(
            parse_pps(&ctx, first_of_type(&nals, nal_type::PPS)),
            Err(SyntaxError::MissingParameterSet(_))
        ));
    }

    fn context_of(nals: &[Vec<u8>]) -> Context {
        let mut ctx = Context::new();
        ctx.put_seq_param_set(parse_sps(first_of_type(nals, nal_type::SPS)).unwrap());
        let pps = parse_pps(&ctx, first_of_type(nals, nal_type::PPS)).unwrap();
        ctx.put_pic_param_set(pps);
        ctx
    }

    #[test]
    fn slice_headers_of_the_slices_fixture() {
        let nals = fixture_nals("h264_odd_ntsc_slices.264");
        let ctx = context_of(&nals);
        let slices: Vec<SliceInfo> = nals
            .iter()
            .filter(|n| has_slice_header(nal_unit_type(n[0])))
            .map(|n| SliceInfo::parse(&ctx, n).unwrap().0)
            .collect();
        assert_eq!(slices.len(), 60 * 4);
        assert!(slices[0].is_idr() && slices[0].intra);
        assert_eq!(slices[0].first_mb_in_slice, 0);
        // Within a picture no slice starts a new one; across pictures each does.
        for (i, pair) in slices.windows(2).enumerate() {
            let new = pair[1].first_vcl_of_new_picture(&pair[0]);
            assert_eq!(new, (i + 1) % 4 == 0, "slice {}", i + 1);
            assert_eq!(pair[1].first_mb_in_slice == 0, new, "slice {}", i + 1);
        }
    }

    #[test]
    fn slice_header_cut_short_or_without_parameter_sets() {
        let nals = fixture_nals("h264_bframes.264");
        let ctx = context_of(&nals);
        let idr = first_of_type(&nals, nal_type::IDR);
        assert_eq!(
            SliceInfo::parse(&ctx, &idr[..2]),
            Err(SyntaxError::CutShort("slice header"))
        );
        assert!(SliceInfo::parse(&ctx, &[]).is_err());
        assert_eq!(first_mb_in_slice(&idr[..2]), Some(0));
        assert_eq!(first_mb_in_slice(&[0x65, 0x20]), Some(3));
        assert_eq!(first_mb_in_slice(&[0x65, 0x00]), None);
        assert_eq!(first_mb_in_slice(&[]), None);
        assert!(SliceInfo::parse(&ctx, &[0xe5, 0x88]).is_err());
        assert!(matches!(
            SliceInfo::parse(&Context::new(), idr),
            Err(SyntaxError::MissingParameterSet(_))
        ));
    }

    fn slice(nal_unit_type: u8, nal_ref_idc: u8, frame_num: u16, lsb: u32) -> SliceInfo {
        SliceInfo {
            nal_unit_type,
            nal_ref_idc,
            frame_num,
            pic_order_cnt_lsb: lsb,
            idr_pic_id: (nal_unit_type == nal_type::IDR).then_some(0),
            ..SliceInfo::default()
        }
    }

    #[test]
    fn new_picture_rules() {
        let base = slice(1, 2, 3, 6);
        let same = SliceInfo {
            first_mb_in_slice: 40,
            intra: true,
            ..base
        };
        assert!(!same.first_vcl_of_new_picture(&base));
        let changes = [
            SliceInfo {
                frame_num: 4,
                ..base
            },
            SliceInfo { pps_id: 1, ..base },
            SliceInfo {
                structure: PictureStructure::TopField,
                ..base
            },
            SliceInfo {
                nal_ref_idc: 0,
                ..base
            },
            SliceInfo {
                pic_order_cnt_lsb: 8,
                ..base
            },
            SliceInfo {
                delta_pic_order_cnt_bottom: 1,
                ..base
            },
            SliceInfo {
                delta_pic_order_cnt: [0, 2],
                ..base
            },
            SliceInfo {
                nal_unit_type: 5,
                idr_pic_id: Some(0),
                ..base
            },
        ];
        for (i, changed) in changes.iter().enumerate() {
            assert!(changed.first_vcl_of_new_picture(&base), "change {i}");
        }
        // nal_ref_idc matters only through its zero-ness.
        let other_ref = SliceInfo {
            nal_ref_idc: 3,
            ..base
        };
        assert!(!other_ref.first_vcl_of_new_picture(&base));
        // Consecutive IDR pictures differ only in idr_pic_id.
        let idr = slice(5, 3, 0, 0);
        let next_idr = SliceInfo {
            idr_pic_id: Some(1),
            ..idr
        };
        assert!(next_idr.first_vcl_of_new_picture(&idr));
        assert!(!idr.first_vcl_of_new_picture(&idr));
        let bottom = SliceInfo {
            structure: PictureStructure::BottomField,
            ..base
        };
        let top = SliceInfo {
            structure: PictureStructure::TopField,
            ..base
        };
        assert!(bottom.first_vcl_of_new_picture(&top));
    }

    /// An SPS of the given `pic_order_cnt_type` with 4-bit frame_num and
    /// 4-bit POC lsb, from the fixture's SPS.
    fn sps_with_poc(poc: PicOrderCntType) -> SeqParameterSet {
        let nals = fixture_nals("h264_bframes.264");
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

    fn outputs(order: &mut OutputOrder, pocs: &[(i64, bool)]) -> Vec<u64> {
        let mut out = vec![u64::MAX; pocs.len()];
        let first = order.decoded();
        let mut emit = |o: Output| out[(o.decode_index - first) as usize] = o.output_index;
        for &(poc, flush) in pocs {
            if flush {
                order.flush(&mut emit);
            }
            order.push(poc, &mut emit);
        }
        order.flush(&mut emit);
        out
    }

    #[test]
    fn output_order_reorders_within_depth_and_flushes() {
        // I0 P8 B4 b2 b6 | IDR: output order I0 b2 B4 b6 P8 | I0 ...
        let pocs = [
            (0, true),
            (8, false),
            (4, false),
            (2, false),
            (6, false),
            (0, true),
            (4, false),
            (2, false),
        ];
        let mut order = OutputOrder::new(2);
        assert_eq!(outputs(&mut order, &pocs), [0, 4, 2, 1, 3, 5, 7, 6]);
        assert_eq!((order.decoded(), order.output()), (8, 8));
        // With depth 0 the output order is the decoding order.
        let mut order = OutputOrder::new(0);
        assert_eq!(outputs(&mut order, &pocs), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn output_index_never_trails_decode_index_by_more_than_depth() {
        let pocs: Vec<(i64, bool)> = (0..200)
            .map(|i: i64| ((i * 7919) % 13 - 6, i % 37 == 0))
            .collect();
        for depth in 0..5u32 {
            let mut order = OutputOrder::new(depth);
            let out = outputs(&mut order, &pocs);
            for (d, &o) in out.iter().enumerate() {
                assert!(
                    o + u64::from(depth) >= d as u64,
                    "depth {depth} picture {d}"
                );
            }
            let mut sorted = out.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..200).collect::<Vec<u64>>());
        }
    }

    #[test]
    fn a_picture_waits_for_output_a_bounded_time() {
        // A POC far ahead, then pictures that all come before it.
        let mut pocs = vec![(0, true), (1_000_000, false)];
        pocs.extend((1..400).map(|poc| (poc, false)));
        let mut order = OutputOrder::new(2);
        let out = outputs(&mut order, &pocs);
        let delay = 2 + MAX_OUTPUT_DELAY;
        // Picture 1 is output when picture 1 + delay arrives, right after the
        // pictures 0 and 2 ..= 1 + delay.
        assert_eq!(out[1], delay + 1);
        for (d, &o) in out.iter().enumerate() {
            assert!(o + delay >= d as u64, "picture {d} output {o}");
        }
    }

    #[test]
    fn recovery_point_sei() {
        // payloadType 6, size 1, recovery_frame_cnt 0 + flags (0xC4), trailing bits.
        assert_eq!(recovery_point(&[0x06, 0x06, 0x01, 0xc4, 0x80]), Some(0));
        // A user data unregistered message only.
        let user_data = [
            0x06, 0x05, 0x11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, b'x', 0x80,
        ];
        assert_eq!(recovery_point(&user_data), None);
        assert_eq!(recovery_point(&[0x06]), None);
        assert_eq!(recovery_point(&[]), None);
    }
}
