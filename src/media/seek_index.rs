//! The seek points of an elementary video stream (H.264, H.265), which has
//! no index of its own: key frames recorded as reading finds them, each
//! with what its reader needs to restart there and number what follows
//! exactly as a read from the start does.

use super::frame_clock::FrameClock;

/// A key frame a reader can restart at.
#[derive(Clone, Debug)]
pub(super) struct SeekPoint<R> {
    /// Its decode index in a read from the start.
    pub decode_index: i64,
    /// Its output index in a read from the start.
    pub output_index: i64,
    /// The reader's state to restore there (file offset, parameter sets...).
    pub resume: R,
}

/// The seek points of the stream from its start up to where reading has
/// reached, in decoding order; complete once a read reached the end.
#[derive(Debug)]
pub(super) struct SeekIndex<R> {
    points: Vec<SeekPoint<R>>,
    /// Output index one past the last picture, once the end was reached.
    end: Option<i64>,
}

impl<R> Default for SeekIndex<R> {
    fn default() -> Self {
        SeekIndex {
            points: Vec::new(),
            end: None,
        }
    }
}

impl<R> SeekIndex<R> {
    /// Records `point`, unless an earlier reading recorded it (or a later
    /// one) already.
    pub fn record(&mut self, point: SeekPoint<R>) {
        if self
            .points
            .last()
            .is_none_or(|last| last.decode_index < point.decode_index)
        {
            self.points.push(point);
        }
    }

    /// The last point recorded.
    pub fn last(&self) -> Option<&SeekPoint<R>> {
        self.points.last()
    }

    /// Output index one past the last picture, once a reading reached the end.
    pub fn end(&self) -> Option<i64> {
        self.end
    }

    /// Records where a reading ended, `end` frames having been output
    /// (`None`: not known, e.g. after a restart whose numbering is not
    /// fixed yet).
    pub fn set_end(&mut self, end: Option<i64>) {
        self.end = end.or(self.end);
    }

    /// Whether the index knows the seek point for 90 kHz tick `target`:
    /// it holds one presented after it, or reading reached the end.
    pub fn covers(&self, target: i64, clock: &FrameClock) -> bool {
        self.end.is_some()
            || self
                .points
                .last()
                .is_some_and(|point| clock.ticks(point.output_index) > target)
    }

    /// The point presented last at or before tick `target`, else the first
    /// one (a target before every key frame).
    pub fn point_for(&self, target: i64, clock: &FrameClock) -> Option<&SeekPoint<R>> {
        self.points
            .iter()
            .rev()
            .find(|point| clock.ticks(point.output_index) <= target)
            .or(self.points.first())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::Rational;

    #[test]
    fn points_are_found_by_presentation_time() {
        let clock = FrameClock::new(Rational::new(25, 1).unwrap(), 2);
        let mut index = SeekIndex::default();
        for (decode_index, output_index) in [(0, 2), (25, 26), (25, 26), (10, 11), (50, 50)] {
            index.record(SeekPoint {
                decode_index,
                output_index,
                resume: decode_index,
            });
        }
        let found = |index: &SeekIndex<i64>, ticks| index.point_for(ticks, &clock).unwrap().resume;
        assert_eq!(
            [0, 7199, 7200, 93_600, 1 << 40].map(|t| found(&index, t)),
            [0, 0, 0, 25, 50]
        );
        assert!(index.covers(50 * 3600 - 1, &clock) && !index.covers(50 * 3600, &clock));
        index.set_end(Some(60));
        index.set_end(None);
        assert!(index.covers(1 << 40, &clock));
        assert_eq!(index.end(), Some(60));
    }
}
