//! VP9 frame syntax ("VP9 Bitstream & Decoding Process Specification"
//! v0.6): the uncompressed header of §6.2 up to the frame size, the
//! superframe index of Annex B that packs a hidden frame with the frame
//! shown after it, and the codec configuration that containers carry.

use smallvec::SmallVec;

use super::bits::{Bits, SyntaxError};

/// `frame_sync_code` (§6.2.1).
const SYNC_CODE: u32 = 0x49_83_42;

/// `color_space` CS_RGB (§7.2.2).
const CS_RGB: u8 = 7;

/// The start of a frame's uncompressed header (§6.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// `Profile` (0–3).
    pub profile: u8,
    /// What the frame is.
    pub kind: FrameKind,
}

/// A frame that shows an already decoded one, or one that codes a picture.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    /// `show_existing_frame`: display reference slot `frame_to_show_map_idx`.
    ShowExisting(u8),
    /// A coded frame.
    Coded(CodedFrame),
}

/// The header fields of a coded frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodedFrame {
    /// `frame_type` is KEY_FRAME.
    pub key_frame: bool,
    /// `intra_only`: coded without inter prediction, but not a key frame.
    pub intra_only: bool,
    /// `show_frame`: displayed once decoded.
    pub show_frame: bool,
    /// `error_resilient_mode`.
    pub error_resilient: bool,
    /// Bit depth and colour; in key frames, and intra-only frames of
    /// profiles above 0 (profile 0's are 8-bit 4:2:0 BT.601).
    pub color: Option<ColorConfig>,
    /// `frame_width_minus_1 + 1` and `frame_height_minus_1 + 1`, in key and
    /// intra-only frames (inter frames may copy a reference's size).
    pub size: Option<(u32, u32)>,
}

impl CodedFrame {
    /// Whether the frame uses no inter prediction (a key or intra-only frame).
    pub fn is_intra(&self) -> bool {
        self.key_frame || self.intra_only
    }
}

/// `color_config()` (§6.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ColorConfig {
    /// `BitDepth`: 8, 10 or 12.
    pub bit_depth: u8,
    /// `color_space` (§7.2.2: 0 unknown, 1 BT.601, 2 BT.709, ... 7 RGB).
    pub color_space: u8,
    /// `color_range`: full range.
    pub full_range: bool,
    /// `subsampling_x`.
    pub subsampling_x: bool,
    /// `subsampling_y`.
    pub subsampling_y: bool,
}

impl ColorConfig {
    /// The decoded picture's pixel format as ffprobe names it (`yuv420p`,
    /// `yuv422p10le`, `gbrp`...).
    pub fn pix_fmt(&self) -> &'static str {
        let layout = match (self.color_space, self.subsampling_x, self.subsampling_y) {
            (CS_RGB, _, _) => 0,
            (_, true, true) => 1,
            (_, true, false) => 2,
            (_, false, true) => 3,
            (_, false, false) => 4,
        };
        const NAMES: [[&str; 3]; 5] = [
            ["gbrp", "gbrp10le", "gbrp12le"],
            ["yuv420p", "yuv420p10le", "yuv420p12le"],
            ["yuv422p", "yuv422p10le", "yuv422p12le"],
            ["yuv440p", "yuv440p10le", "yuv440p12le"],
            ["yuv444p", "yuv444p10le", "yuv444p12le"],
        ];
        NAMES[layout][match self.bit_depth {
            8 => 0,
            10 => 1,
            _ => 2,
        }]
    }
}

const WHAT: &str = "VP9 uncompressed header";

impl FrameHeader {
    /// Parses the uncompressed header at the start of one frame (not a
    /// superframe: split it first with [`superframe_frames`]).
    pub fn parse(frame: &[u8]) -> Result<FrameHeader, SyntaxError> {
        let mut b = Bits::new(frame, WHAT);
        if b.u(2)? != 2 {
            return Err(b.invalid("frame_marker is not 2"));
        }
        let low = b.u(1)?;
        let profile = (b.u(1)? << 1 | low) as u8;
        if profile == 3 && b.flag()? {
            return Err(b.invalid("reserved_zero bit set"));
        }
        if b.flag()? {
            let index = b.u(3)? as u8;
            return Ok(FrameHeader {
                profile,
                kind: FrameKind::ShowExisting(index),
            });
        }
        let key_frame = !b.flag()?;
        let show_frame = b.flag()?;
        let error_resilient = b.flag()?;
        let mut frame = CodedFrame {
            key_frame,
            intra_only: false,
            show_frame,
            error_resilient,
            color: None,
            size: None,
        };
        if !key_frame {
            frame.intra_only = !show_frame && b.flag()?;
            if !error_resilient {
                b.skip(2)?; // reset_frame_context
            }
        }
        if frame.is_intra() {
            if b.u(24)? != SYNC_CODE {
                return Err(b.invalid("frame_sync_code is not 49 83 42"));
            }
            if key_frame || profile > 0 {
                frame.color = Some(color_config(&mut b, profile)?);
            } else {
                frame.color = Some(ColorConfig {
                    bit_depth: 8,
                    color_space: 1,
                    full_range: false,
                    subsampling_x: true,
                    subsampling_y: true,
                });
            }
            if frame.intra_only {
                b.skip(8)?; // refresh_frame_flags
            }
            let width = b.u(16)? + 1;
            let height = b.u(16)? + 1;
            frame.size = Some((width, height));
        }
        Ok(FrameHeader {
            profile,
            kind: FrameKind::Coded(frame),
        })
    }
}

/// `color_config()` (§6.2.2).
fn color_config(b: &mut Bits<'_>, profile: u8) -> Result<ColorConfig, SyntaxError> {
    let bit_depth = if profile >= 2 {
        if b.flag()? {
            12
        } else {
            10
        }
    } else {
        8
    };
    let color_space = b.u(3)? as u8;
    let four_four_four_capable = profile == 1 || profile == 3;
    let (full_range, subsampling_x, subsampling_y) = if color_space != CS_RGB {
        let full_range = b.flag()?;
        if four_four_four_capable {
            let (x, y) = (b.flag()?, b.flag()?);
            b.skip(1)?; // reserved_zero
            (full_range, x, y)
        } else {
            (full_range, true, true)
        }
    } else {
        if !four_four_four_capable {
            return Err(b.invalid("RGB in profile 0 or 2"));
        }
        b.skip(1)?; // reserved_zero
        (true, false, false)
    };
    Ok(ColorConfig {
        bit_depth,
        color_space,
        full_range,
        subsampling_x,
        subsampling_y,
    })
}

/// The frames of a chunk of VP9 data as containers store it: the frames
/// listed by its superframe index (Annex B; zero-size entries skipped), or
/// the whole chunk when it has no index. An index whose sizes overrun the
/// chunk is an error; a last byte that looks like a marker without the
/// matching first byte of an index is frame data, as libvpx reads it.
pub fn superframe_frames(data: &[u8]) -> Result<SmallVec<[&[u8]; 4]>, SyntaxError> {
    let whole = || Ok(SmallVec::from_slice(&[data]));
    let Some(&marker) = data.last() else {
        return whole();
    };
    if marker & 0xe0 != 0xc0 {
        return whole();
    }
    let frames = usize::from(marker & 7) + 1;
    let size_bytes = usize::from((marker >> 3) & 3) + 1;
    let index_len = 2 + size_bytes * frames;
    let Some(index_start) = data.len().checked_sub(index_len) else {
        return whole();
    };
    if data[index_start] != marker {
        return whole();
    }
    let mut out = SmallVec::new();
    let mut pos = 0usize;
    for entry in data[index_start + 1..data.len() - 1].chunks_exact(size_bytes) {
        let size = entry
            .iter()
            .rev()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
        if size > index_start - pos {
            return Err(SyntaxError::Invalid {
                what: "VP9 superframe index",
                problem: "frame sizes overrun the superframe",
                offset: index_start,
            });
        }
        if size > 0 {
            out.push(&data[pos..pos + size]);
        }
        pos += size;
    }
    Ok(out)
}

/// The profile named by a track's codec configuration, in either form
/// containers carry: the ISO BMFF `vpcC` payload (VP Codec ISO Media File
/// Format Binding §2.2: version 1, 3 flag bytes, then `profile`) or the
/// Matroska CodecPrivate of WebM's "VP9 Codec Feature Metadata" (ID,
/// length, value triples; ID 1 is the profile).
pub fn config_profile(extradata: &[u8]) -> Option<u8> {
    match extradata {
        [1, 0, 0, 0, profile, ..] => Some(*profile).filter(|&p| p <= 3),
        _ => {
            let mut rest = extradata;
            while let [id, len, tail @ ..] = rest {
                let value = tail.get(..usize::from(*len))?;
                if *id == 1 && *len == 1 {
                    return Some(value[0]).filter(|&p| p <= 3);
                }
                rest = &tail[usize::from(*len)..];
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bits::pack;

    /// A key frame header: profile, then the fields after the sync code.
    fn key_frame(profile: u8, color: &[(u32, u32)], width: u32, height: u32) -> Vec<u8> {
        let mut bits: Vec<(u32, u32)> = vec![(2, 2), (1, u32::from(profile & 1))];
        bits.push((1, u32::from(profile >> 1)));
        if profile == 3 {
            bits.push((1, 0));
        }
        // show_existing_frame, frame_type KEY, show_frame, error_resilient.
        bits.extend([(1, 0), (1, 0), (1, 1), (1, 0), (24, SYNC_CODE)]);
        bits.extend_from_slice(color);
        bits.extend([(16, width - 1), (16, height - 1), (1, 0)]);
        pack(&bits)
    }

    #[test]
    fn key_frames_of_each_profile() {
        // Profile 0: BT.709 limited range, 8-bit 4:2:0.
        let h = FrameHeader::parse(&key_frame(0, &[(3, 2), (1, 0)], 160, 120)).unwrap();
        let FrameKind::Coded(f) = h.kind else {
            panic!("{h:?}")
        };
        assert!(f.key_frame && f.show_frame && f.is_intra());
        assert_eq!((h.profile, f.size), (0, Some((160, 120))));
        assert_eq!(f.color.unwrap().pix_fmt(), "yuv420p");
        // Profile 1: 4:4:4; profile 1 RGB; profile 2 12-bit; profile 3
        // 10-bit 4:2:2.
        type Case = (u8, &'static [(u32, u32)], &'static str);
        let cases: [Case; 4] = [
            (1, &[(3, 1), (1, 1), (1, 0), (1, 0), (1, 0)], "yuv444p"),
            (1, &[(3, 7), (1, 0)], "gbrp"),
            (2, &[(1, 1), (3, 2), (1, 0)], "yuv420p12le"),
            (
                3,
                &[(1, 0), (3, 2), (1, 0), (1, 1), (1, 0), (1, 0)],
                "yuv422p10le",
            ),
        ];
        for (profile, color, pix_fmt) in cases {
            let h = FrameHeader::parse(&key_frame(profile, color, 1920, 1080)).unwrap();
            let FrameKind::Coded(f) = h.kind else {
                panic!("{h:?}")
            };
            assert_eq!(h.profile, profile);
            assert_eq!(f.color.unwrap().pix_fmt(), pix_fmt, "profile {profile}");
            assert_eq!(f.size, Some((1920, 1080)));
        }
    }

    #[test]
    fn inter_intra_only_and_show_existing_frames() {
        // Inter frame, shown: nothing after reset_frame_context is read.
        let inter = pack(&[
            (2, 2),
            (1, 0),
            (1, 0),
            (1, 0),
            (1, 1),
            (1, 1),
            (1, 0),
            (2, 0),
        ]);
        let FrameKind::Coded(f) = FrameHeader::parse(&inter).unwrap().kind else {
            panic!()
        };
        assert!(!f.is_intra() && f.size.is_none() && f.color.is_none());
        // Hidden intra-only frame of profile 0: sync code, refresh flags, size.
        let intra = pack(&[
            (2, 2),
            (2, 0),
            (1, 0),
            (1, 1),
            (1, 0),
            (1, 0),
            (1, 1),
            (2, 0),
            (24, SYNC_CODE),
            (8, 0xff),
            (16, 351),
            (16, 287),
        ]);
        let FrameKind::Coded(f) = FrameHeader::parse(&intra).unwrap().kind else {
            panic!()
        };
        assert!(f.intra_only && !f.show_frame && !f.key_frame);
        assert_eq!(f.size, Some((352, 288)));
        assert_eq!(f.color.unwrap().bit_depth, 8);
        let existing = pack(&[(2, 2), (2, 0), (1, 1), (3, 5)]);
        assert_eq!(
            FrameHeader::parse(&existing).unwrap().kind,
            FrameKind::ShowExisting(5)
        );
    }

    #[test]
    fn bad_headers_are_refused() {
        assert!(matches!(
            FrameHeader::parse(&[0x40]),
            Err(SyntaxError::Invalid { offset: 0, .. })
        ));
        let key = key_frame(0, &[(3, 2), (1, 0)], 160, 120);
        for cut in 0..key.len() - 1 {
            assert!(FrameHeader::parse(&key[..cut]).is_err(), "{cut}");
        }
        let mut bad_sync = key.clone();
        bad_sync[1] ^= 0x10;
        assert!(matches!(
            FrameHeader::parse(&bad_sync),
            Err(SyntaxError::Invalid { .. })
        ));
        // RGB needs profile 1 or 3.
        assert!(FrameHeader::parse(&key_frame(0, &[(3, 7), (1, 0)], 16, 16)).is_err());
    }

    #[test]
    fn superframes_split_into_frames() {
        // Two frames of 3 and 2 bytes, sizes on 2 bytes: marker 0b110_01_001.
        let mut data = vec![1, 1, 1, 2, 2];
        data.extend([0xc9, 3, 0, 2, 0, 0xc9]);
        let frames = superframe_frames(&data).unwrap();
        assert_eq!(frames.as_slice(), &[&[1u8, 1, 1][..], &[2, 2]]);
        // No index, and a marker-like last byte without its pair.
        assert_eq!(
            superframe_frames(&[5, 6]).unwrap().as_slice(),
            &[&[5u8, 6][..]]
        );
        assert_eq!(superframe_frames(&[0xc0]).unwrap().len(), 1);
        assert_eq!(superframe_frames(&[7, 0xc1, 0xc0]).unwrap().len(), 1);
        assert_eq!(superframe_frames(&[]).unwrap().as_slice(), &[&[][..]]);
        // Sizes past the data.
        let overrun = [1, 2, 0xc1, 2, 1, 0xc1];
        assert!(matches!(
            superframe_frames(&overrun),
            Err(SyntaxError::Invalid { offset: 2, .. })
        ));
        // A 4-byte size near usize::MAX does not overflow.
        let huge = [0xd8, 0xff, 0xff, 0xff, 0xff, 0xd8];
        assert!(superframe_frames(&huge).is_err());
    }

    #[test]
    fn profiles_from_either_configuration_form() {
        assert_eq!(
            config_profile(&[1, 0, 0, 0, 2, 31, 0x82, 1, 1, 1, 0, 0]),
            Some(2)
        );
        assert_eq!(config_profile(&[2, 1, 30, 1, 1, 1]), Some(1));
        assert_eq!(config_profile(&[2, 1, 30, 3, 1, 8]), None);
        assert_eq!(config_profile(&[1, 5, 0]), None);
        assert_eq!(config_profile(&[1, 1]), None);
        assert_eq!(config_profile(&[]), None);
    }
}
