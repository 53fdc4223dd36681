//! What every connection and handler shares: the configuration, the served
//! directory, the session table, the per-client counts and the media
//! plane.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::auth::Authenticator;
use super::catalog::Catalog;
use super::config::ServerConfig;
use super::limits::{Limits, FD_RESERVE};
use super::multicast::GroupPool;
use super::session::Sessions;
use super::udp::UdpPlane;

/// What every connection shares.
pub struct Shared {
    /// The settings in force.
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
    /// Credentials checked, when users are configured.
    pub auth: Option<Authenticator>,
    /// Cancelled when the server shuts down.
    pub shutdown: CancellationToken,
}

impl Shared {
    /// The state of a server of the canonical directory `root` with
    /// `config`, sending UDP through `udp` (readied for multicast when the
    /// configuration has groups); without sockets, UDP unicast is refused.
    /// The session and connection limits not configured follow `nofile`,
    /// the open file limit.
    pub fn new(
        config: ServerConfig,
        root: PathBuf,
        udp: Option<Arc<UdpPlane>>,
        nofile: u64,
    ) -> std::io::Result<Shared> {
        let multicast = config
            .multicast
            .map(|(range, ttl)| Arc::new(GroupPool::new(range, ttl)));
        let auth = if config.users.is_empty() {
            None
        } else {
            Some(Authenticator::new(
                config.users.clone(),
                config.realm.clone(),
                config.basic_auth,
            )?)
        };
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
            catalog: Catalog::default(),
            sessions: Arc::new(Sessions::new(config.reclaim, max_sessions)),
            limits: Limits::new(client_limits),
            udp,
            multicast,
            auth,
            shutdown: CancellationToken::new(),
            config,
        })
    }
}
