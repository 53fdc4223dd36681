//! Reloading the configuration under a running server (SIGHUP, and `POST
//! /api/v1/reload` on the admin listener): the YAML file read again with
//! the command-line flags laid over it as at start, checked whole, then
//! put in force in one step; or, if anything in it is wrong, refused with
//! one error logged and nothing changed.
//!
//! What a reload changes: users, realm and Basic (the authenticator),
//! per-path access, the admin listener's users and the drain timeout
//! ([`LiveSettings`]), the idle timeout (`reclaim`) and `max_sessions`
//! (the session table's), and the TLS certificate (re-read from its
//! files). Sessions already playing are untouched. Settings bound to
//! sockets or read once at start (ports, addresses, the directory, the
//! certificate's file names...) need a restart: a reload that changes
//! them says so in a warning and applies the rest.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context as _;

use super::config::{ServerConfig, Settings};
use super::live::LiveSettings;
use super::shared::Shared;
use super::tls::Tls;

/// Where the configuration comes from: the YAML file, if any, and the
/// flags laid over it.
#[derive(Clone, Debug, Default)]
pub struct ConfigSource {
    /// The `--config` file.
    pub file: Option<PathBuf>,
    /// The command-line flags given.
    pub flags: Settings,
}

impl ConfigSource {
    /// Reads and checks the configuration (file I/O: off the runtime).
    fn read(&self) -> anyhow::Result<ServerConfig> {
        let file = match &self.file {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        ServerConfig::try_from(file.overridden_by(self.flags.clone()))
    }
}

/// What a reload did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reloaded {
    /// The keys whose new values wait for a restart.
    pub restart_needed: Vec<&'static str>,
}

/// Reloads the configuration of a running server; cheap to clone.
#[derive(Clone)]
pub struct Reloader(Arc<Inner>);

struct Inner {
    shared: Arc<Shared>,
    tls: Option<Arc<Tls>>,
    source: Mutex<ConfigSource>,
    /// One reload at a time (SIGHUP and the API may race).
    one_at_a_time: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// A reloader of `shared`'s settings and `tls`'s certificate.
    pub fn new(shared: Arc<Shared>, tls: Option<Arc<Tls>>) -> Reloader {
        Reloader(Arc::new(Inner {
            shared,
            tls,
            source: Mutex::new(ConfigSource::default()),
            one_at_a_time: tokio::sync::Mutex::new(()),
        }))
    }

    /// Reads the configuration from `source` from now on.
    pub fn set_source(&self, source: ConfigSource) {
        *self.0.source.lock().unwrap_or_else(PoisonError::into_inner) = source;
    }

    /// Reads the configuration again and puts it in force, or refuses it
    /// (one error logged, the settings in force unchanged).
    pub async fn reload(&self) -> anyhow::Result<Reloaded> {
        let inner = &self.0;
        let _one = inner.one_at_a_time.lock().await;
        let source = inner
            .source
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let prepared = tokio::task::spawn_blocking({
            let reloader = self.clone();
            move || reloader.prepare(&source)
        })
        .await
        .context("the reload task failed")
        .and_then(|prepared| prepared);
        let shared = &inner.shared;
        match prepared {
            Ok((config, live)) => {
                let summary = format!(
                    "{} users, {} path rules, reclaim {}",
                    config.users.len(),
                    live.access.len(),
                    config
                        .reclaim
                        .map_or("never".to_owned(), |r| format!("{} s", r.as_secs()))
                );
                shared.live.set(live);
                shared.sessions.set_timeout(config.reclaim);
                let (max_sessions, client_limits) = config.limits(shared.nofile);
                shared.sessions.set_max(max_sessions);
                shared.limits.set_settings(client_limits);
                let restart_needed = restart_needed(&shared.config, &config);
                shared.metrics.reload(true);
                tracing::info!("reload: configuration applied ({summary})");
                if !restart_needed.is_empty() {
                    tracing::warn!(
                        "reload: {} changed: in force only after a restart",
                        restart_needed.join(", ")
                    );
                }
                Ok(Reloaded { restart_needed })
            }
            Err(e) => {
                shared.metrics.reload(false);
                tracing::error!("reload refused, the configuration in force stays: {e:#}");
                Err(e)
            }
        }
    }

    /// The new configuration and settings, checked, with the certificate
    /// re-read (the one step that takes effect here: it is the last, so a
    /// bad configuration leaves the old certificate too).
    fn prepare(&self, source: &ConfigSource) -> anyhow::Result<(ServerConfig, LiveSettings)> {
        let config = source.read()?;
        let live = LiveSettings::new(&config, Some(&self.0.shared.live.get()))?;
        if let Some(tls) = &self.0.tls {
            tls.reload()
                .context("TLS certificate kept, the new one does not load")?;
        }
        Ok((config, live))
    }
}

/// The keys of `new` that differ from `running`'s and take a restart.
fn restart_needed(running: &ServerConfig, new: &ServerConfig) -> Vec<&'static str> {
    let checks = [
        ("dir", running.dir != new.dir),
        ("port", running.port != new.port),
        ("bind", running.bind != new.bind),
        ("http_port", running.http_port != new.http_port),
        ("tls_cert, tls_key, tls_port", running.tls != new.tls),
        ("rtp_port", running.rtp_port != new.rtp_port),
        (
            "multicast, multicast_ttl",
            running.multicast != new.multicast,
        ),
        ("admin", running.admin != new.admin),
        ("loop", running.looping != new.looping),
        ("pcm8", running.payload != new.payload),
        ("stall_timeout", running.stall_timeout != new.stall_timeout),
        (
            "request_timeout",
            running.request_timeout != new.request_timeout,
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, changed)| *changed)
        .map(|(key, _)| key)
        .collect()
}
