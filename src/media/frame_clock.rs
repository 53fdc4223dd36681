//! Timestamps of elementary video streams, which have none: frames follow
//! each other `1 / frame_rate` apart, numbered in decoding order and in
//! output order, and each number becomes a time on the 90 kHz clock exactly,
//! ts(i) = ⌊i · 90000 · den / num⌋, so that no rounding accumulates.
//!
//! A stream whose frame rate changes (a new sequence parameter set taking
//! effect at an IDR or IRAP picture, as in concatenated files) is timed
//! piecewise: from the first output index of the new coded video sequence
//! on, frames follow its rate, counted from the time the old rate reached
//! there.

use std::time::Duration;

use bytes::Bytes;

use super::AccessUnit;
use crate::vocab::clock::{sample_at, time_of};
use crate::vocab::Rational;

/// Clock rate of video timestamps: the RTP clock rate of H.264 and H.265
/// (RFC 6184 §8.2.1, RFC 7798 §7.1).
pub(super) const CLOCK_RATE: u32 = 90_000;

/// Frames `1 / rate` apart from output index `start` on, the first of them
/// at 90 kHz tick `at`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Segment {
    start: i64,
    at: i64,
    rate: Rational,
}

impl Segment {
    /// Ticks of frame slot `index`: `at` + ⌊(index − start) · 90000 · den /
    /// num⌋ (rounding towards minus infinity before `start`).
    fn ticks(&self, index: i64) -> i64 {
        let offset = (i128::from(index) - i128::from(self.start))
            * i128::from(CLOCK_RATE)
            * i128::from(self.rate.den);
        let ticks = i128::from(self.at) + offset.div_euclid(i128::from(self.rate.num));
        i64::try_from(ticks).unwrap_or(if ticks < 0 { i64::MIN } else { i64::MAX })
    }
}

/// The timing of a stream: its frame rates and how many frames decoding
/// runs ahead of presentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FrameClock {
    /// The reorder depth R (`num_reorder_frames`, `sps_max_num_reorder_pics`
    /// of the first sequence): the frame with decode index d has DTS
    /// ts(d − R), so that DTS never exceeds PTS.
    pub reorder_delay: u32,
    /// The rates in force, by first output index, ascending; the first
    /// starts at index 0 and also times negative indexes.
    segments: Vec<Segment>,
}

impl FrameClock {
    /// A clock of frames `1 / rate` apart.
    pub fn new(rate: Rational, reorder_delay: u32) -> FrameClock {
        FrameClock {
            reorder_delay,
            segments: vec![Segment {
                start: 0,
                at: 0,
                rate,
            }],
        }
    }

    /// The segment that times output index `index`.
    fn segment(&self, index: i64) -> &Segment {
        let later = self.segments.partition_point(|s| s.start <= index);
        &self.segments[later.saturating_sub(1)]
    }

    /// The frame rate in force at output index `index`.
    pub fn rate_at(&self, index: i64) -> Rational {
        self.segment(index).rate
    }

    /// Makes frames from output index `index` on follow `rate`, when that
    /// changes the rate and `index` lies beyond every change recorded so
    /// far (a stream read again after a seek finds its changes again).
    /// Returns whether the clock changed.
    pub fn rebase(&mut self, index: i64, rate: Rational) -> bool {
        let last = self.segments[self.segments.len() - 1];
        if index <= last.start || rate == self.rate_at(index) {
            return false;
        }
        self.segments.push(Segment {
            start: index,
            at: last.ticks(index),
            rate,
        });
        true
    }

    /// Ticks of frame slot `index`: ⌊index · 90000 · den / num⌋ at one
    /// rate, piecewise across rate changes (negative indexes round towards
    /// minus infinity).
    pub fn ticks(&self, index: i64) -> i64 {
        self.segment(index).ticks(index)
    }

    /// The access unit of the frame with indexes `decode_index` and
    /// `output_index`: PTS ts(o), DTS ts(d − R), lasting until ts(o + 1).
    pub fn unit(
        &self,
        decode_index: i64,
        output_index: i64,
        keyframe: bool,
        data: Bytes,
    ) -> AccessUnit {
        let pts = self.ticks(output_index);
        let duration = self.ticks(output_index.saturating_add(1)) - pts;
        AccessUnit {
            track: 0,
            pts,
            dts: self.ticks(decode_index.saturating_sub(i64::from(self.reorder_delay))),
            duration: u32::try_from(duration).unwrap_or(u32::MAX),
            keyframe,
            data,
        }
    }
}

/// Whether frames `1 / rate` apart can be timed on the 90 kHz clock: at
/// least one tick and at most an hour apart. Timing information from a
/// stream (H.264 §E.2.1, H.265 §E.3.1) can say anything; beyond these
/// bounds it is not a frame rate anyone means.
pub(super) fn fits_clock(rate: Rational) -> bool {
    let ticks_times_num = u64::from(CLOCK_RATE) * u64::from(rate.den);
    let num = u64::from(rate.num);
    (num..=3600 * u64::from(CLOCK_RATE) * num).contains(&ticks_times_num)
}

/// The 90 kHz tick at `time`, rounded down (the tick whose span holds it).
pub(super) fn ticks_at(time: Duration) -> i64 {
    i64::try_from(sample_at(time, CLOCK_RATE)).unwrap_or(i64::MAX)
}

/// The time of 90 kHz tick `ticks` (negative: zero), rounded up to the
/// nanosecond so that `ticks_at(time_of_ticks(t)) == t`.
pub(super) fn time_of_ticks(ticks: i64) -> Duration {
    time_of(u64::try_from(ticks).unwrap_or(0), CLOCK_RATE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_use_exact_frame_indexes() {
        let clock = FrameClock::new(Rational::new(24000, 1001).unwrap(), 2);
        // 3753.75 ticks per frame: floor(i × 90000 × 1001 / 24000).
        assert_eq!(clock.ticks(1), 3753);
        assert_eq!(clock.ticks(4), 15015);
        assert_eq!(clock.ticks(-1), -3754);
        let unit = clock.unit(1, 3, true, Bytes::new());
        assert_eq!((unit.pts, unit.dts, unit.duration), (11261, -3754, 3754));
        assert!(unit.keyframe);
        let ntsc = FrameClock::new(Rational::new(30000, 1001).unwrap(), 0);
        assert_eq!(ntsc.ticks(1 << 40), 3003 << 40);
        assert_eq!(
            ntsc.unit(i64::MAX, i64::MAX, false, Bytes::new()).pts,
            i64::MAX
        );
    }

    /// 50 frames at 25 fps, then 30000/1001 from output index 50 on (two
    /// files joined): the second part starts at 2 s, each of its frames
    /// 3003 ticks long, with no rounding carried across the change.
    #[test]
    fn a_rate_change_rebases_the_clock() {
        let mut clock = FrameClock::new(Rational::new(25, 1).unwrap(), 2);
        let ntsc = Rational::new(30000, 1001).unwrap();
        assert!(
            !clock.rebase(50, Rational::new(25, 1).unwrap()),
            "same rate"
        );
        assert!(clock.rebase(50, ntsc));
        assert_eq!(
            [49, 50, 51, 110].map(|i| clock.ticks(i)),
            [176_400, 180_000, 183_003, 360_180]
        );
        assert_eq!(clock.ticks(-2), -7200);
        assert_eq!(
            (clock.rate_at(49), clock.rate_at(50)),
            (Rational::new(25, 1).unwrap(), ntsc)
        );
        // The last 25 fps frame lasts 1/25 s, the first NTSC one 1001/30000.
        assert_eq!(clock.unit(51, 49, false, Bytes::new()).duration, 3600);
        assert_eq!(clock.unit(52, 50, true, Bytes::new()).duration, 3003);
        // A reading after a seek finds the change again: nothing changes;
        // an earlier index cannot rewrite what was read.
        assert!(!clock.rebase(50, ntsc));
        assert!(!clock.rebase(20, Rational::new(50, 1).unwrap()));
        assert_eq!(clock.ticks(110), 360_180);
        // Monotonic across the change, whatever the rates.
        let mut clock = FrameClock::new(Rational::new(1, 3600).unwrap(), 0);
        assert!(clock.rebase(3, Rational::new(90_000, 1).unwrap()));
        let ticks: Vec<i64> = (-3..8).map(|i| clock.ticks(i)).collect();
        assert!(ticks.windows(2).all(|w| w[0] < w[1]), "{ticks:?}");
    }

    #[test]
    fn frame_rates_that_fit_the_clock() {
        let fits = |num, den| fits_clock(Rational::new(num, den).unwrap());
        assert!(fits(90_000, 1) && fits(30000, 1001) && fits(1, 3600));
        assert!(!fits(90_001, 1) && !fits(1, 3601) && !fits(1, u32::MAX));
    }

    #[test]
    fn times_round_trip_through_ticks() {
        assert_eq!(ticks_at(Duration::from_millis(1001)), 90090);
        assert_eq!(time_of_ticks(90090), Duration::from_millis(1001));
        assert_eq!(time_of_ticks(-5), Duration::ZERO);
        // A time within a tick belongs to that tick.
        assert_eq!(ticks_at(Duration::from_nanos(11_111)), 0);
        assert_eq!(ticks_at(Duration::from_nanos(11_112)), 1);
        for ticks in (0..1_000_000).step_by(3003).chain([75075, 1 << 40]) {
            assert_eq!(ticks_at(time_of_ticks(ticks)), ticks, "{ticks}");
        }
    }
}
