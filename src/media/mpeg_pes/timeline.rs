//! One continuous 90 kHz timeline for the 33-bit timestamps and clock
//! references of a program (ISO/IEC 13818-1 §2.4.2.1, §2.4.3.7).
//!
//! **Wrap.** PTS, DTS, PCR and SCR bases count modulo 2^33 (26.5 hours).
//! Each value is unwrapped to the one nearest the last value seen, so a
//! file that crosses the wrap keeps counting up.
//!
//! **Discontinuities.** A transport stream may restart its time base (a
//! splice, concatenated recordings): the PCR packet after the break says
//! so with `discontinuity_indicator` (§2.4.3.5), and a program stream's SCR
//! just jumps. A clock reference flagged so, or one that jumps back by
//! more than [`JUMP_BACK`] or ahead by more than [`JUMP_AHEAD`], starts a
//! new time base: the timeline shifts it so that it continues where the
//! old one stopped (one clock step later), and every timestamp read after
//! it is shifted alike. Presentation then runs on without a gap or a
//! reversal, as a receiver of the RTP streams needs it. The breaks found
//! are remembered by file offset, so that a reading restarted after one
//! (a seek) shifts the same way; a break past what reading has reached is
//! not known to a seek that lands beyond it, which then uses the raw clock.

/// A clock that steps back by more than this is a new time base: 1 s.
pub(super) const JUMP_BACK: i64 = 90_000;

/// A clock that steps ahead by more than this is a new time base: 10 s
/// (the PCR must come at least every 0.1 s, §2.7.2; SCR every 0.7 s, §2.7.1).
pub(super) const JUMP_AHEAD: i64 = 10 * 90_000;

/// The modulus of 33-bit timestamps.
const WRAP: i64 = 1 << 33;

/// The value of 33-bit `raw` nearest to `near`.
fn unwrap(raw: u64, near: i64) -> i64 {
    let raw = (raw as i64) & (WRAP - 1);
    let base = near - near.rem_euclid(WRAP);
    [base - WRAP, base, base + WRAP]
        .map(|b| b + raw)
        .into_iter()
        .min_by_key(|v| (v - near).abs())
        .unwrap_or(raw)
}

/// A break in the time base: from `offset` on, unwrapped values get `shift`
/// added; the new time base started at the (unwrapped, unshifted) clock
/// value `base`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Break {
    offset: u64,
    base: i64,
    shift: i64,
}

/// The program's continuous timeline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeline {
    /// The last value seen, unwrapped, unshifted: the reference for
    /// unwrapping the next one.
    last: Option<i64>,
    /// The last clock reference, unwrapped, unshifted.
    last_clock: Option<i64>,
    /// The step between the last two clock references (at most 1 s).
    step: i64,
    /// The shift in force.
    shift: i64,
    /// The first clock reference of the file, unwrapped: the reference for
    /// clocks found far from where reading stands (bisection).
    first_clock: Option<i64>,
    /// The breaks found, by file offset, ascending.
    breaks: Vec<Break>,
}

impl Timeline {
    /// A timestamp (PTS, DTS) on the continuous timeline.
    pub fn timestamp(&mut self, raw: u64) -> i64 {
        let value = unwrap(raw, self.last.or(self.last_clock).unwrap_or(raw as i64));
        self.last = Some(value);
        value + self.shift
    }

    /// A clock reference (PCR or SCR base) at file offset `offset`, with its
    /// discontinuity flag, on the continuous timeline; a break starts a new
    /// shift there.
    pub fn clock(&mut self, raw: u64, offset: u64, discontinuity: bool) -> i64 {
        let value = unwrap(raw, self.last_clock.or(self.last).unwrap_or(raw as i64));
        if self.first_clock.is_none() {
            self.first_clock = Some(value);
        }
        if let Some(last) = self.last_clock {
            let jump = value - last;
            if discontinuity || !(-JUMP_BACK..=JUMP_AHEAD).contains(&jump) {
                self.shift += last + self.step - value;
                let at = self.breaks.partition_point(|b| b.offset < offset);
                if self.breaks.get(at).is_none_or(|b| b.offset != offset) {
                    tracing::warn!(
                        "clock discontinuity at byte {offset}: the time base jumps by {:.3} s \
                         (timestamps after it are shifted to continue)",
                        jump as f64 / 90_000.0
                    );
                    self.breaks.insert(
                        at,
                        Break {
                            offset,
                            base: value,
                            shift: self.shift,
                        },
                    );
                }
            } else if jump > 0 {
                self.step = jump.min(90_000);
            }
        }
        self.last_clock = Some(value);
        self.last = Some(value);
        value + self.shift
    }

    /// The time of a clock reference found at file offset `offset` away
    /// from where reading stands (a bisection probe): counted on from the
    /// start of its time base (the file's first clock, or the last break
    /// known before `offset`), shifted as that time base is.
    pub fn clock_at(&self, raw: u64, offset: u64) -> i64 {
        let (base, shift) = self.base_at(offset);
        base + (raw as i64 - base).rem_euclid(WRAP) + shift
    }

    /// The start of the time base in force at file offset `offset`
    /// (unwrapped, unshifted), and its shift, by the breaks known.
    fn base_at(&self, offset: u64) -> (i64, i64) {
        self.breaks
            .iter()
            .rev()
            .find(|b| b.offset <= offset)
            .map_or((self.first_clock.unwrap_or(0), 0), |b| (b.base, b.shift))
    }

    /// Makes reading restart at file offset `offset`, where a clock
    /// reference with raw value `raw` comes next (if known): values are
    /// unwrapped near it, with the shift of the breaks known before it.
    pub fn restart(&mut self, offset: u64, raw: Option<u64>) {
        self.shift = self.base_at(offset).1;
        let near = raw.map(|raw| self.clock_at(raw, offset) - self.shift);
        self.last = near.or(self.first_clock);
        self.last_clock = near;
    }

    /// Makes reading restart at the start of the file, exactly as the
    /// first reading (the breaks found are kept).
    pub fn rewind(&mut self) {
        self.shift = 0;
        self.last = None;
        self.last_clock = None;
        self.step = 0;
    }

    /// The first clock reference of the file, on the timeline, once seen.
    pub fn first_clock(&self) -> Option<i64> {
        self.first_clock
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_unwrap_across_the_33_bit_wrap() {
        let mut t = Timeline::default();
        let top = (1u64 << 33) - 3000;
        assert_eq!(t.clock(top, 0, false), top as i64);
        assert_eq!(t.timestamp(top + 6000 - (1 << 33)), top as i64 + 6000);
        assert_eq!(t.clock(1000, 188, false), (1 << 33) + 1000);
        // A DTS slightly before the clock, before the wrap.
        assert_eq!(t.timestamp(top + 100), top as i64 + 100);
        assert_eq!(unwrap(5, -3), 5);
        assert_eq!(unwrap((1 << 33) - 5, 3), -5);
    }

    #[test]
    fn breaks_shift_what_follows_and_are_found_again() {
        let mut t = Timeline::default();
        t.clock(900_000, 0, false);
        t.clock(903_600, 188, false);
        assert_eq!(t.timestamp(930_000), 930_000);
        // Back to 0 at byte 376: continues one step (3600) after 903600.
        assert_eq!(t.clock(0, 376, true), 907_200);
        assert_eq!(t.timestamp(27_000), 934_200);
        assert_eq!(t.clock(3600, 564, false), 910_800);
        // A jump ahead of an hour without the flag is a break too.
        assert_eq!(t.clock(3600 + 90_000 * 3600, 752, false), 914_400);
        // Restarting after the first break shifts as the reading did.
        let mut again = t.clone();
        again.restart(400, Some(7200));
        assert_eq!(again.timestamp(27_000), 934_200);
        again.rewind();
        assert_eq!(again.timestamp(930_000), 930_000);
        // Probes far from the reading position.
        assert_eq!(t.clock_at(7200, 500), 907_200 + 7200);
        assert_eq!(t.clock_at(900_000, 100), 900_000);
    }
}
