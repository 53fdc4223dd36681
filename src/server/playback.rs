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

/// A read on the blocking pool: the source comes back with the packets.
type Fetch = JoinHandle<(Source, VecDeque<PacketParts>, Result<bool, StreamError>)>;

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

async fn run(playback: Playback, source: Source) -> Option<Source> {
    let Playback {
        origin_send,
        end,
        destinations,
        cancel,
        bye,
        label,
    } = playback;
    let mut pending: VecDeque<PacketParts> = VecDeque::new();
    let mut source = Some(source);
    let mut fetch: Option<Fetch> = None;
    let mut more = true;
    let origin = Instant::now();
    let mut worst_late = Duration::ZERO;
    // The send time of the latest packet sent.
    let mut last_sent = origin_send;
    // The packets of one send time, sent together.
    let mut batch: Vec<PacketParts> = Vec::new();
    let outcome = loop {
        // What is buffered is measured from the next packet to send, not
        // from the clock: a task that falls behind (an overloaded machine)
        // holds READ_AHEAD of media, not all it is late by.
        let next_to_send = pending.front().map_or(last_sent, |p| p.send_time);
        let buffered_to = pending.back().map_or(last_sent, |p| p.send_time);
        if more && fetch.is_none() && buffered_to.saturating_sub(next_to_send) < REFILL_BELOW {
            if let Some(mut s) = source.take() {
                let until = buffered_to + READ_AHEAD;
                fetch = Some(tokio::task::spawn_blocking(move || {
                    let mut batch = VecDeque::new();
                    let result = s.fill(until, &mut batch);
                    (s, batch, result)
                }));
            }
        }
        let next_at = match pending.front() {
            Some(p) if end.is_some_and(|end| p.send_time >= end) => break Outcome::RangeEnded,
            Some(p) => p.send_time,
            // Nothing buffered or coming: the stream ended (or failed).
            None if fetch.is_none() => break Outcome::Ended,
            // Nothing to send until the read in flight returns: wait on it.
            None => Duration::MAX,
        };
        let due = origin
            .checked_add(next_at.saturating_sub(origin_send))
            .unwrap_or_else(|| origin + Duration::from_secs(86_400 * 365));
        tokio::select! {
            biased;
            () = cancel.cancelled() => break Outcome::Stopped,
            Some(joined) = OptionFuture::from(fetch.as_mut()) => {
                fetch = None;
                let Ok((s, mut batch, result)) = joined else {
                    tracing::error!("{label}: the reader task failed");
                    return None;
                };
                source = Some(s);
                pending.append(&mut batch);
                more = result.unwrap_or_else(|e| {
                    tracing::warn!("{label}: reading stopped: {e}");
                    false
                });
            }
            () = tokio::time::sleep_until(due), if next_at != Duration::MAX => {
                worst_late = worst_late.max(origin.elapsed().saturating_sub(next_at - origin_send));
                // Everything due by now goes out together (the packets of
                // one frame share a send time).
                while let Some(p) = pending.front() {
                    if p.send_time > next_at || end.is_some_and(|end| p.send_time >= end) {
                        break;
                    }
                    batch.extend(pending.pop_front());
                }
                last_sent = batch.last().map_or(last_sent, |p| p.send_time);
                let mut done = 0;
                // A stop does not wait for a full connection queue: what
                // was not handed over goes back with the rest.
                let sent = tokio::select! {
                    biased;
                    () = cancel.cancelled() => None,
                    result = destinations.send(&batch, &mut done) => Some(result),
                };
                match sent {
                    None => {
                        for p in batch.drain(done..).rev() {
                            pending.push_front(p);
                        }
                        break Outcome::Stopped;
                    }
                    Some(Err(SendError::Closed)) => {
                        tracing::debug!("{label}: connection gone, stopping");
                        cancel.cancel();
                    }
                    Some(Ok(())) => {}
                }
                batch.clear();
            }
        }
    };
    if let Some(f) = fetch.take() {
        let (s, mut batch, _) = f.await.ok()?;
        source = Some(s);
        pending.append(&mut batch);
    }
    let mut source = source?;
    tracing::debug!(
        "{label}: playback {outcome:?}, latest packet {} ms late",
        worst_late.as_millis()
    );
    let outcome = match (outcome, end) {
        // The BYE of a range goes out a grace period after the range's
        // presentation ends, not with its last packet: receivers stop at
        // BYE (as at the end of the file, see BYE_GRACE) and still have
        // that unit to take.
        (Outcome::RangeEnded, Some(end)) => {
            let at = origin + (end + BYE_GRACE).saturating_sub(origin_send);
            tokio::select! {
                biased;
                () = cancel.cancelled() => Outcome::Stopped,
                () = tokio::time::sleep_until(at) => Outcome::RangeEnded,
            }
        }
        (outcome, _) => outcome,
    };
    let reason = match outcome {
        Outcome::RangeEnded => Some("end of range"),
        _ if bye.load(Ordering::Relaxed) => Some("session ended"),
        _ => None,
    };
    // Packets read ahead go back: a resumed PLAY sends them, a seek or the
    // BYE reuses their sequence numbers.
    source.unread(pending);
    if let Some(reason) = reason {
        // Best effort, and never held up long by a client reading nothing.
        let bye = source.bye(reason);
        let _ = tokio::time::timeout(BYE_WAIT, destinations.send(&bye, &mut 0)).await;
    }
    Some(source)
}
