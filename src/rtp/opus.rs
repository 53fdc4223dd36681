//! Opus over RTP, RFC 7587: one Opus packet per RTP packet, no payload
//! header, `opus/48000/2` whatever the stream's channels and input rate
//! (§4.1, §7), timestamps in 48 kHz samples.
//!
//! Not implemented: the receiver-side parameters of §6.1 (`maxplaybackrate`,
//! `ptime`, `maxaveragebitrate`, `useinbandfec`, `usedtx`, `cbr`) and
//! `sprop-maxcapturerate`, which a file sender has no use for; multistream
//! Opus (channel mapping families other than 0), which RFC 7587 does not
//! carry.

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::opus::{packet_samples, OpusHead, SAMPLE_RATE};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `opus/48000/2`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["opus"],
    packetizer: |track, _| (track.codec == Codec::Opus).then(|| boxed(OpusPacketizer::new(track))),
    depacketizer: |_| Ok(Box::new(OpusDepacketizer)),
};

/// RFC 7587 packetizer.
pub struct OpusPacketizer {
    clock_rate: u32,
    stereo: bool,
}

impl OpusPacketizer {
    /// A packetizer for an Opus track: its channel count from the
    /// `OpusHead` in its configuration, or from the track.
    pub fn new(track: &Track) -> Result<OpusPacketizer, RtpError> {
        let channels = if track.config.extradata.is_empty() {
            track.audio().map(|a| a.channels).ok_or_else(|| {
                RtpError::MissingConfig("Opus track has neither OpusHead nor channel count".into())
            })?
        } else {
            let head = OpusHead::parse(&track.config.extradata)
                .map_err(|e| RtpError::MissingConfig(format!("Opus track: {e}")))?;
            if head.mapping_family != 0 {
                return Err(RtpError::Unsupported(format!(
                    "Opus with {} channels in mapping family {} (RFC 7587 carries mono and stereo only)",
                    head.channels, head.mapping_family
                )));
            }
            u16::from(head.channels)
        };
        if !(1..=2).contains(&channels) {
            return Err(RtpError::Unsupported(format!(
                "Opus with {channels} channels (RFC 7587 carries mono and stereo only)"
            )));
        }
        Ok(OpusPacketizer {
            clock_rate: track.clock_rate,
            stereo: channels == 2,
        })
    }
}

impl Packetizer for OpusPacketizer {
    /// RFC 7587 §7: `opus/48000/2` always; `sprop-stereo=1` (the sender
    /// sends stereo) and `stereo=1` (it would receive stereo) for a stereo
    /// stream, `sprop-stereo=0` for mono.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: None,
            encoding: "opus",
            clock_rate: SAMPLE_RATE,
            channels: Some(2),
            fmtp: Some(if self.stereo {
                "sprop-stereo=1;stereo=1".into()
            } else {
                "sprop-stereo=0".into()
            }),
        }
    }

    /// The TOC byte: Opus packets have at least one byte (RFC 6716 §3.4 R1).
    fn min_payload(&self) -> usize {
        1
    }

    /// RFC 7587 §4.2: one whole Opus packet per RTP packet (a packet that
    /// does not fit is an error: the format has no fragments); the
    /// timestamp in 48 kHz samples (§4.1); the marker bit 0, as a file is
    /// sent without discontinuous transmission (RFC 3551 §4.1).
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        packet_samples(&unit.data)
            .map_err(|e| RtpError::BadUnit(format!("malformed Opus packet: {e}")))?;
        if unit.data.len() > max_payload {
            return Err(RtpError::BadUnit(format!(
                "Opus packet of {} bytes exceeds the {max_payload}-byte payload (RFC 7587 has no fragments)",
                unit.data.len()
            )));
        }
        out.push(RtpPayload {
            header: PayloadHeader::new(),
            data: unit.data.clone(),
            marker: false,
            timestamp: rescale(unit.pts, self.clock_rate, SAMPLE_RATE) as u32,
        });
        Ok(())
    }
}

/// RFC 7587 depacketizer: each payload is one Opus packet, checked to be
/// well formed (RFC 6716 §3.4).
pub struct OpusDepacketizer;

impl Depacketizer for OpusDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        packet_samples(&packet.payload).map_err(|e| RtpError::Malformed(format!("opus: {e}")))?;
        out.push(ReceivedUnit {
            timestamp: packet.timestamp,
            data: packet.payload.clone(),
        });
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioParams, TrackParams};
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use bytes::Bytes;
    use proptest::prelude::*;

    fn track(head: Option<Vec<u8>>, channels: Option<u16>) -> Track {
        let mut t = Track::new(0, Codec::Opus, 48000);
        if let Some(channels) = channels {
            t.params = TrackParams::Audio(AudioParams::new(48000, channels));
        }
        if let Some(h) = head {
            t.config.extradata = h.into();
        }
        t
    }

    fn head(channels: u8, family: u8) -> Vec<u8> {
        let mut h = b"OpusHead".to_vec();
        h.extend_from_slice(&[1, channels, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, family]);
        if family != 0 {
            h.extend_from_slice(&[channels, 0]);
            h.extend(0..channels);
        }
        h
    }

    /// An Opus packet of `len` bytes: CELT FB 20 ms, one frame.
    fn opus_packet(len: usize) -> Vec<u8> {
        let mut p = vec![31 << 3];
        p.resize(len, 0x55);
        p
    }

    #[test]
    fn descriptions() {
        let stereo = OpusPacketizer::new(&track(Some(head(2, 0)), None)).unwrap();
        let d = stereo.description();
        assert_eq!(d.rtpmap(), "opus/48000/2");
        assert_eq!(d.fmtp_param("sprop-stereo"), Some("1"));
        assert_eq!(d.fmtp_param("stereo"), Some("1"));
        assert_eq!(d.payload_type(0), 96);
        let mono = OpusPacketizer::new(&track(None, Some(1))).unwrap();
        assert_eq!(mono.description().fmtp.as_deref(), Some("sprop-stereo=0"));
        assert!(matches!(
            OpusPacketizer::new(&track(Some(head(6, 1)), None)),
            Err(RtpError::Unsupported(_))
        ));
        assert!(matches!(
            OpusPacketizer::new(&track(None, None)),
            Err(RtpError::MissingConfig(_))
        ));
        assert!(OpusPacketizer::new(&track(Some(b"OpusHea".to_vec()), Some(2))).is_err());
        assert!(OpusPacketizer::new(&track(None, Some(3))).is_err());
    }

    #[test]
    fn one_packet_each_timed_at_48_khz() {
        // A track timed in milliseconds: 20 ms is 960 samples.
        let mut t = track(Some(head(2, 0)), None);
        t.clock_rate = 1000;
        let mut p = OpusPacketizer::new(&t).unwrap();
        let mut payloads = Vec::new();
        for (i, len) in [3, 200, 1].into_iter().enumerate() {
            p.packetize(&unit(20 * i as i64, opus_packet(len)), 200, &mut payloads)
                .unwrap();
        }
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.timestamp, p.len(), p.marker))
                .collect::<Vec<_>>(),
            [(0, 3, false), (960, 200, false), (1920, 1, false)]
        );
        let mut none = Vec::new();
        assert!(matches!(
            p.packetize(&unit(0, opus_packet(201)), 200, &mut none),
            Err(RtpError::BadUnit(_))
        ));
        assert!(matches!(
            p.packetize(&unit(0, Vec::new()), 200, &mut none),
            Err(RtpError::BadUnit(_))
        ));
        assert!(none.is_empty());
        let out = depacketize(&mut OpusDepacketizer, &receive(&payloads));
        assert_eq!(out[1].data, Bytes::from(opus_packet(200)));
        assert_eq!(out[2].timestamp, 1920);
    }

    #[test]
    fn malformed_packets_are_refused() {
        let mut d = OpusDepacketizer;
        let mut out = Vec::new();
        for bad in [&[][..], &[3], &[(28 << 3) | 3, 0]] {
            assert!(d.push(&packet(0, 0, bad), &mut out).is_err());
        }
        assert!(out.is_empty());
    }

    proptest! {
        /// Any packet sizes and payload limits: every packet that fits
        /// comes back as it went, with its timestamp.
        #[test]
        fn round_trip(sizes in prop::collection::vec(1usize..1500, 1..30), max in 1usize..1500) {
            let mut p = OpusPacketizer::new(&track(None, Some(2))).unwrap();
            let mut payloads = Vec::new();
            let mut sent = Vec::new();
            for (i, &len) in sizes.iter().enumerate() {
                let u = unit(960 * i as i64, opus_packet(len));
                let fits = len <= max;
                prop_assert_eq!(p.packetize(&u, max, &mut payloads).is_ok(), fits);
                if fits {
                    sent.push((u.pts as u32, u.data));
                }
            }
            let out = depacketize(&mut OpusDepacketizer, &receive(&payloads));
            let got: Vec<(u32, Bytes)> = out.into_iter().map(|u| (u.timestamp, u.data)).collect();
            prop_assert_eq!(got, sent);
        }
    }
}
