//! MPEG-1/2 audio over RTP, RFC 2250 §3.5 (`MPA`, static payload type 14,
//! RFC 3551 §4.5.13): a 4-byte header, then one whole frame or a fragment
//! of one.

use bytes::{BufMut, BytesMut};

use super::{
    rescale, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::mpeg_audio::FrameHeader;
use crate::media::{AccessUnit, Codec, Track, TrackKind};

/// RTP clock of MPA (RFC 3551 §4.5.13): 90 kHz whatever the sampling rate.
const MPA_CLOCK: u32 = 90000;

/// The RFC 2250 §3.5 header: 16 bits MBZ, 16 bits Frag_offset.
const HEADER_LEN: usize = 4;

/// The registry entry: `MPA/90000`, payload type 14.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["MPA"],
    packetizer: |track| {
        matches!(track.codec, Codec::Mp1 | Codec::Mp2 | Codec::Mp3)
            .then(|| Ok(Box::new(MpaPacketizer::new(track)) as Box<dyn Packetizer>))
    },
    depacketizer: |_| Ok(Box::new(MpaDepacketizer::default())),
};

/// RFC 2250 MPA packetizer: one frame per packet, fragmented when larger
/// than the payload allows (§3.5: Frag_offset is the fragment's byte offset
/// in the frame; all fragments carry the frame's timestamp).
pub struct MpaPacketizer {
    clock_rate: u32,
}

impl MpaPacketizer {
    /// A packetizer for an MPEG audio layer I–III track.
    pub fn new(track: &Track) -> MpaPacketizer {
        MpaPacketizer {
            clock_rate: track.clock_rate,
        }
    }
}

impl Packetizer for MpaPacketizer {
    /// RFC 3551 §4.5.13: `MPA/90000`, payload type 14, no parameters.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: Some(14),
            encoding: "MPA",
            clock_rate: MPA_CLOCK,
            channels: None,
            fmtp: None,
        }
    }

    fn min_payload(&self) -> usize {
        HEADER_LEN + 1
    }

    /// The marker bit stays 0: RFC 2250 §3.2 sets it only on the first
    /// packet of a talkspurt, and a file streams without silence
    /// suppression (RFC 3551 §4.1).
    fn packetize(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let timestamp = rescale(unit.pts, self.clock_rate, MPA_CLOCK) as u32;
        let chunk = max_payload.saturating_sub(HEADER_LEN).max(1);
        let mut offset = 0;
        while offset < unit.data.len() {
            let end = (offset + chunk).min(unit.data.len());
            let frag_offset = u16::try_from(offset).map_err(|_| {
                RtpError::BadUnit(format!(
                    "MPEG audio frame of {} bytes exceeds RFC 2250's 16-bit fragment offset",
                    unit.data.len()
                ))
            })?;
            let mut header = PayloadHeader::from_slice(&[0, 0]);
            header.extend_from_slice(&frag_offset.to_be_bytes());
            out.push(RtpPayload {
                header,
                data: unit.data.slice(offset..end),
                marker: false,
                timestamp,
            });
            offset = end;
        }
        Ok(())
    }
}

/// RFC 2250 MPA depacketizer: splits packets of whole frames (several may
/// share a packet, §3.5) and joins fragments.
#[derive(Default)]
pub struct MpaDepacketizer {
    /// Timestamp, expected frame length and bytes of a fragmented frame.
    partial: Option<(u32, usize, BytesMut)>,
    expected_sequence: Option<u16>,
}

impl Depacketizer for MpaDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if self.expected_sequence.is_some_and(|s| s != packet.sequence) {
            self.partial = None;
        }
        self.expected_sequence = Some(packet.sequence.wrapping_add(1));
        let p = &packet.payload;
        if p.len() <= HEADER_LEN {
            return Err(RtpError::Malformed(
                "MPA: packet without data after the RFC 2250 header".into(),
            ));
        }
        let offset = usize::from(u16::from_be_bytes([p[2], p[3]]));
        let data = packet.payload.slice(HEADER_LEN..);
        if offset > 0 {
            if let Some((ts, len, buf)) = self.partial.as_mut() {
                if *ts == packet.timestamp && buf.len() == offset {
                    buf.put_slice(&data);
                    if buf.len() >= *len {
                        let (timestamp, _, buf) = self.partial.take().unwrap_or_default();
                        out.push(ReceivedUnit {
                            timestamp,
                            data: buf.freeze(),
                        });
                    }
                    return Ok(());
                }
            }
            // A fragment whose start was lost.
            self.partial = None;
            return Ok(());
        }
        self.partial = None;
        let mut pos = 0;
        let mut timestamp = packet.timestamp;
        while pos < data.len() {
            let Ok(header) = FrameHeader::parse(&data[pos..]) else {
                // Free format or not a frame start: pass the rest through.
                out.push(ReceivedUnit {
                    timestamp,
                    data: data.slice(pos..),
                });
                break;
            };
            if pos + header.frame_len > data.len() {
                if pos > 0 {
                    return Err(RtpError::Malformed(
                        "MPA: a frame after the first one is cut off".into(),
                    ));
                }
                let mut buf = BytesMut::with_capacity(header.frame_len);
                buf.put_slice(&data);
                self.partial = Some((timestamp, header.frame_len, buf));
                break;
            }
            out.push(ReceivedUnit {
                timestamp,
                data: data.slice(pos..pos + header.frame_len),
            });
            pos += header.frame_len;
            timestamp = timestamp.wrapping_add(rescale(
                i64::from(header.samples),
                header.sample_rate,
                MPA_CLOCK,
            ) as u32);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        // An incomplete frame is useless to a decoder.
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::tests::receive;
    use bytes::Bytes;

    /// An MPEG-1 layer III 128 kb/s 44.1 kHz frame: 417 bytes.
    fn frame(fill: u8) -> Bytes {
        let mut f = vec![0xff, 0xfb, 0x90, 0x64];
        f.resize(417, fill);
        f.into()
    }

    fn unit(pts: i64, data: Bytes) -> AccessUnit {
        AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: 1152,
            keyframe: true,
            data,
        }
    }

    #[test]
    fn whole_frames_and_fragments_round_trip() {
        let track = Track::new(0, Codec::Mp3, 44100);
        let mut p = MpaPacketizer::new(&track);
        assert_eq!(p.description().payload_type(3), 14);
        let mut payloads = Vec::new();
        p.packetize(&unit(0, frame(1)), 1400, &mut payloads)
            .unwrap();
        p.packetize(&unit(1152, frame(2)), 200, &mut payloads)
            .unwrap();
        assert_eq!(payloads.len(), 4);
        assert_eq!(payloads[0].header.as_slice(), &[0, 0, 0, 0]);
        assert_eq!(payloads[2].header.as_slice(), &[0, 0, 0, 196]);
        assert_eq!(payloads[1].timestamp, 2351);
        assert!(payloads.iter().all(|p| !p.marker && p.len() <= 1400));
        let mut d = MpaDepacketizer::default();
        let mut out = Vec::new();
        for packet in receive(&payloads) {
            d.push(&packet, &mut out).unwrap();
        }
        d.finish(&mut out);
        assert_eq!(
            out,
            vec![
                ReceivedUnit {
                    timestamp: 0,
                    data: frame(1)
                },
                ReceivedUnit {
                    timestamp: 2351,
                    data: frame(2)
                },
            ]
        );
    }

    #[test]
    fn several_frames_in_one_packet() {
        let mut payload = vec![0, 0, 0, 0];
        payload.extend_from_slice(&frame(1));
        payload.extend_from_slice(&frame(2));
        let packet = ReceivedPacket {
            sequence: 0,
            timestamp: 100,
            marker: false,
            payload: payload.into(),
        };
        let mut out = Vec::new();
        MpaDepacketizer::default().push(&packet, &mut out).unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].timestamp, 100 + 2351);
    }

    #[test]
    fn lost_fragment_drops_the_frame() {
        let track = Track::new(0, Codec::Mp3, 44100);
        let mut payloads = Vec::new();
        MpaPacketizer::new(&track)
            .packetize(&unit(0, frame(1)), 150, &mut payloads)
            .unwrap();
        let mut packets = receive(&payloads);
        packets.remove(1);
        let mut d = MpaDepacketizer::default();
        let mut out = Vec::new();
        for p in &packets {
            d.push(p, &mut out).unwrap();
        }
        assert!(out.is_empty());
        assert!(d
            .push(
                &ReceivedPacket {
                    sequence: 9,
                    timestamp: 0,
                    marker: false,
                    payload: Bytes::from_static(&[0, 0, 0, 0]),
                },
                &mut out
            )
            .is_err());
    }
}
