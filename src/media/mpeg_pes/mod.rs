//! What MPEG program streams and transport streams share (ISO/IEC 13818-1,
//! ISO/IEC 11172-1): the PES packet header in its MPEG-1 and MPEG-2 forms
//! with its 33-bit timestamps ([`PesHeader`]), one continuous timeline
//! across the 33-bit wrap and clock discontinuities ([`timeline`]), the
//! elementary streams cut into access units ([`elementary`]) and the
//! demultiplexer built on them, with its open scan and its bisection seek
//! ([`engine`]).
//!
//! The system layers themselves (`mpeg_ps`: packs and PES packets,
//! `mpeg_ts`: 188/192-byte packets, PAT/PMT, PES reassembly) are small
//! readers of their packet syntax that hand the [`engine::Engine`] what
//! they find: PES starts with their timestamps, payload bytes, clock
//! references, and damage.

pub(super) mod elementary;
pub(super) mod engine;
pub(super) mod lpcm;
pub(super) mod timeline;

/// `stream_id` values (ISO/IEC 13818-1 Table 2-22) the readers act on.
pub(super) mod stream_id {
    /// program_stream_map.
    pub const PROGRAM_STREAM_MAP: u8 = 0xbc;
    /// private_stream_1 (DVD: AC-3, LPCM, DTS, subpictures by substream).
    pub const PRIVATE_STREAM_1: u8 = 0xbd;
    /// padding_stream.
    pub const PADDING: u8 = 0xbe;
    /// private_stream_2 (DVD navigation packets).
    pub const PRIVATE_STREAM_2: u8 = 0xbf;

    /// Whether packets of this stream have no PES header extension
    /// (§2.4.3.6: the map, padding, private 2, ECM, EMM, directory,
    /// DSM-CC and H.222.1 type E streams): their payload follows the length.
    pub fn has_no_header(id: u8) -> bool {
        matches!(
            id,
            PROGRAM_STREAM_MAP | PADDING | PRIVATE_STREAM_2 | 0xf0 | 0xf1 | 0xf2 | 0xf8 | 0xff
        )
    }

    /// MPEG audio streams (`110x xxxx`).
    pub fn is_audio(id: u8) -> bool {
        (0xc0..=0xdf).contains(&id)
    }

    /// MPEG video streams (`1110 xxxx`).
    pub fn is_video(id: u8) -> bool {
        (0xe0..=0xef).contains(&id)
    }
}

/// Bytes of a PES packet's fixed start: start code prefix, `stream_id`,
/// `PES_packet_length`.
pub(super) const PES_START_LEN: usize = 6;

/// A PES packet header (ISO/IEC 13818-1 §2.4.3.6, ISO/IEC 11172-1
/// §2.4.3.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PesHeader {
    /// `stream_id`.
    pub stream_id: u8,
    /// `PES_packet_length`: the bytes after this field, 0 for a packet of
    /// unbounded length (video in transport streams).
    pub packet_len: u16,
    /// Bytes from the start code to the first payload byte.
    pub header_len: usize,
    /// The presentation time stamp, 33 bits of a 90 kHz clock.
    pub pts: Option<u64>,
    /// The decoding time stamp (only with a PTS).
    pub dts: Option<u64>,
}

/// Why bytes are not a PES header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PesError {
    /// The header needs this many bytes in all; fewer were given.
    Short(usize),
    /// The header breaks the syntax.
    Invalid(&'static str),
}

/// A 5-byte timestamp field (§2.4.3.7): 4 prefix bits, then PTS[32..30],
/// a marker, PTS[29..15], a marker, PTS[14..0], a marker. Markers are not
/// checked (some muxers clear them).
pub(super) fn timestamp(b: &[u8]) -> u64 {
    (u64::from(b[0] >> 1) & 7) << 30
        | u64::from(b[1]) << 22
        | u64::from(b[2] >> 1) << 15
        | u64::from(b[3]) << 7
        | u64::from(b[4] >> 1)
}

impl PesHeader {
    /// Parses the header of the PES packet at the start of `data` (from
    /// its `00 00 01` prefix). The MPEG-2 form (`'10'` after the length) and
    /// the MPEG-1 form (stuffing, STD buffer, timestamps) are told apart by
    /// their first bits, as program streams of either kind need.
    pub fn parse(data: &[u8]) -> Result<PesHeader, PesError> {
        if data.len() < PES_START_LEN {
            return Err(PesError::Short(PES_START_LEN));
        }
        if data[..3] != [0, 0, 1] {
            return Err(PesError::Invalid("no PES start code"));
        }
        let stream_id = data[3];
        let packet_len = u16::from_be_bytes([data[4], data[5]]);
        let mut header = PesHeader {
            stream_id,
            packet_len,
            header_len: PES_START_LEN,
            pts: None,
            dts: None,
        };
        if stream_id::has_no_header(stream_id) {
            return Ok(header);
        }
        let need = |n: usize| {
            if data.len() < n {
                Err(PesError::Short(n))
            } else {
                Ok(())
            }
        };
        need(PES_START_LEN + 1)?;
        if data[6] & 0xc0 == 0x80 {
            need(9)?;
            let flags = data[7] >> 6;
            let len = 9 + usize::from(data[8]);
            need(len)?;
            match flags {
                2 if len >= 14 => header.pts = Some(timestamp(&data[9..])),
                3 if len >= 19 => {
                    header.pts = Some(timestamp(&data[9..]));
                    header.dts = Some(timestamp(&data[14..]));
                }
                0 => {}
                1 => return Err(PesError::Invalid("PTS_DTS_flags '01' is forbidden")),
                _ => return Err(PesError::Invalid("timestamps longer than the header")),
            }
            header.header_len = len;
        } else {
            // ISO/IEC 11172-1 §2.4.3.3: up to 16 stuffing bytes, then an
            // optional STD buffer field, then the timestamps or 0x0f.
            let mut at = PES_START_LEN;
            loop {
                need(at + 1)?;
                if data[at] != 0xff {
                    break;
                }
                at += 1;
                if at > PES_START_LEN + 16 {
                    return Err(PesError::Invalid("more than 16 stuffing bytes"));
                }
            }
            if data[at] & 0xc0 == 0x40 {
                at += 2;
                need(at + 1)?;
            }
            match data[at] >> 4 {
                2 => {
                    need(at + 5)?;
                    header.pts = Some(timestamp(&data[at..]));
                    at += 5;
                }
                3 => {
                    need(at + 10)?;
                    header.pts = Some(timestamp(&data[at..]));
                    header.dts = Some(timestamp(&data[at + 5..]));
                    at += 10;
                }
                _ if data[at] == 0x0f => at += 1,
                _ => return Err(PesError::Invalid("MPEG-1 packet header without 0x0f")),
            }
            header.header_len = at;
        }
        if packet_len != 0 && header.header_len > PES_START_LEN + usize::from(packet_len) {
            return Err(PesError::Invalid("header longer than PES_packet_length"));
        }
        Ok(header)
    }

    /// Payload bytes of a packet of bounded length.
    pub fn payload_len(&self) -> Option<usize> {
        (self.packet_len != 0)
            .then(|| PES_START_LEN + usize::from(self.packet_len) - self.header_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A timestamp field with prefix `prefix` for `ts`.
    pub(crate) fn ts_field(prefix: u8, ts: u64) -> [u8; 5] {
        [
            prefix << 4 | ((ts >> 29) as u8 & 0x0e) | 1,
            (ts >> 22) as u8,
            ((ts >> 14) as u8 & 0xfe) | 1,
            (ts >> 7) as u8,
            ((ts << 1) as u8) | 1,
        ]
    }

    #[test]
    fn mpeg2_headers() {
        let max = (1u64 << 33) - 1;
        let mut pes = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0xc0, 10];
        pes.extend(ts_field(3, max));
        pes.extend(ts_field(1, 12345));
        let h = PesHeader::parse(&pes).unwrap();
        assert_eq!((h.pts, h.dts, h.header_len), (Some(max), Some(12345), 19));
        assert_eq!(h.payload_len(), None);
        assert_eq!(PesHeader::parse(&pes[..18]), Err(PesError::Short(19)));
        let mut forbidden = pes.clone();
        forbidden[7] = 0x40;
        assert!(matches!(
            PesHeader::parse(&forbidden),
            Err(PesError::Invalid(_))
        ));
        // A length too short for the header.
        let mut short = pes.clone();
        short[5] = 5;
        assert!(matches!(
            PesHeader::parse(&short),
            Err(PesError::Invalid(_))
        ));
        short[5] = 13;
        assert_eq!(PesHeader::parse(&short).unwrap().payload_len(), Some(0));
        // Padding: no header beyond the length.
        let padding = [0, 0, 1, 0xbe, 0, 4, 0xff, 0xff, 0xff, 0xff];
        let h = PesHeader::parse(&padding).unwrap();
        assert_eq!((h.header_len, h.payload_len()), (6, Some(4)));
    }

    #[test]
    fn mpeg1_headers() {
        // Stuffing, STD buffer, PTS and DTS.
        let mut pes = vec![0, 0, 1, 0xc0, 0, 20, 0xff, 0xff, 0x40, 0x20];
        pes.extend(ts_field(3, 90_000));
        pes.extend(ts_field(1, 87_000));
        let h = PesHeader::parse(&pes).unwrap();
        assert_eq!(
            (h.pts, h.dts, h.header_len),
            (Some(90_000), Some(87_000), 20)
        );
        let plain = [0, 0, 1, 0xe0, 0, 3, 0x0f, 0, 0];
        let h = PesHeader::parse(&plain).unwrap();
        assert_eq!((h.pts, h.header_len, h.payload_len()), (None, 7, Some(2)));
        let mut stuffed = vec![0, 0, 1, 0xe0, 0, 30];
        stuffed.extend([0xff; 17]);
        stuffed.push(0x0f);
        assert!(matches!(
            PesHeader::parse(&stuffed),
            Err(PesError::Invalid(_))
        ));
        assert!(matches!(
            PesHeader::parse(&[0, 0, 1, 0xe0, 0, 3, 0x1f]),
            Err(PesError::Invalid(_))
        ));
        assert_eq!(
            PesHeader::parse(&[0, 0, 1, 0xe0, 0, 3, 0xff]),
            Err(PesError::Short(8))
        );
    }
}
