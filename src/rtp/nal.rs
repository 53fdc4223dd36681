//! What H.264 (RFC 6184) and H.265 (RFC 7798) payload formats share: the
//! three packet kinds of the non-interleaved mode — a single NAL unit, an
//! aggregation packet (STAP-A / AP) and fragmentation units (FU-A / FU) —
//! which differ only in the NAL unit header (1 or 2 bytes) and type numbers.
//! Each codec module describes its header in a [`NalSyntax`]; the packet
//! logic is written once here.

use std::marker::PhantomData;

use bytes::{BufMut, Bytes, BytesMut};

use super::{
    rescale, Depacketizer, PayloadHeader, ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::nal::nal_units;
use crate::media::{AccessUnit, NalFraming, Track};

/// The RTP clock of every NAL-based video payload format (RFC 6184 §8.2.1,
/// RFC 7798 §7.1).
pub const VIDEO_CLOCK: u32 = 90000;

/// Annex B start code the depacketizers put before each NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// A codec's NAL unit header syntax and payload type numbers.
pub trait NalSyntax: Send + 'static {
    /// Codec name for messages.
    const NAME: &'static str;
    /// Bytes in the NAL unit header (and payload header).
    const HEADER_LEN: usize;
    /// Type of an aggregation packet (STAP-A 24, AP 48).
    const AGGREGATION: u8;
    /// Type of a fragmentation unit (FU-A 28, FU 49).
    const FRAGMENT: u8;

    /// The NAL unit type of a NAL unit (or payload header) starting `nal`.
    fn nal_type(nal: &[u8]) -> u8;
    /// A payload header like `header` but with type `nal_type`.
    fn with_type(header: &[u8], nal_type: u8) -> PayloadHeader;
    /// The payload header of an aggregation packet holding `nals`.
    fn aggregation_header(nals: &[Bytes]) -> PayloadHeader;
    /// The FU header byte after the payload header: start and end flags
    /// and the fragmented NAL unit's type.
    fn fu_header(start: bool, end: bool, nal_type: u8) -> u8 {
        (u8::from(start) << 7) | (u8::from(end) << 6) | nal_type
    }
    /// Parses an FU header byte into (start, end, type).
    fn parse_fu_header(byte: u8) -> (bool, bool, u8);
    /// Parameter set types, in the order they are inserted before a
    /// random-access picture (H.264: SPS, PPS; H.265: VPS, SPS, PPS).
    const PARAMETER_SETS: &'static [u8];
    /// Whether a NAL type is a random-access (IDR / IRAP) picture's slice.
    fn is_random_access(nal_type: u8) -> bool;
    /// Whether a NAL type is an access unit delimiter, which stays first.
    fn is_delimiter(nal_type: u8) -> bool;
    /// Whether a payload header type is a NAL unit type (a single NAL unit
    /// packet) rather than a packet type or a reserved value.
    fn is_nal_unit_type(nal_type: u8) -> bool;
}

/// Packetizer of a NAL-based codec (non-interleaved mode).
pub struct NalPacketizer<S: NalSyntax> {
    framing: NalFraming,
    clock_rate: u32,
    /// The latest parameter sets, by type, re-sent before each random-access
    /// picture that lacks them.
    parameter_sets: Vec<Vec<Bytes>>,
    nals: Vec<Bytes>,
    syntax: PhantomData<S>,
}

impl<S: NalSyntax> NalPacketizer<S> {
    /// A packetizer for `track`, starting from its out-of-band parameter sets.
    pub fn new(track: &Track) -> NalPacketizer<S> {
        let parameter_sets = S::PARAMETER_SETS
            .iter()
            .map(|&t| {
                track
                    .config
                    .parameter_sets
                    .iter()
                    .filter(|n| n.len() > S::HEADER_LEN && S::nal_type(n) == t)
                    .cloned()
                    .collect()
            })
            .collect();
        NalPacketizer {
            framing: track.framing,
            clock_rate: track.clock_rate,
            parameter_sets,
            nals: Vec::new(),
            syntax: PhantomData,
        }
    }

    /// Payload header plus FU header, and one byte of data.
    pub fn min_payload() -> usize {
        S::HEADER_LEN + 2
    }

    /// The unit's NAL units, with the parameter sets in front of a
    /// random-access picture that does not carry them (after a leading
    /// access unit delimiter), and the stored sets updated from those the
    /// unit does carry.
    fn collect_nals(&mut self, unit: &AccessUnit) {
        self.nals.clear();
        self.nals.extend(
            nal_units(self.framing, &unit.data)
                .into_iter()
                .filter(|n| n.len() >= S::HEADER_LEN),
        );
        let mut present = vec![Vec::new(); S::PARAMETER_SETS.len()];
        let mut random_access = false;
        for nal in &self.nals {
            let t = S::nal_type(nal);
            if let Some(i) = S::PARAMETER_SETS.iter().position(|&p| p == t) {
                present[i].push(nal.clone());
            }
            random_access |= S::is_random_access(t);
        }
        let complete = present.iter().all(|sets| !sets.is_empty());
        for (stored, seen) in self.parameter_sets.iter_mut().zip(present) {
            if !seen.is_empty() {
                *stored = seen;
            }
        }
        if random_access && !complete {
            let at = usize::from(
                self.nals
                    .first()
                    .is_some_and(|n| S::is_delimiter(S::nal_type(n))),
            );
            let sets: Vec<Bytes> = self.parameter_sets.iter().flatten().cloned().collect();
            self.nals.splice(at..at, sets);
        }
    }

    /// RFC 6184 §5.6–§5.8 / RFC 7798 §4.4.1–§4.4.3: each NAL unit goes alone
    /// when it fits, consecutive small ones aggregated while they fit, and
    /// one larger than `max_payload` in fragments. The marker bit is set on
    /// the last packet of the access unit (RFC 6184 §5.1, RFC 7798 §4.1).
    pub fn packetize(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        if max_payload < Self::min_payload() {
            return Err(RtpError::PayloadTooSmall {
                format: S::NAME,
                needed: Self::min_payload(),
                available: max_payload,
            });
        }
        self.collect_nals(unit);
        let timestamp = rescale(unit.pts, self.clock_rate, VIDEO_CLOCK) as u32;
        let first = out.len();
        let payload = |header: PayloadHeader, data: Bytes| RtpPayload {
            header,
            data,
            marker: false,
            timestamp,
        };
        let mut i = 0;
        while i < self.nals.len() {
            let nal = &self.nals[i];
            if nal.len() > max_payload {
                fragment::<S>(nal, max_payload, |h, d| out.push(payload(h, d)));
                i += 1;
                continue;
            }
            // Aggregate: payload header, then a 16-bit size before each NAL.
            let mut end = i;
            let mut size = S::HEADER_LEN;
            while let Some(next) = self.nals.get(end) {
                if size + 2 + next.len() > max_payload || next.len() > usize::from(u16::MAX) {
                    break;
                }
                size += 2 + next.len();
                end += 1;
            }
            if end - i >= 2 {
                let group = &self.nals[i..end];
                let mut data = BytesMut::with_capacity(size - S::HEADER_LEN);
                for n in group {
                    data.put_u16(n.len() as u16);
                    data.put_slice(n);
                }
                out.push(payload(S::aggregation_header(group), data.freeze()));
                i = end;
            } else {
                out.push(payload(PayloadHeader::new(), nal.clone()));
                i += 1;
            }
        }
        if let Some(last) = out[first..].last_mut() {
            last.marker = true;
        }
        Ok(())
    }
}

/// Splits `nal` into fragmentation units of at most `max_payload` bytes: the
/// payload header (the NAL header with the FU type), the FU header, then a
/// piece of the NAL unit's payload (its header is carried in the two).
fn fragment<S: NalSyntax>(
    nal: &Bytes,
    max_payload: usize,
    mut emit: impl FnMut(PayloadHeader, Bytes),
) {
    let nal_type = S::nal_type(nal);
    let mut header = S::with_type(&nal[..S::HEADER_LEN], S::FRAGMENT);
    let chunk = max_payload - S::HEADER_LEN - 1;
    let body = nal.slice(S::HEADER_LEN..);
    let mut offset = 0;
    while offset < body.len() {
        let end = (offset + chunk).min(body.len());
        header.truncate(S::HEADER_LEN);
        header.push(S::fu_header(offset == 0, end == body.len(), nal_type));
        emit(header.clone(), body.slice(offset..end));
        offset = end;
    }
}

/// Depacketizer of a NAL-based codec: access units in Annex B form.
pub struct NalDepacketizer<S: NalSyntax> {
    /// Timestamp and NAL units of the access unit being assembled.
    current: Option<(u32, BytesMut)>,
    /// A fragmented NAL unit being reassembled.
    fragment: Option<BytesMut>,
    expected_sequence: Option<u16>,
    syntax: PhantomData<S>,
}

impl<S: NalSyntax> NalDepacketizer<S> {
    /// A depacketizer with nothing received.
    pub fn new() -> NalDepacketizer<S> {
        NalDepacketizer {
            current: None,
            fragment: None,
            expected_sequence: None,
            syntax: PhantomData,
        }
    }

    fn add_nal(&mut self, timestamp: u32, nal: &[u8]) {
        let (_, data) = self
            .current
            .get_or_insert_with(|| (timestamp, BytesMut::new()));
        data.put_slice(&START_CODE);
        data.put_slice(nal);
    }

    fn emit(&mut self, out: &mut Vec<ReceivedUnit>) {
        if let Some((timestamp, data)) = self.current.take() {
            if !data.is_empty() {
                out.push(ReceivedUnit {
                    timestamp,
                    data: data.freeze(),
                });
            }
        }
    }
}

impl<S: NalSyntax> Depacketizer for NalDepacketizer<S> {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        let lost = self.expected_sequence.is_some_and(|s| s != packet.sequence);
        self.expected_sequence = Some(packet.sequence.wrapping_add(1));
        if lost {
            self.fragment = None;
        }
        if self
            .current
            .as_ref()
            .is_some_and(|(ts, _)| *ts != packet.timestamp)
        {
            // The previous unit's last packet (with the marker) was lost.
            self.emit(out);
        }
        let p = &packet.payload[..];
        let malformed = |what: &str| RtpError::Malformed(format!("{}: {what}", S::NAME));
        if p.len() < S::HEADER_LEN {
            return Err(malformed("payload shorter than the NAL unit header"));
        }
        match S::nal_type(p) {
            t if t == S::AGGREGATION => {
                let mut rest = &p[S::HEADER_LEN..];
                while !rest.is_empty() {
                    let [hi, lo, tail @ ..] = rest else {
                        return Err(malformed("aggregation packet ends inside a size field"));
                    };
                    let size = usize::from(u16::from_be_bytes([*hi, *lo]));
                    if size == 0 || size > tail.len() {
                        return Err(malformed("aggregation unit size overruns the packet"));
                    }
                    self.add_nal(packet.timestamp, &tail[..size]);
                    rest = &tail[size..];
                }
            }
            t if t == S::FRAGMENT => {
                let Some(&fu) = p.get(S::HEADER_LEN) else {
                    return Err(malformed("fragmentation unit without FU header"));
                };
                let (start, end, nal_type) = S::parse_fu_header(fu);
                let body = &p[S::HEADER_LEN + 1..];
                if start {
                    let mut nal = BytesMut::with_capacity(body.len() * 4);
                    nal.put_slice(&S::with_type(&p[..S::HEADER_LEN], nal_type));
                    self.fragment = Some(nal);
                }
                // Without the start (lost), the fragments are dropped.
                if let Some(nal) = self.fragment.as_mut() {
                    nal.put_slice(body);
                    if end {
                        let nal = self.fragment.take().unwrap_or_default();
                        self.add_nal(packet.timestamp, &nal);
                    }
                }
            }
            t if S::is_nal_unit_type(t) => self.add_nal(packet.timestamp, p),
            t => {
                return Err(malformed(&format!(
                    "packet type {t} is not used in the non-interleaved mode"
                )))
            }
        }
        if packet.marker {
            self.emit(out);
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<ReceivedUnit>) {
        self.emit(out);
    }
}
