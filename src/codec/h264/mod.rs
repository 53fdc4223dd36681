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
//! - picture order count decoding (§8.2.1), from which readers of
//!   elementary streams derive presentation order and times.
//!
//! Left out, on purpose: gaps in `frame_num` (§8.2.5.2, frames the decoder
//! would infer are not counted), `no_output_of_prior_pics_flag` (pictures an
//! IDR would discard are still given an output slot), and the pairing of
//! complementary fields: field pictures get their correct field POC, but each
//! field counts as one picture for output order.

mod avcc;
mod nal;
mod params;
mod poc;
mod sei;
mod slice;
mod sps;

use h264_reader::rbsp::BitReaderError;

pub use avcc::AvcConfig;
pub use nal::{has_slice_header, is_vcl, nal_ref_idc, nal_type, nal_unit_type, starts_access_unit};
pub use params::{parse_pps, parse_sps};
pub use poc::PocDecoder;
pub use sei::recovery_point;
pub use slice::{first_mb_in_slice, PictureStructure, SliceInfo};
pub use sps::{level_name, profile_name, SpsInfo};

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

/// The [`SyntaxError`] for a bit reader error inside `structure`.
fn reader_error(structure: &'static str, error: &BitReaderError) -> SyntaxError {
    match error {
        BitReaderError::ReaderError(_, e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            SyntaxError::CutShort(structure)
        }
        other => SyntaxError::Invalid(format!("bad {structure}: {other:?}")),
    }
}

/// Helpers of this module's tests.
#[cfg(test)]
mod test_support {
    use super::{nal_type, nal_unit_type, SliceInfo};

    /// The first of `nals` with type `t`.
    pub fn first_of_type(nals: &[Vec<u8>], t: u8) -> &[u8] {
        nals.iter().find(|n| nal_unit_type(n[0]) == t).unwrap()
    }

    /// A slice of a frame with these header fields.
    pub fn slice(nal_unit_type: u8, nal_ref_idc: u8, frame_num: u16, lsb: u32) -> SliceInfo {
        SliceInfo {
            nal_unit_type,
            nal_ref_idc,
            frame_num,
            pic_order_cnt_lsb: lsb,
            idr_pic_id: (nal_unit_type == nal_type::IDR).then_some(0),
            ..SliceInfo::default()
        }
    }
}
