//! Media clocks (an audio sample clock, the 90 kHz clock of video): their
//! ticks to and from [`Duration`], as the readers' `seek` needs them
//! (RFC 2326 §3.6 NPT ranges arrive as times), and from one clock to
//! another, as RTP timestamps need them (RFC 3550 §5.1).

use std::time::Duration;

const NANOS: u128 = 1_000_000_000;

/// The index of the sample playing at `time` on a `rate` Hz clock (rounded
/// down: the sample whose span contains `time`).
pub fn sample_at(time: Duration, rate: u32) -> u64 {
    u64::try_from(time.as_nanos() * u128::from(rate) / NANOS).unwrap_or(u64::MAX)
}

/// The time at which sample `index` of a `rate` Hz clock starts, rounded up
/// to the nanosecond so that `sample_at(time_of(i, rate), rate) == i`.
pub fn time_of(index: u64, rate: u32) -> Duration {
    let rate = u128::from(rate.max(1));
    let nanos = (u128::from(index) * NANOS).div_ceil(rate);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

/// `ts` in a clock of `from` Hz, in a clock of `to` Hz, rounded to nearest
/// (exact integer arithmetic: no drift however long the stream).
pub fn rescale(ts: i64, from: u32, to: u32) -> i64 {
    if from == to || from == 0 {
        return ts;
    }
    let (num, den) = (i128::from(ts) * i128::from(to), i128::from(from));
    let rounded = (2 * num + den).div_euclid(2 * den);
    i64::try_from(rounded).unwrap_or(if ts < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_sample_index() {
        for rate in [8000, 22050, 44100, 48000, 96000] {
            for index in (0..200_000).step_by(97).chain([u64::from(rate) * 3600]) {
                assert_eq!(sample_at(time_of(index, rate), rate), index, "{rate} Hz");
            }
        }
        assert_eq!(sample_at(Duration::from_millis(1500), 44100), 66150);
        assert_eq!(time_of(576, 22050), Duration::from_nanos(26_122_449));
    }

    #[test]
    fn rescale_is_exact_and_rounds_to_nearest() {
        assert_eq!(rescale(1152, 44100, 90000), 2351);
        assert_eq!(rescale(1152 * 441, 44100, 90000), 1152 * 900);
        assert_eq!(rescale(-3003, 90000, 90000), -3003);
        assert_eq!(rescale(1, 3, 2), 1);
        assert_eq!(rescale(-1, 3, 2), -1);
        assert_eq!(rescale(i64::MAX, 1, 90000), i64::MAX);
    }
}
