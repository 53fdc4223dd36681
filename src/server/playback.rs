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

use bytes::Bytes;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::connection::{Outgoing, SendError};
use super::session::Delivery;
use super::source::Source;
use super::udp::{self, UdpPlane};
use crate::stream::StreamError;

/// How far ahead of the clock packets are read.
const READ_AHEAD: Duration = Duration::from_millis(300);
/// Read more once fewer than this much media is buffered.
const REFILL_BELOW: Duration = Duration::from_millis(150);

/// RTP or RTCP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A media packet.
    Rtp,
    /// A control packet (SR, SDES, BYE).
    Rtcp,
}

/// A packet and when to send it.
#[derive(Clone, Debug)]
pub struct Timed {
    /// Send time on the stream's timeline (it keeps growing across seeks
    /// and loops; see [`crate::stream`]).
    pub at: Duration,
    /// Position of the track in the session's track list.
    pub track: usize,
    /// RTP or RTCP.
    pub kind: Kind,
    /// The packet.
    pub data: Bytes,
}

impl Timed {
    /// The sequence number and timestamp of an RTP packet (RFC 3550 §5.1).
    pub fn seq_rtptime(&self) -> Option<(u16, u32)> {
        let d = &self.data;
        (self.kind == Kind::Rtp && d.len() >= 12).then(|| {
            (
                u16::from_be_bytes([d[2], d[3]]),
                u32::from_be_bytes([d[4], d[5], d[6], d[7]]),
            )
        })
    }
}

/// A source and the packets read from it but not sent.
pub struct Stopped {
    /// The source.
    pub source: Source,
    /// Packets read ahead, not yet sent.
    pub pending: VecDeque<Timed>,
    /// The media ended (BYE sent), or it failed.
    pub ended: bool,
}

impl Stopped {
    /// Reads until every track in `0..tracks` has an RTP packet pending (or
    /// the media ends), so that RTP-Info can name the first packet sent.
    pub fn prime(&mut self, tracks: usize) -> Result<(), StreamError> {
        let mut until = self.pending.back().map_or(Duration::ZERO, |p| p.at);
        loop {
            let seen = |t: usize| {
                self.pending
                    .iter()
                    .any(|p| p.track == t && p.kind == Kind::Rtp)
            };
            if (0..tracks).all(seen) {
                return Ok(());
            }
            until += READ_AHEAD;
            if !self.source.fill(until, &mut self.pending)? {
                return Ok(());
            }
        }
    }

    /// The first RTP packet pending for track `track`.
    pub fn first_rtp(&self, track: usize) -> Option<&Timed> {
        self.pending
            .iter()
            .find(|p| p.track == track && p.kind == Kind::Rtp)
    }
}

type Fetch = JoinHandle<(Source, VecDeque<Timed>, Result<bool, StreamError>)>;

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
    task: JoinHandle<Option<Stopped>>,
}

impl Player {
    /// Starts sending `stopped.pending` and what follows: the packet with
    /// send time `origin` goes out now. Stops by itself at send time `end`
    /// or the end of the stream.
    pub fn start(stopped: Stopped, origin: Duration, link: Link, end: Option<Duration>) -> Player {
        let cancel = link.cancel.clone();
        let bye = Arc::clone(&link.bye);
        let task = tokio::spawn(run(stopped, origin, link, end));
        Player { cancel, bye, task }
    }

    /// Stops the task and takes back the source and unsent packets (`None`
    /// if the reader failed beyond repair); `bye` sends RTCP BYE first (the
    /// session is ending).
    pub async fn stop(self, bye: bool) -> Option<Stopped> {
        self.bye.store(bye, Ordering::Relaxed);
        self.cancel.cancel();
        self.task.await.ok().flatten()
    }
}

/// Where a playback task sends, and how it is told to stop.
pub struct Link {
    outputs: Arc<[Delivery]>,
    udp: Option<Arc<UdpPlane>>,
    cancel: CancellationToken,
    bye: Arc<AtomicBool>,
    label: String,
}

impl Link {
    /// Sends track `i`'s packets to `outputs[i]`; `label` names the session
    /// in logs.
    pub fn new(outputs: Arc<[Delivery]>, udp: Option<Arc<UdpPlane>>, label: String) -> Link {
        Link {
            outputs,
            udp,
            cancel: CancellationToken::new(),
            bye: Arc::new(AtomicBool::new(false)),
            label,
        }
    }
}

async fn run(
    stopped: Stopped,
    origin_send: Duration,
    link: Link,
    end: Option<Duration>,
) -> Option<Stopped> {
    let Stopped {
        source,
        mut pending,
        ended: _,
    } = stopped;
    let label = &link.label;
    let mut source = Some(source);
    let mut fetch: Option<Fetch> = None;
    let mut more = true;
    let origin = Instant::now();
    let mut worst_late = Duration::ZERO;
    // The packets of one send time, sent together.
    let mut batch: Vec<Timed> = Vec::new();
    let sender = Sender {
        outputs: &link.outputs,
        udp: link.udp.as_deref(),
    };
    let outcome = loop {
        let send_now = origin_send + origin.elapsed();
        let buffered_to = pending.back().map_or(send_now, |p| p.at);
        if more && fetch.is_none() && buffered_to.saturating_sub(send_now) < REFILL_BELOW {
            if let Some(mut s) = source.take() {
                let until = buffered_to.max(send_now) + READ_AHEAD;
                fetch = Some(tokio::task::spawn_blocking(move || {
                    let mut batch = VecDeque::new();
                    let result = s.fill(until, &mut batch);
                    (s, batch, result)
                }));
            }
        }
        let next_at = match pending.front() {
            Some(p) if end.is_some_and(|end| p.at >= end) => break Outcome::RangeEnded,
            Some(p) => p.at,
            // Nothing buffered or coming: the stream ended (or failed).
            None if fetch.is_none() => break Outcome::Ended,
            None => Duration::MAX,
        };
        // Nothing to send until the read in flight returns: wait on it.
        let due = origin
            .checked_add(next_at.saturating_sub(origin_send))
            .unwrap_or_else(|| origin + Duration::from_secs(86_400 * 365));
        tokio::select! {
            biased;
            () = link.cancel.cancelled() => break Outcome::Stopped,
            joined = async { fetch.as_mut().expect("checked").await }, if fetch.is_some() => {
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
                    if p.at > next_at || end.is_some_and(|end| p.at >= end) {
                        break;
                    }
                    batch.push(pending.pop_front().expect("front exists"));
                }
                if let Err(SendError::Closed) = sender.send(&batch).await {
                    tracing::debug!("{label}: connection gone, stopping");
                    link.cancel.cancel();
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
    if outcome == Outcome::RangeEnded || link.bye.load(Ordering::Relaxed) {
        let reason = if outcome == Outcome::RangeEnded {
            "end of range"
        } else {
            "session ended"
        };
        let _ = sender.send(&source.bye(reason)).await;
    }
    if outcome != Outcome::Stopped {
        pending.clear();
    }
    Some(Stopped {
        source,
        pending,
        ended: outcome != Outcome::Stopped,
    })
}

struct Sender<'a> {
    outputs: &'a [Delivery],
    udp: Option<&'a UdpPlane>,
}

impl Sender<'_> {
    /// Sends `packets` in order: runs going to one UDP address in batches,
    /// interleaved ones through their connection's queue.
    async fn send(&self, packets: &[Timed]) -> Result<(), SendError> {
        let mut rest = packets;
        while let Some(first) = rest.first() {
            let Some(output) = self.outputs.get(first.track) else {
                rest = &rest[1..];
                continue;
            };
            match output {
                Delivery::Udp { rtp, rtcp } => {
                    let dest = if first.kind == Kind::Rtp { rtp } else { rtcp };
                    let run = rest
                        .iter()
                        .take_while(|p| p.track == first.track && p.kind == first.kind)
                        .count();
                    if let Some(pair) = self.udp.and_then(|u| u.pair_for(dest)) {
                        let socket = if first.kind == Kind::Rtp {
                            &pair.rtp
                        } else {
                            &pair.rtcp
                        };
                        let datagrams: Vec<&[u8]> =
                            rest[..run].iter().map(|p| &p.data[..]).collect();
                        udp::send_many(socket, *dest, &datagrams).await;
                    }
                    rest = &rest[run..];
                }
                Delivery::Interleaved { sink, rtp, rtcp } => {
                    let channel = if first.kind == Kind::Rtp { *rtp } else { *rtcp };
                    sink.send_data(Outgoing::Data {
                        channel,
                        payload: first.data.clone(),
                    })
                    .await?;
                    rest = &rest[1..];
                }
            }
        }
        Ok(())
    }
}
