//! FLAC syntax a reader needs to describe a stream and time its frames
//! (RFC 9639): the STREAMINFO block (§8.2) and a frame header's block size
//! (§9.1.1). No RTP payload format carries FLAC.

use super::header::HeaderError;

/// The STREAMINFO metadata block's fields a track needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamInfo {
    /// Sample rate in Hz (never 0).
    pub sample_rate: u32,
    /// Channels (1 to 8).
    pub channels: u16,
    /// Bits per sample (4 to 32).
    pub bits_per_sample: u16,
    /// Interchannel samples in the stream; 0 when unknown.
    pub total_samples: u64,
}

impl StreamInfo {
    /// Parses the 34-byte STREAMINFO body (§8.2): block sizes (2 × 16
    /// bits), frame sizes (2 × 24), then sample rate (20), channels − 1
    /// (3), bits per sample − 1 (5) and total samples (36).
    pub fn parse(body: &[u8]) -> Result<StreamInfo, HeaderError> {
        if body.len() < 34 {
            return Err(HeaderError::at(body.len(), "FLAC STREAMINFO cut short"));
        }
        let packed = u64::from_be_bytes([
            body[10], body[11], body[12], body[13], body[14], body[15], body[16], body[17],
        ]);
        let sample_rate = (packed >> 44) as u32;
        if sample_rate == 0 {
            return Err(HeaderError::at(10, "FLAC sample rate of 0"));
        }
        Ok(StreamInfo {
            sample_rate,
            channels: ((packed >> 41) & 7) as u16 + 1,
            bits_per_sample: ((packed >> 36) & 31) as u16 + 1,
            total_samples: packed & 0xf_ffff_ffff,
        })
    }
}

/// The block size (samples per channel) of the frame starting `frame`
/// (§9.1: sync code 0xFFF8/0xFFF9, then the block size code in the top
/// four bits of the third byte; codes 6 and 7 put the size minus one in 8
/// or 16 bits after the coded frame or sample number).
pub fn block_size(frame: &[u8]) -> Result<u32, HeaderError> {
    if frame.len() < 4 || frame[0] != 0xff || frame[1] & 0xfe != 0xf8 {
        return Err(HeaderError::at(0, "no FLAC frame sync code"));
    }
    let code = frame[2] >> 4;
    match code {
        0 => Err(HeaderError::at(2, "reserved FLAC block size")),
        1 => Ok(192),
        2..=5 => Ok(576 << (code - 2)),
        8..=15 => Ok(256 << (code - 8)),
        _ => {
            // The coded number: UTF-8-like, its length in the leading ones.
            let first = *frame
                .get(4)
                .ok_or_else(|| HeaderError::at(4, "FLAC frame header cut short"))?;
            let coded_len = match first.leading_ones() {
                0 => 1,
                n @ 2..=7 => n as usize,
                _ => return Err(HeaderError::at(4, "malformed FLAC coded number")),
            };
            let at = 4 + coded_len;
            let size = if code == 6 {
                frame.get(at).map(|&b| u32::from(b))
            } else {
                frame
                    .get(at..at + 2)
                    .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
            };
            size.map(|s| s + 1)
                .ok_or_else(|| HeaderError::at(at, "FLAC frame header cut short"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaminfo_fields() {
        let mut body = [0u8; 34];
        // 44100 Hz, 2 channels, 16 bits, 88200 samples.
        let packed: u64 = (44100 << 44) | (1 << 41) | (15 << 36) | 88200;
        body[10..18].copy_from_slice(&packed.to_be_bytes());
        let info = StreamInfo::parse(&body).unwrap();
        assert_eq!(
            (
                info.sample_rate,
                info.channels,
                info.bits_per_sample,
                info.total_samples
            ),
            (44100, 2, 16, 88200)
        );
        assert!(StreamInfo::parse(&body[..33]).is_err());
        assert!(StreamInfo::parse(&[0; 34]).is_err());
    }

    #[test]
    fn block_sizes() {
        assert_eq!(block_size(&[0xff, 0xf8, 0xc9, 0x18, 0]), Ok(4096));
        assert_eq!(block_size(&[0xff, 0xf8, 0x19, 0x18, 0]), Ok(192));
        assert_eq!(block_size(&[0xff, 0xf8, 0x39, 0x18, 0]), Ok(1152));
        // Code 7: 16 bits after a 2-byte coded number.
        assert_eq!(
            block_size(&[0xff, 0xf9, 0x79, 0x18, 0xc2, 0x80, 0x01, 0x00]),
            Ok(257)
        );
        // Code 6: 8 bits after a 1-byte coded number.
        assert_eq!(block_size(&[0xff, 0xf8, 0x69, 0x18, 0x05, 0x0f]), Ok(16));
        assert!(block_size(&[0xff, 0xf8, 0x69, 0x18, 0x05]).is_err());
        assert!(block_size(&[0xff, 0xf8, 0x09, 0x18]).is_err());
        assert!(block_size(&[0xff, 0xf8, 0x79, 0x18, 0xff, 0, 0, 0]).is_err());
        assert!(block_size(&[0xfe, 0xf8, 0xc9, 0x18]).is_err());
        assert!(block_size(&[]).is_err());
    }
}
