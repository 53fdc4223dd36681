//! A demuxer wrapper that counts the units read through it, so that the
//! packetizing pass also gathers the exact statistics `media::inspect`
//! would read the file again for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mediatool::media::{self, AccessUnit, Demuxer, ReaderFormat, StatsCounter, Track, TrackStats};

/// Statistics shared with the thread that reads through a [`CountingDemuxer`]:
/// set once the end of the file is reached.
pub type CountedStats = Arc<Mutex<Option<Vec<TrackStats>>>>;

/// A demuxer that counts the units read through it.
pub struct CountingDemuxer {
    inner: Box<dyn Demuxer>,
    /// `None` once a seek or an error made the counts partial.
    counter: Option<StatsCounter>,
    /// The statistics, once the end of the file is reached.
    result: CountedStats,
}

impl CountingDemuxer {
    /// Counts what is read from `inner` into `result`.
    pub fn new(inner: Box<dyn Demuxer>, result: CountedStats) -> CountingDemuxer {
        CountingDemuxer {
            counter: Some(StatsCounter::new(inner.tracks())),
            inner,
            result,
        }
    }
}

impl Demuxer for CountingDemuxer {
    fn format(&self) -> &'static ReaderFormat {
        self.inner.format()
    }

    fn tracks(&self) -> &[Track] {
        self.inner.tracks()
    }

    fn read_unit(&mut self) -> media::Result<Option<AccessUnit>> {
        let unit = self
            .inner
            .read_unit()
            .inspect_err(|_| self.counter = None)?;
        match (&unit, self.counter.as_mut()) {
            (Some(unit), Some(counter)) => counter.add(unit),
            (None, Some(_)) => {
                let stats = self.counter.take().map(StatsCounter::finish);
                if let Ok(mut result) = self.result.lock() {
                    *result = stats;
                }
            }
            (_, None) => {}
        }
        Ok(unit)
    }

    fn seek(&mut self, time: Duration) -> media::Result<Duration> {
        self.counter = None;
        self.inner.seek(time)
    }
}
