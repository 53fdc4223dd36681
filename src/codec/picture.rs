//! Facts about decoded pictures shared by H.264 and H.265, named as
//! ffprobe names them: the pixel format (`pix_fmt`) and the sample aspect
//! ratio of the VUI (ITU-T H.264 and H.265 Annex E, Table E-1 in both).

use crate::vocab::Rational;

/// `aspect_ratio_idc` meaning `sar_width`/`sar_height` follow (Table E-1).
pub const EXTENDED_SAR: u8 = 255;

/// The sample aspect ratio of `aspect_ratio_idc` (Table E-1), with
/// `extended` the `sar_width`/`sar_height` of [`EXTENDED_SAR`]; reduced, as
/// ffprobe prints it. `None` for "unspecified" (0, a reserved value, or a
/// zero extended term).
pub fn sample_aspect_ratio(aspect_ratio_idc: u8, extended: (u16, u16)) -> Option<Rational> {
    const TABLE_E1: [(u16, u16); 16] = [
        (1, 1),
        (12, 11),
        (10, 11),
        (16, 11),
        (40, 33),
        (24, 11),
        (20, 11),
        (32, 11),
        (80, 33),
        (18, 11),
        (15, 11),
        (64, 33),
        (160, 99),
        (4, 3),
        (3, 2),
        (2, 1),
    ];
    let (w, h) = match aspect_ratio_idc {
        EXTENDED_SAR => extended,
        1..=16 => TABLE_E1[usize::from(aspect_ratio_idc - 1)],
        _ => return None,
    };
    Rational::reduced(u64::from(w), u64::from(h))
}

/// How a decoder lays out the pictures of a stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureLayout {
    /// `chroma_format_idc`: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4.
    pub chroma_format_idc: u8,
    /// `BitDepthY`.
    pub bit_depth: u8,
    /// 4:4:4 coded as GBR (`matrix_coeffs` 0, Table E-5).
    pub rgb: bool,
    /// `video_full_range_flag`.
    pub full_range: bool,
}

/// Which decoder's conventions [`PictureLayout::pix_fmt`] follows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// FFmpeg's h264: monochrome is output as 4:2:0, and 8-bit full range
    /// as the `yuvj` formats.
    H264,
    /// FFmpeg's hevc: monochrome as `gray`, no `yuvj` formats.
    Hevc,
}

impl PictureLayout {
    /// FFmpeg's name for the decoded pictures' pixel format (ffprobe's
    /// `pix_fmt`, as its h264 and hevc decoders choose it); `None` for a
    /// layout they do not output.
    pub fn pix_fmt(&self, decoder: Decoder) -> Option<&'static str> {
        let chroma = match (decoder, self.chroma_format_idc) {
            (Decoder::H264, 0) => 1,
            (_, chroma) => chroma,
        };
        let jpeg = decoder == Decoder::H264 && self.full_range && self.bit_depth == 8;
        let names = match (chroma, self.rgb, jpeg) {
            (1, _, true) => return Some("yuvj420p"),
            (2, _, true) => return Some("yuvj422p"),
            (3, false, true) => return Some("yuvj444p"),
            (0, ..) => ["gray", "gray9le", "gray10le", "gray12le", "gray14le"],
            (1, ..) => [
                "yuv420p",
                "yuv420p9le",
                "yuv420p10le",
                "yuv420p12le",
                "yuv420p14le",
            ],
            (2, ..) => [
                "yuv422p",
                "yuv422p9le",
                "yuv422p10le",
                "yuv422p12le",
                "yuv422p14le",
            ],
            (3, true, _) => ["gbrp", "gbrp9le", "gbrp10le", "gbrp12le", "gbrp14le"],
            (3, false, _) => [
                "yuv444p",
                "yuv444p9le",
                "yuv444p10le",
                "yuv444p12le",
                "yuv444p14le",
            ],
            _ => return None,
        };
        let slot = match self.bit_depth {
            8 => 0,
            9 => 1,
            10 => 2,
            12 => 3,
            14 => 4,
            _ => return None,
        };
        Some(names[slot])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_e1_and_extended_ratios() {
        let sar = |idc, ext| sample_aspect_ratio(idc, ext).map(|r| (r.num, r.den));
        assert_eq!(sar(1, (0, 0)), Some((1, 1)));
        assert_eq!(sar(4, (0, 0)), Some((16, 11)));
        assert_eq!(sar(16, (0, 0)), Some((2, 1)));
        assert_eq!(sar(EXTENDED_SAR, (32, 22)), Some((16, 11)));
        assert_eq!(sar(EXTENDED_SAR, (0, 11)), None);
        assert_eq!(sar(0, (0, 0)), None);
        assert_eq!(sar(17, (1, 1)), None);
    }

    #[test]
    fn pixel_formats_as_ffmpeg_names_them() {
        let layout = |chroma_format_idc, bit_depth, rgb, full_range| PictureLayout {
            chroma_format_idc,
            bit_depth,
            rgb,
            full_range,
        };
        let fmt = |l: PictureLayout, d| l.pix_fmt(d);
        assert_eq!(
            fmt(layout(1, 8, false, false), Decoder::H264),
            Some("yuv420p")
        );
        assert_eq!(
            fmt(layout(1, 8, false, true), Decoder::H264),
            Some("yuvj420p")
        );
        assert_eq!(
            fmt(layout(1, 8, false, true), Decoder::Hevc),
            Some("yuv420p")
        );
        assert_eq!(
            fmt(layout(0, 8, false, true), Decoder::H264),
            Some("yuvj420p")
        );
        assert_eq!(fmt(layout(0, 8, false, true), Decoder::Hevc), Some("gray"));
        assert_eq!(
            fmt(layout(1, 10, false, true), Decoder::H264),
            Some("yuv420p10le")
        );
        assert_eq!(
            fmt(layout(2, 10, false, false), Decoder::Hevc),
            Some("yuv422p10le")
        );
        assert_eq!(fmt(layout(3, 8, true, false), Decoder::Hevc), Some("gbrp"));
        assert_eq!(
            fmt(layout(3, 12, false, false), Decoder::H264),
            Some("yuv444p12le")
        );
        assert_eq!(fmt(layout(1, 11, false, false), Decoder::H264), None);
        assert_eq!(fmt(layout(4, 8, false, false), Decoder::Hevc), None);
    }
}
