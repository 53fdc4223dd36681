//! Timestamps of elementary video streams, which have none: frames follow
//! each other `1 / frame_rate` apart, numbered in decoding order and in
//! output order, and each number becomes a time on the 90 kHz clock exactly,
//! ts(i) = ⌊i · 90000 · den / num⌋, so that no rounding accumulates.

use std::time::Duration;

use bytes::Bytes;

use super::clock::{sample_at, time_of};
use super::{AccessUnit, Rational};

/// Clock rate of video timestamps: the RTP clock rate of H.264 and H.265
/// (RFC 6184 §8.2.1, RFC 7798 §7.1).
pub(super) const CLOCK_RATE: u32 = 90_000;

/// The timing of a stream: its frame rate and how many frames decoding runs
/// ahead of presentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FrameClock {
    /// Frames per second.
    pub rate: Rational,
    /// The reorder depth R (`num_reorder_frames`, `sps_max_num_reorder_pics`):
    /// the frame with decode index d has DTS ts(d − R), so that DTS never
    /// exceeds PTS.
    pub reorder_delay: u32,
}

impl FrameClock {
    /// Ticks of frame slot `index`: ⌊index · 90000 · den / num⌋ (negative
    /// indexes round towards minus infinity).
    pub fn ticks(&self, index: i64) -> i64 {
        let ticks = (i128::from(index) * i128::from(CLOCK_RATE) * i128::from(self.rate.den))
            .div_euclid(i128::from(self.rate.num));
        i64::try_from(ticks).unwrap_or(if ticks < 0 { i64::MIN } else { i64::MAX })
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
        let clock = FrameClock {
            rate: Rational::new(24000, 1001).unwrap(),
            reorder_delay: 2,
        };
        // 3753.75 ticks per frame: floor(i × 90000 × 1001 / 24000).
        assert_eq!(clock.ticks(1), 3753);
        assert_eq!(clock.ticks(4), 15015);
        assert_eq!(clock.ticks(-1), -3754);
        let unit = clock.unit(1, 3, true, Bytes::new());
        assert_eq!((unit.pts, unit.dts, unit.duration), (11261, -3754, 3754));
        assert!(unit.keyframe);
        let ntsc = FrameClock {
            rate: Rational::new(30000, 1001).unwrap(),
            reorder_delay: 0,
        };
        assert_eq!(ntsc.ticks(1 << 40), 3003 << 40);
        assert_eq!(
            ntsc.unit(i64::MAX, i64::MAX, false, Bytes::new()).pts,
            i64::MAX
        );
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
