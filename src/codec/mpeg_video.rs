//! MPEG-1 video (ISO/IEC 11172-2 §2.4.2) and MPEG-2 video (ISO/IEC
//! 13818-2 §6.2) headers: start codes, the sequence header and sequence
//! extension, the group of pictures header, the picture header and picture
//! coding extension; and the splitting of an elementary stream into access
//! units (a picture with the headers before it).

use std::ops::Range;

use super::bits::{Bits, SyntaxError};
use super::nal::find_start_code;
use crate::vocab::Rational;

/// Start code values, the byte after `00 00 01` (ISO/IEC 13818-2 Table
/// 6-1).
pub mod start_code {
    /// picture_start_code.
    pub const PICTURE: u8 = 0x00;
    /// The first slice_start_code (slice_vertical_position 1).
    pub const FIRST_SLICE: u8 = 0x01;
    /// The last slice_start_code.
    pub const LAST_SLICE: u8 = 0xaf;
    /// user_data_start_code.
    pub const USER_DATA: u8 = 0xb2;
    /// sequence_header_code.
    pub const SEQUENCE_HEADER: u8 = 0xb3;
    /// extension_start_code.
    pub const EXTENSION: u8 = 0xb5;
    /// sequence_end_code.
    pub const SEQUENCE_END: u8 = 0xb7;
    /// group_start_code.
    pub const GROUP: u8 = 0xb8;

    /// Whether `code` starts a slice.
    pub fn is_slice(code: u8) -> bool {
        (FIRST_SLICE..=LAST_SLICE).contains(&code)
    }
}

/// `extension_start_code_identifier` values (ISO/IEC 13818-2 Table 6-2).
pub mod extension_id {
    /// Sequence Extension ID.
    pub const SEQUENCE: u8 = 1;
    /// Sequence Display Extension ID.
    pub const SEQUENCE_DISPLAY: u8 = 2;
    /// Picture Coding Extension ID.
    pub const PICTURE_CODING: u8 = 8;
}

/// A start code in a buffer: where its `00 00 01` prefix begins, and the
/// byte after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartCode {
    /// Offset of the prefix's first byte.
    pub offset: usize,
    /// The start code value.
    pub code: u8,
}

impl StartCode {
    /// Offset of the syntax after the 4-byte start code.
    pub fn body(&self) -> usize {
        self.offset + 4
    }
}

/// The start codes of `data`, in order (a prefix at the very end, without
/// its value byte, is not one).
pub fn start_codes(data: &[u8]) -> impl Iterator<Item = StartCode> + '_ {
    let mut from = 0;
    std::iter::from_fn(move || {
        let offset = find_start_code(data, from)?;
        let &code = data.get(offset + 3)?;
        from = offset + 3;
        Some(StartCode { offset, code })
    })
}

/// `sequence_header()` (ISO/IEC 13818-2 §6.2.2.1, ISO/IEC 11172-2
/// §2.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceHeader {
    /// `horizontal_size_value` (12 bits).
    pub horizontal_size: u16,
    /// `vertical_size_value` (12 bits).
    pub vertical_size: u16,
    /// `aspect_ratio_information` (MPEG-2: display aspect ratio code;
    /// MPEG-1: `pel_aspect_ratio`).
    pub aspect_ratio_code: u8,
    /// `frame_rate_code`.
    pub frame_rate_code: u8,
    /// `bit_rate_value` (18 bits, units of 400 bit/s; 0x3ffff is variable
    /// in MPEG-1).
    pub bit_rate_value: u32,
    /// `vbv_buffer_size_value` (10 bits, units of 16 kbit).
    pub vbv_buffer_size_value: u16,
    /// `constrained_parameters_flag` (MPEG-1; 0 in MPEG-2).
    pub constrained_parameters: bool,
    /// Bytes of the header after its start code, quantiser matrices
    /// included.
    pub len: usize,
}

/// Frame rates by `frame_rate_code` (ISO/IEC 13818-2 Table 6-4).
const FRAME_RATES: [(u32, u32); 9] = [
    (0, 1),
    (24000, 1001),
    (24, 1),
    (25, 1),
    (30000, 1001),
    (30, 1),
    (50, 1),
    (60000, 1001),
    (60, 1),
];

impl SequenceHeader {
    /// Parses the header after its start code.
    pub fn parse(body: &[u8]) -> Result<SequenceHeader, SyntaxError> {
        let mut b = Bits::new(body, "MPEG video sequence header");
        let horizontal_size = b.u(12)? as u16;
        let vertical_size = b.u(12)? as u16;
        let aspect_ratio_code = b.u(4)? as u8;
        let frame_rate_code = b.u(4)? as u8;
        let bit_rate_value = b.u(18)?;
        b.skip(1)?; // marker_bit
        let vbv_buffer_size_value = b.u(10)? as u16;
        let constrained_parameters = b.flag()?;
        for _ in 0..2 {
            // load_intra_quantiser_matrix, load_non_intra_quantiser_matrix
            if b.flag()? {
                b.skip(64 * 8)?;
            }
        }
        if horizontal_size == 0 || vertical_size == 0 {
            return Err(SyntaxError::Invalid {
                what: "MPEG video sequence header",
                problem: "zero picture size",
                offset: 0,
            });
        }
        Ok(SequenceHeader {
            horizontal_size,
            vertical_size,
            aspect_ratio_code,
            frame_rate_code,
            bit_rate_value,
            vbv_buffer_size_value,
            constrained_parameters,
            len: b.bit_position().div_ceil(8) as usize,
        })
    }

    /// The frame rate `frame_rate_code` names, times the extension's
    /// `(n + 1) / (d + 1)` in MPEG-2; `None` for a forbidden or reserved code.
    pub fn frame_rate(&self, extension: Option<&SequenceExtension>) -> Option<Rational> {
        let &(num, den) = FRAME_RATES.get(usize::from(self.frame_rate_code))?;
        let (n, d) = extension.map_or((1, 1), |e| {
            (
                u64::from(e.frame_rate_extension_n) + 1,
                u64::from(e.frame_rate_extension_d) + 1,
            )
        });
        Rational::reduced(u64::from(num) * n, u64::from(den) * d)
    }

    /// Width with the extension's upper bits.
    pub fn width(&self, extension: Option<&SequenceExtension>) -> u32 {
        u32::from(self.horizontal_size)
            | extension.map_or(0, |e| u32::from(e.horizontal_size_extension) << 12)
    }

    /// Height with the extension's upper bits.
    pub fn height(&self, extension: Option<&SequenceExtension>) -> u32 {
        u32::from(self.vertical_size)
            | extension.map_or(0, |e| u32::from(e.vertical_size_extension) << 12)
    }

    /// The bit rate in bit/s (units of 400 bit/s), with the extension's
    /// upper bits.
    pub fn bit_rate(&self, extension: Option<&SequenceExtension>) -> u64 {
        (u64::from(self.bit_rate_value)
            | extension.map_or(0, |e| u64::from(e.bit_rate_extension) << 18))
            * 400
    }

    /// The VBV buffer size in bits (units of 16 × 1024 bits), with the
    /// extension's upper bits.
    pub fn vbv_buffer_size(&self, extension: Option<&SequenceExtension>) -> u64 {
        (u64::from(self.vbv_buffer_size_value)
            | extension.map_or(0, |e| u64::from(e.vbv_buffer_size_extension) << 10))
            * 16
            * 1024
    }
}

/// `sequence_extension()` (ISO/IEC 13818-2 §6.2.2.3): present in MPEG-2
/// only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SequenceExtension {
    /// `profile_and_level_indication`.
    pub profile_and_level: u8,
    /// `progressive_sequence`.
    pub progressive_sequence: bool,
    /// `chroma_format`: 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format: u8,
    /// `horizontal_size_extension`.
    pub horizontal_size_extension: u8,
    /// `vertical_size_extension`.
    pub vertical_size_extension: u8,
    /// `bit_rate_extension` (12 bits).
    pub bit_rate_extension: u16,
    /// `vbv_buffer_size_extension`.
    pub vbv_buffer_size_extension: u8,
    /// `low_delay`: no B-pictures.
    pub low_delay: bool,
    /// `frame_rate_extension_n`.
    pub frame_rate_extension_n: u8,
    /// `frame_rate_extension_d`.
    pub frame_rate_extension_d: u8,
}

impl SequenceExtension {
    /// Parses the extension after its start code (the identifier first).
    pub fn parse(body: &[u8]) -> Result<SequenceExtension, SyntaxError> {
        let mut b = Bits::new(body, "MPEG-2 sequence extension");
        if b.u(4)? as u8 != extension_id::SEQUENCE {
            return Err(b.invalid("not a sequence extension"));
        }
        let profile_and_level = b.u(8)? as u8;
        let progressive_sequence = b.flag()?;
        let chroma_format = b.u(2)? as u8;
        if chroma_format == 0 {
            return Err(b.invalid("reserved chroma_format 0"));
        }
        let horizontal_size_extension = b.u(2)? as u8;
        let vertical_size_extension = b.u(2)? as u8;
        let bit_rate_extension = b.u(12)? as u16;
        b.skip(1)?; // marker_bit
        Ok(SequenceExtension {
            profile_and_level,
            progressive_sequence,
            chroma_format,
            horizontal_size_extension,
            vertical_size_extension,
            bit_rate_extension,
            vbv_buffer_size_extension: b.u(8)? as u8,
            low_delay: b.flag()?,
            frame_rate_extension_n: b.u(2)? as u8,
            frame_rate_extension_d: b.u(5)? as u8,
        })
    }

    /// The profile as ffprobe names it (ISO/IEC 13818-2 Table 8-2, and
    /// the 4:2:2 profile of §8.2's escape codes), if defined.
    pub fn profile_name(&self) -> Option<&'static str> {
        match self.profile_and_level {
            0x82 | 0x85 => Some("4:2:2"),
            p if p & 0x80 != 0 => None,
            p => match (p >> 4) & 7 {
                1 => Some("High"),
                2 => Some("Spatially Scalable"),
                3 => Some("SNR Scalable"),
                4 => Some("Main"),
                5 => Some("Simple"),
                _ => None,
            },
        }
    }

    /// The level number ffprobe reports (ISO/IEC 13818-2 Table 8-3: 4
    /// High, 6 High 1440, 8 Main, 10 Low); escape codes give theirs (5 for
    /// 4:2:2 profile Main level, 2 for High level).
    pub fn level(&self) -> u8 {
        match self.profile_and_level {
            0x82 => 2,
            0x85 => 5,
            p => p & 0x0f,
        }
    }

    /// The pixel format as ffprobe names it.
    pub fn pix_fmt(&self) -> &'static str {
        match self.chroma_format {
            1 => "yuv420p",
            2 => "yuv422p",
            _ => "yuv444p",
        }
    }
}

/// `group_of_pictures_header()` (ISO/IEC 13818-2 §6.2.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GopHeader {
    /// `time_code` (25 bits: drop_frame_flag, hours, minutes, marker,
    /// seconds, pictures).
    pub time_code: u32,
    /// `closed_gop`.
    pub closed_gop: bool,
    /// `broken_link`.
    pub broken_link: bool,
}

impl GopHeader {
    /// Parses the header after its start code.
    pub fn parse(body: &[u8]) -> Result<GopHeader, SyntaxError> {
        let mut b = Bits::new(body, "MPEG video GOP header");
        Ok(GopHeader {
            time_code: b.u(25)?,
            closed_gop: b.flag()?,
            broken_link: b.flag()?,
        })
    }
}

/// `picture_coding_type` values (ISO/IEC 13818-2 Table 6-12).
pub mod picture_type {
    /// intra-coded (I).
    pub const I: u8 = 1;
    /// predictive-coded (P).
    pub const P: u8 = 2;
    /// bidirectionally-predictive-coded (B).
    pub const B: u8 = 3;
    /// DC intra-coded (D), MPEG-1 only.
    pub const D: u8 = 4;
}

/// `picture_header()` (ISO/IEC 13818-2 §6.2.3, ISO/IEC 11172-2 §2.4.2.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureHeader {
    /// `temporal_reference` (10 bits).
    pub temporal_reference: u16,
    /// `picture_coding_type`.
    pub picture_type: u8,
    /// `vbv_delay`.
    pub vbv_delay: u16,
    /// `full_pel_forward_vector` and `forward_f_code` (P and B pictures).
    pub forward: Option<(bool, u8)>,
    /// `full_pel_backward_vector` and `backward_f_code` (B pictures).
    pub backward: Option<(bool, u8)>,
}

impl PictureHeader {
    /// Parses the header after its start code.
    pub fn parse(body: &[u8]) -> Result<PictureHeader, SyntaxError> {
        let mut b = Bits::new(body, "MPEG video picture header");
        let temporal_reference = b.u(10)? as u16;
        let picture_type = b.u(3)? as u8;
        if !(picture_type::I..=picture_type::D).contains(&picture_type) {
            return Err(b.invalid("forbidden or reserved picture_coding_type"));
        }
        let vbv_delay = b.u(16)? as u16;
        let mut vector = |present: bool| -> Result<Option<(bool, u8)>, SyntaxError> {
            Ok(if present {
                Some((b.flag()?, b.u(3)? as u8))
            } else {
                None
            })
        };
        let forward = vector(picture_type == picture_type::P || picture_type == picture_type::B)?;
        let backward = vector(picture_type == picture_type::B)?;
        Ok(PictureHeader {
            temporal_reference,
            picture_type,
            vbv_delay,
            forward,
            backward,
        })
    }
}

/// `picture_coding_extension()` (ISO/IEC 13818-2 §6.2.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureCodingExtension {
    /// `f_code[s][t]`: forward/backward × horizontal/vertical.
    pub f_code: [[u8; 2]; 2],
    /// `intra_dc_precision`.
    pub intra_dc_precision: u8,
    /// `picture_structure`: 1 top field, 2 bottom field, 3 frame.
    pub picture_structure: u8,
    /// `top_field_first`.
    pub top_field_first: bool,
    /// `frame_pred_frame_dct`.
    pub frame_pred_frame_dct: bool,
    /// `concealment_motion_vectors`.
    pub concealment_motion_vectors: bool,
    /// `q_scale_type`.
    pub q_scale_type: bool,
    /// `intra_vlc_format`.
    pub intra_vlc_format: bool,
    /// `alternate_scan`.
    pub alternate_scan: bool,
    /// `repeat_first_field`.
    pub repeat_first_field: bool,
    /// `chroma_420_type`.
    pub chroma_420_type: bool,
    /// `progressive_frame`.
    pub progressive_frame: bool,
    /// The 20 bits after `composite_display_flag` when it is set:
    /// `v_axis`, `field_sequence`, `sub_carrier`, `burst_amplitude`,
    /// `sub_carrier_phase`.
    pub composite_display: Option<u32>,
}

impl PictureCodingExtension {
    /// Parses the extension after its start code (the identifier first).
    pub fn parse(body: &[u8]) -> Result<PictureCodingExtension, SyntaxError> {
        let mut b = Bits::new(body, "MPEG-2 picture coding extension");
        if b.u(4)? as u8 != extension_id::PICTURE_CODING {
            return Err(b.invalid("not a picture coding extension"));
        }
        let mut f_code = [[0; 2]; 2];
        for code in f_code.iter_mut().flatten() {
            *code = b.u(4)? as u8;
        }
        let intra_dc_precision = b.u(2)? as u8;
        let picture_structure = b.u(2)? as u8;
        if picture_structure == 0 {
            return Err(b.invalid("reserved picture_structure 0"));
        }
        let mut flags = [false; 9];
        for flag in &mut flags {
            *flag = b.flag()?;
        }
        let composite_display = if b.flag()? { Some(b.u(20)?) } else { None };
        let [top_field_first, frame_pred_frame_dct, concealment_motion_vectors, q_scale_type, intra_vlc_format, alternate_scan, repeat_first_field, chroma_420_type, progressive_frame] =
            flags;
        Ok(PictureCodingExtension {
            f_code,
            intra_dc_precision,
            picture_structure,
            top_field_first,
            frame_pred_frame_dct,
            concealment_motion_vectors,
            q_scale_type,
            intra_vlc_format,
            alternate_scan,
            repeat_first_field,
            chroma_420_type,
            progressive_frame,
            composite_display,
        })
    }
}

/// The extension identifier of the extension whose start code is `code`.
pub fn extension_id_at(data: &[u8], code: &StartCode) -> Option<u8> {
    data.get(code.body()).map(|b| b >> 4)
}

/// The access units of an elementary stream: each picture with the
/// sequence, GOP and picture headers (and their extensions and user data)
/// before its slices, as FFmpeg's parser cuts them. A unit starts at the
/// first sequence header, GOP header or picture start code after the
/// previous picture's slices (or at the first start code of the stream);
/// what follows the last slices (a sequence end code) ends the unit.
/// Bytes before the first start code are not part of any unit.
pub fn access_units(data: &[u8]) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut codes = start_codes(data).peekable();
    let mut start = codes.peek().map(|c| c.offset);
    std::iter::from_fn(move || {
        let from = start?;
        let mut sliced = false;
        for c in codes.by_ref() {
            if c.offset < from {
                continue;
            }
            match c.code {
                code if start_code::is_slice(code) => sliced = true,
                start_code::SEQUENCE_HEADER | start_code::GROUP | start_code::PICTURE if sliced => {
                    start = Some(c.offset);
                    return Some(from..c.offset);
                }
                _ => {}
            }
        }
        start = None;
        Some(from..data.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bits::pack;

    /// The sequence header and extension FFmpeg wrote for 160x120 at 25
    /// fps, Main profile at Main level.
    const SEQUENCE: [u8; 22] = [
        0x00, 0x00, 0x01, 0xb3, 0x0a, 0x00, 0x78, 0x23, 0xff, 0xff, 0xe0, 0x28, 0x00, 0x00, 0x01,
        0xb5, 0x14, 0x8a, 0x00, 0x01, 0x00, 0x00,
    ];

    #[test]
    fn sequence_header_and_extension() {
        let codes: Vec<StartCode> = start_codes(&SEQUENCE).collect();
        assert_eq!(codes.len(), 2);
        assert_eq!(
            (codes[1].offset, codes[1].code),
            (12, start_code::EXTENSION)
        );
        assert_eq!(
            extension_id_at(&SEQUENCE, &codes[1]),
            Some(extension_id::SEQUENCE)
        );
        let h = SequenceHeader::parse(&SEQUENCE[4..]).unwrap();
        assert_eq!((h.len, h.vbv_buffer_size_value), (8, 5));
        let e = SequenceExtension::parse(&SEQUENCE[16..]).unwrap();
        assert_eq!((h.width(Some(&e)), h.height(Some(&e))), (160, 120));
        assert_eq!(h.frame_rate(Some(&e)), Rational::new(25, 1));
        assert_eq!((h.aspect_ratio_code, h.bit_rate(None)), (2, 0x3ffff * 400));
        assert_eq!(
            (e.profile_name(), e.level(), e.pix_fmt()),
            (Some("Main"), 8, "yuv420p")
        );
        assert!(e.progressive_sequence && !e.low_delay);
        for cut in 0..8 {
            assert!(
                SequenceHeader::parse(&SEQUENCE[4..4 + cut]).is_err(),
                "{cut}"
            );
        }
    }

    #[test]
    fn quantiser_matrices_extensions_and_limits() {
        // 1920x1080 (extension adds nothing), 30000/1001, both matrices.
        let mut fields = vec![(12, 1920), (12, 1080), (4, 3), (4, 4), (18, 5000), (1, 1)];
        fields.extend([(10, 112), (1, 0), (1, 1)]);
        fields.extend(std::iter::repeat_n((8, 16), 64));
        fields.push((1, 1));
        fields.extend(std::iter::repeat_n((8, 16), 64));
        let body = pack(&fields);
        let h = SequenceHeader::parse(&body).unwrap();
        assert_eq!(h.len, 136);
        assert_eq!(h.frame_rate(None), Rational::new(30000, 1001));
        assert_eq!(h.vbv_buffer_size(None), 112 * 16 * 1024);
        assert!(SequenceHeader::parse(&body[..135]).is_err());
        // A 4:2:2 profile extension with size and rate extensions.
        let ext = pack(&[
            (4, 1),
            (8, 0x85),
            (1, 0),
            (2, 2),
            (2, 1),
            (2, 0),
            (12, 1),
            (1, 1),
            (8, 1),
            (1, 1),
            (2, 1),
            (5, 1),
        ]);
        let e = SequenceExtension::parse(&ext).unwrap();
        assert_eq!(
            (e.profile_name(), e.level(), e.pix_fmt()),
            (Some("4:2:2"), 5, "yuv422p")
        );
        assert_eq!(h.width(Some(&e)), 1920 + 4096);
        assert_eq!(h.bit_rate(Some(&e)), (5000 + (1 << 18)) * 400);
        assert_eq!(h.frame_rate(Some(&e)), Rational::new(30000, 1001));
        assert!(SequenceExtension::parse(&[0x24, 0x8a]).is_err());
        assert!(
            SequenceExtension::parse(&[0x14, 0x88, 0x00]).is_err(),
            "chroma 0"
        );
        let zero = pack(&[(12, 0), (12, 120), (4, 1), (4, 3), (32, 0)]);
        assert!(SequenceHeader::parse(&zero).is_err());
        let reserved_rate = pack(&[(12, 16), (12, 16), (4, 1), (4, 9), (32, 0)]);
        assert_eq!(
            SequenceHeader::parse(&reserved_rate)
                .unwrap()
                .frame_rate(None),
            None
        );
    }

    #[test]
    fn gop_picture_and_coding_extension() {
        let gop = GopHeader::parse(&pack(&[(25, 0x1008), (1, 1), (1, 0)])).unwrap();
        assert_eq!(
            (gop.time_code, gop.closed_gop, gop.broken_link),
            (0x1008, true, false)
        );
        let b = pack(&[
            (10, 5),
            (3, 3),
            (16, 0xffff),
            (1, 0),
            (3, 7),
            (1, 1),
            (3, 2),
        ]);
        let p = PictureHeader::parse(&b).unwrap();
        assert_eq!((p.temporal_reference, p.picture_type), (5, picture_type::B));
        assert_eq!((p.forward, p.backward), (Some((false, 7)), Some((true, 2))));
        let i = PictureHeader::parse(&pack(&[(10, 0), (3, 1), (16, 0)])).unwrap();
        assert_eq!((i.forward, i.backward), (None, None));
        assert!(PictureHeader::parse(&pack(&[(10, 0), (3, 0), (16, 0)])).is_err());
        assert!(PictureHeader::parse(&b[..3]).is_err());
        let ext = pack(&[
            (4, 8),
            (4, 1),
            (4, 2),
            (4, 15),
            (4, 15),
            (2, 1),
            (2, 3),
            (1, 1),
            (1, 0),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 1),
            (20, 0xabcde),
        ]);
        let e = PictureCodingExtension::parse(&ext).unwrap();
        assert_eq!(e.f_code, [[1, 2], [15, 15]]);
        assert_eq!((e.intra_dc_precision, e.picture_structure), (1, 3));
        assert!(e.top_field_first && e.q_scale_type && e.alternate_scan && e.chroma_420_type);
        assert!(!e.progressive_frame && !e.repeat_first_field);
        assert_eq!(e.composite_display, Some(0xabcde));
        assert!(PictureCodingExtension::parse(&ext[..5]).is_err());
        assert!(PictureCodingExtension::parse(&[0x18, 0x00, 0x00, 0x00]).is_err());
    }

    #[test]
    fn streams_split_into_pictures() {
        let sc = |code: u8, body: &[u8]| [&[0, 0, 1, code][..], body].concat();
        let mut stream = vec![0xff, 0x00]; // junk before the first start code
        let parts = [
            sc(0xb3, &[1, 2]),
            sc(0xb5, &[3]),
            sc(0xb8, &[4]),
            sc(0x00, &[5]),
            sc(0x01, &[6]),
            sc(0x02, &[7]),
            sc(0x00, &[8]),
            sc(0xb5, &[0x80]),
            sc(0x01, &[9]),
            sc(0xb8, &[10]),
            sc(0x00, &[11]),
            sc(0x01, &[12]),
            sc(0xb7, &[]),
        ];
        let mut offsets = Vec::new();
        for p in &parts {
            offsets.push(stream.len());
            stream.extend_from_slice(p);
        }
        let units: Vec<Range<usize>> = access_units(&stream).collect();
        assert_eq!(
            units,
            [
                offsets[0]..offsets[6],
                offsets[6]..offsets[9],
                offsets[9]..stream.len()
            ]
        );
        assert_eq!(access_units(&[1, 2, 3]).count(), 0);
        assert_eq!(access_units(&[0, 0, 1]).count(), 0);
        assert_eq!(
            access_units(&[0, 0, 1, 0xb3]).collect::<Vec<_>>(),
            vec![Range { start: 0, end: 4 }]
        );
    }
}
