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
//! Operations: `metrics` holds the counters (the packet path adds to each
//! session's `traffic` once per batch), `live` the settings a `reload`
//! swaps under a running server (users, per-path `access`, limits), and
//! `admin` serves them over HTTP (`/metrics`, probes, the API); a drain
//! lets playing sessions finish before the server stops.
//!
//! Each module uses only modules of earlier ranks, so there is no cycle
//! (tests/layers.rs reads this list and the sources):
//!
//! 1. `access`, `activity`, `auth`, `byte_stream`, `catalog`, `limits`, `memory`, `metrics`, `multicast`, `paths`, `sink`, `source`, `tls`:
//!    no sibling
//! 2. `config` (access, auth, limits, multicast), `listener` (paths), `traffic` (metrics), `udp` (activity)
//! 3. `keying` (config), `live` (access, auth, config)
//! 4. `delivery`: activity, keying, multicast, sink, traffic, udp
//! 5. `playback`: delivery, sink, source
//! 6. `session`: activity, catalog, delivery, keying, limits, playback, source, traffic
//! 7. `shared`: catalog, config, limits, live, metrics, multicast, session, udp
//! 8. `handlers`: access, activity, auth, catalog, config, delivery, keying, limits, live,
//!    metrics, paths, playback, session, shared, sink, source, traffic
//! 9. `connection`: activity, handlers, limits, shared, sink
//! 10. `tunnel`: byte_stream, connection, limits, metrics, shared
//! 11. `dispatch`: byte_stream, connection, limits, metrics, shared, tls, tunnel
//! 12. `accept`: dispatch, limits, shared
//! 13. `reload`: config, live, shared, tls
//! 14. `offline`: config, connection, handlers, limits, shared, sink (the
//!     fuzzing entry point: one connection's bytes in, its bytes out, no
//!     sockets)
//! 15. `admin`: auth, delivery, handlers, listener, metrics, paths, reload,
//!     session, shared
//!
//! and this module, which builds the shared state and runs the tasks.

mod accept;
mod access;
mod activity;
mod admin;
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
mod live;
pub mod memory;
mod metrics;
pub mod multicast;
pub mod offline;
pub mod paths;
mod playback;
mod reload;
mod session;
mod shared;
mod sink;
mod source;
mod tls;
mod traffic;
mod tunnel;
mod udp;

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{ServerConfig, Settings};
pub use reload::{ConfigSource, Reloaded, Reloader};

use crate::rtsp::url;
use config::{AdminListen, HttpPort};
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
    /// The admin HTTP listener, unless off.
    admin: Option<TcpListener>,
    reloader: Reloader,
    /// Cut a drain short.
    stop: CancellationToken,
}

/// A listener and the kind of its connections.
type Listener = (TcpListener, Door);

/// Ends a drain at once (a second SIGTERM or SIGINT).
#[derive(Clone)]
pub struct Stopper(CancellationToken);

impl Stopper {
    /// Stops waiting for playing sessions: they end now.
    pub fn stop(&self) {
        self.0.cancel();
    }
}

impl Server {
    /// Checks the directory and binds the RTSP listeners, the admin
    /// listener and the UDP sockets.
    pub async fn bind(config: ServerConfig) -> anyhow::Result<Server> {
        let root = tokio::fs::canonicalize(&config.dir)
            .await
            .with_context(|| format!("{}", config.dir.display()))?;
        let is_dir = tokio::fs::metadata(&root).await.is_ok_and(|m| m.is_dir());
        anyhow::ensure!(is_dir, "{} is not a directory", config.dir.display());
        let addrs = listen_addrs(config.bind);
        let (listeners, tls) = bind_listeners(&addrs, &config)?;
        let admin = bind_admin(config.admin)?;
        let udp = UdpPlane::bind(&addrs, config.rtp_port)
            .context("cannot bind the UDP ports for RTP/RTCP")?;
        if let Some((_, ttl)) = config.multicast {
            udp.enable_multicast(ttl)
                .context("cannot set up multicast sending")?;
        }
        // Raised so that the limits follow the hard limit, not the soft one
        // a shell happened to start with (often 1024).
        let nofile = limits::raise_fd_limit().context("cannot read the open file limit")?;
        let shared = Arc::new(Shared::new(config, root, Some(Arc::new(udp)), nofile)?);
        Ok(Server {
            reloader: Reloader::new(Arc::clone(&shared), tls),
            shared,
            listeners,
            admin,
            stop: CancellationToken::new(),
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

    /// The admin listener's address, unless it is off.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Reloads the configuration (SIGHUP calls it; so does `POST
    /// /api/v1/reload`); give it the configuration's source first.
    pub fn reloader(&self) -> Reloader {
        self.reloader.clone()
    }

    /// Cuts a drain short.
    pub fn stopper(&self) -> Stopper {
        Stopper(self.stop.clone())
    }

    /// The start-up lines: one base URL per listener (`rtsp://`, then
    /// `rtsps://` and `http://`, then the admin listener's `/metrics`),
    /// then the `rtsp://` URL of each media file (at most
    /// [`listener::LISTED_FILES`]). Reads the directory.
    pub fn startup_lines(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .listeners
            .iter()
            .filter_map(|(l, door)| {
                let shown = listener::shown_addr(l.local_addr().ok()?);
                Some(format!("{}://{shown}/", door.scheme()))
            })
            .collect();
        if let Some(admin) = self.admin_addr() {
            lines.push(format!("http://{}/metrics", listener::shown_addr(admin)));
        }
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

    /// Serves until `shutdown` completes; then stops accepting, lets the
    /// sessions playing finish for up to `drain_timeout` (new ones are
    /// refused, `/readyz` answers 503; the [`Stopper`] cuts it short),
    /// ends every session (RTCP BYE to those playing, all at once) and
    /// closes every connection, letting each flush what it was sending
    /// (the BYEs of interleaved sessions among it) for at most
    /// [`FLUSH_DEADLINE`].
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let shared = self.shared;
        if let Some(udp) = &shared.udp {
            udp.spawn_receivers();
        }
        let reaper = tokio::spawn({
            let shared = Arc::clone(&shared);
            Arc::clone(&shared.sessions).reap(move |session| {
                let shared = Arc::clone(&shared);
                async move {
                    shared.metrics.reclaimed.inc();
                    handlers::end_session(&shared, &session, true).await
                }
            })
        });
        let trimmer = tokio::spawn(release_memory_after_load(Arc::clone(&shared.sessions)));
        let admin = self.admin.map(|listener| {
            let rtsp = self
                .listeners
                .iter()
                .find(|(_, door)| matches!(door, Door::Rtsp))
                .and_then(|(l, _)| l.local_addr().ok())
                .map(listener::shown_addr);
            tokio::spawn(admin::serve(
                listener,
                admin::Admin {
                    shared: Arc::clone(&shared),
                    reloader: self.reloader.clone(),
                    rtsp,
                },
            ))
        });
        let next_id = Arc::new(AtomicU64::new(1));
        let mut accepts = tokio::task::JoinSet::new();
        for (listener, door) in self.listeners {
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            accepts.spawn(accept::run(listener, door, shared, next_id));
        }
        shutdown.await;
        accepts.abort_all();
        drain(&shared, &self.stop).await;
        tracing::info!("shutting down");
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
        if let Some(admin) = admin {
            admin.abort();
        }
        Ok(())
    }
}

/// How often a drain looks whether sessions still play.
const DRAIN_POLL: Duration = Duration::from_millis(200);

/// Refuses new sessions, and waits until no session plays, the drain
/// timeout passes or `stop` is cancelled.
async fn drain(shared: &Shared, stop: &CancellationToken) {
    shared.draining.cancel();
    shared.metrics.set_draining(true);
    let timeout = shared.live.get().drain_timeout;
    if timeout.is_zero() {
        return;
    }
    tracing::info!(
        "draining: no new sessions; those playing have {} s to finish (signal again to stop now)",
        timeout.as_secs()
    );
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if !admin::any_playing(&admin::views(shared).await) {
            tracing::info!("drained: no session plays");
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(DRAIN_POLL) => {}
            () = tokio::time::sleep_until(deadline) => {
                tracing::info!("drain timeout: ending the sessions still playing");
                return;
            }
            () = stop.cancelled() => {
                tracing::info!("drain cut short");
                return;
            }
        }
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

/// Binds the admin listener: the default address if it can be bound (a
/// warning otherwise, so that a second server on one machine starts), a
/// given one or an error.
fn bind_admin(admin: AdminListen) -> anyhow::Result<Option<TcpListener>> {
    let bind =
        |addr: SocketAddr| listener::bind(&[addr.ip()], Some(addr.port())).map(|mut l| l.remove(0));
    match admin {
        AdminListen::Off => Ok(None),
        AdminListen::Addr(addr) => bind(addr).context("admin listener").map(Some),
        AdminListen::Default => match bind(config::DEFAULT_ADMIN) {
            Ok(listener) => Ok(Some(listener)),
            Err(e) => {
                tracing::warn!("no admin listener: {e:#} (--admin ADDR:PORT picks another)");
                Ok(None)
            }
        },
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
