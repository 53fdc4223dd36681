//! AAC over RTP, RFC 3640 `mpeg4-generic` in AAC-hbr mode (§3.3.6): an
//! AU-headers section (16-bit length in bits, then per AU a 13-bit size and
//! a 3-bit index) followed by the raw AAC access units.

use bitstream_io::{BigEndian, BitRead, BitReader};
use bytes::{BufMut, BytesMut};

use super::{
    rescale, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::{AccessUnit, Codec, Track, TrackKind};

/// AU-headers-length (2 bytes) plus one 16-bit AU header.
const HEADER_LEN: usize = 4;

/// Largest AU the 13-bit AU-size field can describe.
const MAX_AU_SIZE: usize = (1 << 13) - 1;

/// The registry entry: `mpeg4-generic/<rate>/<channels>`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["mpeg4-generic"],
    packetizer: |track| {
        (track.codec == Codec::Aac)
            .then(|| AacPacketizer::new(track).map(|p| Box::new(p) as Box<dyn Packetizer>))
    },
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
        Ok(AacPacketizer {
            clock_rate: track.clock_rate,
            sample_rate: track.sample_rate.ok_or_else(|| missing("sample rate"))?,
            channels: track.channels.ok_or_else(|| missing("channel count"))?,
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
    fn packetize(
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
        let chunk = max_payload.saturating_sub(HEADER_LEN).max(1);
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

/// RFC 3640 depacketizer for the AU-header modes (AAC-hbr, AAC-lbr and any
/// `sizelength`/`indexlength`/`indexdeltalength`): several AUs per packet
/// and fragmented AUs.
pub struct AacDepacketizer {
    size_length: u32,
    index_length: u32,
    index_delta_length: u32,
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
        let param = |name: &str, default: Option<u32>| -> Result<u32, RtpError> {
            match description.fmtp_param(name) {
                Some(v) => v
                    .parse()
                    .ok()
                    .filter(|&n: &u32| n <= 16)
                    .ok_or_else(|| RtpError::Sdp(format!("mpeg4-generic {name}={v}"))),
                None => {
                    default.ok_or_else(|| RtpError::Sdp(format!("mpeg4-generic without {name}")))
                }
            }
        };
        let size_length = param("sizelength", None)?;
        if size_length == 0 {
            return Err(RtpError::Unsupported(
                "mpeg4-generic without AU sizes (sizelength=0)".into(),
            ));
        }
        let index_length = param("indexlength", Some(0))?;
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
            size_length,
            index_length,
            index_delta_length: param("indexdeltalength", Some(index_length))?,
            au_duration,
            partial: None,
            expected_sequence: None,
        })
    }

    /// The AU sizes of the AU-headers section at the start of `payload`,
    /// and the offset of the first AU.
    fn au_sizes(&self, payload: &[u8]) -> Result<(Vec<usize>, usize), RtpError> {
        let malformed = |what: &str| RtpError::Malformed(format!("mpeg4-generic: {what}"));
        let [hi, lo, rest @ ..] = payload else {
            return Err(malformed("no AU-headers-length"));
        };
        let bits = u32::from(u16::from_be_bytes([*hi, *lo]));
        let bytes = bits.div_ceil(8) as usize;
        let section = rest
            .get(..bytes)
            .ok_or_else(|| malformed("AU-headers section overruns the packet"))?;
        let mut reader = BitReader::endian(section, BigEndian);
        let mut sizes = Vec::new();
        let mut used = 0;
        while used < bits {
            let index_bits = if sizes.is_empty() {
                self.index_length
            } else {
                self.index_delta_length
            };
            let size: u32 = reader
                .read_var(self.size_length)
                .map_err(|_| malformed("AU header cut off"))?;
            reader
                .skip(index_bits)
                .map_err(|_| malformed("AU header cut off"))?;
            used += self.size_length + index_bits;
            sizes.push(size as usize);
        }
        Ok((sizes, 2 + bytes))
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
        let (sizes, mut pos) = self.au_sizes(&packet.payload)?;
        let data = &packet.payload;
        if let Some((ts, size, buf)) = self.partial.as_mut() {
            // A continuation fragment: same timestamp, one AU header.
            if *ts == packet.timestamp && sizes.len() == 1 && sizes[0] == *size {
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
        let mut timestamp = packet.timestamp;
        for &size in &sizes {
            let available = data.len() - pos;
            if size > available {
                if sizes.len() > 1 {
                    return Err(RtpError::Malformed(
                        "mpeg4-generic: AU sizes overrun the packet".into(),
                    ));
                }
                // The first fragment of an AU (RFC 3640 §3.2.3).
                let mut buf = BytesMut::with_capacity(size);
                buf.put_slice(&data[pos..]);
                self.partial = Some((timestamp, size, buf));
                return Ok(());
            }
            out.push(ReceivedUnit {
                timestamp,
                data: data.slice(pos..pos + size),
            });
            pos += size;
            timestamp = timestamp.wrapping_add(self.au_duration);
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
        r.skip(4)?; // channelConfiguration
                    // GASpecificConfig follows for the general audio object types.
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
    use crate::rtp::tests::receive;
    use bytes::Bytes;

    fn track() -> Track {
        let mut t = Track::new(0, Codec::Aac, 44100);
        t.sample_rate = Some(44100);
        t.channels = Some(2);
        t.config.extradata = Bytes::from_static(&[0x12, 0x10]);
        t
    }

    fn unit(pts: i64, len: usize) -> AccessUnit {
        AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: 1024,
            keyframe: true,
            data: (0..len).map(|i| i as u8).collect::<Vec<u8>>().into(),
        }
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
        let mut out = Vec::new();
        for packet in receive(&payloads) {
            d.push(&packet, &mut out).unwrap();
        }
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].data, unit(0, 300).data);
        assert_eq!(
            (out[1].timestamp, out[1].data.clone()),
            (1024, unit(0, 700).data)
        );
        assert!(p.packetize(&unit(0, 9000), 1400, &mut Vec::new()).is_err());
    }

    #[test]
    fn several_aus_per_packet_and_bad_headers() {
        let d = PayloadDescription::parse(
            TrackKind::Audio,
            "mpeg4-generic/48000/1",
            Some("mode=AAC-hbr;sizelength=13;indexlength=3;indexdeltalength=3;config=1188"),
        )
        .unwrap();
        let mut dep = AacDepacketizer::new(&d).unwrap();
        assert_eq!(dep.au_duration, 1024);
        // Two AU headers (sizes 2 and 3), then the AUs.
        let payload = [0, 32, 0, 2 << 3, 0, 3 << 3, 1, 2, 3, 4, 5];
        let packet = ReceivedPacket {
            sequence: 0,
            timestamp: 10,
            marker: true,
            payload: Bytes::copy_from_slice(&payload),
        };
        let mut out = Vec::new();
        dep.push(&packet, &mut out).unwrap();
        assert_eq!(out[1].timestamp, 1034);
        assert_eq!(&out[1].data[..], &[3, 4, 5]);
        let bad = ReceivedPacket {
            payload: Bytes::from_static(&[0, 32, 0, 0x50, 0, 0x50, 1]),
            sequence: 1,
            ..packet
        };
        assert!(dep.push(&bad, &mut out).is_err());
        assert_eq!(samples_per_frame(&[0x12, 0x14]), 960);
        assert_eq!(samples_per_frame(&[]), 1024);
    }
}
