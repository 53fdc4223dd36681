//! MPEG-1/2/2.5 audio frame headers (ISO/IEC 11172-3 §2.4.1.3, ISO/IEC
//! 13818-3 §2.4.1.3; MPEG-2.5 is the common Fraunhofer extension).

/// MPEG audio version, from the ID bits (ISO/IEC 11172-3 §2.4.2.3,
/// ISO/IEC 13818-3 §2.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// ISO/IEC 11172-3.
    Mpeg1,
    /// ISO/IEC 13818-3 low sampling frequencies.
    Mpeg2,
    /// The unofficial 8/11.025/12 kHz extension.
    Mpeg25,
}

/// One parsed 4-byte frame header (ISO/IEC 11172-3 §2.4.1.3, §2.4.2.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// MPEG version.
    pub version: Version,
    /// Layer 1, 2 or 3.
    pub layer: u8,
    /// A 16-bit CRC follows the header.
    pub crc: bool,
    /// Bit rate in bits per second (never 0: free format is rejected).
    pub bit_rate: u32,
    /// Sampling frequency in Hz.
    pub sample_rate: u32,
    /// One padding slot is present.
    pub padding: bool,
    /// 1 for single-channel mode, 2 otherwise.
    pub channels: u16,
    /// Total frame length in bytes, header included.
    pub frame_len: usize,
    /// PCM samples per channel the frame decodes to.
    pub samples: u32,
}

const BITRATES_V1: [[u16; 15]; 3] = [
    [
        0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
    ],
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ],
    [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ],
];
const BITRATES_V2: [[u16; 15]; 3] = [
    [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
    ],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
];
const SAMPLE_RATES: [u32; 3] = [44100, 48000, 32000];

/// Why 4 bytes are not a usable frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    /// Not a frame sync, or a reserved/forbidden field value.
    Invalid,
    /// A valid header of a free-format stream (bit rate index 0), which has
    /// no frame length in its header.
    FreeFormat,
}

impl FrameHeader {
    /// Parses the 4 header bytes at the start of `b` (ISO/IEC 11172-3
    /// §2.4.2.3: bit rate and sampling frequency tables, and the frame
    /// length of §2.4.3.1, padding included).
    pub fn parse(b: &[u8]) -> Result<FrameHeader, HeaderError> {
        let &[b0, b1, b2, b3, ..] = b else {
            return Err(HeaderError::Invalid);
        };
        if b0 != 0xff || b1 & 0xe0 != 0xe0 {
            return Err(HeaderError::Invalid);
        }
        let version = match (b1 >> 3) & 3 {
            0 => Version::Mpeg25,
            2 => Version::Mpeg2,
            3 => Version::Mpeg1,
            _ => return Err(HeaderError::Invalid),
        };
        let layer = match (b1 >> 1) & 3 {
            1 => 3,
            2 => 2,
            3 => 1,
            _ => return Err(HeaderError::Invalid),
        };
        let bitrate_index = usize::from(b2 >> 4);
        let rate_index = usize::from((b2 >> 2) & 3);
        if bitrate_index == 15 || rate_index == 3 || b3 & 3 == 2 {
            return Err(HeaderError::Invalid);
        }
        if bitrate_index == 0 {
            return Err(HeaderError::FreeFormat);
        }
        let table = if version == Version::Mpeg1 {
            &BITRATES_V1
        } else {
            &BITRATES_V2
        };
        let bit_rate = u32::from(table[usize::from(layer - 1)][bitrate_index]) * 1000;
        let sample_rate = SAMPLE_RATES[rate_index]
            / match version {
                Version::Mpeg1 => 1,
                Version::Mpeg2 => 2,
                Version::Mpeg25 => 4,
            };
        let padding = b2 & 2 != 0;
        let pad = u32::from(padding);
        let (frame_len, samples) = match (layer, version) {
            (1, _) => ((12 * bit_rate / sample_rate + pad) * 4, 384),
            (2, _) | (3, Version::Mpeg1) => (144 * bit_rate / sample_rate + pad, 1152),
            _ => (72 * bit_rate / sample_rate + pad, 576),
        };
        Ok(FrameHeader {
            version,
            layer,
            crc: b1 & 1 == 0,
            bit_rate,
            sample_rate,
            padding,
            channels: if b3 >> 6 == 3 { 1 } else { 2 },
            frame_len: frame_len as usize,
            samples,
        })
    }

    /// Whether `other` can follow this header in the same stream: same
    /// version, layer and sampling rate (ISO/IEC 11172-3 keeps these fixed).
    pub fn same_stream(&self, other: &FrameHeader) -> bool {
        self.version == other.version
            && self.layer == other.layer
            && self.sample_rate == other.sample_rate
    }
}

/// Whether `data` starts with `count` consecutive valid frames of one stream,
/// ending as `chain` allows. The check a reader needs
/// before trusting an 11-bit sync word (ISO/IEC 11172-3 §2.4.3.1 defines
/// only the 12-bit syncword; frames follow each other without gaps).
pub fn starts_with_frames(data: &[u8], count: usize, chain: super::FrameChain) -> bool {
    super::starts_with_frames(
        data,
        count,
        chain,
        |b| FrameHeader::parse(b).ok(),
        |h| h.frame_len,
        FrameHeader::same_stream,
    )
}

/// What kind of header frame a [`VbrTag`] was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VbrTagKind {
    /// Xing header of a VBR stream.
    Xing,
    /// The same layout written by LAME for CBR streams.
    Info,
    /// Fraunhofer VBRI header.
    Vbri,
}

/// The Xing/Info (with its LAME extension) or VBRI header that encoders put
/// in the first frame of a layer III stream instead of audio. These headers
/// are de-facto standards, not part of ISO/IEC 11172-3; the layout follows
/// the Xing SDK, the LAME "Mp3 info tag" specification (rev. 1) and the
/// Fraunhofer VBRI SDK, read at the offsets FFmpeg's `mp3dec.c` uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VbrTag {
    /// Which header this is.
    pub kind: VbrTagKind,
    /// Number of audio frames in the stream (not counting the tag frame),
    /// 0 when the header does not say.
    pub frames: u32,
    /// Number of bytes in the stream, 0 when the header does not say.
    pub bytes: u32,
    /// Encoder delay and end padding in samples, from a LAME extension
    /// written by LAME or FFmpeg (`LAME`, `Lavf`, `Lavc` version strings).
    pub encoder_delay: Option<(u16, u16)>,
}

/// Xing flags: which optional fields follow the flags word.
const XING_FRAMES: u32 = 1;
const XING_BYTES: u32 = 2;
const XING_TOC: u32 = 4;
const XING_QUALITY: u32 = 8;

impl VbrTag {
    /// Reads a Xing/Info or VBRI header from `frame` (a whole layer III
    /// frame, header included, whose parsed header is `header`). Fields that
    /// would lie beyond the frame are treated as absent.
    pub fn parse(frame: &[u8], header: &FrameHeader) -> Option<VbrTag> {
        if header.layer != 3 {
            return None;
        }
        let be32 = |at: usize| -> Option<u32> {
            let b = frame.get(at..at.checked_add(4)?)?;
            Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        // The Xing header sits right after the side information
        // (ISO/IEC 11172-3 §2.4.1.7: 32/17 bytes; ISO/IEC 13818-3: 17/9).
        let side_info = match (header.version == Version::Mpeg1, header.channels == 1) {
            (true, false) => 32,
            (true, true) | (false, false) => 17,
            (false, true) => 9,
        };
        let mut tag = None;
        let xing = 4 + side_info;
        let kind = match frame.get(xing..xing + 4) {
            Some(b"Xing") => Some(VbrTagKind::Xing),
            Some(b"Info") => Some(VbrTagKind::Info),
            _ => None,
        };
        if let Some(kind) = kind {
            let flags = be32(xing + 4)?;
            let mut at = xing + 8;
            let mut field = |flag: u32, len: usize| {
                let value = (flags & flag != 0).then(|| be32(at)).flatten();
                if flags & flag != 0 {
                    at += len;
                }
                value
            };
            let frames = field(XING_FRAMES, 4).unwrap_or(0);
            let bytes = field(XING_BYTES, 4).unwrap_or(0);
            field(XING_TOC, 100);
            field(XING_QUALITY, 4);
            tag = Some(VbrTag {
                kind,
                frames,
                bytes,
                encoder_delay: lame_delay(frame.get(at..).unwrap_or(&[])),
            });
        }
        // VBRI: always 32 bytes after the frame header.
        if frame.get(36..40) == Some(b"VBRI") && frame.get(40..42) == Some(&[0, 1]) {
            tag = Some(VbrTag {
                kind: VbrTagKind::Vbri,
                bytes: be32(46)?,
                frames: be32(50)?,
                encoder_delay: tag.and_then(|t| t.encoder_delay),
            });
        }
        tag
    }
}

/// The 12-bit encoder delay and padding of a LAME extension that starts
/// with its 9-byte version string at the start of `ext`.
fn lame_delay(ext: &[u8]) -> Option<(u16, u16)> {
    let version = ext.get(..4)?;
    if !matches!(version, b"LAME" | b"Lavf" | b"Lavc") {
        return None;
    }
    // version(9) revision/method(1) lowpass(1) peak(4) radio gain(2)
    // audiophile gain(2) flags(1) bitrate(1), then delay(12) padding(12).
    let b = ext.get(21..24)?;
    let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
    Some(((v >> 12) as u16, (v & 0xfff) as u16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mpeg1_layer3_128k() {
        let h = FrameHeader::parse(&[0xff, 0xfb, 0x90, 0x64]).unwrap();
        assert_eq!(
            (h.version, h.layer, h.bit_rate, h.sample_rate),
            (Version::Mpeg1, 3, 128_000, 44100)
        );
        assert_eq!(
            (h.frame_len, h.samples, h.channels, h.crc),
            (417, 1152, 2, false)
        );
    }

    #[test]
    fn parses_mpeg2_layer3_and_layer2() {
        let h = FrameHeader::parse(&[0xff, 0xf3, 0x44, 0xc4]).unwrap();
        assert_eq!(
            (h.version, h.sample_rate, h.bit_rate, h.samples, h.channels),
            (Version::Mpeg2, 24000, 32_000, 576, 1)
        );
        assert_eq!(h.frame_len, 96);
        let h = FrameHeader::parse(&[0xff, 0xfd, 0x94, 0x00]).unwrap();
        assert_eq!(
            (h.layer, h.bit_rate, h.sample_rate, h.samples, h.crc),
            (2, 160_000, 48000, 1152, false)
        );
        assert_eq!(h.frame_len, 480);
    }

    #[test]
    fn rejects_reserved_and_free_format() {
        use HeaderError::{FreeFormat, Invalid};
        #[rustfmt::skip]
        let cases = [
            ([0xff, 0xeb, 0x90, 0x64], Invalid, "reserved version"),
            ([0xff, 0xf9, 0x90, 0x64], Invalid, "reserved layer"),
            ([0xff, 0xfb, 0xf0, 0x64], Invalid, "bad bit rate"),
            ([0xff, 0xfb, 0x9c, 0x64], Invalid, "bad sampling rate"),
            ([0xff, 0xfb, 0x90, 0x66], Invalid, "reserved emphasis"),
            ([0xff, 0xfb, 0x00, 0x64], FreeFormat, "free format"),
        ];
        for (header, expected, what) in cases {
            assert_eq!(FrameHeader::parse(&header), Err(expected), "{what}");
        }
        assert_eq!(FrameHeader::parse(&[0xff, 0xfb, 0x90]), Err(Invalid));
    }

    #[test]
    fn reads_vbri_and_ignores_tags_outside_the_frame() {
        // MPEG-1 layer III 128 kb/s stereo frame with a VBRI header.
        let header = [0xff, 0xfb, 0x90, 0x64];
        let h = FrameHeader::parse(&header).unwrap();
        let mut frame = header.to_vec();
        frame.resize(h.frame_len, 0);
        frame[36..40].copy_from_slice(b"VBRI");
        frame[40..42].copy_from_slice(&[0, 1]);
        frame[46..50].copy_from_slice(&123_456u32.to_be_bytes());
        frame[50..54].copy_from_slice(&789u32.to_be_bytes());
        let tag = VbrTag::parse(&frame, &h).unwrap();
        assert_eq!(
            (tag.kind, tag.bytes, tag.frames, tag.encoder_delay),
            (VbrTagKind::Vbri, 123_456, 789, None)
        );
        // A Xing header whose fields run past the end of the frame.
        let mut frame = header.to_vec();
        frame.resize(36, 0);
        frame.extend_from_slice(b"Xing\0\0\0\x03\0\0");
        let tag = VbrTag::parse(&frame, &h).unwrap();
        assert_eq!((tag.kind, tag.frames, tag.bytes), (VbrTagKind::Xing, 0, 0));
        // Layer II frames never carry one.
        let h2 = FrameHeader::parse(&[0xff, 0xfd, 0x94, 0x00]).unwrap();
        assert_eq!(VbrTag::parse(b"\xff\xfd\x94\x00 Xing", &h2), None);
    }
}
