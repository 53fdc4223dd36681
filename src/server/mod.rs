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
//! 1. `activity`, `auth`, `catalog`, `multicast`, `paths`, `sink`, `source`:
//!    no sibling
//! 2. `config` (auth, multicast), `listener` (paths), `udp` (activity)
//! 3. `delivery`: activity, multicast, sink, udp
//! 4. `playback`: delivery, sink, source
//! 5. `session`: activity, catalog, delivery, playback, source
//! 6. `shared`: auth, catalog, config, multicast, session, udp
//! 7. `handlers`: activity, auth, catalog, delivery, paths, playback,
//!    session, shared, sink, source
//! 8. `connection`: activity, handlers, shared, sink
//!
//! and this module, which builds the shared state and runs the tasks.

mod activity;
pub mod auth;
pub mod catalog;
pub mod config;
mod connection;
mod delivery;
mod handlers;
pub mod listener;
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
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::{ServerConfig, Settings};

use crate::rtsp::url;
use auth::Authenticator;
use catalog::Catalog;
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
        let sessions = Arc::new(Sessions::new(config.reclaim, config.max_sessions));
        Ok(Server {
            shared: Arc::new(Shared {
                root,
                catalog: Catalog::new(crate::media::ReadOptions {
                    ts_mode: config.ts_mode,
                }),
                sessions,
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
    /// to those playing) and closes every connection.
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
        let next_id = Arc::new(AtomicU64::new(1));
        let mut accepts = tokio::task::JoinSet::new();
        for listener in self.listeners {
            let shared = Arc::clone(&shared);
            let next_id = Arc::clone(&next_id);
            accepts.spawn(accept_loop(listener, shared, next_id));
        }
        shutdown.await;
        tracing::info!("shutting down");
        shared.shutdown.cancel();
        accepts.abort_all();
        reaper.abort();
        let sessions = shared.sessions.drain();
        let count = sessions.len();
        for session in sessions {
            handlers::end_session(&shared, &session, true).await;
        }
        tracing::info!("ended {count} sessions");
        // Connections see the cancellation and close; give writers a moment.
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, next_id: Arc<AtomicU64>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(connection::serve(stream, peer, Arc::clone(&shared), id));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off, don't spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// The IP addresses a server with `bind` listens on.
fn listen_addrs(bind: Option<IpAddr>) -> Vec<IpAddr> {
    match bind {
        Some(ip) => vec![ip],
        None => udp::wildcard_addrs(),
    }
}
