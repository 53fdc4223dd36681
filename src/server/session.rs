//! RTSP sessions (RFC 2326 §3.4, §12.37): the table shared by all
//! connections, each session's set-up tracks and play state, and the
//! reaper that ends sessions nobody has kept alive.
//!
//! An idle session is a table entry and its track list: no task, no timer
//! and no open file. A paused session, or one whose stream ended, keeps
//! its position and the packets it had read ahead, not its file nor its
//! read buffers (see [`Source::park`]): the file is opened again at the
//! next PLAY. A single reaper task sleeps until the earliest possible
//! expiry of any session. A session whose client's RTP port has refused
//! packets for [`UNREACHABLE_GRACE`] with no sign of life since expires
//! then, whatever its idle timeout.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::activity::ClientActivity;
use super::catalog::Media;
use super::delivery::Delivery;
use super::keying::SessionSrtp;
use super::limits::SessionGuard;
use super::playback::Player;
use super::source::Source;
use super::traffic::SessionTraffic;
use crate::rtsp::headers;

/// How long a client whose RTP port answered with ICMP port unreachable
/// has to show a sign of life before its session ends: a player that quit
/// is not sent media until the idle timeout (65 s by default).
pub const UNREACHABLE_GRACE: Duration = Duration::from_secs(2);

/// One track a client has set up.
#[derive(Clone)]
pub struct SetupTrack {
    /// Index of the track in the file.
    pub index: usize,
    /// The SSRC the server sends it with.
    pub ssrc: u32,
    /// Where its packets go.
    pub delivery: Delivery,
}

/// The play state of a session (RFC 2326 Appendix A.2).
pub enum PlayState {
    /// Set up, never played, or torn down to nothing.
    Ready,
    /// A playback task is running (or has run to the end of the media).
    Playing(Player),
    /// Paused: the reader, parked (no file open), with the packets not
    /// yet sent, kept for resuming.
    Paused(Box<Source>),
}

/// What a session's requests change, under one lock.
pub struct Control {
    /// The tracks set up, in SETUP order.
    pub tracks: Vec<SetupTrack>,
    /// Playing, paused or ready.
    pub state: PlayState,
    /// Set once the session is torn down; later requests get 454.
    pub closed: bool,
}

/// One RTSP session.
pub struct Session {
    /// The session identifier (RFC 2326 §12.37): 128 random bits in hex.
    pub id: String,
    /// The authenticated user who created it; requests from other
    /// connections must authenticate as the same user.
    pub owner: Option<String>,
    /// The file served.
    pub file: PathBuf,
    /// The file's description at SETUP time.
    pub media: Arc<Media>,
    /// The aggregate control URL, without a trailing slash.
    pub url: String,
    /// The client's address (the RTP payload size depends on its family).
    pub peer: IpAddr,
    /// The SRTP keys and contexts of a session set up over RTSPS with
    /// SRTP on; `None`: plain RTP.
    pub srtp: Option<Arc<SessionSrtp>>,
    /// The table's epoch.
    epoch: Instant,
    /// Milliseconds since `epoch` of the last sign of life.
    last_seen: AtomicU64,
    /// One more than the milliseconds since `epoch` when the client's port
    /// was first found unreachable since its last sign of life; 0: not.
    unreachable_since: AtomicU64,
    /// Wakes the reaper (the table's).
    reaper: Arc<Notify>,
    /// Tracks and play state.
    pub control: tokio::sync::Mutex<Control>,
    /// Its place in its client's, connection's and user's counts, given
    /// back when the session is dropped.
    _counted: SessionGuard,
    /// What it sent and heard.
    pub traffic: Arc<SessionTraffic>,
}

impl ClientActivity for Session {
    fn touch(&self) {
        self.last_seen
            .store(millis_since(self.epoch), Ordering::Relaxed);
        self.unreachable_since.store(0, Ordering::Relaxed);
    }

    fn client_packet(&self, data: &[u8]) {
        self.touch();
        self.client_rtcp(data);
    }

    fn unreachable(&self) {
        let now = millis_since(self.epoch).saturating_add(1);
        let first = self
            .unreachable_since
            .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first {
            tracing::info!("session {}: the client's RTP port is unreachable", self.id);
            self.reaper.notify_one();
        }
    }
}

/// A timeout in milliseconds, 0 for none.
fn timeout_millis(timeout: Option<Duration>) -> u64 {
    timeout.map_or(0, |t| {
        u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1)
    })
}

/// Milliseconds from `epoch` to now.
fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

impl Session {
    /// Reads an RTCP packet from the client (RFC 3550 §6.4): its reception
    /// reports go to the session's traffic figures (the API, the metrics),
    /// and with its BYE to the debug log (loss, jitter, round trip).
    fn client_rtcp(&self, data: &[u8]) {
        use crate::rtp::rtcp::{self, RtcpMessage};
        let decrypted;
        let data = match &self.srtp {
            Some(srtp) => match srtp.client_rtcp(data) {
                Some(plain) => {
                    decrypted = plain;
                    &decrypted
                }
                None => {
                    tracing::debug!(
                        "session {}: unreadable SRTCP from the client ({} bytes)",
                        self.id,
                        data.len()
                    );
                    return;
                }
            },
            None => data,
        };
        let Ok(messages) = rtcp::parse(data) else {
            return;
        };
        self.traffic.received(&messages);
        if !tracing::enabled!(tracing::Level::DEBUG) {
            return;
        }
        for message in messages {
            match message {
                RtcpMessage::ReceiverReport { reports, .. }
                | RtcpMessage::SenderReport { reports, .. } => {
                    for r in reports {
                        let rtt = r
                            .round_trip(std::time::SystemTime::now())
                            .map_or_else(String::new, |d| format!(", round trip {d:?}"));
                        tracing::debug!(
                            "session {}: receiver report on {:08X}: {:.1}% lost lately, {} in all, jitter {}{rtt}",
                            self.id,
                            r.ssrc,
                            f64::from(r.fraction_lost) * 100.0 / 256.0,
                            r.cumulative_lost,
                            r.jitter
                        );
                    }
                }
                RtcpMessage::Bye { reason, .. } => tracing::debug!(
                    "session {}: the client sent BYE ({})",
                    self.id,
                    reason.unwrap_or_default()
                ),
                _ => {}
            }
        }
    }

    /// The control URL of track `index`, as in RTP-Info (RFC 2326 §12.33).
    pub fn track_url(&self, index: usize) -> String {
        headers::control_url(&self.url, &crate::sdp::track_control(index))
    }
}

/// The session table, shared by every connection.
pub struct Sessions {
    map: Mutex<HashMap<String, Arc<Session>>>,
    epoch: Instant,
    /// The idle timeout in milliseconds, 0 for never (a reload changes it).
    timeout_ms: AtomicU64,
    max: AtomicUsize,
    reaper: Arc<Notify>,
    /// Notified when the last session leaves the table (a permit is kept
    /// for a waiter that comes later).
    emptied: Notify,
}

/// A new session's fixed parts.
pub struct NewSession {
    /// See [`Session::owner`].
    pub owner: Option<String>,
    /// See [`Session::file`].
    pub file: PathBuf,
    /// See [`Session::media`].
    pub media: Arc<Media>,
    /// See [`Session::url`].
    pub url: String,
    /// See [`Session::peer`].
    pub peer: IpAddr,
    /// See [`Session::srtp`].
    pub srtp: Option<Arc<SessionSrtp>>,
    /// The session's place in the per-client counts.
    pub counted: SessionGuard,
    /// See [`Session::traffic`].
    pub traffic: Arc<SessionTraffic>,
}

impl Sessions {
    /// An empty table whose sessions expire after `timeout` without activity.
    pub fn new(timeout: Option<Duration>, max: usize) -> Sessions {
        Sessions {
            map: Mutex::new(HashMap::new()),
            epoch: Instant::now(),
            timeout_ms: AtomicU64::new(timeout_millis(timeout)),
            max: AtomicUsize::new(max),
            reaper: Arc::new(Notify::new()),
            emptied: Notify::new(),
        }
    }

    /// The idle timeout announced in `Session: id;timeout=N`.
    pub fn timeout(&self) -> Option<Duration> {
        match self.timeout_ms.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }

    /// Changes the idle timeout of every session (a reload): sessions
    /// playing keep themselves alive as before, with their packets or
    /// their client's RTCP.
    pub fn set_timeout(&self, timeout: Option<Duration>) {
        self.timeout_ms
            .store(timeout_millis(timeout), Ordering::Relaxed);
        self.reaper.notify_one();
    }

    /// Changes the most sessions at once (a reload); sessions over a
    /// lowered cap stay.
    pub fn set_max(&self, max: usize) {
        self.max.store(max, Ordering::Relaxed);
    }

    /// Every session now.
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.lock().values().cloned().collect()
    }

    /// Creates a session with a fresh unguessable id; `None` when the table
    /// is full or the system has no randomness.
    pub fn create(&self, new: NewSession) -> Option<Arc<Session>> {
        let mut map = self.lock();
        if map.len() >= self.max.load(Ordering::Relaxed) {
            return None;
        }
        let id = loop {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).ok()?;
            let id = hex::encode_upper(bytes);
            if !map.contains_key(&id) {
                break id;
            }
        };
        let session = Arc::new(Session {
            id: id.clone(),
            owner: new.owner,
            file: new.file,
            media: new.media,
            url: new.url,
            peer: new.peer,
            srtp: new.srtp,
            epoch: self.epoch,
            last_seen: AtomicU64::new(millis_since(self.epoch)),
            unreachable_since: AtomicU64::new(0),
            reaper: Arc::clone(&self.reaper),
            control: tokio::sync::Mutex::new(Control {
                tracks: Vec::new(),
                state: PlayState::Ready,
                closed: false,
            }),
            _counted: new.counted,
            traffic: new.traffic,
        });
        map.insert(id, Arc::clone(&session));
        let first = map.len() == 1;
        drop(map);
        // A new session expires after every existing one: the reaper only
        // needs waking when it was waiting for the table to fill.
        if first {
            self.reaper.notify_one();
        }
        Some(session)
    }

    /// The session `id`, if it exists.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        self.lock().get(id).cloned()
    }

    /// Removes `id` from the table (its owner tears it down).
    pub fn remove(&self, id: &str) -> Option<Arc<Session>> {
        let mut map = self.lock();
        let removed = map.remove(id);
        let empty = removed.is_some() && map.is_empty();
        drop(map);
        if empty {
            self.emptied.notify_one();
        }
        removed
    }

    /// Sessions in the table.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Waits until the last session leaves the table (or returns at once
    /// if it did since the last wait).
    pub async fn emptied(&self) {
        self.emptied.notified().await;
    }

    /// Every session, for shutdown.
    pub fn drain(&self) -> Vec<Arc<Session>> {
        self.lock().drain().map(|(_, s)| s).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.map.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Removes and returns the sessions idle for longer than the timeout
    /// or unreachable for [`UNREACHABLE_GRACE`], and the time of the next
    /// possible expiry.
    fn expire(&self) -> (Vec<Arc<Session>>, Option<Instant>) {
        let timeout_ms = self
            .timeout()
            .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX));
        let grace_ms = UNREACHABLE_GRACE.as_millis() as u64;
        let now = millis_since(self.epoch);
        let mut expired = Vec::new();
        let mut next: Option<u64> = None;
        self.lock().retain(|_, session| {
            let idle =
                timeout_ms.map(|t| session.last_seen.load(Ordering::Relaxed).saturating_add(t));
            let gone = match session.unreachable_since.load(Ordering::Relaxed) {
                0 => None,
                since => Some(since - 1 + grace_ms),
            };
            let Some(deadline) = idle.into_iter().chain(gone).min() else {
                return true;
            };
            if deadline <= now {
                expired.push(Arc::clone(session));
                false
            } else {
                next = Some(next.map_or(deadline, |n| n.min(deadline)));
                true
            }
        });
        let next = next.map(|ms| self.epoch + Duration::from_millis(ms));
        if !expired.is_empty() && next.is_none() {
            self.emptied.notify_one();
        }
        (expired, next)
    }

    /// Runs forever, handing each expired session to `reclaim`.
    pub async fn reap<F, Fut>(self: Arc<Self>, reclaim: F)
    where
        F: Fn(Arc<Session>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        loop {
            let (expired, next) = self.expire();
            for session in expired {
                tracing::info!("session {} timed out", session.id);
                reclaim(session).await;
            }
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.reaper.notified() => {}
                    }
                }
                None => self.reaper.notified().await,
            }
        }
    }
}
