//! What one session sent and heard, for the admin API and the metrics:
//! RTP and RTCP packets and bytes sent, RTCP received, the latest
//! reception report of each of its tracks (RFC 3550 §6.4.1: fraction and
//! cumulative number lost, interarrival jitter), and its play position.
//!
//! The packet path adds a batch's counts once ([`Tally`], flushed when
//! dropped, so a send cut short still counts what went): plain atomics of
//! the session and of the server's totals, no lock, no label lookup.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use super::metrics::TrafficCounters;
use crate::rtp::rtcp::RtcpMessage;
use crate::stream::{PacketKind, PacketParts};

/// One session's traffic.
#[derive(Debug)]
pub struct SessionTraffic {
    totals: TrafficCounters,
    rtp_packets: AtomicU64,
    rtp_bytes: AtomicU64,
    rtcp_sent: AtomicU64,
    rtcp_received: AtomicU64,
    tracks: Mutex<Vec<Reception>>,
    position: Mutex<Position>,
}

/// What the client reports of one track.
#[derive(Clone, Debug, PartialEq)]
pub struct Reception {
    /// The SSRC the server sends the track with.
    pub ssrc: u32,
    /// The track's index in the file.
    pub index: usize,
    /// Its RTP clock rate.
    clock_rate: u32,
    /// From the latest report, if one came: fraction lost since the
    /// previous one (0 to 1), cumulative packets lost, jitter in seconds.
    pub report: Option<Report>,
}

/// The figures of one reception report block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// Fraction of packets lost since the previous report, 0 to 1.
    pub fraction_lost: f64,
    /// Packets lost since the start (may be negative with duplicates).
    pub cumulative_lost: i32,
    /// Interarrival jitter, in seconds.
    pub jitter_s: f64,
}

/// Where playback stands: from which media position and since when it
/// plays, or where it stopped.
#[derive(Clone, Copy, Debug)]
enum Position {
    Stopped(Duration),
    Playing { from: Duration, since: Instant },
}

/// A snapshot of the counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// RTP packets sent.
    pub rtp_packets: u64,
    /// RTP bytes sent (headers and payload).
    pub rtp_bytes: u64,
    /// RTCP packets sent.
    pub rtcp_sent: u64,
    /// RTCP packets received.
    pub rtcp_received: u64,
}

impl SessionTraffic {
    /// Nothing counted yet; the server's totals grow with it.
    pub fn new(totals: TrafficCounters) -> SessionTraffic {
        SessionTraffic {
            totals,
            rtp_packets: AtomicU64::new(0),
            rtp_bytes: AtomicU64::new(0),
            rtcp_sent: AtomicU64::new(0),
            rtcp_received: AtomicU64::new(0),
            tracks: Mutex::new(Vec::new()),
            position: Mutex::new(Position::Stopped(Duration::ZERO)),
        }
    }

    /// Records that track `index` is sent with `ssrc` at `clock_rate`, so
    /// that reports about it can be read (jitter comes in its units).
    pub fn track(&self, ssrc: u32, index: usize, clock_rate: u32) {
        let mut tracks = lock(&self.tracks);
        tracks.retain(|t| t.index != index);
        tracks.push(Reception {
            ssrc,
            index,
            clock_rate,
            report: None,
        });
    }

    /// The counts so far.
    pub fn counts(&self) -> Counts {
        Counts {
            rtp_packets: self.rtp_packets.load(Ordering::Relaxed),
            rtp_bytes: self.rtp_bytes.load(Ordering::Relaxed),
            rtcp_sent: self.rtcp_sent.load(Ordering::Relaxed),
            rtcp_received: self.rtcp_received.load(Ordering::Relaxed),
        }
    }

    /// Each track's latest reception report.
    pub fn receptions(&self) -> Vec<Reception> {
        lock(&self.tracks).clone()
    }

    /// A tally of packets handed over, added when it drops.
    pub fn tally(&self) -> Tally<'_> {
        Tally {
            traffic: self,
            counts: Counts::default(),
        }
    }

    /// Reads what a client's compound RTCP packet reports about this
    /// session's tracks.
    pub fn received(&self, messages: &[RtcpMessage]) {
        self.rtcp_received.fetch_add(1, Ordering::Relaxed);
        self.totals.rtcp_received.inc();
        let mut tracks = lock(&self.tracks);
        for message in messages {
            let (RtcpMessage::ReceiverReport { reports, .. }
            | RtcpMessage::SenderReport { reports, .. }) = message
            else {
                continue;
            };
            for block in reports {
                let Some(track) = tracks.iter_mut().find(|t| t.ssrc == block.ssrc) else {
                    continue;
                };
                let jitter_s = f64::from(block.jitter) / f64::from(track.clock_rate.max(1));
                let before = track.report.map_or(0, |r| r.cumulative_lost);
                if let Ok(grown) =
                    u64::try_from(i64::from(block.cumulative_lost) - i64::from(before))
                {
                    self.totals.reported_lost.inc_by(grown);
                }
                self.totals.jitter.observe(jitter_s);
                track.report = Some(Report {
                    fraction_lost: f64::from(block.fraction_lost) / 256.0,
                    cumulative_lost: block.cumulative_lost,
                    jitter_s,
                });
            }
        }
    }

    /// Playback starts at media position `from`.
    pub fn playing_from(&self, from: Duration) {
        *lock(&self.position) = Position::Playing {
            from,
            since: Instant::now(),
        };
    }

    /// Playback stops where it is.
    pub fn stopped(&self) {
        let mut position = lock(&self.position);
        *position = Position::Stopped(now(*position));
    }

    /// The media position now, at most `duration` (a looping file: within
    /// its length).
    pub fn position(&self, duration: Duration, looping: bool) -> Duration {
        let at = now(*lock(&self.position));
        match (looping, duration.is_zero()) {
            (true, false) => Duration::from_nanos(
                u64::try_from(at.as_nanos() % duration.as_nanos()).unwrap_or(0),
            ),
            _ => at.min(duration),
        }
    }
}

fn now(position: Position) -> Duration {
    match position {
        Position::Stopped(at) => at,
        Position::Playing { from, since } => from + since.elapsed(),
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// Packets handed over in one send, added to the session's and the
/// server's counts when dropped.
pub struct Tally<'a> {
    traffic: &'a SessionTraffic,
    counts: Counts,
}

impl Tally<'_> {
    /// Counts `packets` as handed over.
    pub fn add(&mut self, packets: &[PacketParts]) {
        for packet in packets {
            match packet.kind {
                PacketKind::Rtp => {
                    self.counts.rtp_packets += 1;
                    self.counts.rtp_bytes += packet.len() as u64;
                }
                PacketKind::Rtcp => self.counts.rtcp_sent += 1,
            }
        }
    }
}

impl Drop for Tally<'_> {
    fn drop(&mut self) {
        let Counts {
            rtp_packets,
            rtp_bytes,
            rtcp_sent,
            ..
        } = self.counts;
        let traffic = self.traffic;
        if rtp_packets > 0 {
            traffic
                .rtp_packets
                .fetch_add(rtp_packets, Ordering::Relaxed);
            traffic.rtp_bytes.fetch_add(rtp_bytes, Ordering::Relaxed);
            traffic.totals.rtp_packets.inc_by(rtp_packets);
            traffic.totals.rtp_bytes.inc_by(rtp_bytes);
        }
        if rtcp_sent > 0 {
            traffic.rtcp_sent.fetch_add(rtcp_sent, Ordering::Relaxed);
            traffic.totals.rtcp_sent.inc_by(rtcp_sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::rtcp::ReceptionReport;
    use crate::server::metrics::Metrics;

    fn block(ssrc: u32, cumulative_lost: i32, jitter: u32) -> ReceptionReport {
        ReceptionReport {
            ssrc,
            fraction_lost: 64,
            cumulative_lost,
            highest_sequence: 0,
            jitter,
            last_sr: 0,
            delay_since_last_sr: 0,
        }
    }

    #[test]
    fn reports_are_read_per_track_and_losses_add_up() {
        let metrics = Metrics::new();
        let traffic = SessionTraffic::new(metrics.traffic().clone());
        traffic.track(0xAA, 0, 90_000);
        traffic.track(0xBB, 1, 8_000);
        let report = |blocks| RtcpMessage::ReceiverReport {
            ssrc: 1,
            reports: blocks,
        };
        traffic.received(&[report(vec![block(0xAA, 3, 900), block(0xCC, 50, 1)])]);
        traffic.received(&[report(vec![block(0xAA, 5, 90), block(0xBB, 1, 80)])]);
        // A count going down (duplicates) takes nothing back.
        traffic.received(&[report(vec![block(0xAA, 4, 90)])]);
        let receptions = traffic.receptions();
        let aa = receptions[0].report.unwrap();
        assert_eq!((aa.cumulative_lost, aa.jitter_s), (4, 0.001));
        assert_eq!(aa.fraction_lost, 0.25);
        assert_eq!(receptions[1].report.unwrap().jitter_s, 0.01);
        let totals = metrics.traffic();
        assert_eq!(totals.reported_lost.get(), 5 + 1);
        assert_eq!(totals.rtcp_received.get(), 3);
        assert_eq!(traffic.counts().rtcp_received, 3);
    }

    #[test]
    fn position_runs_while_playing() {
        let traffic = SessionTraffic::new(Metrics::new().traffic().clone());
        let ten = Duration::from_secs(10);
        assert_eq!(traffic.position(ten, false), Duration::ZERO);
        traffic.playing_from(Duration::from_secs(4));
        std::thread::sleep(Duration::from_millis(20));
        let playing = traffic.position(ten, false);
        assert!(playing > Duration::from_millis(4_019), "{playing:?}");
        traffic.stopped();
        let stopped = traffic.position(ten, false);
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(traffic.position(ten, false), stopped);
        traffic.playing_from(Duration::from_secs(25));
        assert_eq!(traffic.position(ten, false), ten);
        assert!(traffic.position(ten, true) < Duration::from_secs(6));
    }
}
