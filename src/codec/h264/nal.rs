//! NAL unit types and what they mean for access unit assembly: ITU-T H.264
//! §7.3.1, §7.4.1.2.3 and Table 7-1.

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
