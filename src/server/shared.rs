//! What every connection and handler shares: the configuration (and the
//! part of it a reload changes), the served directory, the session table,
//! the per-client counts, the media plane and the metrics.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::catalog::Catalog;
use super::config::ServerConfig;
use super::limits::{Limits, FD_RESERVE};
use super::live::{Live, LiveSettings};
use super::metrics::Metrics;
use super::multicast::GroupPool;
use super::session::Sessions;
use super::udp::UdpPlane;

/// What every connection shares.
pub struct Shared {
    /// The settings the server started with (see `live` for those a
    /// reload changes).
    pub config: ServerConfig,
    /// The served directory, canonical.
    pub root: PathBuf,
    /// The files described so far.
    pub catalog: Catalog,
    /// The session table.
    pub sessions: Arc<Sessions>,
    /// What each client holds, against the limits.
    pub limits: Arc<Limits>,
    /// The UDP sockets of RTP and RTCP.
    pub udp: Option<Arc<UdpPlane>>,
    /// The groups leased to multicast tracks, when configured.
    pub multicast: Option<Arc<GroupPool>>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
    /// The settings a reload changes: users and access, among others.
    pub live: Live,
    /// The metrics.
    pub metrics: Metrics,
    /// Cancelled when a drain starts: sessions are no longer created.
    pub draining: CancellationToken,
    /// The open file limit the session and connection limits not
    /// configured follow (kept for reloads).
    pub nofile: u64,
}

impl Shared {
    /// The state of a server of the canonical directory `root` with
    /// `config`, sending UDP through `udp` (readied for multicast when the
    /// configuration has groups); without sockets, UDP unicast is refused.
    /// The session and connection limits not configured follow `nofile`,
    /// the open file limit. An error when the settings a reload could
    /// change are wrong (a path rule naming an unknown user).
    pub fn new(
        config: ServerConfig,
        root: PathBuf,
        udp: Option<Arc<UdpPlane>>,
        nofile: u64,
    ) -> anyhow::Result<Shared> {
        let multicast = config
            .multicast
            .map(|(range, ttl)| Arc::new(GroupPool::new(range, ttl)));
        let live = LiveSettings::new(&config, None)?;
        let metrics = Metrics::new();
        let (hits, misses) = metrics.cache_counters();
        let (max_sessions, client_limits) = config.limits(nofile);
        tracing::debug!(
            "open file limit {nofile}: at most {max_sessions} sessions and {} connections",
            client_limits.max_connections
        );
        let needed = (max_sessions + client_limits.max_connections) as u64 + FD_RESERVE;
        if needed > nofile {
            tracing::warn!(
                "max_sessions {max_sessions} and max_connections {} may need {needed} open files, \
                 over the limit of {nofile}",
                client_limits.max_connections
            );
        }
        Ok(Shared {
            root,
            catalog: Catalog::counting(
                crate::media::ReadOptions {
                    ts_mode: config.ts_mode,
                },
                config.payload,
                hits,
                misses,
            ),
            sessions: Arc::new(Sessions::new(config.reclaim, max_sessions)),
            limits: Limits::new(client_limits),
            udp,
            multicast,
            shutdown: CancellationToken::new(),
            config,
            live: Live::new(live),
            metrics,
            draining: CancellationToken::new(),
            nofile,
        })
    }
}
