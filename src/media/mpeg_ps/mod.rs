//! MPEG program streams (`.mpg`, `.mpeg`, `.vob`, `.m2p`): MPEG-1 system
//! streams (ISO/IEC 11172-1 §2.4.3) and MPEG-2 program streams (ISO/IEC
//! 13818-1 §2.5), DVD-Video's VOBs among them.
//!
//! Read: pack headers of both forms (their SCR is the clock that seeking
//! bisects on), system headers, padding and private stream 2 (skipped),
//! the program stream map (its stream types name the coding of the video
//! and audio streams; without one, video is told by its first start code
//! and audio by its sync word), PES packets of both header forms with
//! their PTS/DTS. Streams: MPEG-1/2 video, H.264 and H.265 (`0xE0`–`0xEF`),
//! MPEG audio or AAC (`0xC0`–`0xDF`), and in `private_stream_1` the DVD
//! substreams AC-3/E-AC-3 (`0x80`–`0x87`, from their first access unit
//! pointer) and LPCM (`0xA0`–`0xA7`, see `mpeg_pes::lpcm`). Not read: DTS
//! and subpicture substreams, `0xFD` extended streams (VC-1), which are
//! left out with a note in the debug log.
//!
//! Junk between packets is skipped to the next system start code with one
//! warning; a PES packet cut by the end of the file gives its whole units
//! and drops the one cut. The PES and timing work is shared with the
//! transport stream reader (`mpeg_pes`); this module reads the pack and
//! packet syntax only.

#[cfg(test)]
mod tests;

use std::time::Duration;

use memchr::memmem;

use super::mpeg_pes::elementary::{AudioSyntax, EsKind, VideoCodec};
use super::mpeg_pes::engine::{Engine, Event, PesInfo, SystemLayer};
use super::mpeg_pes::lpcm::{self, LpcmFormat};
use super::mpeg_pes::{stream_id, timestamp, PesError, PesHeader, PES_START_LEN};
use super::{AccessUnit, BytesReader, Demuxer, Evidence, MediaError, ReaderFormat, Result, Track};
use crate::codec::adts::AdtsHeader;

/// The registry entry: MPEG-1 system and MPEG-2 program streams.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "mpeg",
    long_name: "MPEG program stream",
    extensions: &["mpg", "mpeg", "vob", "m2p", "ps"],
    sniff,
    open: |input| Ok(Box::new(ProgramStreamReader::new(input)?)),
};

/// `pack_start_code` and what follows the prefix of a pack header.
const PACK: u8 = 0xba;
/// `system_header_start_code`.
const SYSTEM_HEADER: u8 = 0xbb;
/// `MPEG_program_end_code`.
const END_CODE: u8 = 0xb9;

/// Bytes of an MPEG-1 pack header; an MPEG-2 one has 14 and stuffing.
const MPEG1_PACK_LEN: usize = 12;
const MPEG2_PACK_LEN: usize = 14;

/// How far detection and opening look for the first pack or packet.
const FIRST_PACK_LIMIT: u64 = 64 << 10;

/// A program stream starts with a pack header (or, cut, has one soon):
/// the pack start code and a valid header, and a system start code where
/// its length says the next structure is.
fn sniff(head: &[u8]) -> Option<Evidence> {
    let pack_len = |at: usize| pack_header(&head[at..]).map(|(_, len)| len);
    if let Some(len) = pack_len(0) {
        let next = head.get(len..len + 4)?;
        return (next[..3] == [0, 0, 1] && next[3] >= END_CODE).then_some(Evidence::Signature);
    }
    None
}

/// The SCR base and the length of the pack header at the start of `data`
/// (MPEG-1 or MPEG-2 form, ISO/IEC 11172-1 §2.4.3.2, ISO/IEC 13818-1
/// §2.5.3.3), if one is there whole.
fn pack_header(data: &[u8]) -> Option<(u64, usize)> {
    if data.len() < MPEG1_PACK_LEN || data[..4] != [0, 0, 1, PACK] {
        return None;
    }
    let b = &data[4..];
    if b[0] >> 4 == 0b0010 {
        // '0010' SCR[32..30] marker SCR[29..15] marker SCR[14..0] marker.
        return Some((timestamp(b), MPEG1_PACK_LEN));
    }
    if b[0] >> 6 != 0b01 || data.len() < MPEG2_PACK_LEN {
        return None;
    }
    let base = (u64::from(b[0] >> 3) & 7) << 30
        | (u64::from(b[0]) & 3) << 28
        | u64::from(b[1]) << 20
        | u64::from(b[2] >> 3) << 15
        | (u64::from(b[2]) & 3) << 13
        | u64::from(b[3]) << 5
        | u64::from(b[4] >> 3);
    Some((base, MPEG2_PACK_LEN + usize::from(b[9] & 7)))
}

/// The program stream map's stream types (ISO/IEC 13818-1 §2.5.4), by
/// elementary stream id, from a whole PSM packet; `None` when it is
/// malformed.
fn program_stream_map(packet: &[u8]) -> Option<Vec<(u8, u8)>> {
    let len = 6 + usize::from(u16::from_be_bytes([*packet.get(4)?, *packet.get(5)?]));
    let psm = packet.get(..len)?;
    let info_len = usize::from(u16::from_be_bytes([*psm.get(8)?, *psm.get(9)?]));
    let map_at = 10 + info_len;
    let map_len = usize::from(u16::from_be_bytes([
        *psm.get(map_at)?,
        *psm.get(map_at + 1)?,
    ]));
    let mut at = map_at + 2;
    let end = (at + map_len).min(len.saturating_sub(4));
    let mut types = Vec::new();
    while at + 4 <= end {
        let (stream_type, id) = (psm[at], psm[at + 1]);
        let info = usize::from(u16::from_be_bytes([psm[at + 2], psm[at + 3]]));
        types.push((id, stream_type));
        at += 4 + info;
    }
    Some(types)
}

/// The coding of a video stream of PSM stream type `stream_type`.
fn video_codec(stream_type: u8) -> Option<VideoCodec> {
    match stream_type {
        0x01 | 0x02 => Some(VideoCodec::Mpeg),
        0x1b => Some(VideoCodec::H264),
        0x24 => Some(VideoCodec::Hevc),
        _ => None,
    }
}

/// What the layer is doing between events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sync {
    /// At a start code, or junk to report.
    Normal,
    /// After a restart: skipping to the next pack header quietly.
    ToPack,
}

/// The pack and packet syntax of a program stream.
pub(crate) struct PsLayer {
    input: BytesReader,
    data_start: u64,
    start_codes: memmem::Finder<'static>,
    /// Bytes of the last event to take before reading on.
    advance: usize,
    sync: Sync,
    /// The stream types of the program stream map, once one was read.
    psm: Option<Vec<(u8, u8)>>,
    /// File offset of the last pack header: where reading restarts to
    /// get the packets after it.
    last_pack: u64,
    /// The stream whose PES packet the end of the file cut.
    cut: Option<u16>,
    /// Junk was reported.
    warned_junk: bool,
}

impl PsLayer {
    /// The layer over `input`, positioned at its first pack (or packet).
    fn new(mut input: BytesReader) -> Result<PsLayer> {
        if input.peek(1)?.is_empty() {
            return Err(MediaError::Empty);
        }
        let finder = memmem::Finder::new(&[0u8, 0, 1, PACK]).into_owned();
        let head = input.peek(FIRST_PACK_LIMIT as usize)?;
        let Some(first) = finder.find(head) else {
            return Err(MediaError::invalid(
                0,
                format!(
                    "no MPEG pack header in the first {} KiB",
                    FIRST_PACK_LIMIT >> 10
                ),
            ));
        };
        if first > 0 {
            tracing::warn!("MPEG-PS: skipped {first} bytes before the first pack header");
        }
        input.seek(first as u64)?;
        Ok(PsLayer {
            input,
            data_start: first as u64,
            start_codes: memmem::Finder::new(&[0u8, 0, 1]).into_owned(),
            advance: 0,
            sync: Sync::Normal,
            psm: None,
            last_pack: first as u64,
            cut: None,
            warned_junk: false,
        })
    }

    /// Skips to the next start code (in `ToPack` mode, the next pack
    /// header), reporting junk once; `false` at the end of the file.
    fn resync(&mut self) -> Result<bool> {
        let start = self.input.position();
        loop {
            let buf = self.input.peek(64 << 10)?;
            if buf.len() < 4 {
                let n = buf.len() as u64;
                self.input.skip(n)?;
                self.note_junk(start);
                return Ok(false);
            }
            let mut from = 0;
            let found = loop {
                match self.start_codes.find(&buf[from..]) {
                    Some(i) if from + i + 3 < buf.len() => {
                        let code = buf[from + i + 3];
                        let wanted = match self.sync {
                            Sync::ToPack => code == PACK,
                            Sync::Normal => code >= END_CODE,
                        };
                        if wanted {
                            break Some(from + i);
                        }
                        from += i + 1;
                    }
                    _ => break None,
                }
            };
            match found {
                Some(i) => {
                    self.input.skip(i as u64)?;
                    if self.input.position() > start {
                        self.note_junk(start);
                    }
                    self.sync = Sync::Normal;
                    return Ok(true);
                }
                None => {
                    // Keep three bytes: a start code may be cut there.
                    let n = (buf.len() - 3) as u64;
                    self.input.skip(n)?;
                }
            }
        }
    }

    /// Reports the junk from `start` to here, once per file (not after a
    /// restart, which lands anywhere).
    fn note_junk(&mut self, start: u64) {
        if self.sync == Sync::Normal && !self.warned_junk {
            self.warned_junk = true;
            tracing::warn!(
                "MPEG-PS: skipped {} bytes of junk at byte {start}",
                self.input.position() - start
            );
        }
    }
}

/// The kind of stream `key` (stream id, and substream in its low byte),
/// from the program stream map's stream types `psm` or the data.
fn kind_of(psm: Option<&[(u8, u8)]>, key: u16, data: &[u8]) -> Option<EsKind> {
    let id = (key >> 8) as u8;
    let psm_type = psm.and_then(|psm| psm.iter().find(|(es, _)| *es == id).map(|&(_, t)| t));
    match id {
        id if stream_id::is_video(id) => Some(EsKind::Video(psm_type.and_then(video_codec))),
        id if stream_id::is_audio(id) => Some(EsKind::Audio(match psm_type {
            Some(0x0f) => AudioSyntax::Adts,
            Some(0x11) => AudioSyntax::Latm,
            Some(0x03 | 0x04) => AudioSyntax::MpegAudio,
            _ if looks_like_adts(data) => AudioSyntax::Adts,
            _ => AudioSyntax::MpegAudio,
        })),
        stream_id::PRIVATE_STREAM_1 => match key & 0xff {
            0x80..=0x87 => Some(EsKind::Audio(AudioSyntax::Ac3)),
            0xa0..=0xa7 => Some(EsKind::Lpcm),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the first sync word in `data` starts an ADTS header (layer
/// bits `00`) rather than an MPEG audio one.
fn looks_like_adts(data: &[u8]) -> bool {
    data.windows(2)
        .position(|w| w[0] == 0xff && w[1] & 0xf0 == 0xf0)
        .is_some_and(|i| AdtsHeader::parse(&data[i..]).is_some())
}

/// What private stream 1 carries in one PES payload: the substream and
/// where its data and first access unit are.
struct Substream {
    id: u8,
    /// Bytes of the payload before the substream's data.
    header: usize,
    /// Bytes of the data before the first access unit that starts in it;
    /// `None` when none starts (its timestamps then name nothing).
    first_unit: Option<usize>,
    lpcm: Option<LpcmFormat>,
}

/// The DVD substream header at the start of a private stream 1 payload:
/// substream id, number of frame headers, first access unit pointer
/// (counted from its own last byte), and for LPCM its 3-byte header.
fn substream(payload: &[u8]) -> Option<Substream> {
    let id = *payload.first()?;
    let pointer = |data_at: usize| -> Option<Option<usize>> {
        let p = usize::from(u16::from_be_bytes([*payload.get(2)?, *payload.get(3)?]));
        Some((p > 0).then(|| (3 + p).saturating_sub(data_at)))
    };
    match id {
        0x80..=0x87 => Some(Substream {
            id,
            header: 4,
            first_unit: pointer(4)?,
            lpcm: None,
        }),
        0xa0..=0xa7 => {
            let header = 4 + lpcm::HEADER_LEN;
            Some(Substream {
                id,
                header,
                first_unit: pointer(header)?,
                lpcm: Some(LpcmFormat::parse(payload.get(4..header)?)?),
            })
        }
        _ => Some(Substream {
            id,
            header: 1,
            first_unit: None,
            lpcm: None,
        }),
    }
}

impl SystemLayer for PsLayer {
    fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        let (key, kind, pes, from, len, whole) = loop {
            let advance = std::mem::take(&mut self.advance) as u64;
            self.input.skip(advance)?;
            if let Some(key) = self.cut.take() {
                return Ok(Some(Event::Cut { key }));
            }
            let position = self.input.position();
            let head: [u8; 4] = match self.input.peek(4)?.get(..4) {
                Some(head) => head.try_into().unwrap_or_default(),
                None => {
                    if self.input.buffered().is_empty() || !self.resync()? {
                        return Ok(None);
                    }
                    continue;
                }
            };
            if self.sync == Sync::ToPack && head == [0, 0, 1, PACK] {
                self.sync = Sync::Normal;
            }
            if head[..3] != [0, 0, 1] || head[3] < END_CODE || self.sync == Sync::ToPack {
                if !self.resync()? {
                    return Ok(None);
                }
                continue;
            }
            let code = head[3];
            if code == END_CODE {
                self.input.skip(4)?;
                continue;
            }
            if code == PACK {
                let Some((scr, len)) = pack_header(self.input.peek(MPEG2_PACK_LEN + 7)?) else {
                    // A pack header cut short, or broken: look further.
                    self.input.skip(4)?;
                    continue;
                };
                self.last_pack = position;
                self.advance = len;
                return Ok(Some(Event::Clock {
                    offset: position,
                    raw: scr,
                    discontinuity: false,
                }));
            }
            let buf = self.input.peek(PES_START_LEN)?;
            if buf.len() < PES_START_LEN {
                return Ok(None);
            }
            let total = PES_START_LEN + usize::from(u16::from_be_bytes([buf[4], buf[5]]));
            let packet = self.input.peek(total)?;
            let whole = packet.len() >= total;
            let packet = &packet[..packet.len().min(total)];
            let packet_len = packet.len();
            if code == stream_id::PROGRAM_STREAM_MAP && whole {
                if let Some(map) = program_stream_map(packet) {
                    self.psm = Some(map);
                }
                self.advance = packet_len;
                continue;
            }
            if code == SYSTEM_HEADER || stream_id::has_no_header(code) || code == 0xfd {
                self.advance = packet_len;
                if !whole {
                    return Ok(None);
                }
                continue;
            }
            let header = match PesHeader::parse(packet) {
                Ok(header) => header,
                Err(PesError::Short(_)) if !whole => {
                    self.advance = packet_len;
                    continue;
                }
                Err(_) => {
                    // Not a packet after all: look for the next one.
                    self.input.skip(4)?;
                    continue;
                }
            };
            let mut from = header.header_len.min(packet_len);
            let mut key = u16::from(code) << 8;
            let mut first_unit = 0;
            let mut lpcm = None;
            let mut stamped = header.pts.is_some();
            if code == stream_id::PRIVATE_STREAM_1 {
                let Some(sub) = substream(&packet[from..]) else {
                    self.advance = packet_len;
                    continue;
                };
                key |= u16::from(sub.id);
                first_unit = sub.first_unit.unwrap_or(0);
                stamped &= sub.first_unit.is_some();
                lpcm = sub.lpcm;
                from = (from + sub.header).min(packet_len);
            }
            self.advance = packet_len;
            let Some(kind) = kind_of(
                self.psm.as_deref(),
                key,
                &self.input.buffered()[from..packet_len],
            ) else {
                continue;
            };
            if !whole {
                self.cut = Some(key);
            }
            let pes = PesInfo {
                offset: self.last_pack,
                pts: header.pts.filter(|_| stamped),
                dts: header.dts.filter(|_| stamped),
                first_unit,
                lpcm,
            };
            break (key, kind, pes, from, packet_len - from, whole);
        };
        Ok(Some(Event::Payload {
            key,
            kind: Some(kind),
            pes: Some(pes),
            data: &self.input.buffered()[from..from + len],
            ends: whole,
        }))
    }

    fn restart(&mut self, offset: u64) -> Result<()> {
        self.input.seek(offset.max(self.data_start))?;
        self.advance = 0;
        self.cut = None;
        self.sync = if offset <= self.data_start {
            Sync::Normal
        } else {
            Sync::ToPack
        };
        self.last_pack = offset.max(self.data_start);
        Ok(())
    }

    fn clock_after(&mut self, offset: u64, limit: u64) -> Result<Option<(u64, u64)>> {
        self.input.seek(offset)?;
        let finder = memmem::Finder::new(&[0u8, 0, 1, PACK]);
        while self.input.position() < offset + limit {
            let buf = self.input.peek(64 << 10)?;
            if buf.len() < MPEG1_PACK_LEN {
                return Ok(None);
            }
            match finder.find(buf) {
                Some(i) => {
                    let at = self.input.position() + i as u64;
                    let buf = self.input.peek(i + MPEG2_PACK_LEN)?;
                    if let Some((scr, _)) = pack_header(&buf[i..]) {
                        return Ok(Some((at, scr)));
                    }
                    self.input.skip(i as u64 + 1)?;
                }
                None => {
                    let n = (buf.len() - 3) as u64;
                    self.input.skip(n)?;
                }
            }
        }
        Ok(None)
    }

    fn data_start(&self) -> u64 {
        self.data_start
    }

    fn size(&self) -> u64 {
        self.input.size()
    }

    fn position(&self) -> u64 {
        self.input.position()
    }

    fn declares_streams(&self) -> bool {
        false
    }

    fn stream_name(key: u16) -> String {
        match (key >> 8) as u8 {
            stream_id::PRIVATE_STREAM_1 => format!("MPEG-PS substream 0x{:02x}", key & 0xff),
            id => format!("MPEG-PS stream 0x{id:02x}"),
        }
    }
}

/// Reads an MPEG program stream.
pub struct ProgramStreamReader {
    engine: Engine<PsLayer>,
}

impl ProgramStreamReader {
    /// Opens a program stream: finds its first pack, scans its streams.
    pub fn new(input: BytesReader) -> Result<ProgramStreamReader> {
        let layer = PsLayer::new(input)?;
        Ok(ProgramStreamReader {
            engine: Engine::open(layer, "MPEG program stream")?,
        })
    }
}

impl Demuxer for ProgramStreamReader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        self.engine.tracks()
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        self.engine.read_unit()
    }

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        self.engine.seek(time)
    }
}
