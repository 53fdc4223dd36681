//! Server settings: the YAML file (`--config`), command-line flags laid
//! over it, and the checked result the server runs with.
//!
//! YAML parsing stays in this one module (serde-saphyr; see
//! /work/shared/dependencies.md) so the crate can be swapped.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::access::PathRule;
use super::auth::User;
use super::limits::{self, ClientLimits};
use super::multicast::GroupRange;
use crate::media::TsMode;
use crate::rtp::{PayloadOptions, Pcm8};

/// Settings as written in the YAML file or given as flags; every field is
/// optional so that flags can be laid over the file. Keys are the flags'
/// names (`http_port` or `http-port`); unknown keys are an error naming them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory whose files are served.
    pub dir: Option<PathBuf>,
    /// RTSP port (default 554, falling back to 8554).
    pub port: Option<u16>,
    /// Listen address (default: 0.0.0.0 and ::).
    pub bind: Option<IpAddr>,
    /// RTSP-over-HTTP tunneling port (0 = off; default: the first of 80,
    /// 8000, 8080 that binds).
    #[serde(alias = "http-port")]
    pub http_port: Option<u16>,
    /// RTSPS certificate chain (PEM).
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    /// RTSPS private key (PEM).
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    /// RTSPS port (default 322, falling back to 8322).
    #[serde(alias = "tls-port")]
    pub tls_port: Option<u16>,
    /// SRTP (RTP/SAVP) on RTSPS sessions (default: on when TLS is on;
    /// `false` serves plain RTP over RTSPS).
    pub srtp: Option<bool>,
    /// Whether SRTP encrypts the media (default: yes); `false` keeps the
    /// authentication tags and sends payloads in the clear (the NULL cipher,
    /// live555's `weEncryptSRTP`).
    #[serde(alias = "srtp-encrypt")]
    pub srtp_encrypt: Option<bool>,
    /// Users allowed in: `NAME:PASSWORD` strings or `{name, password}` maps,
    /// a list of them or just one.
    #[serde(alias = "user", default, deserialize_with = "one_or_many")]
    pub users: Option<Vec<UserEntry>>,
    /// Digest realm.
    pub realm: Option<String>,
    /// Also accept HTTP Basic authentication (off by default: it sends the
    /// password in the clear).
    #[serde(alias = "basic-auth")]
    pub basic_auth: Option<bool>,
    /// Idle session timeout in seconds (0 = never).
    pub reclaim: Option<u64>,
    /// Restart files at their end.
    #[serde(rename = "loop")]
    pub looping: Option<bool>,
    /// First UDP port tried for the server's RTP/RTCP pair (default 6970).
    #[serde(alias = "rtp-port")]
    pub rtp_port: Option<u16>,
    /// Most sessions at once; more SETUPs get 503 (default: from the open
    /// file limit, see [`limits::fd_defaults`]).
    #[serde(alias = "max-sessions")]
    pub max_sessions: Option<usize>,
    /// Most connections at once (default: as `max_sessions`).
    #[serde(alias = "max-connections")]
    pub max_connections: Option<usize>,
    /// Most connections at once from one client address (default 32; 0:
    /// no limit).
    #[serde(alias = "max-connections-per-client")]
    pub max_connections_per_client: Option<usize>,
    /// Most sessions at once created from one client address (default 64;
    /// 0: no limit).
    #[serde(alias = "max-sessions-per-client")]
    pub max_sessions_per_client: Option<usize>,
    /// Most SETUP requests a second from one client address (default 50;
    /// 0: no limit).
    #[serde(alias = "max-setups-per-second-per-client")]
    pub max_setups_per_second_per_client: Option<u32>,
    /// Most sessions at once created on one connection (default 16; 0: no
    /// limit).
    #[serde(alias = "max-sessions-per-connection")]
    pub max_sessions_per_connection: Option<usize>,
    /// Most sessions at once of one authenticated user (default 256; 0: no
    /// limit).
    #[serde(alias = "max-sessions-per-user")]
    pub max_sessions_per_user: Option<usize>,
    /// Seconds a connection holding no session may go without a request
    /// before it is closed (default 30).
    #[serde(alias = "idle-connection-timeout")]
    pub idle_connection_timeout: Option<u64>,
    /// Seconds a TCP client may take nothing from a full connection before
    /// it is disconnected, ending its interleaved sessions (default 10).
    #[serde(alias = "stall-timeout")]
    pub stall_timeout: Option<u64>,
    /// Seconds a client may take to finish a request it has started
    /// before it is disconnected (default 10).
    #[serde(alias = "request-timeout")]
    pub request_timeout: Option<u64>,
    /// IPv4 multicast groups (`A.B.C.D/N`) leased to clients that ask for
    /// multicast; none: multicast SETUPs get 461.
    pub multicast: Option<String>,
    /// IP TTL of multicast packets (default 1: this network only).
    #[serde(alias = "multicast-ttl")]
    pub multicast_ttl: Option<u8>,
    /// The admin HTTP listener (`/metrics`, `/healthz`, `/readyz`,
    /// `/api/v1/...`): `ADDR:PORT`, or `off` (default `127.0.0.1:9090`).
    pub admin: Option<String>,
    /// Users of the admin listener (Basic or Digest), written as `users`;
    /// none: it is open.
    #[serde(alias = "admin-users", default, deserialize_with = "one_or_many")]
    pub admin_users: Option<Vec<UserEntry>>,
    /// Access per path: which users may read the files a glob matches.
    pub paths: Option<Vec<PathRule>>,
    /// Seconds playing sessions may go on after SIGTERM before they are
    /// ended (default 0: at once).
    #[serde(alias = "drain-timeout")]
    pub drain_timeout: Option<u64>,
    /// How transport streams are served: `tracks` (default) or `mp2t`.
    #[serde(alias = "ts-mode")]
    pub ts_mode: Option<TsMode>,
    /// How 8-bit PCM is sent: `l16` (default: widened, every client plays
    /// it) or `l8` (RFC 3551 §4.5.10, half the bit rate).
    pub pcm8: Option<Pcm8>,
}

/// A user in the YAML file.
#[derive(Clone, Debug, PartialEq)]
pub enum UserEntry {
    /// `NAME:PASSWORD`.
    Text(String),
    /// `{name: NAME, password: PASSWORD}`.
    Map(UserMap),
}

/// A user written as a map; other keys are an error naming them.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserMap {
    /// The user name.
    pub name: String,
    /// The password.
    pub password: String,
}

/// Reads a string or a map by what the document holds, so that a wrong
/// key in a map is reported by name (an untagged enum would only say
/// that nothing matched).
struct EntryVisitor;

impl<'de> serde::de::Visitor<'de> for EntryVisitor {
    type Value = UserEntry;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("NAME:PASSWORD or {name: NAME, password: PASSWORD}")
    }

    fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<UserEntry, E> {
        Ok(UserEntry::Text(text.to_owned()))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<UserEntry, A::Error> {
        UserMap::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(UserEntry::Map)
    }
}

impl<'de> Deserialize<'de> for UserEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EntryVisitor)
    }
}

/// `users:` as a list of entries or a single one, each entry's errors
/// passed on as they are.
fn one_or_many<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Vec<UserEntry>>, D::Error> {
    struct Entries;
    impl<'de> serde::de::Visitor<'de> for Entries {
        type Value = Vec<UserEntry>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a user or a list of users")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<UserEntry>, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = seq.next_element::<UserEntry>()? {
                out.push(entry);
            }
            Ok(out)
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Vec<UserEntry>, E> {
            EntryVisitor.visit_str(text).map(|e| vec![e])
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            map: A,
        ) -> Result<Vec<UserEntry>, A::Error> {
            EntryVisitor.visit_map(map).map(|e| vec![e])
        }
    }
    deserializer.deserialize_any(Entries).map(Some)
}

impl Settings {
    /// Reads a YAML settings file.
    pub fn from_file(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        Settings::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// Parses YAML settings; an empty document is empty settings.
    pub fn from_yaml(text: &str) -> anyhow::Result<Settings> {
        if text.trim().is_empty() {
            return Ok(Settings::default());
        }
        let settings: Settings = serde_saphyr::from_str(text).map_err(|e| {
            // The first line says what and where; the rest is a source snippet.
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            anyhow::anyhow!("{}", first.strip_prefix("error: ").unwrap_or(first))
        })?;
        Ok(settings)
    }

    /// `self` with every setting that `over` has replaced by `over`'s.
    pub fn overridden_by(self, over: Settings) -> Settings {
        Settings {
            dir: over.dir.or(self.dir),
            port: over.port.or(self.port),
            bind: over.bind.or(self.bind),
            http_port: over.http_port.or(self.http_port),
            tls_cert: over.tls_cert.or(self.tls_cert),
            tls_key: over.tls_key.or(self.tls_key),
            tls_port: over.tls_port.or(self.tls_port),
            srtp: over.srtp.or(self.srtp),
            srtp_encrypt: over.srtp_encrypt.or(self.srtp_encrypt),
            users: over.users.or(self.users),
            realm: over.realm.or(self.realm),
            basic_auth: over.basic_auth.or(self.basic_auth),
            reclaim: over.reclaim.or(self.reclaim),
            looping: over.looping.or(self.looping),
            rtp_port: over.rtp_port.or(self.rtp_port),
            max_sessions: over.max_sessions.or(self.max_sessions),
            max_connections: over.max_connections.or(self.max_connections),
            max_connections_per_client: over
                .max_connections_per_client
                .or(self.max_connections_per_client),
            max_sessions_per_client: over
                .max_sessions_per_client
                .or(self.max_sessions_per_client),
            max_setups_per_second_per_client: over
                .max_setups_per_second_per_client
                .or(self.max_setups_per_second_per_client),
            max_sessions_per_connection: over
                .max_sessions_per_connection
                .or(self.max_sessions_per_connection),
            max_sessions_per_user: over.max_sessions_per_user.or(self.max_sessions_per_user),
            idle_connection_timeout: over
                .idle_connection_timeout
                .or(self.idle_connection_timeout),
            stall_timeout: over.stall_timeout.or(self.stall_timeout),
            request_timeout: over.request_timeout.or(self.request_timeout),
            multicast: over.multicast.or(self.multicast),
            multicast_ttl: over.multicast_ttl.or(self.multicast_ttl),
            admin: over.admin.or(self.admin),
            admin_users: over.admin_users.or(self.admin_users),
            paths: over.paths.or(self.paths),
            drain_timeout: over.drain_timeout.or(self.drain_timeout),
            ts_mode: over.ts_mode.or(self.ts_mode),
            pcm8: over.pcm8.or(self.pcm8),
        }
    }
}

/// The checked settings the server runs with.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Directory whose files are served.
    pub dir: PathBuf,
    /// RTSP port; `None`: 554, or 8554 if 554 cannot be bound.
    pub port: Option<u16>,
    /// Listen address; `None`: 0.0.0.0 and ::.
    pub bind: Option<IpAddr>,
    /// Users allowed in; empty: no authentication.
    pub users: Vec<User>,
    /// Digest realm.
    pub realm: String,
    /// Accept Basic authentication too.
    pub basic_auth: bool,
    /// Idle session timeout; `None`: never.
    pub reclaim: Option<Duration>,
    /// Restart files at their end.
    pub looping: bool,
    /// First UDP port tried for the RTP/RTCP pair.
    pub rtp_port: u16,
    /// Most sessions at once; `None`: from the open file limit.
    pub max_sessions: Option<usize>,
    /// Most connections at once; `None`: from the open file limit.
    pub max_connections: Option<usize>,
    /// The per-client limits; their `max_connections` is replaced by
    /// [`max_connections`](Self::max_connections) or its default when the
    /// server binds (see [`ServerConfig::limits`]).
    pub client_limits: ClientLimits,
    /// How long a TCP client may take nothing from a full connection
    /// before it is disconnected.
    pub stall_timeout: Duration,
    /// How long a client may take to finish a request it has started.
    pub request_timeout: Duration,
    /// The multicast groups and TTL; `None`: no multicast.
    pub multicast: Option<(GroupRange, u8)>,
    /// RTSPS: the certificate and key files, and the port; `None`: off.
    pub tls: Option<TlsSettings>,
    /// SRTP on RTSPS sessions; `None`: plain RTP on every connection.
    pub srtp: Option<SrtpSettings>,
    /// The RTSP-over-HTTP tunneling port.
    pub http_port: HttpPort,
    /// Where the admin HTTP listener listens.
    pub admin: AdminListen,
    /// Users of the admin listener; empty: it is open.
    pub admin_users: Vec<User>,
    /// Access per path, in order (the first match decides).
    pub paths: Vec<PathRule>,
    /// How long playing sessions may go on after SIGTERM.
    pub drain_timeout: Duration,
    /// How transport streams are served.
    pub ts_mode: TsMode,
    /// The choices between payload formats (`pcm8`), of the SDP and the
    /// packets alike.
    pub payload: PayloadOptions,
}

/// Where the admin HTTP listener listens.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdminListen {
    /// Nowhere (`admin: off`).
    Off,
    /// [`DEFAULT_ADMIN`]; if it cannot be bound, nowhere (with a warning:
    /// a second server on one machine still starts).
    Default,
    /// This address (an error if it cannot be bound).
    Addr(SocketAddr),
}

/// The admin listener's address when none is given.
pub const DEFAULT_ADMIN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9090);

impl std::str::FromStr for AdminListen {
    type Err = String;

    /// `off`, or `ADDR:PORT` (`[::1]:9090` for IPv6).
    fn from_str(text: &str) -> Result<AdminListen, String> {
        match text.trim() {
            "off" => Ok(AdminListen::Off),
            addr => addr.parse().map(AdminListen::Addr).map_err(|_| {
                format!("admin {text:?} is neither ADDR:PORT (e.g. 127.0.0.1:9090) nor off")
            }),
        }
    }
}

/// Where RTSPS gets its certificate and listens.
#[derive(Clone, Debug, PartialEq)]
pub struct TlsSettings {
    /// The certificate chain (PEM), re-read on SIGHUP.
    pub cert: PathBuf,
    /// The private key (PEM), re-read on SIGHUP.
    pub key: PathBuf,
    /// The port; `None`: 322, or 8322 if 322 cannot be bound.
    pub port: Option<u16>,
}

/// How RTSPS sessions protect their media (RFC 3711).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SrtpSettings {
    /// Encrypt payloads (AES-CM); `false`: authenticate only (NULL cipher).
    pub encrypt: bool,
}

/// Where RTSP-over-HTTP tunneling listens.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HttpPort {
    /// Not at all (`--http-port 0`).
    Off,
    /// The first of 80, 8000, 8080 that binds, or none (as
    /// live555MediaServer does).
    Default,
    /// This port (an error if it cannot be bound).
    Port(u16),
}

impl ServerConfig {
    /// The session cap and the per-client limits for a process that may
    /// open `nofile` files: `max_sessions` and `max_connections` as
    /// configured, or [`limits::fd_defaults`] of it.
    pub fn limits(&self, nofile: u64) -> (usize, ClientLimits) {
        let default = limits::fd_defaults(nofile);
        let client_limits = ClientLimits {
            max_connections: self.max_connections.unwrap_or(default),
            ..self.client_limits.clone()
        };
        (self.max_sessions.unwrap_or(default), client_limits)
    }
}

/// The default idle timeout (RFC 2326 §12.37 suggests 60 s; live555 uses 65).
pub const DEFAULT_RECLAIM: u64 = 65;

/// The default for [`ServerConfig::stall_timeout`], in seconds.
pub const DEFAULT_STALL_TIMEOUT: u64 = 10;

/// The default for [`ServerConfig::request_timeout`], in seconds.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 10;

/// The longest idle timeout announced (a day): clients keep `timeout=` in
/// 32-bit counters, some of milliseconds; 0 means never.
pub const MAX_RECLAIM: u64 = 86_400;

/// The longest drain (a day).
pub const MAX_DRAIN_TIMEOUT: u64 = 86_400;

/// The users of `entries` (`users:` or `admin_users:`), checked.
fn checked_users(entries: Option<Vec<UserEntry>>) -> anyhow::Result<Vec<User>> {
    entries
        .unwrap_or_default()
        .into_iter()
        .map(|u| match u {
            UserEntry::Text(text) => User::parse(&text).map_err(anyhow::Error::msg),
            UserEntry::Map(UserMap { name, password }) if !name.is_empty() => {
                Ok(User { name, password })
            }
            UserEntry::Map(_) => Err(anyhow::anyhow!("a user has an empty name")),
        })
        .collect()
}

impl TryFrom<Settings> for ServerConfig {
    type Error = anyhow::Error;

    fn try_from(s: Settings) -> anyhow::Result<ServerConfig> {
        let tls = match (s.tls_cert, s.tls_key) {
            (Some(cert), Some(key)) => Some(TlsSettings {
                cert,
                key,
                port: s.tls_port,
            }),
            (None, None) if s.tls_port.is_none() => None,
            (None, None) => anyhow::bail!("tls_port needs tls_cert and tls_key"),
            (Some(_), None) => anyhow::bail!("tls_cert needs tls_key"),
            (None, Some(_)) => anyhow::bail!("tls_key needs tls_cert"),
        };
        // SRTP keys travel in the SDP, which only TLS keeps secret.
        let srtp = match (s.srtp, &tls) {
            (Some(true), None) => {
                anyhow::bail!("srtp needs tls_cert and tls_key: its keys travel inside RTSPS")
            }
            (Some(false), _) | (None, None) if s.srtp_encrypt.is_some() => {
                anyhow::bail!("srtp_encrypt is set but SRTP is off")
            }
            (Some(false), _) | (None, None) => None,
            (Some(true) | None, Some(_)) => Some(SrtpSettings {
                encrypt: s.srtp_encrypt.unwrap_or(true),
            }),
        };
        let http_port = match s.http_port {
            None => HttpPort::Default,
            Some(0) => HttpPort::Off,
            Some(port) => HttpPort::Port(port),
        };
        let users = checked_users(s.users)?;
        let admin_users =
            checked_users(s.admin_users).map_err(|e| anyhow::anyhow!("admin_users: {e}"))?;
        let admin = match s.admin {
            None => AdminListen::Default,
            Some(text) => text.parse::<AdminListen>().map_err(anyhow::Error::msg)?,
        };
        if let AdminListen::Addr(addr) = admin {
            let taken = [s.port, s.tls_port, s.http_port];
            if taken.contains(&Some(addr.port())) && addr.port() != 0 {
                anyhow::bail!("admin {addr} shares a port with RTSP: give it one of its own");
            }
        }
        let drain_timeout = s.drain_timeout.unwrap_or(0);
        if drain_timeout > MAX_DRAIN_TIMEOUT {
            anyhow::bail!("drain_timeout must be at most {MAX_DRAIN_TIMEOUT} seconds");
        }
        let realm = s.realm.unwrap_or_else(|| "mediatool".into());
        if realm.contains(['"', '\r', '\n']) {
            anyhow::bail!("realm {realm:?} may not contain quotes or line breaks");
        }
        let reclaim = s.reclaim.unwrap_or(DEFAULT_RECLAIM);
        if reclaim > MAX_RECLAIM {
            anyhow::bail!("reclaim must be at most {MAX_RECLAIM} seconds (0: never)");
        }
        let stall_timeout = s.stall_timeout.unwrap_or(DEFAULT_STALL_TIMEOUT);
        if stall_timeout == 0 {
            anyhow::bail!("stall_timeout must be at least 1 second");
        }
        let request_timeout = s.request_timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
        if request_timeout == 0 {
            anyhow::bail!("request_timeout must be at least 1 second");
        }
        for (key, value) in [
            ("max_sessions", s.max_sessions),
            ("max_connections", s.max_connections),
        ] {
            if value == Some(0) {
                anyhow::bail!("{key} must be at least 1");
            }
        }
        let idle_connection_timeout = s
            .idle_connection_timeout
            .unwrap_or(limits::DEFAULT_IDLE_CONNECTION_TIMEOUT);
        if idle_connection_timeout == 0 {
            anyhow::bail!("idle_connection_timeout must be at least 1 second");
        }
        let client_limits = ClientLimits {
            max_connections: s.max_connections.unwrap_or(limits::DEFAULT_CEILING),
            max_connections_per_client: s
                .max_connections_per_client
                .unwrap_or(limits::DEFAULT_CONNECTIONS_PER_CLIENT),
            max_sessions_per_client: s
                .max_sessions_per_client
                .unwrap_or(limits::DEFAULT_SESSIONS_PER_CLIENT),
            max_setups_per_second_per_client: s
                .max_setups_per_second_per_client
                .unwrap_or(limits::DEFAULT_SETUPS_PER_SECOND),
            max_sessions_per_connection: s
                .max_sessions_per_connection
                .unwrap_or(limits::DEFAULT_SESSIONS_PER_CONNECTION),
            max_sessions_per_user: s
                .max_sessions_per_user
                .unwrap_or(limits::DEFAULT_SESSIONS_PER_USER),
            idle_connection_timeout: Duration::from_secs(idle_connection_timeout),
        };
        let multicast = match s.multicast {
            Some(range) => Some((
                range.parse::<GroupRange>().map_err(anyhow::Error::msg)?,
                s.multicast_ttl.unwrap_or(1),
            )),
            None if s.multicast_ttl.is_some() => {
                anyhow::bail!("multicast_ttl is set but no multicast range is")
            }
            None => None,
        };
        Ok(ServerConfig {
            dir: s.dir.unwrap_or_else(|| PathBuf::from(".")),
            port: s.port,
            bind: s.bind,
            users,
            realm,
            basic_auth: s.basic_auth.unwrap_or(false),
            reclaim: (reclaim > 0).then(|| Duration::from_secs(reclaim)),
            looping: s.looping.unwrap_or(false),
            rtp_port: s.rtp_port.unwrap_or(6970),
            max_sessions: s.max_sessions,
            max_connections: s.max_connections,
            client_limits,
            stall_timeout: Duration::from_secs(stall_timeout),
            request_timeout: Duration::from_secs(request_timeout),
            multicast,
            tls,
            srtp,
            http_port,
            admin,
            admin_users,
            paths: s.paths.unwrap_or_default(),
            drain_timeout: Duration::from_secs(drain_timeout),
            ts_mode: s.ts_mode.unwrap_or_default(),
            payload: PayloadOptions {
                pcm8: s.pcm8.unwrap_or_default(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_parses() {
        let yaml = "dir: /srv/media\nport: 8554\nbind: 127.0.0.1\nhttp-port: 0\n\
                    users:\n  - alice:pw\n  - {name: bob, password: 'x:y'}\n\
                    realm: home\nbasic_auth: true\nreclaim: 30\nloop: true\n\
                    rtp_port: 7000\nmax_sessions: 5\nstall_timeout: 3\nrequest_timeout: 4\n\
                    multicast: 239.255.42.0/24\nmulticast_ttl: 4\n\
                    max_connections: 6\nmax_connections_per_client: 7\n\
                    max_sessions_per_client: 8\nmax_setups_per_second_per_client: 9\n\
                    max_sessions_per_connection: 10\nmax_sessions_per_user: 11\n\
                    idle_connection_timeout: 12\n";
        let settings = Settings::from_yaml(yaml).unwrap();
        let config = ServerConfig::try_from(settings).unwrap();
        assert_eq!(config.dir, PathBuf::from("/srv/media"));
        assert_eq!(config.port, Some(8554));
        assert_eq!(config.bind, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(
            config.users,
            vec![
                User {
                    name: "alice".into(),
                    password: "pw".into()
                },
                User {
                    name: "bob".into(),
                    password: "x:y".into()
                },
            ]
        );
        assert_eq!(config.realm, "home");
        assert!(config.basic_auth && config.looping);
        assert_eq!(config.reclaim, Some(Duration::from_secs(30)));
        assert_eq!((config.rtp_port, config.max_sessions), (7000, Some(5)));
        assert_eq!(
            config.limits(1 << 20),
            (
                5,
                ClientLimits {
                    max_connections: 6,
                    max_connections_per_client: 7,
                    max_sessions_per_client: 8,
                    max_setups_per_second_per_client: 9,
                    max_sessions_per_connection: 10,
                    max_sessions_per_user: 11,
                    idle_connection_timeout: Duration::from_secs(12),
                }
            )
        );
        assert_eq!(config.stall_timeout, Duration::from_secs(3));
        assert_eq!(config.request_timeout, Duration::from_secs(4));
        assert_eq!(
            config.multicast,
            Some(("239.255.42.0/24".parse().unwrap(), 4))
        );
    }

    #[test]
    fn unknown_keys_are_named() {
        let error = Settings::from_yaml("port: 1\nprot: 2\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("prot"), "{error}");
    }

    #[test]
    fn users_are_strict_and_may_be_one() {
        for (yaml, key) in [
            ("users:\n  - {name: bob, pasword: x}\n", "pasword"),
            ("users:\n  - {name: bob, password: x, extra: 1}\n", "extra"),
            (
                "users:\n  - name: bob\n    password: x\n    passwrd: y\n",
                "passwrd",
            ),
        ] {
            let error = Settings::from_yaml(yaml).unwrap_err().to_string();
            assert!(error.contains(key), "{yaml}: {error}");
        }
        let one = Settings::from_yaml("users: alice:pw\n").unwrap();
        assert_eq!(one.users, Some(vec![UserEntry::Text("alice:pw".into())]));
        let map = Settings::from_yaml("users: {name: bob, password: 'x:y'}\n").unwrap();
        let config = ServerConfig::try_from(map).unwrap();
        assert_eq!(config.users[0].password, "x:y");
        assert!(Settings::from_yaml("users: [5]").is_err());
    }

    #[test]
    fn bad_values_are_errors() {
        for yaml in [
            "port: 70000",
            "port: x",
            "bind: nowhere",
            "users: 5",
            "reclaim: -1",
            "[1, 2]",
        ] {
            assert!(Settings::from_yaml(yaml).is_err(), "{yaml}");
        }
        let no_colon = Settings::from_yaml("users: [alice]").unwrap();
        assert!(ServerConfig::try_from(no_colon).is_err());
        for yaml in [
            "stall_timeout: 0",
            "request_timeout: 0",
            "reclaim: 86401",
            "max_sessions: 0",
            "max_connections: 0",
            "idle_connection_timeout: 0",
        ] {
            let settings = Settings::from_yaml(yaml).unwrap();
            assert!(ServerConfig::try_from(settings).is_err(), "{yaml}");
        }
        let day = Settings::from_yaml("reclaim: 86400").unwrap();
        assert!(ServerConfig::try_from(day).is_ok());
        for yaml in [
            "multicast: 10.0.0.0/8",
            "multicast: 239.1.1.1/40",
            "multicast_ttl: 3",
        ] {
            let settings = Settings::from_yaml(yaml).unwrap();
            assert!(ServerConfig::try_from(settings).is_err(), "{yaml}");
        }
        assert!(Settings::from_yaml("multicast_ttl: 256").is_err());
    }

    #[test]
    fn flags_override_the_file_and_defaults_apply() {
        let file = Settings::from_yaml("port: 1\nrealm: a\nloop: true\n").unwrap();
        let flags = Settings {
            port: Some(2),
            ..Settings::default()
        };
        let config = ServerConfig::try_from(file.overridden_by(flags)).unwrap();
        assert_eq!(
            (config.port, config.realm.as_str(), config.looping),
            (Some(2), "a", true)
        );
        let defaults = ServerConfig::try_from(Settings::from_yaml("").unwrap()).unwrap();
        assert_eq!(defaults.reclaim, Some(Duration::from_secs(65)));
        assert_eq!(defaults.realm, "mediatool");
        assert!(defaults.users.is_empty() && !defaults.basic_auth);
        assert_eq!(defaults.stall_timeout, Duration::from_secs(10));
        assert_eq!(defaults.request_timeout, Duration::from_secs(10));
        assert_eq!(defaults.multicast, None);
        // The caps follow the open file limit; the per-client limits are
        // fixed.
        let (sessions, limits) = defaults.limits(1024);
        assert_eq!((sessions, limits.max_connections), (448, 448));
        assert_eq!(defaults.limits(1 << 20).0, 10_000);
        assert_eq!(
            (
                limits.max_connections_per_client,
                limits.max_sessions_per_client,
                limits.max_setups_per_second_per_client,
                limits.max_sessions_per_connection,
                limits.max_sessions_per_user,
                limits.idle_connection_timeout,
            ),
            (32, 64, 50, 16, 256, Duration::from_secs(30))
        );
        let never = ServerConfig::try_from(Settings {
            reclaim: Some(0),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(never.reclaim, None);
    }

    #[test]
    fn admin_paths_and_drain() {
        let config = |yaml: &str| ServerConfig::try_from(Settings::from_yaml(yaml).unwrap());
        let defaults = config("").unwrap();
        assert_eq!(defaults.admin, AdminListen::Default);
        assert_eq!(DEFAULT_ADMIN.to_string(), "127.0.0.1:9090");
        assert!(defaults.admin_users.is_empty() && defaults.paths.is_empty());
        assert_eq!(defaults.drain_timeout, Duration::ZERO);
        let set = config(
            "admin: '[::1]:9191'\nadmin_users: ops:secret\ndrain-timeout: 30\n\
             users: [alice:pw]\npaths:\n  - {path: 'public/**', read: anonymous}\n\
             \x20 - path: cams/**\n    read: [alice]\n",
        )
        .unwrap();
        assert_eq!(set.admin, AdminListen::Addr("[::1]:9191".parse().unwrap()));
        assert_eq!(set.admin_users[0].name, "ops");
        assert_eq!(set.drain_timeout, Duration::from_secs(30));
        assert_eq!(set.paths.len(), 2);
        assert_eq!(
            set.paths[1].read,
            crate::server::access::Readers::Users(vec!["alice".into()])
        );
        assert_eq!(config("admin: off").unwrap().admin, AdminListen::Off);
        for (yaml, named) in [
            ("admin: 9090", "ADDR:PORT"),
            ("admin: 127.0.0.1:8554\nport: 8554", "shares a port"),
            ("drain_timeout: 86401", "drain_timeout"),
            ("admin_users: [nocolon]", "admin_users"),
        ] {
            let error = config(yaml).unwrap_err().to_string();
            assert!(error.contains(named), "{yaml}: {error}");
        }
        for yaml in [
            "paths: [{path: a, read: anonymous, extra: 1}]",
            "paths: [{path: a}]",
            "paths: {path: a, read: anonymous}",
        ] {
            assert!(Settings::from_yaml(yaml).is_err(), "{yaml}");
        }
    }

    #[test]
    fn tls_and_tunneling_settings() {
        let config = |yaml: &str| ServerConfig::try_from(Settings::from_yaml(yaml).unwrap());
        let tls =
            config("tls_cert: a.pem\ntls-key: b.pem\ntls_port: 8443\nsrtp: false\nhttp_port: 8080")
                .unwrap();
        assert_eq!(
            tls.tls,
            Some(TlsSettings {
                cert: "a.pem".into(),
                key: "b.pem".into(),
                port: Some(8443)
            })
        );
        assert_eq!(tls.http_port, HttpPort::Port(8080));
        assert_eq!(tls.srtp, None);
        let defaults = config("").unwrap();
        assert_eq!(
            (defaults.tls, defaults.http_port, defaults.srtp),
            (None, HttpPort::Default, None)
        );
        assert_eq!(config("http_port: 0").unwrap().http_port, HttpPort::Off);
        // Plain RTP without TLS: saying so is no error.
        assert_eq!(config("srtp: false").unwrap().srtp, None);
        // SRTP is on with TLS unless turned off; encryption can be.
        let on = SrtpSettings { encrypt: true };
        for (yaml, srtp) in [
            ("tls_cert: a.pem\ntls_key: b.pem", Some(on)),
            ("tls_cert: a.pem\ntls_key: b.pem\nsrtp: true", Some(on)),
            (
                "tls_cert: a.pem\ntls_key: b.pem\nsrtp-encrypt: false",
                Some(SrtpSettings { encrypt: false }),
            ),
        ] {
            assert_eq!(config(yaml).unwrap().srtp, srtp, "{yaml}");
        }
        for (yaml, named) in [
            ("tls_cert: a.pem", "tls_key"),
            ("tls_key: b.pem", "tls_cert"),
            ("tls_port: 322", "tls_cert"),
            ("srtp: true", "tls_cert"),
            ("srtp_encrypt: false", "SRTP is off"),
            (
                "tls_cert: a.pem\ntls_key: b.pem\nsrtp: false\nsrtp_encrypt: true",
                "SRTP is off",
            ),
        ] {
            let error = config(yaml).unwrap_err().to_string();
            assert!(error.contains(named), "{yaml}: {error}");
        }
    }

    #[test]
    fn ts_mode_is_tracks_or_mp2t() {
        let config = |yaml: &str| ServerConfig::try_from(Settings::from_yaml(yaml)?);
        assert_eq!(config("").unwrap().ts_mode, TsMode::Tracks);
        assert_eq!(config("ts_mode: mp2t").unwrap().ts_mode, TsMode::Mp2t);
        assert_eq!(config("ts-mode: tracks").unwrap().ts_mode, TsMode::Tracks);
        let error = Settings::from_yaml("ts_mode: whole")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("whole") || error.contains("variant"),
            "{error}"
        );
        let file = Settings::from_yaml("ts_mode: mp2t").unwrap();
        let flags = Settings {
            ts_mode: Some(TsMode::Tracks),
            ..Settings::default()
        };
        let merged = ServerConfig::try_from(file.overridden_by(flags)).unwrap();
        assert_eq!(merged.ts_mode, TsMode::Tracks);
    }

    /// `pcm8`: `l16` by default, `l8` from the file, the flag over the
    /// file, anything else refused.
    #[test]
    fn pcm8_is_l16_unless_l8() {
        let config = |yaml: &str| ServerConfig::try_from(Settings::from_yaml(yaml)?);
        assert_eq!(config("").unwrap().payload.pcm8, Pcm8::L16);
        assert_eq!(config("pcm8: l8").unwrap().payload.pcm8, Pcm8::L8);
        assert_eq!(config("pcm8: l16").unwrap().payload.pcm8, Pcm8::L16);
        let error = Settings::from_yaml("pcm8: l24").unwrap_err().to_string();
        assert!(error.contains("l24"), "{error}");
        let file = Settings::from_yaml("pcm8: l8").unwrap();
        let flags = Settings {
            pcm8: Some(Pcm8::L16),
            ..Settings::default()
        };
        let merged = ServerConfig::try_from(file.overridden_by(flags)).unwrap();
        assert_eq!(merged.payload.pcm8, Pcm8::L16);
    }
}
