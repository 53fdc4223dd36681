//! H.264 over RTP, RFC 6184.

use base64::Engine;
use bytes::Bytes;

use super::{Packetizer, PayloadDescription, RtpError};
use crate::media::{Track, TrackKind};

/// RFC 6184 packetization mode 1 (non-interleaved): single NAL unit packets,
/// STAP-A and FU-A.
pub struct H264Packetizer {
    sps: Bytes,
    pps: Vec<Bytes>,
}

impl H264Packetizer {
    /// A packetizer for `track`, whose configuration must hold an SPS.
    pub fn new(track: &Track) -> Result<H264Packetizer, RtpError> {
        let of_type = |t: u8| {
            track
                .config
                .parameter_sets
                .iter()
                .filter(move |n| n.first().map(|b| b & 0x1f) == Some(t))
        };
        let sps = of_type(7).find(|s| s.len() >= 4).cloned().ok_or_else(|| {
            RtpError::MissingConfig("H.264 track has no sequence parameter set".into())
        })?;
        Ok(H264Packetizer {
            sps,
            pps: of_type(8).cloned().collect(),
        })
    }
}

impl Packetizer for H264Packetizer {
    /// RFC 6184 §8.1: `profile-level-id` is the SPS bytes after the NAL header
    /// (profile_idc, constraint flags, level_idc); `sprop-parameter-sets` the
    /// base64 SPS and PPS NAL units.
    fn description(&self) -> PayloadDescription {
        let b64 = base64::engine::general_purpose::STANDARD;
        let sprop: Vec<String> = std::iter::once(&self.sps)
            .chain(&self.pps)
            .map(|n| b64.encode(n))
            .collect();
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "H264",
            clock_rate: 90000,
            channels: None,
            fmtp: Some(format!(
                "packetization-mode=1;profile-level-id={};sprop-parameter-sets={}",
                hex::encode_upper(&self.sps[1..4]),
                sprop.join(",")
            )),
        }
    }
}
