//! VP8 frame headers (RFC 6386 §9.1, §19.1): the 3-byte frame tag every
//! frame starts with, and the start code and dimensions that follow it in
//! a key frame.

use super::bits::SyntaxError;

/// The start code after a key frame's tag (RFC 6386 §9.1).
pub const KEY_FRAME_START_CODE: [u8; 3] = [0x9d, 0x01, 0x2a];

/// The uncompressed data chunk at the start of a VP8 frame (RFC 6386 §9.1,
/// §19.1 `frame_tag`, plus the key frame fields).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// `key_frame` is 0 in the bitstream for a key frame.
    pub key_frame: bool,
    /// `version`: reconstruction and loop filter type, 0–3 defined (RFC
    /// 6386 §9.1; decoders treat higher values as 3); ffprobe reports it as
    /// the profile.
    pub version: u8,
    /// Whether the frame is displayed (an invisible frame only updates
    /// references, e.g. an alt-ref frame).
    pub show_frame: bool,
    /// `first_part_size`: bytes of the first partition after the header.
    pub first_partition_size: u32,
    /// Width, height and their 2-bit upscaling codes; key frames only.
    pub dimensions: Option<Dimensions>,
}

/// A key frame's picture size (RFC 6386 §9.1): 14 bits each, and a 2-bit
/// scale applied by the application on display (not by the decoder).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u16,
    /// `horizontal_scale`: 0 none, 1 5/4, 2 5/3, 3 2.
    pub horizontal_scale: u8,
    /// Height in pixels.
    pub height: u16,
    /// `vertical_scale`, as `horizontal_scale`.
    pub vertical_scale: u8,
}

const WHAT: &str = "VP8 frame header";

impl FrameHeader {
    /// Bytes of the header: the frame tag, and 7 more in a key frame.
    pub fn len(&self) -> usize {
        if self.key_frame {
            10
        } else {
            3
        }
    }

    /// Never true: a header has at least its 3-byte tag.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Parses the header at the start of a frame.
    pub fn parse(frame: &[u8]) -> Result<FrameHeader, SyntaxError> {
        let truncated = |offset| SyntaxError::Truncated { what: WHAT, offset };
        let &[b0, b1, b2, ref rest @ ..] = frame else {
            return Err(truncated(frame.len()));
        };
        let tag = u32::from_le_bytes([b0, b1, b2, 0]);
        let key_frame = tag & 1 == 0;
        let version = ((tag >> 1) & 7) as u8;
        let mut header = FrameHeader {
            key_frame,
            version,
            show_frame: tag & 0x10 != 0,
            first_partition_size: tag >> 5,
            dimensions: None,
        };
        if key_frame {
            let &[s0, s1, s2, w0, w1, h0, h1, ..] = rest else {
                return Err(truncated(frame.len()));
            };
            if [s0, s1, s2] != KEY_FRAME_START_CODE {
                return Err(SyntaxError::Invalid {
                    what: WHAT,
                    problem: "key frame without the 9d 01 2a start code",
                    offset: 3,
                });
            }
            let (w, h) = (u16::from_le_bytes([w0, w1]), u16::from_le_bytes([h0, h1]));
            header.dimensions = Some(Dimensions {
                width: w & 0x3fff,
                horizontal_scale: (w >> 14) as u8,
                height: h & 0x3fff,
                vertical_scale: (h >> 14) as u8,
            });
        }
        Ok(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_inter_frames() {
        // The first frame libvpx wrote for a 160x120 stream, and a 2x-scaled
        // 640x480 key frame with version 1, invisible.
        let key = [
            0x50, 0x3a, 0x00, 0x9d, 0x01, 0x2a, 0xa0, 0x00, 0x78, 0x00, 0x01,
        ];
        let h = FrameHeader::parse(&key).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                key_frame: true,
                version: 0,
                show_frame: true,
                first_partition_size: 0x3a50 >> 5,
                dimensions: Some(Dimensions {
                    width: 160,
                    horizontal_scale: 0,
                    height: 120,
                    vertical_scale: 0
                }),
            }
        );
        assert_eq!(h.len(), 10);
        let scaled = [0x02, 0, 0, 0x9d, 0x01, 0x2a, 0x80, 0xc2, 0xe0, 0x41];
        let h = FrameHeader::parse(&scaled).unwrap();
        assert_eq!((h.version, h.show_frame), (1, false));
        let d = h.dimensions.unwrap();
        assert_eq!((d.width, d.horizontal_scale), (640, 3));
        assert_eq!((d.height, d.vertical_scale), (480, 1));
        let inter = FrameHeader::parse(&[0x31, 0x02, 0x00]).unwrap();
        assert!(!inter.key_frame && inter.show_frame && inter.dimensions.is_none());
        assert_eq!((inter.first_partition_size, inter.len()), (0x231 >> 5, 3));
    }

    #[test]
    fn bad_headers_are_refused() {
        assert!(matches!(
            FrameHeader::parse(&[0x50, 0x3a]),
            Err(SyntaxError::Truncated { offset: 2, .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&[0x50, 0x3a, 0, 0x9d, 0x01, 0x2a, 0xa0]),
            Err(SyntaxError::Truncated { .. })
        ));
        assert!(matches!(
            FrameHeader::parse(&[0x50, 0x3a, 0, 0x9d, 0x01, 0x2b, 0xa0, 0, 0x78, 0]),
            Err(SyntaxError::Invalid { offset: 3, .. })
        ));
        assert_eq!(FrameHeader::parse(&[0x0f, 0, 0]).unwrap().version, 7);
    }
}
