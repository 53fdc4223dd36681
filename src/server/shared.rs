//! What every connection and handler shares: the configuration, the served
//! directory, the session table, the per-client counts and the media
//! plane.

use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::auth::Authenticator;
use super::catalog::Catalog;
use super::config::ServerConfig;
use super::limits::Limits;
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
