//! `mediatool serve`: an on-demand RTSP 1.0 server (RFC 2326) for every
//! media file under a directory.
//!
//! The split follows tokio's mini-redis: [`listener`] binds, one
//! `connection` task per client reads frames with [`crate::rtsp::framing`]
//! and hands requests to `handlers` (a file per RTSP method). The TLS port
//! (`tls`: RTSPS) and the HTTP port (`tunnel`: RTSP over HTTP) reach the
//! same `connection` code over other byte streams (`dispatch` tells which
//! a client speaks; `byte_stream` is plain or TLS). Sessions live
//! in a shared `session` table; media goes out through `playback` tasks to
//! each track's `delivery`: the shared sockets of `udp`, or the `sink`
//! queue of an RTSP connection. Sessions and playback know no connection:
//! an interleaved track holds its connection's sink, and the UDP plane and
//! playback report a client's signs of life through `activity`.
//!
//! Each module uses only modules of earlier ranks, so there is no cycle
//! (tests/layers.rs reads this list and the sources):
//!
//! 1. `activity`, `auth`, `byte_stream`, `catalog`, `limits`, `memory`, `multicast`, `paths`, `sink`, `source`, `tls`:
//!    no sibling
//! 2. `config` (auth, limits, multicast), `listener` (paths), `udp` (activity)
//! 3. `keying` (config): SRTP keys and contexts of RTSPS sessions
//! 4. `delivery`: activity, keying, multicast, sink, udp
//! 5. `playback`: delivery, sink, source
//! 6. `session`: activity, catalog, delivery, keying, limits, playback, source
//! 7. `shared`: auth, catalog, config, limits, multicast, session, udp
//! 8. `handlers`: activity, auth, catalog, config, delivery, keying, limits,
//!    paths, playback, session, shared, sink, source
//! 9. `connection`: activity, handlers, limits, shared, sink
//! 10. `tunnel`: byte_stream, connection, limits, shared
//! 11. `dispatch`: byte_stream, connection, limits, shared, tls, tunnel
//! 12. `accept`: dispatch, limits, shared
//! 13. `offline`: config, connection, handlers, limits, shared, sink (the
//!     fuzzing entry point: one connection's bytes in, its bytes out, no
//!     sockets)
//!
//! and this module, which builds the shared state and runs the tasks.

mod accept;
mod activity;
pub mod auth;
mod byte_stream;
pub mod catalog;
pub mod config;
mod connection;
mod delivery;
mod dispatch;
mod handlers;
mod keying;
pub mod limits;
pub mod listener;
mod memory;
pub mod multicast;
pub mod offline;
pub mod paths;
mod playback;
mod session;
mod shared;
mod sink;
mod source;
mod tls;
mod tunnel;
mod udp;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

pub use config::{ServerConfig, Settings};

use crate::rtsp::url;
use config::HttpPort;
use dispatch::Door;
use session::Sessions;
use shared::Shared;
use tls::Tls;
use tunnel::Tunnels;
use udp::UdpPlane;

/// A bound server, ready to run.
pub struct Server {
    shared: Arc<Shared>,
    /// Every listener, RTSP first, with the kind of its connections.
    listeners: Vec<Listener>,
    tls: Option<Arc<Tls>>,
}

/// A listener and the kind of its connections.
type Listener = (TcpListener, Door);

/// What SIGHUP reloads, usable while the server runs.
#[derive(Clone)]
pub struct Reloader {
    tls: Option<Arc<Tls>>,
}

impl Reloader {
    /// Re-reads what can change under a running server without dropping
    /// sessions: the TLS certificate and key (a file that does not load
    /// is refused with an error logged, and the old certificate stays).
    pub fn reload(&self) {
        match &self.tls {
            None => tracing::info!("reload: nothing to reload"),
            Some(tls) => match tls.reload() {
                Ok(()) => tracing::info!("reload: TLS certificate re-read"),
                Err(e) => tracing::error!("reload: TLS certificate kept: {e:#}"),
            },
        }
    }
}

impl Server {
    /// Checks the directory and binds the RTSP listeners and the UDP
    /// sockets.
    pub async fn bind(config: ServerConfig) -> anyhow::Result<Server> {
        let root = tokio::fs::canonicalize(&config.dir)
            .await
            .with_context(|| format!("{}", config.dir.display()))?;
        let is_dir = tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir());
        anyhow::ensure!(is_dir, "{} is not a directory", config.dir.display());
        let addrs = listen_addrs(config.bind);
        let (listeners, tls) = bind_listeners(&addrs, &config)?;
        let udp = UdpPlane::bind(&addrs, config.rtp_port)
            .context("cannot bind the UDP ports for RTP/RTCP")?;
        if let Some((_, ttl)) = config.multicast {
            udp.enable_multicast(ttl)
                .context("cannot set up multicast sending")?;
        }
        // Raised so that the limits follow the hard limit, not the soft one
        // a shell happened to start with (often 1024).
        let nofile = limits::raise_fd_limit().context("cannot read the open file limit")?;
        Ok(Server {
            shared: Arc::new(Shared::new(config, root, Some(Arc::new(udp)), nofile)?),
            listeners,
            tls,
        })
    }

    /// The addresses the RTSP listeners listen on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter(|(_, door)| matches!(door, Door::Rtsp))
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// What SIGHUP calls.
    pub fn reloader(&self) -> Reloader {
        Reloader {
            tls: self.tls.clone(),
        }
    }

    /// The start-up lines: one base URL per listener (`rtsp://`, then
    /// `rtsps://` and `http://`), then the `rtsp://` URL of each media file
    /// (at most [`listener::LISTED_FILES`]). Reads the directory.
    pub fn startup_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .listeners
            .iter()
            .filter_map(|(l, door)| {
                let shown = listener::shown_addr(l.local_addr().ok()?);
                Some(format!("{}://{shown}/", door.scheme()))
            })
            .collect();
        let Some(first) = self.local_addrs().first().map(|a| listener::shown_addr(*a)) else {
            return lines;
        };
        let (files, more, truncated) =
            listener::media_files(&self.shared.root, listener::LISTED_FILES);
        lines.extend(files.iter().map(|path| url::absolute(first, path)));
        if more > 0 || truncated {
            lines.push(format!(
                "... and {more}{} more",
                if truncated { "+" } else { "" }
            ));
        }
        lines
    }

    /// Serves until `shutdown` completes, then ends every session (RTCP BYE
    /// to those playing, all at once) and closes every connection, letting
    /// each flush what it was sending (the BYEs of interleaved sessions
    /// among it) for at most [`FLUSH_DEADLINE`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let shared = self.shared;
        if let Some(udp) = &shared.udp {
            udp.spawn_receivers();
        }
        let reaper = tokio::spawn({
            let shared = Arc::clone(&shared);
            Arc::clone(&shared.sessions).reap(move |session| {
                let shared = Arc::clone(&shared);
                async move { handlers::end_session(&shared, &session, true).await }
            })
        });
        let trimmer = tokio::spawn(release_memory_after_load(Arc::clone(&shared.sessions)));
        let next_id = Arc::new(AtomicU64::new(1));
        let mut accepts = tokio::task::JoinSet::new();
        for (listener, door) in self.listeners {
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            accepts.spawn(accept::run(listener, door, shared, next_id));
        }
        shutdown.await;
        tracing::info!("shutting down");
        accepts.abort_all();
        reaper.abort();
        trimmer.abort();
        // Sessions end before their connections close, so that the BYE of
        // an interleaved session goes out on its connection.
        let sessions = shared.sessions.drain();
        let count = sessions.len();
        futures_util::future::join_all(
            sessions
                .iter()
                .map(|session| handlers::end_session(&shared, session, true)),
        )
        .await;
        tracing::info!("ended {count} sessions");
        shared.shutdown.cancel();
        shared.limits.close_all();
        if tokio::time::timeout(FLUSH_DEADLINE, shared.limits.all_closed())
            .await
            .is_err()
        {
            tracing::info!(
                "{} connections still writing after {FLUSH_DEADLINE:?}: closed",
                shared.limits.connections()
            );
        }
        Ok(())
    }
}

/// Each time the session table empties, gives the memory freed back to the
/// system ([`memory::release`]) a second later, when the sessions' tasks
/// have ended, and again a few seconds later for what their connections
/// held, unless sessions came back meanwhile.
async fn release_memory_after_load(sessions: Arc<Sessions>) {
    loop {
        sessions.emptied().await;
        for delay in [Duration::from_secs(1), Duration::from_secs(4)] {
            tokio::time::sleep(delay).await;
            if sessions.len() > 0 {
                break;
            }
            let _ = tokio::task::spawn_blocking(memory::release).await;
        }
    }
}

/// Binds the RTSP listeners, and the TLS and HTTP-tunneling ones the
/// configuration asks for (with the TLS certificate loaded).
fn bind_listeners(
    addrs: &[IpAddr],
    config: &ServerConfig,
) -> anyhow::Result<(Vec<Listener>, Option<Arc<Tls>>)> {
    // The certificate first: a bad file stops the server before it binds.
    let tls = match &config.tls {
        Some(settings) => Some(Arc::new(Tls::load(&settings.cert, &settings.key)?)),
        None => None,
    };
    let mut listeners: Vec<Listener> = listener::bind(addrs, config.port)?
        .into_iter()
        .map(|l| (l, Door::Rtsp))
        .collect();
    let tunnels = Arc::new(Tunnels::default());
    if let (Some(settings), Some(tls)) = (&config.tls, &tls) {
        let bound = match settings.port {
            Some(port) => listener::bind_first(addrs, &[port]),
            None => listener::bind_first(addrs, &listener::TLS_PORTS),
        }
        .context("RTSPS")?;
        let door = Door::Tls(Arc::clone(tls), Arc::clone(&tunnels));
        listeners.extend(bound.into_iter().map(|l| (l, door.clone())));
    }
    let http = match config.http_port {
        HttpPort::Off => Vec::new(),
        HttpPort::Port(port) => listener::bind_first(addrs, &[port]).context("RTSP over HTTP")?,
        // As live555MediaServer: without a port of the list, no tunneling.
        HttpPort::Default => {
            listener::bind_first(addrs, &listener::HTTP_PORTS).unwrap_or_else(|e| {
                tracing::warn!("no RTSP-over-HTTP tunneling: {e:#}");
                Vec::new()
            })
        }
    };
    let door = Door::Http(tunnels);
    listeners.extend(http.into_iter().map(|l| (l, door.clone())));
    Ok((listeners, tls))
}

/// How long connections may take to flush their last bytes at shutdown.
const FLUSH_DEADLINE: Duration = Duration::from_secs(1);

/// The IP addresses a server with `bind` listens on.
fn listen_addrs(bind: Option<IpAddr>) -> Vec<IpAddr> {
    match bind {
        Some(ip) => vec![ip],
        None => udp::wildcard_addrs(),
    }
}
