//! How the NAL units of an H.264/H.265 access unit are delimited.

/// How the NAL units of an H.264/H.265 access unit are delimited in an
/// access unit's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NalFraming {
    /// Not a NAL-based codec: the data is one coded frame.
    #[default]
    None,
    /// ITU-T H.264 Annex B start codes (`00 00 01` / `00 00 00 01`), as in
    /// elementary streams and MPEG-TS/PS.
    AnnexB,
    /// Big-endian length prefixes of this many bytes (1, 2 or 4), as in MP4
    /// (ISO/IEC 14496-15) and Matroska.
    LengthPrefixed(u8),
}
