//! H.265 over RTP, RFC 7798.

use base64::Engine;
use bytes::Bytes;

use super::{Packetizer, PayloadDescription, RtpError};
use crate::codec::hevc::{ProfileTierLevel, Sps};
use crate::media::{Track, TrackKind};

/// RFC 7798 single NAL unit packets, aggregation packets and fragmentation units.
pub struct HevcPacketizer {
    vps: Vec<Bytes>,
    sps: Vec<Bytes>,
    pps: Vec<Bytes>,
    /// General profile, tier and level of the first SPS that parses.
    ptl: Option<ProfileTierLevel>,
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
        let ptl = sps
            .iter()
            .find_map(|nal| Sps::from_nal(nal).ok())
            .map(|s| s.ptl);
        Ok(HevcPacketizer { vps, sps, pps, ptl })
    }
}

impl Packetizer for HevcPacketizer {
    /// RFC 7798 §7.1: `profile-space`, `profile-id`, `tier-flag` and
    /// `level-id` from the SPS's general profile_tier_level (ITU-T H.265
    /// §7.3.3), then `sprop-vps`, `sprop-sps`, `sprop-pps` as base64 NAL units.
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
                "{}sprop-vps={};sprop-sps={};sprop-pps={}",
                self.ptl.map_or_else(String::new, |p| format!(
                    "profile-space={};profile-id={};tier-flag={};level-id={};",
                    p.profile_space,
                    p.profile_idc,
                    u8::from(p.tier_flag),
                    p.level_idc
                )),
                join(&self.vps),
                join(&self.sps),
                join(&self.pps)
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::media::open;

    fn track(name: &str) -> Track {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        open(&path).unwrap().tracks()[0].clone()
    }

    #[test]
    fn fmtp_has_profile_tier_level_and_parameter_sets() {
        let track = track("hevc_bframes.265");
        let fmtp = HevcPacketizer::new(&track)
            .unwrap()
            .description()
            .fmtp
            .unwrap();
        // sprop-* as in the SDP ffmpeg writes for this file (`-f rtp
        // -sdp_file`); profile and level as ffprobe reports them.
        assert_eq!(
            fmtp,
            "profile-space=0;profile-id=1;tier-flag=0;level-id=60;\
             sprop-vps=QAEMAf//AWAAAAMAkAAAAwAAAwA8lZQJ;\
             sprop-sps=QgEBAWAAAAMAkAAAAwAAAwA8oAoIDxZZWWSTK8BaAgAAAwACAAADADIQ;\
             sprop-pps=RAHBcrRiQA=="
        );
    }

    #[test]
    fn unparsable_sps_leaves_out_profile_fields() {
        let mut track = track("hevc_odd_ntsc.h265");
        let sps = &mut track.config.parameter_sets[1];
        *sps = sps.slice(..6);
        let fmtp = HevcPacketizer::new(&track)
            .unwrap()
            .description()
            .fmtp
            .unwrap();
        assert!(fmtp.starts_with("sprop-vps="), "{fmtp}");
    }

    #[test]
    fn missing_parameter_sets_are_an_error() {
        let mut track = track("hevc_odd_ntsc.h265");
        track.config.parameter_sets.remove(0);
        assert!(HevcPacketizer::new(&track).is_err());
    }
}
