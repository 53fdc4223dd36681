//! H.264 over RTP, RFC 6184, packetization mode 1 (non-interleaved, §6.3):
//! single NAL unit packets, STAP-A and FU-A.

use bytes::Bytes;

use super::nal::{parameter_sets, sprop, NalDepacketizer, NalPacketizer, NalSyntax, VIDEO_CLOCK};
use super::{boxed, Depacketizer, PayloadDescription, PayloadFormat, PayloadHeader, RtpError};
use crate::media::Track;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `H264/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["H264"],
    packetizer: |track, _| (track.codec == Codec::H264).then(|| boxed(packetizer(track))),
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
pub type H264Packetizer = NalPacketizer<H264>;

/// A packetizer for `track`, whose configuration must hold an SPS.
pub fn packetizer(track: &Track) -> Result<H264Packetizer, RtpError> {
    Ok(NalPacketizer::new(track, description(track)?))
}

/// RFC 6184 §8.1 and §8.2.1: `H264/90000` with `packetization-mode=1`,
/// `profile-level-id` (the first SPS's bytes after the NAL header:
/// profile_idc, constraint flags, level_idc, ITU-T H.264 §7.3.2.1.1) and
/// `sprop-parameter-sets` (that SPS and every PPS).
fn description(track: &Track) -> Result<PayloadDescription, RtpError> {
    let sps = parameter_sets::<H264>(track, 7)
        .find(|s| s.len() >= 4)
        .ok_or_else(|| {
            RtpError::MissingConfig("H.264 track has no sequence parameter set".into())
        })?;
    let sets = std::iter::once(sps).chain(parameter_sets::<H264>(track, 8));
    Ok(PayloadDescription {
        media: TrackKind::Video,
        static_payload_type: None,
        encoding: "H264",
        clock_rate: VIDEO_CLOCK,
        channels: None,
        fmtp: Some(format!(
            "packetization-mode=1;profile-level-id={};sprop-parameter-sets={}",
            hex::encode_upper(&sps[1..4]),
            sprop(sets)
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::AccessUnit;
    use crate::rtp::tests::{annexb, depacketize, receive, unit};
    use crate::rtp::{Packetizer, ReceivedPacket, ReceivedUnit, RtpPayload};
    use crate::vocab::NalFraming;

    const SPS: &[u8] = &[0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9];
    const PPS: &[u8] = &[0x68, 0xeb, 0xe3, 0xcb];

    fn track(framing: NalFraming) -> Track {
        let mut t = Track::new(0, Codec::H264, 90000);
        t.framing = framing;
        t.config.parameter_sets = vec![Bytes::from_static(SPS), Bytes::from_static(PPS)];
        t
    }

    fn slice(nal_type: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0x60 | nal_type];
        v.extend((0..len - 1).map(|i| (i % 251) as u8 + 1));
        v
    }

    /// Packetizes and depacketizes, returning payloads and received units.
    fn round_trip(units: &[AccessUnit], max: usize) -> (Vec<RtpPayload>, Vec<ReceivedUnit>) {
        let mut p = packetizer(&track(NalFraming::AnnexB)).unwrap();
        let mut payloads = Vec::new();
        for u in units {
            p.packetize(u, max, &mut payloads).unwrap();
        }
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        (payloads, out)
    }

    #[test]
    fn description_carries_profile_and_parameter_sets() {
        let p = packetizer(&track(NalFraming::AnnexB)).unwrap();
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
        let mut p = packetizer(&t).unwrap();
        let nal = slice(1, 10);
        let mut data = vec![0, 0, 0, 10];
        data.extend(&nal);
        let mut out = Vec::new();
        p.packetize(&unit(90, data), 1400, &mut out).unwrap();
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
        let mut p = packetizer(&track(NalFraming::AnnexB)).unwrap();
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
