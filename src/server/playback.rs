//! The media plane of one playing session: a task that sends each packet at
//! its time (RFC 2326 §10.5 real-time delivery), reading ahead in small
//! batches on the blocking pool so file I/O never stalls the runtime.
//!
//! Pacing is against one origin (`Instant` at PLAY + media time of each
//! packet), so errors never accumulate: an hour-long file ends within a
//! millisecond of an hour after PLAY.

use std::collections::VecDeque;
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

/// How much media is read ahead of the next packet to send.
const READ_AHEAD: Duration = Duration::from_millis(300);
/// How long a final RTCP BYE may wait for room in a connection's queue.
const BYE_WAIT: Duration = Duration::from_millis(200);
/// Read more once fewer than this much media is buffered.
const REFILL_BELOW: Duration = Duration::from_millis(150);

/// What a read on the blocking pool returns: the source, the packets, and
/// whether the source has more.
type FetchResult = (Source, VecDeque<PacketParts>, Result<bool, StreamError>);
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
    task: JoinHandle<Option<Source>>,
}

impl Player {
    /// Starts sending what `source` generates: the packet with send time
    /// `origin` goes out now. Stops by itself at send time `end` or the end
    /// of the stream; `label` names the session in logs.
    pub fn start(
        source: Source,
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
    pub async fn stop(self, bye: bool) -> Option<Source> {
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
    source: Option<Source>,
    /// That read.
    fetch: Option<Fetch>,
    /// Read, not yet sent, in send order.
    pending: VecDeque<PacketParts>,
    /// The source has more to read.
    more: bool,
}

impl ReadAhead {
    /// Starts a read on the blocking pool when less than [`REFILL_BELOW`]
    /// is buffered. What is buffered is measured from the next packet to
    /// send, not from the clock: a task that falls behind (an overloaded
    /// machine) holds [`READ_AHEAD`] of media, not all it is late by.
    fn refill(&mut self, last_sent: Duration) {
        let next_to_send = self.pending.front().map_or(last_sent, |p| p.send_time);
        let buffered_to = self.pending.back().map_or(last_sent, |p| p.send_time);
        if !self.more
            || self.fetch.is_some()
            || buffered_to.saturating_sub(next_to_send) >= REFILL_BELOW
        {
            return;
        }
        if let Some(mut source) = self.source.take() {
            let until = buffered_to + READ_AHEAD;
            self.fetch = Some(tokio::task::spawn_blocking(move || {
                let mut batch = VecDeque::new();
                let result = source.fill(until, &mut batch);
                (source, batch, result)
            }));
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
        let Ok((source, mut batch, result)) = joined else {
            tracing::error!("{label}: the reader task failed");
            return None;
        };
        self.source = Some(source);
        self.pending.append(&mut batch);
        self.more = result.unwrap_or_else(|e| {
            tracing::warn!("{label}: reading stopped: {e}");
            false
        });
        Some(())
    }

    /// The source, once a read in flight has returned, with every packet
    /// read and not sent put back into it.
    async fn finish(mut self) -> Option<Source> {
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
async fn run(playback: Playback, source: Source) -> Option<Source> {
    let mut reader = ReadAhead {
        source: Some(source),
        fetch: None,
        pending: VecDeque::new(),
        more: true,
    };
    let origin = Instant::now();
    let (outcome, worst_late) = playback.send_in_time(&mut reader, origin).await?;
    let mut source = reader.finish().await?;
    let label = &playback.label;
    tracing::debug!(
        "{label}: playback {outcome:?}, latest packet {} ms late",
        worst_late.as_millis()
    );
    let outcome = playback.after_range(outcome, origin).await;
    let reason = match outcome {
        Outcome::RangeEnded => Some("end of range"),
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
