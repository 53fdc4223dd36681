//! MP4 and QuickTime files (`.mp4`, `.m4v`, `.m4a`, `.mov`, `.3gp`): the
//! ISO base media file format (ISO/IEC 14496-12), its MP4 (ISO/IEC
//! 14496-14) and AVC/HEVC (ISO/IEC 14496-15) specialisations, and the
//! QuickTime File Format it grew from.
//!
//! Opening reads box headers from the start of the file, skipping `mdat`
//! by its size, until the `moov` box, wherever it is: a 2 GB file whose
//! index is at the end costs a handful of small reads and one seek, not a
//! read of the file. Of `moov`, the headers, sample descriptions and edit
//! lists are read; the sample tables are located, not read
//! ([`sample_table`]). Samples then come in decoding order, tracks
//! interleaved as FFmpeg's demuxer interleaves them (by file position
//! among samples within a second of each other, else by time), each read
//! where the tables place it: a file with its index at the end, or its
//! tracks badly interleaved, plays like any other.
//!
//! Fragmented files ([`fragments`]: `mvex`, then `moof`/`mdat` pairs) are
//! read fragment by fragment, after any samples the `moov` tables hold;
//! seeking uses the `mfra` random access tables when the file has them,
//! else walks the fragments' headers.
//!
//! Timestamps: a track's times are its media timescale's (`mdhd`), except
//! PCM, timed in sample frames at its sampling rate. Edit lists are applied
//! as FFmpeg applies them ([`edit`]): the first media edit's start is
//! presented at the track's time 0 (removing the B-frame delay), samples
//! wholly before it are dropped (an AAC encoder delay's priming frame),
//! samples from its end on too, and empty edits delay the track. Then the
//! earliest track starts at 0 (the [`Demuxer`] convention).
//!
//! Codecs streamed: H.264 (`avc1`/`avc3` + `avcC`: units keep their NAL
//! length prefixes), H.265 (`hvc1`/`hev1` + `hvcC`), AAC (`mp4a` + `esds`),
//! MPEG audio (`mp4a` with an MPEG-1/2 audio object type, `.mp3`), Opus
//! (`Opus` + `dOps`, made an OpusHead), AC-3 (`ac-3` + `dac3`), PCM
//! (`twos`, `sowt`, `raw `, `in24`, `in32`, `fl32`, `fl64`, `lpcm`, `ipcm`,
//! `fpcm`, read in runs of up to 20 ms) and G.711 (`alaw`, `ulaw`). Other
//! sample descriptions are described with ffprobe's codec name; chapter
//! (`tref/chap`) text tracks are data tracks (`bin_data`), timecode
//! (`tmcd`) tracks data tracks too: RTP carries none of them.
//!
//! Damaged files: a sample the file ends before (a file cut inside
//! `mdat`, a chunk offset past the end, a size of 4 GB) is dropped with a
//! warning and reading goes on; boxes claiming more than their parent
//! holds are cut to it; a file whose `moov` is missing is an error.
//!
//! Why not a crate: `re_mp4` 0.5 (the one maintained MP4 demuxer without
//! MPL code) was checked against what this reader must do. It builds a
//! `Vec<Sample>` of every sample of every track at open (about 60 bytes
//! each: 60 MB for a long film, per `serve` session), requires an `ftyp`
//! box (QuickTime files often have none), does not apply edit lists, knows
//! no Opus, AC-3, PCM or G.711 sample entry, keeps only parts of the AAC
//! decoder configuration, and reads every `moof` of a fragmented file at
//! open. `mp4` 0.14 and `mp4parse` were rejected before
//! (`shared/dependencies.md`). The box walk is a few hundred lines here.

mod boxes;
mod edit;
mod entries;
mod fragments;
mod movie;
mod sample_entry;
mod sample_table;
#[cfg(test)]
mod tests;

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;

use self::boxes::{name, read_header, BoxHeader};
use self::edit::EditWindow;
use self::fragments::{is_sync, read_moof, FragmentTracks, RandomAccessTables, Run};
use self::movie::{read_movie, Movie, Trex};
use self::sample_entry::{describe, mpeg_audio_codec};
use self::sample_table::{Cursor, Sample};
use super::sniff::at;
use super::{
    AccessUnit, AudioParams, BytesReader, Demuxer, Evidence, MediaError, ReaderFormat, Result,
    Track, TrackParams, TrackStats,
};
use crate::vocab::clock::{rescale, sample_at, time_of};
use crate::vocab::{Rational, TrackKind};

/// The registry entry: an ISO base media file or QuickTime movie, known by
/// its first box.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "mp4",
    long_name: "MP4",
    extensions: &["mp4", "m4v", "m4a", "mov", "3gp", "3g2"],
    sniff: |head| {
        [
            &b"ftyp"[..],
            b"moov",
            b"mdat",
            b"free",
            b"wide",
            b"skip",
            b"pnot",
        ]
        .iter()
        .any(|kind| at(head, 4, kind))
        .then_some(Evidence::Signature)
    },
    open: |input| Ok(Box::new(Mp4Reader::new(input)?)),
};

/// Samples within this many microseconds of each other are taken in file
/// order, further apart in time order (FFmpeg's `mov_find_next_sample`).
const INTERLEAVE_US: i64 = 1_000_000;

/// Bytes of the `moov` box read at once at open: its headers and sample
/// descriptions, and the tables of short files.
const MOOV_WINDOW: u64 = 1 << 20;

/// `ctts` entries read at open for the most negative composition offset.
const CTTS_SCAN: u32 = 4096;

/// A PCM unit holds at most 1/50 s of sample frames (20 ms, RFC 3551 §4.2).
const PCM_UNITS_PER_SECOND: u32 = 50;

/// Reads the samples of an MP4 or QuickTime file.
pub struct Mp4Reader {
    /// The file; locked only by [`stats`](Demuxer::stats), which reads the
    /// tables behind a shared reference.
    input: Mutex<BytesReader>,
    tracks: Vec<Track>,
    states: Vec<TrackState>,
    /// The movie fragments after the `moov` tables, if the movie has any.
    fragments: Option<FragmentWalker>,
    /// The track seeking positions by (its key frames).
    reference: usize,
    /// Kinds of warning already logged.
    warned: u8,
}

/// Warnings logged once per reader.
const WARN_PAST_END: u8 = 1;
const WARN_STSC: u8 = 2;

/// A track's reading state.
struct TrackState {
    /// Its `tkhd` track id.
    id: u32,
    /// Its media timescale (the unit of sample times).
    timescale: u32,
    video: bool,
    /// PCM: bytes per sample frame (0 otherwise), and frames per unit.
    frame_bytes: u64,
    max_frames: u32,
    /// The `moov` sample table.
    cursor: Option<Cursor>,
    edit: EditWindow,
    /// Drop samples wholly before the edit's start (tracks without
    /// composition offsets: audio's priming).
    trim_start: bool,
    /// Subtracted from every time: the earliest track's start.
    shift: i64,
    /// Subtracted from decoding times: the most negative composition
    /// offset, so that no sample is presented before it is decoded.
    dts_shift: i64,
    /// The next sample, read ahead to choose between tracks.
    peeked: Option<Sample>,
    /// After a seek in fragments: samples dropped until this rule passes.
    skip: Option<Skip>,
}

/// Which samples a seek skips in a track, in presentation time (media
/// timescale, after the edit and shift).
#[derive(Clone, Copy, Debug)]
struct Skip {
    /// Samples ending at or before this time are skipped...
    until: i64,
    /// ...and until a sync sample, for video.
    sync: bool,
}

impl TrackState {
    /// A sample's presentation and decoding times in the media timescale,
    /// after the edit list and the shift.
    fn times(&self, sample: &Sample) -> (i64, i64) {
        let base = self
            .edit
            .delay
            .saturating_sub(self.edit.start)
            .saturating_sub(self.shift);
        (
            sample.cts.saturating_add(base),
            sample
                .dts
                .saturating_add(base.saturating_sub(self.dts_shift)),
        )
    }

    /// Whether the edit list (or a seek) leaves `sample` out.
    fn drops(&self, sample: &Sample) -> bool {
        if self.edit.end.is_some_and(|end| sample.cts >= end) {
            return true;
        }
        if self.trim_start && sample.cts.saturating_add(sample.duration as i64) <= self.edit.start {
            return true;
        }
        false
    }
}

impl Mp4Reader {
    /// Opens an MP4 or QuickTime file: finds its `moov` box, describes its
    /// tracks and places every track at its first sample.
    pub fn new(mut input: BytesReader) -> Result<Mp4Reader> {
        let size = input.size();
        if size == 0 {
            return Err(MediaError::Empty);
        }
        let layout = find_top_level(&mut input)?;
        // The head of `moov` in one read (one seek when it is at the end):
        // the reads of its boxes that follow are served from it.
        input.seek(layout.moov.start)?;
        input.peek(
            layout
                .moov
                .end
                .saturating_sub(layout.moov.start)
                .min(MOOV_WINDOW) as usize,
        )?;
        let movie = read_movie(&mut input, &layout.moov)?;
        let chapters: Vec<u32> = movie
            .traks
            .iter()
            .flat_map(|t| t.chapters.clone())
            .collect();
        let mut tracks = Vec::new();
        let mut states = Vec::new();
        for trak in &movie.traks {
            if trak.timescale == 0 {
                tracing::warn!(
                    "MP4 track {} (byte {}): its media timescale is 0; left out",
                    trak.track_id,
                    trak.start
                );
                continue;
            }
            for table in &trak.cut_tables {
                tracing::warn!(
                    "MP4 track {}: its '{table}' box holds fewer entries than it states (file cut \
                     short?)",
                    trak.track_id
                );
            }
            if trak.entry_count > 1 {
                tracing::warn!(
                    "MP4 track {}: {} sample descriptions; samples are read with the first",
                    trak.track_id,
                    trak.entry_count
                );
            }
            let described = describe(trak, chapters.contains(&trak.track_id))?;
            let mut track = described.track;
            track.index = tracks.len();
            let video = track.kind() == TrackKind::Video;
            let cursor = if trak.tables.sample_count > 0 {
                Some(Cursor::new(
                    &trak.tables,
                    video,
                    described.frame_bytes,
                    &mut input,
                )?)
            } else {
                None
            };
            let edit = EditWindow::of(trak, movie.timescale, movie.fragmented);
            let mut state = TrackState {
                id: trak.track_id,
                timescale: trak.timescale,
                video,
                frame_bytes: described.frame_bytes,
                max_frames: (track.clock_rate / PCM_UNITS_PER_SECOND).max(1),
                cursor,
                edit,
                trim_start: trak.tables.ctts.is_none() && edit.start > 0,
                shift: 0,
                dts_shift: 0,
                peeked: None,
                skip: None,
            };
            // As FFmpeg does: `cslg`, else the composition offsets (their
            // first runs: a stream's pattern shows in its first GOPs).
            state.dts_shift = match (trak.dts_shift, &state.cursor) {
                (Some(shift), _) => shift.max(0),
                (None, Some(cursor)) => -cursor.most_negative_offset(&mut input, CTTS_SCAN)?,
                (None, None) => 0,
            };
            if described.mpeg_audio {
                refine_mpeg_audio(&mut input, &mut state, &mut track)?;
            }
            let frame_rate = match stts_frame_rate(&mut input, &state)? {
                Some(rate) => Some(rate),
                None => described.signalled_rate,
            };
            if let TrackParams::Video(video) = &mut track.params {
                video.frame_rate = frame_rate;
            }
            tracks.push(track);
            states.push(state);
        }
        if tracks.is_empty() {
            return Err(MediaError::invalid(
                layout.moov.start,
                "the 'moov' box describes no track",
            ));
        }
        let fragments = match layout.first_moof {
            Some(first) if movie.fragmented => {
                Some(FragmentWalker::new(&mut input, first, &movie, &states)?)
            }
            _ => None,
        };
        let reference = tracks
            .iter()
            .position(|t| t.kind() == TrackKind::Video)
            .or_else(|| tracks.iter().position(|t| t.kind() == TrackKind::Audio))
            .unwrap_or(0);
        let mut reader = Mp4Reader {
            input: Mutex::new(input),
            tracks,
            states,
            fragments,
            reference,
            warned: 0,
        };
        reader.align_starts()?;
        if reader.peek_all()?.is_empty() {
            return Err(MediaError::truncated(
                layout.moov.start,
                "no sample of the file lies within it (cut short?)",
            ));
        }
        Ok(reader)
    }

    fn input(&mut self) -> &mut BytesReader {
        self.input.get_mut().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets every track's shift so that the earliest starts at time 0.
    fn align_starts(&mut self) -> Result<()> {
        self.peek_all()?;
        // The earliest start, as (ticks, timescale).
        let mut earliest: Option<(i64, u32)> = None;
        for state in &self.states {
            let Some(sample) = &state.peeked else {
                continue;
            };
            // Presentation starts where the edit list says, else at the
            // first sample.
            let pts = if state.edit.edited {
                state.edit.delay
            } else {
                state.times(sample).0
            };
            let earlier = earliest.is_none_or(|(ticks, scale)| {
                i128::from(pts) * i128::from(scale)
                    < i128::from(ticks) * i128::from(state.timescale)
            });
            if earlier {
                earliest = Some((pts, state.timescale));
            }
        }
        if let Some((ticks, scale)) = earliest {
            for state in &mut self.states {
                state.shift = rescale(ticks, scale, state.timescale);
            }
        }
        Ok(())
    }

    /// Reads ahead the next kept sample of every track; returns the tracks
    /// that have one.
    fn peek_all(&mut self) -> Result<Vec<usize>> {
        loop {
            let mut waiting = false;
            for i in 0..self.states.len() {
                if self.states[i].peeked.is_none() {
                    self.peek(i)?;
                }
            }
            let ready: Vec<usize> = (0..self.states.len())
                .filter(|&i| self.states[i].peeked.is_some())
                .collect();
            if let Some(walker) = &mut self.fragments {
                // Tracks whose table is used up take their samples from
                // the current fragment; when no track has one, the next.
                let tables_done = self
                    .states
                    .iter()
                    .all(|s| s.cursor.as_ref().is_none_or(|c| c.index() >= c.total()));
                if ready.is_empty() && tables_done {
                    let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
                    if walker.next_fragment(input)? {
                        waiting = true;
                    }
                }
            }
            if !waiting {
                return Ok(ready);
            }
        }
    }

    /// Reads ahead track `i`'s next sample that the edit list and any seek
    /// keep.
    fn peek(&mut self, i: usize) -> Result<()> {
        let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
        let state = &mut self.states[i];
        loop {
            let sample = match &mut state.cursor {
                Some(cursor) if cursor.index() < cursor.total() => {
                    let sample = cursor.next(input, state.max_frames)?;
                    match &sample {
                        // The chunk tables hold fewer samples than stated.
                        None => {
                            let total = cursor.total();
                            cursor.seek_to(input, total)?;
                        }
                        // The rest of its chunk lies after it: past the end
                        // too.
                        Some(s) if !within(s, input.size()) => cursor.skip_chunk(input)?,
                        Some(_) => {}
                    }
                    if cursor.skipped_chunk_entries() && self.warned & WARN_STSC == 0 {
                        self.warned |= WARN_STSC;
                        tracing::warn!(
                            "MP4 track {}: invalid 'stsc' entries skipped (as FFmpeg does)",
                            state.id
                        );
                    }
                    sample
                }
                _ => match &mut self.fragments {
                    Some(walker) => walker.next_sample(input, i)?,
                    None => None,
                },
            };
            let Some(sample) = sample else {
                state.peeked = None;
                return Ok(());
            };
            if !within(&sample, input.size()) {
                if self.warned & WARN_PAST_END == 0 {
                    self.warned |= WARN_PAST_END;
                    tracing::warn!(
                        "MP4 track {}: sample {} ({} bytes at byte {}) lies past the end of the \
                         file (cut short?): dropped, with any others",
                        state.id,
                        sample.index + 1,
                        sample.size,
                        sample.offset
                    );
                }
                continue;
            }
            if state.drops(&sample) {
                continue;
            }
            if let Some(skip) = state.skip {
                let (pts, _) = state.times(&sample);
                let ends = pts.saturating_add(sample.duration as i64);
                if ends <= skip.until || (skip.sync && !sample.sync) {
                    continue;
                }
                state.skip = None;
            }
            state.peeked = Some(sample);
            return Ok(());
        }
    }

    /// The track whose peeked sample comes next: by file position among
    /// samples within [`INTERLEAVE_US`] of each other, else by time.
    fn choose(&self, ready: &[usize]) -> Option<usize> {
        let micros = |i: usize| {
            let state = &self.states[i];
            let sample = state.peeked.as_ref().expect("ready tracks have a sample");
            let (_, dts) = state.times(sample);
            (rescale(dts, state.timescale, 1_000_000), sample.offset)
        };
        let mut best = *ready.first()?;
        let (mut best_time, mut best_pos) = micros(best);
        for &i in &ready[1..] {
            let (time, pos) = micros(i);
            let close = time.saturating_sub(best_time).saturating_abs() <= INTERLEAVE_US;
            if (close && pos < best_pos) || (!close && time < best_time) {
                (best, best_time, best_pos) = (i, time, pos);
            }
        }
        Some(best)
    }

    /// The bytes of `sample`, or `None` when the file ends before them.
    fn sample_data(&mut self, sample: &Sample) -> Result<Option<Bytes>> {
        let input = self.input();
        let end = sample.offset.checked_add(sample.size);
        if end.is_none_or(|end| end > input.size()) {
            return Ok(None);
        }
        let size = sample.size as usize;
        let position = input.position();
        let held = input.buffered().len() as u64;
        match sample.offset.checked_sub(position) {
            Some(gap) if gap <= held => {
                input.take(gap as usize);
            }
            _ => input.seek(sample.offset)?,
        }
        if input.peek(size)?.len() < size {
            return Ok(None);
        }
        Ok(Some(input.take(size)))
    }

    /// The access unit of `sample` of track `i`.
    fn unit(&self, i: usize, sample: &Sample, data: Bytes) -> AccessUnit {
        let state = &self.states[i];
        let track = &self.tracks[i];
        let (pts, dts) = state.times(sample);
        let (pts, dts, duration) = if state.frame_bytes > 0 {
            (
                rescale(pts, state.timescale, track.clock_rate),
                rescale(dts, state.timescale, track.clock_rate),
                u64::from(sample.count),
            )
        } else {
            (pts, dts, sample.duration)
        };
        AccessUnit {
            track: i,
            pts,
            // Composition offsets the shift did not cover (a `cslg` that
            // understates them, negative offsets in fragments).
            dts: dts.min(pts),
            duration: u32::try_from(duration).unwrap_or(u32::MAX),
            keyframe: sample.sync,
            data,
        }
    }

    /// A presentation time of track `i` (media timescale, after edits and
    /// shift) as a duration from the start (0 before it).
    fn time_of(&self, i: usize, ticks: i64) -> Duration {
        time_of(u64::try_from(ticks).unwrap_or(0), self.states[i].timescale)
    }

    /// `time` as a presentation time of track `i` (media timescale, after
    /// edits and shift).
    fn ticks_of(&self, i: usize, time: Duration) -> i64 {
        i64::try_from(sample_at(time, self.states[i].timescale)).unwrap_or(i64::MAX)
    }

    /// The media time (of the sample tables) of presentation time `ticks`
    /// of track `i`.
    fn media_time(&self, i: usize, ticks: i64) -> i64 {
        let state = &self.states[i];
        ticks
            .saturating_add(state.edit.start)
            .saturating_add(state.shift)
            .saturating_sub(state.edit.delay)
    }

    /// Seeks the `moov` sample tables: the reference track to its last
    /// sync sample at or before `time`, the others to the sample playing
    /// when that one is presented. Returns that presentation time.
    fn seek_tables(&mut self, time: Duration) -> Result<Duration> {
        let r = self.reference;
        let target = self.media_time(r, self.ticks_of(r, time));
        let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
        let state = &self.states[r];
        let Some(cursor) = &state.cursor else {
            return Ok(Duration::ZERO);
        };
        let at = cursor.sample_at(input, target)?;
        let at = if state.frame_bytes > 0 {
            cursor.run_start(input, at, state.max_frames)?
        } else {
            at
        };
        let mut key = cursor.sync_at_or_before(input, at)?.unwrap_or(0);
        if key > 0 && cursor.cts_of(input, key)? > target {
            key = cursor.sync_at_or_before(input, key - 1)?.unwrap_or(0);
        }
        let key_cts = cursor.cts_of(input, key)?;
        let base = state
            .edit
            .delay
            .saturating_sub(state.edit.start)
            .saturating_sub(state.shift);
        // With no sync sample at or before `time` (a seek to the start when
        // the video starts after the audio), the other tracks start at
        // `time`, as at the start of the file.
        let key_time = self.time_of(r, key_cts.saturating_add(base)).min(time);
        for i in 0..self.states.len() {
            let index = if i == r {
                key
            } else {
                let media = self.media_time(i, self.ticks_of(i, key_time));
                let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
                let state = &self.states[i];
                match &state.cursor {
                    Some(cursor) => {
                        let at = cursor.sample_at(input, media)?;
                        if state.video {
                            cursor.sync_at_or_before(input, at)?.unwrap_or(0)
                        } else if state.frame_bytes > 0 {
                            cursor.run_start(input, at, state.max_frames)?
                        } else {
                            at
                        }
                    }
                    None => 0,
                }
            };
            let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
            let state = &mut self.states[i];
            if let Some(cursor) = &mut state.cursor {
                cursor.seek_to(input, index)?;
            }
            state.peeked = None;
            state.skip = None;
        }
        Ok(key_time)
    }

    /// Seeks movie fragments: to the fragment whose reference track starts
    /// at or before `time` at a sync sample, then in it to the last sync
    /// sample at or before `time`, the other tracks to the sample playing
    /// then. Returns that presentation time.
    fn seek_fragments(&mut self, time: Duration) -> Result<Duration> {
        let r = self.reference;
        let target_ticks = self.ticks_of(r, time);
        let target = self.media_time(r, target_ticks);
        let ids: Vec<u32> = self.states.iter().map(|s| s.id).collect();
        let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
        let Some(walker) = &mut self.fragments else {
            return Ok(Duration::ZERO);
        };
        walker.seek(input, &ids, r, target)?;
        // The last sync sample at or before the target in that fragment.
        let mut key = None;
        for run in walker.runs.iter().filter(|run| run.track == r) {
            let mut run = run.clone();
            while let Some(sample) = run.next_sample(input)? {
                if sample.cts > target && key.is_some() {
                    break;
                }
                if is_sync(sample.flags) || !self.states[r].video {
                    key = Some(sample.cts);
                }
            }
        }
        let base = {
            let state = &self.states[r];
            state
                .edit
                .delay
                .saturating_sub(state.edit.start)
                .saturating_sub(state.shift)
        };
        let key_ticks = key.map_or(target_ticks, |cts| cts.saturating_add(base));
        // With no sync sample at or before `time` (a seek to the start when
        // the video starts after the audio), the other tracks start at
        // `time`, as at the start of the file.
        let key_time = self.time_of(r, key_ticks).min(time);
        for i in 0..self.states.len() {
            let until = if i == r {
                key_ticks.saturating_sub(1)
            } else {
                self.ticks_of(i, key_time)
            };
            let state = &mut self.states[i];
            if let Some(cursor) = &mut state.cursor {
                let total = cursor.total();
                let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
                cursor.seek_to(input, total)?;
            }
            state.peeked = None;
            state.skip = Some(Skip {
                until,
                sync: state.video,
            });
        }
        Ok(key_time)
    }

    /// The duration of the longest track, for a seek past the end (0 when
    /// the container does not state it: fragments).
    fn duration(&self) -> Duration {
        self.stats()
            .into_iter()
            .flatten()
            .zip(&self.tracks)
            .map(|(s, t)| time_of(s.duration, t.clock_rate))
            .max()
            .unwrap_or_default()
    }

    /// Exact counts from the `moov` tables: the samples reading yields
    /// (those the tables place in the file, less those the edit list
    /// leaves out), walked in the tables without reading a sample.
    fn table_stats(&self) -> Result<Vec<TrackStats>> {
        let mut input = self.input.lock().unwrap_or_else(|e| e.into_inner());
        let input = &mut *input;
        let size = input.size();
        let mut out = Vec::new();
        for state in &self.states {
            let mut stats = TrackStats::default();
            if let Some(cursor) = &state.cursor {
                let mut walk = cursor.clone();
                walk.seek_to(input, 0)?;
                while let Some(sample) = walk.next(input, state.max_frames)? {
                    if !within(&sample, size) {
                        walk.skip_chunk(input)?;
                        continue;
                    }
                    if state.drops(&sample) {
                        continue;
                    }
                    let (frames, duration) = if state.frame_bytes > 0 {
                        (u64::from(sample.count), u64::from(sample.count))
                    } else {
                        (1, sample.duration)
                    };
                    stats.frames += frames;
                    stats.duration += duration;
                    stats.bytes += sample.size;
                }
            }
            out.push(stats);
        }
        Ok(out)
    }
}

/// Whether `sample` lies wholly within a file of `size` bytes.
fn within(sample: &Sample, size: u64) -> bool {
    sample
        .offset
        .checked_add(sample.size)
        .is_some_and(|end| end <= size)
}

/// MPEG audio in `mp4a` or `.mp3`: the layer, rate and channels of its
/// first frame's header, which the sample description does not give.
fn refine_mpeg_audio(
    input: &mut BytesReader,
    state: &mut TrackState,
    track: &mut Track,
) -> Result<()> {
    let Some(cursor) = &mut state.cursor else {
        return Ok(());
    };
    let Some(first) = cursor.clone().next(input, 1)? else {
        return Ok(());
    };
    let mut header = [0u8; 4];
    if input.read_at(first.offset, &mut header)? < 4 {
        return Ok(());
    }
    if let Some((codec, sample_rate, channels)) = mpeg_audio_codec(&header) {
        track.codec = codec;
        track.params = TrackParams::Audio(AudioParams::new(sample_rate, channels));
    }
    Ok(())
}

/// A video track's frame rate from its `stts`: the timescale over the
/// delta of the longest of its first runs (what ffprobe's `r_frame_rate`
/// shows for a constant rate).
fn stts_frame_rate(input: &mut BytesReader, state: &TrackState) -> Result<Option<Rational>> {
    if !state.video {
        return Ok(None);
    }
    let Some(cursor) = &state.cursor else {
        return Ok(None);
    };
    let mut walk = cursor.clone();
    let mut best: Option<(u32, u64)> = None;
    let mut runs = 0;
    let mut current: Option<(u32, u64)> = None;
    while runs < 64 {
        let Some(sample) = walk.next(input, 1)? else {
            break;
        };
        match &mut current {
            Some((count, delta)) if *delta == sample.duration => *count += 1,
            _ => {
                runs += 1;
                current = Some((1, sample.duration));
            }
        }
        if let Some(run) = current {
            if best.is_none_or(|b| run.0 > b.0) {
                best = Some(run);
            }
        }
        if walk.index() >= 256 {
            break;
        }
    }
    Ok(best.and_then(|(_, delta)| Rational::reduced(u64::from(state.timescale), delta)))
}

/// Where the top-level boxes that matter lie.
struct Layout {
    moov: BoxHeader,
    first_moof: Option<u64>,
}

/// Walks the top-level boxes from the start of the file, reading headers
/// only, to the `moov` box (and, for a fragmented movie, the first `moof`).
fn find_top_level(input: &mut BytesReader) -> Result<Layout> {
    let size = input.size();
    let mut moov: Option<BoxHeader> = None;
    let mut first_moof = None;
    let mut offset = 0;
    let mut last = None;
    while let Some(header) = read_header(input, offset, size)? {
        match &header.kind {
            b"moov" if moov.is_none() => {
                if header.cut {
                    tracing::warn!(
                        "MP4 'moov' box at byte {}: the file ends inside it (cut short?)",
                        header.start
                    );
                }
                moov = Some(header);
            }
            b"moof" if first_moof.is_none() => first_moof = Some(header.start),
            _ => {}
        }
        last = Some(header);
        offset = header.end;
        if moov.is_some() && (first_moof.is_some() || !may_have_fragments(input, &moov)?) {
            break;
        }
    }
    match moov {
        Some(moov) => Ok(Layout { moov, first_moof }),
        None => match last {
            Some(last) if last.cut => Err(MediaError::truncated(
                last.start,
                format!(
                    "the file ends inside its '{}' box, before any 'moov' box (cut short?)",
                    name(last.kind)
                ),
            )),
            _ => Err(MediaError::invalid(0, "no 'moov' box in the file")),
        },
    }
}

/// Whether the `moov` box has an `mvex` box (fragments may follow).
fn may_have_fragments(input: &mut BytesReader, moov: &Option<BoxHeader>) -> Result<bool> {
    let Some(moov) = moov else {
        return Ok(false);
    };
    let mut children = boxes::Children::of(moov, 0);
    while let Some(child) = children.next(input)? {
        if &child.kind == b"mvex" {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Walks the movie fragments after the `moov` box: one fragment's runs at
/// a time.
struct FragmentWalker {
    /// Track ids, by reader track index, and the `trex` defaults.
    ids: Vec<u32>,
    trex: Vec<Trex>,
    /// File offset of the first `moof`, and of the next top-level box.
    first: u64,
    next_box: u64,
    /// The current fragment's runs.
    runs: Vec<Run>,
    /// Per track: the decoding time after its last fragment.
    next_dts: Vec<i64>,
    /// The `tfra` tables, if the file has an `mfra` box.
    random_access: RandomAccessTables,
}

impl FragmentWalker {
    fn new(
        input: &mut BytesReader,
        first: u64,
        movie: &Movie,
        states: &[TrackState],
    ) -> Result<FragmentWalker> {
        let mut next_dts = Vec::new();
        for state in states {
            next_dts.push(match &state.cursor {
                Some(cursor) => cursor.duration_of_first(input, cursor.total())?,
                None => 0,
            });
        }
        Ok(FragmentWalker {
            ids: states.iter().map(|s| s.id).collect(),
            trex: movie.trex.clone(),
            first,
            next_box: first,
            runs: Vec::new(),
            next_dts,
            random_access: RandomAccessTables::find(input)?,
        })
    }

    /// Reads the next movie fragment's runs; `false` at the end of the
    /// fragments.
    fn next_fragment(&mut self, input: &mut BytesReader) -> Result<bool> {
        let size = input.size();
        while let Some(header) = read_header(input, self.next_box, size)? {
            self.next_box = header.end;
            if &header.kind == b"mfra" {
                break;
            }
            if &header.kind != b"moof" {
                continue;
            }
            if header.cut {
                tracing::warn!(
                    "MP4 movie fragment at byte {}: the file ends inside it (cut short?)",
                    header.start
                );
                break;
            }
            let tracks = FragmentTracks {
                ids: &self.ids,
                trex: &self.trex,
            };
            self.runs = read_moof(input, &header, &tracks, &mut self.next_dts)?;
            return Ok(true);
        }
        self.runs.clear();
        self.next_box = size;
        Ok(false)
    }

    /// The next sample of track `track` in the current fragment.
    fn next_sample(&mut self, input: &mut BytesReader, track: usize) -> Result<Option<Sample>> {
        for run in self.runs.iter_mut().filter(|r| r.track == track) {
            let index = run.next;
            if let Some(s) = run.next_sample(input)? {
                return Ok(Some(Sample {
                    index,
                    offset: s.offset,
                    size: s.size,
                    dts: s.dts,
                    cts: s.cts,
                    duration: s.duration,
                    sync: is_sync(s.flags),
                    count: 1,
                }));
            }
        }
        Ok(None)
    }

    /// Positions at the fragment whose track `reference` starts at or
    /// before media time `target` with a sync sample (through `tfra`, or
    /// by walking the fragments' headers), its runs read.
    fn seek(
        &mut self,
        input: &mut BytesReader,
        ids: &[u32],
        reference: usize,
        target: i64,
    ) -> Result<()> {
        let id = ids[reference];
        let mut limit = u64::try_from(target.max(0)).unwrap_or(0);
        loop {
            let entry = if self.random_access.has(id) {
                self.random_access.at_or_before(input, id, limit)?
            } else {
                None
            };
            let start = match entry {
                Some(entry) => entry.moof,
                None => self.scan_for(input, reference, target)?,
            };
            self.next_box = start;
            // Times of tracks whose fragments lack `tfdt` restart from 0.
            self.next_dts.iter_mut().for_each(|t| *t = 0);
            if !self.next_fragment(input)? {
                self.runs.clear();
            }
            // A `tfra` time may be the sync sample's decoding time: step
            // back while the fragment starts after the target.
            let Some(entry) = entry.filter(|e| e.time > 0 && start != self.first) else {
                return Ok(());
            };
            let first = match self.runs.iter().find(|r| r.track == reference) {
                Some(run) => run.clone().next_sample(input)?,
                None => None,
            };
            if first.is_none_or(|s| s.cts <= target) {
                return Ok(());
            }
            limit = entry.time - 1;
        }
    }

    /// The composition time of track `track`'s first sample in the
    /// fragments (after the `moov` tables' samples), if it has one there.
    fn first_cts(&mut self, input: &mut BytesReader, track: usize) -> Result<Option<i64>> {
        let Some(header) = read_header(input, self.first, input.size())? else {
            return Ok(None);
        };
        let tracks = FragmentTracks {
            ids: &self.ids,
            trex: &self.trex,
        };
        let mut dts = self.next_dts.clone();
        let runs = read_moof(input, &header, &tracks, &mut dts)?;
        match runs.into_iter().find(|r| r.track == track) {
            Some(mut run) => Ok(run.next_sample(input)?.map(|s| s.cts)),
            None => Ok(None),
        }
    }

    /// The offset of the last fragment whose reference track run starts at
    /// or before `target` with a sync sample, walking every fragment.
    fn scan_for(&mut self, input: &mut BytesReader, reference: usize, target: i64) -> Result<u64> {
        let size = input.size();
        let mut offset = self.first;
        let mut best = self.first;
        let mut dts = vec![0i64; self.ids.len()];
        while let Some(header) = read_header(input, offset, size)? {
            offset = header.end;
            if &header.kind == b"mfra" || header.cut {
                break;
            }
            if &header.kind != b"moof" {
                continue;
            }
            let tracks = FragmentTracks {
                ids: &self.ids,
                trex: &self.trex,
            };
            let mut runs = read_moof(input, &header, &tracks, &mut dts)?;
            let Some(run) = runs.iter_mut().find(|r| r.track == reference) else {
                continue;
            };
            let Some(first) = run.next_sample(input)? else {
                continue;
            };
            if first.cts > target {
                break;
            }
            if is_sync(first.flags) {
                best = header.start;
            }
        }
        Ok(best)
    }
}

impl Demuxer for Mp4Reader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        let ready = self.peek_all()?;
        let Some(i) = self.choose(&ready) else {
            return Ok(None);
        };
        let sample = self.states[i]
            .peeked
            .take()
            .expect("chosen tracks have a sample");
        match self.sample_data(&sample)? {
            Some(data) => Ok(Some(self.unit(i, &sample, data))),
            // The file shrank since it was opened.
            None => Err(MediaError::truncated(
                sample.offset,
                format!("the file ends inside sample {}", sample.index + 1),
            )),
        }
    }

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let end = self.duration();
        // In the `moov` tables, or past them in the fragments.
        let r = self.reference;
        let target = self.media_time(r, self.ticks_of(r, time));
        let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
        let in_tables = match (&self.states[r].cursor, &mut self.fragments) {
            (Some(_), Some(walker)) => walker
                .first_cts(input, r)?
                .is_none_or(|first| target < first),
            (Some(_), None) => true,
            (None, _) => false,
        };
        if end > Duration::ZERO && time >= end {
            for i in 0..self.states.len() {
                let input = self.input.get_mut().unwrap_or_else(|e| e.into_inner());
                let state = &mut self.states[i];
                if let Some(cursor) = &mut state.cursor {
                    let total = cursor.total();
                    cursor.seek_to(input, total)?;
                }
                state.peeked = None;
            }
            if let Some(walker) = &mut self.fragments {
                walker.next_box = u64::MAX;
                walker.runs.clear();
            }
            return Ok(end);
        }
        if in_tables || self.fragments.is_none() {
            if let Some(walker) = &mut self.fragments {
                walker.next_box = walker.first;
                walker.runs.clear();
            }
            self.seek_tables(time)
        } else {
            self.seek_fragments(time)
        }
    }

    /// Exact counts from the sample tables; for a fragmented movie, `None`
    /// (its fragments are counted by reading them).
    fn stats(&self) -> Option<Vec<TrackStats>> {
        if self.fragments.is_some() {
            return None;
        }
        match self.table_stats() {
            Ok(stats) => Some(stats),
            Err(e) => {
                tracing::warn!("MP4 sample tables: {e}; counting by reading");
                None
            }
        }
    }

    /// Parks the input (samples are read whole into units of their own;
    /// the sample tables are read again from the file as needed).
    fn park(&mut self) {
        self.input().park();
    }
}
