//! The settings a reload may change under a running server, held as one
//! value swapped whole ([`Live`]): each request reads one consistent
//! snapshot (an `Arc` clone under a read lock, never per packet), a
//! reload builds the next one aside and puts it in place in one step, and
//! what already runs (playing sessions, open connections) keeps what it
//! started with.
//!
//! In it: the users, realm and Basic setting (as the [`Authenticator`]
//! that checks them), the per-path rules, the admin listener's users and
//! the drain timeout. The session table takes the idle timeout and the
//! session cap itself (`Sessions::set_timeout`, `Sessions::set_max`), the
//! per-client limits their table (`Limits::set_settings`).

use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use super::access::Access;
use super::auth::{Authenticator, User};
use super::config::ServerConfig;

/// The realm of the admin listener's challenges.
pub const ADMIN_REALM: &str = "mediatool admin";

/// What a reload may change.
pub struct LiveSettings {
    /// Checks RTSP credentials; `None` on a server without users.
    pub auth: Option<Arc<Authenticator>>,
    /// What the authenticator was built from, to keep it (and the nonces
    /// it issued) across reloads that leave them as they were.
    auth_source: (Vec<User>, String, bool),
    /// The per-path rules.
    pub access: Access,
    /// Checks the admin listener's credentials (Basic or Digest); `None`:
    /// the admin listener is open.
    pub admin_auth: Option<Arc<Authenticator>>,
    admin_source: Vec<User>,
    /// How long playing sessions may go on once a drain starts.
    pub drain_timeout: Duration,
}

impl LiveSettings {
    /// The settings of `config`, reusing `previous`'s authenticators where
    /// their users did not change. An error names what is wrong (a path
    /// rule naming an unknown user, say).
    pub fn new(
        config: &ServerConfig,
        previous: Option<&LiveSettings>,
    ) -> anyhow::Result<LiveSettings> {
        let names: Vec<&str> = config.users.iter().map(|u| u.name.as_str()).collect();
        let access = Access::new(&config.paths, &names).map_err(anyhow::Error::msg)?;
        let auth_source = (
            config.users.clone(),
            config.realm.clone(),
            config.basic_auth,
        );
        let auth = match previous {
            Some(p) if p.auth_source == auth_source => p.auth.clone(),
            _ if config.users.is_empty() => None,
            _ => Some(Arc::new(Authenticator::new(
                config.users.clone(),
                config.realm.clone(),
                config.basic_auth,
            )?)),
        };
        let admin_auth = match previous {
            Some(p) if p.admin_source == config.admin_users => p.admin_auth.clone(),
            _ if config.admin_users.is_empty() => None,
            // Basic too: Prometheus and Kubernetes probes speak no Digest.
            _ => Some(Arc::new(Authenticator::new(
                config.admin_users.clone(),
                ADMIN_REALM.to_owned(),
                true,
            )?)),
        };
        Ok(LiveSettings {
            auth,
            auth_source,
            access,
            admin_auth,
            admin_source: config.admin_users.clone(),
            drain_timeout: config.drain_timeout,
        })
    }
}

/// The settings in force, swapped whole by a reload.
pub struct Live(RwLock<Arc<LiveSettings>>);

impl Live {
    /// Holds `settings`.
    pub fn new(settings: LiveSettings) -> Live {
        Live(RwLock::new(Arc::new(settings)))
    }

    /// The settings in force now.
    pub fn get(&self) -> Arc<LiveSettings> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Puts `settings` in force.
    pub fn set(&self, settings: LiveSettings) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(settings);
    }
}
