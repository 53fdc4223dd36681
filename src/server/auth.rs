//! Client authentication: HTTP Digest (RFC 2617 with MD5, RFC 7616 with
//! SHA-256) as RTSP uses it (RFC 2326 §12.5), and Basic (RFC 7617) only
//! when the configuration asks for it.
//!
//! Nonces are stateless: a timestamp and a keyed hash of it, so a server
//! with thousands of clients keeps no nonce table. A correct response with
//! an expired nonce is answered with `stale=true` (RFC 7616 §3.3), and the
//! client retries with a fresh one without asking its user again.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a nonce stays fresh.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// A user allowed to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The user name.
    pub name: String,
    /// The password (kept in the clear: Digest needs it, or H(A1)).
    pub password: String,
}

impl User {
    /// Parses `NAME:PASSWORD` (the password may contain colons).
    pub fn parse(text: &str) -> Result<User, String> {
        match text.split_once(':') {
            Some((name, password)) if !name.is_empty() => Ok(User {
                name: name.to_owned(),
                password: password.to_owned(),
            }),
            _ => Err(format!("user {text:?} is not NAME:PASSWORD")),
        }
    }
}

/// Checks `Authorization` headers against the configured users.
pub struct Authenticator {
    users: Vec<User>,
    realm: String,
    basic: bool,
    key: [u8; 32],
    lifetime: Duration,
}

/// Why a request was not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The credentials were right but the nonce had expired.
    pub stale: bool,
}

/// The two digest algorithms, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Algorithm {
    Sha256,
    Md5,
}

impl Algorithm {
    fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Md5 => "MD5",
        }
    }

    fn hash(self, text: &str) -> String {
        match self {
            Algorithm::Sha256 => hex::encode(Sha256::digest(text.as_bytes())),
            Algorithm::Md5 => hex::encode(Md5::digest(text.as_bytes())),
        }
    }
}

impl Authenticator {
    /// An authenticator for `users` in `realm`; `basic` also accepts Basic.
    pub fn new(users: Vec<User>, realm: String, basic: bool) -> std::io::Result<Authenticator> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(std::io::Error::other)?;
        Ok(Authenticator {
            users,
            realm,
            basic,
            key,
            lifetime: NONCE_LIFETIME,
        })
    }

    /// The `WWW-Authenticate` values of a 401, in order of preference:
    /// SHA-256 first (RFC 7616 §3.7); MD5 last, because ffmpeg keeps the last
    /// Digest challenge it sees and knows only MD5.
    pub fn challenges(&self, stale: bool) -> Vec<String> {
        let nonce = self.nonce(now_secs());
        let stale = if stale { ", stale=true" } else { "" };
        let mut out: Vec<String> = [Algorithm::Sha256, Algorithm::Md5]
            .iter()
            .map(|a| {
                format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", algorithm={}, qop=\"auth\"{stale}",
                    quote(&self.realm),
                    a.name()
                )
            })
            .collect();
        if self.basic {
            out.push(format!("Basic realm=\"{}\"", quote(&self.realm)));
        }
        out
    }

    /// The user that `authorization` authenticates for `method`.
    pub fn check(&self, method: &str, authorization: Option<&str>) -> Result<String, Challenge> {
        self.check_at(method, authorization, now_secs())
    }

    fn check_at(
        &self,
        method: &str,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<String, Challenge> {
        let fail = Err(Challenge { stale: false });
        let Some(header) = authorization.map(str::trim) else {
            return fail;
        };
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("Basic") && self.basic {
            return self
                .check_basic(rest.trim())
                .ok_or(Challenge { stale: false });
        }
        if !scheme.eq_ignore_ascii_case("Digest") {
            return fail;
        }
        let params = parse_params(rest);
        let get = |name: &str| {
            params
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let (Some(username), Some(realm), Some(nonce), Some(uri), Some(response)) = (
            get("username"),
            get("realm"),
            get("nonce"),
            get("uri"),
            get("response"),
        ) else {
            return fail;
        };
        if realm != self.realm {
            return fail;
        }
        let Some(user) = self.users.iter().find(|u| u.name == username) else {
            return fail;
        };
        let (algorithm, session) = match get("algorithm").map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => (Algorithm::Md5, false),
            Some("MD5-SESS") => (Algorithm::Md5, true),
            Some("SHA-256") => (Algorithm::Sha256, false),
            Some("SHA-256-SESS") => (Algorithm::Sha256, true),
            Some(_) => return fail,
        };
        let digest = DigestResponse {
            algorithm,
            session,
            username,
            realm,
            password: &user.password,
            method,
            uri,
            nonce,
            qop: get("qop"),
            nc: get("nc").unwrap_or(""),
            cnonce: get("cnonce").unwrap_or(""),
        };
        let expected = digest.compute();
        if !bool::from(
            expected
                .as_bytes()
                .ct_eq(response.to_ascii_lowercase().as_bytes()),
        ) {
            return fail;
        }
        match self.nonce_age(nonce, now) {
            Some(age) if age <= self.lifetime.as_secs() => Ok(user.name.clone()),
            Some(_) => Err(Challenge { stale: true }),
            None => fail,
        }
    }

    fn check_basic(&self, encoded: &str) -> Option<String> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (name, password) = decoded.split_once(':')?;
        let user = self.users.iter().find(|u| u.name == name)?;
        bool::from(user.password.as_bytes().ct_eq(password.as_bytes())).then(|| user.name.clone())
    }

    /// A nonce: the time it was issued and a keyed hash of it, in hex.
    fn nonce(&self, now: u64) -> String {
        let stamp = now.to_be_bytes();
        format!("{}{}", hex::encode(stamp), hex::encode(self.mac(&stamp)))
    }

    /// The age of a nonce this server issued, `None` for any other text.
    fn nonce_age(&self, nonce: &str, now: u64) -> Option<u64> {
        let bytes = hex::decode(nonce).ok()?;
        let (stamp, mac) = bytes.split_at_checked(8)?;
        if !bool::from(self.mac(stamp).as_slice().ct_eq(mac)) {
            return None;
        }
        let issued = u64::from_be_bytes(stamp.try_into().ok()?);
        now.checked_sub(issued)
    }

    fn mac(&self, stamp: &[u8]) -> [u8; 16] {
        // The input has a fixed length, so key-prefix hashing is a sound MAC
        // here (no length-extension forgery can yield another 8-byte stamp).
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(stamp);
        let digest = hasher.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

/// The inputs of a digest response (RFC 7616 §3.4.1).
struct DigestResponse<'a> {
    algorithm: Algorithm,
    session: bool,
    username: &'a str,
    realm: &'a str,
    password: &'a str,
    method: &'a str,
    uri: &'a str,
    nonce: &'a str,
    qop: Option<&'a str>,
    nc: &'a str,
    cnonce: &'a str,
}

impl DigestResponse<'_> {
    fn compute(&self) -> String {
        let h = |text: &str| self.algorithm.hash(text);
        let mut ha1 = h(&format!(
            "{}:{}:{}",
            self.username, self.realm, self.password
        ));
        if self.session {
            ha1 = h(&format!("{ha1}:{}:{}", self.nonce, self.cnonce));
        }
        let ha2 = h(&format!("{}:{}", self.method, self.uri));
        match self.qop {
            Some(qop) => h(&format!(
                "{ha1}:{}:{}:{}:{qop}:{ha2}",
                self.nonce, self.nc, self.cnonce
            )),
            // RFC 2069 compatibility (RFC 2617 §3.2.2.1), as live555 clients send.
            None => h(&format!("{ha1}:{}:{ha2}", self.nonce)),
        }
    }
}

/// Parses `name=value, name="quoted \" value"` pairs (RFC 7235 §2.1).
fn parse_params(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let name: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ','))
            .collect::<String>()
            .trim()
            .to_owned();
        if name.is_empty() && chars.peek().is_none() {
            return out;
        }
        if chars.next_if_eq(&'=').is_none() {
            continue;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'"').is_some() {
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = std::iter::from_fn(|| chars.next_if(|c| *c != ','))
                .collect::<String>()
                .trim()
                .to_owned();
        }
        out.push((name, value));
    }
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(basic: bool) -> Authenticator {
        Authenticator::new(
            vec![User::parse("alice:s3cr:et").unwrap()],
            "mediatool".into(),
            basic,
        )
        .unwrap()
    }

    #[test]
    fn rfc_2617_and_7616_examples() {
        // RFC 2617 §3.5.
        let md5 = DigestResponse {
            algorithm: Algorithm::Md5,
            session: false,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop: Some("auth"),
            nc: "00000001",
            cnonce: "0a4f113b",
        };
        assert_eq!(md5.compute(), "6629fae49393a05397450978507c4ef1");
        // RFC 7616 §3.9.1, both algorithms.
        let mut sha = DigestResponse {
            algorithm: Algorithm::Sha256,
            realm: "http-auth@example.org",
            password: "Circle of Life",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
            ..md5
        };
        assert_eq!(
            sha.compute(),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        sha.algorithm = Algorithm::Md5;
        assert_eq!(sha.compute(), "8ca523f5e9506fed4657c9700eebdbec");
    }

    /// What a client computes from our challenge.
    fn answer(auth: &Authenticator, challenge: &str, password: &str, qop: bool) -> String {
        let params = parse_params(challenge.strip_prefix("Digest ").unwrap());
        let get = |n: &str| params.iter().find(|(k, _)| k == n).unwrap().1.clone();
        let algorithm = if get("algorithm") == "SHA-256" {
            Algorithm::Sha256
        } else {
            Algorithm::Md5
        };
        let nonce = get("nonce");
        let response = DigestResponse {
            algorithm,
            session: false,
            username: "alice",
            realm: &auth.realm,
            password,
            method: "DESCRIBE",
            uri: "rtsp://h/a.264",
            nonce: &nonce,
            qop: qop.then_some("auth"),
            nc: "00000001",
            cnonce: "abc",
        }
        .compute();
        let qop = if qop {
            ", qop=auth, nc=00000001, cnonce=\"abc\""
        } else {
            ""
        };
        format!(
            "Digest username=\"alice\", realm=\"mediatool\", nonce=\"{nonce}\", \
             uri=\"rtsp://h/a.264\", response=\"{response}\", algorithm={}{qop}",
            algorithm.name()
        )
    }

    #[test]
    fn digest_round_trips_with_both_algorithms() {
        let auth = auth(false);
        let challenges = auth.challenges(false);
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].contains("algorithm=SHA-256"));
        assert!(challenges[1].contains("algorithm=MD5"));
        for challenge in &challenges {
            for qop in [true, false] {
                let header = answer(&auth, challenge, "s3cr:et", qop);
                assert_eq!(auth.check("DESCRIBE", Some(&header)), Ok("alice".into()));
                // Wrong method, wrong password: refused.
                assert!(auth.check("PLAY", Some(&header)).is_err());
                let wrong = answer(&auth, challenge, "nope", qop);
                assert_eq!(
                    auth.check("DESCRIBE", Some(&wrong)),
                    Err(Challenge { stale: false })
                );
            }
        }
    }

    #[test]
    fn stale_nonces_are_reported_as_stale_only_with_right_credentials() {
        let auth = auth(false);
        let old = now_secs() - NONCE_LIFETIME.as_secs() - 10;
        let challenge = format!(
            "Digest realm=\"mediatool\", nonce=\"{}\", algorithm=MD5",
            auth.nonce(old)
        );
        let header = answer(&auth, &challenge, "s3cr:et", true);
        assert_eq!(
            auth.check("DESCRIBE", Some(&header)),
            Err(Challenge { stale: true })
        );
        let wrong = answer(&auth, &challenge, "bad", true);
        assert_eq!(
            auth.check("DESCRIBE", Some(&wrong)),
            Err(Challenge { stale: false })
        );
        assert!(auth.challenges(true)[0].ends_with(", stale=true"));
    }

    #[test]
    fn forged_nonces_are_refused() {
        let auth = auth(false);
        let other =
            super::Authenticator::new(auth.users.clone(), auth.realm.clone(), false).unwrap();
        let challenge = &other.challenges(false)[1];
        let header = answer(&auth, challenge, "s3cr:et", true);
        assert!(auth.check("DESCRIBE", Some(&header)).is_err());
        assert_eq!(auth.nonce_age("zz", 0), None);
        assert_eq!(auth.nonce_age("", 0), None);
        assert_eq!(auth.nonce_age("00", 0), None);
        // Issued in the future: not a nonce of ours.
        assert_eq!(auth.nonce_age(&auth.nonce(100), 50), None);
    }

    #[test]
    fn basic_only_when_enabled() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et")
        );
        assert!(auth(false).check("PLAY", Some(&header)).is_err());
        assert_eq!(auth(true).check("PLAY", Some(&header)), Ok("alice".into()));
        assert!(auth(true).challenges(false)[2].starts_with("Basic realm="));
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:wrong")
        );
        assert!(auth(true).check("PLAY", Some(&bad)).is_err());
    }

    #[test]
    fn hostile_headers_are_refused_without_panic() {
        let auth = auth(true);
        for header in [
            "",
            "Digest",
            "Digest ",
            "Digest ,,,,===,=",
            "Digest username=\"alice\"",
            "Digest username=\"alice\", realm=\"mediatool\", nonce=\"\", uri=\"\", response=\"\"",
            "Digest username=\"al\\",
            "Digest username=\"alice\", realm=\"mediatool\", nonce=\"x\", uri=\"u\", response=\"r\", algorithm=SHA-512",
            "Basic !!!",
            "Basic",
            "Bearer abc",
            "\u{0}\u{ff}",
        ] {
            assert!(auth.check("DESCRIBE", Some(header)).is_err(), "{header}");
        }
        assert!(auth.check("DESCRIBE", None).is_err());
    }

    #[test]
    fn parameter_parsing_handles_quotes_and_tokens() {
        let params = parse_params(r#"username="a\"b", qop=auth,nc=00000001 , uri="rtsp://h/x,y""#);
        assert_eq!(
            params,
            vec![
                ("username".into(), "a\"b".into()),
                ("qop".into(), "auth".into()),
                ("nc".into(), "00000001".into()),
                ("uri".into(), "rtsp://h/x,y".into()),
            ]
        );
        assert!(User::parse("nocolon").is_err());
        assert!(User::parse(":pw").is_err());
    }
}
