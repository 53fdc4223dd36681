//! Movie fragments (ISO/IEC 14496-12 §8.8): the `moof` boxes of a
//! fragmented file, their track fragments (`traf`: `tfhd` defaults over the
//! movie's `trex`, `tfdt` base decoding time) and track runs (`trun`),
//! whose per-sample entries are read a block at a time like a sample
//! table's. The movie fragment random access box (`mfra`/`tfra`, §8.8.10)
//! finds a sync sample's fragment without reading the file.

use super::boxes::{read_body, read_header, BoxHeader, Children, Fields};
use super::entries::{Entries, Table};
use super::movie::Trex;
use crate::media::{BytesReader, MediaError, Result};

/// Track runs kept per movie fragment: more is a hostile file.
const MAX_RUNS: usize = 4096;

/// `tfhd` flags (§8.8.7.1).
const BASE_DATA_OFFSET: u32 = 0x1;
const DESCRIPTION_INDEX: u32 = 0x2;
const DEFAULT_DURATION: u32 = 0x8;
const DEFAULT_SIZE: u32 = 0x10;
const DEFAULT_FLAGS: u32 = 0x20;
const DEFAULT_BASE_IS_MOOF: u32 = 0x2_0000;

/// `trun` flags (§8.8.8.1).
const DATA_OFFSET: u32 = 0x1;
const FIRST_SAMPLE_FLAGS: u32 = 0x4;
const SAMPLE_DURATION: u32 = 0x100;
const SAMPLE_SIZE: u32 = 0x200;
const SAMPLE_FLAGS: u32 = 0x400;
const SAMPLE_CTS: u32 = 0x800;

/// Sample flags (§8.8.3.1): `sample_is_non_sync_sample`, and
/// `sample_depends_on` = 1 (depends on others), which FFmpeg also reads as
/// "not a key frame".
const NON_SYNC: u32 = 0x1_0000;
const DEPENDS_YES: u32 = 0x100_0000;

/// One track run of a movie fragment, ready to be walked.
#[derive(Clone, Debug)]
pub(super) struct Run {
    /// Index of the movie's track (in the reader's track list).
    pub track: usize,
    /// The per-sample entries (`None`: every field from the defaults).
    entries: Option<Entries>,
    /// Samples in the run.
    pub count: u32,
    flags: u32,
    first_flags: Option<u32>,
    defaults: Defaults,
    /// The next sample: index in the run, file offset, decoding time.
    pub next: u32,
    pub offset: u64,
    pub dts: i64,
}

/// One sample of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RunSample {
    pub offset: u64,
    pub size: u64,
    pub dts: i64,
    pub cts: i64,
    pub duration: u64,
    /// Its sample flags (sync status: see [`is_sync`]).
    pub flags: u32,
}

/// Whether sample flags mark a sync sample.
pub(super) fn is_sync(flags: u32) -> bool {
    flags & (NON_SYNC | DEPENDS_YES) == 0
}

/// Per-sample values a track fragment gives when its runs do not.
#[derive(Clone, Copy, Debug, Default)]
struct Defaults {
    duration: u32,
    size: u32,
    flags: u32,
}

impl Run {
    /// The next sample of the run, `None` after its last.
    pub fn next_sample(&mut self, input: &mut BytesReader) -> Result<Option<RunSample>> {
        if self.next >= self.count {
            return Ok(None);
        }
        let (mut duration, mut size, mut flags, mut cts) = (
            self.defaults.duration,
            self.defaults.size,
            self.defaults.flags,
            0i64,
        );
        if let Some(entries) = &mut self.entries {
            let Some(entry) = entries.get(input, self.next)? else {
                // The file ends inside the run's entries.
                self.count = self.next;
                return Ok(None);
            };
            let mut words = entry
                .chunks_exact(4)
                .map(|w| u32::from_be_bytes(w.try_into().expect("4 bytes")));
            if self.flags & SAMPLE_DURATION != 0 {
                duration = words.next().unwrap_or(0);
            }
            if self.flags & SAMPLE_SIZE != 0 {
                size = words.next().unwrap_or(0);
            }
            if self.flags & SAMPLE_FLAGS != 0 {
                flags = words.next().unwrap_or(0);
            }
            if self.flags & SAMPLE_CTS != 0 {
                // Signed in version 1; FFmpeg reads version 0 signed too.
                cts = i64::from(words.next().unwrap_or(0) as i32);
            }
        }
        if self.next == 0 {
            if let Some(first) = self.first_flags {
                flags = first;
            }
        }
        let sample = RunSample {
            offset: self.offset,
            size: u64::from(size),
            dts: self.dts,
            cts: self.dts.saturating_add(cts),
            duration: u64::from(duration),
            flags,
        };
        self.next += 1;
        self.offset = self.offset.saturating_add(u64::from(size));
        self.dts = self.dts.saturating_add(i64::from(duration));
        Ok(Some(sample))
    }
}

/// The movie's tracks as fragments name them: track id, index in the
/// reader's tracks, `trex` defaults.
pub(super) struct FragmentTracks<'a> {
    pub ids: &'a [u32],
    pub trex: &'a [Trex],
}

impl FragmentTracks<'_> {
    fn index_of(&self, id: u32) -> Option<usize> {
        self.ids.iter().position(|&t| t == id)
    }
}

/// Reads the runs of the movie fragment `moof`, in order; `next_dts` holds
/// each track's decoding time after its last fragment (the base when a
/// `traf` has no `tfdt`), and is moved past this fragment's runs.
pub(super) fn read_moof(
    input: &mut BytesReader,
    moof: &BoxHeader,
    tracks: &FragmentTracks,
    next_dts: &mut [i64],
) -> Result<Vec<Run>> {
    let mut runs = Vec::new();
    // Where the data of a run without a data offset starts: the end of
    // the previous run's data, the fragment's start at first.
    let mut implicit = moof.start;
    let mut trafs = Children::of(moof, 0);
    while let Some(traf) = trafs.next(input)? {
        if &traf.kind != b"traf" {
            continue;
        }
        let mut track = None;
        let mut base = moof.start;
        let mut defaults = Defaults::default();
        let mut decode_time = None;
        let mut traf_runs: Vec<(BoxHeader, Vec<u8>)> = Vec::new();
        let mut children = Children::of(&traf, 0);
        while let Some(child) = children.next(input)? {
            match &child.kind {
                b"tfhd" => {
                    let body = read_body(input, &child, 64)?;
                    let mut f = Fields::new(&body, child.body, "tfhd");
                    let flags = f.u32()? & 0xff_ffff;
                    let id = f.u32()?;
                    let Some(index) = tracks.index_of(id) else {
                        break;
                    };
                    track = Some(index);
                    let trex = tracks
                        .trex
                        .iter()
                        .find(|t| t.track_id == id)
                        .copied()
                        .unwrap_or_default();
                    base = if flags & BASE_DATA_OFFSET != 0 {
                        f.u64()?
                    } else if flags & DEFAULT_BASE_IS_MOOF != 0 {
                        moof.start
                    } else {
                        implicit
                    };
                    if flags & DESCRIPTION_INDEX != 0 {
                        f.skip(4)?;
                    }
                    defaults = Defaults {
                        duration: if flags & DEFAULT_DURATION != 0 {
                            f.u32()?
                        } else {
                            trex.duration
                        },
                        size: if flags & DEFAULT_SIZE != 0 {
                            f.u32()?
                        } else {
                            trex.size
                        },
                        flags: if flags & DEFAULT_FLAGS != 0 {
                            f.u32()?
                        } else {
                            trex.flags
                        },
                    };
                }
                b"tfdt" => {
                    let body = read_body(input, &child, 64)?;
                    let mut f = Fields::new(&body, child.body, "tfdt");
                    let version = f.u8()?;
                    f.skip(3)?;
                    decode_time = Some(f.u32_or_u64(version)?);
                }
                b"trun" => {
                    let mut head = [0u8; 16];
                    let got = input.read_at(child.body, &mut head)?;
                    let len = (child.body_len().min(16) as usize).min(got);
                    traf_runs.push((child, head[..len].to_vec()));
                }
                _ => {}
            }
        }
        let Some(track) = track else {
            continue;
        };
        let mut dts = match decode_time {
            Some(time) => i64::try_from(time).unwrap_or(i64::MAX),
            None => next_dts[track],
        };
        let mut data = base;
        for (trun, head) in traf_runs {
            if runs.len() >= MAX_RUNS {
                return Err(MediaError::invalid(
                    moof.start,
                    format!("a movie fragment with more than {MAX_RUNS} track runs"),
                ));
            }
            let mut f = Fields::new(&head, trun.body, "trun");
            let word = f.u32()?;
            let flags = word & 0xff_ffff;
            let count = f.u32()?;
            let mut fields = 8u64;
            if flags & DATA_OFFSET != 0 {
                let offset = i64::from(f.u32()? as i32);
                data = base.checked_add_signed(offset).unwrap_or(u64::MAX);
                fields += 4;
            }
            let first_flags = if flags & FIRST_SAMPLE_FLAGS != 0 {
                fields += 4;
                Some(f.u32()?)
            } else {
                None
            };
            let entry_size = 4 * [SAMPLE_DURATION, SAMPLE_SIZE, SAMPLE_FLAGS, SAMPLE_CTS]
                .iter()
                .filter(|&&bit| flags & bit != 0)
                .count() as u8;
            let (table, cut) = Table::new(trun.body + fields, count, entry_size.max(1), trun.end);
            let count = if entry_size > 0 {
                table.count
            } else {
                // Every sample from the defaults: as many as the file can
                // hold of that size (none of size 0, which hold nothing).
                let room = input.size().saturating_sub(data);
                let fits = room.checked_div(u64::from(defaults.size)).unwrap_or(0);
                u32::try_from(fits).unwrap_or(u32::MAX).min(count)
            };
            if cut && entry_size > 0 {
                tracing::warn!(
                    "MP4 track run at byte {}: {count} of its samples fit its box",
                    trun.start
                );
            }
            let run = Run {
                track,
                entries: (entry_size > 0).then(|| Entries::new(table)),
                count,
                flags,
                first_flags,
                defaults,
                next: 0,
                offset: data,
                dts,
            };
            if entry_size == 0 {
                data = data.saturating_add(u64::from(count) * u64::from(defaults.size));
                dts = dts
                    .saturating_add(i64::from(count).saturating_mul(i64::from(defaults.duration)));
            } else {
                let mut walked = run.clone();
                while walked.next_sample(input)?.is_some() {}
                data = walked.offset;
                dts = walked.dts;
            }
            implicit = data;
            runs.push(run);
        }
        next_dts[track] = dts;
    }
    Ok(runs)
}

/// A `tfra` entry (§8.8.10): a sync sample's time and the offset of the
/// `moof` holding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct RandomAccess {
    pub time: u64,
    pub moof: u64,
}

/// Where a file's `tfra` tables lie, found through the `mfro` box that
/// ends the file (§8.8.11): one read at open.
#[derive(Clone, Debug, Default)]
pub(super) struct RandomAccessTables {
    /// Per track id: the table of entries and their layout.
    tables: Vec<(u32, TfraTable)>,
}

#[derive(Clone, Copy, Debug)]
struct TfraTable {
    table: Table,
    version: u8,
    /// Bytes of traf_number, trun_number and sample_number together.
    tail: u8,
}

impl RandomAccessTables {
    /// Finds the `mfra` box through the `mfro` box at the end of the file.
    pub fn find(input: &mut BytesReader) -> Result<RandomAccessTables> {
        let size = input.size();
        let mut mfro = [0u8; 16];
        if size < 16 || input.read_at(size - 16, &mut mfro)? < 16 || &mfro[4..8] != b"mfro" {
            return Ok(RandomAccessTables::default());
        }
        let mfra_size = u64::from(u32::from_be_bytes(mfro[12..16].try_into().expect("4")));
        let Some(start) = size.checked_sub(mfra_size) else {
            return Ok(RandomAccessTables::default());
        };
        let Some(mfra) = read_header(input, start, size)? else {
            return Ok(RandomAccessTables::default());
        };
        if &mfra.kind != b"mfra" {
            return Ok(RandomAccessTables::default());
        }
        let mut tables = Vec::new();
        let mut children = Children::of(&mfra, 0);
        while let Some(child) = children.next(input)? {
            if &child.kind != b"tfra" || tables.len() >= 256 {
                continue;
            }
            let mut head = [0u8; 16];
            if child.body_len() < 16 || input.read_at(child.body, &mut head)? < 16 {
                continue;
            }
            let version = head[0];
            let id = u32::from_be_bytes(head[4..8].try_into().expect("4"));
            let lengths = head[11];
            let count = u32::from_be_bytes(head[12..16].try_into().expect("4"));
            let tail = ((lengths >> 4 & 3) + 1) + ((lengths >> 2 & 3) + 1) + ((lengths & 3) + 1);
            let entry = if version == 1 { 16 } else { 8 } + tail;
            let (table, _) = Table::new(child.body + 16, count, entry, child.end);
            tables.push((
                id,
                TfraTable {
                    table,
                    version,
                    tail,
                },
            ));
        }
        Ok(RandomAccessTables { tables })
    }

    /// Whether the file has a `tfra` table for track `id`.
    pub fn has(&self, id: u32) -> bool {
        self.tables.iter().any(|(t, _)| *t == id)
    }

    /// The last entry of track `id` whose time is at or before `time`
    /// (times increase: found by bisection), or the first one.
    pub fn at_or_before(
        &self,
        input: &mut BytesReader,
        id: u32,
        time: u64,
    ) -> Result<Option<RandomAccess>> {
        let Some((_, tfra)) = self.tables.iter().find(|(t, _)| *t == id) else {
            return Ok(None);
        };
        let mut entries = Entries::new(tfra.table);
        let mut read = |entries: &mut Entries, i: u32| -> Result<Option<RandomAccess>> {
            let Some(entry) = entries.get(input, i)? else {
                return Ok(None);
            };
            let number = |b: &[u8]| b.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
            let half = if tfra.version == 1 { 8 } else { 4 };
            let _ = tfra.tail;
            Ok(Some(RandomAccess {
                time: number(&entry[..half]),
                moof: number(&entry[half..2 * half]),
            }))
        };
        let (mut low, mut high) = (0u32, tfra.table.count);
        let mut found = read(&mut entries, 0)?;
        while low < high {
            let mid = low + (high - low) / 2;
            match read(&mut entries, mid)? {
                Some(entry) if entry.time <= time => {
                    found = Some(entry);
                    low = mid + 1;
                }
                _ => high = mid,
            }
        }
        Ok(found)
    }
}
