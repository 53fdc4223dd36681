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
use super::udp::UdpPlane;
use crate::media::MediaError;

/// How far ahead of the clock packets are read.
const READ_AHEAD: Duration = Duration::from_millis(300);
/// Read more once fewer than this much media is buffered.
const REFILL_BELOW: Duration = Duration::from_millis(150);

/// RTP or RTCP.
#[allow(dead_code)] // RTCP packets come from the RTP pipeline (issue 3).
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
    /// Media time: NPT of the packet on the session's timeline (keeps
    /// growing across loops).
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

/// Where a session's packets come from: the RTP pipeline over a demuxer.
/// Its methods do blocking file I/O: call them on the blocking pool.
pub trait PacketSource: Send + 'static {
    /// Appends the packets due up to media time `until`, in send order.
    /// Returns `false` once the media has ended (nothing more until a seek).
    fn fill(&mut self, until: Duration, out: &mut VecDeque<Timed>) -> Result<bool, MediaError>;

    /// Repositions at `npt` (the key frame at or before it); returns the
    /// media time playback really starts at.
    fn seek(&mut self, npt: Duration) -> Result<Duration, MediaError>;

    /// RTCP BYE for every track (RFC 3550 §6.6), sent when the media ends.
    fn bye(&mut self) -> Vec<Timed>;
}

/// A source and the packets read from it but not sent.
pub struct Stopped {
    /// The source.
    pub source: Box<dyn PacketSource>,
    /// Packets read ahead, not yet sent.
    pub pending: VecDeque<Timed>,
    /// The media ended (BYE sent), or it failed.
    pub ended: bool,
}

impl Stopped {
    /// Reads until every track in `0..tracks` has an RTP packet pending (or
    /// the media ends), so that RTP-Info can name the first packet sent.
    pub fn prime(&mut self, tracks: usize) -> Result<(), MediaError> {
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

/// A running playback task.
pub struct Player {
    cancel: CancellationToken,
    bye: Arc<AtomicBool>,
    task: JoinHandle<Stopped>,
}

impl Player {
    /// Starts sending `stopped.pending` and what follows, the first packet
    /// now. Stops by itself at media time `end` or the end of the media.
    pub fn start(
        stopped: Stopped,
        outputs: Arc<[Delivery]>,
        udp: Option<Arc<UdpPlane>>,
        end: Option<Duration>,
        label: String,
    ) -> Player {
        let cancel = CancellationToken::new();
        let bye = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(run(
            stopped,
            Link {
                outputs,
                udp,
                cancel: cancel.clone(),
                bye: Arc::clone(&bye),
            },
            end,
            label,
        ));
        Player { cancel, bye, task }
    }

    /// Stops the task and takes back the source and unsent packets; `bye`
    /// sends RTCP BYE first (the session is ending).
    pub async fn stop(self, bye: bool) -> Option<Stopped> {
        self.bye.store(bye, Ordering::Relaxed);
        self.cancel.cancel();
        self.task.await.ok()
    }
}

type Fetch = JoinHandle<(
    Box<dyn PacketSource>,
    VecDeque<Timed>,
    Result<bool, MediaError>,
)>;

/// Where a playback task sends, and how it is told to stop.
struct Link {
    outputs: Arc<[Delivery]>,
    udp: Option<Arc<UdpPlane>>,
    cancel: CancellationToken,
    bye: Arc<AtomicBool>,
}

async fn run(stopped: Stopped, link: Link, end: Option<Duration>, label: String) -> Stopped {
    let Link {
        outputs,
        udp,
        cancel,
        bye,
    } = link;
    let Stopped {
        source,
        mut pending,
        ended: _,
    } = stopped;
    let mut source = Some(source);
    let mut fetch: Option<Fetch> = None;
    let mut more = true;
    let origin_media = pending.front().map_or(Duration::ZERO, |p| p.at);
    let origin = Instant::now();
    let mut worst_late = Duration::ZERO;
    let sender = Sender {
        outputs: &outputs,
        udp: udp.as_deref(),
    };
    let finished = loop {
        let media_now = origin_media + origin.elapsed();
        let buffered_to = pending.back().map_or(media_now, |p| p.at);
        if more && fetch.is_none() && buffered_to.saturating_sub(media_now) < REFILL_BELOW {
            if let Some(mut s) = source.take() {
                let until = buffered_to.max(media_now) + READ_AHEAD;
                fetch = Some(tokio::task::spawn_blocking(move || {
                    let mut batch = VecDeque::new();
                    let result = s.fill(until, &mut batch);
                    (s, batch, result)
                }));
            }
        }
        let next_at = match pending.front() {
            Some(p) if end.is_some_and(|end| p.at >= end) => break true,
            Some(p) => p.at,
            // Nothing buffered or coming: the media ended (or failed).
            None if fetch.is_none() => break true,
            None => Duration::MAX,
        };
        let due = origin + next_at.saturating_sub(origin_media);
        tokio::select! {
            biased;
            () = cancel.cancelled() => break false,
            joined = async { fetch.as_mut().expect("checked").await }, if fetch.is_some() => {
                fetch = None;
                match joined {
                    Ok((s, mut batch, result)) => {
                        source = Some(s);
                        pending.append(&mut batch);
                        match result {
                            Ok(m) => more = m,
                            Err(e) => {
                                tracing::warn!("{label}: reading stopped: {e}");
                                more = false;
                            }
                        }
                    }
                    Err(e) => {
                        tracing::error!("{label}: reader task failed: {e}");
                        return lost_source(pending);
                    }
                }
            }
            () = tokio::time::sleep_until(due), if next_at != Duration::MAX => {
                worst_late = worst_late.max(origin.elapsed().saturating_sub(next_at - origin_media));
                // Everything due by now goes out together (packets of one
                // frame share a time).
                while let Some(p) = pending.front() {
                    if p.at > next_at || end.is_some_and(|end| p.at >= end) {
                        break;
                    }
                    let p = pending.pop_front().expect("front exists");
                    if let Err(SendError::Closed) = sender.send(&p).await {
                        tracing::debug!("{label}: connection gone, stopping");
                        cancel.cancel();
                        break;
                    }
                }
            }
        }
    };
    if let Some(f) = fetch.take() {
        match f.await {
            Ok((s, mut batch, _)) => {
                source = Some(s);
                pending.append(&mut batch);
            }
            Err(_) => return lost_source(pending),
        }
    }
    let Some(mut source) = source else {
        return lost_source(pending);
    };
    tracing::debug!(
        "{label}: playback {} (latest packet {} ms late)",
        if finished { "ended" } else { "stopped" },
        worst_late.as_millis()
    );
    if finished || bye.load(Ordering::Relaxed) {
        for p in source.bye() {
            let _ = sender.send(&p).await;
        }
        pending.clear();
    }
    Stopped {
        source,
        pending,
        ended: finished,
    }
}

/// A stand-in after a reader panicked: ends the session's media.
fn lost_source(pending: VecDeque<Timed>) -> Stopped {
    Stopped {
        source: Box::new(Ended),
        pending,
        ended: true,
    }
}

struct Ended;

impl PacketSource for Ended {
    fn fill(&mut self, _: Duration, _: &mut VecDeque<Timed>) -> Result<bool, MediaError> {
        Ok(false)
    }
    fn seek(&mut self, _: Duration) -> Result<Duration, MediaError> {
        Err(MediaError::Seek("the reader failed".into()))
    }
    fn bye(&mut self) -> Vec<Timed> {
        Vec::new()
    }
}

struct Sender<'a> {
    outputs: &'a [Delivery],
    udp: Option<&'a UdpPlane>,
}

impl Sender<'_> {
    async fn send(&self, p: &Timed) -> Result<(), SendError> {
        let Some(output) = self.outputs.get(p.track) else {
            return Ok(());
        };
        match output {
            Delivery::Udp { rtp, rtcp } => {
                let dest = if p.kind == Kind::Rtp { rtp } else { rtcp };
                let Some(pair) = self.udp.and_then(|u| u.pair_for(dest)) else {
                    return Ok(());
                };
                let socket = if p.kind == Kind::Rtp {
                    &pair.rtp
                } else {
                    &pair.rtcp
                };
                // A lost datagram is UDP's nature; errors such as ICMP
                // "port unreachable" from a departed client are not fatal.
                let _ = socket.send_to(&p.data, dest).await;
                Ok(())
            }
            Delivery::Interleaved { sink, rtp, rtcp } => {
                let channel = if p.kind == Kind::Rtp { *rtp } else { *rtcp };
                sink.send_data(Outgoing::Data {
                    channel,
                    payload: p.data.clone(),
                })
                .await
            }
        }
    }
}
