//! Ogg files (`.ogg`, `.oga`, `.ogv`, `.opus`, `.spx`): RFC 3533 pages and
//! packets, with the codec mappings of Vorbis, Theora, Opus (RFC 7845),
//! Speex and FLAC ([`mapping`]).
//!
//! **What is read.** Every logical stream of a known codec is a track, in
//! the order of their first pages; an Ogg Skeleton stream is metadata and
//! no track, a stream of another codec is left out with a warning. Units
//! are whole packets, joined across pages (a packet within one page is a
//! slice of the read buffer, not a copy). Vorbis and Theora tracks carry
//! their three headers in Matroska's Xiph-laced form in
//! [`CodecConfig::extradata`](super::CodecConfig::extradata), Opus tracks
//! the `OpusHead` packet, as the RTP payload formats take them. Speex and
//! FLAC are described (rate, channels, exact frames and duration) but no
//! RTP payload format carries them: `probe` warns that they are left out of
//! the SDP and `serve` answers 415 for a file of nothing else.
//!
//! **Timing.** A page's granule position is the position (samples, Theora
//! frames) where the last packet completed on it ends; each packet's
//! duration comes from the codec ([`mapping`]). Packets are timed forward
//! from the previous page's position while the two agree, and backward
//! from the page's granule position where they do not (the first page, a
//! lost page, after a seek). Rules per codec, checked against ffprobe:
//! - Vorbis: the first packet of a stream completes no sample (Vorbis I
//!   §1.3.2): it is a unit of duration 0 at the time of the next. It is
//!   a frame all the same (it is sent), one more than ffprobe's decoded
//!   frames, as FFmpeg's decoder outputs none for it (FFmpeg's demuxer
//!   gives it a PTS of −blocksize/2 and a duration of blocksize/2, so its
//!   packets span half a short block more than the decoded audio; ours
//!   span exactly the decoded audio, ffprobe's `duration_ts`).
//! - Opus: times are PCM sample positions, the granule position less the
//!   pre-skip (RFC 7845 §4.2): the first packet starts at −pre-skip, so
//!   the decoded output, whose first pre-skip samples a decoder drops,
//!   starts at 0, exactly as ffprobe's packets.
//! - Vorbis, Opus: when the last page's granule position ends the stream
//!   before its last packet does (RFC 7845 §4.5, Vorbis I §A.2), the last
//!   packet's duration is cut to it, as FFmpeg's is.
//! - Theora: 90 kHz, frame `n` at `n × 90000 / fps`; key frames are the
//!   intra frames (§7.1), which the granule position's `KFGSHIFT` split
//!   counts (§A.2.3).
//!
//! Presentation starts at 0 on the first stream whose position is known
//! (a stream cut from a live one starts at a later granule position).
//!
//! **Chained streams.** A page starting a stream (BOS) after the first
//! chain's data starts a new chain (RFC 3533 §4, "sequential
//! multiplexing"): new headers, then the timeline continues where the
//! previous chain ended. Each new stream continues the track of the same
//! codec whose SDP it shares: Vorbis and Theora with the same
//! identification and setup headers (the SDP's `configuration` carries
//! them; a different comment header is fine), Opus with as many channels,
//! Speex and FLAC with the same rate and channels. A chain that does not
//! fit (other sample rate, other encoder settings, a codec the first chain
//! lacks) cannot be announced by the SDP already sent: the file is read up
//! to that chain, with a warning, and ends there.
//!
//! **Damage.** Pages are CRC-checked (RFC 3533 §6); a page that fails, or
//! bytes that are not a page, are skipped with a warning and reading
//! resumes at the next `OggS` (see [`page`]). A page lost in a stream (a
//! gap in its page sequence numbers) drops the packet it cut. A last page
//! cut short is dropped with a warning; only a file with no whole packet
//! after its headers is an error.
//!
//! **Seeking** bisects on granule positions in the byte range of the data
//! ([`seek`]); in a chained file, where granule positions restart at each
//! chain, it reads forward from the start instead.
//!
//! **Why not the `ogg` crate.** `ogg` 0.9 (a dev-dependency, used by the
//! tests) reads pages and packets, but: a bad CRC is an error that leaves
//! its packet assembly inconsistent for the next page (no skip and resync);
//! every packet is copied into a fresh `Vec` (twice for a page's body);
//! its granule seek assumes one chain with distinct page sequence numbers
//! and does not find Theora key frames; and it reads through `std::io`
//! rather than the zero-copy [`BytesReader`]. The page format is small
//! (RFC 3533 §6), so it is read here.

mod mapping;
mod page;
mod seek;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use self::mapping::{identify, Identified, Mapping};
use self::page::{Page, PageReader};
use super::sniff::at;
use super::{AccessUnit, BytesReader, Demuxer, Evidence, MediaError, ReaderFormat, Result, Track};

/// The registry entry: Ogg, known by its capture pattern.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "ogg",
    long_name: "Ogg",
    extensions: &["ogg", "oga", "ogv", "opus", "spx"],
    sniff: |head| at(head, 0, b"OggS").then_some(Evidence::Signature),
    open: |input| Ok(Box::new(OggReader::new(input)?)),
};

/// The largest packet joined from pieces on several pages: more than a
/// Theora intra frame of a 4096x2304 4:4:4 picture stored raw. A larger
/// one is dropped with a warning (it is bounded by the file's size anyway,
/// but one reader per playing session must stay small).
const MAX_PACKET: usize = 32 << 20;

/// Nanoseconds per second, for chain offsets.
const NS: i128 = 1_000_000_000;

/// A data packet whose time is not known yet: its page gave no position.
#[derive(Debug)]
struct Pending {
    data: Bytes,
    /// In positions (samples, Theora frames).
    duration: u64,
    keyframe: bool,
}

/// A logical stream of the current chain.
struct Logical {
    serial: u32,
    /// `None`: a stream not read (Skeleton, unknown codec, broken headers).
    mapping: Option<Mapping>,
    /// The track its units belong to, once its headers are read.
    track: Option<usize>,
    /// Header packets still to come (`None`: until the first frame, FLAC).
    headers_left: Option<usize>,
    headers: Vec<Bytes>,
    /// Pieces of a packet that continues on the stream's next page.
    partial: Option<Vec<Bytes>>,
    /// The page sequence number expected next; `None` after a seek.
    next_sequence: Option<u32>,
    pending: Vec<Pending>,
    /// The position where the last timed packet ends; `None` when not
    /// known (before the first page with a position, after a seek or a
    /// lost page).
    end: Option<i64>,
    /// Whether the stream has been placed on the timeline in this chain.
    anchored: bool,
    /// What the chain's place on the timeline adds to its times, in the
    /// track's clock.
    offset: i64,
}

impl Logical {
    fn new(serial: u32, mapping: Option<Mapping>, headers_left: Option<usize>) -> Logical {
        Logical {
            serial,
            mapping,
            track: None,
            headers_left,
            headers: Vec::new(),
            partial: None,
            next_sequence: None,
            pending: Vec::new(),
            end: None,
            anchored: false,
            offset: 0,
        }
    }

    /// Whether its header packets are all read (or it is not read at all).
    fn headers_done(&self) -> bool {
        self.mapping.is_none() || self.headers_left == Some(0)
    }

    /// Forgets what was read of the stream before a jump in the file.
    fn discontinuity(&mut self) {
        self.partial = None;
        self.pending.clear();
        self.end = None;
        if let Some(mapping) = &mut self.mapping {
            mapping.discontinuity();
        }
    }
}

/// One chain: streams that play together (RFC 3533 §4).
struct Chain {
    streams: Vec<Logical>,
    /// A page other than a BOS page was seen: a BOS page now starts a new
    /// chain.
    past_bos: bool,
    /// Where on the timeline the chain starts, in nanoseconds: the end of
    /// the chain before.
    origin_ns: i128,
    /// What the chain adds to its streams' times, in nanoseconds, once its
    /// first stream is placed.
    offset_ns: Option<i128>,
}

impl Chain {
    fn new(origin_ns: i128) -> Chain {
        Chain {
            streams: Vec::new(),
            past_bos: false,
            origin_ns,
            offset_ns: None,
        }
    }
}

/// Kinds of reader-level warnings, each logged once.
#[derive(Clone, Copy, Debug)]
enum Warning {
    UnknownSerial,
    BadPacket,
    LostPacket,
    HugePacket,
}

/// Where a seek wants each track's units to start.
#[derive(Clone, Copy, Debug)]
struct SeekTarget {
    /// Units that end at or before this time (in the track's clock) are
    /// dropped.
    from: i64,
    /// The last unit dropped, for a Vorbis track: sent again before the
    /// first one kept, with no duration, so that a decoder starting there
    /// has the window overlap it needs (Vorbis I §1.3.2).
    primes: bool,
}

/// Reads an Ogg file packet by packet.
pub struct OggReader {
    pages: PageReader,
    tracks: Vec<Track>,
    /// Per track: what a later chain's stream must share to continue it.
    keys: Vec<Bytes>,
    /// Per track: the end of its latest unit, in its clock.
    track_end: Vec<Option<i64>>,
    chain: Chain,
    /// Whether tracks are described: streams of a chain read again after
    /// a rewind map to them like a later chain's.
    described: bool,
    queue: VecDeque<AccessUnit>,
    /// File offset of the first page after the first chain's headers.
    data_start: u64,
    /// Reading stopped at a chain the SDP cannot describe.
    ended: bool,
    /// Per track: where a seek wants its units to start.
    seek_targets: Vec<Option<SeekTarget>>,
    /// Per track: the last unit a seek dropped (Vorbis priming).
    dropped: Vec<Option<AccessUnit>>,
    /// Whether the file holds more than one chain, once known.
    chained: Option<bool>,
    /// Which [`Warning`]s were logged.
    warned: u8,
}

impl OggReader {
    /// Reads the first chain's header pages and the first data packet.
    pub fn new(input: BytesReader) -> Result<OggReader> {
        if input.size() == 0 {
            return Err(MediaError::Empty);
        }
        let mut reader = OggReader {
            pages: PageReader::new(input),
            tracks: Vec::new(),
            keys: Vec::new(),
            track_end: Vec::new(),
            chain: Chain::new(0),
            described: false,
            queue: VecDeque::new(),
            data_start: 0,
            ended: false,
            seek_targets: Vec::new(),
            dropped: Vec::new(),
            chained: None,
            warned: 0,
        };
        let mut first_page = None;
        let mut last_offset = 0;
        loop {
            let Some(page) = reader.pages.next_page()? else {
                break;
            };
            first_page.get_or_insert(page.offset);
            last_offset = page.offset;
            let headers_done = !reader.chain.streams.is_empty()
                && reader.chain.streams.iter().all(Logical::headers_done);
            if headers_done && !page.bos() && !reader.described {
                reader.finish_headers(page.offset);
            }
            reader.on_page(&page)?;
            if !reader.queue.is_empty() {
                // Data has started: a stream still without its headers
                // breaks RFC 3533 §4 (headers first) and is left out.
                reader.finish_headers(page.offset);
                break;
            }
        }
        let Some(first_page) = first_page else {
            return Err(MediaError::invalid(0, "no Ogg page in the file"));
        };
        if !reader.described {
            if !reader.chain.streams.iter().all(Logical::headers_done) {
                return Err(MediaError::truncated(
                    last_offset,
                    "the Ogg file ends inside its codec headers",
                ));
            }
            reader.finish_headers(reader.pages.position());
        }
        if reader.queue.is_empty() {
            reader.flush_chain();
        }
        if reader.tracks.is_empty() {
            return Err(MediaError::Unsupported(format!(
                "Ogg file (page at byte {first_page}) without a stream of a codec this reader \
                 knows (Vorbis, Theora, Opus, Speex, FLAC)"
            )));
        }
        if reader.queue.is_empty() {
            return Err(MediaError::truncated(
                reader.data_start,
                "the Ogg file holds no whole packet after its codec headers",
            ));
        }
        Ok(reader)
    }

    /// The first chain's headers are read: the tracks are final, and data
    /// starts at `offset`. A stream whose headers are not all there yet is
    /// left out.
    fn finish_headers(&mut self, offset: u64) {
        if self.described {
            return;
        }
        self.described = true;
        self.data_start = offset;
        for stream in &mut self.chain.streams {
            if let (Some(mapping), false) = (&stream.mapping, stream.headers_done()) {
                tracing::warn!(
                    "Ogg, byte {offset}: {} stream {:#x} without all its headers before the \
                     data: left out",
                    mapping.name(),
                    stream.serial
                );
                stream.mapping = None;
            }
        }
    }

    /// Logs `message` unless a warning of this kind was logged before.
    fn warn(&mut self, kind: Warning, offset: u64, message: std::fmt::Arguments) {
        let bit = 1 << kind as u8;
        if self.warned & bit == 0 {
            self.warned |= bit;
            tracing::warn!("Ogg, byte {offset}: {message}");
        }
    }

    /// Reads pages until a unit is queued; `false` at the end of the file
    /// (or of what the SDP can describe).
    fn fill(&mut self) -> Result<bool> {
        while self.queue.is_empty() {
            if !self.read_page()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Takes in the next page; `false` at the end of the file (or of what
    /// the SDP can describe), once the streams' last packets are timed.
    fn read_page(&mut self) -> Result<bool> {
        if self.ended {
            return Ok(false);
        }
        match self.pages.next_page()? {
            Some(page) => self.on_page(&page)?,
            None => {
                self.flush_chain();
                self.ended = true;
            }
        }
        Ok(true)
    }

    /// Takes in one page.
    fn on_page(&mut self, page: &Page) -> Result<()> {
        if page.bos() {
            let serial_in_use = self.chain.streams.iter().any(|s| s.serial == page.serial());
            if self.chain.past_bos || serial_in_use {
                self.next_chain();
            }
            self.start_stream(page);
            return Ok(());
        }
        self.chain.past_bos = true;
        let Some(si) = self
            .chain
            .streams
            .iter()
            .position(|s| s.serial == page.serial())
        else {
            self.warn(
                Warning::UnknownSerial,
                page.offset,
                format_args!(
                    "page of stream {:#x}, whose first page is missing: skipped",
                    page.serial()
                ),
            );
            return Ok(());
        };
        let stream = &mut self.chain.streams[si];
        if stream.mapping.is_none() {
            return Ok(());
        }
        let lost = stream
            .next_sequence
            .is_some_and(|expected| expected != page.sequence());
        stream.next_sequence = Some(page.sequence().wrapping_add(1));
        if lost {
            let cut = stream.partial.is_some();
            stream.discontinuity();
            if cut {
                self.warn(
                    Warning::LostPacket,
                    page.offset,
                    format_args!("pages missing before this one: the packet they cut is dropped"),
                );
            }
        }
        for (i, (piece, ends)) in page.pieces().enumerate() {
            let stream = &mut self.chain.streams[si];
            if i == 0 {
                match (page.continued(), stream.partial.is_some()) {
                    // The rest of a packet whose start was not read (a
                    // seek): nothing to join it to.
                    (true, false) => {
                        if !ends {
                            stream.partial = None;
                        }
                        continue;
                    }
                    (false, true) => {
                        stream.partial = None;
                        self.warn(
                            Warning::LostPacket,
                            page.offset,
                            format_args!("a packet continued on no page: dropped"),
                        );
                    }
                    _ => {}
                }
            }
            let stream = &mut self.chain.streams[si];
            let packet = match stream.partial.take() {
                // A packet within the page: a slice of it, no copy.
                None if ends => piece,
                partial => {
                    let mut pieces = partial.unwrap_or_default();
                    pieces.push(piece);
                    let len: usize = pieces.iter().map(Bytes::len).sum();
                    if len > MAX_PACKET {
                        self.warn(
                            Warning::HugePacket,
                            page.offset,
                            format_args!("a packet of more than {MAX_PACKET} bytes: dropped"),
                        );
                        continue;
                    }
                    if !ends {
                        stream.partial = Some(pieces);
                        continue;
                    }
                    join(pieces, len)
                }
            };
            self.on_packet(si, packet, page.offset);
        }
        if let Some(granule) = page.granule() {
            self.time_pending(si, granule, page.eos());
        }
        Ok(())
    }

    /// A BOS page: a new logical stream of the current chain.
    fn start_stream(&mut self, page: &Page) {
        let serial = page.serial();
        let first = page.pieces().next().filter(|(_, ends)| *ends);
        let identified = match first {
            Some((packet, _)) => identify(&packet).map(|id| (id, packet)),
            None => Err(crate::codec::header::HeaderError::at(
                0,
                "the first page holds no whole packet",
            )),
        };
        let mut stream = match identified {
            Ok((Identified::Codec(mapping, headers), packet)) => {
                let mut stream = Logical::new(serial, Some(mapping), headers);
                stream.next_sequence = Some(page.sequence().wrapping_add(1));
                self.chain.streams.push(stream);
                let si = self.chain.streams.len() - 1;
                self.on_packet(si, packet, page.offset);
                return;
            }
            Ok((Identified::Skeleton, _)) => {
                tracing::debug!("Ogg Skeleton stream {serial:#x}: metadata, not a track");
                Logical::new(serial, None, None)
            }
            Ok((Identified::Unknown(name), _)) => {
                tracing::warn!(
                    "Ogg, byte {}: stream {serial:#x} of an unknown codec ({name}): left out",
                    page.offset
                );
                Logical::new(serial, None, None)
            }
            Err(e) => {
                tracing::warn!(
                    "Ogg, byte {}: stream {serial:#x}: {e}: left out",
                    page.offset
                );
                Logical::new(serial, None, None)
            }
        };
        stream.headers_left = Some(0);
        self.chain.streams.push(stream);
    }

    /// A whole packet of stream `si`, from the page at `offset`.
    fn on_packet(&mut self, si: usize, packet: Bytes, offset: u64) {
        let stream = &mut self.chain.streams[si];
        let Some(mapping) = &mut stream.mapping else {
            return;
        };
        match stream.headers_left {
            Some(0) => {}
            None if !mapping.is_header(&packet) => {
                stream.headers_left = Some(0);
                self.headers_read(si, offset);
            }
            _ => {
                stream.headers.push(packet);
                if let Some(left) = &mut stream.headers_left {
                    *left -= 1;
                    if *left == 0 {
                        self.headers_read(si, offset);
                    }
                }
                return;
            }
        }
        let stream = &mut self.chain.streams[si];
        let (Some(mapping), Some(_)) = (&mut stream.mapping, stream.track) else {
            return;
        };
        // An empty audio packet holds nothing to decode (FFmpeg ends Ogg
        // FLAC with one); an empty Theora packet repeats a frame (§7.1).
        if packet.is_empty() && !matches!(mapping, Mapping::Theora(_)) {
            return;
        }
        match mapping.packet(&packet) {
            Ok((duration, keyframe)) => stream.pending.push(Pending {
                data: packet,
                duration,
                keyframe,
            }),
            Err(e) => {
                let name = mapping.name();
                self.warn(
                    Warning::BadPacket,
                    offset,
                    format_args!("{name} packet: {e}: dropped"),
                );
            }
        }
    }

    /// Stream `si`'s headers are all read: describe its track, or find
    /// the track it continues.
    fn headers_read(&mut self, si: usize, offset: u64) {
        let index = self.tracks.len();
        let stream = &mut self.chain.streams[si];
        let Some(mapping) = &mut stream.mapping else {
            return;
        };
        let name = mapping.name();
        let headers = std::mem::take(&mut stream.headers);
        let (track, key) = match mapping.describe(index, &headers) {
            Ok(described) => described,
            Err(e) => {
                stream.mapping = None;
                tracing::warn!(
                    "Ogg, byte {offset}: {name} stream {:#x}: {e}: left out",
                    stream.serial
                );
                return;
            }
        };
        if !self.described {
            stream.track = Some(index);
            self.tracks.push(track);
            self.keys.push(key);
            self.track_end.push(None);
            self.seek_targets.push(None);
            self.dropped.push(None);
            return;
        }
        let taken: Vec<usize> = self.chain.streams.iter().filter_map(|s| s.track).collect();
        let continued = (0..self.tracks.len()).find(|&t| {
            self.tracks[t].codec == track.codec && self.keys[t] == key && !taken.contains(&t)
        });
        match continued {
            Some(t) => self.chain.streams[si].track = Some(t),
            None => {
                tracing::warn!(
                    "Ogg, byte {offset}: a chained stream ({}) that no track of the first chain \
                     can carry (another codec, or other settings than the SDP states): the file \
                     is read up to it",
                    track.summary()
                );
                self.ended = true;
            }
        }
    }

    /// Times the packets of stream `si` waiting for a position, now that a
    /// page of granule position `granule` ends them.
    fn time_pending(&mut self, si: usize, granule: u64, eos: bool) {
        let stream = &mut self.chain.streams[si];
        let (Some(mapping), Some(track)) = (&stream.mapping, stream.track) else {
            return;
        };
        if stream.pending.is_empty() {
            if stream.end.is_some() {
                stream.end = Some(mapping.position(granule));
            }
            return;
        }
        let position = mapping.position(granule);
        let total: i64 = stream.pending.iter().map(|p| p.duration as i64).sum();
        let start = match stream.end {
            Some(end)
                if end.saturating_add(total) == position
                    || (eos && end.saturating_add(total) > position) =>
            {
                end
            }
            // The first page of a stream that is also its last: the
            // stream starts at 0 and its end is trimmed (RFC 7845 §4.5).
            None if eos && !stream.anchored && position < total => 0,
            _ => position.saturating_sub(total),
        };
        let mut excess = start.saturating_add(total).saturating_sub(position).max(0) as u64;
        for p in stream.pending.iter_mut().rev() {
            let cut = excess.min(p.duration);
            p.duration -= cut;
            excess -= cut;
        }
        self.anchor(si, track, start);
        self.emit(si, start);
    }

    /// Places stream `si` (of `track`) on the timeline when its first
    /// packet starts at position `start`, unless it is already: the first
    /// stream placed in a chain puts its output start where the chain
    /// starts, and the chain's other streams keep their distance to it.
    fn anchor(&mut self, si: usize, track: usize, start: i64) {
        let stream = &mut self.chain.streams[si];
        let Some(mapping) = &stream.mapping else {
            return;
        };
        if stream.anchored {
            return;
        }
        stream.anchored = true;
        let rate = i128::from(self.tracks[track].clock_rate);
        let origin = self.chain.origin_ns;
        let offset_ns = *self
            .chain
            .offset_ns
            .get_or_insert_with(|| origin - i128::from(mapping.output_start(start)) * NS / rate);
        stream.offset = offset_ns
            .checked_mul(rate)
            .and_then(|n| rounded(n, NS))
            .and_then(|n| i64::try_from(n).ok())
            .unwrap_or(0);
    }

    /// Queues the pending packets of stream `si`, the first starting at
    /// position `start`.
    fn emit(&mut self, si: usize, start: i64) {
        let stream = &mut self.chain.streams[si];
        let Some(track) = stream.track.filter(|_| stream.mapping.is_some()) else {
            return;
        };
        let mut position = start;
        let offset = stream.offset;
        let mut pending = std::mem::take(&mut stream.pending);
        for p in pending.drain(..) {
            let Some(mapping) = &self.chain.streams[si].mapping else {
                return;
            };
            let pts = offset.saturating_add(mapping.ticks(position));
            position = position.saturating_add(p.duration as i64);
            let end = offset.saturating_add(mapping.ticks(position));
            let unit = AccessUnit {
                track,
                pts,
                dts: pts,
                duration: u32::try_from(end - pts).unwrap_or(u32::MAX),
                keyframe: p.keyframe,
                data: p.data,
            };
            self.track_end[track] = Some(end.max(self.track_end[track].unwrap_or(end)));
            self.queue_unit(unit);
        }
        // The allocation is kept for the next page's packets.
        let stream = &mut self.chain.streams[si];
        stream.pending = pending;
        stream.end = Some(position);
    }

    /// Queues `unit`, unless a seek drops it.
    fn queue_unit(&mut self, unit: AccessUnit) {
        let track = unit.track;
        if let Some(target) = self.seek_targets[track] {
            if unit.pts.saturating_add(i64::from(unit.duration)) <= target.from && unit.duration > 0
                || unit.pts < target.from && unit.duration == 0
            {
                if target.primes {
                    self.dropped[track] = Some(unit);
                }
                return;
            }
            self.seek_targets[track] = None;
            if let Some(mut prime) = self.dropped[track].take() {
                prime.pts = unit.pts;
                prime.dts = unit.pts;
                prime.duration = 0;
                self.queue.push_back(prime);
            }
        }
        self.queue.push_back(unit);
    }

    /// Times what the current chain's streams still hold (their last pages
    /// gave no position) from where they stand: after their last timed
    /// packet, or at the chain's start for a stream never placed. Packets
    /// after a seek that no position ever placed are dropped.
    fn flush_chain(&mut self) {
        for si in 0..self.chain.streams.len() {
            let stream = &mut self.chain.streams[si];
            let Some(track) = stream.track.filter(|_| !stream.pending.is_empty()) else {
                continue;
            };
            let start = match (stream.end, stream.anchored) {
                (Some(end), _) => end,
                (None, false) => 0,
                (None, true) => {
                    tracing::debug!("Ogg: packets after a seek with no granule position: dropped");
                    stream.pending.clear();
                    continue;
                }
            };
            self.anchor(si, track, start);
            self.emit(si, start);
        }
    }

    /// Ends the current chain: a BOS page starts the next one, whose
    /// timeline begins where this one's units end.
    fn next_chain(&mut self) {
        self.flush_chain();
        let end_ns = self
            .track_end
            .iter()
            .zip(&self.tracks)
            .filter_map(|(end, track)| {
                end.map(|e| i128::from(e) * NS / i128::from(track.clock_rate))
            })
            .max()
            .unwrap_or(0);
        self.chain = Chain::new(end_ns);
        self.chained = Some(true);
    }

    /// Rereads the file from its start.
    fn rewind(&mut self) -> Result<()> {
        self.pages.seek(0)?;
        self.chain = Chain::new(0);
        self.reset_reading();
        Ok(())
    }

    /// Forgets the units queued, the track ends and the seek targets.
    fn reset_reading(&mut self) {
        self.queue.clear();
        self.ended = false;
        self.track_end.iter_mut().for_each(|e| *e = None);
        self.seek_targets.iter_mut().for_each(|t| *t = None);
        self.dropped.iter_mut().for_each(|d| *d = None);
    }
}

/// `num / den` rounded to nearest; `None` on overflow.
fn rounded(num: i128, den: i128) -> Option<i128> {
    Some(num.checked_mul(2)?.checked_add(den)?.div_euclid(2 * den))
}

/// A packet from its pieces: the one piece itself, or the pieces copied
/// end to end.
fn join(pieces: Vec<Bytes>, len: usize) -> Bytes {
    if pieces.len() == 1 {
        return pieces.into_iter().next().unwrap_or_default();
    }
    let mut joined = BytesMut::with_capacity(len);
    for piece in pieces {
        joined.extend_from_slice(&piece);
    }
    joined.freeze()
}

impl Demuxer for OggReader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        if !self.fill()? {
            return Ok(None);
        }
        Ok(self.queue.pop_front())
    }

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        seek::seek(self, time)
    }

    /// Parks the input, with the units queued and the packets joined so
    /// far copied out of the read buffer.
    fn park(&mut self) {
        self.pages.park();
        let mut slices: Vec<&mut Bytes> = self.queue.iter_mut().map(|u| &mut u.data).collect();
        for stream in &mut self.chain.streams {
            slices.extend(stream.partial.iter_mut().flatten());
            slices.extend(stream.pending.iter_mut().map(|p| &mut p.data));
        }
        super::compact(slices);
    }
}
