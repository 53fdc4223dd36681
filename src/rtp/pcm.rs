//! Uncompressed and G.711 audio over RTP: L8/L16 (RFC 3551 §4.5.10–11),
//! L24 (RFC 3190 §4), PCMU/PCMA (RFC 3551 §4.5.14). Samples go in network
//! byte order, channels interleaved, at most 20 ms per packet (RFC 3551
//! §4.2 default packetization interval) and never more than the MTU allows.
//! 8-bit PCM goes as L16 unless [`Pcm8::L8`] is asked for.

use std::fmt;

use bytes::Bytes;

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    PayloadOptions, ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, PcmFormat, TrackKind};

/// The registry entry: `L8`, `L16`, `L24`, `PCMU`, `PCMA`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["L8", "L16", "L24", "PCMU", "PCMA"],
    packetizer: |track, options| {
        matches!(track.codec, Codec::Pcm(_)).then(|| boxed(PcmPacketizer::new(track, options)))
    },
    depacketizer: |description| {
        let channels = usize::from(description.channels.unwrap_or(1).max(1));
        Ok(Box::new(PcmDepacketizer {
            frame_bytes: sample_bytes(description.encoding) * channels,
        }))
    },
};

/// How 8-bit PCM (unsigned, as WAV stores it: RFC 3551 §4.5.10's L8, an
/// offset of 128) goes over RTP: the `pcm8` option of `serve`,
/// `packetize` and `probe`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pcm8 {
    /// Widened to L16 (RFC 3551 §4.5.11) by [`widen_u8`]: twice the bit
    /// rate, but every client plays it (ffmpeg has no L8 depacketizer:
    /// "Decoder (codec none) not found").
    #[default]
    L16,
    /// As L8 (RFC 3551 §4.5.10), the samples unchanged.
    L8,
}

impl Pcm8 {
    /// The option's spellings, in order.
    pub const NAMES: [&'static str; 2] = ["l16", "l8"];
}

impl fmt::Display for Pcm8 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pcm8::L16 => "l16",
            Pcm8::L8 => "l8",
        })
    }
}

impl std::str::FromStr for Pcm8 {
    type Err = String;

    fn from_str(text: &str) -> Result<Pcm8, String> {
        match text {
            "l16" => Ok(Pcm8::L16),
            "l8" => Ok(Pcm8::L8),
            other => Err(format!("pcm8 {other:?}: expected l16 or l8")),
        }
    }
}

/// The RTP wire encoding of a WAV sample format, 8-bit PCM as `pcm8` says.
fn encoding(format: PcmFormat, pcm8: Pcm8) -> Option<&'static str> {
    Some(match format {
        PcmFormat::U8 => match pcm8 {
            Pcm8::L16 => "L16",
            Pcm8::L8 => "L8",
        },
        PcmFormat::S16Le | PcmFormat::S16Be => "L16",
        PcmFormat::S24Le | PcmFormat::S24Be => "L24",
        PcmFormat::Mulaw => "PCMU",
        PcmFormat::Alaw => "PCMA",
        PcmFormat::S32Le | PcmFormat::F32Le | PcmFormat::F64Le => return None,
    })
}

/// Bytes of one sample of a wire encoding (L16 2, L24 3; L8 and G.711 1).
fn sample_bytes(encoding: &str) -> usize {
    match encoding {
        "L16" => 2,
        "L24" => 3,
        _ => 1,
    }
}

/// Unsigned 8-bit samples (offset 128, RFC 3551 §4.5.10) widened to
/// signed 16-bit big-endian (RFC 3551 §4.5.11): `(sample - 128) << 8`.
pub fn widen_u8(samples: &[u8]) -> Vec<u8> {
    samples
        .iter()
        .flat_map(|&s| ((i16::from(s) - 128) << 8).to_be_bytes())
        .collect()
}

/// Samples of `format` as the RTP wire encoding carries them (8-bit PCM
/// as `pcm8` says): 16 and 24-bit little-endian samples byte-swapped to
/// network order (RFC 3551 §4.5.11, RFC 3190 §4), 8-bit ones widened to
/// L16 by [`widen_u8`] unless sent as L8, everything else unchanged (a
/// zero-copy slice). A trailing partial sample is dropped.
pub fn wire_samples(format: PcmFormat, pcm8: Pcm8, data: &Bytes) -> Bytes {
    let width = match (format, pcm8) {
        (PcmFormat::U8, Pcm8::L16) => return widen_u8(data).into(),
        (PcmFormat::S16Le, _) => 2,
        (PcmFormat::S24Le, _) => 3,
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
    /// How 8-bit samples go.
    pcm8: Pcm8,
    /// The `a=rtpmap` encoding name of `format`.
    encoding: &'static str,
    /// The track's clock, of the units' timestamps.
    clock_rate: u32,
    sample_rate: u32,
    channels: u16,
}

impl PcmPacketizer {
    /// A packetizer for a PCM track with a wire encoding, chosen for 8-bit
    /// PCM by `options`.
    pub fn new(track: &Track, options: &PayloadOptions) -> Result<PcmPacketizer, RtpError> {
        let Codec::Pcm(format) = track.codec else {
            return Err(RtpError::Unsupported(track.codec.name().to_owned()));
        };
        let pcm8 = options.pcm8;
        let encoding = encoding(format, pcm8).ok_or_else(|| {
            RtpError::Unsupported(format!(
                "{} (RTP carries 8, 16 and 24-bit linear PCM)",
                track.codec
            ))
        })?;
        let missing = |what: &str| RtpError::MissingConfig(format!("PCM track has no {what}"));
        let audio = track.audio();
        Ok(PcmPacketizer {
            format,
            pcm8,
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

    /// Bytes per sample frame (one sample of every channel) in the file.
    fn frame_bytes(&self) -> usize {
        self.format.bytes() * usize::from(self.channels)
    }

    /// Bytes per sample frame on the wire (8-bit samples widened to L16
    /// take two).
    fn wire_frame_bytes(&self) -> usize {
        sample_bytes(self.encoding) * usize::from(self.channels)
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
        self.wire_frame_bytes()
    }

    /// The timestamp counts sample frames (RFC 3551 §4.5.10); the marker
    /// bit stays 0 (no silence suppression, RFC 3551 §4.1).
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let file_frame = self.frame_bytes();
        if !unit.data.len().is_multiple_of(file_frame) {
            return Err(RtpError::BadUnit(format!(
                "PCM block of {} bytes is not a whole number of {file_frame}-byte sample frames",
                unit.data.len()
            )));
        }
        let frame = self.wire_frame_bytes();
        let ptime = (self.sample_rate / 50).max(1) as usize;
        let mtu_limit = max_payload / frame;
        let per_packet = if mtu_limit >= ptime {
            ptime
        } else {
            // As few packets as the MTU allows, of even size.
            let frames = unit.data.len() / file_frame;
            frames.div_ceil(frames.div_ceil(mtu_limit).max(1)).max(1)
        };
        let wire = wire_samples(self.format, self.pcm8, &unit.data);
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

    const DEFAULT: PayloadOptions = PayloadOptions { pcm8: Pcm8::L16 };
    const L8: PayloadOptions = PayloadOptions { pcm8: Pcm8::L8 };

    fn track(format: PcmFormat, rate: u32, channels: u16) -> Track {
        let mut t = Track::new(0, Codec::Pcm(format), rate);
        t.params = TrackParams::Audio(AudioParams::new(rate, channels));
        t
    }

    #[test]
    fn descriptions_and_static_payload_types() {
        let d = |f, r, c| {
            PcmPacketizer::new(&track(f, r, c), &PayloadOptions::default())
                .unwrap()
                .description()
        };
        assert_eq!(d(PcmFormat::Mulaw, 8000, 1).payload_type(1), 0);
        assert_eq!(d(PcmFormat::Alaw, 8000, 1).payload_type(1), 8);
        assert_eq!(d(PcmFormat::S16Le, 44100, 2).payload_type(1), 10);
        assert_eq!(d(PcmFormat::S16Le, 44100, 1).payload_type(1), 11);
        assert_eq!(d(PcmFormat::S16Le, 48000, 2).payload_type(1), 97);
        assert_eq!(d(PcmFormat::S24Le, 48000, 2).rtpmap(), "L24/48000/2");
        assert_eq!(d(PcmFormat::U8, 8000, 1).rtpmap(), "L16/8000/1");
        assert_eq!(d(PcmFormat::U8, 44100, 2).payload_type(1), 10);
        let l8 = PcmPacketizer::new(&track(PcmFormat::U8, 8000, 1), &L8).unwrap();
        assert_eq!(l8.description().rtpmap(), "L8/8000/1");
        assert!(PcmPacketizer::new(&track(PcmFormat::F32Le, 8000, 1), &DEFAULT).is_err());
        assert!(PcmPacketizer::new(&track(PcmFormat::S16Le, 8000, 0), &DEFAULT).is_err());
    }

    #[test]
    fn l16_is_byte_swapped_and_split_by_mtu() {
        let mut p = PcmPacketizer::new(&track(PcmFormat::S16Le, 8000, 2), &DEFAULT).unwrap();
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
        assert_eq!(
            joined,
            wire_samples(PcmFormat::S16Le, Pcm8::L16, &data.into())
        );
        assert!(p
            .packetize(&unit(0, vec![0; 3]), 300, &mut Vec::new())
            .is_err());
    }

    #[test]
    fn twenty_millisecond_packets_zero_copy_for_g711() {
        let mut p = PcmPacketizer::new(&track(PcmFormat::Mulaw, 8000, 1), &DEFAULT).unwrap();
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
            wire_samples(
                PcmFormat::S24Le,
                Pcm8::L16,
                &Bytes::from_static(&[1, 2, 3, 4])
            ),
            Bytes::from_static(&[3, 2, 1])
        );
    }

    #[test]
    fn timestamps_count_samples_in_any_track_clock() {
        // A track timed in milliseconds: 1.5 s in is sample 72000 at 48 kHz.
        // 1920 samples, 700 to a payload at most: three packets of 640.
        let mut t = track(PcmFormat::S16Be, 48000, 1);
        t.clock_rate = 1000;
        let mut p = PcmPacketizer::new(&t, &DEFAULT).unwrap();
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

    /// Every unsigned 8-bit value: `(u8 - 128) << 8` as a big-endian i16.
    #[test]
    fn u8_widens_to_signed_16_bit_big_endian() {
        assert_eq!(
            widen_u8(&[0, 1, 127, 128, 129, 255]),
            [0x80, 0, 0x81, 0, 0xff, 0, 0, 0, 0x01, 0, 0x7f, 0]
        );
        let all: Vec<u8> = (0..=255).collect();
        let wide = widen_u8(&all);
        assert_eq!(wide.len(), 512);
        for (s, pair) in all.iter().zip(wide.chunks_exact(2)) {
            let value = i16::from_be_bytes([pair[0], pair[1]]);
            assert_eq!(i32::from(value), (i32::from(*s) - 128) * 256, "{s}");
        }
    }

    /// 8-bit PCM goes as L16 by default: twice the bytes, 20 ms packets
    /// (or fewer samples where the MTU says so), timestamps counting
    /// samples, back through the L16 depacketizer as the widened samples;
    /// with `pcm8: l8` as L8, the file's bytes unchanged.
    #[test]
    fn u8_goes_as_l16_unless_l8_is_asked_for() {
        let data: Vec<u8> = (0..400).map(|i| (i * 7) as u8).collect();
        let mut p = PcmPacketizer::new(&track(PcmFormat::U8, 8000, 1), &DEFAULT).unwrap();
        assert_eq!(p.min_payload(), 2);
        let mut payloads = Vec::new();
        p.packetize(&unit(80, data.clone()), 1400, &mut payloads)
            .unwrap();
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.len(), p.timestamp))
                .collect::<Vec<_>>(),
            [(320, 80), (320, 240), (160, 400)]
        );
        let description = p.description();
        assert_eq!(description.rtpmap(), "L16/8000/1");
        let mut d = crate::rtp::depacketizer(&description).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        let joined: Vec<u8> = out.iter().flat_map(|u| u.data.to_vec()).collect();
        assert_eq!(joined, widen_u8(&data));
        // 100-byte payloads hold 50 widened samples: 160 go in 4 of 40.
        let mut small = Vec::new();
        p.packetize(&unit(0, vec![128; 160]), 100, &mut small)
            .unwrap();
        assert_eq!(
            small.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [80, 80, 80, 80]
        );
        assert!(small.iter().all(|p| p.data.iter().all(|&b| b == 0)));

        let mut p = PcmPacketizer::new(&track(PcmFormat::U8, 8000, 1), &L8).unwrap();
        let u = unit(80, data.clone());
        let mut payloads = Vec::new();
        p.packetize(&u, 1400, &mut payloads).unwrap();
        assert_eq!(
            payloads.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [160, 160, 80]
        );
        assert_eq!(payloads[1].data.as_ptr(), u.data[160..].as_ptr());
        let mut d = crate::rtp::depacketizer(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        let joined: Vec<u8> = out.iter().flat_map(|u| u.data.to_vec()).collect();
        assert_eq!(joined, data);
    }

    #[test]
    fn pcm8_option_spellings() {
        for name in Pcm8::NAMES {
            assert_eq!(name.parse::<Pcm8>().unwrap().to_string(), name);
        }
        assert_eq!(Pcm8::default(), Pcm8::L16);
        assert!("L8".parse::<Pcm8>().is_err());
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
