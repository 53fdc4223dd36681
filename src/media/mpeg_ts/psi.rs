//! Program specific information (ISO/IEC 13818-1 §2.4.4): sections
//! gathered from the packets of a PID (`pointer_field`, sections spanning
//! packets, several in one), their CRC checked, and the two tables the
//! reader needs: the program association table (PAT, §2.4.4.3) and the
//! program map table (PMT, §2.4.4.8).

use super::packet::crc32;
use crate::media::mpeg_pes::elementary::{AudioSyntax, EsKind, VideoCodec};

/// Largest section: `section_length` is at most 1021 for the PAT and PMT
/// and 4093 for private sections (§2.4.4.4).
const MAX_SECTION: usize = 3 + 4093;

/// `table_id` of the PAT.
pub(crate) const PAT_TABLE: u8 = 0x00;
/// `table_id` of a PMT section.
pub(crate) const PMT_TABLE: u8 = 0x02;

/// The sections of one PID, gathered from its packets' payloads.
#[derive(Clone, Debug, Default)]
pub(crate) struct Sections {
    buf: Vec<u8>,
    /// A section is in progress (its start was seen).
    open: bool,
}

impl Sections {
    /// Forgets the section in progress (reading restarts elsewhere).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.open = false;
    }

    /// Takes a packet payload (`unit_start`: it has a `pointer_field`) and
    /// returns the sections it completes.
    pub fn push(&mut self, payload: &[u8], unit_start: bool) -> Vec<Vec<u8>> {
        let mut done = Vec::new();
        let mut rest = payload;
        if unit_start {
            let Some((&pointer, after)) = payload.split_first() else {
                return done;
            };
            let pointer = usize::from(pointer).min(after.len());
            // The bytes before the pointer end the section in progress.
            if self.open {
                self.buf.extend_from_slice(&after[..pointer]);
                self.complete(&mut done);
            }
            self.buf.clear();
            self.open = true;
            rest = &after[pointer..];
        } else if !self.open {
            return done;
        }
        self.buf.extend_from_slice(rest);
        self.complete(&mut done);
        done
    }

    /// Moves the whole sections at the front of the buffer to `done`.
    fn complete(&mut self, done: &mut Vec<Vec<u8>>) {
        loop {
            if self.buf.first().is_none_or(|&t| t == 0xff) {
                // Stuffing: nothing more in this payload.
                self.buf.clear();
                self.open = false;
                return;
            }
            if self.buf.len() < 3 {
                return;
            }
            let len = 3 + usize::from(u16::from_be_bytes([self.buf[1], self.buf[2]]) & 0x0fff);
            if len > MAX_SECTION {
                self.reset();
                return;
            }
            if self.buf.len() < len {
                return;
            }
            done.push(self.buf[..len].to_vec());
            self.buf.drain(..len);
        }
    }
}

/// Why a section is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SectionError {
    /// Its `CRC_32` does not match.
    Crc,
    /// It breaks the table's syntax.
    Syntax(&'static str),
    /// Not the current version (`current_next_indicator` 0).
    NotCurrent,
}

/// The long-form section header (§2.4.4.10 syntax for PAT/PMT): the table
/// id and `table_id_extension`, and the body between the header and the
/// CRC.
fn long_section(section: &[u8], table: u8) -> Result<(u16, &[u8]), SectionError> {
    if section.len() < 12 || section[0] != table {
        return Err(SectionError::Syntax("not a section of this table"));
    }
    if section[1] & 0x80 == 0 {
        return Err(SectionError::Syntax("section_syntax_indicator 0"));
    }
    if crc32(section) != 0 {
        return Err(SectionError::Crc);
    }
    if section[5] & 1 == 0 {
        return Err(SectionError::NotCurrent);
    }
    let extension = u16::from_be_bytes([section[3], section[4]]);
    Ok((extension, &section[8..section.len() - 4]))
}

/// The programs of a PAT section: (program_number, PMT PID), the network
/// PID (program 0) left out.
pub(crate) fn parse_pat(section: &[u8]) -> Result<Vec<(u16, u16)>, SectionError> {
    let (_, body) = long_section(section, PAT_TABLE)?;
    Ok(body
        .chunks_exact(4)
        .map(|e| {
            (
                u16::from_be_bytes([e[0], e[1]]),
                u16::from_be_bytes([e[2] & 0x1f, e[3]]),
            )
        })
        .filter(|&(program, _)| program != 0)
        .collect())
}

/// One elementary stream of a PMT.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PmtStream {
    /// `stream_type` (Table 2-34).
    pub stream_type: u8,
    /// `elementary_PID`.
    pub pid: u16,
    /// Its descriptors: (tag, body).
    pub descriptors: Vec<(u8, Vec<u8>)>,
}

/// A PMT section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pmt {
    /// `program_number`.
    pub program: u16,
    /// `PCR_PID` (0x1FFF: no PCR).
    pub pcr_pid: u16,
    /// The elementary streams, in order.
    pub streams: Vec<PmtStream>,
}

/// Descriptors of a descriptor loop: (tag, body), stopping at one that
/// overruns it.
fn descriptors(mut data: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let [tag, len, rest @ ..] = data {
        let len = usize::from(*len);
        let Some(body) = rest.get(..len) else {
            break;
        };
        out.push((*tag, body.to_vec()));
        data = &rest[len..];
    }
    out
}

/// Parses a PMT section.
pub(crate) fn parse_pmt(section: &[u8]) -> Result<Pmt, SectionError> {
    let (program, body) = long_section(section, PMT_TABLE)?;
    if body.len() < 4 {
        return Err(SectionError::Syntax("PMT too short"));
    }
    let pcr_pid = u16::from_be_bytes([body[0] & 0x1f, body[1]]);
    let info_len = usize::from(u16::from_be_bytes([body[2] & 0x0f, body[3]]));
    let mut rest = body
        .get(4 + info_len..)
        .ok_or(SectionError::Syntax("program_info_length past the section"))?;
    let mut streams = Vec::new();
    while rest.len() >= 5 {
        let es_len = usize::from(u16::from_be_bytes([rest[3] & 0x0f, rest[4]]));
        let info = rest
            .get(5..5 + es_len)
            .ok_or(SectionError::Syntax("ES_info_length past the section"))?;
        streams.push(PmtStream {
            stream_type: rest[0],
            pid: u16::from_be_bytes([rest[1] & 0x1f, rest[2]]),
            descriptors: descriptors(info),
        });
        rest = &rest[5 + es_len..];
    }
    Ok(Pmt {
        program,
        pcr_pid,
        streams,
    })
}

/// `registration_descriptor` tag (§2.6.8) and the DVB AC-3 and enhanced
/// AC-3 descriptor tags (ETSI EN 300 468 Annex D).
const REGISTRATION: u8 = 0x05;
const DVB_AC3: u8 = 0x6a;
const DVB_EAC3: u8 = 0x7a;

/// What a PMT stream carries that this reader reads: by `stream_type`
/// (Table 2-34 and ATSC A/52 Annex A: 0x81 AC-3, 0x87 E-AC-3), or for
/// private PES data (0x06) by its DVB AC-3 descriptors or registration.
pub(crate) fn es_kind(stream: &PmtStream) -> Option<EsKind> {
    let registered = |id: &[u8; 4]| {
        stream
            .descriptors
            .iter()
            .any(|(tag, body)| *tag == REGISTRATION && body.starts_with(id))
    };
    Some(match stream.stream_type {
        0x01 | 0x02 => EsKind::Video(Some(VideoCodec::Mpeg)),
        0x1b => EsKind::Video(Some(VideoCodec::H264)),
        0x24 => EsKind::Video(Some(VideoCodec::Hevc)),
        0x03 | 0x04 => EsKind::Audio(AudioSyntax::MpegAudio),
        0x0f => EsKind::Audio(AudioSyntax::Adts),
        0x11 => EsKind::Audio(AudioSyntax::Latm),
        0x81 | 0x87 => EsKind::Audio(AudioSyntax::Ac3),
        0x06 if stream
            .descriptors
            .iter()
            .any(|(tag, _)| *tag == DVB_AC3 || *tag == DVB_EAC3)
            || registered(b"AC-3")
            || registered(b"EAC3") =>
        {
            EsKind::Audio(AudioSyntax::Ac3)
        }
        0x06 if registered(b"HEVC") => EsKind::Video(Some(VideoCodec::Hevc)),
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A long-form section of table `table` with `body`, its CRC set.
    pub(crate) fn section(table: u8, extension: u16, body: &[u8]) -> Vec<u8> {
        let len = 5 + body.len() + 4;
        let mut s = vec![table, 0xb0 | (len >> 8) as u8, len as u8];
        s.extend_from_slice(&extension.to_be_bytes());
        s.extend_from_slice(&[0xc1, 0, 0]);
        s.extend_from_slice(body);
        let crc = crc32(&s);
        s.extend_from_slice(&crc.to_be_bytes());
        s
    }

    #[test]
    fn pat_and_pmt() {
        let pat = section(PAT_TABLE, 1, &[0, 0, 0xe0, 0x10, 0, 1, 0xf0, 0]);
        assert_eq!(parse_pat(&pat), Ok(vec![(1, 0x1000)]));
        let mut bad = pat.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(parse_pat(&bad), Err(SectionError::Crc));
        let pmt = section(
            PMT_TABLE,
            1,
            &[
                0xe1, 0x00, 0xf0, 0x00, // PCR PID 0x100, no program info
                0x1b, 0xe1, 0x00, 0xf0, 0x00, // H.264 on 0x100
                0x06, 0xe1, 0x01, 0xf0, 0x03, 0x6a, 0x01, 0x00, // AC-3 descriptor
                0x86, 0xe1, 0x02, 0xf0, 0x00, // SCTE-35: not read
            ],
        );
        let pmt = parse_pmt(&pmt).unwrap();
        assert_eq!((pmt.program, pmt.pcr_pid, pmt.streams.len()), (1, 0x100, 3));
        let kinds: Vec<Option<EsKind>> = pmt.streams.iter().map(es_kind).collect();
        assert_eq!(
            kinds,
            [
                Some(EsKind::Video(Some(VideoCodec::H264))),
                Some(EsKind::Audio(AudioSyntax::Ac3)),
                None
            ]
        );
        let cut = section(PMT_TABLE, 1, &[0xe1, 0x00, 0xf0, 0x10, 0x1b]);
        assert!(parse_pmt(&cut).is_err());
    }

    #[test]
    fn sections_across_packets() {
        let pat = section(PAT_TABLE, 1, &[0, 1, 0xf0, 0]);
        let mut s = Sections::default();
        // Continuation before any start: ignored.
        assert!(s.push(&pat, false).is_empty());
        let first = [&[0u8][..], &pat[..5]].concat();
        assert!(s.push(&first, true).is_empty());
        let mut rest = pat[5..].to_vec();
        rest.extend_from_slice(&[0xff; 20]);
        assert_eq!(s.push(&rest, false), vec![pat.clone()]);
        // Two sections in one payload, the pointer skipping a tail.
        let two = [&[2u8, 9, 9][..], &pat, &pat, &[0xff, 0xff]].concat();
        assert_eq!(s.push(&two, true), vec![pat.clone(), pat]);
    }
}
