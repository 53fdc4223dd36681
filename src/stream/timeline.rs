//! Where media time lands on the send timeline, and the unit conversions
//! between the two.
//!
//! # Timelines
//!
//! *Send time* is one monotonic timeline for the life of the stream (it does
//! not restart at a seek or a loop). A segment starts at media time `T` at
//! send time `S`, when everything sent before has been presented. With
//! `D0` the lowest decoding time of the segment's first units, its media
//! are presented from `E = S + max(0, T - D0)`, and a unit with decoding
//! time `dts` goes out at `E + dts - T`: the first unit at `S` (when it is
//! decoded before `T`: a key frame followed by B-frames, an audio frame
//! that starts before a seek position), the others keeping their
//! decoding-time spacing, as a sender pacing by decoding time does. RTP
//! timestamps follow the same timeline: the RTP time of send time `s` is
//! `base + s * rate` (RFC 3550 §5.1: a random base, then a clock advancing
//! with the media), so a unit's timestamp is `base + (E + pts - T) * rate`
//! and a unit goes out by its presentation time (but for the leading
//! pictures of an open GOP after a seek: decoded after the segment's key
//! frame, presented before it). Sequence numbers and timestamps continue
//! across seeks and loops, and every sender report maps wall-clock
//! `anchor + s` to RTP time `base + s * rate` (§6.4.1) for all tracks
//! alike, which is what receivers need for lip sync.

use std::time::Duration;

use crate::media::AccessUnit;
use crate::vocab::clock::rescale;

/// Nanoseconds per second: the resolution of the stream's timelines, much
/// finer than any RTP clock, so conversions to and from it are exact.
pub(super) const NS: u32 = 1_000_000_000;

/// The current segment's place on the send timeline (all times in ns):
/// `T`, `E` and the send time reached, and where the presentation of
/// everything sent so far ends.
pub(super) struct Timeline {
    /// Media time the current segment starts at: `T`.
    segment_start: i64,
    /// Send time at which the segment's media time `segment_start` is
    /// presented: `E`.
    epoch: i64,
    /// Whether `epoch` still waits for the segment's first unit (see
    /// [`fix_origin`](Self::fix_origin)).
    origin_pending: bool,
    /// Send time of the latest unit generated.
    cursor: i64,
    /// The end of the presentation of the units sent so far (their PTS
    /// plus duration), on the send timeline.
    presented_end: i64,
}

impl Timeline {
    /// The timeline of a stream at its start: media time 0 at send time 0.
    pub(super) fn new() -> Timeline {
        Timeline {
            segment_start: 0,
            epoch: 0,
            origin_pending: true,
            cursor: 0,
            presented_end: 0,
        }
    }

    /// Starts a segment at media time `start` at send time `at`: `T` and
    /// `S`, with `E = S` until [`fix_origin`](Self::fix_origin).
    pub(super) fn start_segment(&mut self, start: i64, at: i64) {
        self.segment_start = start;
        self.epoch = at;
        self.origin_pending = true;
        self.cursor = at;
    }

    /// Fixes when the current segment is presented from the decoding time
    /// of its first unit, `first_dts`, once per segment: a unit decoded
    /// before the segment's start moves the presentation, and the RTP
    /// timestamps, that much later, so that the first unit goes out when
    /// the segment starts and the others keep their decoding-time spacing.
    pub(super) fn fix_origin(&mut self, first_dts: i64) {
        if self.origin_pending {
            self.origin_pending = false;
            self.epoch += (self.segment_start - first_dts).max(0);
        }
    }

    /// When a unit with decoding time `dts` is sent: at its decoding time
    /// on the segment's timeline, never before a unit generated earlier.
    pub(super) fn send_time(&self, dts: i64) -> i64 {
        self.cursor.max(self.epoch + dts - self.segment_start)
    }

    /// Records that the unit being generated goes out at `send`.
    pub(super) fn advance(&mut self, send: i64) {
        self.cursor = send;
    }

    /// Send time of the latest unit generated.
    pub(super) fn cursor(&self) -> i64 {
        self.cursor
    }

    /// Records that a unit presented until media time `end` was sent.
    pub(super) fn presented_until(&mut self, end: i64) {
        self.presented_end = self
            .presented_end
            .max(self.epoch + end - self.segment_start);
    }

    /// The send time at which the presentation of the units sent so far
    /// ends.
    pub(super) fn presented_end(&self) -> i64 {
        self.presented_end
    }

    /// The media position (NPT) presented at send time `send`.
    pub(super) fn npt_at(&self, send: i64) -> Duration {
        ns_duration(self.segment_start + (send - self.epoch).max(0))
    }

    /// The send time at which media time `npt` of the current segment is
    /// presented (the RTP time of every track maps to it alike).
    pub(super) fn presented_at(&self, npt: i64) -> i64 {
        self.epoch + npt - self.segment_start
    }

    /// RTP ticks of a `rate` Hz clock added to the payload format's
    /// timestamps (media time) in this segment: `E - T`.
    pub(super) fn rtp_offset(&self, rate: u32) -> i64 {
        ticks(self.epoch - self.segment_start, rate)
    }
}

/// The media time at which `unit`, timed by a `rate` Hz clock, stops
/// being presented (ns): its PTS plus its duration.
pub(super) fn unit_end(unit: &AccessUnit, rate: u32) -> i64 {
    ns(unit.pts + i64::from(unit.duration), rate)
}

/// `ticks` of a `rate` Hz clock in nanoseconds.
pub(super) fn ns(ticks: i64, rate: u32) -> i64 {
    rescale(ticks, rate, NS)
}

/// Nanoseconds in ticks of a `rate` Hz clock.
pub(super) fn ticks(ns: i64, rate: u32) -> i64 {
    rescale(ns, NS, rate)
}

pub(super) fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

pub(super) fn ns_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::stream::testing::{av_demuxer, bframe_demuxer, config, drain, rtp};
    use crate::stream::{MediaStream, OutgoingPacket, PacketKind};

    /// The module docs' example in numbers: a segment at `T` = 3 s starts
    /// at `S` = 2.04 s with a unit decoded 80 ms before `T`.
    #[test]
    fn a_segment_decoded_before_its_start_is_presented_that_much_later() {
        let ms = |n: i64| n * 1_000_000;
        let mut t = Timeline::new();
        t.start_segment(ms(3000), ms(2040));
        t.fix_origin(ms(2920));
        // Once per segment: a later, earlier-decoded unit moves nothing.
        t.fix_origin(ms(2800));
        // E = S + 80 ms: the first unit goes out at S, the next 40 ms on.
        assert_eq!(t.send_time(ms(2920)), ms(2040));
        assert_eq!(t.send_time(ms(2960)), ms(2080));
        assert_eq!(t.rtp_offset(90_000), (2120 - 3000) * 90);
        assert_eq!(t.npt_at(ms(2040)), Duration::from_secs(3));
        assert_eq!(t.npt_at(ms(2220)), Duration::from_millis(3100));
        // Never before a unit generated earlier.
        t.advance(ms(2080));
        assert_eq!(t.send_time(ms(2900)), ms(2080));
        t.presented_until(ms(3040));
        t.presented_until(ms(3000));
        assert_eq!(t.presented_end(), ms(2160));
    }

    #[test]
    fn decode_order_keeps_its_spacing_from_the_first_unit() {
        let mut c = config();
        c.tracks = vec![0];
        let mut stream = MediaStream::new(Box::new(bframe_demuxer()), c.clone()).unwrap();
        let packets = drain(&mut stream);
        let video: Vec<&OutgoingPacket> = packets
            .iter()
            .filter(|p| p.kind == PacketKind::Rtp)
            .collect();
        // The first packet of each unit (one timestamp per unit).
        let mut firsts: Vec<&OutgoingPacket> = Vec::new();
        for p in &video {
            if firsts.last().is_none_or(|f| rtp(f).1 != rtp(p).1) {
                firsts.push(p);
            }
        }
        assert_eq!(firsts.len(), 250);
        let base = 0xffff_0000u32;
        for (j, p) in firsts.iter().enumerate() {
            // Sent in decoding order, 40 ms apart from the first unit.
            assert_eq!(
                p.send_time,
                Duration::from_millis(40 * j as u64),
                "unit {j}"
            );
        }
        // Presented 80 ms after the first unit goes out: the key frame's
        // timestamp, and every packet goes out by its presentation time.
        assert_eq!(rtp(firsts[0]).1, base.wrapping_add(80 * 90));
        for p in &video {
            let presented = u64::from(rtp(p).1.wrapping_sub(base)) * 1000 / 90;
            assert!(p.send_time.as_micros() as u64 <= presented * 1000, "{p:?}");
        }
        // A seek to a key frame: it goes out where the segment starts and
        // is named by RTP-Info, Range says the key frame's time, and the
        // next units follow 40 ms apart.
        let mut stream = MediaStream::new(Box::new(bframe_demuxer()), c).unwrap();
        stream.next_packet().unwrap();
        stream.seek(Duration::from_millis(3100)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        assert_eq!(play.npt, Duration::from_secs(3));
        let after: Vec<OutgoingPacket> = drain(&mut stream)
            .into_iter()
            .filter(|p| p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(after[0].send_time, play.send_time);
        assert_eq!(rtp(&after[0]).1, play.rtp_info[0].rtptime);
        let next = after.iter().find(|p| rtp(p).1 != rtp(&after[0]).1).unwrap();
        assert_eq!(next.send_time, play.send_time + Duration::from_millis(40));
        // P-frame 3 frames later, presented 80 ms after the key frame's
        // send time plus its 120 ms.
        let presented = rtp(next).1.wrapping_sub(rtp(&after[0]).1);
        assert_eq!(presented, 120 * 90);
    }

    #[test]
    fn looping_keeps_timestamps_continuous() {
        let mut c = config();
        c.looping = true;
        c.tracks = vec![1];
        let mut stream = MediaStream::new(Box::new(av_demuxer()), c).unwrap();
        let audio: Vec<_> = std::iter::from_fn(|| stream.next_packet().unwrap())
            .filter(|p| p.kind == PacketKind::Rtp)
            .take(1500)
            .collect();
        for (i, p) in audio.iter().enumerate() {
            assert_eq!(rtp(p).1, 1000 + 160 * i as u32);
            assert_eq!(rtp(p).0, 7u16.wrapping_add(i as u16));
        }
        assert_eq!(audio[1499].send_time, Duration::from_millis(29_980));
    }
}
