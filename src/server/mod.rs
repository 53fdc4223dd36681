//! `mediatool serve`: an on-demand RTSP 1.0 server (RFC 2326) for every
//! media file under a directory.
//!
//! The split follows tokio's mini-redis: [`listener`] binds, one
//! `connection` task per client reads frames with [`crate::rtsp::framing`]
//! and hands requests to `handlers` (a file per RTSP method); sessions live
//! in a shared `session` table; media goes out through `playback` tasks to
//! each track's `delivery`: the shared sockets of `udp`, or the `sink`
//! queue of an RTSP connection. Sessions and playback know no connection:
//! an interleaved track holds its connection's sink, and the UDP plane and
//! playback report a client's signs of life through `activity`.
//!
//! Each module uses only modules of earlier ranks, so there is no cycle
//! (tests/layers.rs reads this list and the sources):
//!
//! 1. `activity`, `auth`, `catalog`, `limits`, `memory`, `multicast`, `paths`, `sink`, `source`:
//!    none of its siblings
//! 2. `config` (auth, limits, multicast), `listener` (paths), `udp`
//!    (activity)
//! 3. `delivery`: activity, multicast, sink, udp
//! 4. `playback`: delivery, sink, source
//! 5. `session`: activity, catalog, delivery, limits, playback, source
//! 6. `shared`: auth, catalog, config, limits, multicast, session, udp
//! 7. `handlers`: activity, auth, catalog, delivery, limits, paths,
//!    playback, session, shared, sink, source
//! 8. `connection`: activity, handlers, limits, shared, sink
//! 9. `accept`: connection, limits, shared
//!
//! and this module, which builds the shared state and runs the tasks.

mod accept;
mod activity;
pub mod auth;
pub mod catalog;
pub mod config;
mod connection;
mod delivery;
mod handlers;
pub mod limits;
pub mod listener;
mod memory;
pub mod multicast;
pub mod paths;
mod playback;
mod session;
mod shared;
mod sink;
mod source;
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

use crate::rtsp::url;
use auth::Authenticator;
use catalog::Catalog;
use limits::Limits;
use multicast::GroupPool;
use session::Sessions;
use shared::Shared;
use udp::UdpPlane;

/// A bound server, ready to run.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<TcpListener>,
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
        let listeners = listener::bind(&addrs, config.port)?;
        let udp = UdpPlane::bind(&addrs, config.rtp_port)
            .context("cannot bind the UDP ports for RTP/RTCP")?;
        let multicast = match config.multicast {
            Some((range, ttl)) => {
                udp.enable_multicast(ttl)
                    .context("cannot set up multicast sending")?;
                Some(Arc::new(GroupPool::new(range, ttl)))
            }
            None => None,
        };
        let auth = if config.users.is_empty() {
            None
        } else {
            Some(Authenticator::new(
                config.users.clone(),
                config.realm.clone(),
                config.basic_auth,
            )?)
        };
        // Raised so that the limits follow the hard limit, not the soft one
        // a shell happened to start with (often 1024).
        let nofile = limits::raise_fd_limit().context("cannot read the open file limit")?;
        let (max_sessions, client_limits) = config.limits(nofile);
        tracing::debug!(
            "open file limit {nofile}: at most {max_sessions} sessions and {} connections",
            client_limits.max_connections
        );
        let needed = (max_sessions + client_limits.max_connections) as u64 + limits::FD_RESERVE;
        if needed > nofile {
            tracing::warn!(
                "max_sessions {max_sessions} and max_connections {} may need {needed} open files, \
                 over the limit of {nofile}",
                client_limits.max_connections
            );
        }
        let sessions = Arc::new(Sessions::new(config.reclaim, max_sessions));
        Ok(Server {
            shared: Arc::new(Shared {
                root,
                catalog: Catalog::default(),
                sessions,
                limits: Limits::new(client_limits),
                udp: Some(Arc::new(udp)),
                multicast,
                auth,
                shutdown: CancellationToken::new(),
                config,
            }),
            listeners,
        })
    }

    /// The addresses listened on.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect()
    }

    /// The start-up lines: one base URL per listener, then the URL of each
    /// media file (at most [`listener::LISTED_FILES`]). Reads the directory.
    pub fn startup_lines(&self) -> Vec<String> {
        let shown: Vec<SocketAddr> = self
            .local_addrs()
            .into_iter()
            .map(listener::shown_addr)
            .collect();
        let mut lines: Vec<String> = shown.iter().map(|a| url::absolute(*a, "/")).collect();
        let Some(&first) = shown.first() else {
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
        for listener in self.listeners {
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            accepts.spawn(accept::run(listener, shared, next_id));
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

/// How long connections may take to flush their last bytes at shutdown.
const FLUSH_DEADLINE: Duration = Duration::from_secs(1);

/// The IP addresses a server with `bind` listens on.
fn listen_addrs(bind: Option<IpAddr>) -> Vec<IpAddr> {
    match bind {
        Some(ip) => vec![ip],
        None => udp::wildcard_addrs(),
    }
}
