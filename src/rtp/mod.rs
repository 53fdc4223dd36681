//! RTP payload formats: one module per codec, each exact to its RFC.
//!
//! A [`Packetizer`] describes its payload format for SDP (`a=rtpmap`,
//! `a=fmtp`) and splits access units into RTP payloads. [`packetizer`] is the
//! registry: adding a codec is one new module plus one line there.

mod aac;
mod h264;
mod hevc;
mod mpa;
mod pcm;

use crate::media::{Codec, Track, TrackKind};

/// First dynamic payload type (RFC 3551 §3): track `i` without a static
/// type uses `DYNAMIC_PT + i`.
pub const DYNAMIC_PT: u8 = 96;

/// How a payload format appears in SDP (RFC 4566 §6, RFC 3551 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadDescription {
    /// `m=` media type.
    pub media: TrackKind,
    /// A static payload type from RFC 3551 Table 4/5, if the format has one.
    pub static_payload_type: Option<u8>,
    /// `a=rtpmap` encoding name, e.g. `H264`.
    pub encoding: &'static str,
    /// RTP timestamp clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels, written as the rtpmap encoding parameter when present.
    pub channels: Option<u16>,
    /// `a=fmtp` parameters, without the `a=fmtp:PT ` prefix.
    pub fmtp: Option<String>,
}

impl PayloadDescription {
    /// The payload type to use for track `index`.
    pub fn payload_type(&self, index: usize) -> u8 {
        self.static_payload_type.unwrap_or_else(|| {
            DYNAMIC_PT
                .saturating_add(u8::try_from(index).unwrap_or(u8::MAX))
                .min(127)
        })
    }

    /// The `a=rtpmap` value after the payload type: `H264/90000`, `L16/44100/2`.
    pub fn rtpmap(&self) -> String {
        match self.channels {
            Some(channels) => format!("{}/{}/{}", self.encoding, self.clock_rate, channels),
            None => format!("{}/{}", self.encoding, self.clock_rate),
        }
    }
}

/// Why a track cannot be carried over RTP.
#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    /// No payload format for this codec, or not for these parameters.
    #[error("no RTP payload format for {0}")]
    Unsupported(String),
    /// The track lacks configuration its payload format requires.
    #[error("{0}")]
    MissingConfig(String),
}

/// An RTP payload format for one track (RFC 3550 §5.1 payload).
pub trait Packetizer: Send {
    /// How the format appears in SDP.
    fn description(&self) -> PayloadDescription;
}

/// The payload format for `track` (the registry: one line per codec).
pub fn packetizer(track: &Track) -> Result<Box<dyn Packetizer>, RtpError> {
    Ok(match &track.codec {
        Codec::H264 => Box::new(h264::H264Packetizer::new(track)?),
        Codec::Hevc => Box::new(hevc::HevcPacketizer::new(track)?),
        Codec::Mp1 | Codec::Mp2 | Codec::Mp3 => Box::new(mpa::MpaPacketizer::new(track)?),
        Codec::Aac => Box::new(aac::AacPacketizer::new(track)?),
        Codec::Pcm(_) => Box::new(pcm::PcmPacketizer::new(track)?),
        other => return Err(RtpError::Unsupported(other.name().to_owned())),
    })
}
