//! Exact facts about a whole file: what `probe` prints and what `serve`
//! announces in `a=range` (RFC 2326 §C.1.5).

use std::path::{Path, PathBuf};
use std::time::{Instant, UNIX_EPOCH};

use super::{open_with, AccessUnit, Demuxer, ReadOptions, ReaderFormat, Result, Track};
use crate::vocab::Codec;

/// Exact counts for one track, from the container's tables or from reading
/// every access unit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrackStats {
    /// Coded frames; for PCM, sample frames (one sample per channel).
    pub frames: u64,
    /// Presentation span in the track's clock: from the earliest PTS to the
    /// end of the last unit.
    pub duration: u64,
    /// Bytes of coded data.
    pub bytes: u64,
}

/// A file's format, tracks and exact statistics.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaInfo {
    /// The file inspected.
    pub path: PathBuf,
    /// Its detected format.
    pub format: &'static ReaderFormat,
    /// Its size in bytes.
    pub size: u64,
    /// Its modification time in seconds since the Unix epoch (0 if unknown).
    pub modified: u64,
    /// Its tracks.
    pub tracks: Vec<Track>,
    /// Statistics per track, same order as `tracks`.
    pub stats: Vec<TrackStats>,
}

impl MediaInfo {
    /// The facts about the file at `path` whose `format` and `tracks` a
    /// demuxer found, with their `stats`; adds the file's size and
    /// modification time.
    pub fn new(
        path: &Path,
        format: &'static ReaderFormat,
        tracks: Vec<Track>,
        stats: Vec<TrackStats>,
    ) -> Result<MediaInfo> {
        let metadata = std::fs::metadata(path)?;
        let modified = metadata
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs());
        Ok(MediaInfo {
            path: path.to_owned(),
            format,
            size: metadata.len(),
            modified,
            tracks,
            stats,
        })
    }

    /// Duration of track `index` in seconds.
    pub fn track_duration(&self, index: usize) -> f64 {
        let track = &self.tracks[index];
        self.stats[index].duration as f64 / f64::from(track.clock_rate)
    }

    /// Duration of the file: the longest track, in seconds.
    pub fn duration(&self) -> f64 {
        (0..self.tracks.len())
            .map(|i| self.track_duration(i))
            .fold(0.0, f64::max)
    }

    /// Average bit rate of the whole file in bits per second.
    pub fn bit_rate(&self) -> Option<u64> {
        let duration = self.duration();
        (duration > 0.0).then(|| (self.size as f64 * 8.0 / duration).round() as u64)
    }
}

/// Opens `path` and gathers its exact statistics, reading every access unit
/// when the container does not state them.
pub fn inspect(path: &Path) -> Result<MediaInfo> {
    inspect_with(path, &ReadOptions::default())
}

/// [`inspect`] with the reading `options` choose.
pub fn inspect_with(path: &Path, options: &ReadOptions) -> Result<MediaInfo> {
    let started = Instant::now();
    let mut demuxer = open_with(path, options)?;
    let stats = match demuxer.stats() {
        Some(stats) => {
            tracing::debug!("statistics stated by the container: nothing to count");
            stats
        }
        None => count_units(demuxer.as_mut())?,
    };
    let info = MediaInfo::new(path, demuxer.format(), demuxer.tracks().to_vec(), stats)?;
    tracing::debug!(
        "{} bytes inspected in {:.1} ms",
        info.size,
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(info)
}

/// Reads `demuxer` to its end, counting frames, bytes and the presentation
/// span of every track.
pub fn count_units(demuxer: &mut dyn Demuxer) -> Result<Vec<TrackStats>> {
    let started = Instant::now();
    let mut counter = StatsCounter::new(demuxer.tracks());
    let mut units = 0u64;
    while let Some(unit) = demuxer.read_unit()? {
        tracing::trace!(
            "unit {units}: track {}, pts {}, dts {}, {} bytes{}",
            unit.track,
            unit.pts,
            unit.dts,
            unit.data.len(),
            if unit.keyframe { ", key frame" } else { "" }
        );
        counter.add(&unit);
        units += 1;
    }
    let stats = counter.finish();
    tracing::debug!(
        "read {units} units, {} bytes of coded data, in {:.1} ms",
        stats.iter().map(|s| s.bytes).sum::<u64>(),
        started.elapsed().as_secs_f64() * 1e3
    );
    Ok(stats)
}

/// Exact [`TrackStats`] gathered unit by unit, for a caller that reads the
/// units for another purpose anyway (`packetize` counts while it streams).
#[derive(Clone, Debug)]
pub struct StatsCounter {
    /// Per track: PCM, whose frames are sample frames.
    pcm: Vec<bool>,
    stats: Vec<TrackStats>,
    /// Per track: earliest PTS and latest end seen.
    span: Vec<Option<(i64, i64)>>,
}

impl StatsCounter {
    /// A counter for units of `tracks`, none counted yet.
    pub fn new(tracks: &[Track]) -> StatsCounter {
        StatsCounter {
            pcm: tracks
                .iter()
                .map(|t| matches!(t.codec, Codec::Pcm(_)))
                .collect(),
            stats: vec![TrackStats::default(); tracks.len()],
            span: vec![None; tracks.len()],
        }
    }

    /// Counts one unit (units of unknown tracks are ignored).
    pub fn add(&mut self, unit: &AccessUnit) {
        let Some(s) = self.stats.get_mut(unit.track) else {
            return;
        };
        s.frames += if self.pcm[unit.track] {
            u64::from(unit.duration)
        } else {
            1
        };
        s.bytes += unit.data.len() as u64;
        let end = unit.pts.saturating_add(i64::from(unit.duration));
        let (first, last) = self.span[unit.track].get_or_insert((unit.pts, end));
        *first = (*first).min(unit.pts);
        *last = (*last).max(end);
    }

    /// The statistics of the units counted.
    pub fn finish(self) -> Vec<TrackStats> {
        let mut stats = self.stats;
        for (s, span) in stats.iter_mut().zip(self.span) {
            if let Some((first, last)) = span {
                s.duration = u64::try_from(last.saturating_sub(first)).unwrap_or(0);
            }
        }
        stats
    }
}
