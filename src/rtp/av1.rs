//! AV1 over RTP, the AOMedia "RTP Payload Format for AV1" v1.0.0: an
//! aggregation header (§4.4: Z, Y, W, N), then OBU elements, each after a
//! LEB128 length but for the last one when W counts them (§4.3); an OBU
//! larger than a packet continues in the next (Y, then Z). The marker bit
//! ends a temporal unit (§4.2).
//!
//! Sent, as §5 recommends: no temporal delimiters (nor tile list OBUs), and
//! every OBU without its `obu_size` field (`obu_has_size_field` cleared:
//! the element length gives it). A key frame's temporal unit starts with
//! the sequence header — the one in the unit, else the latest seen, else
//! the track's configuration — and its first packet has N=1 (§4.4: a new
//! coded video sequence). W is the element count when at most 3 (the last
//! element without a length), else 0. Not sent: the `a=fmtp` parameters
//! beyond `profile`, `level-idx` and `tier` (§7.2.1), and the Dependency
//! Descriptor header extension (§A, for scalable streams).
//!
//! The depacketizer gives temporal units in the low overhead bitstream
//! format (AV1 §5.2, §7.5): a temporal delimiter first, then every OBU with
//! its shortest `obu_size` field. A temporal unit in that form (what IVF
//! files and FFmpeg hold) comes back byte for byte.
//!
//! A track's configuration is the `av1C` record of MP4 and Matroska
//! (AV1-ISOBMFF §2.3: 4 bytes then `configOBUs`), or bare OBUs.

use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::frame_assembly::{FrameAssembler, MAX_FRAME_BYTES};
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::av1::{
    config_obus, find_sequence_header, leb128_len, obu_type, obus, read_leb128, write_leb128,
    Av1Config, Obu, ObuHeader, SequenceHeader, TEMPORAL_DELIMITER,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// RTP clock of AV1 (§7.1).
const CLOCK: u32 = 90000;

/// Aggregation header bits (§4.4).
const Z: u8 = 0x80;
const Y: u8 = 0x40;
const N: u8 = 0x08;

/// The most OBU elements W can count (§4.4).
const MAX_W: usize = 3;

/// The registry entry: `AV1/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["AV1"],
    packetizer: |track, _| (track.codec == Codec::Av1).then(|| boxed(Av1Packetizer::new(track))),
    depacketizer: |_| Ok(Box::new(Av1Depacketizer::new())),
};

/// An OBU as sent: its header (size field flag cleared) and payload.
#[derive(Clone, Debug)]
struct Element {
    head: [u8; 2],
    head_len: usize,
    body: Bytes,
}

impl Element {
    /// The OBU at `obu` of `data` (a slice of `data` for the payload).
    fn of(data: &Bytes, obu: &Obu<'_>) -> Element {
        let (head, head_len) = obu.header.to_bytes(false);
        let end = obu.offset + obu.len;
        Element {
            head,
            head_len,
            body: data.slice(end - obu.payload.len()..end),
        }
    }

    fn len(&self) -> usize {
        self.head_len + self.body.len()
    }

    /// The bytes of `range` of the element: a part of its header, then a
    /// slice of its payload.
    fn part(&self, range: &std::ops::Range<usize>) -> (&[u8], Bytes) {
        let h = self.head_len;
        let head = &self.head[range.start.min(h)..range.end.min(h)];
        let body = self
            .body
            .slice(range.start.saturating_sub(h)..range.end.saturating_sub(h));
        (head, body)
    }
}

/// A piece of an element in a packet.
struct Piece {
    element: usize,
    range: std::ops::Range<usize>,
}

/// The AV1 RTP packetizer.
pub struct Av1Packetizer {
    clock_rate: u32,
    fmtp: Option<String>,
    /// The latest sequence header, sent before key frames that lack one.
    sequence_header: Option<Element>,
}

impl Av1Packetizer {
    /// A packetizer for an AV1 track; its configuration, when present, must
    /// be an `av1C` record or OBUs.
    pub fn new(track: &Track) -> Result<Av1Packetizer, RtpError> {
        let extradata = &track.config.extradata;
        let bad = |e| RtpError::MissingConfig(format!("AV1 codec configuration: {e}"));
        let obus_of_config = config_obus(extradata).map_err(bad)?;
        let sequence_header = find_sequence_header(obus_of_config);
        let parsed = sequence_header
            .map(|obu| SequenceHeader::parse(obu.payload))
            .transpose()
            .map_err(bad)?;
        let fields = match (parsed, Av1Config::parse(extradata)) {
            (Some(h), _) => Some((h.profile, h.level_idx, h.tier)),
            (None, Ok(c)) => Some((c.profile, c.level_idx, c.tier)),
            (None, Err(_)) => None,
        };
        let config = Bytes::copy_from_slice(obus_of_config);
        Ok(Av1Packetizer {
            clock_rate: track.clock_rate,
            fmtp: fields.map(|(profile, level, tier)| {
                format!("profile={profile};level-idx={level};tier={tier}")
            }),
            sequence_header: sequence_header.map(|obu| Element::of(&config, &obu)),
        })
    }

    /// The OBUs of `unit` to send, and whether they start a coded video
    /// sequence.
    fn elements(&self, unit: &AccessUnit) -> Result<(Vec<Element>, Option<Element>), RtpError> {
        let mut elements = Vec::new();
        let mut sequence_header = None;
        for obu in obus(&unit.data) {
            let obu = obu.map_err(|e| RtpError::BadUnit(format!("AV1 temporal unit: {e}")))?;
            match obu.header.obu_type {
                obu_type::TEMPORAL_DELIMITER | obu_type::TILE_LIST => continue,
                obu_type::SEQUENCE_HEADER => sequence_header = Some(Element::of(&unit.data, &obu)),
                _ => {}
            }
            elements.push(Element::of(&unit.data, &obu));
        }
        if unit.keyframe && sequence_header.is_none() {
            if let Some(stored) = &self.sequence_header {
                elements.insert(0, stored.clone());
            }
        }
        if elements.is_empty() {
            return Err(RtpError::BadUnit(
                "AV1 temporal unit without OBUs to send (only temporal delimiters)".into(),
            ));
        }
        Ok((elements, sequence_header))
    }
}

/// The pieces of `elements` in each packet of at most `space` bytes after
/// the aggregation header, greedily: whole elements while they fit (with a
/// length, dropped later from the last of at most 3), then as much of the
/// next as fits, which ends the packet.
fn pack(elements: &[Element], space: usize) -> Vec<SmallVec<[Piece; 4]>> {
    let mut packets = Vec::new();
    let mut current: SmallVec<[Piece; 4]> = SmallVec::new();
    let mut used = 0;
    for (element, e) in elements.iter().enumerate() {
        let len = e.len();
        let mut pos = 0;
        while pos < len {
            let rest = len - pos;
            if used + leb128_len(rest) + rest <= space {
                current.push(Piece {
                    element,
                    range: pos..len,
                });
                used += leb128_len(rest) + rest;
                pos = len;
                continue;
            }
            let last_unprefixed = current.len() < MAX_W;
            let avail = space - used;
            let chunk = if last_unprefixed {
                rest.min(avail)
            } else {
                let mut c = avail.saturating_sub(1);
                while c > 0 && leb128_len(c) + c > avail {
                    c -= 1;
                }
                c
            };
            if chunk > 0 {
                current.push(Piece {
                    element,
                    range: pos..pos + chunk,
                });
                pos += chunk;
            }
            packets.push(std::mem::take(&mut current));
            used = 0;
        }
    }
    if !current.is_empty() {
        packets.push(current);
    }
    packets
}

impl Packetizer for Av1Packetizer {
    /// §7.1–7.2: `AV1/90000`, with `profile`, `level-idx` and `tier` from
    /// the track's sequence header or `av1C` record when it has one.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: None,
            encoding: "AV1",
            clock_rate: CLOCK,
            channels: None,
            fmtp: self.fmtp.clone(),
        }
    }

    /// The aggregation header and one byte of an OBU element.
    fn min_payload(&self) -> usize {
        2
    }

    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let (elements, in_band) = self.elements(unit)?;
        let starts_sequence = unit.keyframe
            && elements.first().is_some_and(|e| {
                ObuHeader::parse(&e.head).is_ok_and(|h| h.obu_type == obu_type::SEQUENCE_HEADER)
            });
        if in_band.is_some() {
            self.sequence_header = in_band;
        }
        let timestamp = rescale(unit.pts, self.clock_rate, CLOCK) as u32;
        let packets = pack(&elements, max_payload - 1);
        let count = packets.len();
        for (i, pieces) in packets.into_iter().enumerate() {
            let (first, last) = (&pieces[0], &pieces[pieces.len() - 1]);
            let w = if pieces.len() <= MAX_W {
                pieces.len()
            } else {
                0
            };
            let mut aggregation = (w as u8) << 4;
            if first.range.start > 0 {
                aggregation |= Z;
            }
            if last.range.end < elements[last.element].len() {
                aggregation |= Y;
            }
            if i == 0 && starts_sequence {
                aggregation |= N;
            }
            let mut header = PayloadHeader::from_slice(&[aggregation]);
            let data = if let [only] = pieces.as_slice() {
                // One element without a length: zero-copy for its payload.
                let (head, body) = elements[only.element].part(&only.range);
                header.extend_from_slice(head);
                body
            } else {
                let mut buf = BytesMut::with_capacity(max_payload);
                for (j, piece) in pieces.iter().enumerate() {
                    if w == 0 || j + 1 < pieces.len() {
                        write_leb128(piece.range.len(), &mut buf);
                    }
                    let (head, body) = elements[piece.element].part(&piece.range);
                    buf.put_slice(head);
                    buf.put_slice(&body);
                }
                buf.freeze()
            };
            out.push(RtpPayload {
                header,
                data,
                marker: i + 1 == count,
                timestamp,
            });
        }
        Ok(())
    }
}

/// The OBU elements of a packet after its aggregation header (§4.3): with
/// `w` > 0, `w - 1` elements with a length and a last one without; with
/// `w` = 0, elements with a length until the end. All are checked before
/// any is used.
fn split_elements(mut rest: &[u8], w: usize) -> Result<SmallVec<[&[u8]; 8]>, &'static str> {
    let mut elements = SmallVec::new();
    if rest.is_empty() {
        return Err("no OBU element after the aggregation header");
    }
    while !rest.is_empty() {
        if w > 0 && elements.len() + 1 == w {
            elements.push(rest);
            return Ok(elements);
        }
        let (len, size_len) = read_leb128(rest).map_err(|_| "bad OBU element length")?;
        let element = usize::try_from(len)
            .ok()
            .and_then(|len| rest.get(size_len..size_len.checked_add(len)?))
            .ok_or("OBU element length runs past the packet")?;
        if element.is_empty() {
            return Err("OBU element of zero bytes");
        }
        elements.push(element);
        rest = &rest[size_len + element.len()..];
    }
    if w > 0 {
        return Err("fewer OBU elements than W counts");
    }
    Ok(elements)
}

/// The AV1 RTP depacketizer: temporal units in the low overhead bitstream
/// format.
pub struct Av1Depacketizer {
    frames: FrameAssembler,
    /// Timestamp of the temporal unit whose packets are arriving (being
    /// assembled, or dropped); `None` after a marker.
    timestamp: Option<u32>,
    /// The start of an OBU that continues in the next packet (Y=1).
    fragment: Option<BytesMut>,
}

impl Av1Depacketizer {
    /// Nothing received yet.
    pub fn new() -> Av1Depacketizer {
        Av1Depacketizer {
            frames: FrameAssembler::new("AV1"),
            timestamp: None,
            fragment: None,
        }
    }

    fn malformed(&mut self, what: &str) -> RtpError {
        self.fragment = None;
        self.frames.malformed(what)
    }

    /// Appends a whole OBU to the temporal unit, with its size field.
    fn add_obu(&mut self, timestamp: u32, obu: &[u8]) -> Result<(), RtpError> {
        let header = ObuHeader::parse(obu).map_err(|e| self.malformed(&e.to_string()))?;
        let mut payload = &obu[header.len()..];
        if header.has_size_field {
            // A sender may keep the field (§5 only recommends removing it).
            let (size, size_len) =
                read_leb128(payload).map_err(|e| self.malformed(&e.to_string()))?;
            payload = usize::try_from(size)
                .ok()
                .and_then(|s| payload.get(size_len..size_len.checked_add(s)?))
                .ok_or_else(|| self.malformed("obu_size runs past the OBU element"))?;
        }
        if header.obu_type == obu_type::TEMPORAL_DELIMITER {
            return Ok(());
        }
        let (head, head_len) = header.to_bytes(true);
        let mut size: SmallVec<[u8; 8]> = SmallVec::new();
        write_leb128(payload.len(), &mut size);
        // The temporal delimiter goes before the first OBU: a temporal unit
        // of nothing else is not one.
        let delimiter: &[u8] = if self.frames.frame_len() == Some(0) {
            &TEMPORAL_DELIMITER
        } else {
            &[]
        };
        self.frames
            .append(timestamp, &[delimiter, &head[..head_len], &size, payload])
    }
}

impl Default for Av1Depacketizer {
    fn default() -> Self {
        Av1Depacketizer::new()
    }
}

impl Depacketizer for Av1Depacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if self.frames.receive(packet.sequence) {
            self.fragment = None;
        }
        let ts = packet.timestamp;
        let Some((&aggregation, body)) = packet.payload.split_first() else {
            return Err(self.malformed("empty payload"));
        };
        let w = usize::from(aggregation >> 4 & 3);
        let elements = split_elements(body, w).map_err(|e| self.malformed(e))?;
        if self.timestamp != Some(ts) {
            // A new temporal unit; one that starts inside an OBU lost its
            // first packet and is dropped.
            self.timestamp = Some(ts);
            self.fragment = None;
            self.frames.drop_frame();
            if aggregation & Z == 0 {
                self.frames.start(ts);
            }
        }
        if self.frames.frame_timestamp().is_some() {
            let count = elements.len();
            for (i, element) in elements.into_iter().enumerate() {
                let continues = i == 0 && aggregation & Z != 0;
                let whole = match (continues, self.fragment.take()) {
                    (true, Some(mut start)) => {
                        if start.len() + element.len() > MAX_FRAME_BYTES {
                            return Err(self.malformed("fragmented OBU larger than 64 MiB"));
                        }
                        start.put_slice(element);
                        start
                    }
                    (true, None) => return Err(self.malformed("Z=1 without an OBU to continue")),
                    (false, Some(_)) => {
                        return Err(self.malformed("an OBU fragment was never continued"))
                    }
                    (false, None) => BytesMut::from(element),
                };
                if i + 1 == count && aggregation & Y != 0 {
                    self.fragment = Some(whole);
                } else {
                    self.add_obu(ts, &whole)?;
                }
            }
        }
        if packet.marker {
            self.timestamp = None;
            if self.fragment.take().is_some() {
                return Err(
                    self.malformed("temporal unit ends inside an OBU (Y=1 with the marker)")
                );
            }
            self.frames.end(out);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        self.fragment = None;
        self.frames.drop_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::av1::HAS_SIZE_FIELD;
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use proptest::prelude::*;

    /// The sequence header libaom wrote for a 160x120 8-bit 4:2:0 stream.
    const SEQUENCE_HEADER: [u8; 12] = [
        0x0a, 0x0a, 0x00, 0x00, 0x00, 0x03, 0xb4, 0xff, 0x73, 0x6b, 0xe4, 0x01,
    ];

    /// An OBU of `obu_type` with a size field and `payload`.
    fn obu(obu_type: u8, extension: Option<u8>, payload: &[u8]) -> Vec<u8> {
        let header = ObuHeader {
            obu_type,
            has_size_field: true,
            extension,
        };
        let (head, len) = header.to_bytes(true);
        let mut out = head[..len].to_vec();
        write_leb128(payload.len(), &mut out);
        out.extend_from_slice(payload);
        out
    }

    /// A temporal unit: a temporal delimiter, then `obus`.
    fn temporal_unit(obus: &[Vec<u8>]) -> Bytes {
        let mut tu = TEMPORAL_DELIMITER.to_vec();
        for o in obus {
            tu.extend_from_slice(o);
        }
        tu.into()
    }

    fn track(extradata: &[u8]) -> Track {
        let mut t = Track::new(0, Codec::Av1, 90000);
        t.config.extradata = Bytes::copy_from_slice(extradata);
        t
    }

    fn payload_bytes(p: &RtpPayload) -> Vec<u8> {
        [&p.header[..], &p.data[..]].concat()
    }

    #[test]
    fn small_obus_aggregate_without_size_fields() {
        let frame = obu(obu_type::FRAME, None, &[0xaa; 5]);
        let tu = temporal_unit(&[SEQUENCE_HEADER.to_vec(), frame]);
        let mut p = Av1Packetizer::new(&track(&[])).unwrap();
        let mut out = Vec::new();
        p.packetize(&unit(3000, tu.clone()), 1200, &mut out)
            .unwrap();
        assert_eq!(out.len(), 1);
        // N (key frame with a sequence header), W=2; the sequence header
        // with its length, its size field dropped; the frame OBU last.
        let mut expected = vec![0x28, 11, 0x08];
        expected.extend_from_slice(&SEQUENCE_HEADER[2..]);
        expected.extend_from_slice(&[0x30, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
        assert_eq!(payload_bytes(&out[0]), expected);
        assert!(out[0].marker);
        assert_eq!(out[0].timestamp, 3000);
        let back = depacketize(&mut Av1Depacketizer::new(), &receive(&out));
        assert_eq!(
            back,
            [ReceivedUnit {
                timestamp: 3000,
                data: tu
            }]
        );
    }

    #[test]
    fn the_sequence_header_from_av1c_goes_before_key_frames() {
        let mut record = vec![0x81, 0x08, 0x0c, 0x00];
        record.extend_from_slice(&SEQUENCE_HEADER);
        let mut p = Av1Packetizer::new(&track(&record)).unwrap();
        assert_eq!(
            p.description().fmtp.as_deref(),
            Some("profile=0;level-idx=0;tier=0")
        );
        // Matroska-style samples: no temporal delimiter, no size field on
        // the last OBU.
        let key = Bytes::from_static(&[0x30, 1, 2, 3]);
        let mut out = Vec::new();
        p.packetize(&unit(0, key.clone()), 1200, &mut out).unwrap();
        let mut inter = unit(3000, key);
        inter.keyframe = false;
        p.packetize(&inter, 1200, &mut out).unwrap();
        assert_eq!(out[0].header[0], 0x28);
        assert_eq!(out[1].header[0], 0x10);
        let back = depacketize(&mut Av1Depacketizer::new(), &receive(&out));
        assert_eq!(
            back[0].data,
            temporal_unit(&[SEQUENCE_HEADER.to_vec(), obu(6, None, &[1, 2, 3])])
        );
        assert_eq!(back[1].data, temporal_unit(&[obu(6, None, &[1, 2, 3])]));
        // av1C alone (no configOBUs) still gives the fmtp.
        let p = Av1Packetizer::new(&track(&[0x81, 0x4d, 0xe0, 0x00])).unwrap();
        assert_eq!(
            p.description().fmtp.as_deref(),
            Some("profile=2;level-idx=13;tier=1")
        );
        assert!(Av1Packetizer::new(&track(&[0x82, 0, 0, 0])).is_err());
        assert_eq!(
            Av1Packetizer::new(&track(&[])).unwrap().description().fmtp,
            None
        );
    }

    #[test]
    fn large_obus_fragment_with_z_and_y() {
        let big = obu(obu_type::FRAME, Some(0x10), &[0x55; 300]);
        let tu = temporal_unit(&[obu(obu_type::METADATA, None, &[1, 2]), big]);
        let mut p = Av1Packetizer::new(&track(&[])).unwrap();
        let mut out = Vec::new();
        let mut u = unit(0, tu.clone());
        u.keyframe = false;
        p.packetize(&u, 100, &mut out).unwrap();
        assert!(out.iter().all(|p| p.len() <= 100));
        let flags: Vec<u8> = out.iter().map(|p| p.header[0] & 0xc0).collect();
        assert_eq!(flags, [Y, Z | Y, Z | Y, Z]);
        let back = depacketize(&mut Av1Depacketizer::new(), &receive(&out));
        assert_eq!(back[0].data, tu);
        // Continuation fragments are slices of the unit.
        let at = out[1].data.as_ptr() as usize;
        assert!(at > tu.as_ptr() as usize && at < tu.as_ptr() as usize + tu.len());
        // Losing the middle drops the unit; the next one is whole.
        let mut packets = receive(&out);
        packets.remove(1);
        let mut again = Vec::new();
        let mut next = unit(3000, temporal_unit(&[obu(6, None, &[9])]));
        next.keyframe = false;
        p.packetize(&next, 100, &mut again).unwrap();
        let mut tail = receive(&again);
        tail[0].sequence = 4;
        packets.extend(tail);
        let back = depacketize(&mut Av1Depacketizer::new(), &packets);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].timestamp, 3000);
    }

    #[test]
    fn more_than_three_elements_use_w_0() {
        let obus: Vec<Vec<u8>> = (0..5)
            .map(|i| obu(obu_type::METADATA, None, &[i]))
            .collect();
        let tu = temporal_unit(&obus);
        let mut p = Av1Packetizer::new(&track(&[])).unwrap();
        let mut out = Vec::new();
        p.packetize(&unit(0, tu.clone()), 1200, &mut out).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].header[0] & 0x30, 0);
        assert_eq!(payload_bytes(&out[0])[1..4], [2, 0x28, 0]);
        let back = depacketize(&mut Av1Depacketizer::new(), &receive(&out));
        assert_eq!(back[0].data, tu);
    }

    #[test]
    fn size_fields_kept_by_a_sender_are_read() {
        // W=1, the OBU with its size field and a trailing byte beyond it.
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        let mut p = packet(0, 9, &[0x10, 0x30 | HAS_SIZE_FIELD, 2, 7, 8, 0xee]);
        p.marker = true;
        d.push(&p, &mut out).unwrap();
        assert_eq!(out[0].data, temporal_unit(&[obu(6, None, &[7, 8])]));
        let mut p = packet(1, 10, &[0x10, 0x30 | HAS_SIZE_FIELD, 5, 7, 8]);
        p.marker = true;
        assert!(d.push(&p, &mut out).is_err());
    }

    #[test]
    fn a_temporal_unit_of_only_delimiters_is_no_unit() {
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        let mut p = packet(0, 0, &[0x10, 0x10]);
        p.marker = true;
        d.push(&p, &mut out).unwrap();
        assert!(out.is_empty());
    }

    #[test]
    fn hostile_aggregation_is_refused() {
        for payload in [
            &[][..],
            &[0x00],
            &[0x00, 0x05, 0x30],
            &[0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01],
            &[0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x30],
            &[0x00, 0x00],
            &[0x30, 0x01, 0x30],
            &[0x20, 0x00, 0x30],
            &[0x10, 0x80],
            &[0x10, 0x34],
        ] {
            let mut d = Av1Depacketizer::new();
            let mut out = Vec::new();
            let mut p = packet(0, 0, payload);
            p.marker = true;
            assert!(d.push(&p, &mut out).is_err(), "{payload:?}");
            assert!(out.is_empty());
        }
        // A fragment never continued, a marker inside an OBU.
        let mut d = Av1Depacketizer::new();
        let mut out = Vec::new();
        d.push(&packet(0, 0, &[0x50, 0x30, 1]), &mut out).unwrap();
        assert!(d.push(&packet(1, 0, &[0x10, 0x30]), &mut out).is_err());
        let mut m = packet(2, 1, &[0x50, 0x30]);
        m.marker = true;
        assert!(d.push(&m, &mut out).is_err());
        assert!(out.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn any_temporal_units_round_trip_at_any_payload_size(
            units in prop::collection::vec(
                prop::collection::vec(
                    (prop::sample::select(vec![3u8, 4, 5, 6, 15]),
                     prop::option::of(any::<u8>()),
                     prop::collection::vec(any::<u8>(), 0..2500)),
                    1..6),
                1..4),
            max in 2usize..1500,
        ) {
            let mut p = Av1Packetizer::new(&track(&[])).unwrap();
            let mut payloads = Vec::new();
            let mut expected = Vec::new();
            for (i, obus) in units.iter().enumerate() {
                let tu = temporal_unit(&obus.iter().map(|(t, x, b)| obu(*t, *x, b)).collect::<Vec<_>>());
                p.packetize(&unit(3000 * i as i64, tu.clone()), max, &mut payloads).unwrap();
                expected.push(ReceivedUnit { timestamp: 3000 * i as u32, data: tu });
            }
            prop_assert!(payloads.iter().all(|p| p.len() <= max));
            let out = depacketize(&mut Av1Depacketizer::new(), &receive(&payloads));
            prop_assert_eq!(out, expected);
        }
    }
}
