//! Seeking in an Ogg file by bisection on granule positions (RFC 3533 §6:
//! a page's granule position is the position where its last completed
//! packet ends; pages are in time order).
//!
//! The reference track is the first video track (Theora), else the first
//! track. For Theora the target is the key frame at or before the time:
//! the last page ending before the frame containing the time gives, in its
//! granule position, the key frame of its last frame (§A.2.3); the frames
//! read from there to the time may hold a later one. For audio the target
//! is the time itself. Every track then resumes from the last page of its
//! stream that ends at or before the target (the packet containing it
//! starts there, or on the next page of the stream), the file from the
//! earliest of those pages, and units that end before the target are
//! dropped. A Vorbis decoder outputs nothing for its first packet, so the
//! last dropped Vorbis packet goes out again first, with no duration
//! (Vorbis I §1.3.2).
//!
//! Each bisection step reads a page at the middle of the range with a good
//! CRC (a capture pattern inside a packet does not pass for a page); below
//! [`LINEAR`] bytes it reads on page by page.
//!
//! Granule positions restart at each chain, so in a chained file (a stream
//! starting after the first chain's data: found by the last page's serial
//! number, or else by a walk over the page headers, once per reader)
//! seeking reads forward from the start instead, dropping units, twice for
//! video (the key frame first, then the units from it).

use std::time::Duration;

use super::mapping::Mapping;
use super::{OggReader, SeekTarget};
use crate::media::Result;
use crate::vocab::clock::{rescale, sample_at, time_of};
use crate::vocab::TrackKind;

/// Below this many bytes a bisection range is read page by page.
const LINEAR: u64 = 64 * 1024;

/// Positions every track at `time` (see the module docs) and returns the
/// time of the reference track's first unit.
pub(super) fn seek(reader: &mut OggReader, time: Duration) -> Result<Duration> {
    let reference = reader
        .tracks
        .iter()
        .position(|t| t.kind() == TrackKind::Video)
        .unwrap_or(0);
    let rate = reader.tracks[reference].clock_rate;
    let target = i64::try_from(sample_at(time, rate)).unwrap_or(i64::MAX);
    let from = if is_chained(reader)? {
        let from = key_time_by_reading(reader, reference, target)?;
        reader.rewind()?;
        from
    } else {
        let from = key_time_by_bisection(reader, reference, target)?;
        resume_at(reader, reference, from)?;
        from
    };
    for (track, t) in reader.tracks.iter().enumerate() {
        let primes = t.codec == crate::vocab::Codec::Vorbis;
        reader.seek_targets[track] = Some(SeekTarget {
            from: rescale(from, rate, t.clock_rate),
            primes,
        });
    }
    // The reference track's first unit kept, read ahead and left queued.
    loop {
        if let Some(unit) = reader.queue.iter().find(|u| u.track == reference) {
            return Ok(time_of(u64::try_from(unit.pts).unwrap_or(0), rate));
        }
        if !reader.read_page()? {
            let end = reader.track_end[reference].unwrap_or(target);
            return Ok(time_of(u64::try_from(end).unwrap_or(0), rate));
        }
    }
}

/// Whether the file holds more than one chain (cached).
fn is_chained(reader: &mut OggReader) -> Result<bool> {
    if let Some(chained) = reader.chained {
        return Ok(chained);
    }
    let serials: Vec<u32> = reader.chain.streams.iter().map(|s| s.serial).collect();
    let chained = match reader.pages.last_serial()? {
        Some(serial) if !serials.contains(&serial) => true,
        _ => reader.pages.bos_after(reader.data_start)?,
    };
    if chained {
        tracing::debug!("Ogg: a chained file: seeking reads from the start");
    }
    reader.chained = Some(chained);
    Ok(chained)
}

/// The stream of the first chain carrying `track`: serial, mapping and
/// timeline offset.
fn stream_of(reader: &OggReader, track: usize) -> Option<(u32, Mapping, i64)> {
    reader
        .chain
        .streams
        .iter()
        .find(|s| s.track == Some(track))
        .and_then(|s| Some((s.serial, s.mapping.clone()?, s.offset)))
}

/// The time (in the reference track's clock) where reading must start for
/// `target`: the key frame at or before it for Theora, else `target`.
fn key_time_by_bisection(reader: &mut OggReader, reference: usize, target: i64) -> Result<i64> {
    let Some((serial, mapping, offset)) = stream_of(reader, reference) else {
        return Ok(target);
    };
    let Mapping::Theora(_) = mapping else {
        return Ok(target);
    };
    let frame = mapping.position_of(target.saturating_sub(offset));
    let before = last_page_before(reader, serial, &mapping, frame)?;
    // The key frame of the last frame of that page (its number counts
    // from 1, as positions end frames).
    let key = before
        .and_then(|(_, granule)| mapping.keyframe_position(granule))
        .map_or(offset, |k| offset.saturating_add(mapping.ticks(k - 1)));
    // A later key frame among the frames up to the target.
    reader
        .pages
        .seek(before.map_or(reader.data_start, |(at, _)| at))?;
    reader.forget_position();
    scan_key_frames(reader, reference, target, key)
}

/// Reads on from where `reader` stands to the first unit of `reference`
/// after `target`: the latest key frame at or before `target`, or `key`
/// if none is, or the end of the track when it ends at or before `target`.
fn scan_key_frames(
    reader: &mut OggReader,
    reference: usize,
    target: i64,
    mut key: i64,
) -> Result<i64> {
    let mut end = None;
    while reader.read_page()? {
        let mut past = false;
        for unit in reader.queue.drain(..) {
            if unit.track != reference {
                continue;
            }
            past |= unit.pts > target;
            if unit.keyframe && unit.pts <= target {
                key = key.max(unit.pts);
            }
            end = Some(unit.pts.saturating_add(i64::from(unit.duration)));
        }
        if past {
            return Ok(key);
        }
    }
    Ok(match end {
        Some(end) if end <= target => end,
        _ => key,
    })
}

/// Reads the file from its start to find the key frame at or before
/// `target` on the reference track, if it is video.
fn key_time_by_reading(reader: &mut OggReader, reference: usize, target: i64) -> Result<i64> {
    if reader.tracks[reference].kind() != TrackKind::Video {
        return Ok(target);
    }
    reader.rewind()?;
    scan_key_frames(reader, reference, target, 0)
}

/// Moves reading to where every track's unit at `from` (in the reference
/// track's clock) can be read: the earliest of the pages found for each.
fn resume_at(reader: &mut OggReader, reference: usize, from: i64) -> Result<()> {
    let rate = reader.tracks[reference].clock_rate;
    let mut resume = u64::MAX;
    for track in 0..reader.tracks.len() {
        let Some((serial, mapping, offset)) = stream_of(reader, track) else {
            continue;
        };
        let ticks = rescale(from, rate, reader.tracks[track].clock_rate);
        let position = mapping.position_of(ticks.saturating_sub(offset));
        let page = last_page_before(reader, serial, &mapping, position)?;
        resume = resume.min(page.map_or(reader.data_start, |(at, _)| at));
    }
    reader.pages.seek(resume.min(reader.pages.file_size()))?;
    reader.forget_position();
    Ok(())
}

/// The last page of stream `serial` whose position is at most `target`:
/// its offset and granule position; `None` when the stream's first page
/// ends after it.
fn last_page_before(
    reader: &mut OggReader,
    serial: u32,
    mapping: &Mapping,
    target: i64,
) -> Result<Option<(u64, u64)>> {
    let mut best = None;
    let (mut lo, mut hi) = (reader.data_start, reader.pages.file_size());
    while hi - lo > LINEAR {
        let mid = lo + (hi - lo) / 2;
        match next_timed_page(reader, mid, hi, serial)? {
            Some((at, after, granule)) if mapping.position(granule) <= target => {
                best = Some((at, granule));
                lo = after;
            }
            _ => hi = mid,
        }
    }
    reader.pages.seek(lo)?;
    while let Some(page) = reader.pages.next_page_quietly()? {
        let Some(granule) = page.granule().filter(|_| page.serial() == serial) else {
            continue;
        };
        if mapping.position(granule) > target {
            break;
        }
        best = Some((page.offset, granule));
    }
    Ok(best)
}

/// The first page of `serial` with a granule position that starts at or
/// after `from` and before `until`: its offset, the offset after it, and
/// its granule position.
fn next_timed_page(
    reader: &mut OggReader,
    from: u64,
    until: u64,
    serial: u32,
) -> Result<Option<(u64, u64, u64)>> {
    let mut page = reader.pages.page_at(from)?;
    while let Some(p) = page {
        if p.offset >= until {
            break;
        }
        if let Some(granule) = p.granule().filter(|_| p.serial() == serial) {
            return Ok(Some((p.offset, p.offset + p.len() as u64, granule)));
        }
        page = reader.pages.next_page_quietly()?;
    }
    Ok(None)
}

impl OggReader {
    /// Reading continues elsewhere in the current chain: what each stream
    /// was in the middle of is forgotten, and its packets are timed from
    /// the next page with a granule position.
    fn forget_position(&mut self) {
        for stream in &mut self.chain.streams {
            stream.discontinuity();
            stream.next_sequence = None;
        }
        self.reset_reading();
    }
}
