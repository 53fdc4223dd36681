//! H.265/HEVC bitstream syntax shared by the elementary-stream, MP4,
//! Matroska and MPEG-TS readers and the RFC 7798 packetizer (ITU-T H.265):
//! NAL unit headers (§7.3.1.2), access-unit boundaries (§7.4.2.4.4),
//! parameter sets (§7.3.2), the start of slice segment headers (§7.3.6.1)
//! and picture order counts (§8.3.1).
//!
//! Only what demuxing and timestamping need is parsed; everything else is
//! skipped. Parsers take NAL units as found in the stream (emulation
//! prevention bytes included, no start code) and never panic on bad input.

mod bits;
mod hvcc;
mod params;
mod poc;
mod ptl;
mod slice;
mod sps;

pub use bits::unescape_into;
pub use hvcc::HevcConfig;
pub use params::{ParameterSets, Pps, StreamParams, Vps};
pub use poc::PocDecoder;
pub use ptl::{level_name, ProfileTierLevel};
pub use slice::SliceHeader;
pub use sps::Sps;

/// Why an H.265 syntax structure could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The structure ends before its syntax does (a cut NAL unit).
    #[error("{0} ends early")]
    Truncated(&'static str),
    /// A value breaks the semantics of ITU-T H.265.
    #[error("{0}")]
    Invalid(String),
    /// A slice refers to a parameter set that has not been seen.
    #[error("{0}")]
    MissingParameterSet(String),
}

/// `nal_unit_type` values (ITU-T H.265 Table 7-1).
pub mod nal_type {
    /// Coded slice of a trailing picture, sub-layer non-reference.
    pub const TRAIL_N: u8 = 0;
    /// Coded slice of a trailing picture.
    pub const TRAIL_R: u8 = 1;
    /// Coded slice of a random access skipped leading picture, non-reference.
    pub const RASL_N: u8 = 8;
    /// Coded slice of a random access skipped leading picture.
    pub const RASL_R: u8 = 9;
    /// Broken link access picture, may have leading pictures.
    pub const BLA_W_LP: u8 = 16;
    /// Broken link access picture, may have RADL pictures only.
    pub const BLA_W_RADL: u8 = 17;
    /// Broken link access picture without leading pictures.
    pub const BLA_N_LP: u8 = 18;
    /// Instantaneous decoding refresh picture, may have RADL pictures.
    pub const IDR_W_RADL: u8 = 19;
    /// Instantaneous decoding refresh picture without leading pictures.
    pub const IDR_N_LP: u8 = 20;
    /// Clean random access picture.
    pub const CRA_NUT: u8 = 21;
    /// Video parameter set.
    pub const VPS: u8 = 32;
    /// Sequence parameter set.
    pub const SPS: u8 = 33;
    /// Picture parameter set.
    pub const PPS: u8 = 34;
    /// Access unit delimiter.
    pub const AUD: u8 = 35;
    /// End of sequence.
    pub const EOS: u8 = 36;
    /// End of bitstream.
    pub const EOB: u8 = 37;
    /// Filler data.
    pub const FD: u8 = 38;
    /// Prefix SEI message.
    pub const PREFIX_SEI: u8 = 39;
    /// Suffix SEI message.
    pub const SUFFIX_SEI: u8 = 40;
}

/// The two-byte NAL unit header (ITU-T H.265 §7.3.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NalHeader {
    /// `nal_unit_type` (Table 7-1, [`nal_type`]).
    pub nal_type: u8,
    /// `nuh_layer_id`: 0 for the base layer.
    pub layer_id: u8,
    /// `TemporalId` (`nuh_temporal_id_plus1 − 1`).
    pub temporal_id: u8,
}

impl NalHeader {
    /// Parses the header at the start of `nal` (§7.3.1.2); `None` if it is shorter than
    /// two bytes, has `forbidden_zero_bit` set or `nuh_temporal_id_plus1` 0.
    pub fn parse(nal: &[u8]) -> Option<NalHeader> {
        let &[b0, b1, ..] = nal else {
            return None;
        };
        let tid_plus1 = b1 & 7;
        (b0 & 0x80 == 0 && tid_plus1 != 0).then(|| NalHeader {
            nal_type: b0 >> 1,
            layer_id: ((b0 & 1) << 5) | (b1 >> 3),
            temporal_id: tid_plus1 - 1,
        })
    }

    /// A VCL NAL unit (coded slice segment), types 0–31.
    pub fn is_vcl(self) -> bool {
        self.nal_type < 32
    }

    /// A coded slice of a picture type this version of H.265 defines
    /// (0–9 and 16–21); reserved VCL types are ignored by decoders (§7.4.2.2).
    pub fn is_picture(self) -> bool {
        matches!(self.nal_type, 0..=9 | 16..=21)
    }

    /// An intra random access point picture: BLA, IDR or CRA (§3.73), i.e.
    /// a key frame.
    pub fn is_irap(self) -> bool {
        (nal_type::BLA_W_LP..=nal_type::CRA_NUT).contains(&self.nal_type)
    }

    /// An IDR picture (§3.67): POC and reference pictures reset.
    pub fn is_idr(self) -> bool {
        matches!(self.nal_type, nal_type::IDR_W_RADL | nal_type::IDR_N_LP)
    }

    /// A BLA picture (§3.14).
    pub fn is_bla(self) -> bool {
        (nal_type::BLA_W_LP..=nal_type::BLA_N_LP).contains(&self.nal_type)
    }

    /// A CRA picture (§3.30).
    pub fn is_cra(self) -> bool {
        self.nal_type == nal_type::CRA_NUT
    }

    /// A random access skipped leading picture (§3.112): not decodable when
    /// decoding starts at its associated IRAP picture.
    pub fn is_rasl(self) -> bool {
        matches!(self.nal_type, nal_type::RASL_N | nal_type::RASL_R)
    }

    /// A random access decodable leading picture (§3.111), types 6 and 7.
    pub fn is_radl(self) -> bool {
        matches!(self.nal_type, 6 | 7)
    }

    /// A sub-layer non-reference picture (§3.136): even VCL types below 16.
    pub fn is_sub_layer_non_reference(self) -> bool {
        self.nal_type < 16 && self.nal_type.is_multiple_of(2)
    }

    /// Whether this NAL unit starts a new access unit when it follows the
    /// last VCL NAL unit of a picture (ITU-T H.265 §7.4.2.4.4): an access
    /// unit delimiter, VPS, SPS, PPS, prefix SEI, types 41–44 or 48–55, or
    /// the first slice segment of a picture (`first_slice_segment_in_pic_flag`,
    /// the first bit after the header). Only base-layer units count.
    pub fn starts_access_unit(self, first_slice_segment_in_pic: bool) -> bool {
        self.layer_id == 0
            && match self.nal_type {
                32..=35 | nal_type::PREFIX_SEI | 41..=44 | 48..=55 => true,
                t => t < 32 && self.is_picture() && first_slice_segment_in_pic,
            }
    }
}

/// `first_slice_segment_in_pic_flag` of a VCL NAL unit: the first bit after
/// its header (§7.3.6.1); `None` if the unit is too short.
pub fn first_slice_segment_in_pic(nal: &[u8]) -> Option<bool> {
    nal.get(2).map(|b| b & 0x80 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nal_header_fields() {
        let vps = NalHeader::parse(&[0x40, 0x01]).unwrap();
        assert_eq!((vps.nal_type, vps.layer_id, vps.temporal_id), (32, 0, 0));
        let cra = NalHeader::parse(&[0x2a, 0x01]).unwrap();
        assert!(cra.is_cra() && cra.is_irap() && !cra.is_idr());
        let layered = NalHeader::parse(&[0x03, 0x0a]).unwrap();
        assert_eq!(
            (layered.nal_type, layered.layer_id, layered.temporal_id),
            (1, 33, 1)
        );
        assert_eq!(NalHeader::parse(&[0x80, 0x01]), None, "forbidden_zero_bit");
        assert_eq!(NalHeader::parse(&[0x40, 0x00]), None, "temporal id plus1 0");
        assert_eq!(NalHeader::parse(&[0x40]), None);
    }

    #[test]
    fn picture_classes() {
        let of = |t: u8| NalHeader {
            nal_type: t,
            layer_id: 0,
            temporal_id: 0,
        };
        let irap: Vec<u8> = (0..64).filter(|&t| of(t).is_irap()).collect();
        assert_eq!(irap, [16, 17, 18, 19, 20, 21]);
        let slnr: Vec<u8> = (0..32)
            .filter(|&t| of(t).is_sub_layer_non_reference())
            .collect();
        assert_eq!(slnr, [0, 2, 4, 6, 8, 10, 12, 14]);
        assert!(of(8).is_rasl() && of(9).is_rasl() && of(7).is_radl());
        assert!(!of(22).is_picture() && of(21).is_picture());
    }

    #[test]
    fn access_unit_boundaries() {
        let of = |t: u8, layer_id: u8| NalHeader {
            nal_type: t,
            layer_id,
            temporal_id: 0,
        };
        let starting: Vec<u8> = (0..64)
            .filter(|&t| of(t, 0).starts_access_unit(false))
            .collect();
        assert_eq!(
            starting,
            [32, 33, 34, 35, 39, 41, 42, 43, 44, 48, 49, 50, 51, 52, 53, 54, 55]
        );
        assert!(of(1, 0).starts_access_unit(true));
        assert!(!of(1, 0).starts_access_unit(false));
        assert!(!of(36, 0).starts_access_unit(true), "EOS ends an AU");
        assert!(!of(40, 0).starts_access_unit(true), "suffix SEI");
        assert!(!of(1, 1).starts_access_unit(true), "enhancement layer");
        assert_eq!(first_slice_segment_in_pic(&[2, 1, 0xaf]), Some(true));
        assert_eq!(first_slice_segment_in_pic(&[2, 1]), None);
    }
}
