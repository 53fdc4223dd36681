//! MPEG-2 transport streams (`.ts`, `.m2ts`, `.mts`, `.trp`): ISO/IEC
//! 13818-1 §2.4, in 188-byte packets or Blu-ray/AVCHD 192-byte ones.
//!
//! Read: packet headers and adaptation fields (PCR, the clock seeking
//! bisects on; `discontinuity_indicator`, which starts a new time base
//! and exempts the packet from the continuity check), the PAT and the PMT
//! of the first program it lists (sections across packets, CRC checked:
//! a section that fails it is ignored with a warning), PES packets
//! reassembled per PID (a header split across packets included) with
//! their PTS/DTS. Streams: MPEG-1/2 video, H.264, H.265, MPEG audio, AAC in
//! ADTS and in LATM, AC-3 and E-AC-3 (ATSC stream types and DVB
//! descriptors). Other programs, and streams of other types (subtitles,
//! SCTE-35, teletext), are left out, named in the debug log.
//!
//! Damage is survived, not fatal: a lost sync byte is searched again
//! (4 packets in a row) with one warning; a continuity counter gap (lost
//! packets) is a warning, not the end (the PES packet it hits is served
//! as it is, audio resynchronising on its next frame); a repeated packet
//! is dropped; packets flagged with `transport_error_indicator` or
//! scrambled are skipped; the last packet cut by the end of the file is
//! dropped, and with it the unit it held part of.
//!
//! Written by hand rather than with `mpeg2ts 0.6` (checked in
//! dependencies.md), which falls short on every point that matters here:
//! it reads 188-byte packets only (no M2TS); it stops with an error at the
//! first packet of a PID it has not seen in a PMT, at a continuation
//! without its PES start, at a PES whose length does not match (all of
//! which a lost packet causes), and has no resynchronisation after junk;
//! it does not check continuity counters; and it copies every packet's
//! payload into owned buffers through byte-at-a-time `Read` chains, which
//! keeps it far from 1 GB/s. This reader slices packets out of the
//! [`BytesReader`] buffer and copies each payload byte once, into its
//! elementary stream's buffer.
//!
//! A `.ts` file can also be served whole, as one RFC 2250 MP2T stream
//! ([`mp2t`]): [`READ_AS_MP2T`] is that reading.

pub(crate) mod mp2t;
mod packet;
mod psi;
#[cfg(test)]
mod tests;

use std::time::Duration;

use bytes::Bytes;

use self::packet::{Framing, PacketHeader, NULL_PID, TS_PACKET};
use self::psi::{es_kind, parse_pat, parse_pmt, SectionError, Sections};
use super::mpeg_pes::elementary::EsKind;
use super::mpeg_pes::engine::{Engine, Event, PesInfo, SystemLayer};
use super::mpeg_pes::{PesError, PesHeader};
use super::{AccessUnit, BytesReader, Demuxer, Evidence, MediaError, ReaderFormat, Result, Track};

pub use self::mp2t::READ_AS_MP2T;

/// The registry entry: MPEG transport streams, their elementary streams
/// as tracks.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "mpegts",
    long_name: "MPEG transport stream",
    extensions: &["ts", "m2ts", "mts", "trp"],
    sniff,
    open: |input| Ok(Box::new(TransportStreamReader::new(input)?)),
};

/// How far opening looks for the first packet.
const FIRST_PACKET_LIMIT: usize = 64 << 10;

/// A transport stream starts with a run of packets, 188 or 192 bytes
/// apart.
fn sniff(head: &[u8]) -> Option<Evidence> {
    [Framing::TS, Framing::M2TS]
        .into_iter()
        .any(|f| f.synced_at(head, 0) && head.len() >= 4 * f.len)
        .then_some(Evidence::Signature)
}

/// A PES packet being reassembled on a PID.
#[derive(Clone, Debug, Default)]
struct PesProgress {
    /// File offset of the packet where it started.
    offset: u64,
    /// Header bytes gathered while the header spans packets.
    header: Vec<u8>,
    /// The header was read: payload follows.
    started: bool,
    /// Payload bytes the header's length leaves to come (`None`:
    /// unbounded).
    remaining: Option<usize>,
}

/// What is known of one PID of the program.
#[derive(Clone, Debug)]
struct Pid {
    pid: u16,
    /// An elementary stream of the program (else a PSI PID).
    stream: bool,
    /// The last continuity counter seen.
    counter: Option<u8>,
    /// The PES packet in progress.
    pes: Option<PesProgress>,
}

/// Warnings given once per reader.
#[derive(Clone, Copy, Debug, Default)]
struct Warned {
    sync: bool,
    continuity: bool,
    short_pes: bool,
    error_flag: bool,
    scrambled: bool,
    section: bool,
    bad_pes: bool,
}

/// A packet at the front of the buffer whose payload is still to be
/// handled (its PCR was reported first).
#[derive(Clone, Copy, Debug)]
struct Staged {
    header: PacketHeader,
    offset: u64,
}

/// The packet syntax of a transport stream.
pub(crate) struct TsLayer {
    input: BytesReader,
    framing: Framing,
    data_start: u64,
    /// Bytes to take before reading on.
    advance: usize,
    staged: Option<Staged>,
    pids: Vec<Pid>,
    pat: Sections,
    pmt: Sections,
    /// The program read: its number and PMT PID.
    program: Option<(u16, u16)>,
    pcr_pid: Option<u16>,
    /// The program's streams, once its PMT was read.
    streams: Option<Vec<(u16, EsKind)>>,
    /// The streams were reported.
    declared: bool,
    /// Streams whose PES packet the end of the file cut, to report.
    cuts: Vec<u16>,
    /// The end of the file was reached.
    at_end: bool,
    /// The last PAT and PMT packets whose sections were whole and valid
    /// (188 bytes each), for a reading that starts elsewhere.
    psi_packets: [Option<Bytes>; 2],
    warned: Warned,
}

impl TsLayer {
    /// The layer over `input`, at its first packet.
    fn new(mut input: BytesReader) -> Result<TsLayer> {
        if input.peek(1)?.is_empty() {
            return Err(MediaError::Empty);
        }
        let head = input.peek(FIRST_PACKET_LIMIT)?;
        let Some((framing, first)) = Framing::detect(head) else {
            return Err(MediaError::invalid(
                0,
                "no run of 188- or 192-byte transport stream packets",
            ));
        };
        if first > 0 {
            tracing::warn!("MPEG-TS: skipped {first} bytes before the first packet");
        }
        input.seek(first as u64)?;
        Ok(TsLayer {
            input,
            framing,
            data_start: first as u64,
            advance: 0,
            staged: None,
            pids: Vec::new(),
            pat: Sections::default(),
            pmt: Sections::default(),
            program: None,
            pcr_pid: None,
            streams: None,
            declared: false,
            cuts: Vec::new(),
            at_end: false,
            psi_packets: [None, None],
            warned: Warned::default(),
        })
    }

    /// The framing of the file's packets.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// The PID carrying the program's PCR, once its PMT was read.
    pub fn pcr_pid(&self) -> Option<u16> {
        self.pcr_pid
    }

    /// The PMT PID of the program read.
    pub fn pmt_pid(&self) -> Option<u16> {
        self.program.map(|(_, pid)| pid)
    }

    /// The last whole PAT and PMT packets seen.
    pub fn psi_packets(&self) -> impl Iterator<Item = &Bytes> {
        self.psi_packets.iter().flatten()
    }

    /// The input.
    pub fn input_mut(&mut self) -> &mut BytesReader {
        &mut self.input
    }

    /// Makes sure the next packet is buffered whole with its sync byte in
    /// place, searching it again after junk (a run of packets confirming
    /// it); returns its file offset, `None` at the end of the data (a
    /// packet cut short there is not one).
    pub fn next_packet(&mut self) -> Result<Option<u64>> {
        let f = self.framing;
        loop {
            let buf = self.input.peek(f.len)?;
            if buf.len() < f.len {
                return Ok(None);
            }
            if buf[f.prefix] == packet::SYNC_BYTE {
                return Ok(Some(self.input.position()));
            }
            // Lost sync: find a run of packets again.
            let start = self.input.position();
            let window = self.input.peek(64 << 10)?;
            let found = (1..window.len()).find(|&at| f.synced_at(window, at));
            let skip = found.unwrap_or(window.len().saturating_sub(f.len * 4).max(1));
            self.input.skip(skip as u64)?;
            if !self.warned.sync {
                self.warned.sync = true;
                tracing::warn!("MPEG-TS: lost packet sync at byte {start}: skipped {skip} bytes");
            }
        }
    }

    /// Checks the continuity counter of a packet with a payload on a PID of
    /// the program: `false` for a repeated packet, to drop (§2.4.3.3 allows
    /// one repetition).
    fn continuity(&mut self, header: &PacketHeader, offset: u64) -> bool {
        let Some(pid) = self.pids.iter_mut().find(|p| p.pid == header.pid) else {
            return true;
        };
        let last = pid.counter.replace(header.counter);
        let Some(last) = last else {
            return true;
        };
        if header.discontinuity {
            return true;
        }
        if header.counter == last {
            return false;
        }
        if header.counter != (last + 1) & 0x0f {
            if !self.warned.continuity {
                self.warned.continuity = true;
                tracing::warn!(
                    "MPEG-TS: continuity counter jumps from {last} to {} on PID 0x{:x} at byte \
                     {offset}: packets lost (further gaps not reported)",
                    header.counter,
                    header.pid
                );
            } else {
                tracing::debug!(
                    "MPEG-TS: continuity gap on PID 0x{:x} at byte {offset}",
                    header.pid
                );
            }
        }
        true
    }

    /// Handles the PSI sections of the packet at the front (PID 0 or the
    /// program's PMT PID); returns the program's streams when its PMT is
    /// read for the first time.
    fn sections(
        &mut self,
        header: &PacketHeader,
        payload: (usize, usize),
    ) -> Option<Vec<(u16, EsKind)>> {
        let f = self.framing;
        let packet = &self.input.buffered()[f.prefix..f.prefix + TS_PACKET];
        let data = &packet[payload.0..payload.1];
        let is_pat = header.pid == 0;
        let sections = if is_pat {
            self.pat.push(data, header.unit_start)
        } else {
            self.pmt.push(data, header.unit_start)
        };
        let packet = Bytes::copy_from_slice(packet);
        let mut declared = None;
        for section in sections {
            let result = if is_pat {
                parse_pat(&section).map(|programs| {
                    if self.program.is_none() {
                        if let Some(&(number, pid)) = programs.first() {
                            if programs.len() > 1 {
                                tracing::info!(
                                    "MPEG-TS: {} programs; reading the first, number {number}",
                                    programs.len()
                                );
                            }
                            self.program = Some((number, pid));
                            self.pids.push(Pid {
                                pid,
                                stream: false,
                                counter: None,
                                pes: None,
                            });
                        }
                    }
                    self.psi_packets[0] = Some(packet.clone());
                })
            } else {
                parse_pmt(&section).map(|pmt| {
                    if self.program.map(|(n, _)| n) != Some(pmt.program) {
                        return;
                    }
                    self.psi_packets[1] = Some(packet.clone());
                    if self.streams.is_some() {
                        return;
                    }
                    let mut streams = Vec::new();
                    for stream in &pmt.streams {
                        match es_kind(stream) {
                            Some(kind) if !streams.iter().any(|&(p, _)| p == stream.pid) => {
                                streams.push((stream.pid, kind));
                                self.pids.push(Pid {
                                    pid: stream.pid,
                                    stream: true,
                                    counter: None,
                                    pes: None,
                                });
                            }
                            _ => tracing::debug!(
                                "MPEG-TS: stream type 0x{:02x} on PID 0x{:x} is not read",
                                stream.stream_type,
                                stream.pid
                            ),
                        }
                    }
                    self.pcr_pid = Some(pmt.pcr_pid).filter(|&p| p != NULL_PID);
                    self.streams = Some(streams.clone());
                    declared = Some(streams);
                })
            };
            match result {
                Ok(()) => {}
                Err(SectionError::NotCurrent) => {}
                Err(e) => {
                    if !self.warned.section {
                        self.warned.section = true;
                        tracing::warn!(
                            "MPEG-TS: {} section on PID 0x{:x} ignored: {}",
                            if is_pat { "PAT" } else { "PMT" },
                            header.pid,
                            match e {
                                SectionError::Crc => "CRC_32 mismatch",
                                SectionError::Syntax(why) => why,
                                SectionError::NotCurrent => "not current",
                            }
                        );
                    }
                }
            }
        }
        declared
    }
}

/// What the payload of a stream packet gives.
struct Piece {
    pes: Option<PesInfo>,
    /// The payload bytes to pass on, in the packet.
    range: (usize, usize),
    ends: bool,
}

impl TsLayer {
    /// The PES reassembly of a stream packet's payload (`payload` its
    /// range in the 188-byte packet at the front); `None` when it gives
    /// nothing to pass on.
    fn pes_piece(
        &mut self,
        header: &PacketHeader,
        offset: u64,
        payload: (usize, usize),
    ) -> Option<Piece> {
        let f = self.framing;
        let packet_start = f.prefix;
        let mut warn_short = false;
        let mut warn_bad = false;
        let piece = {
            let buffered = &self.input.buffered()[packet_start..packet_start + TS_PACKET];
            let pid = self.pids.iter_mut().find(|p| p.pid == header.pid)?;
            if header.unit_start {
                if let Some(PesProgress {
                    remaining: Some(r),
                    started: true,
                    ..
                }) = &pid.pes
                {
                    warn_short |= *r > 0;
                }
                pid.pes = Some(PesProgress {
                    offset,
                    ..PesProgress::default()
                });
            }
            let progress = pid.pes.as_mut()?;
            let mut range = payload;
            let mut pes = None;
            if !progress.started {
                // Gather the header (usually whole in this one packet).
                let from = progress.header.len();
                let parsed = if from == 0 {
                    PesHeader::parse(&buffered[range.0..range.1])
                } else {
                    progress
                        .header
                        .extend_from_slice(&buffered[range.0..range.1]);
                    PesHeader::parse(&progress.header)
                };
                match parsed {
                    Ok(h) => {
                        progress.started = true;
                        progress.remaining = h.payload_len();
                        range.0 += h.header_len - from;
                        progress.header = Vec::new();
                        pes = Some(PesInfo {
                            offset: progress.offset,
                            pts: h.pts,
                            dts: h.dts,
                            first_unit: 0,
                            lpcm: None,
                        });
                    }
                    Err(PesError::Short(_)) if progress.header.len() < 512 => {
                        if from == 0 {
                            progress
                                .header
                                .extend_from_slice(&buffered[range.0..range.1]);
                        }
                        return None;
                    }
                    Err(_) => {
                        warn_bad = true;
                        pid.pes = None;
                        range = (0, 0);
                    }
                }
            }
            let mut ends = false;
            if let Some(progress) = pid.pes.as_mut() {
                if let Some(remaining) = &mut progress.remaining {
                    let len = (range.1 - range.0).min(*remaining);
                    range.1 = range.0 + len;
                    *remaining -= len;
                    ends = *remaining == 0;
                }
            }
            Piece { pes, range, ends }
        };
        if warn_short && !self.warned.short_pes {
            self.warned.short_pes = true;
            tracing::warn!(
                "MPEG-TS: PES packet on PID 0x{:x} ends before its PES_packet_length, at byte \
                 {offset} (packets lost)",
                header.pid
            );
        }
        if warn_bad && !self.warned.bad_pes {
            self.warned.bad_pes = true;
            tracing::warn!(
                "MPEG-TS: malformed PES header on PID 0x{:x} at byte {offset}: skipped to the \
                 next PES packet",
                header.pid
            );
        }
        Some(piece)
    }

    /// At the end of the data: the streams whose PES packet is cut (its
    /// length not reached, or its last packet cut short).
    fn end_of_data(&mut self) {
        self.at_end = true;
        let f = self.framing;
        let rest = self.input.buffered();
        // A last packet cut short: the PID it was for lost its end.
        let cut_pid = (rest.len() >= f.prefix + 3 && rest[f.prefix] == packet::SYNC_BYTE)
            .then(|| u16::from_be_bytes([rest[f.prefix + 1] & 0x1f, rest[f.prefix + 2]]));
        for pid in &self.pids {
            let Some(pes) = &pid.pes else {
                continue;
            };
            let unfinished = pes.remaining.is_some_and(|r| r > 0) || !pes.started;
            if pid.stream && (unfinished || cut_pid == Some(pid.pid)) {
                self.cuts.push(pid.pid);
            }
        }
    }
}

impl SystemLayer for TsLayer {
    fn next_event(&mut self) -> Result<Option<Event<'_>>> {
        let f = self.framing;
        let (key, piece) = loop {
            let advance = std::mem::take(&mut self.advance) as u64;
            self.input.skip(advance)?;
            if let Some(key) = self.cuts.pop() {
                return Ok(Some(Event::Cut { key }));
            }
            if self.at_end {
                return Ok(None);
            }
            let (header, offset) = match self.staged.take() {
                Some(staged) => (staged.header, staged.offset),
                None => {
                    let Some(offset) = self.next_packet()? else {
                        self.end_of_data();
                        continue;
                    };
                    let buf = self.input.buffered();
                    let header = match PacketHeader::parse(&buf[f.prefix..f.prefix + TS_PACKET]) {
                        Ok(header) => header,
                        Err(_) => {
                            self.advance = f.len;
                            continue;
                        }
                    };
                    if header.pcr.is_some() && Some(header.pid) == self.pcr_pid {
                        self.staged = Some(Staged { header, offset });
                        let (base, _) = header.pcr.unwrap_or_default();
                        return Ok(Some(Event::Clock {
                            offset,
                            raw: base,
                            discontinuity: header.discontinuity,
                        }));
                    }
                    (header, offset)
                }
            };
            self.advance = f.len;
            if header.pid == NULL_PID {
                continue;
            }
            if header.error {
                if !self.warned.error_flag {
                    self.warned.error_flag = true;
                    tracing::warn!(
                        "MPEG-TS: packet at byte {offset} flagged damaged \
                         (transport_error_indicator): skipped"
                    );
                }
                continue;
            }
            let Some(start) = header.payload else {
                continue;
            };
            if !self.continuity(&header, offset) {
                continue;
            }
            if header.scrambled {
                if !self.warned.scrambled {
                    self.warned.scrambled = true;
                    tracing::warn!(
                        "MPEG-TS: scrambled packets (PID 0x{:x}) skipped",
                        header.pid
                    );
                }
                continue;
            }
            let payload = (start, TS_PACKET);
            if header.pid == 0 || Some(header.pid) == self.pmt_pid() {
                if let Some(streams) = self.sections(&header, payload) {
                    if !self.declared {
                        self.declared = true;
                        return Ok(Some(Event::Streams(streams)));
                    }
                }
                continue;
            }
            if !self.pids.iter().any(|p| p.pid == header.pid && p.stream) {
                continue;
            }
            if let Some(piece) = self.pes_piece(&header, offset, payload) {
                if piece.pes.is_some() || piece.range.1 > piece.range.0 {
                    break (header.pid, piece);
                }
            }
        };
        let base = f.prefix;
        Ok(Some(Event::Payload {
            key,
            kind: None,
            pes: piece.pes,
            data: &self.input.buffered()[base + piece.range.0..base + piece.range.1],
            ends: piece.ends,
        }))
    }

    fn restart(&mut self, offset: u64) -> Result<()> {
        let f = self.framing.len as u64;
        let aligned = if offset <= self.data_start {
            self.data_start
        } else {
            self.data_start + (offset - self.data_start) / f * f
        };
        self.input.seek(aligned.min(self.input.size()))?;
        self.advance = 0;
        self.staged = None;
        self.cuts.clear();
        self.at_end = false;
        for pid in &mut self.pids {
            pid.counter = None;
            pid.pes = None;
        }
        self.pat.reset();
        self.pmt.reset();
        Ok(())
    }

    fn clock_after(&mut self, offset: u64, limit: u64) -> Result<Option<(u64, u64)>> {
        let Some(pcr_pid) = self.pcr_pid else {
            return Ok(None);
        };
        self.restart(offset)?;
        let f = self.framing;
        let end = offset.saturating_add(limit);
        while let Some(at) = self.next_packet()? {
            if at > end {
                break;
            }
            let buf = self.input.buffered();
            if let Ok(PacketHeader {
                pid,
                pcr: Some((base, _)),
                ..
            }) = PacketHeader::parse(&buf[f.prefix..f.prefix + TS_PACKET])
            {
                if pid == pcr_pid {
                    return Ok(Some((at, base)));
                }
            }
            self.input.skip(f.len as u64)?;
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
        true
    }

    fn missing(&self) -> Option<String> {
        match (self.program, &self.streams) {
            (None, _) => Some("no program association table (PAT) with a valid CRC_32".into()),
            (Some((number, pid)), None) => Some(format!(
                "no program map table (PMT) with a valid CRC_32 for program {number} on PID \
                 0x{pid:x}"
            )),
            (Some(_), Some(streams)) if streams.is_empty() => {
                Some("the program has no stream of a type this reader reads".into())
            }
            _ => None,
        }
    }

    fn stream_name(key: u16) -> String {
        format!("MPEG-TS PID 0x{key:x}")
    }
}

/// Reads an MPEG transport stream's first program, one track per
/// elementary stream.
pub struct TransportStreamReader {
    engine: Engine<TsLayer>,
}

impl TransportStreamReader {
    /// Opens a transport stream: finds its packets, its first program's
    /// streams.
    pub fn new(input: BytesReader) -> Result<TransportStreamReader> {
        let layer = TsLayer::new(input)?;
        Ok(TransportStreamReader {
            engine: Engine::open(layer, "MPEG transport stream")?,
        })
    }

    /// The engine, for the MP2T reading.
    fn into_engine(self) -> Engine<TsLayer> {
        self.engine
    }
}

impl Demuxer for TransportStreamReader {
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
