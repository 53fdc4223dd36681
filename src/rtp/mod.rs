//! RTP: the packet writer and sender state (RFC 3550 §5), RTCP (RFC 3550
//! §6), and the payload formats, one module per codec, each exact to its RFC.
//!
//! A payload format is one [`PayloadFormat`] value in its own module: it
//! names its `a=rtpmap` encodings and builds a [`Packetizer`] for a track and
//! a [`Depacketizer`] for a received stream. [`FORMATS`] is the registry:
//! adding a codec is one new module plus one line there.

mod aac;
mod ac3;
mod aggregate;
mod av1;
mod frame_assembly;
mod h264;
mod hevc;
mod mp2t;
mod mpa;
mod mpv;
mod nal;
mod opus;
mod pcm;
pub mod rtcp;
mod sender;
mod vp8;
mod vp9;
mod xiph;

use bytes::Bytes;
use smallvec::SmallVec;

use crate::media::{AccessUnit, Track};
use crate::vocab::TrackKind;

pub use pcm::{widen_u8, wire_samples, Pcm8};
pub use sender::{PacketHead, RtpSender, SenderOptions, RTP_HEADER_LEN};

/// First dynamic payload type (RFC 3551 §3): track `i` without a static
/// type uses `DYNAMIC_PT + i`.
pub const DYNAMIC_PT: u8 = 96;

/// How a payload format appears in SDP (RFC 4566 §6, RFC 3551 §6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadDescription {
    /// `m=` media type.
    pub media: TrackKind,
    /// A static payload type from RFC 3551 Table 4/5, if the format has one.
    pub static_payload_type: Option<u8>,
    /// `a=rtpmap` encoding name, e.g. `H264`.
    pub encoding: &'static str,
    /// RTP timestamp clock rate in Hz.
    pub clock_rate: u32,
    /// Audio channels, written as the rtpmap encoding parameter when present.
    pub channels: Option<u16>,
    /// `a=fmtp` parameters, without the `a=fmtp:PT ` prefix.
    pub fmtp: Option<String>,
}

impl PayloadDescription {
    /// The payload type to use for track `index`.
    pub fn payload_type(&self, index: usize) -> u8 {
        self.static_payload_type.unwrap_or_else(|| {
            DYNAMIC_PT
                .saturating_add(u8::try_from(index).unwrap_or(u8::MAX))
                .min(127)
        })
    }

    /// The `a=rtpmap` value after the payload type: `H264/90000`, `L16/44100/2`.
    pub fn rtpmap(&self) -> String {
        match self.channels {
            Some(channels) => format!("{}/{}/{}", self.encoding, self.clock_rate, channels),
            None => format!("{}/{}", self.encoding, self.clock_rate),
        }
    }

    /// Parses an `a=rtpmap` value after the payload type (`H264/90000`,
    /// `L16/44100/2`; RFC 4566 §6) and an optional `a=fmtp` parameter
    /// string, for an encoding some registered [`PayloadFormat`] handles
    /// (names compare case-insensitively, RFC 4855 §3).
    pub fn parse(media: TrackKind, rtpmap: &str, fmtp: Option<&str>) -> Result<Self, RtpError> {
        let bad = || RtpError::Sdp(format!("malformed a=rtpmap value {rtpmap:?}"));
        let mut parts = rtpmap.trim().split('/');
        let name = parts.next().ok_or_else(bad)?;
        let clock_rate = parts
            .next()
            .and_then(|r| r.parse().ok())
            .filter(|&r| r > 0)
            .ok_or_else(bad)?;
        let channels = parts
            .next()
            .map(|c| c.parse())
            .transpose()
            .map_err(|_| bad())?;
        let encoding = FORMATS
            .iter()
            .flat_map(|f| f.encodings)
            .find(|e| e.eq_ignore_ascii_case(name))
            .ok_or_else(|| RtpError::Unsupported(format!("RTP encoding {name}")))?;
        Ok(PayloadDescription {
            media,
            static_payload_type: None,
            encoding,
            clock_rate,
            channels,
            fmtp: fmtp.map(|f| f.trim().to_owned()),
        })
    }

    /// The value of `a=fmtp` parameter `name` (RFC 4855 §3: `key=value`
    /// pairs separated by `;`, names case-insensitive).
    pub fn fmtp_param(&self, name: &str) -> Option<&str> {
        self.fmtp.as_deref()?.split(';').find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then_some(value.trim())
        })
    }
}

/// Why a track cannot be carried over RTP, or a stream cannot be received.
#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    /// No payload format for this codec, or not for these parameters.
    #[error("no RTP payload format for {0}")]
    Unsupported(String),
    /// The track lacks configuration its payload format requires.
    #[error("{0}")]
    MissingConfig(String),
    /// The largest payload allowed cannot hold even one byte of media.
    #[error("{format} needs RTP payloads of at least {needed} bytes, the MTU leaves {available}")]
    PayloadTooSmall {
        /// The payload format.
        format: &'static str,
        /// The smallest payload it can produce.
        needed: usize,
        /// What the MTU leaves after the IP, UDP and RTP headers.
        available: usize,
    },
    /// An access unit the payload format cannot carry (e.g. an AAC frame
    /// larger than its 13-bit AU-size field).
    #[error("cannot packetize: {0}")]
    BadUnit(String),
    /// A received RTP payload that breaks its payload format's rules.
    #[error("malformed RTP payload: {0}")]
    Malformed(String),
    /// SDP parameters that do not describe a usable stream.
    #[error("bad SDP: {0}")]
    Sdp(String),
}

/// The payload format header a packetizer puts in front of
/// [`RtpPayload::data`]: FU indicator and header, RFC 2250 MPA header,
/// RFC 3640 AU-headers section. Inline: never a heap allocation for the
/// few bytes these are.
pub type PayloadHeader = SmallVec<[u8; 16]>;

/// One RTP payload made by a [`Packetizer`]: everything the packet carries
/// after the 12-byte RTP header, plus the header fields the payload format
/// decides (RFC 3550 §5.1: marker bit and timestamp semantics are defined by
/// the profile and payload format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpPayload {
    /// Payload format header bytes, written first.
    pub header: PayloadHeader,
    /// Media bytes, written after `header`; a zero-copy slice of the access
    /// unit where the format allows it.
    pub data: Bytes,
    /// The RTP marker bit (RFC 3550 §5.1), as the payload format defines it.
    pub marker: bool,
    /// Media timestamp in the payload format's clock (e.g. 90 kHz for
    /// video), from the unit's PTS; the [`RtpSender`] adds its random
    /// initial offset (RFC 3550 §5.1). Wraps modulo 2^32.
    pub timestamp: u32,
}

impl RtpPayload {
    /// Payload bytes: header plus data.
    pub fn len(&self) -> usize {
        self.header.len() + self.data.len()
    }

    /// Whether the payload is empty (never true for a packetizer's output).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Turns access units of one track into RTP payloads (RFC 3550 §5.1 payload,
/// formatted by the codec's payload format RFC).
pub trait Packetizer: Send {
    /// How the format appears in SDP.
    fn description(&self) -> PayloadDescription;

    /// The smallest `max_payload` this format can packetize with: its
    /// payload header plus one byte of media (PCM: one sample frame).
    fn min_payload(&self) -> usize;

    /// Appends to `out` the RTP payloads for `unit`, each at most
    /// `max_payload` bytes, in send order, with marker bits and timestamps
    /// (the unit's PTS rescaled to the payload clock). A format that packs
    /// several units in one payload may hold `unit` back and append the
    /// payload of units held before it instead (see
    /// [`flush`](Self::flush)). A `max_payload` below
    /// [`min_payload`](Self::min_payload) is [`RtpError::PayloadTooSmall`];
    /// on any error nothing is appended.
    ///
    /// Provided: it checks `max_payload`, then calls
    /// [`append_payloads`](Self::append_payloads); formats do not override it.
    fn packetize(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let needed = self.min_payload();
        if max_payload < needed {
            return Err(RtpError::PayloadTooSmall {
                format: self.description().encoding,
                needed,
                available: max_payload,
            });
        }
        self.append_payloads(unit, max_payload, out)
    }

    /// The payload format's part of [`packetize`](Self::packetize), with
    /// `max_payload` at least [`min_payload`](Self::min_payload): appends
    /// the payloads, or nothing on an error.
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError>;

    /// Appends the payload of units held back to share it with the units
    /// after them (formats that pack several units in one payload: RFC
    /// 5215 Vorbis and Theora, RFC 4184 AC-3), if any, and holds nothing
    /// after. The caller calls it at the end of the stream; at a seek it
    /// drops what it gets, as those units are not to be sent. Formats that
    /// hold nothing leave the default, which appends nothing.
    fn flush(&mut self, _out: &mut Vec<RtpPayload>) {}
}

/// One received RTP packet, as a [`Depacketizer`] needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedPacket {
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp.
    pub timestamp: u32,
    /// RTP marker bit.
    pub marker: bool,
    /// The payload (after the RTP header, CSRCs, extension and padding).
    pub payload: Bytes,
}

/// An access unit reassembled from RTP by a [`Depacketizer`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedUnit {
    /// RTP timestamp of the unit.
    pub timestamp: u32,
    /// The media: for H.264/H.265, NAL units in Annex B form (4-byte start
    /// codes); MPEG audio, whole frames with header; AAC, one raw access
    /// unit; PCM, samples in the wire encoding (big-endian for L16/L24).
    pub data: Bytes,
}

/// Reassembles access units from the RTP packets of one stream, the inverse
/// of the matching [`Packetizer`].
pub trait Depacketizer: Send {
    /// Takes the next packet (in sequence order) and appends every unit it
    /// completes to `out`. A gap in the sequence numbers drops the
    /// fragmented unit (NAL unit, frame, AU) it interrupts; the units before
    /// and after it are kept. A malformed packet is an
    /// [`RtpError::Malformed`] and changes nothing else: the caller may go
    /// on with the next one. What is held between packets stays bounded
    /// whatever the packets say.
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError>;

    /// At the end of the stream: appends a unit still being assembled
    /// whose end was not marked.
    fn finish(&mut self, out: &mut Vec<ReceivedUnit>);
}

/// The choices between payload formats for one codec, made once for a
/// whole server or capture: `serve`'s YAML and flags, `packetize`'s and
/// `probe`'s flags. The SDP and the packets follow the same options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PayloadOptions {
    /// How 8-bit PCM goes on the wire: L8 or widened to L16.
    pub pcm8: Pcm8,
}

/// What a [`PayloadFormat`] returns for a track of its codec.
pub type NewPacketizer = Result<Box<dyn Packetizer>, RtpError>;

/// A codec module's packetizer as its registry entry returns it.
fn boxed<P: Packetizer + 'static>(packetizer: Result<P, RtpError>) -> NewPacketizer {
    packetizer.map(|p| Box::new(p) as Box<dyn Packetizer>)
}

/// A registered RTP payload format.
pub struct PayloadFormat {
    /// The `a=rtpmap` encoding names it handles, as RFCs spell them.
    pub encodings: &'static [&'static str],
    /// A packetizer for `track` as `options` choose, or `None` when the
    /// track's codec is not this format's.
    pub packetizer: fn(&Track, &PayloadOptions) -> Option<NewPacketizer>,
    /// A depacketizer for a stream described by `description` (whose
    /// encoding is one of `encodings`).
    pub depacketizer: fn(&PayloadDescription) -> Result<Box<dyn Depacketizer>, RtpError>,
}

/// The registry of payload formats, one line per module.
pub const FORMATS: &[&PayloadFormat] = &[
    &h264::FORMAT,
    &hevc::FORMAT,
    &mpa::FORMAT,
    &aac::FORMAT,
    &pcm::FORMAT,
    &vp8::FORMAT,
    &vp9::FORMAT,
    &av1::FORMAT,
    &mpv::FORMAT,
    &opus::FORMAT,
    &xiph::FORMAT,
    &ac3::FORMAT,
    &mp2t::FORMAT,
];

/// The payload format for `track`, with the default [`PayloadOptions`].
pub fn packetizer(track: &Track) -> NewPacketizer {
    packetizer_with(track, &PayloadOptions::default())
}

/// The payload format for `track` as `options` choose.
pub fn packetizer_with(track: &Track, options: &PayloadOptions) -> NewPacketizer {
    FORMATS
        .iter()
        .find_map(|f| (f.packetizer)(track, options))
        .unwrap_or_else(|| Err(RtpError::Unsupported(track.codec.name().to_owned())))
}

/// The depacketizer for a stream described by `description`.
pub fn depacketizer(description: &PayloadDescription) -> Result<Box<dyn Depacketizer>, RtpError> {
    let format = FORMATS
        .iter()
        .find(|f| {
            f.encodings
                .iter()
                .any(|e| e.eq_ignore_ascii_case(description.encoding))
        })
        .ok_or_else(|| RtpError::Unsupported(format!("RTP encoding {}", description.encoding)))?;
    (format.depacketizer)(description)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::vocab::Codec;

    /// Payloads as a receiver gets them, numbered from 0.
    pub(crate) fn receive(payloads: &[RtpPayload]) -> Vec<ReceivedPacket> {
        payloads
            .iter()
            .enumerate()
            .map(|(i, pl)| {
                let mut payload = pl.header.to_vec();
                payload.extend_from_slice(&pl.data);
                ReceivedPacket {
                    sequence: i as u16,
                    timestamp: pl.timestamp,
                    marker: pl.marker,
                    payload: Bytes::from(payload),
                }
            })
            .collect()
    }

    /// The units `depacketizer` makes of `packets`, then of the end of
    /// the stream; panics on a packet it refuses.
    pub(crate) fn depacketize(
        depacketizer: &mut dyn Depacketizer,
        packets: &[ReceivedPacket],
    ) -> Vec<ReceivedUnit> {
        let mut out = Vec::new();
        for packet in packets {
            depacketizer.push(packet, &mut out).unwrap();
        }
        depacketizer.finish(&mut out);
        out
    }

    /// An access unit of track 0 at `pts` (DTS equal, key frame).
    pub(crate) fn unit(pts: i64, data: impl Into<Bytes>) -> AccessUnit {
        AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: 0,
            keyframe: true,
            data: data.into(),
        }
    }

    /// NAL units in Annex B form, each after a 4-byte start code.
    pub(crate) fn annexb(nals: &[&[u8]]) -> Bytes {
        nals.iter()
            .flat_map(|n| [0, 0, 0, 1].iter().chain(n.iter()).copied())
            .collect::<Vec<u8>>()
            .into()
    }

    /// A packet of `payload` as received, without a marker.
    pub(crate) fn packet(sequence: u16, timestamp: u32, payload: &[u8]) -> ReceivedPacket {
        ReceivedPacket {
            sequence,
            timestamp,
            marker: false,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    /// One stream description per registered encoding, as peers send them.
    fn received_descriptions() -> Vec<PayloadDescription> {
        [
            (TrackKind::Video, "H264/90000", None),
            (TrackKind::Video, "H265/90000", None),
            (TrackKind::Audio, "MPA/90000", None),
            (
                TrackKind::Audio,
                "mpeg4-generic/48000/2",
                Some("mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;ctsdeltalength=4;auxiliarydatasizelength=3"),
            ),
            (TrackKind::Audio, "L16/44100/2", None),
            (TrackKind::Audio, "L24/48000/1", None),
            (TrackKind::Audio, "PCMU/8000", None),
        ]
        .into_iter()
        .map(|(media, rtpmap, fmtp)| PayloadDescription::parse(media, rtpmap, fmtp).unwrap())
        .collect()
    }

    fn hostile_packets() -> impl proptest::strategy::Strategy<Value = Vec<ReceivedPacket>> {
        use proptest::prelude::*;
        let packet = (
            0u16..8,
            0u32..3,
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..64),
        );
        prop::collection::vec(packet, 1..40).prop_map(|packets| {
            packets
                .into_iter()
                .map(|(sequence, timestamp, marker, payload)| ReceivedPacket {
                    sequence,
                    timestamp,
                    marker,
                    payload: payload.into(),
                })
                .collect()
        })
    }

    proptest::proptest! {
        /// Any packets: no panic, and never more out than a few times what
        /// came in (Annex B start codes before NAL units of one byte).
        #[test]
        fn depacketizers_survive_any_packets(packets in hostile_packets()) {
            let input: usize = packets.iter().map(|p| p.payload.len()).sum();
            for description in received_descriptions() {
                let mut d = depacketizer(&description).unwrap();
                let mut out = Vec::new();
                for packet in &packets {
                    let _ = d.push(packet, &mut out);
                }
                d.finish(&mut out);
                let output: usize = out.iter().map(|u| u.data.len()).sum();
                proptest::prop_assert!(output <= 5 * input, "{}: {output} from {input}", description.encoding);
            }
        }
    }

    /// A codec no payload format carries (a WAV file's GSM 6.10) is
    /// refused by its name.
    #[test]
    fn a_codec_without_a_payload_format_is_unsupported() {
        let gsm = Codec::Other(TrackKind::Audio, "gsm_ms".into());
        let error = packetizer(&Track::new(0, gsm, 8000)).err().unwrap();
        assert_eq!(error.to_string(), "no RTP payload format for gsm_ms");
    }

    #[test]
    fn parse_rtpmap_finds_registered_encodings() {
        let d = PayloadDescription::parse(TrackKind::Audio, "l16/44100/2", None).unwrap();
        assert_eq!(
            (d.encoding, d.clock_rate, d.channels),
            ("L16", 44100, Some(2))
        );
        let d = PayloadDescription::parse(
            TrackKind::Audio,
            "mpeg4-generic/48000/1",
            Some("mode=AAC-hbr; SizeLength=13"),
        )
        .unwrap();
        assert_eq!(d.fmtp_param("sizelength"), Some("13"));
        assert_eq!(d.fmtp_param("indexlength"), None);
        assert!(PayloadDescription::parse(TrackKind::Video, "H264", None).is_err());
        assert!(PayloadDescription::parse(TrackKind::Video, "H264/0", None).is_err());
        assert!(matches!(
            PayloadDescription::parse(TrackKind::Video, "X-NONE/90000", None),
            Err(RtpError::Unsupported(_))
        ));
    }
}
