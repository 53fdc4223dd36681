//! AAC over RTP, RFC 3640 `mpeg4-generic` in AAC-hbr mode (§3.3.6): an
//! AU-headers section (16-bit length in bits, then per AU a 13-bit size and
//! a 3-bit index) followed by the raw AAC access units.
//!
//! Partner files in the other layers: `media/adts.rs` (the ADTS reader whose
//! units this carries) and `codec/adts.rs` (the header syntax).

use std::io::Cursor;

use bitstream_io::{BigEndian, BitRead, BitReader};
use bytes::{BufMut, BytesMut};

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// AU-headers-length (2 bytes) plus one 16-bit AU header.
const HEADER_LEN: usize = 4;

/// Largest AU the 13-bit AU-size field can describe.
const MAX_AU_SIZE: usize = (1 << 13) - 1;

/// The registry entry: `mpeg4-generic/<rate>/<channels>`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["mpeg4-generic"],
    packetizer: |track, _| (track.codec == Codec::Aac).then(|| boxed(AacPacketizer::new(track))),
    depacketizer: |description| {
        AacDepacketizer::new(description).map(|d| Box::new(d) as Box<dyn Depacketizer>)
    },
};

/// RFC 3640 AAC-hbr packetizer: one AU per packet, fragmented (§3.2.3)
/// when it does not fit, every fragment carrying the AU header with the
/// whole AU's size.
pub struct AacPacketizer {
    clock_rate: u32,
    sample_rate: u32,
    channels: u16,
    config: Vec<u8>,
}

impl AacPacketizer {
    /// A packetizer for an AAC track whose configuration holds its
    /// AudioSpecificConfig.
    pub fn new(track: &Track) -> Result<AacPacketizer, RtpError> {
        let missing = |what: &str| RtpError::MissingConfig(format!("AAC track has no {what}"));
        if track.config.extradata.is_empty() {
            return Err(missing("AudioSpecificConfig"));
        }
        let audio = track.audio();
        Ok(AacPacketizer {
            clock_rate: track.clock_rate,
            sample_rate: audio
                .map(|a| a.sample_rate)
                .ok_or_else(|| missing("sample rate"))?,
            channels: audio
                .map(|a| a.channels)
                .ok_or_else(|| missing("channel count"))?,
            config: track.config.extradata.to_vec(),
        })
    }

    /// The MPEG-4 audio profile-level-id (ISO/IEC 14496-3 §1.5.2.4, "AAC
    /// Profile" levels 2, 4 and 5 by channel count and sampling rate).
    fn profile_level_id(&self) -> u8 {
        match (self.channels, self.sample_rate) {
            (0..=2, 0..=48000) => 0x29,
            (0..=5, 0..=48000) => 0x2a,
            _ => 0x2b,
        }
    }
}

impl Packetizer for AacPacketizer {
    /// RFC 3640 §4.1 and §3.3.6: `mpeg4-generic/<rate>/<channels>` with
    /// streamtype 5, mode AAC-hbr, sizelength 13, indexlength 3,
    /// indexdeltalength 3 and the hex AudioSpecificConfig.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: None,
            encoding: "mpeg4-generic",
            clock_rate: self.sample_rate,
            channels: Some(self.channels),
            fmtp: Some(format!(
                "streamtype=5;profile-level-id={};mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config={}",
                self.profile_level_id(),
                hex::encode(&self.config)
            )),
        }
    }

    fn min_payload(&self) -> usize {
        HEADER_LEN + 1
    }

    /// RFC 3640 §3.2: the timestamp is the AU's first sample (its PTS in
    /// the sampling-rate clock); the marker bit is set on a packet of
    /// complete AUs and on the last fragment of an AU.
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let size = unit.data.len();
        if size > MAX_AU_SIZE {
            return Err(RtpError::BadUnit(format!(
                "AAC access unit of {size} bytes exceeds the 13-bit AU-size of RFC 3640 AAC-hbr"
            )));
        }
        let timestamp = rescale(unit.pts, self.clock_rate, self.sample_rate) as u32;
        // AU-headers-length = 16 bits; AU-size (13) then AU-index 0 (3).
        let au_header = ((size as u16) << 3).to_be_bytes();
        let header = PayloadHeader::from_slice(&[0, 16, au_header[0], au_header[1]]);
        let chunk = max_payload - HEADER_LEN;
        let mut offset = 0;
        while offset < size {
            let end = (offset + chunk).min(size);
            out.push(RtpPayload {
                header: header.clone(),
                data: unit.data.slice(offset..end),
                marker: end == size,
                timestamp,
            });
            offset = end;
        }
        Ok(())
    }
}

/// The fields of an AU header and of the auxiliary section that `fmtp`
/// configures (RFC 3640 §3.2.1, §3.2.2 and §4.1), in bits; a length of zero
/// leaves the field out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AuHeaderLayout {
    size_length: u32,
    index_length: u32,
    index_delta_length: u32,
    cts_delta_length: u32,
    dts_delta_length: u32,
    /// RAP-flag present (`randomaccessindication=1`).
    random_access_indication: bool,
    stream_state_indication: u32,
    auxiliary_data_size_length: u32,
}

impl AuHeaderLayout {
    /// The layout `description`'s fmtp gives (parameter names are
    /// case-insensitive, RFC 3640 §4.1; absent ones are zero).
    fn from_fmtp(description: &PayloadDescription) -> Result<AuHeaderLayout, RtpError> {
        let bits = |name: &str, max: u32| -> Result<u32, RtpError> {
            description.fmtp_param(name).map_or(Ok(0), |v| {
                v.parse()
                    .ok()
                    .filter(|&n| n <= max)
                    .ok_or_else(|| RtpError::Sdp(format!("mpeg4-generic {name}={v}")))
            })
        };
        let layout = AuHeaderLayout {
            // At most 16 bits: no AU size can make us hold more than 64 KiB.
            size_length: bits("sizelength", 16)?,
            index_length: bits("indexlength", 16)?,
            index_delta_length: bits("indexdeltalength", 16)?,
            cts_delta_length: bits("ctsdeltalength", 32)?,
            dts_delta_length: bits("dtsdeltalength", 32)?,
            random_access_indication: bits("randomaccessindication", 1)? == 1,
            stream_state_indication: bits("streamstateindication", 32)?,
            auxiliary_data_size_length: bits("auxiliarydatasizelength", 32)?,
        };
        if layout.size_length == 0 {
            return Err(RtpError::Unsupported(
                "mpeg4-generic without AU sizes (sizelength=0)".into(),
            ));
        }
        Ok(layout)
    }

    /// Reads one AU header (§3.2.1.1): the AU's size and its serial number
    /// relative to the packet's first AU (from AU-Index-delta), and the
    /// CTS-delta when present.
    fn read_header(
        &self,
        reader: &mut BitReader<Cursor<&[u8]>, BigEndian>,
        first: bool,
    ) -> std::io::Result<(usize, u32, Option<i64>)> {
        let size: u32 = reader.read_var(self.size_length)?;
        let index_bits = if first {
            self.index_length
        } else {
            self.index_delta_length
        };
        // The first AU-Index only numbers the packet's AUs among
        // themselves: what counts is each AU-Index-delta.
        let delta: u32 = reader.read_var(index_bits)?;
        let step = if first { 0 } else { delta.saturating_add(1) };
        let mut cts = None;
        if self.cts_delta_length > 0 && reader.read_bit()? {
            let raw: u32 = reader.read_var(self.cts_delta_length)?;
            cts = Some(twos_complement(raw, self.cts_delta_length));
        }
        if self.dts_delta_length > 0 && reader.read_bit()? {
            reader.skip(self.dts_delta_length)?;
        }
        if self.random_access_indication {
            reader.skip(1)?;
        }
        reader.skip(self.stream_state_indication)?;
        Ok((size as usize, step, cts))
    }
}

/// A `bits`-wide two's complement value (RFC 3640 §3.2.1.1 CTS-delta).
fn twos_complement(raw: u32, bits: u32) -> i64 {
    let value = i64::from(raw);
    if bits > 0 && value >> (bits - 1) & 1 == 1 {
        value - (1i64 << bits)
    } else {
        value
    }
}

/// One AU of a packet: its size, and its timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AuEntry {
    size: usize,
    timestamp: u32,
}

/// RFC 3640 depacketizer for the AU-header modes (AAC-hbr, AAC-lbr and any
/// layout of AU headers and auxiliary section `fmtp` describes): several
/// AUs per packet, timed by their AU-Index-delta or CTS-delta, and
/// fragmented AUs. Interleaved AUs come out in packet order, each with its
/// own timestamp.
pub struct AacDepacketizer {
    layout: AuHeaderLayout,
    /// Samples per AU, for the timestamps of AUs after the first in a packet.
    au_duration: u32,
    /// Timestamp, whole size and bytes of a fragmented AU.
    partial: Option<(u32, usize, BytesMut)>,
    expected_sequence: Option<u16>,
}

impl AacDepacketizer {
    /// A depacketizer for the stream `description` describes (its fmtp must
    /// give `sizelength`).
    pub fn new(description: &PayloadDescription) -> Result<AacDepacketizer, RtpError> {
        let layout = AuHeaderLayout::from_fmtp(description)?;
        let config = description
            .fmtp_param("config")
            .and_then(|c| hex::decode(c).ok())
            .unwrap_or_default();
        let au_duration = match description.fmtp_param("constantDuration") {
            Some(d) => d
                .parse()
                .map_err(|_| RtpError::Sdp(format!("mpeg4-generic constantDuration={d}")))?,
            None => samples_per_frame(&config),
        };
        Ok(AacDepacketizer {
            layout,
            au_duration,
            partial: None,
            expected_sequence: None,
        })
    }

    /// The AUs that the AU-headers section at the start of a packet of
    /// `timestamp` announces, and the offset of the first AU (after the
    /// auxiliary section, §3.2.2).
    fn entries(&self, payload: &[u8], timestamp: u32) -> Result<(Vec<AuEntry>, usize), RtpError> {
        let malformed = |what: &str| RtpError::Malformed(format!("mpeg4-generic: {what}"));
        let [hi, lo, rest @ ..] = payload else {
            return Err(malformed("no AU-headers-length"));
        };
        let bits = u64::from(u16::from_be_bytes([*hi, *lo]));
        let section = rest
            .get(..bits.div_ceil(8) as usize)
            .ok_or_else(|| malformed("AU-headers section overruns the packet"))?;
        let mut reader = BitReader::endian(Cursor::new(section), BigEndian);
        let mut entries = Vec::new();
        let mut serial = 0u32;
        while reader.position_in_bits().unwrap_or(u64::MAX) < bits {
            let (size, step, cts) = self
                .layout
                .read_header(&mut reader, entries.is_empty())
                .map_err(|_| malformed("AU header cut off"))?;
            serial = serial.saturating_add(step);
            let timestamp = match cts {
                Some(delta) => timestamp.wrapping_add(delta as u32),
                None => timestamp.wrapping_add(serial.wrapping_mul(self.au_duration)),
            };
            entries.push(AuEntry { size, timestamp });
        }
        if reader.position_in_bits().unwrap_or(u64::MAX) != bits {
            return Err(malformed("AU headers do not add up to AU-headers-length"));
        }
        let mut offset = 2 + section.len();
        if self.layout.auxiliary_data_size_length > 0 {
            let aux = payload.get(offset..).unwrap_or_default();
            let mut reader = BitReader::endian(aux, BigEndian);
            let size: u64 = reader
                .read_var(self.layout.auxiliary_data_size_length)
                .map_err(|_| malformed("auxiliary section cut off"))?;
            let aux_bits = u64::from(self.layout.auxiliary_data_size_length) + size;
            offset += usize::try_from(aux_bits.div_ceil(8)).unwrap_or(usize::MAX);
            if offset > payload.len() {
                return Err(malformed("auxiliary section overruns the packet"));
            }
        }
        Ok((entries, offset))
    }
}

impl Depacketizer for AacDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if self.expected_sequence.is_some_and(|s| s != packet.sequence) {
            self.partial = None;
        }
        self.expected_sequence = Some(packet.sequence.wrapping_add(1));
        let (entries, mut pos) = self.entries(&packet.payload, packet.timestamp)?;
        let data = &packet.payload;
        if let Some((ts, size, buf)) = self.partial.as_mut() {
            // A continuation fragment (§3.2.3): same timestamp, one AU
            // header with the whole AU's size.
            if *ts == packet.timestamp && entries.len() == 1 && entries[0].size == *size {
                buf.put_slice(&data[pos..]);
                if buf.len() >= *size || packet.marker {
                    let (timestamp, size, buf) = self.partial.take().unwrap_or_default();
                    if buf.len() == size {
                        out.push(ReceivedUnit {
                            timestamp,
                            data: buf.freeze(),
                        });
                    }
                }
                return Ok(());
            }
            self.partial = None;
        }
        if let [AuEntry { size, timestamp }] = entries[..] {
            if size > data.len() - pos {
                // The first fragment of an AU (§3.2.3).
                let mut buf = BytesMut::with_capacity(size);
                buf.put_slice(&data[pos..]);
                self.partial = Some((timestamp, size, buf));
                return Ok(());
            }
        }
        let total = entries.iter().map(|e| e.size).sum::<usize>();
        if total > data.len() - pos {
            return Err(RtpError::Malformed(
                "mpeg4-generic: AU sizes overrun the packet".into(),
            ));
        }
        for AuEntry { size, timestamp } in entries {
            out.push(ReceivedUnit {
                timestamp,
                data: data.slice(pos..pos + size),
            });
            pos += size;
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        self.partial = None;
    }
}

/// Samples per AAC frame from an AudioSpecificConfig (ISO/IEC 14496-3
/// §1.6.2.1 and §4.4.1 GASpecificConfig `frameLengthFlag`: 960 instead of
/// 1024); 1024 when the config cannot be read.
fn samples_per_frame(config: &[u8]) -> u32 {
    let mut r = BitReader::endian(config, BigEndian);
    let mut read = || -> std::io::Result<bool> {
        let mut object_type: u32 = r.read::<5, u32>()?;
        if object_type == 31 {
            object_type = 32 + r.read::<6, u32>()?;
        }
        if r.read::<4, u32>()? == 15 {
            r.skip(24)?;
        }
        // channelConfiguration, then for the general audio object types
        // GASpecificConfig, whose first bit is frameLengthFlag.
        r.skip(4)?;
        let general = matches!(object_type, 1..=4 | 6 | 7 | 17 | 19..=23);
        Ok(general && r.read_bit()?)
    };
    if read().unwrap_or(false) {
        960
    } else {
        1024
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioParams, TrackParams};
    use crate::rtp::tests::{depacketize, packet, receive};
    use bytes::Bytes;

    fn track() -> Track {
        let mut t = Track::new(0, Codec::Aac, 44100);
        t.params = TrackParams::Audio(AudioParams::new(44100, 2));
        t.config.extradata = Bytes::from_static(&[0x12, 0x10]);
        t
    }

    /// An AU of `len` counting bytes.
    fn unit(pts: i64, len: usize) -> AccessUnit {
        crate::rtp::tests::unit(pts, (0..len).map(|i| i as u8).collect::<Vec<u8>>())
    }

    fn depacketizer(fmtp: &str) -> AacDepacketizer {
        let d = PayloadDescription::parse(TrackKind::Audio, "mpeg4-generic/48000/1", Some(fmtp))
            .unwrap();
        AacDepacketizer::new(&d).unwrap()
    }

    #[test]
    fn description_follows_rfc3640() {
        let d = AacPacketizer::new(&track()).unwrap().description();
        assert_eq!(d.rtpmap(), "mpeg4-generic/44100/2");
        assert_eq!(
            d.fmtp.as_deref(),
            Some("streamtype=5;profile-level-id=41;mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1210")
        );
        let mut t = track();
        t.config.extradata = Bytes::new();
        assert!(AacPacketizer::new(&t).is_err());
    }

    #[test]
    fn au_header_and_fragments_round_trip() {
        let mut p = AacPacketizer::new(&track()).unwrap();
        let mut payloads = Vec::new();
        p.packetize(&unit(0, 300), 1400, &mut payloads).unwrap();
        p.packetize(&unit(1024, 700), 304, &mut payloads).unwrap();
        assert_eq!(payloads[0].header.as_slice(), &[0, 16, 0x09, 0x60]); // 300 << 3
        assert_eq!(payloads.len(), 4);
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.marker, p.timestamp))
                .collect::<Vec<_>>(),
            [(true, 0), (false, 1024), (false, 1024), (true, 1024)]
        );
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, unit(0, 300).data);
        assert_eq!(
            (out[1].timestamp, out[1].data.clone()),
            (1024, unit(0, 700).data)
        );
        assert!(p.packetize(&unit(0, 9000), 1400, &mut Vec::new()).is_err());
        // No room for a byte of media after the AU header section.
        let mut none = Vec::new();
        assert!(matches!(
            p.packetize(&unit(0, 10), 4, &mut none),
            Err(RtpError::PayloadTooSmall { needed: 5, .. })
        ));
        assert!(none.is_empty());
    }

    #[test]
    fn several_aus_per_packet_and_bad_headers() {
        let mut dep =
            depacketizer("mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1188");
        assert_eq!(dep.au_duration, 1024);
        // Two AU headers (sizes 2 and 3), then the AUs.
        let mut good = packet(0, 10, &[0, 32, 0, 2 << 3, 0, 3 << 3, 1, 2, 3, 4, 5]);
        good.marker = true;
        let mut out = Vec::new();
        dep.push(&good, &mut out).unwrap();
        assert_eq!(out[1].timestamp, 1034);
        assert_eq!(&out[1].data[..], &[3, 4, 5]);
        let bad = packet(1, 10, &[0, 32, 0, 0x50, 0, 0x50, 1]);
        assert!(dep.push(&bad, &mut out).is_err());
        assert_eq!(out.len(), 2, "no AU of a packet whose sizes overrun it");
        assert_eq!(samples_per_frame(&[0x12, 0x14]), 960);
        assert_eq!(samples_per_frame(&[]), 1024);
    }

    #[test]
    fn au_index_delta_spaces_the_timestamps() {
        // RFC 3640 §3.2.1.1: serial number = previous + 1 + AU-Index-delta.
        // AU 1 at index 0, AU 2 two AUs later (delta 1): 2048 samples on.
        let mut dep =
            depacketizer("sizelength=13;indexlength=3;indexdeltalength=3;constantDuration=1024");
        let payload = [0, 32, 0, 1 << 3, 0, (1 << 3) | 1, 7, 8];
        let out = depacketize(&mut dep, &[packet(0, 100, &payload)]);
        assert_eq!(
            out.iter().map(|u| u.timestamp).collect::<Vec<_>>(),
            [100, 100 + 2048]
        );
        // Without indexdeltalength the field is absent (§4.1 default 0):
        // the same two headers then take 13 + 3 and 13 bits.
        let mut dep = depacketizer("sizelength=13;indexlength=3");
        let out = depacketize(&mut dep, &[packet(0, 0, &[0, 29, 0, 8, 0, 8, 1, 2])]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[1].timestamp, 1024);
    }

    #[test]
    fn optional_header_fields_and_auxiliary_section_are_skipped() {
        // AU header: size 13, index 3, CTS-flag 1 + CTS-delta 8 (-1),
        // DTS-flag 0, RAP-flag 1: 27 bits, padded to 4 bytes. Then a 4-bit
        // auxiliary-data-size of 4 and 4 bits of data: one byte.
        let mut dep = depacketizer(
            "sizelength=13;indexlength=3;indexdeltalength=3;ctsdeltalength=8;\
             dtsdeltalength=8;randomaccessindication=1;auxiliarydatasizelength=4",
        );
        // Bits 31-19 size, 18-16 index, 15 CTS-flag, 14-7 CTS-delta, 6
        // DTS-flag (0), 5 RAP-flag.
        let header: u32 = (2 << 19) | (1 << 15) | (0xff << 7) | (1 << 5);
        let mut payload = vec![0, 27];
        payload.extend_from_slice(&header.to_be_bytes());
        payload.extend_from_slice(&[0x4a, 0xaa, 0xbb]);
        let out = depacketize(&mut dep, &[packet(0, 500, &payload)]);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].timestamp, &out[0].data[..]),
            (499, &[0xaa, 0xbb][..])
        );
        assert_eq!(twos_complement(0b100, 3), -4);
        assert_eq!(twos_complement(0b011, 3), 3);
    }

    #[test]
    fn hostile_section_lengths_are_refused() {
        let mut dep = depacketizer("sizelength=13;indexlength=3;indexdeltalength=3");
        let mut out = Vec::new();
        for payload in [
            &[][..],
            &[0],
            &[0xff, 0xff, 0, 0],  // the section overruns the packet
            &[0, 15, 0, 8, 1],    // one bit short of an AU header
            &[0, 17, 0, 8, 0, 1], // headers that do not fill the length
        ] {
            assert!(
                matches!(
                    dep.push(&packet(0, 0, payload), &mut out),
                    Err(RtpError::Malformed(_))
                ),
                "{payload:?}"
            );
        }
        assert!(out.is_empty());
        for fmtp in [
            "sizelength=0",
            "indexlength=3",
            "sizelength=17",
            "sizelength=x",
        ] {
            let d = PayloadDescription::parse(TrackKind::Audio, "mpeg4-generic/8000", Some(fmtp))
                .unwrap();
            assert!(AacDepacketizer::new(&d).is_err(), "{fmtp}");
        }
    }

    #[test]
    fn fragments_of_a_lost_or_changed_au_are_dropped() {
        let mut p = AacPacketizer::new(&track()).unwrap();
        let mut payloads = Vec::new();
        p.packetize(&unit(0, 700), 304, &mut payloads).unwrap();
        p.packetize(&unit(1024, 700), 304, &mut payloads).unwrap();
        let mut packets = receive(&payloads);
        packets.remove(1); // the middle of the first AU
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &packets);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].timestamp, 1024);
        // A continuation whose AU size differs starts over.
        let mut packets = receive(&payloads[3..]);
        packets[1].payload = Bytes::from_static(&[0, 16, 0, 8, 9]);
        let out = depacketize(d.as_mut(), &packets);
        assert_eq!(out.len(), 1);
        assert_eq!(&out[0].data[..], &[9]);
    }
}
