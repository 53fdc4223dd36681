//! The Speex header packet (Speex manual §7.2 / `speex_header.h`): what a
//! reader needs to describe a Speex stream and time its packets. No RTP
//! payload format here carries Speex (RFC 5574 is not implemented).

use super::header::HeaderError;

/// The header's length and its signature.
const LEN: usize = 80;
const MAGIC: &[u8] = b"Speex   ";

/// The fields of the 80-byte Speex header (all little-endian 32-bit after
/// the 8-byte signature and the 20-byte version string).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpeexHeader {
    /// `rate`: samples per second (8000, 16000 or 32000 for the three
    /// modes; any positive value is taken).
    pub sample_rate: u32,
    /// `nb_channels`: 1 or 2.
    pub channels: u16,
    /// `bitrate`, or -1 when unknown.
    pub bit_rate: i32,
    /// `frame_size`: samples per frame.
    pub frame_size: u32,
    /// `frames_per_packet`: frames in each Ogg packet.
    pub frames_per_packet: u32,
    /// `extra_headers`: header packets after the comment packet.
    pub extra_headers: u32,
}

impl SpeexHeader {
    /// Whether `packet` starts like a Speex header.
    pub fn is_header(packet: &[u8]) -> bool {
        packet.starts_with(MAGIC)
    }

    /// Parses the header packet.
    pub fn parse(packet: &[u8]) -> Result<SpeexHeader, HeaderError> {
        if !Self::is_header(packet) {
            return Err(HeaderError::at(0, "not a Speex header"));
        }
        if packet.len() < LEN {
            return Err(HeaderError::at(packet.len(), "Speex header cut short"));
        }
        let field = |at: usize| {
            u32::from_le_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]])
        };
        let sample_rate = field(36);
        if sample_rate == 0 || sample_rate > 192_000 {
            return Err(HeaderError::at(36, "Speex sample rate out of range"));
        }
        let channels = field(48);
        if !(1..=2).contains(&channels) {
            return Err(HeaderError::at(
                48,
                "Speex stream of other than 1 or 2 channels",
            ));
        }
        let frame_size = field(56);
        if frame_size == 0 || frame_size > 2048 {
            return Err(HeaderError::at(56, "Speex frame size out of range"));
        }
        // 0 is what some encoders write for 1 (FFmpeg reads it so).
        let frames_per_packet = field(64).max(1);
        if frames_per_packet > 64 {
            return Err(HeaderError::at(64, "Speex frames per packet out of range"));
        }
        Ok(SpeexHeader {
            sample_rate,
            channels: channels as u16,
            bit_rate: field(52) as i32,
            frame_size,
            frames_per_packet,
            extra_headers: field(68).min(16),
        })
    }

    /// Samples in one packet.
    pub fn packet_samples(&self) -> u32 {
        self.frame_size * self.frames_per_packet
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header of `channels` at `rate`, 320-sample frames, 1 per packet.
    pub(crate) fn header(rate: u32, channels: u32) -> Vec<u8> {
        let mut p = MAGIC.to_vec();
        p.resize(28, 0);
        for value in [1, 80, rate, 1, 4, channels, 24600, 320, 0, 1, 0, 0, 0] {
            p.extend_from_slice(&u32::to_le_bytes(value));
        }
        p
    }

    #[test]
    fn fields() {
        let h = SpeexHeader::parse(&header(16000, 1)).unwrap();
        assert_eq!(
            (h.sample_rate, h.channels, h.bit_rate, h.packet_samples()),
            (16000, 1, 24600, 320)
        );
        assert_eq!(
            SpeexHeader::parse(&header(16000, 3)).unwrap_err().offset,
            48
        );
        assert_eq!(SpeexHeader::parse(&header(0, 1)).unwrap_err().offset, 36);
        assert_eq!(
            SpeexHeader::parse(&header(8000, 1)[..79])
                .unwrap_err()
                .offset,
            79
        );
        assert!(SpeexHeader::parse(b"OpusHead").is_err());
    }
}
