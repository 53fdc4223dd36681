//! H.265 over RTP, RFC 7798, without DONL (sprop-max-don-diff = 0, §4.4):
//! single NAL unit packets, aggregation packets (AP) and fragmentation
//! units (FU).

use bytes::Bytes;

use super::nal::{parameter_sets, sprop, NalDepacketizer, NalPacketizer, NalSyntax, VIDEO_CLOCK};
use super::{boxed, Depacketizer, PayloadDescription, PayloadFormat, PayloadHeader, RtpError};
use crate::codec::hevc::Sps;
use crate::media::Track;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `H265/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["H265"],
    packetizer: |track, _| (track.codec == Codec::Hevc).then(|| boxed(packetizer(track))),
    depacketizer: |description| {
        // DONL fields are present when sprop-max-don-diff > 0 (§7.1).
        match description.fmtp_param("sprop-max-don-diff").unwrap_or("0") {
            "0" => Ok(Box::new(NalDepacketizer::<Hevc>::new()) as Box<dyn Depacketizer>),
            _ => Err(RtpError::Unsupported(
                "H.265 with decoding order numbers (sprop-max-don-diff > 0)".into(),
            )),
        }
    },
};

/// The H.265 NAL unit header (ITU-T H.265 §7.3.1.2): forbidden_zero_bit,
/// nal_unit_type (6 bits), nuh_layer_id (6 bits), nuh_temporal_id_plus1 (3).
pub struct Hevc;

impl Hevc {
    fn layer_id(header: &[u8]) -> u8 {
        ((header[0] & 1) << 5) | (header[1] >> 3)
    }
}

impl NalSyntax for Hevc {
    const NAME: &'static str = "H.265";
    const HEADER_LEN: usize = 2;
    /// RFC 7798 §4.4.2 AP.
    const AGGREGATION: u8 = 48;
    /// RFC 7798 §4.4.3 FU.
    const FRAGMENT: u8 = 49;
    /// VPS (32), SPS (33), PPS (34), ITU-T H.265 Table 7-1.
    const PARAMETER_SETS: &'static [u8] = &[32, 33, 34];

    fn nal_type(nal: &[u8]) -> u8 {
        (nal[0] >> 1) & 0x3f
    }

    fn with_type(header: &[u8], nal_type: u8) -> PayloadHeader {
        [(header[0] & 0x81) | (nal_type << 1), header[1]]
            .into_iter()
            .collect()
    }

    /// RFC 7798 §4.4.2: F is the OR of the aggregated units' F bits,
    /// LayerId and TID their minimums.
    fn aggregation_header(nals: &[Bytes]) -> PayloadHeader {
        let f = nals.iter().fold(0, |acc, n| acc | (n[0] & 0x80));
        let layer = nals.iter().map(|n| Self::layer_id(n)).min().unwrap_or(0);
        let tid = nals.iter().map(|n| n[1] & 7).min().unwrap_or(1);
        [
            f | (Self::AGGREGATION << 1) | (layer >> 5),
            ((layer & 0x1f) << 3) | tid,
        ]
        .into_iter()
        .collect()
    }

    /// RFC 7798 §4.4.3: S, E and the 6-bit FuType.
    fn parse_fu_header(byte: u8) -> (bool, bool, u8) {
        (byte & 0x80 != 0, byte & 0x40 != 0, byte & 0x3f)
    }

    /// IRAP pictures: BLA, IDR and CRA (types 16–21).
    fn is_random_access(nal_type: u8) -> bool {
        (16..=21).contains(&nal_type)
    }

    fn is_delimiter(nal_type: u8) -> bool {
        nal_type == 35
    }

    /// RFC 7798 §4.4: 48 is AP, 49 FU, 50 PACI; 0–47 are NAL unit types.
    fn is_nal_unit_type(nal_type: u8) -> bool {
        nal_type < 48
    }
}

/// RFC 7798 packetizer, with VPS, SPS and PPS re-sent before each IRAP
/// picture that lacks them.
pub type HevcPacketizer = NalPacketizer<Hevc>;

/// A packetizer for `track`, whose configuration must hold VPS, SPS and PPS.
pub fn packetizer(track: &Track) -> Result<HevcPacketizer, RtpError> {
    Ok(NalPacketizer::new(track, description(track)?))
}

/// RFC 7798 §7.1: `H265/90000` with `profile-space`, `profile-id`,
/// `tier-flag` and `level-id` from the first SPS's general
/// profile_tier_level (ITU-T H.265 §7.3.3) when it parses, then
/// `sprop-vps`, `sprop-sps` and `sprop-pps`.
fn description(track: &Track) -> Result<PayloadDescription, RtpError> {
    let [vps, sps, pps] =
        [32, 33, 34].map(|t| parameter_sets::<Hevc>(track, t).collect::<Vec<_>>());
    if vps.is_empty() || sps.is_empty() || pps.is_empty() {
        return Err(RtpError::MissingConfig(
            "H.265 track lacks a VPS, SPS or PPS".into(),
        ));
    }
    let ptl = sps
        .iter()
        .find_map(|nal| Sps::from_nal(nal).ok())
        .map(|s| s.ptl);
    let profile = ptl.map_or_else(String::new, |p| {
        format!(
            "profile-space={};profile-id={};tier-flag={};level-id={};",
            p.profile_space,
            p.profile_idc,
            u8::from(p.tier_flag),
            p.level_idc
        )
    });
    Ok(PayloadDescription {
        media: TrackKind::Video,
        static_payload_type: None,
        encoding: "H265",
        clock_rate: VIDEO_CLOCK,
        channels: None,
        fmtp: Some(format!(
            "{profile}sprop-vps={};sprop-sps={};sprop-pps={}",
            sprop(vps),
            sprop(sps),
            sprop(pps)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::AccessUnit;
    use crate::rtp::tests::{annexb, depacketize, receive};
    use crate::rtp::Packetizer;
    use crate::vocab::NalFraming;

    const VPS: &[u8] = &[0x40, 0x01, 0x0c, 0x01];
    const SPS: &[u8] = &[0x42, 0x01, 0x01, 0x01];
    const PPS: &[u8] = &[0x44, 0x01, 0xc1, 0x72];

    fn track() -> Track {
        let mut t = Track::new(0, Codec::Hevc, 90000);
        t.framing = NalFraming::AnnexB;
        t.config.parameter_sets = [VPS, SPS, PPS]
            .iter()
            .map(|n| Bytes::from_static(n))
            .collect();
        t
    }

    fn nal(nal_type: u8, tid: u8, len: usize) -> Vec<u8> {
        let mut v = vec![nal_type << 1, tid];
        v.extend((0..len - 2).map(|i| (i % 13) as u8 + 1));
        v
    }

    #[test]
    fn description_lists_parameter_sets() {
        let d = packetizer(&track()).unwrap().description();
        assert_eq!(d.rtpmap(), "H265/90000");
        assert_eq!(
            d.fmtp.as_deref(),
            Some("sprop-vps=QAEMAQ==;sprop-sps=QgEBAQ==;sprop-pps=RAHBcg==")
        );
        let mut t = track();
        t.config.parameter_sets.remove(0);
        assert!(packetizer(&t).is_err());
    }

    #[test]
    fn ap_and_fu_round_trip_with_parameter_sets_before_cra() {
        let mut p = packetizer(&track()).unwrap();
        let cra = nal(21, 1, 2500);
        let trail = nal(1, 2, 40);
        let unit = |pts, data| AccessUnit {
            track: 0,
            pts,
            dts: pts - 3600,
            duration: 3600,
            keyframe: true,
            data,
        };
        let mut payloads = Vec::new();
        p.packetize(
            &unit(3600, annexb(&[&nal(35, 1, 3), &cra])),
            1200,
            &mut payloads,
        )
        .unwrap();
        p.packetize(&unit(7200, annexb(&[&trail])), 1200, &mut payloads)
            .unwrap();
        // AP(AUD, VPS, SPS, PPS), three FUs, one single NAL unit.
        assert_eq!(payloads.len(), 5);
        assert_eq!(payloads[0].header.as_slice(), &[48 << 1, 1]);
        assert_eq!(payloads[1].header.as_slice(), &[49 << 1, 1, 0x80 | 21]);
        assert_eq!(payloads[3].header.as_slice(), &[49 << 1, 1, 0x40 | 21]);
        assert!(payloads[3].marker && payloads[4].marker && !payloads[2].marker);
        assert_eq!(payloads[4].timestamp, 7200);
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, annexb(&[&nal(35, 1, 3), VPS, SPS, PPS, &cra]));
        assert_eq!(out[1].data, annexb(&[&trail]));
    }

    #[test]
    fn aggregation_header_takes_lowest_tid_and_layer() {
        let a = Bytes::from(vec![0x02 | 1, 0x0a]); // layer 33, tid 2
        let b = Bytes::from(vec![0x02, 0x13]); // layer 2, tid 3
        assert_eq!(Hevc::aggregation_header(&[a, b]).as_slice(), &[0x60, 0x12]);
    }

    #[test]
    fn donl_streams_are_refused() {
        let d =
            PayloadDescription::parse(TrackKind::Video, "H265/90000", Some("sprop-max-don-diff=2"))
                .unwrap();
        assert!(crate::rtp::depacketizer(&d).is_err());
    }

    fn fixture_track(name: &str) -> Track {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures")
            .join(name);
        crate::media::open(&path).unwrap().tracks()[0].clone()
    }

    #[test]
    fn fmtp_has_profile_tier_level_and_parameter_sets() {
        let track = fixture_track("hevc_bframes.265");
        let fmtp = packetizer(&track).unwrap().description().fmtp.unwrap();
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
        let mut track = fixture_track("hevc_odd_ntsc.h265");
        let sps = &mut track.config.parameter_sets[1];
        *sps = sps.slice(..6);
        let fmtp = packetizer(&track).unwrap().description().fmtp.unwrap();
        assert!(fmtp.starts_with("sprop-vps="), "{fmtp}");
    }
}
