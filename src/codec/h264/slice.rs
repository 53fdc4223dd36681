//! Slice headers (ITU-T H.264 §7.3.3, §7.4.3): the fields that access unit
//! assembly and picture order count decoding need, and the detection of the
//! first VCL NAL unit of a new primary coded picture (§7.4.1.2.4).

use h264_reader::nal::slice::{
    DecRefPicMarking, Field, FieldPic, MemoryManagementControlOperation, PicOrderCountLsb,
    SliceFamily, SliceHeader, SliceHeaderError,
};
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::nal::{Nal, NalHeader, RefNal};
use h264_reader::rbsp::{BitRead, BitReaderError};
use h264_reader::Context;

use super::{nal_type, nal_unit_type, reader_error, SyntaxError};

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
    /// summary and the SPS the slice refers to (§7.3.3, §7.4.1.2.1
    /// activation).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::h264::test_support::{first_of_type, slice};
    use crate::codec::h264::{has_slice_header, parse_pps, parse_sps};
    use crate::codec::nal::fixture_nal_units;

    fn context_of(nals: &[Vec<u8>]) -> Context {
        let mut ctx = Context::new();
        ctx.put_seq_param_set(parse_sps(first_of_type(nals, nal_type::SPS)).unwrap());
        let pps = parse_pps(&ctx, first_of_type(nals, nal_type::PPS)).unwrap();
        ctx.put_pic_param_set(pps);
        ctx
    }

    #[test]
    fn slice_headers_of_the_slices_fixture() {
        let nals = fixture_nal_units("h264_odd_ntsc_slices.264");
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
        let nals = fixture_nal_units("h264_bframes.264");
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
}
