//! AAC over RTP, RFC 3640 `mpeg4-generic` in AAC-hbr mode (§3.3.6).

use super::{Packetizer, PayloadDescription, RtpError};
use crate::media::{Track, TrackKind};

/// RFC 3640 AAC-hbr: an AU-headers section (13-bit size, 3-bit index) then
/// the raw AAC access units.
pub struct AacPacketizer {
    sample_rate: u32,
    channels: u16,
    config: Vec<u8>,
}

impl AacPacketizer {
    /// A packetizer for an AAC track whose configuration holds its
    /// AudioSpecificConfig.
    pub fn new(track: &Track) -> Result<AacPacketizer, RtpError> {
        let missing = |what: &str| RtpError::MissingConfig(format!("AAC track has no {what}"));
        if track.config.extradata.is_empty() {
            return Err(missing("AudioSpecificConfig"));
        }
        Ok(AacPacketizer {
            sample_rate: track.sample_rate.ok_or_else(|| missing("sample rate"))?,
            channels: track.channels.ok_or_else(|| missing("channel count"))?,
            config: track.config.extradata.to_vec(),
        })
    }

    /// The MPEG-4 audio profile-level-id (ISO/IEC 14496-3 §1.5.2.4, "AAC
    /// Profile" levels 2, 4 and 5 by channel count and sampling rate).
    fn profile_level_id(&self) -> u8 {
        match (self.channels, self.sample_rate) {
            (0..=2, 0..=48000) => 0x29,
            (0..=5, 0..=48000) => 0x2a,
            _ => 0x2b,
        }
    }
}

impl Packetizer for AacPacketizer {
    /// RFC 3640 §4.1 and §3.3.6: `mpeg4-generic/<rate>/<channels>` with
    /// streamtype 5, mode AAC-hbr, sizelength 13, indexlength 3,
    /// indexdeltalength 3 and the hex AudioSpecificConfig.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: None,
            encoding: "mpeg4-generic",
            clock_rate: self.sample_rate,
            channels: Some(self.channels),
            fmtp: Some(format!(
                "streamtype=5;profile-level-id={};mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config={}",
                self.profile_level_id(),
                hex::encode(&self.config)
            )),
        }
    }
}
