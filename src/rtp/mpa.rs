//! MPEG-1/2 audio over RTP, RFC 2250 §3 (static payload type 14, RFC 3551 §4.5.13).

use super::{Packetizer, PayloadDescription, RtpError};
use crate::media::{Track, TrackKind};

/// RFC 2250 MPA: a 4-byte header (MBZ + fragment offset) then whole frames or
/// fragments of one frame.
pub struct MpaPacketizer;

impl MpaPacketizer {
    /// A packetizer for an MPEG audio layer I–III track.
    pub fn new(_track: &Track) -> Result<MpaPacketizer, RtpError> {
        Ok(MpaPacketizer)
    }
}

impl Packetizer for MpaPacketizer {
    /// RFC 3551 §4.5.13: `MPA/90000`, payload type 14, no parameters.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: Some(14),
            encoding: "MPA",
            clock_rate: 90000,
            channels: None,
            fmtp: None,
        }
    }
}
