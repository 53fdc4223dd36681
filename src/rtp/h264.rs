//! H.264 over RTP, RFC 6184, packetization mode 1 (non-interleaved, §6.3):
//! single NAL unit packets, STAP-A and FU-A.

use base64::Engine;
use bytes::Bytes;

use super::nal::{NalDepacketizer, NalPacketizer, NalSyntax, VIDEO_CLOCK};
use super::{
    Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader, RtpError,
    RtpPayload,
};
use crate::media::{AccessUnit, Codec, Track, TrackKind};

/// The registry entry: `H264/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["H264"],
    packetizer: |track| {
        (track.codec == Codec::H264)
            .then(|| H264Packetizer::new(track).map(|p| Box::new(p) as Box<dyn Packetizer>))
    },
    depacketizer: |description| {
        // Mode 0 streams are a subset of mode 1; mode 2 (interleaved) needs
        // decoding-order reordering we do not do.
        match description.fmtp_param("packetization-mode").unwrap_or("0") {
            "0" | "1" => Ok(Box::new(NalDepacketizer::<H264>::new()) as Box<dyn Depacketizer>),
            mode => Err(RtpError::Unsupported(format!(
                "H.264 packetization-mode={mode}"
            ))),
        }
    },
};

/// The H.264 NAL unit header (ITU-T H.264 §7.3.1): forbidden_zero_bit,
/// nal_ref_idc (2 bits), nal_unit_type (5 bits).
pub struct H264;

impl NalSyntax for H264 {
    const NAME: &'static str = "H.264";
    const HEADER_LEN: usize = 1;
    /// RFC 6184 §5.7.1 STAP-A.
    const AGGREGATION: u8 = 24;
    /// RFC 6184 §5.8 FU-A.
    const FRAGMENT: u8 = 28;
    /// SPS (7) and PPS (8), ITU-T H.264 Table 7-1.
    const PARAMETER_SETS: &'static [u8] = &[7, 8];

    fn nal_type(nal: &[u8]) -> u8 {
        nal[0] & 0x1f
    }

    fn with_type(header: &[u8], nal_type: u8) -> PayloadHeader {
        [(header[0] & 0xe0) | nal_type].into_iter().collect()
    }

    /// RFC 6184 §5.7.1: F is the OR of the aggregated units' F bits and NRI
    /// their maximum.
    fn aggregation_header(nals: &[Bytes]) -> PayloadHeader {
        let f = nals.iter().fold(0, |acc, n| acc | (n[0] & 0x80));
        let nri = nals.iter().map(|n| n[0] & 0x60).max().unwrap_or(0);
        [f | nri | Self::AGGREGATION].into_iter().collect()
    }

    /// RFC 6184 §5.8: S, E, R (zero) and the 5-bit type.
    fn parse_fu_header(byte: u8) -> (bool, bool, u8) {
        (byte & 0x80 != 0, byte & 0x40 != 0, byte & 0x1f)
    }

    /// An IDR picture's slice (type 5).
    fn is_random_access(nal_type: u8) -> bool {
        nal_type == 5
    }

    fn is_delimiter(nal_type: u8) -> bool {
        nal_type == 9
    }

    /// RFC 6184 Table 1: types 1–23 are NAL units; 0 and 30–31 are
    /// reserved, 24–29 packet types.
    fn is_nal_unit_type(nal_type: u8) -> bool {
        (1..=23).contains(&nal_type)
    }
}

/// RFC 6184 packetization mode 1, with SPS and PPS re-sent (as a STAP-A)
/// before each IDR picture that lacks them, so a receiver can start at any
/// IDR.
pub struct H264Packetizer {
    nal: NalPacketizer<H264>,
    description: PayloadDescription,
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
        let b64 = base64::engine::general_purpose::STANDARD;
        let sprop: Vec<String> = std::iter::once(&sps)
            .chain(of_type(8))
            .map(|n| b64.encode(n))
            .collect();
        // RFC 6184 §8.1: `profile-level-id` is the SPS bytes after the NAL
        // header (profile_idc, constraint flags, level_idc);
        // `sprop-parameter-sets` the base64 SPS and PPS NAL units.
        let description = PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "H264",
            clock_rate: VIDEO_CLOCK,
            channels: None,
            fmtp: Some(format!(
                "packetization-mode=1;profile-level-id={};sprop-parameter-sets={}",
                hex::encode_upper(&sps[1..4]),
                sprop.join(",")
            )),
        };
        Ok(H264Packetizer {
            nal: NalPacketizer::new(track),
            description,
        })
    }
}

impl Packetizer for H264Packetizer {
    fn description(&self) -> PayloadDescription {
        self.description.clone()
    }

    fn min_payload(&self) -> usize {
        NalPacketizer::<H264>::min_payload()
    }

    fn packetize(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        self.nal.packetize(unit, max_payload, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::NalFraming;
    use crate::rtp::{ReceivedPacket, ReceivedUnit};

    const SPS: &[u8] = &[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9];
    const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb];

    fn track(framing: NalFraming) -> Track {
        let mut t = Track::new(0, Codec::H264, 90000);
        t.framing = framing;
        t.config.parameter_sets = vec![Bytes::from_static(SPS), Bytes::from_static(PPS)];
        t
    }

    fn annexb(nals: &[&[u8]]) -> Bytes {
        nals.iter()
            .flat_map(|n| [0, 0, 0, 1].iter().chain(n.iter()).copied())
            .collect::<Vec<u8>>()
            .into()
    }

    fn unit(pts: i64, data: Bytes) -> AccessUnit {
        AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: 3600,
            keyframe: false,
            data,
        }
    }

    fn slice(nal_type: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0x60 | nal_type];
        v.extend((0..len - 1).map(|i| (i % 251) as u8 + 1));
        v
    }

    /// Packetizes and depacketizes, returning payloads and received units.
    fn round_trip(units: &[AccessUnit], max: usize) -> (Vec<RtpPayload>, Vec<ReceivedUnit>) {
        let mut p = H264Packetizer::new(&track(NalFraming::AnnexB)).unwrap();
        let mut payloads = Vec::new();
        for u in units {
            p.packetize(u, max, &mut payloads).unwrap();
        }
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let mut out = Vec::new();
        for (i, pl) in payloads.iter().enumerate() {
            let mut payload = pl.header.to_vec();
            payload.extend_from_slice(&pl.data);
            let packet = ReceivedPacket {
                sequence: i as u16,
                timestamp: pl.timestamp,
                marker: pl.marker,
                payload: payload.into(),
            };
            d.push(&packet, &mut out).unwrap();
        }
        d.finish(&mut out);
        (payloads, out)
    }

    #[test]
    fn description_carries_profile_and_parameter_sets() {
        let p = H264Packetizer::new(&track(NalFraming::AnnexB)).unwrap();
        let d = p.description();
        assert_eq!(d.rtpmap(), "H264/90000");
        assert_eq!(
            d.fmtp.as_deref(),
            Some("packetization-mode=1;profile-level-id=64001F;sprop-parameter-sets=Z2QAH6zZ,aOvjyw==")
        );
    }

    #[test]
    fn single_nal_stap_a_and_fu_a() {
        let idr = slice(5, 3000);
        let data = annexb(&[&[0x09, 0xf0], SPS, PPS, &slice(6, 20), &idr]);
        let (payloads, out) = round_trip(&[unit(7, data.clone())], 1400);
        // AUD+SPS+PPS+SEI aggregated; the IDR in three FU-As.
        assert_eq!(payloads.len(), 4);
        assert_eq!(payloads[0].header.as_slice(), &[0x78]); // NRI 3, STAP-A
        assert_eq!(payloads[0].data[..4], [0, 2, 0x09, 0xf0]);
        assert_eq!(payloads[1].header.as_slice(), &[0x7c, 0x85]); // FU-A, S, IDR
        assert_eq!(payloads[2].header.as_slice(), &[0x7c, 0x05]);
        assert_eq!(payloads[3].header.as_slice(), &[0x7c, 0x45]); // E
        assert!(payloads.iter().all(|p| p.len() <= 1400 && p.timestamp == 7));
        assert_eq!(
            payloads.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [false, false, false, true]
        );
        // The FU-A data are slices of the unit, not copies.
        let start = data.as_ptr() as usize;
        let at = payloads[1].data.as_ptr() as usize;
        assert!(at > start && at < start + data.len());
        assert_eq!(out, vec![ReceivedUnit { timestamp: 7, data }]);
    }

    #[test]
    fn parameter_sets_are_inserted_before_idr_after_aud() {
        let idr = slice(5, 100);
        let (payloads, out) = round_trip(
            &[
                unit(0, annexb(&[&[0x09, 0x10], &idr])),
                unit(3600, annexb(&[&slice(1, 2000)])),
            ],
            1400,
        );
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, annexb(&[&[0x09, 0x10], SPS, PPS, &idr]));
        assert_eq!(out[1].timestamp, 3600);
        assert_eq!(payloads.len(), 3); // one STAP-A, two FU-A
        assert_eq!(payloads[1].header.as_slice(), &[0x7c, 0x81]);
    }

    #[test]
    fn in_band_parameter_sets_replace_the_stored_ones() {
        let sps2: &[u8] = &[0x67, 0x4d, 0x00, 0x28, 0x11];
        let idr = slice(5, 50);
        let (_, out) = round_trip(
            &[
                unit(0, annexb(&[sps2, PPS, &idr])),
                unit(3600, annexb(&[&idr])),
            ],
            1400,
        );
        assert_eq!(out[1].data, annexb(&[sps2, PPS, &idr]));
    }

    #[test]
    fn length_prefixed_units() {
        let mut t = track(NalFraming::LengthPrefixed(4));
        t.config.parameter_sets.truncate(1);
        let mut p = H264Packetizer::new(&t).unwrap();
        let nal = slice(1, 10);
        let mut data = vec![0, 0, 0, 10];
        data.extend(&nal);
        let mut out = Vec::new();
        p.packetize(&unit(90, data.into()), 1400, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].data[..], &nal[..]);
        assert!(out[0].header.is_empty() && out[0].marker);
    }

    #[test]
    fn tiny_payloads_still_fragment() {
        let idr = slice(5, 10);
        let (payloads, out) = round_trip(&[unit(0, annexb(&[SPS, PPS, &idr]))], 3);
        assert!(payloads.iter().all(|p| p.len() <= 3));
        assert_eq!(out[0].data, annexb(&[SPS, PPS, &idr]));
        let mut p = H264Packetizer::new(&track(NalFraming::AnnexB)).unwrap();
        assert!(p
            .packetize(&unit(0, annexb(&[&idr])), 2, &mut Vec::new())
            .is_err());
    }

    #[test]
    fn depacketizer_drops_a_unit_with_a_lost_fragment_and_rejects_bad_packets() {
        let mut d = NalDepacketizer::<H264>::new();
        let mut out = Vec::new();
        let packet = |sequence, marker, payload: &[u8]| ReceivedPacket {
            sequence,
            timestamp: 1,
            marker,
            payload: Bytes::copy_from_slice(payload),
        };
        d.push(&packet(0, false, &[0x7c, 0x85, 1]), &mut out)
            .unwrap();
        d.push(&packet(2, true, &[0x7c, 0x45, 3]), &mut out)
            .unwrap();
        assert!(out.is_empty());
        assert!(d
            .push(&packet(3, true, &[0x78, 0, 9, 1]), &mut out)
            .is_err());
        assert!(d
            .push(&packet(4, true, &[0x79, 0, 1, 1]), &mut out)
            .is_err());
        assert!(d.push(&packet(5, true, &[]), &mut out).is_err());
        assert!(d.push(&packet(6, true, &[0x7c]), &mut out).is_err());
    }

    #[test]
    fn interleaved_mode_is_refused() {
        let d =
            PayloadDescription::parse(TrackKind::Video, "H264/90000", Some("packetization-mode=2"))
                .unwrap();
        assert!(crate::rtp::depacketizer(&d).is_err());
    }
}
