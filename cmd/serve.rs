//! `mediatool serve [DIR]`: the on-demand RTSP server.

use std::io::Write as _;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;
use mediatool::media::TsMode;
use mediatool::rtp::Pcm8;
use mediatool::server::config::UserEntry;
use mediatool::server::{ConfigSource, Reloader, Server, ServerConfig, Settings, Stopper};

/// Serve every media file under DIR over RTSP, on demand.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory whose files are served (URL paths are relative to it) [default: .].
    pub dir: Option<PathBuf>,
    /// RTSP port [default: 554, or 8554 if 554 cannot be bound].
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,
    /// Listen address [default: all interfaces, 0.0.0.0 and ::].
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<IpAddr>,
    /// YAML configuration file; flags override it.
    #[arg(long, value_name = "FILE.yaml")]
    pub config: Option<PathBuf>,
    /// RTSP-over-HTTP tunneling port, 0 = off [default: first of 80, 8000, 8080 that binds].
    #[arg(long, value_name = "N")]
    pub http_port: Option<u16>,
    /// TLS certificate chain (PEM): enables RTSPS (and RTSP over HTTPS);
    /// re-read on SIGHUP.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM: RSA, ECDSA or Ed25519); re-read on SIGHUP.
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// RTSPS port [default: 322, or 8322 if 322 cannot be bound].
    #[arg(long, value_name = "N")]
    pub tls_port: Option<u16>,
    /// SRTP (RTP/SAVP) media on RTSPS sessions, keys in the SDP (SDES and
    /// MIKEY) [default: on with --tls-cert].
    #[arg(long, overrides_with = "no_srtp")]
    pub srtp: bool,
    /// Plain RTP media on RTSPS sessions.
    #[arg(long, overrides_with = "srtp")]
    pub no_srtp: bool,
    /// Require authentication as NAME:PASSWORD (repeatable).
    #[arg(long, value_name = "NAME:PASSWORD")]
    pub user: Vec<String>,
    /// Digest authentication realm [default: mediatool].
    #[arg(long, value_name = "TEXT")]
    pub realm: Option<String>,
    /// Idle session timeout in seconds, 0 = never [default: 65].
    #[arg(long, value_name = "SECONDS")]
    pub reclaim: Option<u64>,
    /// Restart files at their end instead of ending the stream.
    #[arg(long = "loop")]
    pub looping: bool,
    /// Offer multicast: each track a client sets up with multicast gets its
    /// own group of this IPv4 range, e.g. 239.255.42.0/24 [default: off, 461].
    #[arg(long, value_name = "A.B.C.D/N")]
    pub multicast: Option<String>,
    /// IP TTL of multicast packets [default: 1].
    #[arg(long, value_name = "N")]
    pub multicast_ttl: Option<u8>,
    /// Admin HTTP listener: /metrics, /healthz, /readyz, /api/v1/...; `off`
    /// disables it [default: 127.0.0.1:9090].
    #[arg(long, value_name = "ADDR:PORT")]
    pub admin: Option<String>,
    /// How transport streams (.ts, .m2ts) are served: one RTP stream per
    /// elementary stream, or the whole stream as one MP2T (RFC 2250) stream
    /// of TS packets paced by its PCR [default: tracks].
    #[arg(long, value_name = "MODE", value_parser = ts_mode_parser())]
    pub ts_mode: Option<TsMode>,
    /// How 8-bit PCM (8-bit WAV) is sent: widened to L16, which every
    /// client plays, or as L8 (RFC 3551), which ffmpeg cannot depacketize
    /// [default: l16].
    #[arg(long, value_name = "FORMAT", value_parser = pcm8_parser())]
    pub pcm8: Option<Pcm8>,
}

/// The `--ts-mode` values, parsed.
pub fn ts_mode_parser() -> impl clap::builder::TypedValueParser<Value = TsMode> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(TsMode::NAMES).try_map(|s| s.parse::<TsMode>())
}

/// The `--pcm8` values, parsed (`serve`, `packetize` and `probe`).
pub fn pcm8_parser() -> impl clap::builder::TypedValueParser<Value = Pcm8> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Pcm8::NAMES).try_map(|s| s.parse::<Pcm8>())
}

/// Replaces this process by `mediatool` started again with the same
/// arguments and the glibc tunables a server wants (its caches of freed
/// memory and of thread stacks off)
/// ([`memory::tunables`](mediatool::server::memory::tunables)), unless the
/// environment already sets them. glibc reads them only as a program
/// starts, and no call sets them later. On failure (the program file gone,
/// say) the server runs on as it is.
fn start_again_with_tunables() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt as _;
        let current = std::env::var_os("GLIBC_TUNABLES");
        let Some(tunables) = mediatool::server::memory::tunables(current.as_deref()) else {
            return;
        };
        let program = match std::env::current_exe() {
            Ok(program) => program,
            Err(e) => {
                tracing::debug!("cannot start again with glibc's tunables: {e}");
                return;
            }
        };
        let mut args = std::env::args_os();
        let name = args.next().unwrap_or_else(|| program.clone().into());
        let error = std::process::Command::new(&program)
            .arg0(name)
            .args(args)
            .env("GLIBC_TUNABLES", tunables)
            .exec();
        tracing::debug!("cannot start again with glibc's tunables: {error}");
    }
}

/// Runs the server until SIGINT/SIGTERM (and the drain that follows).
pub fn run(args: ServeArgs) -> anyhow::Result<()> {
    start_again_with_tunables();
    let file = match &args.config {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let flags = args.settings()?;
    let config = ServerConfig::try_from(file.overridden_by(flags.clone()))?;
    mediatool::server::memory::tune();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // File reads run here in short batches; a bounded pool keeps a
        // thousand sessions from starting hundreds of threads, and its
        // threads end 2 s after the load does (giving back what they hold).
        .max_blocking_threads(32)
        .thread_keep_alive(std::time::Duration::from_secs(2))
        .enable_all()
        .thread_name("mediatool-serve")
        .build()?;
    runtime.block_on(async {
        let server = Server::bind(config).await?;
        let lines = tokio::task::block_in_place(|| server.startup_lines());
        // Best effort: a reader that closed stdout must not stop the server.
        let mut out = std::io::stdout().lock();
        let printed = lines
            .iter()
            .try_for_each(|line| writeln!(out, "{line}"))
            .and_then(|()| out.flush());
        drop(out);
        if let Err(e) = printed {
            tracing::warn!("cannot print the start-up lines: {e}");
        }
        let reloader = server.reloader();
        reloader.set_source(ConfigSource {
            file: args.config.clone(),
            flags,
        });
        reload_on_hangup(reloader);
        let stopper = server.stopper();
        server
            .run(async move {
                shutdown_signal().await;
                // A second signal cuts the drain short.
                tokio::spawn(stop_on_second_signal(stopper));
            })
            .await
    })
}

/// Reloads the configuration and the TLS certificate on every SIGHUP, for
/// as long as the server runs (a bad configuration is refused and logged,
/// the old one stays).
fn reload_on_hangup(reloader: Reloader) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(mut hangups) => {
                tokio::spawn(async move {
                    while hangups.recv().await.is_some() {
                        let _ = reloader.reload().await;
                    }
                });
            }
            Err(e) => tracing::warn!("SIGHUP will not reload: {e}"),
        }
    }
    #[cfg(not(unix))]
    let _ = reloader;
}

async fn stop_on_second_signal(stopper: Stopper) {
    shutdown_signal().await;
    stopper.stop();
}

impl ServeArgs {
    /// The flags as settings to lay over the configuration file: only the
    /// flags given count.
    fn settings(&self) -> anyhow::Result<Settings> {
        let users = self
            .user
            .iter()
            .map(|u| UserEntry::Text(u.clone()))
            .collect::<Vec<_>>();
        Ok(Settings {
            dir: self.dir.clone(),
            port: self.port,
            bind: self.bind,
            http_port: self.http_port,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_port: self.tls_port,
            srtp: (self.srtp || self.no_srtp).then_some(self.srtp),
            srtp_encrypt: None,
            users: (!users.is_empty()).then_some(users),
            realm: self.realm.clone(),
            basic_auth: None,
            reclaim: self.reclaim,
            looping: self.looping.then_some(true),
            rtp_port: None,
            max_sessions: None,
            max_connections: None,
            max_connections_per_client: None,
            max_sessions_per_client: None,
            max_setups_per_second_per_client: None,
            max_sessions_per_connection: None,
            max_sessions_per_user: None,
            idle_connection_timeout: None,
            stall_timeout: None,
            request_timeout: None,
            multicast: self.multicast.clone(),
            multicast_ttl: self.multicast_ttl,
            admin: self.admin.clone(),
            admin_users: None,
            paths: None,
            drain_timeout: None,
            ts_mode: self.ts_mode,
            pcm8: self.pcm8,
        })
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
