//! H.265 over RTP, RFC 7798.

use base64::Engine;
use bytes::Bytes;

use super::{Packetizer, PayloadDescription, RtpError};
use crate::media::{Track, TrackKind};

/// RFC 7798 single NAL unit packets, aggregation packets and fragmentation units.
pub struct HevcPacketizer {
    vps: Vec<Bytes>,
    sps: Vec<Bytes>,
    pps: Vec<Bytes>,
}

impl HevcPacketizer {
    /// A packetizer for `track`, whose configuration must hold VPS, SPS and PPS.
    pub fn new(track: &Track) -> Result<HevcPacketizer, RtpError> {
        let of_type = |t: u8| -> Vec<Bytes> {
            track
                .config
                .parameter_sets
                .iter()
                .filter(|n| n.first().map(|b| (b >> 1) & 0x3f) == Some(t))
                .cloned()
                .collect()
        };
        let (vps, sps, pps) = (of_type(32), of_type(33), of_type(34));
        if vps.is_empty() || sps.is_empty() || pps.is_empty() {
            return Err(RtpError::MissingConfig(
                "H.265 track lacks a VPS, SPS or PPS".into(),
            ));
        }
        Ok(HevcPacketizer { vps, sps, pps })
    }
}

impl Packetizer for HevcPacketizer {
    /// RFC 7798 §7.1: `sprop-vps`, `sprop-sps`, `sprop-pps` as base64 NAL units.
    fn description(&self) -> PayloadDescription {
        let b64 = base64::engine::general_purpose::STANDARD;
        let join = |sets: &[Bytes]| {
            sets.iter()
                .map(|n| b64.encode(n))
                .collect::<Vec<_>>()
                .join(",")
        };
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "H265",
            clock_rate: 90000,
            channels: None,
            fmtp: Some(format!(
                "sprop-vps={};sprop-sps={};sprop-pps={}",
                join(&self.vps),
                join(&self.sps),
                join(&self.pps)
            )),
        }
    }
}
