//! VP8 over RTP, RFC 7741: a payload descriptor (§4.2) before each piece
//! of a frame; the marker bit on a frame's last packet (§4.1).
//!
//! Sent: the descriptor with X=1, I=1 and a 15-bit PictureID counting
//! frames, S=1 and PID=0 on a frame's first packet. Not sent: partition
//! indexes (a frame is cut without regard to its partitions, which §4.4
//! allows, so PID stays 0), TL0PICIDX, TID and KEYIDX (no temporal
//! scalability), and the N bit (whether a frame is a reference is only in
//! its bool-coded header). The depacketizer reads every field.

use bytes::Bytes;

use super::frame_assembly::{chunks, FrameAssembler};
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// RTP clock of VP8 (RFC 7741 §6.1).
const CLOCK: u32 = 90000;

/// The descriptor the packetizer writes: the required octet, the X octet
/// and a 2-octet PictureID.
const DESCRIPTOR_LEN: usize = 4;

/// Descriptor bits (RFC 7741 §4.2).
const X: u8 = 0x80;
const S: u8 = 0x10;
const PID: u8 = 0x07;
const I: u8 = 0x80;
const L: u8 = 0x40;
const T: u8 = 0x20;
const K: u8 = 0x10;
/// M: the PictureID has 15 bits.
const M: u8 = 0x80;

/// The registry entry: `VP8/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["VP8"],
    packetizer: |track, _| {
        (track.codec == Codec::Vp8).then(|| boxed(Ok(Vp8Packetizer::new(track))))
    },
    depacketizer: |_| Ok(Box::new(Vp8Depacketizer::new())),
};

/// RFC 7741 packetizer: each frame cut into pieces of at most the payload
/// size, after a 4-byte descriptor.
pub struct Vp8Packetizer {
    clock_rate: u32,
    picture_id: u16,
}

impl Vp8Packetizer {
    /// A packetizer for a VP8 track.
    pub fn new(track: &Track) -> Vp8Packetizer {
        Vp8Packetizer {
            clock_rate: track.clock_rate,
            picture_id: 0,
        }
    }
}

impl Packetizer for Vp8Packetizer {
    /// RFC 7741 §6.1: `VP8/90000`; `max-fr` and `max-fs` are a receiver's
    /// limits, not a sender's.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "VP8",
            clock_rate: CLOCK,
            channels: None,
            fmtp: None,
        }
    }

    fn min_payload(&self) -> usize {
        DESCRIPTOR_LEN + 1
    }

    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        if unit.data.is_empty() {
            return Err(RtpError::BadUnit("empty VP8 frame".into()));
        }
        let timestamp = rescale(unit.pts, self.clock_rate, CLOCK) as u32;
        let [id_hi, id_lo] = self.picture_id.to_be_bytes();
        let first = out.len();
        for (i, piece) in chunks(&unit.data, max_payload - DESCRIPTOR_LEN).enumerate() {
            let start = if i == 0 { S } else { 0 };
            out.push(RtpPayload {
                header: PayloadHeader::from_slice(&[X | start, I, M | id_hi, id_lo]),
                data: piece,
                marker: false,
                timestamp,
            });
        }
        if let Some(last) = out[first..].last_mut() {
            last.marker = true;
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        Ok(())
    }
}

/// The fields of an RFC 7741 §4.2 payload descriptor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// S: the packet starts a partition.
    pub start: bool,
    /// N: a non-reference frame.
    pub non_reference: bool,
    /// PID: the partition index.
    pub partition: u8,
    /// PictureID, 7 or 15 bits, when present.
    pub picture_id: Option<u16>,
    /// Bytes of the descriptor.
    pub len: usize,
}

impl Descriptor {
    /// Parses the descriptor at the start of a payload.
    pub fn parse(p: &[u8]) -> Result<Descriptor, &'static str> {
        let short = "payload descriptor cut off";
        let &b0 = p.first().ok_or("empty payload")?;
        let mut d = Descriptor {
            start: b0 & S != 0,
            non_reference: b0 & 0x20 != 0,
            partition: b0 & PID,
            picture_id: None,
            len: 1,
        };
        if b0 & X != 0 {
            let &x = p.get(1).ok_or(short)?;
            d.len = 2;
            if x & I != 0 {
                let &id = p.get(d.len).ok_or(short)?;
                if id & M != 0 {
                    let &lo = p.get(d.len + 1).ok_or(short)?;
                    d.picture_id = Some(u16::from_be_bytes([id & 0x7f, lo]));
                    d.len += 2;
                } else {
                    d.picture_id = Some(u16::from(id));
                    d.len += 1;
                }
            }
            d.len += usize::from(x & L != 0) + usize::from(x & (T | K) != 0);
        }
        if p.len() <= d.len {
            return Err("no VP8 data after the payload descriptor");
        }
        Ok(d)
    }
}

/// RFC 7741 depacketizer: a frame runs from a packet with S=1 and PID=0
/// to the one with the marker bit (§4.5).
pub struct Vp8Depacketizer {
    frames: FrameAssembler,
}

impl Vp8Depacketizer {
    /// Nothing received yet.
    pub fn new() -> Vp8Depacketizer {
        Vp8Depacketizer {
            frames: FrameAssembler::new("VP8"),
        }
    }
}

impl Default for Vp8Depacketizer {
    fn default() -> Self {
        Vp8Depacketizer::new()
    }
}

impl Depacketizer for Vp8Depacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        self.frames.receive(packet.sequence);
        let d = Descriptor::parse(&packet.payload).map_err(|e| self.frames.malformed(e))?;
        if d.start && d.partition == 0 {
            self.frames.start(packet.timestamp);
        }
        let data: Bytes = packet.payload.slice(d.len..);
        self.frames.append(packet.timestamp, &[&data])?;
        if packet.marker {
            self.frames.end(out);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        self.frames.drop_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use proptest::prelude::*;

    fn packetize(frames: &[Bytes], max: usize) -> Vec<RtpPayload> {
        let mut p = Vp8Packetizer::new(&Track::new(0, Codec::Vp8, 90000));
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            p.packetize(&unit(3000 * i as i64, f.clone()), max, &mut out)
                .unwrap();
        }
        out
    }

    #[test]
    fn descriptors_markers_and_picture_ids() {
        let frames = [Bytes::from(vec![1u8; 10]), Bytes::from(vec![2u8; 3])];
        let payloads = packetize(&frames, 8);
        assert_eq!(payloads.len(), 4);
        assert_eq!(payloads[0].header.as_slice(), &[0x90, 0x80, 0x80, 0x00]);
        assert_eq!(payloads[1].header.as_slice(), &[0x80, 0x80, 0x80, 0x00]);
        assert_eq!(payloads[2].header.as_slice(), &[0x80, 0x80, 0x80, 0x00]);
        assert_eq!(payloads[3].header.as_slice(), &[0x90, 0x80, 0x80, 0x01]);
        assert_eq!(
            payloads.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [false, false, true, true]
        );
        assert_eq!(payloads[3].timestamp, 3000);
        let mut p = Vp8Packetizer::new(&Track::new(0, Codec::Vp8, 90000));
        p.picture_id = 0x7fff;
        let mut out = Vec::new();
        p.packetize(&unit(0, vec![1]), 5, &mut out).unwrap();
        assert_eq!(out[0].header[2..], [0xff, 0xff]);
        assert_eq!(p.picture_id, 0);
        assert!(p.packetize(&unit(0, vec![1]), 4, &mut out).is_err());
        assert!(p.packetize(&unit(0, vec![]), 40, &mut out).is_err());
    }

    #[test]
    fn optional_descriptor_fields_are_skipped() {
        // X with I (7-bit id), L, T and K; then a frame in two partitions.
        let mut d = Vp8Depacketizer::new();
        let mut out = Vec::new();
        d.push(
            &packet(0, 5, &[0x90, 0xf0, 0x05, 0x11, 0x22, 0xaa]),
            &mut out,
        )
        .unwrap();
        d.push(&packet(1, 5, &[0x11, 0xbb]), &mut out).unwrap();
        let last = ReceivedPacket {
            marker: true,
            ..packet(2, 5, &[0x01, 0xcc])
        };
        d.push(&last, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].data[..], &[0xaa, 0xbb, 0xcc]);
        assert_eq!(
            Descriptor::parse(&[0xb0, 0x80, 0x81, 0x02, 9]).unwrap(),
            Descriptor {
                start: true,
                non_reference: true,
                partition: 0,
                picture_id: Some(0x102),
                len: 4
            }
        );
    }

    #[test]
    fn hostile_descriptors_are_refused() {
        for p in [
            &[][..],
            &[0x90],
            &[0x90, 0x80],
            &[0x90, 0x80, 0x80],
            &[0x90, 0x80, 0x80, 0x01],
            &[0x90, 0x40],
            &[0x90, 0x30],
            &[0x10],
        ] {
            assert!(Descriptor::parse(p).is_err(), "{p:?}");
            let mut d = Vp8Depacketizer::new();
            assert!(d.push(&packet(0, 0, p), &mut Vec::new()).is_err());
        }
    }

    #[test]
    fn a_lost_packet_drops_its_frame_only() {
        let frames: Vec<Bytes> = (1..=3u8).map(|i| Bytes::from(vec![i; 20])).collect();
        let mut packets = receive(&packetize(&frames, 12));
        // 20 bytes in pieces of 8: three packets a frame; lose frame 1's middle.
        packets.remove(4);
        let out = depacketize(&mut Vp8Depacketizer::new(), &packets);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, frames[0]);
        assert_eq!((out[1].timestamp, &out[1].data), (6000, &frames[2]));
        // Without the first packet, the frame is dropped too; an unmarked
        // end of stream is not a frame.
        let mut packets = receive(&packetize(&frames, 12));
        packets.remove(3);
        packets.pop();
        let out = depacketize(&mut Vp8Depacketizer::new(), &packets);
        assert_eq!(out.len(), 1);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn any_frames_round_trip_at_any_payload_size(
            frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..3000), 1..6),
            max in 5usize..1500,
        ) {
            let frames: Vec<Bytes> = frames.into_iter().map(Bytes::from).collect();
            let payloads = packetize(&frames, max);
            prop_assert!(payloads.iter().all(|p| p.len() <= max));
            let out = depacketize(&mut Vp8Depacketizer::new(), &receive(&payloads));
            let expected: Vec<ReceivedUnit> = frames.iter().enumerate()
                .map(|(i, f)| ReceivedUnit { timestamp: 3000 * i as u32, data: f.clone() })
                .collect();
            prop_assert_eq!(out, expected);
        }
    }
}
