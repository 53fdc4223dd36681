//! MPEG-1/2 audio over RTP, RFC 2250 §3.5 (`MPA`, static payload type 14,
//! RFC 3551 §4.5.13): a 4-byte header, then one whole frame or a fragment
//! of one.
//!
//! Partner files in the other layers: `media/mpeg_audio/` (the reader whose
//! frames this carries) and `codec/mpeg_audio.rs` (the header syntax).

use bytes::{BufMut, BytesMut};

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::mpeg_audio::FrameHeader;
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// RTP clock of MPA (RFC 3551 §4.5.13): 90 kHz whatever the sampling rate.
const MPA_CLOCK: u32 = 90000;

/// The RFC 2250 §3.5 header: 16 bits MBZ, 16 bits Frag_offset.
const HEADER_LEN: usize = 4;

/// The registry entry: `MPA/90000`, payload type 14.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["MPA"],
    packetizer: |track, _| {
        matches!(track.codec, Codec::Mp1 | Codec::Mp2 | Codec::Mp3)
            .then(|| boxed(Ok(MpaPacketizer::new(track))))
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
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let len = unit.data.len();
        let chunk = max_payload - HEADER_LEN;
        // The last fragment's offset must fit Frag_offset's 16 bits.
        if len > 0 && (len - 1) / chunk * chunk > usize::from(u16::MAX) {
            return Err(RtpError::BadUnit(format!(
                "MPEG audio frame of {len} bytes exceeds RFC 2250's 16-bit fragment offset"
            )));
        }
        let timestamp = rescale(unit.pts, self.clock_rate, MPA_CLOCK) as u32;
        for offset in (0..len).step_by(chunk) {
            let mut header = PayloadHeader::from_slice(&[0, 0]);
            header.extend_from_slice(&(offset as u16).to_be_bytes());
            out.push(RtpPayload {
                header,
                data: unit.data.slice(offset..(offset + chunk).min(len)),
                marker: false,
                timestamp,
            });
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
                    if buf.len() + data.len() > *len {
                        self.partial = None;
                        return Err(RtpError::Malformed(
                            "MPA: fragment runs past the end of its frame".into(),
                        ));
                    }
                    buf.put_slice(&data);
                    if buf.len() == *len {
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
        let first = out.len();
        let mut pos = 0;
        let mut timestamp = packet.timestamp;
        while pos < data.len() {
            let header = match FrameHeader::parse(&data[pos..]) {
                Ok(header) if header.frame_len > 0 => header,
                // Free format or not a frame start: pass the rest through.
                _ => {
                    out.push(ReceivedUnit {
                        timestamp,
                        data: data.slice(pos..),
                    });
                    break;
                }
            };
            if pos + header.frame_len > data.len() {
                if pos > 0 {
                    out.truncate(first);
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
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use bytes::Bytes;

    /// An MPEG-1 layer III 128 kb/s 44.1 kHz frame: 417 bytes.
    fn frame(fill: u8) -> Bytes {
        let mut f = vec![0xff, 0xfb, 0x90, 0x64];
        f.resize(417, fill);
        f.into()
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
        let out = depacketize(&mut MpaDepacketizer::default(), &receive(&payloads));
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
    fn fragment_offsets_must_fit_16_bits() {
        let mut p = MpaPacketizer::new(&Track::new(0, Codec::Mp2, 48000));
        let mut out = Vec::new();
        // 1000-byte fragments: the last of 65536 bytes starts at 65000,
        // which fits; the last of 66537 bytes would start at 66000.
        let fits = unit(0, vec![0; 65536]);
        p.packetize(&fits, 1004, &mut out).unwrap();
        assert_eq!(out.last().unwrap().header[2..], 65000u16.to_be_bytes());
        out.clear();
        let too_long = unit(0, vec![0; 66537]);
        assert!(matches!(
            p.packetize(&too_long, 1004, &mut out),
            Err(RtpError::BadUnit(_))
        ));
        assert!(out.is_empty(), "nothing appended on an error");
        assert!(matches!(
            p.packetize(&fits, 4, &mut out),
            Err(RtpError::PayloadTooSmall { needed: 5, .. })
        ));
    }

    #[test]
    fn several_frames_in_one_packet() {
        let mut payload = vec![0, 0, 0, 0];
        payload.extend_from_slice(&frame(1));
        payload.extend_from_slice(&frame(2));
        let mut out = Vec::new();
        MpaDepacketizer::default()
            .push(&packet(0, 100, &payload), &mut out)
            .unwrap();
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].timestamp, 100 + 2351);
        // A second frame cut off: an error, and no frame of the packet.
        let mut out = Vec::new();
        let cut = &payload[..payload.len() - 1];
        assert!(MpaDepacketizer::default()
            .push(&packet(0, 100, cut), &mut out)
            .is_err());
        assert!(out.is_empty());
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
        assert!(depacketize(&mut d, &packets).is_empty());
        assert!(d
            .push(&packet(9, 0, &[0, 0, 0, 0]), &mut Vec::new())
            .is_err());
    }

    #[test]
    fn fragment_past_the_frame_end_is_refused() {
        let whole = frame(1);
        let mut first = vec![0, 0, 0, 0];
        first.extend_from_slice(&whole[..400]);
        let mut rest = vec![0, 0, 1, 144]; // offset 400
        rest.extend_from_slice(&whole[400..]);
        rest.push(0); // one byte too many
        let mut d = MpaDepacketizer::default();
        let mut out = Vec::new();
        d.push(&packet(0, 0, &first), &mut out).unwrap();
        assert!(d.push(&packet(1, 0, &rest), &mut out).is_err());
        assert!(out.is_empty());
        rest.pop();
        d.push(&packet(2, 0, &first), &mut out).unwrap();
        d.push(&packet(3, 0, &rest), &mut out).unwrap();
        assert_eq!(
            out,
            [ReceivedUnit {
                timestamp: 0,
                data: whole
            }]
        );
    }
}
