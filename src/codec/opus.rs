//! Opus syntax readers and the RTP payload format need: the identification
//! header `OpusHead` (RFC 7845 §5.1, which Matroska's CodecPrivate and MP4's
//! `dOps` carry too) and the packet's table-of-contents byte, which gives
//! the packet's duration (RFC 6716 §3.1–§3.4).

use super::header::HeaderError;

/// Opus always decodes at 48 kHz: packet durations and pre-skip count
/// samples of this clock (RFC 7845 §4, RFC 7587 §4.1).
pub const SAMPLE_RATE: u32 = 48000;

/// The longest packet RFC 6716 §3.2.5 allows: 120 ms at 48 kHz.
pub const MAX_PACKET_SAMPLES: u32 = 5760;

/// The identification header, RFC 7845 §5.1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpusHead {
    /// `version`: the major version (upper 4 bits) is 0 for every
    /// compatible stream.
    pub version: u8,
    /// Output channel count (never 0).
    pub channels: u8,
    /// Samples at 48 kHz to discard from the decoder's output at the start.
    pub pre_skip: u16,
    /// The sample rate of the original input (informational; 0 when
    /// unspecified).
    pub input_sample_rate: u32,
    /// Gain to apply to the decoded output, in Q7.8 dB.
    pub output_gain: i16,
    /// Channel mapping family: 0 is mono or stereo in one stream (the only
    /// family RTP carries, RFC 7587); 1 and 255 are multistream.
    pub mapping_family: u8,
    /// For families other than 0: the stream count, the coupled stream
    /// count and the channel mapping table (RFC 7845 §5.1.1).
    pub mapping: Option<ChannelMapping>,
}

/// The channel mapping table of a multistream Opus stream (RFC 7845 §5.1.1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelMapping {
    /// Opus streams in each packet (at least 1).
    pub streams: u8,
    /// How many of them are stereo (at most `streams`).
    pub coupled: u8,
    /// For each output channel, the decoded channel it takes (or 255:
    /// silence).
    pub mapping: Vec<u8>,
}

impl OpusHead {
    /// Parses an `OpusHead` packet (RFC 7845 §5.1). Bytes after the header
    /// are allowed (§5.1: "implementations SHOULD ignore" them).
    pub fn parse(data: &[u8]) -> Result<OpusHead, HeaderError> {
        if data.len() < 19 {
            return Err(HeaderError::at(
                data.len(),
                "OpusHead is shorter than 19 bytes",
            ));
        }
        if &data[..8] != b"OpusHead" {
            return Err(HeaderError::at(0, "no OpusHead magic signature"));
        }
        let version = data[8];
        if version >> 4 != 0 {
            return Err(HeaderError::at(
                8,
                "OpusHead of an incompatible major version",
            ));
        }
        let channels = data[9];
        if channels == 0 {
            return Err(HeaderError::at(9, "OpusHead with 0 channels"));
        }
        let mapping_family = data[18];
        let mapping = if mapping_family == 0 {
            if channels > 2 {
                return Err(HeaderError::at(
                    9,
                    "mapping family 0 with more than 2 channels",
                ));
            }
            None
        } else {
            let table = data
                .get(19..21 + usize::from(channels))
                .ok_or_else(|| HeaderError::at(data.len(), "channel mapping table cut short"))?;
            let (streams, coupled) = (table[0], table[1]);
            if streams == 0 {
                return Err(HeaderError::at(19, "channel mapping with 0 streams"));
            }
            if coupled > streams {
                return Err(HeaderError::at(20, "more coupled streams than streams"));
            }
            let decoded = u16::from(streams) + u16::from(coupled);
            if let Some(i) = table[2..]
                .iter()
                .position(|&m| m != 255 && u16::from(m) >= decoded)
            {
                return Err(HeaderError::at(
                    21 + i,
                    "channel mapped to no decoded channel",
                ));
            }
            Some(ChannelMapping {
                streams,
                coupled,
                mapping: table[2..].to_vec(),
            })
        };
        Ok(OpusHead {
            version,
            channels,
            pre_skip: u16::from_le_bytes([data[10], data[11]]),
            input_sample_rate: u32::from_le_bytes([data[12], data[13], data[14], data[15]]),
            output_gain: i16::from_le_bytes([data[16], data[17]]),
            mapping_family,
            mapping,
        })
    }
}

/// Samples at 48 kHz of one frame of TOC configuration `config` (RFC 6716
/// §3.1 Table 2): SILK-only 10/20/40/60 ms, hybrid 10/20 ms, CELT-only
/// 2.5/5/10/20 ms.
fn frame_samples(config: u8) -> u32 {
    match config {
        0..=11 => [480, 960, 1920, 2880][usize::from(config % 4)],
        12..=15 => [480, 960][usize::from(config % 2)],
        _ => [120, 240, 480, 960][usize::from(config % 4)],
    }
}

/// One self-delimited frame length (RFC 6716 §3.2.1) at `data[at..]`: the
/// length and the bytes it takes.
fn frame_length(data: &[u8], at: usize) -> Result<(usize, usize), HeaderError> {
    match data.get(at) {
        None => Err(HeaderError::at(at, "Opus frame length missing")),
        Some(&b) if b < 252 => Ok((usize::from(b), 1)),
        Some(&b) => data
            .get(at + 1)
            .map(|&second| (usize::from(second) * 4 + usize::from(b), 2))
            .ok_or_else(|| HeaderError::at(at + 1, "Opus frame length cut short")),
    }
}

/// The duration in 48 kHz samples of an Opus packet, after checking that
/// it is well formed (RFC 6716 §3.4 requirements R1–R7: at least one byte,
/// frame lengths and padding within the packet, code 1 frames of equal
/// size, at most 120 ms).
pub fn packet_samples(packet: &[u8]) -> Result<u32, HeaderError> {
    let &toc = packet
        .first()
        .ok_or_else(|| HeaderError::at(0, "empty Opus packet"))?;
    let per_frame = frame_samples(toc >> 3);
    let len = packet.len();
    let frames = match toc & 3 {
        0 => 1,
        1 => {
            if !(len - 1).is_multiple_of(2) {
                return Err(HeaderError::at(
                    1,
                    "code 1 Opus packet of two unequal frames",
                ));
            }
            2
        }
        2 => {
            let (first, used) = frame_length(packet, 1)?;
            if 1 + used + first > len {
                return Err(HeaderError::at(1, "first Opus frame overruns the packet"));
            }
            2
        }
        _ => code3_frames(packet)?,
    };
    let samples = per_frame * frames;
    if samples > MAX_PACKET_SAMPLES {
        return Err(HeaderError::at(0, "Opus packet longer than 120 ms"));
    }
    Ok(samples)
}

/// The frame count of a code 3 packet (RFC 6716 §3.2.5), checking its
/// padding and, when VBR, its frame lengths.
fn code3_frames(packet: &[u8]) -> Result<u32, HeaderError> {
    let &count = packet
        .get(1)
        .ok_or_else(|| HeaderError::at(1, "code 3 Opus packet without a frame count"))?;
    let frames = usize::from(count & 0x3f);
    if frames == 0 {
        return Err(HeaderError::at(1, "code 3 Opus packet of 0 frames"));
    }
    let mut pos = 2;
    let mut padding = 0usize;
    if count & 0x40 != 0 {
        loop {
            let &b = packet
                .get(pos)
                .ok_or_else(|| HeaderError::at(pos, "Opus padding length cut short"))?;
            pos += 1;
            padding += if b == 255 { 254 } else { usize::from(b) };
            if b != 255 {
                break;
            }
        }
    }
    let mut sizes = 0usize;
    if count & 0x80 != 0 {
        for _ in 1..frames {
            let (size, used) = frame_length(packet, pos)?;
            pos += used;
            sizes += size;
        }
    }
    let data = packet
        .len()
        .checked_sub(pos + padding)
        .ok_or_else(|| HeaderError::at(pos, "Opus padding overruns the packet"))?;
    let fits = if count & 0x80 != 0 {
        sizes <= data
    } else {
        data.is_multiple_of(frames)
    };
    if !fits {
        return Err(HeaderError::at(pos, "Opus frames do not fit the packet"));
    }
    Ok(frames as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(channels: u8, family: u8, tail: &[u8]) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels, 0x38, 0x01, 0x44, 0xac, 0, 0, 0, 0, family]);
        h.extend_from_slice(tail);
        h
    }

    #[test]
    fn opus_head_fields() {
        let h = OpusHead::parse(&head(2, 0, &[])).unwrap();
        assert_eq!(
            (
                h.channels,
                h.pre_skip,
                h.input_sample_rate,
                h.mapping_family
            ),
            (2, 312, 44100, 0)
        );
        let h = OpusHead::parse(&head(3, 1, &[2, 1, 0, 2, 1])).unwrap();
        assert_eq!(h.mapping.unwrap().mapping, [0, 2, 1]);
        for (bad, offset) in [
            (head(3, 0, &[]), 9),
            (head(0, 0, &[]), 9),
            (head(3, 1, &[2, 1, 0, 3, 1]), 22),
            (head(3, 1, &[0, 0, 0, 0, 0]), 19),
            (head(3, 1, &[1, 2, 0, 0, 0]), 20),
            (head(3, 1, &[2, 1, 0]), 22),
            (head(2, 0, &[])[..18].to_vec(), 18),
        ] {
            assert_eq!(OpusHead::parse(&bad).unwrap_err().offset, offset, "{bad:?}");
        }
        let mut v2 = head(1, 0, &[]);
        v2[8] = 0x10;
        assert!(OpusHead::parse(&v2).is_err());
    }

    #[test]
    fn toc_gives_the_duration() {
        // Config 31 (CELT FB 20 ms), code 0: one frame.
        assert_eq!(packet_samples(&[31 << 3, 1, 2]), Ok(960));
        // Config 3 (SILK NB 60 ms), code 1: two equal frames.
        assert_eq!(packet_samples(&[(3 << 3) | 1, 1, 2]), Ok(5760));
        assert!(packet_samples(&[(3 << 3) | 1, 1]).is_err());
        // Config 16 (CELT NB 2.5 ms), code 2: a 300-byte first frame.
        let mut code2 = vec![(16 << 3) | 2, 252, 12];
        code2.resize(303, 0);
        assert_eq!(packet_samples(&code2), Ok(240));
        code2.pop();
        assert!(packet_samples(&code2).is_err());
        // Code 3, CBR, 3 frames of 2 bytes, 2 bytes of padding.
        let code3 = [(28 << 3) | 3, 0x43, 2, 1, 1, 1, 1, 1, 1, 0, 0];
        assert_eq!(packet_samples(&code3), Ok(360));
        // Code 3, VBR: lengths 1 and 2, the last frame the rest (0 bytes).
        assert_eq!(
            packet_samples(&[(28 << 3) | 3, 0x83, 1, 2, 9, 9, 9]),
            Ok(360)
        );
        assert!(packet_samples(&[(28 << 3) | 3, 0x83, 1, 3, 9, 9, 9]).is_err());
        for bad in [
            &[][..],
            &[3],
            &[(28 << 3) | 3, 0],
            &[(11 << 3) | 3, 3],
            &[(28 << 3) | 3, 0x41, 255],
            &[(28 << 3) | 3, 0x41, 5, 0],
            &[(28 << 3) | 3, 0x82, 252],
        ] {
            assert!(packet_samples(bad).is_err(), "{bad:?}");
        }
    }
}
