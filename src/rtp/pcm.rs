//! Uncompressed and G.711 audio over RTP: L8/L16 (RFC 3551 §4.5.10–11),
//! L24 (RFC 3190 §4), PCMU/PCMA (RFC 3551 §4.5.14). Samples go in network
//! byte order, channels interleaved, at most 20 ms per packet (RFC 3551
//! §4.2 default packetization interval) and never more than the MTU allows.

use bytes::Bytes;

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, PcmFormat, TrackKind};

/// The registry entry: `L8`, `L16`, `L24`, `PCMU`, `PCMA`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["L8", "L16", "L24", "PCMU", "PCMA"],
    packetizer: |track| {
        matches!(track.codec, Codec::Pcm(_)).then(|| boxed(PcmPacketizer::new(track)))
    },
    depacketizer: |description| {
        let sample_bytes = match description.encoding {
            "L16" => 2,
            "L24" => 3,
            _ => 1,
        };
        let channels = usize::from(description.channels.unwrap_or(1).max(1));
        Ok(Box::new(PcmDepacketizer {
            frame_bytes: sample_bytes * channels,
        }))
    },
};

/// The RTP wire encoding of a WAV sample format.
fn encoding(format: PcmFormat) -> Option<&'static str> {
    Some(match format {
        PcmFormat::U8 => "L8",
        PcmFormat::S16Le | PcmFormat::S16Be => "L16",
        PcmFormat::S24Le | PcmFormat::S24Be => "L24",
        PcmFormat::Mulaw => "PCMU",
        PcmFormat::Alaw => "PCMA",
        PcmFormat::S32Le | PcmFormat::F32Le | PcmFormat::F64Le => return None,
    })
}

/// Samples of `format` as the RTP wire encoding carries them: 16 and 24-bit
/// little-endian samples byte-swapped to network order (RFC 3551 §4.5.11,
/// RFC 3190 §4), everything else unchanged (a zero-copy slice). A trailing
/// partial sample is dropped.
pub fn wire_samples(format: PcmFormat, data: &Bytes) -> Bytes {
    let width = match format {
        PcmFormat::S16Le => 2,
        PcmFormat::S24Le => 3,
        _ => return data.clone(),
    };
    let mut out = data[..data.len() - data.len() % width].to_vec();
    // Plain loops over fixed-size chunks, which the compiler vectorizes.
    if width == 2 {
        for sample in out.chunks_exact_mut(2) {
            let value = u16::from_le_bytes([sample[0], sample[1]]);
            sample.copy_from_slice(&value.to_be_bytes());
        }
    } else {
        for sample in out.chunks_exact_mut(3) {
            sample.swap(0, 2);
        }
    }
    out.into()
}

/// PCM packetizer.
pub struct PcmPacketizer {
    format: PcmFormat,
    /// The `a=rtpmap` encoding name of `format`.
    encoding: &'static str,
    /// The track's clock, of the units' timestamps.
    clock_rate: u32,
    sample_rate: u32,
    channels: u16,
}

impl PcmPacketizer {
    /// A packetizer for a PCM track with a wire encoding.
    pub fn new(track: &Track) -> Result<PcmPacketizer, RtpError> {
        let Codec::Pcm(format) = track.codec else {
            return Err(RtpError::Unsupported(track.codec.name().to_owned()));
        };
        let encoding = encoding(format).ok_or_else(|| {
            RtpError::Unsupported(format!(
                "{} (RTP carries 8, 16 and 24-bit linear PCM)",
                track.codec
            ))
        })?;
        let missing = |what: &str| RtpError::MissingConfig(format!("PCM track has no {what}"));
        let audio = track.audio();
        Ok(PcmPacketizer {
            format,
            encoding,
            clock_rate: track.clock_rate,
            sample_rate: audio
                .map(|a| a.sample_rate)
                .filter(|&r| r > 0)
                .ok_or_else(|| missing("sample rate"))?,
            channels: audio
                .map(|a| a.channels)
                .filter(|&c| c > 0)
                .ok_or_else(|| missing("channel count"))?,
        })
    }

    /// Bytes per sample frame (one sample of every channel).
    fn frame_bytes(&self) -> usize {
        self.format.bytes() * usize::from(self.channels)
    }

    /// RFC 3551 Table 4: PCMU 0, PCMA 8 (8 kHz mono), L16 10 (44.1 kHz
    /// stereo) and 11 (44.1 kHz mono).
    fn static_payload_type(&self) -> Option<u8> {
        match (self.encoding, self.sample_rate, self.channels) {
            ("PCMU", 8000, 1) => Some(0),
            ("PCMA", 8000, 1) => Some(8),
            ("L16", 44100, 2) => Some(10),
            ("L16", 44100, 1) => Some(11),
            _ => None,
        }
    }
}

impl Packetizer for PcmPacketizer {
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: self.static_payload_type(),
            encoding: self.encoding,
            clock_rate: self.sample_rate,
            channels: Some(self.channels),
            fmtp: None,
        }
    }

    fn min_payload(&self) -> usize {
        self.frame_bytes()
    }

    /// The timestamp counts sample frames (RFC 3551 §4.5.10); the marker
    /// bit stays 0 (no silence suppression, RFC 3551 §4.1).
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let frame = self.frame_bytes();
        if !unit.data.len().is_multiple_of(frame) {
            return Err(RtpError::BadUnit(format!(
                "PCM block of {} bytes is not a whole number of {frame}-byte sample frames",
                unit.data.len()
            )));
        }
        let ptime = (self.sample_rate / 50).max(1) as usize;
        let mtu_limit = max_payload / frame;
        let per_packet = if mtu_limit >= ptime {
            ptime
        } else {
            // As few packets as the MTU allows, of even size.
            let frames = unit.data.len() / frame;
            frames.div_ceil(frames.div_ceil(mtu_limit).max(1)).max(1)
        };
        let wire = wire_samples(self.format, &unit.data);
        let first = rescale(unit.pts, self.clock_rate, self.sample_rate);
        for (i, start) in (0..wire.len()).step_by(per_packet * frame).enumerate() {
            let end = (start + per_packet * frame).min(wire.len());
            out.push(RtpPayload {
                header: PayloadHeader::new(),
                data: wire.slice(start..end),
                marker: false,
                timestamp: first.wrapping_add((i * per_packet) as i64) as u32,
            });
        }
        Ok(())
    }
}

/// PCM depacketizer: each packet is a block of samples in the wire encoding.
pub struct PcmDepacketizer {
    frame_bytes: usize,
}

impl Depacketizer for PcmDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if packet.payload.is_empty() || !packet.payload.len().is_multiple_of(self.frame_bytes) {
            return Err(RtpError::Malformed(format!(
                "PCM payload of {} bytes is not a whole number of {}-byte sample frames",
                packet.payload.len(),
                self.frame_bytes
            )));
        }
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

    fn track(format: PcmFormat, rate: u32, channels: u16) -> Track {
        let mut t = Track::new(0, Codec::Pcm(format), rate);
        t.params = TrackParams::Audio(AudioParams::new(rate, channels));
        t
    }

    #[test]
    fn descriptions_and_static_payload_types() {
        let d = |f, r, c| PcmPacketizer::new(&track(f, r, c)).unwrap().description();
        assert_eq!(d(PcmFormat::Mulaw, 8000, 1).payload_type(1), 0);
        assert_eq!(d(PcmFormat::Alaw, 8000, 1).payload_type(1), 8);
        assert_eq!(d(PcmFormat::S16Le, 44100, 2).payload_type(1), 10);
        assert_eq!(d(PcmFormat::S16Le, 44100, 1).payload_type(1), 11);
        assert_eq!(d(PcmFormat::S16Le, 48000, 2).payload_type(1), 97);
        assert_eq!(d(PcmFormat::S24Le, 48000, 2).rtpmap(), "L24/48000/2");
        assert_eq!(d(PcmFormat::U8, 8000, 1).rtpmap(), "L8/8000/1");
        assert!(PcmPacketizer::new(&track(PcmFormat::F32Le, 8000, 1)).is_err());
        assert!(PcmPacketizer::new(&track(PcmFormat::S16Le, 8000, 0)).is_err());
    }

    #[test]
    fn l16_is_byte_swapped_and_split_by_mtu() {
        let mut p = PcmPacketizer::new(&track(PcmFormat::S16Le, 8000, 2)).unwrap();
        // 160 frames (20 ms) of 4 bytes; 300-byte payloads hold 75 frames:
        // three packets, of 54, 54 and 52 frames.
        let data: Vec<u8> = (0..640).map(|i| i as u8).collect();
        let mut payloads = Vec::new();
        p.packetize(&unit(800, data.clone()), 300, &mut payloads)
            .unwrap();
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.len(), p.timestamp))
                .collect::<Vec<_>>(),
            [(216, 800), (216, 854), (208, 908)]
        );
        assert_eq!(&payloads[0].data[..4], &[1, 0, 3, 2]);
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        let joined: Vec<u8> = out.iter().flat_map(|u| u.data.to_vec()).collect();
        assert_eq!(joined, wire_samples(PcmFormat::S16Le, &data.into()));
        assert!(p
            .packetize(&unit(0, vec![0; 3]), 300, &mut Vec::new())
            .is_err());
    }

    #[test]
    fn twenty_millisecond_packets_zero_copy_for_g711() {
        let mut p = PcmPacketizer::new(&track(PcmFormat::Mulaw, 8000, 1)).unwrap();
        let u = unit(0, vec![0xff; 400]);
        let mut payloads = Vec::new();
        p.packetize(&u, 1400, &mut payloads).unwrap();
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.len(), p.timestamp))
                .collect::<Vec<_>>(),
            [(160, 0), (160, 160), (80, 320)]
        );
        assert_eq!(payloads[1].data.as_ptr(), u.data[160..].as_ptr());
        assert_eq!(
            wire_samples(PcmFormat::S24Le, &Bytes::from_static(&[1, 2, 3, 4])),
            Bytes::from_static(&[3, 2, 1])
        );
    }

    #[test]
    fn timestamps_count_samples_in_any_track_clock() {
        // A track timed in milliseconds: 1.5 s in is sample 72000 at 48 kHz.
        // 1920 samples, 700 to a payload at most: three packets of 640.
        let mut t = track(PcmFormat::S16Be, 48000, 1);
        t.clock_rate = 1000;
        let mut p = PcmPacketizer::new(&t).unwrap();
        let mut payloads = Vec::new();
        p.packetize(&unit(1500, vec![0; 3840]), 1400, &mut payloads)
            .unwrap();
        assert_eq!(
            payloads.iter().map(|p| p.timestamp).collect::<Vec<_>>(),
            [72000, 72000 + 640, 72000 + 1280]
        );
        assert!(matches!(
            p.packetize(&unit(0, vec![0; 4]), 1, &mut payloads),
            Err(RtpError::PayloadTooSmall { needed: 2, .. })
        ));
    }

    #[test]
    fn depacketizer_rejects_partial_frames() {
        let d = PayloadDescription::parse(TrackKind::Audio, "L24/48000/2", None).unwrap();
        let mut dep = crate::rtp::depacketizer(&d).unwrap();
        for payload in [&[0; 7][..], &[]] {
            assert!(dep.push(&packet(0, 0, payload), &mut Vec::new()).is_err());
        }
    }
}
