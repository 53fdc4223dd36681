//! The sample table of a track (ISO/IEC 14496-12 §8.6–§8.7), walked in
//! decoding order without holding it: decoding times from `stts` runs,
//! composition offsets from `ctts` runs, chunks from `stsc` runs and
//! `stco`/`co64`, sizes from `stsz`/`stz2`, sync samples from `stss`. The
//! run-length tables are followed run by run and the per-sample ones read
//! a block at a time ([`Entries`]), so a track of millions of samples costs
//! a few kilobytes, and positioning at any sample skips whole runs.
//!
//! Tolerance, to read what FFmpeg reads: `stsc` entries whose first chunk
//! does not increase, or that give a chunk no samples, are skipped (with a
//! warning: the trailing `first_chunk` 1 entries some writers leave read
//! as FFmpeg reads them) and the first entry applies from chunk 1; `ctts` offsets are
//! signed in either version (writers put negative offsets in version 0);
//! samples beyond `stts` keep its last delta; an `stss` without entries
//! makes every audio sample and the first video sample a sync sample.

use std::ops::Range;

use super::entries::{Entries, Table};
use crate::media::{BytesReader, Result};

/// The tables of one track, as found in its `stbl` box.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct TableBoxes {
    /// `stts`: (sample_count, sample_delta).
    pub stts: Table,
    /// `ctts`: (sample_count, sample_offset).
    pub ctts: Option<Table>,
    /// `stsc`: (first_chunk, samples_per_chunk, sample_description_index).
    pub stsc: Table,
    /// `stco` (4-byte) or `co64` (8-byte) chunk offsets.
    pub chunks: Table,
    /// Sample sizes: one for all samples, or per sample.
    pub sizes: Sizes,
    /// `stss`: sync sample numbers (1-based); `None`: every sample is one.
    pub stss: Option<Table>,
    /// Samples the size table states (`stsz`/`stz2` `sample_count`).
    pub sample_count: u32,
}

/// How sample sizes are given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Sizes {
    /// Every sample has this size (`stsz` `sample_size` ≠ 0).
    Constant(u32),
    /// One entry per sample.
    Each(Table),
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes::Constant(0)
    }
}

/// One sample (or, for PCM, a run of sample frames read as one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Sample {
    /// Index of the (first) sample in the track, from 0.
    pub index: u32,
    /// File offset of its bytes.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Decoding time in the media timescale.
    pub dts: i64,
    /// Composition time: `dts` plus the `ctts` offset.
    pub cts: i64,
    /// Duration in the media timescale (of the whole run, for PCM).
    pub duration: u64,
    /// A sync sample (random access point).
    pub sync: bool,
    /// Samples it stands for (1, or the sample frames of a PCM run).
    pub count: u32,
}

/// Position in a run-length table (`stts`, `ctts`: count, value).
#[derive(Clone, Debug)]
struct Runs {
    entries: Entries,
    /// Index of the next entry to load.
    entry: u32,
    /// Samples left in the current run (0: load the next).
    left: u32,
    /// The current run's value (the last one's past the end).
    value: u32,
}

impl Runs {
    fn new(table: Table) -> Runs {
        Runs {
            entries: Entries::new(table),
            entry: 0,
            left: 0,
            value: 0,
        }
    }

    /// Loads the next non-empty run when the current one is used up;
    /// `false` past the last one (the last value holds).
    fn fill(&mut self, input: &mut BytesReader) -> Result<bool> {
        while self.left == 0 {
            let Some(entry) = self.entries.get(input, self.entry)? else {
                return Ok(false);
            };
            self.left = u32::from_be_bytes(entry[..4].try_into().expect("4 bytes"));
            self.value = u32::from_be_bytes(entry[4..8].try_into().expect("4 bytes"));
            self.entry += 1;
        }
        Ok(true)
    }

    /// Samples left in the current run (`u32::MAX` past the last run).
    fn run_left(&mut self, input: &mut BytesReader) -> Result<u32> {
        Ok(if self.fill(input)? {
            self.left
        } else {
            u32::MAX
        })
    }

    /// The value of the next `n` samples (all in the current run: see
    /// [`run_left`](Self::run_left)), moving past them.
    fn take(&mut self, input: &mut BytesReader, n: u32) -> Result<u32> {
        self.fill(input)?;
        self.left = self.left.saturating_sub(n);
        Ok(self.value)
    }

    /// Moves on by `n` samples, run by run.
    fn advance(&mut self, input: &mut BytesReader, mut n: u32) -> Result<()> {
        while n > 0 {
            let step = self.run_left(input)?.min(n);
            self.take(input, step)?;
            n -= step;
        }
        Ok(())
    }

    /// Moves to sample `index` from the start; returns the sum of the
    /// values (read as `signed`) of the samples before it.
    fn skip_to(&mut self, input: &mut BytesReader, index: u32, signed: bool) -> Result<i64> {
        self.entry = 0;
        self.left = 0;
        self.value = 0;
        let mut sum = 0i64;
        let mut remaining = index;
        while remaining > 0 {
            let n = self.run_left(input)?.min(remaining);
            let value = self.take(input, n)?;
            let value = if signed {
                i64::from(value as i32)
            } else {
                i64::from(value)
            };
            sum = sum.saturating_add(value.saturating_mul(i64::from(n)));
            remaining -= n;
        }
        Ok(sum)
    }
}

/// The runs of chunks of `stsc`: from a first chunk on, so many samples per
/// chunk. Entries breaking the order are skipped.
#[derive(Clone, Debug)]
struct ChunkRuns {
    entries: Entries,
    /// Index of the next raw entry to read.
    next_entry: u32,
    /// The run in force: first chunk (0-based), samples per chunk.
    current: (u32, u32),
    /// The next valid run, if any.
    upcoming: Option<(u32, u32)>,
    /// Invalid entries were skipped.
    skipped: bool,
}

impl ChunkRuns {
    /// The runs of `table`; `None` when it has no valid entry.
    fn start(table: Table, input: &mut BytesReader) -> Result<Option<ChunkRuns>> {
        let mut runs = ChunkRuns {
            entries: Entries::new(table),
            next_entry: 0,
            current: (0, 0),
            upcoming: None,
            skipped: false,
        };
        // The first valid entry applies from the first chunk.
        let Some((first, per_chunk)) = runs.next_valid(input, None)? else {
            return Ok(None);
        };
        runs.current = (0, per_chunk);
        runs.upcoming = runs.next_valid(input, Some(first))?;
        Ok(Some(runs))
    }

    /// The next entry with samples whose first chunk comes after `after`.
    fn next_valid(
        &mut self,
        input: &mut BytesReader,
        after: Option<u32>,
    ) -> Result<Option<(u32, u32)>> {
        while let Some(entry) = self.entries.get(input, self.next_entry)? {
            self.next_entry += 1;
            let first = u32::from_be_bytes(entry[..4].try_into().expect("4 bytes"));
            let per_chunk = u32::from_be_bytes(entry[4..8].try_into().expect("4 bytes"));
            let first = first.saturating_sub(1);
            if per_chunk > 0 && after.is_none_or(|a| first > a) {
                return Ok(Some((first, per_chunk)));
            }
            self.skipped = true;
        }
        Ok(None)
    }

    /// Samples in chunk `chunk` (at or after the current run's first).
    fn per_chunk(&mut self, input: &mut BytesReader, chunk: u32) -> Result<u32> {
        while let Some(next) = self.upcoming.filter(|u| u.0 <= chunk) {
            self.current = next;
            self.upcoming = self.next_valid(input, Some(next.0))?;
        }
        Ok(self.current.1)
    }
}

/// Sync samples from `stss`, asked in increasing order.
#[derive(Clone, Debug)]
enum SyncSamples {
    /// Every sample.
    All,
    /// The first only (an `stss` without entries, in a video track).
    First,
    /// The listed ones: the table, the next entry, and the 0-based index of
    /// the sync sample it names (`u64::MAX` after the last).
    Listed {
        entries: Entries,
        entry: u32,
        next: u64,
    },
}

impl SyncSamples {
    fn new(stss: Option<Table>, video: bool) -> SyncSamples {
        match stss {
            None => SyncSamples::All,
            Some(table) if table.count == 0 => {
                if video {
                    SyncSamples::First
                } else {
                    SyncSamples::All
                }
            }
            Some(table) => SyncSamples::Listed {
                entries: Entries::new(table),
                entry: 0,
                next: 0,
            },
        }
    }

    /// Whether sample `index` is a sync sample; indexes asked must not
    /// decrease until [`rewind`](Self::rewind).
    fn is_sync(&mut self, input: &mut BytesReader, index: u32) -> Result<bool> {
        let index = u64::from(index);
        match self {
            SyncSamples::All => Ok(true),
            SyncSamples::First => Ok(index == 0),
            SyncSamples::Listed {
                entries,
                entry,
                next,
            } => {
                while *next < index || (*entry == 0 && *next == 0) {
                    match entries.number(input, *entry)? {
                        Some(number) => {
                            *entry += 1;
                            // Numbers start at 1; a 0 is skipped.
                            if number > 0 && number > *next {
                                *next = number - 1;
                                if *next >= index {
                                    break;
                                }
                            }
                        }
                        None => {
                            *next = u64::MAX;
                            break;
                        }
                    }
                }
                Ok(*next == index)
            }
        }
    }

    fn rewind(&mut self) {
        if let SyncSamples::Listed { entry, next, .. } = self {
            *entry = 0;
            *next = 0;
        }
    }
}

/// Sample sizes, constant or read from the table.
#[derive(Clone, Debug)]
enum SizeTable {
    Constant(u32),
    Each(Entries),
}

impl SizeTable {
    fn new(sizes: Sizes) -> SizeTable {
        match sizes {
            Sizes::Constant(size) => SizeTable::Constant(size),
            Sizes::Each(table) => SizeTable::Each(Entries::new(table)),
        }
    }

    fn size(&mut self, input: &mut BytesReader, index: u32) -> Result<Option<u64>> {
        match self {
            SizeTable::Constant(size) => Ok(Some(u64::from(*size))),
            SizeTable::Each(entries) => entries.number(input, index),
        }
    }

    /// The sizes of samples `range` added up (what lies before a sample in
    /// its chunk), in work bounded by the table's bytes in the file, not
    /// by the counts a file states: a constant size is multiplied, and a
    /// table is read only as far as it goes. A fuzzed file whose `stsc`
    /// put billions of samples in one chunk made every seek add up a
    /// constant size that many times (fuzz/regressions/mp4).
    fn sum(&mut self, input: &mut BytesReader, range: Range<u32>) -> Result<u64> {
        match self {
            SizeTable::Constant(size) => Ok(u64::from(range.end - range.start) * u64::from(*size)),
            SizeTable::Each(entries) => {
                let mut sum = 0u64;
                for index in range {
                    match entries.number(input, index)? {
                        Some(size) => sum = sum.saturating_add(size),
                        None => break,
                    }
                }
                Ok(sum)
            }
        }
    }
}

/// Walks a track's samples in decoding order.
#[derive(Clone, Debug)]
pub(super) struct Cursor {
    boxes: TableBoxes,
    stts: Runs,
    ctts: Option<Runs>,
    /// `None`: no valid `stsc` entry, so no samples.
    chunk_runs: Option<ChunkRuns>,
    chunk_offsets: Entries,
    sizes: SizeTable,
    sync: SyncSamples,
    /// Bytes per sample for PCM, whose samples are read in runs (0: each
    /// sample its own size).
    frame_bytes: u64,
    /// Samples the size table states.
    total: u32,
    /// The next sample: its index, its chunk (0-based), the samples left
    /// in that chunk, its file offset and decoding time.
    index: u32,
    chunk: u32,
    chunk_left: u32,
    offset: u64,
    dts: i64,
}

impl Cursor {
    /// A cursor at the first sample of `boxes`; `video`: an `stss` without
    /// entries marks the first sample only; `frame_bytes`: see the field.
    pub fn new(
        boxes: &TableBoxes,
        video: bool,
        frame_bytes: u64,
        input: &mut BytesReader,
    ) -> Result<Cursor> {
        let mut cursor = Cursor {
            boxes: *boxes,
            stts: Runs::new(boxes.stts),
            ctts: boxes.ctts.map(Runs::new),
            chunk_runs: ChunkRuns::start(boxes.stsc, input)?,
            chunk_offsets: Entries::new(boxes.chunks),
            sizes: SizeTable::new(boxes.sizes),
            sync: SyncSamples::new(boxes.stss, video),
            frame_bytes,
            total: boxes.sample_count,
            index: 0,
            chunk: 0,
            chunk_left: 0,
            offset: 0,
            dts: 0,
        };
        cursor.seek_to(input, 0)?;
        Ok(cursor)
    }

    /// Whether `stsc` entries were skipped as invalid.
    pub fn skipped_chunk_entries(&self) -> bool {
        self.chunk_runs.as_ref().is_some_and(|r| r.skipped)
    }

    /// Samples the size table states.
    pub fn total(&self) -> u32 {
        self.total
    }

    /// Index of the next sample.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The next sample, or for PCM the next run of up to `max` sample
    /// frames within one chunk and one `stts` run; `None` after the last
    /// (or where the chunk tables run out).
    pub fn next(&mut self, input: &mut BytesReader, max: u32) -> Result<Option<Sample>> {
        if self.index >= self.total || !self.enter_chunk(input)? {
            return Ok(None);
        }
        let (count, size) = if self.frame_bytes == 0 {
            match self.sizes.size(input, self.index)? {
                Some(size) => (1, size),
                None => {
                    return Ok(None);
                }
            }
        } else {
            let count = max
                .min(self.chunk_left)
                .min(self.total - self.index)
                .min(self.stts.run_left(input)?)
                .max(1);
            (count, self.frame_bytes * u64::from(count))
        };
        let delta = self.stts.take(input, count)?;
        let composition = match &mut self.ctts {
            Some(runs) => i64::from(runs.take(input, count)? as i32),
            None => 0,
        };
        let sample = Sample {
            index: self.index,
            offset: self.offset,
            size,
            dts: self.dts,
            cts: self.dts.saturating_add(composition),
            duration: u64::from(delta) * u64::from(count),
            sync: self.sync.is_sync(input, self.index)?,
            count,
        };
        self.index += count;
        self.chunk_left -= count;
        self.offset = self.offset.saturating_add(size);
        self.dts = self.dts.saturating_add(sample.duration as i64);
        Ok(Some(sample))
    }

    /// Skips the samples left in the current chunk (which lie after the
    /// last one read: past the end of the file when it did), in whole runs.
    pub fn skip_chunk(&mut self, input: &mut BytesReader) -> Result<()> {
        let n = self.chunk_left.min(self.total - self.index);
        let mut dts = self.dts;
        let mut left = n;
        while left > 0 {
            let step = self.stts.run_left(input)?.min(left);
            let delta = self.stts.take(input, step)?;
            dts = dts.saturating_add(i64::from(delta).saturating_mul(i64::from(step)));
            left -= step;
        }
        if let Some(ctts) = &mut self.ctts {
            ctts.advance(input, n)?;
        }
        self.dts = dts;
        self.index += n;
        self.chunk_left = 0;
        Ok(())
    }

    /// Makes the next sample's chunk current, moving on to the next chunk
    /// when this one is used up; `false` past the last.
    fn enter_chunk(&mut self, input: &mut BytesReader) -> Result<bool> {
        if self.chunk_left > 0 {
            return Ok(true);
        }
        let Some(runs) = &mut self.chunk_runs else {
            return Ok(false);
        };
        self.chunk = self.chunk.saturating_add(1);
        let Some(offset) = self.chunk_offsets.number(input, self.chunk)? else {
            return Ok(false);
        };
        // Valid runs give every chunk at least one sample.
        self.chunk_left = runs.per_chunk(input, self.chunk)?;
        self.offset = offset;
        Ok(true)
    }

    /// Positions the cursor at sample `index` (the end when past it).
    pub fn seek_to(&mut self, input: &mut BytesReader, index: u32) -> Result<()> {
        let index = index.min(self.total);
        self.dts = self.stts.skip_to(input, index, false)?;
        if let Some(ctts) = &mut self.ctts {
            ctts.skip_to(input, index, true)?;
        }
        self.sync.rewind();
        self.index = index;
        if self.chunk_runs.is_none() {
            return Ok(());
        }
        let Some((runs, chunk, within)) = self.locate(input, index)? else {
            return Ok(());
        };
        self.chunk_runs = Some(runs);
        let runs = self.chunk_runs.as_mut().expect("just set");
        self.chunk = chunk;
        let Some(start) = self.chunk_offsets.number(input, chunk)? else {
            self.chunk_left = 0;
            return Ok(());
        };
        let per_chunk = runs.per_chunk(input, chunk)?;
        self.chunk_left = per_chunk - within;
        self.offset = start;
        if self.frame_bytes > 0 {
            self.offset += u64::from(within) * self.frame_bytes;
        } else {
            let before = self.sizes.sum(input, index - within..index)?;
            self.offset = self.offset.saturating_add(before);
        }
        Ok(())
    }

    /// The chunk holding sample `index` (0-based) and its place in it, with
    /// the `stsc` runs positioned there; `None` without valid runs.
    fn locate(&self, input: &mut BytesReader, index: u32) -> Result<Option<(ChunkRuns, u32, u32)>> {
        let Some(mut runs) = ChunkRuns::start(self.boxes.stsc, input)? else {
            return Ok(None);
        };
        let chunks = self.chunk_offsets.len();
        let mut before = 0u64;
        loop {
            let (first, per_chunk) = runs.current;
            let last = runs.upcoming.map_or(chunks, |u| u.0.min(chunks));
            let in_run = u64::from(last.saturating_sub(first)) * u64::from(per_chunk);
            let Some(next) = runs
                .upcoming
                .filter(|_| u64::from(index) >= before + in_run)
            else {
                let rel = u64::from(index) - before;
                let chunk = u64::from(first) + rel / u64::from(per_chunk);
                let within = (rel % u64::from(per_chunk)) as u32;
                return Ok(Some((
                    runs,
                    u32::try_from(chunk).unwrap_or(u32::MAX),
                    within,
                )));
            };
            before += in_run;
            runs.per_chunk(input, next.0)?;
        }
    }

    /// The first sample of the run of at most `run` samples holding sample
    /// `index` when a chunk is read in such runs (PCM).
    pub fn run_start(&self, input: &mut BytesReader, index: u32, run: u32) -> Result<u32> {
        Ok(match self.locate(input, index)? {
            Some((_, _, within)) => index - within % run.max(1),
            None => index,
        })
    }

    /// The decoding time of sample `index`.
    pub fn dts_of(&self, input: &mut BytesReader, index: u32) -> Result<i64> {
        Runs::new(self.boxes.stts).skip_to(input, index, false)
    }

    /// The composition time of sample `index`.
    pub fn cts_of(&self, input: &mut BytesReader, index: u32) -> Result<i64> {
        let dts = self.dts_of(input, index)?;
        let Some(ctts) = self.boxes.ctts else {
            return Ok(dts);
        };
        let mut runs = Runs::new(ctts);
        runs.skip_to(input, index, true)?;
        Ok(dts.saturating_add(i64::from(runs.take(input, 1)? as i32)))
    }

    /// The index of the first sample whose decoding ends after `time`
    /// (the one playing then, for a track without composition offsets);
    /// the sample count when none does.
    pub fn sample_at(&self, input: &mut BytesReader, time: i64) -> Result<u32> {
        let mut runs = Runs::new(self.boxes.stts);
        let mut index = 0u32;
        let mut dts = 0i64;
        while index < self.total {
            let left = runs.run_left(input)?.min(self.total - index);
            let delta = i64::from(runs.take(input, left)?);
            let run_end = dts.saturating_add(delta.saturating_mul(i64::from(left)));
            if run_end > time {
                let within = if delta == 0 {
                    0
                } else {
                    ((time - dts).max(0) / delta) as u32
                };
                return Ok(index + within.min(left - 1));
            }
            dts = run_end;
            index += left;
        }
        Ok(self.total)
    }

    /// The last sync sample at or before sample `index`, if any.
    pub fn sync_at_or_before(&self, input: &mut BytesReader, index: u32) -> Result<Option<u32>> {
        let mut sync = SyncSamples::new(self.boxes.stss, false);
        let SyncSamples::Listed { entries, .. } = &mut sync else {
            return Ok(match self.boxes.stss {
                Some(t) if t.count == 0 => Some(0),
                _ => Some(index),
            });
        };
        // Sync sample numbers increase: find the last one ≤ index + 1 by
        // bisection over the table.
        let (mut low, mut high) = (0u32, entries.len());
        let mut found = None;
        while low < high {
            let mid = low + (high - low) / 2;
            match entries.number(input, mid)? {
                Some(number) if number >= 1 && number - 1 <= u64::from(index) => {
                    found = Some((number - 1) as u32);
                    low = mid + 1;
                }
                Some(_) => high = mid,
                None => high = mid,
            }
        }
        Ok(found)
    }

    /// The most negative composition offset among the first `limit` runs
    /// of `ctts` (0 when none is negative): how far decoding times must
    /// move back for every sample to be decoded before it is presented.
    pub fn most_negative_offset(&self, input: &mut BytesReader, limit: u32) -> Result<i64> {
        let Some(table) = self.boxes.ctts else {
            return Ok(0);
        };
        let mut entries = Entries::new(table);
        let mut least = 0i64;
        for i in 0..table.count.min(limit) {
            let Some(entry) = entries.get(input, i)? else {
                break;
            };
            let offset = i32::from_be_bytes(entry[4..8].try_into().expect("4 bytes"));
            least = least.min(i64::from(offset));
        }
        Ok(least)
    }

    /// The duration of the first `n` samples (from `stts`).
    pub fn duration_of_first(&self, input: &mut BytesReader, n: u32) -> Result<i64> {
        Runs::new(self.boxes.stts).skip_to(input, n, false)
    }
}
