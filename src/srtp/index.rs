//! Packet indices: the SRTP index of a sequence number through the
//! rollover counter (RFC 3711 §3.3.1 and Appendix A), and the replay list
//! of received indices (§3.3.2).

/// The rollover counter (ROC) and highest sequence number s_l of one
/// stream, from which the 48-bit index i = 2^16 · ROC + SEQ of each packet
/// follows (RFC 3711 §3.3.1).
#[derive(Clone, Debug)]
pub(crate) struct RolloverCounter {
    roc: u32,
    /// s_l; `None` until the first packet.
    highest: Option<u16>,
}

impl RolloverCounter {
    /// A stream whose first packet has rollover counter `roc` (0 for a new
    /// stream; a receiver joining late learns it from the key exchange).
    pub(crate) fn new(roc: u32) -> RolloverCounter {
        RolloverCounter { roc, highest: None }
    }

    /// The current rollover counter.
    pub(crate) fn roc(&self) -> u32 {
        self.roc
    }

    /// The highest index seen so far, if any.
    pub(crate) fn highest_index(&self) -> Option<u64> {
        self.highest.map(|s| index(self.roc, s))
    }

    /// The index of a packet with sequence number `seq` and the rollover
    /// counter v it implies, by the estimate of RFC 3711 Appendix A: the
    /// index closest to the highest one so far. A 32-bit ROC and a 16-bit
    /// sequence number span exactly the 48-bit index space.
    pub(crate) fn estimate(&self, seq: u16) -> Result<(u32, u64), OutOfRange> {
        let v = match self.highest {
            None => self.roc,
            Some(s_l) => self.estimate_roc(s_l, seq)?,
        };
        Ok((v, index(v, seq)))
    }

    /// The v of Appendix A given s_l.
    fn estimate_roc(&self, s_l: u16, seq: u16) -> Result<u32, OutOfRange> {
        Ok(if s_l < 0x8000 {
            if seq > s_l && seq - s_l > 0x8000 {
                self.roc.checked_sub(1).ok_or(OutOfRange::BeforeStart)?
            } else {
                self.roc
            }
        } else if s_l - 0x8000 > seq {
            self.roc.checked_add(1).ok_or(OutOfRange::PastEnd)?
        } else {
            self.roc
        })
    }

    /// Records an authenticated (or sent) packet with sequence number
    /// `seq` whose rollover counter was estimated as `v` (RFC 3711 §3.3.1:
    /// ROC and s_l move forward only).
    pub(crate) fn update(&mut self, seq: u16, v: u32) {
        match self.highest {
            None => self.highest = Some(seq),
            Some(s_l) if v == self.roc && seq > s_l => self.highest = Some(seq),
            Some(_) if v > self.roc => {
                self.roc = v;
                self.highest = Some(seq);
            }
            Some(_) => {}
        }
    }
}

/// Why a sequence number has no index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutOfRange {
    /// It would fall before index 0 (rollover counter 0 minus one).
    BeforeStart,
    /// It would pass 2^48 - 1 (the rollover counter would overflow).
    PastEnd,
}

fn index(roc: u32, seq: u16) -> u64 {
    (u64::from(roc) << 16) | u64::from(seq)
}

/// The replay list of RFC 3711 §3.3.2 as a sliding window: the highest
/// index received and a bitmap of the 64 indices up to it (64 is the
/// minimum window size the RFC sets).
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplayWindow {
    highest: Option<u64>,
    /// Bit k set: index `highest - k` was received.
    seen: u64,
}

impl ReplayWindow {
    const SIZE: u64 = 64;

    /// Whether `index` may be accepted: newer than the highest, or inside
    /// the window and not received yet.
    pub(crate) fn is_fresh(&self, index: u64) -> bool {
        match self.highest {
            None => true,
            Some(h) if index > h => true,
            Some(h) => {
                let age = h - index;
                age < Self::SIZE && self.seen & (1 << age) == 0
            }
        }
    }

    /// Marks `index` received (after its packet authenticated).
    pub(crate) fn accept(&mut self, index: u64) {
        match self.highest {
            Some(h) if index <= h => {
                let age = h - index;
                if age < Self::SIZE {
                    self.seen |= 1 << age;
                }
            }
            Some(h) => {
                let shift = index - h;
                self.seen = if shift >= Self::SIZE {
                    0
                } else {
                    self.seen << shift
                } | 1;
                self.highest = Some(index);
            }
            None => {
                self.seen = 1;
                self.highest = Some(index);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appendix A's three cases around s_l: the same ROC, a wrap forward
    /// (ROC + 1) and a late packet from before a wrap (ROC - 1).
    #[test]
    fn the_estimate_picks_the_index_nearest_the_highest() {
        let mut c = RolloverCounter::new(5);
        assert_eq!(c.estimate(65_000), Ok((5, 5 * 65_536 + 65_000)));
        c.update(65_000, 5);
        assert_eq!(c.estimate(65_100), Ok((5, 5 * 65_536 + 65_100)));
        assert_eq!(c.estimate(10), Ok((6, 6 * 65_536 + 10)));
        assert_eq!(c.estimate(40_000), Ok((5, 5 * 65_536 + 40_000)));
        c.update(10, 6);
        assert_eq!((c.roc(), c.highest_index()), (6, Some(6 * 65_536 + 10)));
        // A packet from just before the wrap, arriving late.
        assert_eq!(c.estimate(65_500), Ok((5, 5 * 65_536 + 65_500)));
        c.update(65_500, 5);
        assert_eq!((c.roc(), c.highest_index()), (6, Some(6 * 65_536 + 10)));
        // Older sequence numbers in the same ROC do not move s_l back.
        c.update(8, 6);
        assert_eq!(c.highest_index(), Some(6 * 65_536 + 10));
    }

    #[test]
    fn the_estimate_stays_inside_the_48_bit_space() {
        let mut c = RolloverCounter::new(0);
        c.update(100, 0);
        assert_eq!(c.estimate(60_000), Err(OutOfRange::BeforeStart));
        let mut c = RolloverCounter::new(u32::MAX);
        c.update(60_000, u32::MAX);
        assert_eq!(c.estimate(5), Err(OutOfRange::PastEnd));
        assert_eq!(c.estimate(65_535), Ok((u32::MAX, (1 << 48) - 1)));
    }

    /// Every sequence number of a stream sent in order, through four
    /// wraps, maps to consecutive indices.
    #[test]
    fn in_order_sequence_numbers_give_consecutive_indices() {
        let mut c = RolloverCounter::new(0);
        let start: u16 = 65_000;
        for n in 0..4 * 65_536u64 {
            let seq = start.wrapping_add(n as u16);
            let (v, i) = c.estimate(seq).unwrap();
            assert_eq!(i, u64::from(start) + n, "packet {n}");
            c.update(seq, v);
        }
        assert_eq!(c.roc(), 4);
    }

    #[test]
    fn the_replay_window_refuses_repeats_and_the_too_old() {
        let mut w = ReplayWindow::default();
        assert!(w.is_fresh(1000));
        w.accept(1000);
        assert!(!w.is_fresh(1000));
        assert!(w.is_fresh(999));
        assert!(w.is_fresh(1000 - 63));
        assert!(!w.is_fresh(1000 - 64), "outside the window");
        w.accept(998);
        assert!(!w.is_fresh(998));
        w.accept(1010);
        assert!(!w.is_fresh(998) && !w.is_fresh(1000) && !w.is_fresh(1010));
        assert!(w.is_fresh(999) && w.is_fresh(1009));
        // A jump past the window forgets everything behind it.
        w.accept(5000);
        assert!(!w.is_fresh(1010) && w.is_fresh(4999) && !w.is_fresh(5000));
    }
}
