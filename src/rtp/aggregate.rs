//! Several units in one RTP payload, for the payload formats that pack
//! whole frames or packets back to back under one timestamp (RFC 5215 §2.3
//! Vorbis and Theora packets, RFC 4184 §4.2 AC-3 frames): the units a
//! packetizer holds until the next one cannot join them.
//!
//! Only the first unit's timestamp travels in the RTP header; a receiver
//! derives the others from the units' durations. A unit joins the held
//! ones only when its timestamp is the one the receiver will derive, so
//! the timing survives the trip whatever the durations the reader gave.

use bytes::Bytes;

use super::RtpPayload;

/// The bounds of one format's aggregation.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Payload header bytes before the first unit.
    pub header: usize,
    /// Bytes each unit adds besides its own (a length field).
    pub per_unit: usize,
    /// Most units in one payload (the width of its count field).
    pub max_units: usize,
    /// Longest stretch of media, in the payload clock, from the first
    /// unit's timestamp to the last one's: what aggregation may delay a
    /// unit by.
    pub max_span: u32,
}

/// Units held for one payload.
#[derive(Debug)]
pub(super) struct Aggregation {
    limits: Limits,
    units: Vec<Bytes>,
    /// Timestamp of the first unit held: the payload's.
    first: u32,
    /// The timestamp a receiver derives for the unit after the last one.
    next: u32,
    /// Payload bytes so far, header included.
    size: usize,
}

impl Aggregation {
    /// Nothing held yet.
    pub fn new(limits: Limits) -> Aggregation {
        Aggregation {
            limits,
            units: Vec::new(),
            first: 0,
            next: 0,
            size: limits.header,
        }
    }

    /// Holds `data`, of RTP timestamp `timestamp`, if it can share the
    /// payload of the units held (or start one when none is): it fits in
    /// `max_payload`, the count and span allow it and `timestamp` is the
    /// one a receiver derives. `step` is what the receiver adds to
    /// `timestamp` for the unit after this one.
    pub fn try_add(&mut self, data: &Bytes, timestamp: u32, step: u32, max_payload: usize) -> bool {
        let size = self.size + self.limits.per_unit + data.len();
        let joins = self.units.is_empty()
            || (self.units.len() < self.limits.max_units
                && timestamp == self.next
                && timestamp.wrapping_sub(self.first) <= self.limits.max_span);
        if !joins || size > max_payload {
            return false;
        }
        if self.units.is_empty() {
            self.first = timestamp;
        }
        self.units.push(data.clone());
        self.size = size;
        self.next = timestamp.wrapping_add(step);
        true
    }

    /// Appends the payload of the units held, made by `build` from their
    /// timestamp and the units, and holds nothing after.
    pub fn flush(
        &mut self,
        out: &mut Vec<RtpPayload>,
        build: impl FnOnce(u32, &[Bytes]) -> RtpPayload,
    ) {
        if !self.units.is_empty() {
            out.push(build(self.first, &self.units));
            self.units.clear();
            self.size = self.limits.header;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::PayloadHeader;

    fn build(timestamp: u32, units: &[Bytes]) -> RtpPayload {
        RtpPayload {
            header: PayloadHeader::from_slice(&[units.len() as u8]),
            data: units.concat().into(),
            marker: false,
            timestamp,
        }
    }

    #[test]
    fn units_join_while_they_fit_in_time() {
        let limits = Limits {
            header: 1,
            per_unit: 2,
            max_units: 3,
            max_span: 100,
        };
        let mut a = Aggregation::new(limits);
        let unit = Bytes::from_static(&[7; 10]);
        let mut out = Vec::new();
        assert!(a.try_add(&unit, 0, 50, 40));
        assert!(a.try_add(&unit, 50, 50, 40));
        assert!(!a.try_add(&unit, 100, 50, 36), "37 bytes do not fit 36");
        assert!(!a.try_add(&unit, 99, 50, 40), "not the derived timestamp");
        assert!(a.try_add(&unit, 100, 50, 40));
        assert!(!a.try_add(&unit, 150, 50, 100), "a fourth unit");
        a.flush(&mut out, build);
        a.flush(&mut out, build);
        assert_eq!(out.len(), 1);
        assert_eq!(
            (out[0].timestamp, out[0].header[0], out[0].data.len()),
            (0, 3, 30)
        );
        // Span: the last unit at most 100 ticks after the first.
        let limits = Limits {
            max_units: 10,
            ..limits
        };
        let mut a = Aggregation::new(limits);
        assert!(a.try_add(&unit, u32::MAX - 9, 60, 1000));
        assert!(a.try_add(&unit, 50, 60, 1000), "across the wrap");
        assert!(!a.try_add(&unit, 110, 60, 1000));
        assert!(!Aggregation::new(limits).try_add(&unit, 0, 0, 12));
    }
}
