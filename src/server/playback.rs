//! The media plane of one playing session: a task that sends each packet at
//! its time (RFC 2326 §10.5 real-time delivery), reading ahead in small
//! batches on the blocking pool so file I/O never stalls the runtime.
//!
//! Pacing is against one origin (`Instant` at PLAY + media time of each
//! packet), so errors never accumulate: an hour-long file ends within a
//! millisecond of an hour after PLAY.

use std::collections::VecDeque;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::OptionFuture;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::delivery::Destinations;
use super::sink::SendError;
use super::source::Source;
use crate::stream::{PacketParts, StreamError, BYE_GRACE};

/// How long a final RTCP BYE may wait for room in a connection's queue.
const BYE_WAIT: Duration = Duration::from_millis(200);

/// What a read on the blocking pool returns: the source, the packets, and
/// whether the source has more.
type FetchResult = (
    Box<Source>,
    VecDeque<PacketParts>,
    Result<bool, StreamError>,
);
/// A read on the blocking pool.
type Fetch = JoinHandle<FetchResult>;

/// How a playback task ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// The stream ended; its BYE went out with the last packets.
    Ended,
    /// The requested range ended: BYE still to send.
    RangeEnded,
    /// Stopped by PAUSE, PLAY, TEARDOWN, shutdown or a lost connection.
    Stopped,
}

/// A running playback task.
pub struct Player {
    cancel: CancellationToken,
    bye: Arc<AtomicBool>,
    task: JoinHandle<Option<Box<Source>>>,
}

impl Player {
    /// Starts sending what `source` generates: the packet with send time
    /// `origin` goes out now. Stops by itself at send time `end` or the end
    /// of the stream; `label` names the session in logs.
    ///
    /// The source is boxed: the task's state and each read handed to the
    /// blocking pool then hold a pointer, not the source's few hundred
    /// bytes (several copies of which a playing session would otherwise
    /// hold for its whole life).
    pub fn start(
        source: Box<Source>,
        origin: Duration,
        destinations: Destinations,
        end: Option<Duration>,
        label: String,
    ) -> Player {
        let cancel = CancellationToken::new();
        let bye = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(
            Playback {
                origin_send: origin,
                end,
                destinations,
                cancel: cancel.clone(),
                bye: Arc::clone(&bye),
                label,
            },
            source,
        ));
        Player { cancel, bye, task }
    }

    /// Whether the task still sends (it has not reached the end of the
    /// media or its range).
    pub fn is_running(&self) -> bool {
        !self.task.is_finished()
    }

    /// Stops the task and takes back the source, the packets read ahead
    /// and not sent put back into it (`None` if the reader failed beyond
    /// repair); `bye` sends RTCP BYE first (the session is ending).
    pub async fn stop(self, bye: bool) -> Option<Box<Source>> {
        self.bye.store(bye, Ordering::Relaxed);
        self.cancel.cancel();
        self.task.await.ok().flatten()
    }
}

/// What a playback task needs besides its source.
struct Playback {
    /// The send time of the packet that goes out when the task starts.
    origin_send: Duration,
    /// The send time at which the requested range ends.
    end: Option<Duration>,
    destinations: Destinations,
    cancel: CancellationToken,
    /// Send RTCP BYE when stopped (the session is ending).
    bye: Arc<AtomicBool>,
    label: String,
}

/// The source and the packets read ahead of the next one to send.
struct ReadAhead {
    /// The source, unless a read has it on the blocking pool.
    source: Option<Box<Source>>,
    /// That read.
    fetch: Option<Fetch>,
    /// Read, not yet sent, in send order.
    pending: VecDeque<PacketParts>,
    /// The source has more to read.
    more: bool,
    /// A read failed: the stream ended early.
    failed: bool,
    /// How much media to read ahead (see [`resize`](Self::resize)); more
    /// is read when half of it is left.
    read_ahead: Duration,
    /// The least and the most `read_ahead` (the source's pace).
    bounds: RangeInclusive<Duration>,
    /// When the read in flight started.
    fetch_started: Instant,
}

impl ReadAhead {
    /// Starts a read on the blocking pool when less than half the read
    /// ahead is buffered. What is buffered is measured from the next
    /// packet to send, not from the clock: a task that falls behind (an
    /// overloaded machine) holds its read ahead of media, not all it is
    /// late by.
    fn refill(&mut self, last_sent: Duration) {
        let next_to_send = self.pending.front().map_or(last_sent, |p| p.send_time);
        let buffered_to = self.pending.back().map_or(last_sent, |p| p.send_time);
        if !self.more
            || self.fetch.is_some()
            || buffered_to.saturating_sub(next_to_send) >= self.read_ahead / 2
        {
            return;
        }
        if let Some(mut source) = self.source.take() {
            let until = buffered_to + self.read_ahead;
            self.fetch_started = Instant::now();
            self.fetch = Some(tokio::task::spawn_blocking(move || {
                let mut batch = VecDeque::new();
                let result = source.fill(until, &mut batch);
                (source, batch, result)
            }));
        }
    }

    /// Sizes the read ahead by how long a read took to come back (the
    /// blocking pool's queue included): doubled, up to the most, after one
    /// that took over a quarter of it (half the slack the read started
    /// with: a busy pool, a slow disk), so that the next slow read still
    /// comes back in time; three quarters of it, down to the least, after
    /// one that took under a sixteenth. A session reads little ahead, and
    /// holds little memory, while reads are quick.
    fn resize(&mut self, took: Duration) {
        let (least, most) = (*self.bounds.start(), *self.bounds.end());
        if took * 4 > self.read_ahead {
            self.read_ahead = (self.read_ahead * 2).min(most);
        } else if took * 16 < self.read_ahead {
            self.read_ahead = (self.read_ahead * 3 / 4).max(least);
        }
    }

    /// Takes back the source and the packets of a finished read; `None`
    /// when the read's task failed (the source is lost).
    fn fetched(
        &mut self,
        joined: Result<FetchResult, tokio::task::JoinError>,
        label: &str,
    ) -> Option<()> {
        self.fetch = None;
        self.resize(self.fetch_started.elapsed());
        let Ok((source, mut batch, result)) = joined else {
            tracing::error!("{label}: the reader task failed");
            return None;
        };
        self.source = Some(source);
        self.pending.append(&mut batch);
        match result {
            Ok(more) => self.more = more,
            Err(e) => {
                tracing::warn!("{label}: reading stopped: {e}");
                self.more = false;
                self.failed = true;
            }
        }
        Some(())
    }

    /// The source, once a read in flight has returned, with every packet
    /// read and not sent put back into it.
    async fn finish(mut self) -> Option<Box<Source>> {
        if let Some(fetch) = self.fetch.take() {
            let (source, mut batch, _) = fetch.await.ok()?;
            self.source = Some(source);
            self.pending.append(&mut batch);
        }
        let mut source = self.source?;
        // A resumed PLAY sends them, a seek or the BYE reuses their
        // sequence numbers.
        source.unread(self.pending);
        Some(source)
    }
}

/// The playback task: sends what `source` generates in time, then the
/// RTCP BYE a range's end or the session's asks for; returns the source,
/// for a later PLAY to resume (`None` if the reader failed beyond repair).
async fn run(playback: Playback, source: Box<Source>) -> Option<Box<Source>> {
    let bounds = source.read_ahead();
    let mut reader = ReadAhead {
        read_ahead: *bounds.start(),
        bounds,
        fetch_started: Instant::now(),
        source: Some(source),
        fetch: None,
        pending: VecDeque::new(),
        more: true,
        failed: false,
    };
    let origin = Instant::now();
    let (outcome, worst_late) = playback.send_in_time(&mut reader, origin).await?;
    let failed = reader.failed;
    let mut source = reader.finish().await?;
    let label = &playback.label;
    tracing::debug!(
        "{label}: playback {outcome:?}, latest packet {} ms late",
        worst_late.as_millis()
    );
    let outcome = playback.after_range(outcome, origin).await;
    let reason = match outcome {
        Outcome::RangeEnded => Some("end of range"),
        // The stream's own BYE comes only at the end of the file: after
        // everything read before the failure, the client is told the
        // stream is over (a file cut short, a failing disk).
        Outcome::Ended if failed => Some("cannot read the file"),
        _ if playback.bye.load(Ordering::Relaxed) => Some("session ended"),
        _ => None,
    };
    if let Some(reason) = reason {
        // Best effort, and never held up long by a client reading nothing.
        let bye = source.bye(reason);
        let mut done = 0;
        let sent = playback.destinations.send(&bye, &mut done);
        let _ = tokio::time::timeout(BYE_WAIT, sent).await;
    }
    // Paused or ended, the session keeps its position, not the file.
    source.park();
    Some(source)
}

impl Playback {
    /// Sends each packet at its time from `origin` until the stream or the
    /// range ends or the task is stopped; returns how it ended and the
    /// latest a packet went out. `None` when the reader task failed.
    async fn send_in_time(
        &self,
        reader: &mut ReadAhead,
        origin: Instant,
    ) -> Option<(Outcome, Duration)> {
        let mut worst_late = Duration::ZERO;
        // The send time of the latest packet sent.
        let mut last_sent = self.origin_send;
        // The packets of one send time, sent together.
        let mut batch: Vec<PacketParts> = Vec::new();
        let outcome = loop {
            reader.refill(last_sent);
            let next_at = match reader.pending.front() {
                Some(p) if self.end.is_some_and(|end| p.send_time >= end) => {
                    break Outcome::RangeEnded
                }
                Some(p) => p.send_time,
                // Nothing buffered or coming: the stream ended (or failed).
                None if reader.fetch.is_none() => break Outcome::Ended,
                // Nothing to send until the read in flight returns: wait on it.
                None => Duration::MAX,
            };
            let due = origin
                .checked_add(next_at.saturating_sub(self.origin_send))
                .unwrap_or_else(|| origin + Duration::from_secs(86_400 * 365));
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => break Outcome::Stopped,
                Some(joined) = OptionFuture::from(reader.fetch.as_mut()) => {
                    reader.fetched(joined, &self.label)?;
                }
                () = tokio::time::sleep_until(due), if next_at != Duration::MAX => {
                    let late = origin.elapsed().saturating_sub(next_at - self.origin_send);
                    worst_late = worst_late.max(late);
                    // Everything due by now goes out together (the packets
                    // of one frame share a send time).
                    while let Some(p) = reader.pending.front() {
                        if p.send_time > next_at || self.end.is_some_and(|end| p.send_time >= end) {
                            break;
                        }
                        batch.extend(reader.pending.pop_front());
                    }
                    last_sent = batch.last().map_or(last_sent, |p| p.send_time);
                    if self.send_batch(&mut batch, &mut reader.pending).await.is_err() {
                        break Outcome::Stopped;
                    }
                }
            }
        };
        Some((outcome, worst_late))
    }

    /// Sends `batch` and empties it. A stop does not wait for a full
    /// connection queue: what was not handed over goes back to the front of
    /// `pending`, and the task stops (`Err`). A connection gone stops the
    /// task at its next turn.
    async fn send_batch(
        &self,
        batch: &mut Vec<PacketParts>,
        pending: &mut VecDeque<PacketParts>,
    ) -> Result<(), Stopped> {
        let mut done = 0;
        let sent = tokio::select! {
            biased;
            () = self.cancel.cancelled() => None,
            result = self.destinations.send(batch, &mut done) => Some(result),
        };
        match sent {
            None => {
                for p in batch.drain(done..).rev() {
                    pending.push_front(p);
                }
                return Err(Stopped);
            }
            Some(Err(SendError::Closed)) => {
                tracing::debug!("{}: connection gone, stopping", self.label);
                self.cancel.cancel();
            }
            Some(Ok(())) => {}
        }
        batch.clear();
        Ok(())
    }

    /// How a task whose range ended ends: its BYE goes out a grace period
    /// after the range's presentation ends, not with its last packet:
    /// receivers stop at BYE (as at the end of the file, see [`BYE_GRACE`])
    /// and still have that unit to take. Stopped if stopped meanwhile.
    async fn after_range(&self, outcome: Outcome, origin: Instant) -> Outcome {
        let (Outcome::RangeEnded, Some(end)) = (outcome, self.end) else {
            return outcome;
        };
        let at = origin + (end + BYE_GRACE).saturating_sub(self.origin_send);
        tokio::select! {
            biased;
            () = self.cancel.cancelled() => Outcome::Stopped,
            () = tokio::time::sleep_until(at) => Outcome::RangeEnded,
        }
    }
}

/// A batch's sending was cut short by a stop.
struct Stopped;

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Weak;
    use std::time::SystemTime;

    use super::*;
    use crate::media::{self, AccessUnit, Demuxer, MediaError, ReaderFormat, Track};
    use crate::server::activity::ClientActivity;
    use crate::server::delivery::{Delivery, TrackOut};
    use crate::server::metrics::Metrics;
    use crate::server::sink::{InterleavedSink, Outgoing};
    use crate::server::source::{Pace, SourceTrack, StreamSettings};
    use crate::server::traffic::SessionTraffic;

    /// A file's reader whose reads fail (as a disk error would) after
    /// `left` units.
    struct FailingAfter {
        inner: Box<dyn Demuxer>,
        left: usize,
    }

    impl Demuxer for FailingAfter {
        fn format(&self) -> &'static ReaderFormat {
            self.inner.format()
        }

        fn tracks(&self) -> &[Track] {
            self.inner.tracks()
        }

        fn read_unit(&mut self) -> media::Result<Option<AccessUnit>> {
            if self.left == 0 {
                return Err(MediaError::Io(std::io::Error::other("injected read error")));
            }
            self.left -= 1;
            self.inner.read_unit()
        }

        fn seek(&mut self, time: Duration) -> media::Result<Duration> {
            self.inner.seek(time)
        }
    }

    /// No session to keep alive.
    struct Nobody;

    impl ClientActivity for Nobody {
        fn touch(&self) {}
        fn client_packet(&self, _: &[u8]) {}
        fn unreachable(&self) {}
    }

    /// Whether an interleaved RTCP frame holds a BYE (RFC 3550 §6.6: packet
    /// type 203 in a compound packet).
    fn is_bye(body: &[u8]) -> bool {
        let mut rest = body;
        while rest.len() >= 4 {
            if rest[1] == 203 {
                return true;
            }
            let words = usize::from(u16::from_be_bytes([rest[2], rest[3]])) + 1;
            rest = rest.get(words * 4..).unwrap_or_default();
        }
        false
    }

    #[test]
    fn the_read_ahead_grows_while_reads_are_slow_and_shrinks_back() {
        let ms = Duration::from_millis;
        let mut reader = ReadAhead {
            source: None,
            fetch: None,
            pending: VecDeque::new(),
            more: true,
            failed: false,
            read_ahead: ms(75),
            bounds: ms(75)..=ms(300),
            fetch_started: Instant::now(),
        };
        let mut after = |took| {
            reader.resize(ms(took));
            reader.read_ahead.as_millis()
        };
        // Quick reads: it stays at the least.
        assert_eq!(after(1), 75);
        // Between a sixteenth and a quarter: as it is.
        assert_eq!(after(18), 75);
        // Slow ones: doubled, up to the most.
        assert_eq!(after(19), 150);
        assert_eq!(after(40), 300);
        assert_eq!(after(200), 300);
        // Quick again: back down by quarters, to the least.
        assert_eq!(after(1), 225);
        assert_eq!(after(1), 168);
        assert_eq!(after(1), 126);
        assert_eq!(after(1), 94);
        assert_eq!(after(1), 75);
        assert_eq!(after(0), 75);
    }

    /// A read error 20 units into a file: what was read goes out, then
    /// RTCP BYE, and the playback task ends.
    #[tokio::test]
    async fn a_read_failing_mid_file_ends_playback_with_bye() {
        let file = crate::vocab::testing::fixture_path("audio_48k_mono.aac");
        let inner = media::open(std::path::Path::new(&file)).unwrap();
        let demuxer = Box::new(FailingAfter { inner, left: 20 });
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let track = SourceTrack {
            index: 0,
            ssrc: 0x5eed,
            sequence: None,
        };
        let mut source = Source::new(
            demuxer,
            &[track],
            StreamSettings::default(),
            peer,
            0,
            Pace::for_bit_rate(None),
        )
        .unwrap();
        source.cue().unwrap();
        let start = source.play(SystemTime::now());
        let (sink, mut queue, room) = InterleavedSink::channel(
            CancellationToken::new(),
            Duration::from_secs(10),
            prometheus_client::metrics::counter::Counter::default(),
        );
        let tracks = vec![TrackOut {
            index: 0,
            delivery: Delivery::Interleaved {
                sink,
                rtp: 0,
                rtcp: 1,
            },
            srtp: None,
        }];
        let nobody: Weak<dyn ClientActivity> = Weak::<Nobody>::new();
        let traffic = Arc::new(SessionTraffic::new(Metrics::new().traffic().clone()));
        let destinations = Destinations::new(tracks, None, nobody, Arc::clone(&traffic));
        let player = Player::start(
            Box::new(source),
            start.send_time,
            destinations,
            None,
            "test".into(),
        );
        let mut rtp = 0;
        let bye = tokio::time::timeout(Duration::from_secs(5), async {
            while let Some(frame) = queue.recv().await {
                room.written(frame.room());
                match frame {
                    Outgoing::Interleaved { channel: 0, .. } => rtp += 1,
                    Outgoing::Interleaved {
                        channel: 1,
                        head,
                        body,
                    } if is_bye(&[&head[..], &body[..]].concat()) => return true,
                    _ => {}
                }
            }
            false
        })
        .await;
        assert_eq!(bye, Ok(true), "no RTCP BYE after the read error");
        // One RTP packet per AAC frame read before the error.
        assert_eq!(rtp, 20);
        assert_eq!(traffic.counts().rtp_packets, 20);
        let ended = tokio::time::timeout(Duration::from_secs(1), player.stop(false)).await;
        assert!(ended.is_ok(), "the playback task did not end");
    }
}
