//! What H.264 (RFC 6184) and H.265 (RFC 7798) payload formats share: the
//! three packet kinds of the non-interleaved mode — a single NAL unit, an
//! aggregation packet (STAP-A / AP) and fragmentation units (FU-A / FU) —
//! which differ only in the NAL unit header (1 or 2 bytes) and type numbers.
//! Each codec module describes its header in a [`NalSyntax`]; the packet
//! logic is written once here.

use std::marker::PhantomData;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};
use smallvec::SmallVec;

use super::{
    Depacketizer, Packetizer, PayloadDescription, PayloadHeader, ReceivedPacket, ReceivedUnit,
    RtpError, RtpPayload,
};
use crate::codec::nal::nal_units;
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::NalFraming;

/// The RTP clock of every NAL-based video payload format (RFC 6184 §8.2.1,
/// RFC 7798 §7.1).
pub const VIDEO_CLOCK: u32 = 90000;

/// Annex B start code the depacketizers put before each NAL unit.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// The most a depacketizer holds for one access unit before it gives up on
/// a stream that never marks an end: more than any coded picture of the
/// highest levels can take (a picture never exceeds the CPB, at most
/// 240 000 kbit × 1.25 = 37.5 MB for H.264 level 6.2 High, ITU-T H.264
/// Table A-1 and §A.3.1; 30 MB for H.265 main tier level 6.2, ITU-T H.265
/// Table A.8).
const MAX_UNIT_BYTES: usize = 64 << 20;

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

/// The parameter sets of type `nal_type` in `track`'s configuration (NAL
/// units with a header and at least one byte after it).
pub fn parameter_sets<S: NalSyntax>(track: &Track, nal_type: u8) -> impl Iterator<Item = &Bytes> {
    track
        .config
        .parameter_sets
        .iter()
        .filter(move |n| n.len() > S::HEADER_LEN && S::nal_type(n) == nal_type)
}

/// NAL units as an `sprop-*` value: base64 (RFC 4648 §4), comma-separated
/// (RFC 6184 §8.1 `sprop-parameter-sets`, RFC 7798 §7.1 `sprop-vps` etc.).
pub fn sprop<'a>(nals: impl IntoIterator<Item = &'a Bytes>) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    nals.into_iter()
        .map(|n| b64.encode(n))
        .collect::<Vec<_>>()
        .join(",")
}

/// Packetizer of a NAL-based codec in the non-interleaved mode (RFC 6184
/// packetization mode 1, RFC 7798 without DONL), with the parameter sets
/// re-sent in band before each random-access picture that lacks them, so a
/// receiver can start at any of them.
pub struct NalPacketizer<S: NalSyntax> {
    framing: NalFraming,
    clock_rate: u32,
    description: PayloadDescription,
    /// The latest parameter sets, by type, re-sent before each random-access
    /// picture that lacks them: copies, since a slice of a unit would keep
    /// the reader's whole buffer alive for as long as the sets last.
    parameter_sets: Vec<Vec<Bytes>>,
    /// The NAL units of the unit being packetized; empty between units
    /// (its capacity kept), so that no unit outlives its packets here.
    nals: Vec<Bytes>,
    syntax: PhantomData<S>,
}

impl<S: NalSyntax> NalPacketizer<S> {
    /// A packetizer for `track`, starting from its out-of-band parameter
    /// sets, described in SDP by `description`.
    pub fn new(track: &Track, description: PayloadDescription) -> NalPacketizer<S> {
        let parameter_sets = S::PARAMETER_SETS
            .iter()
            .map(|&t| parameter_sets::<S>(track, t).cloned().collect())
            .collect();
        NalPacketizer {
            framing: track.framing,
            clock_rate: track.clock_rate,
            description,
            parameter_sets,
            nals: Vec::new(),
            syntax: PhantomData,
        }
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
            if !seen.is_empty() && *stored != seen {
                *stored = seen.iter().map(|s| Bytes::copy_from_slice(s)).collect();
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
}

impl<S: NalSyntax> Packetizer for NalPacketizer<S> {
    fn description(&self) -> PayloadDescription {
        self.description.clone()
    }

    /// Payload header plus FU header, and one byte of data.
    fn min_payload(&self) -> usize {
        S::HEADER_LEN + 2
    }

    /// RFC 6184 §5.6–§5.8 / RFC 7798 §4.4.1–§4.4.3: each NAL unit goes alone
    /// when it fits, consecutive small ones aggregated while they fit, and
    /// one larger than `max_payload` in fragments. The marker bit is set on
    /// the last packet of the access unit (RFC 6184 §5.1, RFC 7798 §4.1).
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
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
        self.nals.clear();
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
    /// Timestamp and bytes of a fragmented NAL unit being reassembled.
    fragment: Option<(u32, BytesMut)>,
    expected_sequence: Option<u16>,
    syntax: PhantomData<S>,
}

impl<S: NalSyntax> Default for NalDepacketizer<S> {
    fn default() -> Self {
        NalDepacketizer {
            current: None,
            fragment: None,
            expected_sequence: None,
            syntax: PhantomData,
        }
    }
}

impl<S: NalSyntax> NalDepacketizer<S> {
    /// A depacketizer with nothing received.
    pub fn new() -> NalDepacketizer<S> {
        NalDepacketizer::default()
    }

    fn malformed(what: &str) -> RtpError {
        RtpError::Malformed(format!("{}: {what}", S::NAME))
    }

    /// Appends `nal` to the unit of `timestamp`, unless that makes the unit
    /// larger than [`MAX_UNIT_BYTES`]: then the unit is dropped.
    fn add_nal(&mut self, timestamp: u32, nal: &[u8]) -> Result<(), RtpError> {
        let (_, data) = self
            .current
            .get_or_insert_with(|| (timestamp, BytesMut::new()));
        if data.len() + START_CODE.len() + nal.len() > MAX_UNIT_BYTES {
            self.current = None;
            return Err(Self::malformed(
                "access unit larger than 64 MiB (its end never came): dropped",
            ));
        }
        data.put_slice(&START_CODE);
        data.put_slice(nal);
        Ok(())
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

    /// The NAL units of an aggregation packet's body (RFC 6184 §5.7.1, RFC
    /// 7798 §4.4.2: a 16-bit size before each), all checked before any is
    /// used.
    fn aggregated(mut rest: &[u8]) -> Result<SmallVec<[&[u8]; 8]>, RtpError> {
        let mut nals = SmallVec::new();
        while !rest.is_empty() {
            let [hi, lo, tail @ ..] = rest else {
                return Err(Self::malformed(
                    "aggregation packet ends inside a size field",
                ));
            };
            let size = usize::from(u16::from_be_bytes([*hi, *lo]));
            let Some(nal) = tail.get(..size) else {
                return Err(Self::malformed("aggregation unit size overruns the packet"));
            };
            if nal.len() < S::HEADER_LEN || !S::is_nal_unit_type(S::nal_type(nal)) {
                return Err(Self::malformed(
                    "aggregation unit is not a NAL unit (too short or a packet type)",
                ));
            }
            nals.push(nal);
            rest = &tail[size..];
        }
        Ok(nals)
    }

    /// Takes a fragmentation unit (RFC 6184 §5.8, RFC 7798 §4.4.3): the
    /// NAL unit it ends, if any.
    fn defragment(&mut self, timestamp: u32, p: &[u8]) -> Result<Option<BytesMut>, RtpError> {
        let Some(&fu) = p.get(S::HEADER_LEN) else {
            return Err(Self::malformed("fragmentation unit without FU header"));
        };
        let (start, end, nal_type) = S::parse_fu_header(fu);
        if !S::is_nal_unit_type(nal_type) {
            self.fragment = None;
            return Err(Self::malformed(&format!(
                "fragmentation unit of packet type {nal_type}"
            )));
        }
        let body = &p[S::HEADER_LEN + 1..];
        if start {
            let mut nal = BytesMut::with_capacity(body.len() * 4);
            nal.put_slice(&S::with_type(&p[..S::HEADER_LEN], nal_type));
            self.fragment = Some((timestamp, nal));
        }
        // Fragments of another picture than the start's, or without the
        // start (lost), are dropped.
        if self
            .fragment
            .as_ref()
            .is_some_and(|(ts, _)| *ts != timestamp)
        {
            self.fragment = None;
        }
        let Some((_, nal)) = self.fragment.as_mut() else {
            return Ok(None);
        };
        if nal.len() + body.len() > MAX_UNIT_BYTES {
            self.fragment = None;
            return Err(Self::malformed(
                "fragmented NAL unit larger than 64 MiB (its end never came): dropped",
            ));
        }
        nal.put_slice(body);
        Ok(if end {
            self.fragment.take().map(|(_, nal)| nal)
        } else {
            None
        })
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
        if p.len() < S::HEADER_LEN {
            return Err(Self::malformed("payload shorter than the NAL unit header"));
        }
        match S::nal_type(p) {
            t if t == S::AGGREGATION => {
                for nal in Self::aggregated(&p[S::HEADER_LEN..])? {
                    self.add_nal(packet.timestamp, nal)?;
                }
            }
            t if t == S::FRAGMENT => {
                if let Some(nal) = self.defragment(packet.timestamp, p)? {
                    self.add_nal(packet.timestamp, &nal)?;
                }
            }
            t if S::is_nal_unit_type(t) => self.add_nal(packet.timestamp, p)?,
            t => {
                return Err(Self::malformed(&format!(
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
        self.fragment = None;
        self.emit(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::h264::H264;
    use crate::rtp::hevc::Hevc;
    use crate::rtp::tests::{annexb, depacketize, packet, receive, unit};
    use crate::vocab::Codec;
    use proptest::prelude::*;

    fn marked(sequence: u16, timestamp: u32, payload: &[u8]) -> ReceivedPacket {
        ReceivedPacket {
            marker: true,
            ..packet(sequence, timestamp, payload)
        }
    }

    #[test]
    fn fragments_of_packet_types_are_refused() {
        // FU-A whose header names type 28 (FU-A) or 24 (STAP-A); an FU
        // naming type 48 (AP).
        let mut d = NalDepacketizer::<H264>::new();
        let mut out = Vec::new();
        assert!(d.push(&packet(0, 0, &[0x7c, 0x9c, 1]), &mut out).is_err());
        assert!(d.push(&packet(1, 0, &[0x7c, 0xd8, 1]), &mut out).is_err());
        let mut d = NalDepacketizer::<Hevc>::new();
        assert!(d
            .push(&packet(0, 0, &[49 << 1, 1, 0xb0, 1]), &mut out)
            .is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn aggregation_units_are_all_checked_before_any_is_used() {
        let mut d = NalDepacketizer::<H264>::new();
        let mut out = Vec::new();
        // A good unit, then one that names a packet type (28), then one of
        // size 0: refused whole.
        for stap in [
            &[0x78, 0, 2, 0x61, 1, 0, 2, 0x7c, 1][..],
            &[0x78, 0, 2, 0x61, 1, 0, 0],
            &[0x78, 0, 2, 0x61, 1, 0],
        ] {
            assert!(d.push(&marked(0, 0, stap), &mut out).is_err(), "{stap:?}");
        }
        // H.265: an aggregation unit shorter than the 2-byte header.
        let mut hevc = NalDepacketizer::<Hevc>::new();
        assert!(hevc
            .push(&marked(0, 0, &[48 << 1, 1, 0, 1, 2, 0, 2, 2, 1]), &mut out)
            .is_err());
        assert!(out.is_empty());
        d.push(&marked(1, 5, &[0x78, 0, 2, 0x61, 1, 0, 1, 0x06]), &mut out)
            .unwrap();
        assert_eq!(
            out,
            [ReceivedUnit {
                timestamp: 5,
                data: annexb(&[&[0x61, 1], &[0x06]])
            }]
        );
    }

    #[test]
    fn a_fragmented_nal_unit_does_not_span_pictures() {
        let mut d = NalDepacketizer::<H264>::new();
        // The start of a NAL unit at timestamp 1, its end at timestamp 2
        // (the packets between lost without a sequence gap: a bad sender).
        let out = depacketize(
            &mut d,
            &[
                packet(0, 1, &[0x7c, 0x81, 1]),
                marked(1, 2, &[0x7c, 0x41, 2]),
                marked(2, 3, &[0x61, 3]),
            ],
        );
        assert_eq!(
            out,
            [ReceivedUnit {
                timestamp: 3,
                data: annexb(&[&[0x61, 3]])
            }]
        );
    }

    #[test]
    fn a_unit_without_end_is_dropped_at_64_mib() {
        let body = vec![0x55; 1400];
        let mut single = vec![0x61];
        single.extend_from_slice(&body);
        let mut middle = vec![0x7c, 0x01];
        middle.extend_from_slice(&body);
        for (start, repeated) in [(&single, &single), (&[0x7c, 0x81, 0][..].to_vec(), &middle)] {
            let mut d = NalDepacketizer::<H264>::new();
            let mut out = Vec::new();
            d.push(&packet(0, 7, start), &mut out).unwrap();
            let mut failed_at = None;
            for i in 1..60_000u32 {
                if d.push(&packet(i as u16, 7, repeated), &mut out).is_err() {
                    failed_at = Some(i as usize);
                    break;
                }
            }
            // 64 MiB of 1400 to 1405-byte additions.
            let at = failed_at.expect("an error before 84 MB");
            assert!((47_700..47_950).contains(&at), "{at}");
            assert!(out.is_empty());
            // Then the stream goes on.
            d.push(&marked(0, 8, &[0x61, 3]), &mut out).unwrap();
            assert_eq!(out.len(), 1);
            assert_eq!(out[0].data, annexb(&[&[0x61, 3]]));
        }
    }

    /// A NAL unit of `syntax` with type `nal_type` and `body` after its
    /// header.
    fn nal_of<S: NalSyntax>(nal_type: u8, body: &[u8]) -> Vec<u8> {
        let mut nal = if S::HEADER_LEN == 1 {
            vec![0x60 | nal_type]
        } else {
            vec![nal_type << 1, 1]
        };
        nal.extend_from_slice(body);
        nal
    }

    /// Packetizes NAL units (length-prefixed: any bytes) with payloads of
    /// at most `max` bytes, then depacketizes them.
    fn round_trip<S: NalSyntax>(codec: Codec, nals: &[Vec<u8>], max: usize) -> Vec<ReceivedUnit> {
        let mut track = Track::new(0, codec, VIDEO_CLOCK);
        track.framing = NalFraming::LengthPrefixed(4);
        let description = PayloadDescription {
            media: crate::vocab::TrackKind::Video,
            static_payload_type: None,
            encoding: S::NAME,
            clock_rate: VIDEO_CLOCK,
            channels: None,
            fmtp: None,
        };
        let mut p = NalPacketizer::<S>::new(&track, description);
        let mut data = Vec::new();
        for nal in nals {
            data.extend_from_slice(&(nal.len() as u32).to_be_bytes());
            data.extend_from_slice(nal);
        }
        let mut payloads = Vec::new();
        p.packetize(&unit(3003, data), max, &mut payloads).unwrap();
        assert!(payloads.iter().all(|p| p.len() <= max));
        assert!(payloads.last().is_some_and(|p| p.marker));
        assert_eq!(payloads.iter().filter(|p| p.marker).count(), 1);
        depacketize(&mut NalDepacketizer::<S>::new(), &receive(&payloads))
    }

    fn nal_units_strategy() -> impl Strategy<Value = Vec<(u8, Vec<u8>)>> {
        // Types that are neither random-access pictures nor parameter sets
        // in either codec (those change what is sent).
        let types = prop::sample::select(vec![1u8, 2, 3, 4, 6, 9]);
        prop::collection::vec((types, prop::collection::vec(any::<u8>(), 0..600)), 1..8)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn any_nal_units_round_trip_at_any_payload_size(
            nals in nal_units_strategy(),
            max in 4usize..1500,
        ) {
            let h264: Vec<Vec<u8>> = nals.iter().map(|(t, b)| nal_of::<H264>(*t, b)).collect();
            let refs: Vec<&[u8]> = h264.iter().map(|n| &n[..]).collect();
            let out = round_trip::<H264>(Codec::H264, &h264, max);
            prop_assert_eq!(out, vec![ReceivedUnit { timestamp: 3003, data: annexb(&refs) }]);
            let hevc: Vec<Vec<u8>> = nals.iter().map(|(t, b)| nal_of::<Hevc>(*t, b)).collect();
            let refs: Vec<&[u8]> = hevc.iter().map(|n| &n[..]).collect();
            let out = round_trip::<Hevc>(Codec::Hevc, &hevc, max);
            prop_assert_eq!(out, vec![ReceivedUnit { timestamp: 3003, data: annexb(&refs) }]);
        }
    }
}
