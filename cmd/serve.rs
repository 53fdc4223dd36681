//! `mediatool serve [DIR]`: the on-demand RTSP server.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

/// Serve every media file under DIR over RTSP, on demand.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Directory whose files are served (URL paths are relative to it).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
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
    /// TLS certificate chain (PEM): enables RTSPS.
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// RTSPS port [default: 322, or 8322 if 322 cannot be bound].
    #[arg(long, value_name = "N")]
    pub tls_port: Option<u16>,
    /// SRTP (RTP/SAVP) media on RTSPS sessions [default: on when TLS is on].
    #[arg(long, overrides_with = "no_srtp")]
    pub srtp: bool,
    /// Plain RTP media even on RTSPS sessions.
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
}

/// Runs the server until SIGINT/SIGTERM.
pub fn run(_args: ServeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`serve` is not implemented yet (issue 4)")
}
