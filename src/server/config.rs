//! Server settings: the YAML file (`--config`), command-line flags laid
//! over it, and the checked result the server runs with.
//!
//! YAML parsing stays in this one module (serde-saphyr; see
//! /work/shared/dependencies.md) so the crate can be swapped.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::auth::User;
use super::multicast::GroupRange;
use crate::media::TsMode;

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
    /// RTSP-over-HTTP port (not supported yet; 0 = off).
    #[serde(alias = "http-port")]
    pub http_port: Option<u16>,
    /// RTSPS certificate (not supported yet).
    #[serde(alias = "tls-cert")]
    pub tls_cert: Option<PathBuf>,
    /// RTSPS key (not supported yet).
    #[serde(alias = "tls-key")]
    pub tls_key: Option<PathBuf>,
    /// RTSPS port (not supported yet).
    #[serde(alias = "tls-port")]
    pub tls_port: Option<u16>,
    /// SRTP on RTSPS sessions (not supported yet).
    pub srtp: Option<bool>,
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
    /// Most sessions at once; more SETUPs get 503 (default 10000).
    #[serde(alias = "max-sessions")]
    pub max_sessions: Option<usize>,
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
    /// How transport streams are served: `tracks` (default) or `mp2t`.
    #[serde(alias = "ts-mode")]
    pub ts_mode: Option<TsMode>,
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
            users: over.users.or(self.users),
            realm: over.realm.or(self.realm),
            basic_auth: over.basic_auth.or(self.basic_auth),
            reclaim: over.reclaim.or(self.reclaim),
            looping: over.looping.or(self.looping),
            rtp_port: over.rtp_port.or(self.rtp_port),
            max_sessions: over.max_sessions.or(self.max_sessions),
            stall_timeout: over.stall_timeout.or(self.stall_timeout),
            request_timeout: over.request_timeout.or(self.request_timeout),
            multicast: over.multicast.or(self.multicast),
            multicast_ttl: over.multicast_ttl.or(self.multicast_ttl),
            ts_mode: over.ts_mode.or(self.ts_mode),
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
    /// Most sessions at once.
    pub max_sessions: usize,
    /// How long a TCP client may take nothing from a full connection
    /// before it is disconnected.
    pub stall_timeout: Duration,
    /// How long a client may take to finish a request it has started.
    pub request_timeout: Duration,
    /// The multicast groups and TTL; `None`: no multicast.
    pub multicast: Option<(GroupRange, u8)>,
    /// How transport streams are served.
    pub ts_mode: TsMode,
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

impl TryFrom<Settings> for ServerConfig {
    type Error = anyhow::Error;

    fn try_from(s: Settings) -> anyhow::Result<ServerConfig> {
        let not_yet = |what: &str| {
            anyhow::anyhow!(
                "{what} is not supported yet (RTSPS, SRTP and RTSP-over-HTTP come in a later release)"
            )
        };
        if s.http_port.is_some_and(|p| p != 0) {
            return Err(not_yet("--http-port (RTSP over HTTP tunneling)"));
        }
        if s.tls_cert.is_some() || s.tls_key.is_some() || s.tls_port.is_some() {
            return Err(not_yet("RTSPS (--tls-cert, --tls-key, --tls-port)"));
        }
        if s.srtp.is_some() {
            return Err(not_yet("SRTP (--srtp, --no-srtp)"));
        }
        let users = s
            .users
            .unwrap_or_default()
            .into_iter()
            .map(|u| match u {
                UserEntry::Text(text) => User::parse(&text).map_err(anyhow::Error::msg),
                UserEntry::Map(UserMap { name, password }) if !name.is_empty() => {
                    Ok(User { name, password })
                }
                UserEntry::Map(_) => Err(anyhow::anyhow!("a user has an empty name")),
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
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
            max_sessions: s.max_sessions.unwrap_or(10_000),
            stall_timeout: Duration::from_secs(stall_timeout),
            request_timeout: Duration::from_secs(request_timeout),
            multicast,
            ts_mode: s.ts_mode.unwrap_or_default(),
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
                    multicast: 239.255.42.0/24\nmulticast_ttl: 4\n";
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
        assert_eq!((config.rtp_port, config.max_sessions), (7000, 5));
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
        for yaml in ["stall_timeout: 0", "request_timeout: 0", "reclaim: 86401"] {
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
        let never = ServerConfig::try_from(Settings {
            reclaim: Some(0),
            ..Settings::default()
        })
        .unwrap();
        assert_eq!(never.reclaim, None);
    }

    #[test]
    fn later_features_are_refused_clearly() {
        for yaml in [
            "http_port: 8080",
            "tls_cert: a.pem\ntls_key: b.pem",
            "tls_port: 322",
            "srtp: true",
        ] {
            let error = ServerConfig::try_from(Settings::from_yaml(yaml).unwrap()).unwrap_err();
            assert!(
                error.to_string().contains("not supported yet"),
                "{yaml}: {error}"
            );
        }
        assert!(ServerConfig::try_from(Settings::from_yaml("http_port: 0").unwrap()).is_ok());
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
}
