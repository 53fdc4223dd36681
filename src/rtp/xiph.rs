//! Vorbis (RFC 5215) and Theora (draft-barbato-avt-rtp-theora-01, the same
//! framing) over RTP.
//!
//! Every payload starts with a 4-byte header (RFC 5215 §2.2): the 24-bit
//! `Ident` of the configuration, `F` (0 whole packets, 1 first, 2 middle
//! and 3 last fragment), the data type (`VDT`/`TDT`: 0 raw packets, 1 packed
//! configuration, 2 legacy comment) and the count of whole packets. Each
//! packet, or fragment, then follows its 16-bit length (§2.3). Several
//! small packets share a payload under the first one's timestamp; a
//! receiver times the others by the codec's packet durations (§2.4).
//!
//! The three codec headers go out of band, base64 in the SDP's
//! `configuration` (§3.2.1 Packed Headers: a count of packed headers, then
//! per configuration its `Ident`, the headers' total length, the count of
//! header lengths given and the lengths of all but the last header, each
//! in 7-bit groups, most significant first, continuation in the top bit,
//! as FFmpeg and GStreamer read and write them).
//!
//! Not implemented: in-band configuration (payloads of data type 1 or 2
//! are accepted and ignored by the depacketizer, never sent), the
//! `configuration-uri` parameter, and several configurations in one
//! `configuration` (the first is used).

use std::ops::Range;

use base64::Engine;
use bytes::{BufMut, Bytes, BytesMut};

use super::aggregate::{Aggregation, Limits};
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::theora;
use crate::codec::vorbis::{samples_between, VorbisTiming};
use crate::codec::xiph::XiphHeaders;
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `vorbis/<rate>/<channels>` and `theora/90000`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["vorbis", "theora"],
    packetizer: |track, _| {
        matches!(track.codec, Codec::Vorbis | Codec::Theora)
            .then(|| boxed(XiphPacketizer::new(track)))
    },
    depacketizer: |description| {
        XiphDepacketizer::new(description).map(|d| Box::new(d) as Box<dyn Depacketizer>)
    },
};

/// Payload header: `Ident`, `F`, data type, packet count.
const HEADER_LEN: usize = 4;

/// The length before each packet or fragment.
const LENGTH_LEN: usize = 2;

/// The RTP clock of Theora (draft-barbato-avt-rtp-theora §2.2).
const THEORA_CLOCK: u32 = 90000;

/// Most whole packets in one payload: the 4-bit count (§2.2).
const MAX_PACKETS: usize = 15;

/// Most media one aggregated payload spans, in milliseconds: what packing
/// may delay a packet by.
const MAX_SPAN_MS: u32 = 100;

/// The most a depacketizer holds for one fragmented packet: more than a
/// Theora intra frame of a 4096x2304 4:4:4 picture stored raw.
const MAX_PACKET_BYTES: usize = 32 << 20;

/// How a packet's payload is marked in `F` (§2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fragment {
    Whole = 0,
    First = 1,
    Middle = 2,
    Last = 3,
}

/// The payload header of data type 0 (raw packets).
fn payload_header(ident: u32, fragment: Fragment, count: usize) -> PayloadHeader {
    let ident = ident.to_be_bytes();
    PayloadHeader::from_slice(&[
        ident[1],
        ident[2],
        ident[3],
        (fragment as u8) << 6 | count as u8,
    ])
}

/// A 24-bit `Ident` for a configuration: FNV-1a of its headers, so that a
/// stream with other headers gets another one (RFC 5215 §2.2 leaves the
/// choice to the sender).
fn ident_of(headers: &XiphHeaders) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for packet in [&headers.identification, &headers.comment, &headers.setup] {
        for &b in packet.iter() {
            hash = (hash ^ u32::from(b)).wrapping_mul(0x0100_0193);
        }
    }
    (hash >> 8) ^ (hash & 0xff_ffff)
}

/// The Packed Headers of one configuration (RFC 5215 §3.2.1).
fn pack_headers(ident: u32, headers: &XiphHeaders) -> Result<Vec<u8>, RtpError> {
    let parts = [&headers.identification, &headers.comment, &headers.setup];
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let length = u16::try_from(total).map_err(|_| {
        RtpError::Unsupported(format!(
            "Xiph headers of {total} bytes (the configuration's length field has 16 bits)"
        ))
    })?;
    let mut out = Vec::with_capacity(total + 16);
    out.extend_from_slice(&1u32.to_be_bytes());
    out.extend_from_slice(&ident.to_be_bytes()[1..]);
    out.extend_from_slice(&length.to_be_bytes());
    out.push(2);
    for part in &parts[..2] {
        let len = part.len();
        // 7-bit groups, most significant first, all but the last with the
        // top bit set; the length fits 16 bits, so 3 groups at most.
        for shift in [14, 7] {
            if len >> shift != 0 {
                out.push(0x80 | (len >> shift & 0x7f) as u8);
            }
        }
        out.push((len & 0x7f) as u8);
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    Ok(out)
}

/// The `Ident` and headers of the first configuration of Packed Headers.
fn unpack_headers(data: &[u8]) -> Result<(u32, XiphHeaders), RtpError> {
    let bad = |what: &str| RtpError::Sdp(format!("Xiph configuration: {what}"));
    let [c0, c1, c2, c3, i0, i1, i2, l0, l1, count, rest @ ..] = data else {
        return Err(bad("shorter than its fields"));
    };
    if u32::from_be_bytes([*c0, *c1, *c2, *c3]) == 0 {
        return Err(bad("no packed header"));
    }
    if *count != 2 {
        return Err(bad("not 3 headers"));
    }
    let mut pos = 0;
    let mut sizes = [0usize; 2];
    for size in &mut sizes {
        for group in 0.. {
            let &b = rest
                .get(pos)
                .ok_or_else(|| bad("header lengths cut short"))?;
            pos += 1;
            *size = *size << 7 | usize::from(b & 0x7f);
            if b & 0x80 == 0 {
                break;
            }
            if group == 2 {
                return Err(bad("header length of more than 3 groups"));
            }
        }
    }
    let length = usize::from(u16::from_be_bytes([*l0, *l1]));
    let last = length
        .checked_sub(sizes[0] + sizes[1])
        .ok_or_else(|| bad("header lengths exceed the total"))?;
    let body = rest
        .get(pos..pos + length)
        .ok_or_else(|| bad("headers cut short"))?;
    let body = Bytes::copy_from_slice(body);
    let headers = XiphHeaders {
        identification: body.slice(..sizes[0]),
        comment: body.slice(sizes[0]..sizes[0] + sizes[1]),
        setup: body.slice(length - last..),
    };
    Ok((u32::from_be_bytes([0, *i0, *i1, *i2]), headers))
}

/// How a receiver times the packets after the first of a payload: the
/// step from one packet's timestamp to the next one's.
#[derive(Clone, Debug)]
enum PacketClock {
    /// Vorbis: the samples a packet completes, from its block size and the
    /// previous packet's (Vorbis I §1.3.2); `None` when unknown (at the
    /// start, after a loss), then taken equal to the current one.
    Vorbis {
        timing: VorbisTiming,
        previous: Option<u16>,
    },
    /// Theora: one frame, in 90 kHz ticks.
    Theora { frame: u32 },
}

impl PacketClock {
    /// The clock of a stream of `headers`.
    fn new(codec: &Codec, headers: &XiphHeaders) -> Result<PacketClock, String> {
        Ok(match codec {
            Codec::Vorbis => PacketClock::Vorbis {
                timing: VorbisTiming::from_headers(headers).map_err(|e| e.to_string())?,
                previous: None,
            },
            _ => {
                let id = theora::Identification::parse(&headers.identification)
                    .map_err(|e| e.to_string())?;
                let rate = id.frame_rate;
                PacketClock::Theora {
                    frame: rescale(i64::from(rate.den), rate.num, THEORA_CLOCK) as u32,
                }
            }
        })
    }

    /// The step from `packet`'s timestamp to the next packet's. A packet
    /// whose block size cannot be read steps 0 and forgets the previous
    /// block size.
    fn step(&mut self, packet: &[u8]) -> u32 {
        match self {
            PacketClock::Vorbis { timing, previous } => {
                let current = timing.blocksize(packet).ok();
                let step = current.map_or(0, |c| samples_between(previous.unwrap_or(c), c));
                *previous = current;
                step
            }
            PacketClock::Theora { frame } => *frame,
        }
    }

    /// After a loss: the previous packet is unknown.
    fn reset(&mut self) {
        if let PacketClock::Vorbis { previous, .. } = self {
            *previous = None;
        }
    }
}

/// RFC 5215 / Theora draft packetizer.
pub struct XiphPacketizer {
    description: PayloadDescription,
    ident: u32,
    /// The track's clock, of the units' timestamps.
    clock_rate: u32,
    clock: PacketClock,
    pending: Aggregation,
}

impl XiphPacketizer {
    /// A packetizer for a Vorbis or Theora track whose configuration holds
    /// its three headers in Matroska's form.
    pub fn new(track: &Track) -> Result<XiphPacketizer, RtpError> {
        let name = track.codec.name();
        let config = |e: String| RtpError::MissingConfig(format!("{name} track: {e}"));
        if track.config.extradata.is_empty() {
            return Err(config("no codec headers".into()));
        }
        let headers = XiphHeaders::from_codec_private(&track.config.extradata)
            .map_err(|e| config(e.to_string()))?;
        let clock = PacketClock::new(&track.codec, &headers).map_err(config)?;
        let ident = ident_of(&headers);
        let configuration =
            base64::engine::general_purpose::STANDARD.encode(pack_headers(ident, &headers)?);
        let description = match &clock {
            PacketClock::Vorbis { timing, .. } => PayloadDescription {
                media: TrackKind::Audio,
                static_payload_type: None,
                encoding: "vorbis",
                clock_rate: timing.identification.sample_rate,
                channels: Some(u16::from(timing.identification.channels)),
                fmtp: Some(format!("configuration={configuration}")),
            },
            PacketClock::Theora { .. } => {
                let id = theora::Identification::parse(&headers.identification)
                    .map_err(|e| config(e.to_string()))?;
                let (width, height) = id.display_size();
                PayloadDescription {
                    media: TrackKind::Video,
                    static_payload_type: None,
                    encoding: "theora",
                    clock_rate: THEORA_CLOCK,
                    channels: None,
                    fmtp: Some(format!(
                        "sampling={};width={width};height={height};delivery-method=inline;configuration={configuration}",
                        id.pixel_format.sampling()
                    )),
                }
            }
        };
        let max_span = rescale(i64::from(MAX_SPAN_MS), 1000, description.clock_rate) as u32;
        Ok(XiphPacketizer {
            ident,
            clock_rate: track.clock_rate,
            clock,
            pending: Aggregation::new(Limits {
                header: HEADER_LEN,
                per_unit: LENGTH_LEN,
                max_units: MAX_PACKETS,
                max_span,
            }),
            description,
        })
    }

    /// Appends the payload of the packets held.
    fn flush_pending(&mut self, out: &mut Vec<RtpPayload>) {
        let ident = self.ident;
        self.pending.flush(out, |timestamp, packets| {
            let mut header = payload_header(ident, Fragment::Whole, packets.len());
            let data = if let [only] = packets {
                header.extend_from_slice(&(only.len() as u16).to_be_bytes());
                only.clone()
            } else {
                let mut data = BytesMut::new();
                for p in packets {
                    data.put_u16(p.len() as u16);
                    data.put_slice(p);
                }
                data.freeze()
            };
            RtpPayload {
                header,
                data,
                marker: false,
                timestamp,
            }
        });
    }
}

impl Packetizer for XiphPacketizer {
    /// RFC 5215 §6.1 and §7.1: `vorbis/<rate>/<channels>` with the packed
    /// headers in `configuration`; the Theora draft §6.1: `theora/90000`
    /// with `sampling`, `width`, `height`, `delivery-method=inline` and
    /// `configuration`.
    fn description(&self) -> PayloadDescription {
        self.description.clone()
    }

    /// The payload header, a length and one byte of a fragment.
    fn min_payload(&self) -> usize {
        HEADER_LEN + LENGTH_LEN + 1
    }

    /// §2.3–§2.4: packets are held and packed together while they fit the
    /// payload, number at most 15 and span at most [`MAX_SPAN_MS`]; one
    /// larger than a payload goes in fragments, each with its own length.
    /// The timestamp is the first packet's (its PTS in the payload clock:
    /// the sampling rate for Vorbis, 90 kHz for Theora); the marker bit
    /// stays 0, as FFmpeg sends it (the formats give it no meaning).
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let timestamp = rescale(unit.pts, self.clock_rate, self.description.clock_rate) as u32;
        let step = self.clock.step(&unit.data);
        let packable = unit.data.len() <= usize::from(u16::MAX);
        if packable
            && self
                .pending
                .try_add(&unit.data, timestamp, step, max_payload)
        {
            return Ok(());
        }
        self.flush_pending(out);
        if packable
            && self
                .pending
                .try_add(&unit.data, timestamp, step, max_payload)
        {
            return Ok(());
        }
        let chunk = (max_payload - HEADER_LEN - LENGTH_LEN).min(usize::from(u16::MAX));
        let len = unit.data.len();
        for start in (0..len).step_by(chunk) {
            let end = (start + chunk).min(len);
            let fragment = match (start, end) {
                (0, _) => Fragment::First,
                (_, end) if end == len => Fragment::Last,
                _ => Fragment::Middle,
            };
            let mut header = payload_header(self.ident, fragment, 0);
            header.extend_from_slice(&((end - start) as u16).to_be_bytes());
            out.push(RtpPayload {
                header,
                data: unit.data.slice(start..end),
                marker: false,
                timestamp,
            });
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RtpPayload>) {
        self.flush_pending(out);
    }
}

/// RFC 5215 / Theora draft depacketizer: raw packets, one unit each, timed
/// by the codec's packet durations after the first of a payload.
pub struct XiphDepacketizer {
    ident: u32,
    clock: PacketClock,
    /// Timestamp and bytes of a fragmented packet.
    partial: Option<(u32, BytesMut)>,
    expected_sequence: Option<u16>,
}

impl XiphDepacketizer {
    /// A depacketizer for a stream whose `configuration` parameter gives
    /// its headers.
    pub fn new(description: &PayloadDescription) -> Result<XiphDepacketizer, RtpError> {
        let codec = if description.encoding.eq_ignore_ascii_case("theora") {
            Codec::Theora
        } else {
            Codec::Vorbis
        };
        let configuration = description
            .fmtp_param("configuration")
            .ok_or_else(|| RtpError::Sdp(format!("{codec} without configuration")))?;
        let packed = base64::engine::general_purpose::STANDARD
            .decode(configuration)
            .map_err(|e| RtpError::Sdp(format!("{codec} configuration: {e}")))?;
        let (ident, headers) = unpack_headers(&packed)?;
        let clock = PacketClock::new(&codec, &headers)
            .map_err(|e| RtpError::Sdp(format!("{codec} configuration: {e}")))?;
        Ok(XiphDepacketizer {
            ident,
            clock,
            partial: None,
            expected_sequence: None,
        })
    }

    /// Where the `count` whole packets of a payload's `body` lie, if their
    /// lengths add up to it.
    fn whole_packets(body: &[u8], count: usize) -> Result<Vec<Range<usize>>, RtpError> {
        let mut ranges = Vec::with_capacity(count);
        let mut pos = 0;
        for _ in 0..count {
            let len = body
                .get(pos..pos + LENGTH_LEN)
                .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
                .ok_or_else(|| RtpError::Malformed("Xiph: packet length cut off".into()))?;
            pos += LENGTH_LEN;
            if pos + len > body.len() {
                return Err(RtpError::Malformed(
                    "Xiph: packet overruns the payload".into(),
                ));
            }
            ranges.push(pos..pos + len);
            pos += len;
        }
        if pos != body.len() {
            return Err(RtpError::Malformed(
                "Xiph: bytes after the packets the header counts".into(),
            ));
        }
        Ok(ranges)
    }
}

impl Depacketizer for XiphDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if self.expected_sequence.is_some_and(|s| s != packet.sequence) {
            self.partial = None;
            self.clock.reset();
        }
        self.expected_sequence = Some(packet.sequence.wrapping_add(1));
        let p = &packet.payload;
        let [i0, i1, i2, flags, ..] = p[..] else {
            return Err(RtpError::Malformed("Xiph: payload header cut off".into()));
        };
        let (fragment, data_type, count) = (flags >> 6, flags >> 4 & 3, usize::from(flags & 15));
        match data_type {
            0 => {}
            3 => return Err(RtpError::Malformed("Xiph: reserved data type 3".into())),
            // In-band configuration and legacy comments: not used here.
            _ => return Ok(()),
        }
        if u32::from_be_bytes([0, i0, i1, i2]) != self.ident {
            return Err(RtpError::Malformed(
                "Xiph: Ident of no configuration the SDP gave".into(),
            ));
        }
        let body = p.slice(HEADER_LEN..);
        if fragment == Fragment::Whole as u8 {
            if count == 0 {
                return Err(RtpError::Malformed("Xiph: a payload of 0 packets".into()));
            }
            let ranges = Self::whole_packets(&body, count)?;
            if self.partial.take().is_some() {
                // The end of the fragmented packet before was lost.
                self.clock.reset();
            }
            let mut timestamp = packet.timestamp;
            for range in ranges {
                let data = body.slice(range);
                let step = self.clock.step(&data);
                out.push(ReceivedUnit { timestamp, data });
                timestamp = timestamp.wrapping_add(step);
            }
            return Ok(());
        }
        let length = body
            .get(..LENGTH_LEN)
            .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        if count != 0 || length.is_none() || length != body.len().checked_sub(LENGTH_LEN) {
            return Err(RtpError::Malformed(
                "Xiph: fragment length or count does not match the payload".into(),
            ));
        }
        let piece = &body[LENGTH_LEN..];
        if fragment == Fragment::First as u8 {
            if self.partial.is_some() {
                self.clock.reset();
            }
            let mut buf = BytesMut::with_capacity(piece.len());
            buf.put_slice(piece);
            self.partial = Some((packet.timestamp, buf));
            return Ok(());
        }
        match self.partial.as_mut() {
            Some((ts, buf))
                if *ts == packet.timestamp && buf.len() + piece.len() <= MAX_PACKET_BYTES =>
            {
                buf.put_slice(piece);
            }
            _ => {
                // A fragment whose start was lost, or of a packet too large.
                self.partial = None;
                self.clock.reset();
                return Ok(());
            }
        }
        if fragment == Fragment::Last as u8 {
            if let Some((timestamp, buf)) = self.partial.take() {
                let data = buf.freeze();
                self.clock.step(&data);
                out.push(ReceivedUnit { timestamp, data });
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        // A packet without its last fragment is useless to a decoder.
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{theora, vorbis};
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use proptest::prelude::*;

    /// Vorbis headers: mono at 48 kHz, block sizes 256 and 2048, modes 0
    /// (short) and 1 (long), a comment of `comment` bytes.
    fn vorbis_headers(comment: usize) -> XiphHeaders {
        let mut c = b"\x03vorbis".to_vec();
        c.resize(comment, b'x');
        XiphHeaders {
            identification: vorbis::tests::identification(1, 48000).into(),
            comment: c.into(),
            setup: vorbis::tests::setup(&[(false, 0), (true, 1)], &[0x12, 0x34]).into(),
        }
    }

    fn theora_headers() -> XiphHeaders {
        XiphHeaders {
            identification: theora::tests::identification().into(),
            comment: Bytes::from_static(b"\x81theora\0\0\0\0\0\0\0\0"),
            setup: Bytes::from_static(b"\x82theora setup"),
        }
    }

    fn track(codec: Codec, headers: &XiphHeaders, clock_rate: u32) -> Track {
        let mut t = Track::new(0, codec, clock_rate);
        t.config.extradata = headers.to_codec_private();
        t
    }

    /// A Vorbis audio packet of `len` bytes (at least 1) in mode `long`.
    fn vorbis_packet(len: usize, long: bool) -> Vec<u8> {
        let mut p = vec![u8::from(long) << 1];
        p.resize(len.max(1), 0xa7);
        p
    }

    #[test]
    fn packed_headers_round_trip() {
        for comment in [7, 127, 128, 300, 20000] {
            let headers = vorbis_headers(comment);
            let packed = pack_headers(0xabcdef, &headers).unwrap();
            assert_eq!(unpack_headers(&packed).unwrap(), (0xabcdef, headers));
        }
        // As FFmpeg writes them: an empty comment header.
        let h = vorbis_headers(7);
        let mut ffmpeg = vec![0, 0, 0, 1, 0xfe, 0xcd, 0xba];
        ffmpeg.extend_from_slice(&((h.identification.len() + h.setup.len()) as u16).to_be_bytes());
        ffmpeg.extend_from_slice(&[2, 30, 0]);
        ffmpeg.extend_from_slice(&h.identification);
        ffmpeg.extend_from_slice(&h.setup);
        let (ident, got) = unpack_headers(&ffmpeg).unwrap();
        assert_eq!(
            (ident, got.comment.len(), got.setup),
            (0xfecdba, 0, h.setup)
        );
        let big = XiphHeaders {
            setup: vec![5; 70000].into(),
            ..vorbis_headers(7)
        };
        assert!(pack_headers(1, &big).is_err());
    }

    #[test]
    fn hostile_configurations_are_refused() {
        let good = pack_headers(7, &vorbis_headers(300)).unwrap();
        let mut cases = vec![
            good[..9].to_vec(),
            good[..good.len() - 1].to_vec(),
            [&[0, 0, 0, 0], &good[4..]].concat(),
        ];
        let mut three = good.clone();
        three[9] = 3;
        cases.push(three);
        let mut endless = good[..10].to_vec();
        endless.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 1]);
        cases.push(endless);
        let mut short_total = good.clone();
        short_total[7..9].copy_from_slice(&[0, 10]);
        cases.push(short_total);
        for bad in cases {
            assert!(unpack_headers(&bad).is_err(), "{bad:?}");
        }
        let d = |fmtp: &str| {
            PayloadDescription::parse(TrackKind::Audio, "vorbis/48000/1", Some(fmtp)).unwrap()
        };
        assert!(XiphDepacketizer::new(&d("")).is_err());
        assert!(XiphDepacketizer::new(&d("configuration=!!")).is_err());
        // Theora headers announced as Vorbis.
        let theora = base64::engine::general_purpose::STANDARD
            .encode(pack_headers(1, &theora_headers()).unwrap());
        assert!(XiphDepacketizer::new(&d(&format!("configuration={theora}"))).is_err());
    }

    #[test]
    fn descriptions() {
        let vorbis =
            XiphPacketizer::new(&track(Codec::Vorbis, &vorbis_headers(20), 48000)).unwrap();
        let d = vorbis.description();
        assert_eq!(
            (d.rtpmap(), d.media),
            ("vorbis/48000/1".to_owned(), TrackKind::Audio)
        );
        let config = base64::engine::general_purpose::STANDARD
            .decode(d.fmtp_param("configuration").unwrap())
            .unwrap();
        assert_eq!(unpack_headers(&config).unwrap().1, vorbis_headers(20));
        let theora = XiphPacketizer::new(&track(Codec::Theora, &theora_headers(), 90000)).unwrap();
        let d = theora.description();
        assert_eq!(d.rtpmap(), "theora/90000");
        assert_eq!(
            [
                d.fmtp_param("sampling"),
                d.fmtp_param("width"),
                d.fmtp_param("height"),
                d.fmtp_param("delivery-method")
            ],
            [
                Some("YCbCr-4:2:0"),
                Some("176"),
                Some("144"),
                Some("inline")
            ]
        );
        assert!(XiphPacketizer::new(&Track::new(0, Codec::Vorbis, 48000)).is_err());
        assert!(XiphPacketizer::new(&track(Codec::Vorbis, &theora_headers(), 48000)).is_err());
        assert!(XiphPacketizer::new(&track(Codec::Theora, &vorbis_headers(9), 90000)).is_err());
    }

    #[test]
    fn small_packets_share_a_payload_and_large_ones_are_fragmented() {
        let mut p = XiphPacketizer::new(&track(Codec::Vorbis, &vorbis_headers(20), 48000)).unwrap();
        let mut payloads = Vec::new();
        // Long blocks: 1024 samples each after the first.
        let mut pts = 0;
        for len in [100, 100, 100, 3000, 100] {
            p.packetize(&unit(pts, vorbis_packet(len, true)), 1000, &mut payloads)
                .unwrap();
            pts += 1024;
        }
        p.flush(&mut payloads);
        let shape: Vec<(u8, usize, u32)> = payloads
            .iter()
            .map(|p| (p.header[3], p.len(), p.timestamp))
            .collect();
        // The first step is 1024 (the unknown previous block taken as
        // long): all three packets share the first payload.
        assert_eq!(
            shape,
            [
                (0x03, 4 + 3 * 102, 0),
                (0x40, 1000, 3072),
                (0x80, 1000, 3072),
                (0x80, 1000, 3072),
                (0xc0, 4 + 2 + 18, 3072),
                (0x01, 4 + 102, 4096),
            ]
        );
        assert!(payloads.iter().all(|p| !p.marker));
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        assert_eq!(
            out.iter()
                .map(|u| (u.timestamp, u.data.len()))
                .collect::<Vec<_>>(),
            [
                (0, 100),
                (1024, 100),
                (2048, 100),
                (3072, 3000),
                (4096, 100)
            ]
        );
        assert!(matches!(
            p.packetize(&unit(0, vec![0; 9]), 6, &mut Vec::new()),
            Err(RtpError::PayloadTooSmall { needed: 7, .. })
        ));
    }

    #[test]
    fn lost_fragments_drop_their_packet_only() {
        let mut p = XiphPacketizer::new(&track(Codec::Theora, &theora_headers(), 90000)).unwrap();
        let mut payloads = Vec::new();
        for (i, len) in [5000, 10, 10].into_iter().enumerate() {
            p.packetize(
                &unit(3600 * i as i64, vec![i as u8; len]),
                1400,
                &mut payloads,
            )
            .unwrap();
        }
        p.flush(&mut payloads);
        assert_eq!(
            payloads.len(),
            5,
            "four fragments, then two frames together"
        );
        let mut packets = receive(&payloads);
        packets.remove(2);
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &packets);
        assert_eq!(
            out.iter()
                .map(|u| (u.timestamp, u.data.len()))
                .collect::<Vec<_>>(),
            [(3600, 10), (7200, 10)]
        );
        // Fragments out of order: a middle one first, the first one twice.
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let mut out = Vec::new();
        let reordered = receive(&[&payloads[1..2], &payloads[0..1], &payloads[0..4]].concat());
        for (i, mut pk) in reordered.into_iter().enumerate() {
            pk.sequence = i as u16;
            d.push(&pk, &mut out).unwrap();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data, Bytes::from(vec![0; 5000]));
    }

    #[test]
    fn hostile_payloads_are_refused() {
        let p = XiphPacketizer::new(&track(Codec::Vorbis, &vorbis_headers(20), 48000)).unwrap();
        let id = p.ident.to_be_bytes();
        let h = |flags: u8| vec![id[1], id[2], id[3], flags];
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let mut out = Vec::new();
        for bad in [
            vec![1, 2, 3],
            [h(0x01), vec![0, 5, 0]].concat(), // length past the end
            [h(0x02), vec![0, 1, 0]].concat(), // count 2, one packet
            [h(0x01), vec![0, 1, 0, 9]].concat(), // a byte after it
            h(0x00),                           // no packets
            [h(0x41), vec![0, 1, 0]].concat(), // a fragment with a count
            [h(0x40), vec![0, 3, 0]].concat(), // fragment length wrong
            [h(0x40)].concat(),                // fragment without length
            [h(0x31), vec![0, 1, 0]].concat(), // reserved data type
            [vec![9, 9, 9, 0x01], vec![0, 1, 0]].concat(), // unknown Ident
        ] {
            assert!(
                matches!(
                    d.push(&packet(0, 0, &bad), &mut out),
                    Err(RtpError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        // In-band configuration is ignored.
        d.push(&packet(0, 0, &[h(0x11), vec![0, 1, 0]].concat()), &mut out)
            .unwrap();
        assert!(out.is_empty());
    }

    /// Packet sizes, whether each is long, and whether its timestamp
    /// follows the block sizes (or jumps, as after a gap in the stream).
    fn vorbis_stream() -> impl Strategy<Value = Vec<(usize, bool, bool)>> {
        prop::collection::vec(
            (1usize..2500, any::<bool>(), prop::bool::weighted(0.9)),
            1..40,
        )
    }

    proptest! {
        /// Whatever the sizes and payload limit: the depacketizer gives back
        /// every packet with its timestamp, packed or fragmented.
        #[test]
        fn vorbis_round_trip(stream in vorbis_stream(), max in 7usize..1500) {
            let mut p = XiphPacketizer::new(&track(Codec::Vorbis, &vorbis_headers(20), 48000)).unwrap();
            let mut payloads = Vec::new();
            let mut sent = Vec::new();
            let (mut pts, mut previous) = (1000i64, None::<u32>);
            for (len, long, follows) in stream {
                let current = if long { 2048 } else { 256 };
                if let Some(prev) = previous {
                    pts += i64::from(prev / 4 + current / 4);
                }
                if !follows {
                    pts += 7;
                }
                previous = Some(current);
                let u = unit(pts, vorbis_packet(len, long));
                p.packetize(&u, max, &mut payloads).unwrap();
                sent.push((pts as u32, u.data));
            }
            p.flush(&mut payloads);
            prop_assert!(payloads.iter().all(|pl| pl.len() <= max));
            let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
            let out = depacketize(d.as_mut(), &receive(&payloads));
            let got: Vec<(u32, Bytes)> = out.into_iter().map(|u| (u.timestamp, u.data)).collect();
            prop_assert_eq!(got, sent);
        }

        #[test]
        fn theora_round_trip(sizes in prop::collection::vec((0usize..4000, prop::bool::weighted(0.9)), 1..40), max in 7usize..1500) {
            let mut p = XiphPacketizer::new(&track(Codec::Theora, &theora_headers(), 25)).unwrap();
            let mut payloads = Vec::new();
            let mut sent = Vec::new();
            let mut frame = 0i64;
            for (len, follows) in sizes {
                frame += if follows { 1 } else { 3 };
                let u = unit(frame, vec![frame as u8; len]);
                p.packetize(&u, max, &mut payloads).unwrap();
                sent.push(((frame * 3600) as u32, u.data));
            }
            p.flush(&mut payloads);
            let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
            let out = depacketize(d.as_mut(), &receive(&payloads));
            let got: Vec<(u32, Bytes)> = out.into_iter().map(|u| (u.timestamp, u.data)).collect();
            prop_assert_eq!(got, sent);
        }

        /// Any bytes after a valid header: no panic, bounded output.
        #[test]
        fn hostile_packets(packets in prop::collection::vec((0u16..6, prop::collection::vec(any::<u8>(), 0..64), any::<u8>()), 1..40)) {
            let p = XiphPacketizer::new(&track(Codec::Theora, &theora_headers(), 90000)).unwrap();
            let id = p.ident.to_be_bytes();
            let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
            let mut out = Vec::new();
            let mut input = 0;
            for (sequence, body, flags) in packets {
                let payload = [vec![id[1], id[2], id[3], flags], body].concat();
                input += payload.len();
                let _ = d.push(&packet(sequence, 0, &payload), &mut out);
            }
            d.finish(&mut out);
            prop_assert!(out.iter().map(|u| u.data.len()).sum::<usize>() <= input);
        }
    }
}
