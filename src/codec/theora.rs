//! Theora syntax readers and the RTP payload format need: the
//! identification header (Theora I specification §6.2: frame and picture
//! sizes, frame rate, aspect ratio, `KFGSHIFT`, pixel format), key frame
//! detection (§7.1) and granule positions as frame counts (§A.2.3).

use bitstream_io::{BigEndian, BitRead, BitReader};

use super::header::HeaderError;
use crate::vocab::Rational;

/// The Theora header packet types (§6.1): identification, comment, setup.
pub const HEADER_TYPES: [u8; 3] = [0x80, 0x81, 0x82];

/// The signature after each header packet type.
pub const MAGIC: &[u8] = b"theora";

/// Chroma subsampling (§6.2 `PF`, Table 6.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PixelFormat {
    /// 4:2:0.
    Yuv420,
    /// 4:2:2.
    Yuv422,
    /// 4:4:4.
    Yuv444,
}

impl PixelFormat {
    /// ffprobe's `pix_fmt`.
    pub fn name(self) -> &'static str {
        match self {
            PixelFormat::Yuv420 => "yuv420p",
            PixelFormat::Yuv422 => "yuv422p",
            PixelFormat::Yuv444 => "yuv444p",
        }
    }

    /// The `sampling` value of the Theora RTP payload format
    /// (draft-barbato-avt-rtp-theora §6.1, RFC 4175 §6.1 names).
    pub fn sampling(self) -> &'static str {
        match self {
            PixelFormat::Yuv420 => "YCbCr-4:2:0",
            PixelFormat::Yuv422 => "YCbCr-4:2:2",
            PixelFormat::Yuv444 => "YCbCr-4:4:4",
        }
    }
}

/// The identification header (§6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identification {
    /// `VREV`: the bitstream revision (3.2.`VREV`).
    pub revision: u8,
    /// Coded frame size in pixels (`FMBW`, `FMBH` macroblocks of 16).
    pub frame_width: u32,
    /// Coded frame height in pixels.
    pub frame_height: u32,
    /// Picture region width (`PICW`).
    pub picture_width: u32,
    /// Picture region height (`PICH`).
    pub picture_height: u32,
    /// Picture region offset from the left (`PICX`).
    pub picture_x: u32,
    /// Picture region offset from the bottom (`PICY`).
    pub picture_y: u32,
    /// Frames per second (`FRN`/`FRD`).
    pub frame_rate: Rational,
    /// Pixel aspect ratio (`PARN`/`PARD`); `None` when unspecified (0).
    pub pixel_aspect: Option<Rational>,
    /// `NOMBR`: nominal bit rate in bits per second, 0 when unspecified.
    pub bit_rate: u32,
    /// `KFGSHIFT`: bits of a granule position counting frames since the
    /// last key frame.
    pub keyframe_shift: u8,
    /// `PF`.
    pub pixel_format: PixelFormat,
}

impl Identification {
    /// Parses the 42-byte identification header packet.
    pub fn parse(packet: &[u8]) -> Result<Identification, HeaderError> {
        if packet.len() < 42 {
            return Err(HeaderError::at(
                packet.len(),
                "Theora identification header cut short",
            ));
        }
        if packet[0] != HEADER_TYPES[0] || &packet[1..7] != MAGIC {
            return Err(HeaderError::at(0, "not a Theora identification header"));
        }
        if packet[7] != 3 || packet[8] != 2 {
            return Err(HeaderError::at(7, "Theora version other than 3.2"));
        }
        let mut r = BitReader::endian(&packet[9..42], BigEndian);
        // 33 bytes are there: every read below succeeds.
        let mut bits = |n: u32| -> u32 { r.read_var(n).unwrap_or_default() };
        let revision = bits(8) as u8;
        let (frame_width, frame_height) = (bits(16) * 16, bits(16) * 16);
        let (picture_width, picture_height) = (bits(24), bits(24));
        let (picture_x, picture_y) = (bits(8), bits(8));
        let (frn, frd) = (bits(32), bits(32));
        let (parn, pard) = (bits(24), bits(24));
        let _color_space = bits(8);
        let bit_rate = bits(24);
        let _quality = bits(6);
        let keyframe_shift = bits(5) as u8;
        let pf = bits(2);
        let reserved = bits(3);
        if frame_width == 0 || frame_height == 0 {
            return Err(HeaderError::at(10, "Theora frame of 0 macroblocks"));
        }
        if picture_width > frame_width || picture_height > frame_height {
            return Err(HeaderError::at(14, "Theora picture larger than its frame"));
        }
        if picture_x > frame_width - picture_width || picture_y > frame_height - picture_height {
            return Err(HeaderError::at(
                20,
                "Theora picture region outside its frame",
            ));
        }
        let frame_rate =
            Rational::new(frn, frd).ok_or_else(|| HeaderError::at(22, "Theora frame rate of 0"))?;
        let pixel_format = match pf {
            0 => PixelFormat::Yuv420,
            2 => PixelFormat::Yuv422,
            3 => PixelFormat::Yuv444,
            _ => return Err(HeaderError::at(41, "reserved Theora pixel format")),
        };
        if reserved != 0 {
            return Err(HeaderError::at(41, "Theora reserved bits set"));
        }
        Ok(Identification {
            revision,
            frame_width,
            frame_height,
            picture_width,
            picture_height,
            picture_x,
            picture_y,
            frame_rate,
            pixel_aspect: Rational::new(parn, pard),
            bit_rate,
            keyframe_shift,
            pixel_format,
        })
    }

    /// The picture size as FFmpeg reports it: the picture region when it
    /// only crops less than a macroblock off the right and top of the frame
    /// (the usual encoder padding), the whole coded frame otherwise.
    pub fn display_size(&self) -> (u32, u32) {
        let cropped = self.picture_width + 16 > self.frame_width
            && self.picture_height + 16 > self.frame_height
            && self.picture_x == 0
            && self.picture_y == self.frame_height - self.picture_height;
        if cropped {
            (self.picture_width, self.picture_height)
        } else {
            (self.frame_width, self.frame_height)
        }
    }

    /// Frames decoded up to and including the frame of granule position
    /// `granule` (§A.2.3: key frame number shifted by `KFGSHIFT`, plus the
    /// frames since it; from revision 3.2.1 on the first frame is 1, before
    /// it 0).
    pub fn frames_at(&self, granule: u64) -> u64 {
        let shift = u32::from(self.keyframe_shift);
        let (key, delta) = (
            granule.checked_shr(shift).unwrap_or(0),
            granule & ((1u64 << shift) - 1),
        );
        key + delta + u64::from(self.revision == 0)
    }
}

/// Whether data packet `packet` is a key frame (§7.1: a data packet starts
/// with a 0 bit, then frame type 0 for intra frames). An empty packet
/// repeats the previous frame and is not one.
pub fn is_keyframe(packet: &[u8]) -> bool {
    packet.first().is_some_and(|b| b & 0xc0 == 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An identification header of a 176x144 picture in a 176x144 frame
    /// at 25 fps, 4:2:0, KFGSHIFT 6, revision 1.
    pub(crate) fn identification() -> Vec<u8> {
        let mut p = vec![0x80];
        p.extend_from_slice(MAGIC);
        p.extend_from_slice(&[3, 2, 1]);
        p.extend_from_slice(&[0, 11, 0, 9]); // FMBW, FMBH
        p.extend_from_slice(&[0, 0, 176, 0, 0, 144, 0, 0]); // PICW, PICH, PICX, PICY
        p.extend_from_slice(&25u32.to_be_bytes());
        p.extend_from_slice(&1u32.to_be_bytes());
        p.extend_from_slice(&[0, 0, 1, 0, 0, 1, 0]); // PARN, PARD, CS
        p.extend_from_slice(&[0, 0, 0]); // NOMBR
                                         // QUAL 6 bits (0), KFGSHIFT 5 (6), PF 2 (0), reserved 3 (0).
        let tail: u16 = 6 << 5;
        p.extend_from_slice(&tail.to_be_bytes());
        p
    }

    #[test]
    fn identification_fields() {
        let id = Identification::parse(&identification()).unwrap();
        assert_eq!(id.display_size(), (176, 144));
        assert_eq!(id.frame_rate, Rational { num: 25, den: 1 });
        assert_eq!((id.keyframe_shift, id.pixel_format.name()), (6, "yuv420p"));
        assert_eq!(id.pixel_aspect, Rational::new(1, 1));
        // Key frame number 2, then 3 frames after it: frame 5 (from 1).
        assert_eq!(id.frames_at((2 << 6) | 3), 5);
        assert_eq!(Identification { revision: 0, ..id }.frames_at(0), 1);
    }

    #[test]
    fn picture_regions() {
        let mut p = identification();
        p[14..17].copy_from_slice(&[0, 0, 170]); // PICW 170
        p[17..20].copy_from_slice(&[0, 0, 140]); // PICH 140
                                                 // PICY 4 (from the bottom): the picture at the top left, padding
                                                 // right and below, as encoders pad.
        p[21] = 4;
        assert_eq!(
            Identification::parse(&p).unwrap().display_size(),
            (170, 140)
        );
        p[21] = 0; // at the bottom: FFmpeg shows the whole frame
        assert_eq!(
            Identification::parse(&p).unwrap().display_size(),
            (176, 144)
        );
        p[20] = 7; // PICX 7 > 176 - 170
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 20);
        let mut p = identification();
        p[14..17].copy_from_slice(&[0, 0, 177]);
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 14);
    }

    #[test]
    fn bad_headers() {
        let good = identification();
        assert!(Identification::parse(&good[..41]).is_err());
        let mut p = good.clone();
        p[8] = 1;
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 7);
        let mut p = good.clone();
        p[22..26].copy_from_slice(&[0; 4]);
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 22);
        let mut p = good.clone();
        p[41] |= 1 << 3; // PF 1
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 41);
        let mut p = good;
        p[10..12].copy_from_slice(&[0, 0]);
        assert_eq!(Identification::parse(&p).unwrap_err().offset, 10);
    }

    #[test]
    fn key_frames() {
        assert!(is_keyframe(&[0x00, 1]));
        assert!(!is_keyframe(&[0x40, 1]));
        assert!(!is_keyframe(&[0x80]));
        assert!(!is_keyframe(&[]));
    }
}
