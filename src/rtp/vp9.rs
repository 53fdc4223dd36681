//! VP9 over RTP, RFC 9628: a payload descriptor (§4.2) before each piece of
//! a frame, B and E bits at the frame's first and last packets, the marker
//! bit on the last packet of a picture (§4.1).
//!
//! Sent, in non-flexible mode (F=0) with one spatial and one temporal
//! layer: I=1 with a 15-bit picture ID counting pictures; P=0 when the
//! first frame is a key or intra-only frame; and on a key frame's first
//! packet the scalability structure (V=1, §4.2.1) with one spatial layer
//! and its resolution (Y=1) and no picture group (G=0), as GStreamer's and
//! libwebrtc's payloaders do. A superframe (a hidden frame packed with the
//! one shown after it, VP9 Annex B) travels as one frame with its index, as
//! GStreamer and FFmpeg send it: decoders split it. Not sent: layer indices
//! (L), flexible mode's reference indices, picture groups, the Z bit. The
//! depacketizer reads every field of both modes.

use super::frame_assembly::{chunks, FrameAssembler};
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::vp9::{config_profile, superframe_frames, FrameHeader, FrameKind};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// RTP clock of VP9 (RFC 9628 §6.1).
const CLOCK: u32 = 90000;

/// Descriptor bits of the first octet (RFC 9628 §4.2).
const I: u8 = 0x80;
const P: u8 = 0x40;
const L: u8 = 0x20;
const F: u8 = 0x10;
const B: u8 = 0x08;
const E: u8 = 0x04;
const V: u8 = 0x02;
/// M: the picture ID has 15 bits.
const M: u8 = 0x80;
/// Y and G of the scalability structure's first octet.
const SS_Y: u8 = 0x10;
const SS_G: u8 = 0x08;

/// The packetizer's longest descriptor: required octet, 2-octet picture
/// ID, and a scalability structure of one octet plus width and height.
const MAX_DESCRIPTOR_LEN: usize = 3 + 5;

/// The registry entry: `VP9/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["VP9"],
    packetizer: |track, _| {
        (track.codec == Codec::Vp9).then(|| boxed(Ok(Vp9Packetizer::new(track))))
    },
    depacketizer: |_| Ok(Box::new(Vp9Depacketizer::new())),
};

/// RFC 9628 packetizer in non-flexible mode.
pub struct Vp9Packetizer {
    clock_rate: u32,
    profile: Option<u8>,
    picture_id: u16,
}

impl Vp9Packetizer {
    /// A packetizer for a VP9 track (its profile from the track's `vpcC`
    /// or WebM CodecPrivate, when it has one).
    pub fn new(track: &Track) -> Vp9Packetizer {
        Vp9Packetizer {
            clock_rate: track.clock_rate,
            profile: config_profile(&track.config.extradata),
            picture_id: 0,
        }
    }
}

impl Packetizer for Vp9Packetizer {
    /// RFC 9628 §6.1: `VP9/90000`, with `profile-id` when the track's
    /// configuration names it (absent, receivers assume profile 0).
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "VP9",
            clock_rate: CLOCK,
            channels: None,
            fmtp: self.profile.map(|p| format!("profile-id={p}")),
        }
    }

    fn min_payload(&self) -> usize {
        MAX_DESCRIPTOR_LEN + 1
    }

    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        if unit.data.is_empty() {
            return Err(RtpError::BadUnit("empty VP9 frame".into()));
        }
        // What the first frame's header says; data we cannot parse is still
        // sent, as an inter frame.
        let first = superframe_frames(&unit.data)
            .ok()
            .and_then(|frames| FrameHeader::parse(frames.first()?).ok());
        let (intra, key_size) = match first.map(|h| h.kind) {
            Some(FrameKind::Coded(f)) => (f.is_intra(), f.size.filter(|_| f.key_frame)),
            _ => (false, None),
        };
        let timestamp = rescale(unit.pts, self.clock_rate, CLOCK) as u32;
        let [id_hi, id_lo] = self.picture_id.to_be_bytes();
        let predicted = if intra { 0 } else { P };
        let mut header = PayloadHeader::from_slice(&[I | predicted | B, M | id_hi, id_lo]);
        if let Some((width, height)) = key_size {
            header[0] |= V;
            header.push(SS_Y); // N_S = 0: one spatial layer
            header.extend_from_slice(&(width.min(65535) as u16).to_be_bytes());
            header.extend_from_slice(&(height.min(65535) as u16).to_be_bytes());
        }
        let first_len = max_payload - header.len();
        let rest = max_payload - 3;
        let head = unit.data.slice(..first_len.min(unit.data.len()));
        let tail = unit.data.slice(head.len()..);
        let start = out.len();
        out.push(RtpPayload {
            header,
            data: head,
            marker: false,
            timestamp,
        });
        for piece in chunks(&tail, rest) {
            out.push(RtpPayload {
                header: PayloadHeader::from_slice(&[I | predicted, M | id_hi, id_lo]),
                data: piece,
                marker: false,
                timestamp,
            });
        }
        if let Some(last) = out[start..].last_mut() {
            last.header[0] |= E;
            last.marker = true;
        }
        self.picture_id = (self.picture_id + 1) & 0x7fff;
        Ok(())
    }
}

/// The fields of an RFC 9628 §4.2 payload descriptor a receiver needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Descriptor {
    /// B: the packet starts a frame.
    pub begin: bool,
    /// E: the packet ends a frame.
    pub end: bool,
    /// P: the frame uses inter-picture prediction.
    pub predicted: bool,
    /// The picture ID, 7 or 15 bits, when present.
    pub picture_id: Option<u16>,
    /// Width and height of the first spatial layer, from a scalability
    /// structure with resolutions.
    pub resolution: Option<(u16, u16)>,
    /// Bytes of the descriptor.
    pub len: usize,
}

impl Descriptor {
    /// Parses the descriptor at the start of a payload, every optional
    /// part of both modes (§4.2, §4.2.1).
    pub fn parse(p: &[u8]) -> Result<Descriptor, &'static str> {
        let mut at = 0usize;
        let mut next = || -> Result<u8, &'static str> {
            let byte = *p.get(at).ok_or("payload descriptor cut off")?;
            at += 1;
            Ok(byte)
        };
        let b0 = next()?;
        let mut d = Descriptor {
            begin: b0 & B != 0,
            end: b0 & E != 0,
            predicted: b0 & P != 0,
            picture_id: None,
            resolution: None,
            len: 0,
        };
        if b0 & I != 0 {
            let id = next()?;
            d.picture_id = Some(if id & M != 0 {
                u16::from_be_bytes([id & 0x7f, next()?])
            } else {
                u16::from(id)
            });
        }
        let flexible = b0 & F != 0;
        if b0 & L != 0 {
            next()?; // TID, U, SID, D
            if !flexible {
                next()?; // TL0PICIDX
            }
        }
        if flexible && d.predicted {
            // Up to 3 P_DIFF octets, each with N: another follows.
            let mut diffs = 0;
            while next()? & 1 != 0 {
                diffs += 1;
                if diffs == 3 {
                    return Err("more than 3 reference indices");
                }
            }
        }
        if b0 & V != 0 {
            let ss = next()?;
            let layers = usize::from(ss >> 5) + 1;
            if ss & SS_Y != 0 {
                for layer in 0..layers {
                    let size = [next()?, next()?, next()?, next()?];
                    if layer == 0 {
                        d.resolution = Some((
                            u16::from_be_bytes([size[0], size[1]]),
                            u16::from_be_bytes([size[2], size[3]]),
                        ));
                    }
                }
            }
            if ss & SS_G != 0 {
                for _ in 0..next()? {
                    let references = next()? >> 2 & 3;
                    for _ in 0..references {
                        next()?;
                    }
                }
            }
        }
        d.len = at;
        if p.len() <= d.len {
            return Err("no VP9 data after the payload descriptor");
        }
        Ok(d)
    }
}

/// RFC 9628 depacketizer: a frame runs from a packet with B=1 to one with
/// E=1 (or the marker bit, which also ends a picture).
pub struct Vp9Depacketizer {
    frames: FrameAssembler,
}

impl Vp9Depacketizer {
    /// Nothing received yet.
    pub fn new() -> Vp9Depacketizer {
        Vp9Depacketizer {
            frames: FrameAssembler::new("VP9"),
        }
    }
}

impl Default for Vp9Depacketizer {
    fn default() -> Self {
        Vp9Depacketizer::new()
    }
}

impl Depacketizer for Vp9Depacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        self.frames.receive(packet.sequence);
        let d = Descriptor::parse(&packet.payload).map_err(|e| self.frames.malformed(e))?;
        if d.begin {
            self.frames.start(packet.timestamp);
        }
        self.frames
            .append(packet.timestamp, &[&packet.payload[d.len..]])?;
        if d.end || packet.marker {
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
    use bytes::Bytes;
    use proptest::prelude::*;

    /// A 8-bit 4:2:0 key frame header of 352x288, then `len` bytes in all.
    fn key_frame(len: usize) -> Bytes {
        let mut f = vec![0x82, 0x49, 0x83, 0x42, 0x00, 0x15, 0xf0, 0x11, 0xf0];
        f.resize(len, 0x5a);
        f.into()
    }

    fn packetize(frames: &[Bytes], max: usize) -> Vec<RtpPayload> {
        let mut p = Vp9Packetizer::new(&Track::new(0, Codec::Vp9, 90000));
        let mut out = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            p.packetize(&unit(3000 * i as i64, f.clone()), max, &mut out)
                .unwrap();
        }
        out
    }

    #[test]
    fn key_frames_carry_the_scalability_structure() {
        let inter = Bytes::from_static(&[0x86, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        let payloads = packetize(&[key_frame(20), inter.clone()], 14);
        assert_eq!(
            payloads[0].header.as_slice(),
            &[0x8a, 0x80, 0x00, 0x10, 0x01, 0x60, 0x01, 0x20]
        );
        assert_eq!(payloads[0].data.len(), 6);
        assert_eq!(payloads[1].header.as_slice(), &[0x80, 0x80, 0x00]);
        assert_eq!(payloads[2].header.as_slice(), &[0x84, 0x80, 0x00]);
        assert!(payloads[2].marker && !payloads[1].marker);
        // The inter frame: P=1, B and E in one packet, picture ID 1.
        assert_eq!(payloads[3].header.as_slice(), &[0xcc, 0x80, 0x01]);
        assert_eq!(payloads.len(), 4);
        let d = Descriptor::parse(&[&payloads[0].header[..], &[0]].concat()).unwrap();
        assert_eq!(d.resolution, Some((352, 288)));
        let out = depacketize(&mut Vp9Depacketizer::new(), &receive(&payloads));
        assert_eq!(out[0].data, key_frame(20));
        assert_eq!(out[1].data, inter);
    }

    #[test]
    fn the_profile_comes_from_the_configuration() {
        let mut track = Track::new(0, Codec::Vp9, 90000);
        assert_eq!(Vp9Packetizer::new(&track).description().fmtp, None);
        track.config.extradata = Bytes::from_static(&[1, 0, 0, 0, 2, 10, 0xa2, 1, 1, 1, 0, 0]);
        let d = Vp9Packetizer::new(&track).description();
        assert_eq!(
            (d.rtpmap(), d.fmtp.as_deref()),
            ("VP9/90000".into(), Some("profile-id=2"))
        );
    }

    #[test]
    fn flexible_mode_layers_and_picture_groups_are_read() {
        // Flexible, predicted, 7-bit id, layer indices, two P_DIFFs.
        let d = Descriptor::parse(&[0xfc, 0x05, 0x20, 0x03, 0x04, 0xaa]).unwrap();
        assert_eq!(
            (d.picture_id, d.len, d.begin, d.end),
            (Some(5), 5, true, true)
        );
        // Non-flexible with TL0PICIDX, and an SS of two layers with a group
        // of two pictures, the second with two references.
        let ss = [
            0xaa, 0x81, 0x00, 0x00, 0x07, 0x3f, 0x00, 0xb0, 0x00, 0x90, 0x01, 0x60, 0x01, 0x20,
            0x02, 0x00, 0x08, 0x01, 0x02, 0xbb,
        ];
        let d = Descriptor::parse(&ss).unwrap();
        assert_eq!((d.resolution, d.len), (Some((176, 144)), ss.len() - 1));
        for cut in 0..ss.len() {
            assert!(Descriptor::parse(&ss[..cut]).is_err(), "{cut}");
        }
        assert!(Descriptor::parse(&[0x5c, 0x01, 0x01, 0x01, 0x00, 0xaa]).is_err());
    }

    #[test]
    fn a_picture_split_by_loss_or_garbage_is_dropped() {
        let frames = [key_frame(40), key_frame(30)];
        let mut packets = receive(&packetize(&frames, 20));
        let garbage = packet(2, packets[2].timestamp, &[0x80]);
        packets[2] = garbage;
        let mut d = Vp9Depacketizer::new();
        let mut out = Vec::new();
        let errors = packets
            .iter()
            .filter(|p| d.push(p, &mut out).is_err())
            .count();
        assert_eq!(errors, 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, frames[1]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn any_frames_round_trip_at_any_payload_size(
            sizes in prop::collection::vec((1usize..3000, any::<bool>()), 1..6),
            max in 9usize..1500,
        ) {
            let frames: Vec<Bytes> = sizes.iter().map(|&(len, key)| if key && len >= 9 {
                key_frame(len)
            } else {
                Bytes::from(vec![0x86; len])
            }).collect();
            let payloads = packetize(&frames, max);
            prop_assert!(payloads.iter().all(|p| p.len() <= max));
            let out = depacketize(&mut Vp9Depacketizer::new(), &receive(&payloads));
            let expected: Vec<ReceivedUnit> = frames.iter().enumerate()
                .map(|(i, f)| ReceivedUnit { timestamp: 3000 * i as u32, data: f.clone() })
                .collect();
            prop_assert_eq!(out, expected);
        }
    }
}
