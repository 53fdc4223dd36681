//! AV1 syntax ("AV1 Bitstream & Decoding Process Specification" v1.0.0
//! with Errata 1): `leb128()` (§4.10.5), OBU headers and the low overhead
//! bitstream format (§5.3, Annex B excluded), the sequence header OBU
//! (§5.5), and the `av1C` codec configuration record containers carry
//! ("AV1 Codec ISO Media File Format Binding" §2.3).

use super::bits::{Bits, SyntaxError};

/// `obu_type` values (§6.2.2, Table "OBU types").
pub mod obu_type {
    /// OBU_SEQUENCE_HEADER.
    pub const SEQUENCE_HEADER: u8 = 1;
    /// OBU_TEMPORAL_DELIMITER.
    pub const TEMPORAL_DELIMITER: u8 = 2;
    /// OBU_FRAME_HEADER.
    pub const FRAME_HEADER: u8 = 3;
    /// OBU_TILE_GROUP.
    pub const TILE_GROUP: u8 = 4;
    /// OBU_METADATA.
    pub const METADATA: u8 = 5;
    /// OBU_FRAME.
    pub const FRAME: u8 = 6;
    /// OBU_REDUNDANT_FRAME_HEADER.
    pub const REDUNDANT_FRAME_HEADER: u8 = 7;
    /// OBU_TILE_LIST.
    pub const TILE_LIST: u8 = 8;
    /// OBU_PADDING.
    pub const PADDING: u8 = 15;
}

/// A temporal delimiter OBU with its (zero) size: what starts every
/// temporal unit of the low overhead bitstream format (§7.5).
pub const TEMPORAL_DELIMITER: [u8; 2] = [obu_type::TEMPORAL_DELIMITER << 3 | 0x02, 0];

/// `obu_has_size_field` in the OBU header's first byte.
pub const HAS_SIZE_FIELD: u8 = 0x02;
/// `obu_extension_flag` in the OBU header's first byte.
const EXTENSION_FLAG: u8 = 0x04;

/// The largest value `leb128()` may code (§4.10.5: at most `2^32 - 1`).
const LEB128_MAX: u64 = u32::MAX as u64;

/// Reads a `leb128()` value at the start of `data` (§4.10.5): returns it
/// and its length in bytes. More than 8 bytes, or a value above
/// `2^32 - 1`, is invalid.
pub fn read_leb128(data: &[u8]) -> Result<(u64, usize), SyntaxError> {
    let mut value = 0u64;
    for (i, &byte) in data.iter().enumerate().take(8) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if value > LEB128_MAX {
                return Err(SyntaxError::Invalid {
                    what: "leb128",
                    problem: "value above 2^32 - 1",
                    offset: 0,
                });
            }
            return Ok((value, i + 1));
        }
    }
    if data.len() >= 8 {
        Err(SyntaxError::Invalid {
            what: "leb128",
            problem: "more than 8 bytes",
            offset: 8,
        })
    } else {
        Err(SyntaxError::Truncated {
            what: "leb128",
            offset: data.len(),
        })
    }
}

/// Bytes of the shortest `leb128()` coding of `value`.
pub fn leb128_len(value: usize) -> usize {
    let bits = usize::BITS - value.leading_zeros();
    (bits.max(1) as usize).div_ceil(7)
}

/// Appends the shortest `leb128()` coding of `value`.
pub fn write_leb128(mut value: usize, out: &mut impl Extend<u8>) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.extend([byte]);
            return;
        }
        out.extend([byte | 0x80]);
    }
}

/// An OBU's header (§5.3.2, §5.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ObuHeader {
    /// `obu_type`.
    pub obu_type: u8,
    /// `obu_has_size_field`.
    pub has_size_field: bool,
    /// The extension byte (`temporal_id`, `spatial_id`), when
    /// `obu_extension_flag` is set.
    pub extension: Option<u8>,
}

impl ObuHeader {
    /// Parses the 1- or 2-byte header at the start of `data`.
    pub fn parse(data: &[u8]) -> Result<ObuHeader, SyntaxError> {
        let &first = data.first().ok_or(SyntaxError::Truncated {
            what: "OBU header",
            offset: 0,
        })?;
        if first & 0x80 != 0 {
            return Err(SyntaxError::Invalid {
                what: "OBU header",
                problem: "obu_forbidden_bit set",
                offset: 0,
            });
        }
        let extension = if first & EXTENSION_FLAG != 0 {
            Some(*data.get(1).ok_or(SyntaxError::Truncated {
                what: "OBU extension header",
                offset: 1,
            })?)
        } else {
            None
        };
        Ok(ObuHeader {
            obu_type: (first >> 3) & 0x0f,
            has_size_field: first & HAS_SIZE_FIELD != 0,
            extension,
        })
    }

    /// Bytes of the header: 1, or 2 with the extension.
    pub fn len(&self) -> usize {
        1 + usize::from(self.extension.is_some())
    }

    /// Never true: a header has at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The header bytes, with `obu_has_size_field` as `has_size_field`.
    pub fn to_bytes(&self, has_size_field: bool) -> ([u8; 2], usize) {
        let first = self.obu_type << 3
            | if self.extension.is_some() {
                EXTENSION_FLAG
            } else {
                0
            }
            | if has_size_field { HAS_SIZE_FIELD } else { 0 };
        ([first, self.extension.unwrap_or(0)], self.len())
    }
}

/// One OBU of a buffer: its header and the payload after the size field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obu<'a> {
    /// The parsed header.
    pub header: ObuHeader,
    /// The OBU payload (after the header and size field).
    pub payload: &'a [u8],
    /// Offset of the OBU in the buffer it was read from.
    pub offset: usize,
    /// Bytes of the whole OBU: header, size field and payload.
    pub len: usize,
}

/// The OBUs of a buffer in the low overhead bitstream format (§5.2): each
/// with its size field, but for a last OBU without one, which runs to the
/// end (as ISO BMFF and Matroska samples may end). Errors carry the offset
/// of the OBU that broke.
pub fn obus(data: &[u8]) -> impl Iterator<Item = Result<Obu<'_>, SyntaxError>> + '_ {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= data.len() {
            return None;
        }
        let at = pos;
        let result = obu_at(&data[at..]).map(|(header, payload_start, len)| Obu {
            header,
            payload: &data[at + payload_start..at + len],
            offset: at,
            len,
        });
        match &result {
            Ok(obu) => pos += obu.len,
            Err(_) => pos = data.len(),
        }
        Some(result.map_err(|e| offset_by(e, at)))
    })
}

/// Parses the OBU starting `data`: header, payload start and total length.
fn obu_at(data: &[u8]) -> Result<(ObuHeader, usize, usize), SyntaxError> {
    let header = ObuHeader::parse(data)?;
    if !header.has_size_field {
        return Ok((header, header.len(), data.len()));
    }
    let (size, size_len) =
        read_leb128(&data[header.len()..]).map_err(|e| offset_by(e, header.len()))?;
    let start = header.len() + size_len;
    let end = usize::try_from(size)
        .ok()
        .and_then(|s| start.checked_add(s))
        .filter(|&end| end <= data.len())
        .ok_or(SyntaxError::Invalid {
            what: "OBU",
            problem: "obu_size runs past the end of the data",
            offset: header.len(),
        })?;
    Ok((header, start, end))
}

/// `e` with its offset moved by `by` bytes.
fn offset_by(e: SyntaxError, by: usize) -> SyntaxError {
    match e {
        SyntaxError::Truncated { what, offset } => SyntaxError::Truncated {
            what,
            offset: offset + by,
        },
        SyntaxError::Invalid {
            what,
            problem,
            offset,
        } => SyntaxError::Invalid {
            what,
            problem,
            offset: offset + by,
        },
    }
}

/// What a sequence header OBU says about the stream (§5.5, §6.4), as probe
/// and SDP need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceHeader {
    /// `seq_profile`: 0 Main, 1 High, 2 Professional.
    pub profile: u8,
    /// `still_picture`.
    pub still_picture: bool,
    /// `seq_level_idx[0]`: the level of operating point 0 (e.g. 8 = 4.0).
    pub level_idx: u8,
    /// `seq_tier[0]`.
    pub tier: u8,
    /// `max_frame_width_minus_1 + 1`.
    pub max_width: u32,
    /// `max_frame_height_minus_1 + 1`.
    pub max_height: u32,
    /// `BitDepth`: 8, 10 or 12.
    pub bit_depth: u8,
    /// `mono_chrome`.
    pub mono_chrome: bool,
    /// `subsampling_x`.
    pub subsampling_x: bool,
    /// `subsampling_y`.
    pub subsampling_y: bool,
    /// Colour is sRGB with the identity matrix (coded as 4:4:4 GBR).
    pub rgb: bool,
}

const SEQUENCE_HEADER: &str = "AV1 sequence header";

/// `uvlc()` (§4.10.3).
fn uvlc(b: &mut Bits<'_>) -> Result<u32, SyntaxError> {
    let mut leading_zeros = 0;
    while !b.flag()? {
        leading_zeros += 1;
        if leading_zeros >= 32 {
            return Ok(u32::MAX);
        }
    }
    Ok(b.u(leading_zeros)? + ((1u32 << leading_zeros) - 1))
}

impl SequenceHeader {
    /// Parses a sequence header OBU's payload (`sequence_header_obu()`,
    /// §5.5.1).
    pub fn parse(payload: &[u8]) -> Result<SequenceHeader, SyntaxError> {
        let mut b = Bits::new(payload, SEQUENCE_HEADER);
        let profile = b.u(3)? as u8;
        if profile > 2 {
            return Err(b.invalid("seq_profile above 2"));
        }
        let still_picture = b.flag()?;
        let reduced = b.flag()?;
        let (level_idx, tier) = if reduced {
            (b.u(5)? as u8, 0)
        } else {
            let mut buffer_delay_length = None;
            if b.flag()? {
                // timing_info()
                b.skip(64)?;
                if b.flag()? {
                    uvlc(&mut b)?;
                }
                if b.flag()? {
                    // decoder_model_info()
                    buffer_delay_length = Some(b.u(5)? + 1);
                    b.skip(32 + 5 + 5)?;
                }
            }
            let initial_display_delay = b.flag()?;
            let operating_points = b.u(5)? + 1;
            let mut first = None;
            for _ in 0..operating_points {
                b.skip(12)?; // operating_point_idc
                let level = b.u(5)? as u8;
                let tier = if level > 7 { b.u(1)? as u8 } else { 0 };
                first.get_or_insert((level, tier));
                if let Some(n) = buffer_delay_length {
                    if b.flag()? {
                        // operating_parameters_info(): two delays and
                        // low_delay_mode_flag.
                        b.skip(2 * n + 1)?;
                    }
                }
                if initial_display_delay && b.flag()? {
                    b.skip(4)?;
                }
            }
            first.unwrap_or((0, 0))
        };
        let width_bits = b.u(4)? + 1;
        let height_bits = b.u(4)? + 1;
        let max_width = b.u(width_bits)? + 1;
        let max_height = b.u(height_bits)? + 1;
        if !reduced && b.flag()? {
            b.skip(4 + 3)?; // frame id lengths
        }
        b.skip(3)?; // 128x128 superblock, filter intra, intra edge filter
        if !reduced {
            b.skip(4)?; // interintra, masked, warped motion, dual filter
            let order_hint = b.flag()?;
            if order_hint {
                b.skip(2)?; // jnt_comp, ref_frame_mvs
            }
            let screen_content = if b.flag()? { 2 } else { b.u(1)? };
            if screen_content > 0 && !b.flag()? {
                b.skip(1)?; // seq_force_integer_mv
            }
            if order_hint {
                b.skip(3)?;
            }
        }
        b.skip(3)?; // superres, cdef, restoration
                    // color_config() (§5.5.2)
        let high_bitdepth = b.flag()?;
        let bit_depth = match (profile, high_bitdepth) {
            (2, true) => {
                if b.flag()? {
                    12
                } else {
                    10
                }
            }
            (_, true) => 10,
            (_, false) => 8,
        };
        let mono_chrome = profile != 1 && b.flag()?;
        let (primaries, transfer, matrix) = if b.flag()? {
            (b.u(8)?, b.u(8)?, b.u(8)?)
        } else {
            (2, 2, 2)
        };
        let rgb = !mono_chrome && (primaries, transfer, matrix) == (1, 13, 0);
        let (subsampling_x, subsampling_y) = if mono_chrome || rgb {
            (mono_chrome, mono_chrome)
        } else {
            b.skip(1)?; // color_range
            match profile {
                0 => (true, true),
                1 => (false, false),
                _ if bit_depth == 12 => {
                    let x = b.flag()?;
                    (x, x && b.flag()?)
                }
                _ => (true, false),
            }
        };
        Ok(SequenceHeader {
            profile,
            still_picture,
            level_idx,
            tier,
            max_width,
            max_height,
            bit_depth,
            mono_chrome,
            subsampling_x,
            subsampling_y,
            rgb,
        })
    }

    /// The profile's name as ffprobe prints it.
    pub fn profile_name(&self) -> &'static str {
        match self.profile {
            0 => "Main",
            1 => "High",
            _ => "Professional",
        }
    }

    /// The decoded picture's pixel format as ffprobe names it.
    pub fn pix_fmt(&self) -> &'static str {
        const NAMES: [[&str; 3]; 5] = [
            ["gray", "gray10le", "gray12le"],
            ["yuv420p", "yuv420p10le", "yuv420p12le"],
            ["yuv422p", "yuv422p10le", "yuv422p12le"],
            ["yuv444p", "yuv444p10le", "yuv444p12le"],
            ["gbrp", "gbrp10le", "gbrp12le"],
        ];
        let layout = match (
            self.mono_chrome,
            self.rgb,
            self.subsampling_x,
            self.subsampling_y,
        ) {
            (true, ..) => 0,
            (_, true, ..) => 4,
            (_, _, true, true) => 1,
            (_, _, true, false) => 2,
            _ => 3,
        };
        NAMES[layout][usize::from(self.bit_depth.saturating_sub(8) / 2).min(2)]
    }
}

/// The fixed fields of an `AV1CodecConfigurationRecord` (AV1-ISOBMFF
/// §2.3.3): a summary of the sequence header, then `configOBUs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Av1Config<'a> {
    /// `seq_profile`.
    pub profile: u8,
    /// `seq_level_idx_0`.
    pub level_idx: u8,
    /// `seq_tier_0`.
    pub tier: u8,
    /// 8, 10 or 12, from `high_bitdepth` and `twelve_bit`.
    pub bit_depth: u8,
    /// `monochrome`.
    pub mono_chrome: bool,
    /// `configOBUs`: the sequence header OBU and any metadata OBUs, in
    /// the low overhead format.
    pub config_obus: &'a [u8],
}

impl<'a> Av1Config<'a> {
    /// Parses an `av1C` record (the box payload, Matroska's CodecPrivate):
    /// `marker` and `version` must be 1.
    pub fn parse(record: &'a [u8]) -> Result<Av1Config<'a>, SyntaxError> {
        let &[first, b1, b2, _, ref config_obus @ ..] = record else {
            return Err(SyntaxError::Truncated {
                what: "av1C record",
                offset: record.len(),
            });
        };
        if first != 0x81 {
            return Err(SyntaxError::Invalid {
                what: "av1C record",
                problem: "marker and version are not 1",
                offset: 0,
            });
        }
        let high_bitdepth = b2 & 0x40 != 0;
        let twelve_bit = b2 & 0x20 != 0;
        Ok(Av1Config {
            profile: b1 >> 5,
            level_idx: b1 & 0x1f,
            tier: b2 >> 7,
            bit_depth: match (high_bitdepth, twelve_bit) {
                (false, _) => 8,
                (true, false) => 10,
                (true, true) => 12,
            },
            mono_chrome: b2 & 0x10 != 0,
            config_obus,
        })
    }
}

/// The configuration OBUs of a track's codec configuration: the
/// `configOBUs` of an `av1C` record, or, when the bytes do not start with
/// the record's marker, the bytes themselves read as OBUs (a sequence
/// header OBU as some muxers store it).
pub fn config_obus(extradata: &[u8]) -> Result<&[u8], SyntaxError> {
    match extradata.first() {
        Some(byte) if byte & 0x80 != 0 => Ok(Av1Config::parse(extradata)?.config_obus),
        _ => Ok(extradata),
    }
}

/// The first sequence header OBU (all of it) among `data`'s OBUs.
pub fn find_sequence_header(data: &[u8]) -> Option<Obu<'_>> {
    obus(data)
        .map_while(Result::ok)
        .find(|obu| obu.header.obu_type == obu_type::SEQUENCE_HEADER)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bits::pack;

    /// The sequence header libaom wrote for a 160x120 8-bit 4:2:0 stream.
    pub(crate) const SEQUENCE_HEADER_OBU: [u8; 12] = [
        0x0a, 0x0a, 0x00, 0x00, 0x00, 0x03, 0xb4, 0xff, 0x73, 0x6b, 0xe4, 0x01,
    ];

    #[test]
    fn leb128_values_limits_and_lengths() {
        assert_eq!(read_leb128(&[0x05]).unwrap(), (5, 1));
        assert_eq!(read_leb128(&[0x80, 0x01, 0xff]).unwrap(), (128, 2));
        // Non-minimal codings are valid (§4.10.5 allows padding).
        assert_eq!(read_leb128(&[0x85, 0x80, 0x00]).unwrap(), (5, 3));
        assert_eq!(
            read_leb128(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap(),
            (u64::from(u32::MAX), 5)
        );
        assert!(matches!(
            read_leb128(&[0x80, 0x80, 0x80, 0x80, 0x10]),
            Err(SyntaxError::Invalid { .. })
        ));
        assert!(matches!(
            read_leb128(&[0x80; 9]),
            Err(SyntaxError::Invalid { offset: 8, .. })
        ));
        assert!(matches!(
            read_leb128(&[0x80, 0x80]),
            Err(SyntaxError::Truncated { offset: 2, .. })
        ));
        assert!(read_leb128(&[]).is_err());
        for value in [
            0usize,
            1,
            127,
            128,
            16383,
            16384,
            1 << 21,
            u32::MAX as usize,
        ] {
            let mut out = Vec::new();
            write_leb128(value, &mut out);
            assert_eq!(out.len(), leb128_len(value), "{value}");
            assert_eq!(read_leb128(&out).unwrap(), (value as u64, out.len()));
        }
    }

    #[test]
    fn obus_of_a_temporal_unit() {
        let mut tu = TEMPORAL_DELIMITER.to_vec();
        tu.extend_from_slice(&SEQUENCE_HEADER_OBU);
        // A frame OBU with an extension byte, then one without a size field.
        tu.extend_from_slice(&[0x36, 0x28, 0x02, 0xaa, 0xbb]);
        tu.extend_from_slice(&[0x78, 1, 2, 3]);
        let list: Vec<Obu> = obus(&tu).collect::<Result<_, _>>().unwrap();
        let types: Vec<u8> = list.iter().map(|o| o.header.obu_type).collect();
        assert_eq!(types, [2, 1, 6, 15]);
        assert_eq!(list[2].header.extension, Some(0x28));
        assert_eq!(list[2].payload, &[0xaa, 0xbb]);
        assert_eq!((list[3].offset, list[3].payload), (19, &[1u8, 2, 3][..]));
        assert_eq!(find_sequence_header(&tu).unwrap().offset, 2);
        assert_eq!(
            ObuHeader::parse(&[0x36, 0x28]).unwrap().to_bytes(false),
            ([0x34, 0x28], 2)
        );
    }

    #[test]
    fn hostile_obus_fail_with_offsets() {
        // A size past the end, a bad leb128, a forbidden bit, a missing
        // extension byte: each after a good temporal delimiter.
        for (tail, offset) in [
            (&[0x32, 0x05, 1][..], 3),
            (
                &[0x32, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                11,
            ),
            (&[0x92, 0x00], 2),
            (&[0x36], 3),
        ] {
            let mut data = TEMPORAL_DELIMITER.to_vec();
            data.extend_from_slice(tail);
            let results: Vec<_> = obus(&data).collect();
            assert_eq!(results.len(), 2, "{tail:?}");
            let err = results[1].clone().unwrap_err();
            let at = match err {
                SyntaxError::Truncated { offset, .. } | SyntaxError::Invalid { offset, .. } => {
                    offset
                }
            };
            assert_eq!(at, offset, "{tail:?}: {err}");
        }
    }

    #[test]
    fn sequence_header_fields() {
        let h = SequenceHeader::parse(&SEQUENCE_HEADER_OBU[2..]).unwrap();
        assert_eq!(
            (h.profile, h.level_idx, h.tier, h.max_width, h.max_height),
            (0, 0, 0, 160, 120)
        );
        assert_eq!(
            (h.bit_depth, h.pix_fmt(), h.profile_name()),
            (8, "yuv420p", "Main")
        );
        for cut in 0..SEQUENCE_HEADER_OBU.len() - 3 {
            assert!(SequenceHeader::parse(&SEQUENCE_HEADER_OBU[2..2 + cut]).is_err());
        }
        // A reduced still picture header: profile 1 (4:4:4), level 31,
        // 4096x2176, 10-bit, with colour description BT.709.
        let still = pack(&[
            (3, 1),
            (1, 1),
            (1, 1),
            (5, 31),
            (4, 11),
            (4, 11),
            (12, 4095),
            (12, 2175),
            (3, 0),
            (3, 0),
            (1, 1),
            (1, 1),
            (24, 0x01_01_01),
            (1, 0),
            (1, 0),
            (1, 0),
        ]);
        let h = SequenceHeader::parse(&still).unwrap();
        assert!(h.still_picture);
        assert_eq!((h.profile, h.level_idx, h.tier), (1, 31, 0));
        assert_eq!((h.max_width, h.max_height), (4096, 2176));
        assert_eq!((h.pix_fmt(), h.profile_name()), ("yuv444p10le", "High"));
        assert!(SequenceHeader::parse(&still[..still.len() - 2]).is_err());
        // 12-bit Professional 4:2:2, level 9 high tier, with timing and
        // decoder model info, two operating points.
        let pro = pack(&[
            (3, 2),
            (2, 0),
            (1, 1),
            (32, 1001),
            (32, 60000),
            (1, 1),
            (3, 0b010), // uvlc: 1 leading zero, value 0 -> 1
            (1, 1),
            (5, 9),
            (32, 1),
            (5, 4),
            (5, 4),
            (1, 0),
            (5, 1),
            (12, 0x101),
            (5, 9),
            (1, 1),
            (1, 1),
            (10, 0),
            (10, 0),
            (1, 0),
            (12, 0x103),
            (5, 5),
            (1, 0),
            (4, 15),
            (4, 15),
            (16, 1919),
            (16, 1079),
            (1, 0),
            (3, 0),
            (4, 0),
            (1, 0),
            (1, 0),
            (1, 0),
            (3, 0),
            (1, 1),
            (1, 1),
            (1, 0),
            (1, 0),
            (1, 1),
            (1, 1),
            (1, 0),
            (1, 0),
        ]);
        let h = SequenceHeader::parse(&pro).unwrap();
        assert_eq!((h.profile, h.level_idx, h.tier, h.bit_depth), (2, 9, 1, 12));
        assert_eq!((h.max_width, h.max_height), (1920, 1080));
        assert_eq!(
            (h.pix_fmt(), h.profile_name()),
            ("yuv422p12le", "Professional")
        );
        assert!(SequenceHeader::parse(&[0xe0, 0, 0, 0]).is_err());
    }

    #[test]
    fn av1c_records() {
        let mut record = vec![0x81, 0x08, 0x0c, 0x00];
        record.extend_from_slice(&SEQUENCE_HEADER_OBU);
        let c = Av1Config::parse(&record).unwrap();
        assert_eq!((c.profile, c.level_idx, c.tier, c.bit_depth), (0, 8, 0, 8));
        assert_eq!(config_obus(&record).unwrap(), &SEQUENCE_HEADER_OBU);
        assert_eq!(
            config_obus(&SEQUENCE_HEADER_OBU).unwrap(),
            &SEQUENCE_HEADER_OBU
        );
        let c = Av1Config::parse(&[0x81, 0x4d, 0xe0, 0x00]).unwrap();
        assert_eq!(
            (c.profile, c.level_idx, c.tier, c.bit_depth),
            (2, 13, 1, 12)
        );
        assert!(Av1Config::parse(&[0x81, 0, 0]).is_err());
        assert!(config_obus(&[0x82, 0, 0, 0]).is_err());
    }
}
