//! A track's RTCP: when its sender reports fall due (RFC 3550 §6.2), how
//! they map send time to the wall clock (§6.4.1), and when the BYE of an
//! ending stream goes out (§6.6).

use std::time::{Duration, SystemTime};

use super::timeline::{ns_duration, ticks};
use super::{PacketKind, PacketParts};
use crate::rtp::{rtcp, PacketHead, RtpSender};

/// How long after the end of the presentation the RTCP BYE of an ending
/// stream or range goes out (RFC 3550 §6.6 sets no time; §6.3.7 allows a
/// delay). Receivers stop at BYE, and ffmpeg reads a stream's RTCP socket
/// before its RTP socket when both hold data, as GStreamer's UDP sources
/// stop on BYE with packets still unread: a receiver that wakes late (a
/// loaded machine) would drop its last packets if the BYE came at once.
pub const BYE_GRACE: Duration = Duration::from_millis(500);

/// When one track's next sender report is due (ns on the send timeline).
pub(super) struct RtcpSchedule {
    /// Send time between reports (at least 1).
    interval: i64,
    /// When the next report is due.
    next: i64,
}

impl RtcpSchedule {
    /// Reports every `interval`, the first with the first unit.
    pub(super) fn new(interval: i64) -> RtcpSchedule {
        RtcpSchedule { interval, next: 0 }
    }

    /// Whether a report follows a unit sent at `send`; if so, the next one
    /// falls due an interval later.
    pub(super) fn due(&mut self, send: i64) -> bool {
        let due = send >= self.next;
        if due {
            self.next = send + self.interval;
        }
        due
    }

    /// A report due at `at` was taken back unsent: one falls due again by
    /// then.
    pub(super) fn due_again_by(&mut self, at: i64) {
        self.next = self.next.min(at);
    }
}

/// What every sender report of a stream shares: the CNAME (RFC 3550
/// §6.5.1) and the wall-clock time of send time zero.
pub(super) struct SenderReports {
    cname: String,
    /// Wall-clock time of send time zero.
    anchor: SystemTime,
}

impl SenderReports {
    pub(super) fn new(cname: String, anchor: SystemTime) -> SenderReports {
        SenderReports { cname, anchor }
    }

    /// Maps send time `send` (ns) to wall-clock `now`, for the reports
    /// made from now on.
    pub(super) fn anchor_at(&mut self, now: SystemTime, send: i64) {
        self.anchor = now.checked_sub(ns_duration(send)).unwrap_or(now);
    }

    /// A compound RTCP packet of file track `track` (RTP clock `rtp_clock`)
    /// with the counts of `sender`, at send time `at` (ns), ending with a
    /// BYE when there is a `bye` reason (RFC 3550 §6.4.1, §6.6).
    pub(super) fn make(
        &self,
        track: usize,
        rtp_clock: u32,
        sender: &RtpSender,
        at: i64,
        bye: Option<&str>,
    ) -> PacketParts {
        let send_time = ns_duration(at);
        let ntp = rtcp::ntp_timestamp(self.anchor + send_time);
        let rtp_time = sender.rtp_timestamp(ticks(at, rtp_clock));
        PacketParts {
            send_time,
            track,
            kind: PacketKind::Rtcp,
            head: PacketHead::new(),
            body: rtcp::sender_report(sender, ntp, rtp_time, &self.cname, bye).into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::rtcp::RtcpMessage;
    use crate::stream::testing::{av_demuxer, config, drain};
    use crate::stream::MediaStream;

    #[test]
    fn reports_fall_due_an_interval_apart_and_again_when_taken_back() {
        let mut schedule = RtcpSchedule::new(5);
        assert!(schedule.due(0));
        assert!(!schedule.due(4));
        assert!(schedule.due(6));
        assert!(!schedule.due(10));
        schedule.due_again_by(8);
        assert!(schedule.due(8));
        assert!(!schedule.due(12));
    }

    #[test]
    fn sender_reports_map_ntp_to_rtp_on_one_timeline() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let packets = drain(&mut stream);
        let anchor = rtcp::ntp_timestamp(config().wallclock);
        for p in packets.iter().filter(|p| p.kind == PacketKind::Rtcp) {
            let Some(RtcpMessage::SenderReport {
                ntp, rtp_timestamp, ..
            }) = rtcp::parse(&p.data).unwrap().first().cloned()
            else {
                panic!("no SR first")
            };
            let seconds = (ntp - anchor) as f64 / 2f64.powi(32);
            assert!((seconds - p.send_time.as_secs_f64()).abs() < 1e-6);
            let (base, rate) = if p.track == 0 {
                (0xffff_0000u32, 90000.0)
            } else {
                (1000, 8000.0)
            };
            let expected = base.wrapping_add((seconds * rate).round() as u32);
            assert_eq!(rtp_timestamp, expected, "track {}", p.track);
        }
    }
}
