//! Uncompressed and G.711 audio over RTP: L8/L16 (RFC 3551 §4.5.10–11),
//! L24 (RFC 3190 §4), PCMU/PCMA (RFC 3551 §4.5.14).

use super::{Packetizer, PayloadDescription, RtpError};
use crate::media::{Codec, PcmFormat, Track, TrackKind};

/// Sample frames carried on the wire as one of the linear or G.711 encodings.
pub struct PcmPacketizer {
    format: PcmFormat,
    sample_rate: u32,
    channels: u16,
}

impl PcmPacketizer {
    /// A packetizer for a PCM track with a wire encoding.
    pub fn new(track: &Track) -> Result<PcmPacketizer, RtpError> {
        let Codec::Pcm(format) = track.codec else {
            return Err(RtpError::Unsupported(track.codec.name().to_owned()));
        };
        if matches!(
            format,
            PcmFormat::S32Le | PcmFormat::F32Le | PcmFormat::F64Le
        ) {
            return Err(RtpError::Unsupported(format!(
                "{} (RTP carries 8, 16 and 24-bit linear PCM)",
                track.codec
            )));
        }
        let missing = |what: &str| RtpError::MissingConfig(format!("PCM track has no {what}"));
        Ok(PcmPacketizer {
            format,
            sample_rate: track.sample_rate.ok_or_else(|| missing("sample rate"))?,
            channels: track.channels.ok_or_else(|| missing("channel count"))?,
        })
    }

    /// The wire encoding name.
    fn encoding(&self) -> &'static str {
        match self.format {
            PcmFormat::U8 => "L8",
            PcmFormat::S16Le | PcmFormat::S16Be => "L16",
            PcmFormat::S24Le | PcmFormat::S24Be => "L24",
            PcmFormat::Mulaw => "PCMU",
            PcmFormat::Alaw => "PCMA",
            PcmFormat::S32Le | PcmFormat::F32Le | PcmFormat::F64Le => {
                unreachable!("rejected in new()")
            }
        }
    }

    /// RFC 3551 Table 4: PCMU 0, PCMA 8 (8 kHz mono), L16 10 (44.1 kHz
    /// stereo) and 11 (44.1 kHz mono).
    fn static_payload_type(&self) -> Option<u8> {
        match (self.encoding(), self.sample_rate, self.channels) {
            ("PCMU", 8000, 1) => Some(0),
            ("PCMA", 8000, 1) => Some(8),
            ("L16", 44100, 2) => Some(10),
            ("L16", 44100, 1) => Some(11),
            _ => None,
        }
    }
}

impl Packetizer for PcmPacketizer {
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: self.static_payload_type(),
            encoding: self.encoding(),
            clock_rate: self.sample_rate,
            channels: Some(self.channels),
            fmtp: None,
        }
    }
}
