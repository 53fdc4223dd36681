//! The streamed tracks' access units in one sequence by decoding time: a
//! k-way merge of per-track queues, filled from the demuxer in file order
//! (containers interleave tracks in chunks, so one track's units wait for
//! another's).

use std::collections::VecDeque;
use std::time::Duration;

use super::timeline::{duration_ns, ns, unit_end};
use super::track::StreamedTrack;
use crate::media::{AccessUnit, Demuxer, MediaError};
use crate::vocab::TrackKind;

/// Units buffered while waiting for a slow track before the earliest is sent
/// anyway (bounds memory when a selected track is sparse).
const MAX_QUEUED_UNITS: usize = 512;

/// One streamed track's units read and not yet taken.
struct Lane {
    /// The track's timestamp clock (units' PTS/DTS).
    clock_rate: u32,
    /// Whether the track starts a seek with the unit containing the
    /// position, dropping the ones before (every kind but video, which
    /// starts at the key frame the demuxer sought).
    aligns_to_seek: bool,
    units: VecDeque<AccessUnit>,
    /// After a seek: drop units ending at or before this media time (ns),
    /// until one is kept (audio aligned to the video key frame).
    skip_until: Option<i64>,
}

/// The demuxer and the queues of the streamed tracks, by their position in
/// the stream.
pub(super) struct TrackMerge {
    demuxer: Box<dyn Demuxer>,
    lanes: Vec<Lane>,
    /// File track index -> position in `lanes`.
    by_index: Vec<Option<usize>>,
    /// The demuxer has nothing more before the next seek.
    demux_done: bool,
    /// A read error, reported once the units read before it are taken.
    pending_error: Option<MediaError>,
    /// Units taken since the last seek.
    taken: u64,
    /// Bytes of access-unit data read so far.
    bytes_read: u64,
}

impl TrackMerge {
    /// Merges `tracks` (the stream's, in order) of `demuxer`.
    pub(super) fn new(demuxer: Box<dyn Demuxer>, tracks: &[StreamedTrack]) -> TrackMerge {
        let mut by_index = vec![None; demuxer.tracks().len()];
        for (pos, t) in tracks.iter().enumerate() {
            by_index[t.index] = Some(pos);
        }
        let lanes = tracks
            .iter()
            .map(|t| Lane {
                clock_rate: t.clock_rate,
                aligns_to_seek: t.kind != TrackKind::Video,
                units: VecDeque::new(),
                skip_until: None,
            })
            .collect();
        TrackMerge {
            demuxer,
            lanes,
            by_index,
            demux_done: false,
            pending_error: None,
            taken: 0,
            bytes_read: 0,
        }
    }

    /// The stream position of file track `track`, if it is streamed.
    pub(super) fn position_of(&self, track: usize) -> Option<usize> {
        self.by_index.get(track).copied().flatten()
    }

    /// Bytes of access-unit data read from the file so far.
    pub(super) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Units taken since the last seek.
    pub(super) fn taken(&self) -> u64 {
        self.taken
    }

    /// The track whose queued unit goes next and that unit's decoding time
    /// (ns), reading the demuxer until every track has a unit queued, the
    /// file ends, or too much is buffered. `None` when every unit read is
    /// taken and the demuxer has no more (or failed: see
    /// [`take_error`](Self::take_error)).
    pub(super) fn next(&mut self) -> Option<(usize, i64)> {
        loop {
            let queued: usize = self.lanes.iter().map(|l| l.units.len()).sum();
            let all_have_one = self.lanes.iter().all(|l| !l.units.is_empty());
            if self.demux_done || all_have_one || queued >= MAX_QUEUED_UNITS {
                let (dts, pos) = self
                    .lanes
                    .iter()
                    .enumerate()
                    .filter_map(|(pos, l)| l.units.front().map(|u| (ns(u.dts, l.clock_rate), pos)))
                    .min()?;
                return Some((pos, dts));
            }
            match self.demuxer.read_unit() {
                Ok(Some(unit)) => self.route(unit),
                Ok(None) => self.demux_done = true,
                Err(e) => {
                    self.demux_done = true;
                    self.pending_error = Some(e);
                }
            }
        }
    }

    /// Takes the unit at the head of the track at `pos`.
    pub(super) fn take(&mut self, pos: usize) -> Option<AccessUnit> {
        let unit = self.lanes[pos].units.pop_front()?;
        self.taken += 1;
        Some(unit)
    }

    /// The read error that ended the units, once.
    pub(super) fn take_error(&mut self) -> Option<MediaError> {
        self.pending_error.take()
    }

    /// Parks the demuxer (see [`Demuxer::park`]) and copies the units
    /// queued into one buffer of their size, so that they keep no read
    /// buffer alive.
    pub(super) fn park(&mut self) {
        self.demuxer.park();
        crate::media::compact(
            self.lanes
                .iter_mut()
                .flat_map(|lane| lane.units.iter_mut().map(|u| &mut u.data))
                .collect(),
        );
    }

    /// Seeks the demuxer to the key frame at or before `npt` and empties
    /// the queues; the tracks that align to a seek drop their units ending
    /// before the position reached. Nothing changes when the seek fails.
    ///
    /// With no key frame at or before `npt` (a seek to the start of a file
    /// whose video starts after its audio, as B-frame delay makes it), the
    /// demuxer lands on the first key frame, later than `npt`: the position
    /// reached is then `npt` itself, since every track plays from its
    /// start. (Announcing the key frame's time would put the audio sent
    /// before it ahead of RTP-Info's `rtptime`, which ffmpeg drops.)
    pub(super) fn seek(&mut self, npt: Duration) -> Result<Duration, MediaError> {
        let reached = self.demuxer.seek(npt)?.min(npt);
        let start = duration_ns(reached);
        self.taken = 0;
        self.demux_done = false;
        self.pending_error = None;
        for lane in &mut self.lanes {
            lane.units.clear();
            lane.skip_until = (lane.aligns_to_seek && start > 0).then_some(start);
        }
        Ok(reached)
    }

    /// Queues a unit read from the demuxer on its track, unless the track is
    /// not streamed or the unit ends before a seek target.
    fn route(&mut self, unit: AccessUnit) {
        self.bytes_read += unit.data.len() as u64;
        let Some(pos) = self.position_of(unit.track) else {
            return;
        };
        let lane = &mut self.lanes[pos];
        if let Some(until) = lane.skip_until {
            if unit_end(&unit, lane.clock_rate) <= until {
                return;
            }
            lane.skip_until = None;
        }
        lane.units.push_back(unit);
    }
}

#[cfg(test)]
mod tests {
    use crate::stream::testing::{av_demuxer, config};
    use crate::stream::MediaStream;

    #[test]
    fn read_error_comes_after_the_units_before_it() {
        let mut demuxer = av_demuxer();
        demuxer.fail_at = Some(40);
        let mut stream = MediaStream::new(Box::new(demuxer), config()).unwrap();
        let mut count = 0;
        let err = loop {
            match stream.next_packet() {
                Ok(Some(_)) => count += 1,
                Ok(None) => panic!("ended without the error"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("truncated at byte 1234"), "{err}");
        // 27 video frames, 2 audio units (13 ms -> 50 packets) and RTCP.
        assert!(count > 27 * 3 + 50, "{count}");
        assert!(stream.next_packet().unwrap().is_none());
    }
}
