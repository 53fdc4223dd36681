//! Client authentication: HTTP Digest (RFC 2617 with MD5, RFC 7616 with
//! SHA-256) as RTSP uses it (RFC 2326 §12.5), and Basic (RFC 7617) only
//! when the configuration asks for it.
//!
//! Nonces are stateless: the time they were issued (seconds on the
//! server's monotonic clock) and a keyed hash of it and of the client's
//! address, so a server with thousands of clients keeps no nonce table and
//! a nonce is worth nothing from another host. A correct response with an
//! expired nonce, or one issued to another address, is answered with
//! `stale=true` (RFC 7616 §3.3), and the client retries with a fresh one
//! without asking its user again.
//!
//! Replays: the `uri` of a response must name the Request-URI (RFC 7616
//! §3.4.6), so a captured header opens nothing else; with `qop=auth` the
//! nonce count must grow from one request to the next (§3.4), so it cannot
//! be sent twice. Only the nonces of successful requests are tracked, for
//! their lifetime, keyed by the nonce's bytes (hex is case-insensitive:
//! `ABC` is the nonce `abc`, whose counts go on).
//!
//! User names: an unknown name costs the same work as a known one with a
//! wrong password (a digest computed with a dummy password), and names are
//! compared in constant time (as SHA-256 digests, with `subtle`), so the
//! time of a 401 does not tell whether a name exists.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How long a nonce stays fresh.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);

/// Most nonces whose count is tracked at once: each one is a request that
/// authenticated within [`NONCE_LIFETIME`]; past this, new nonces are
/// refused as stale until old ones expire.
const MAX_TRACKED_NONCES: usize = 65_536;

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
    /// SHA-256 of each user's name, in `users` order: what a name given by
    /// a client is compared with, in constant time.
    name_digests: Vec<[u8; 32]>,
    /// The password an unknown user's digest is computed with: random, so
    /// it never matches, and as long as a typical password.
    dummy_password: String,
    realm: String,
    basic: bool,
    key: [u8; 32],
    lifetime: Duration,
    /// The origin of nonce time stamps (a monotonic clock: a wall-clock
    /// step cannot age or rejuvenate nonces).
    epoch: Instant,
    /// The highest nonce count seen for each nonce of a successful
    /// `qop=auth` request (keyed by the nonce's decoded head: its time
    /// stamp and random bytes), with the nonce's time stamp.
    counts: Mutex<HashMap<NonceHead, (u64, u32)>>,
}

/// The first half of a decoded nonce: its time stamp and random bytes
/// (the rest is their MAC).
type NonceHead = [u8; 16];

/// What is being authenticated.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// The request's method.
    pub method: &'a str,
    /// The Request-URI.
    pub uri: &'a str,
    /// The client's address.
    pub client: IpAddr,
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
}

/// Why a request was not authenticated.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Answer 401 with fresh challenges; `stale` when the credentials were
    /// right but the nonce had expired, was issued to another address, or
    /// its count was not new (RFC 7616 §3.3).
    Unauthorized {
        /// Say `stale=true`.
        stale: bool,
    },
    /// The response's `uri` names another resource than the Request-URI
    /// (RFC 7616 §3.4.6: 400 Bad Request).
    UriMismatch,
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
        let mut dummy = [0u8; 8];
        getrandom::fill(&mut dummy).map_err(std::io::Error::other)?;
        Ok(Authenticator {
            name_digests: users.iter().map(|u| name_digest(&u.name)).collect(),
            dummy_password: hex::encode(dummy),
            users,
            realm,
            basic,
            key,
            lifetime: NONCE_LIFETIME,
            epoch: Instant::now(),
            counts: Mutex::new(HashMap::new()),
        })
    }

    /// The `WWW-Authenticate` values of a 401 to `client`, in order of
    /// preference: SHA-256 first (RFC 7616 §3.7); MD5 last, because ffmpeg
    /// keeps the last Digest challenge it sees and knows only MD5.
    pub fn challenges(&self, stale: bool, client: IpAddr) -> Vec<String> {
        let nonce = self.nonce(self.now_secs(), client);
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

    /// The user that `attempt` authenticates as.
    pub fn check(&self, attempt: &Attempt<'_>) -> Result<String, Refusal> {
        self.check_at(attempt, self.now_secs())
    }

    fn check_at(&self, attempt: &Attempt<'_>, now: u64) -> Result<String, Refusal> {
        let fail = Err(Refusal::Unauthorized { stale: false });
        let stale = Err(Refusal::Unauthorized { stale: true });
        let Some(header) = attempt.authorization.map(str::trim) else {
            return fail;
        };
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.eq_ignore_ascii_case("Basic") && self.basic {
            return self
                .check_basic(rest.trim())
                .ok_or(Refusal::Unauthorized { stale: false });
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
        let user = self.find_user(username);
        let (algorithm, session) = match get("algorithm").map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => (Algorithm::Md5, false),
            Some("MD5-SESS") => (Algorithm::Md5, true),
            Some("SHA-256") => (Algorithm::Sha256, false),
            Some("SHA-256-SESS") => (Algorithm::Sha256, true),
            Some(_) => return fail,
        };
        let qop = get("qop");
        let nc = get("nc").unwrap_or("");
        let digest = DigestResponse {
            algorithm,
            session,
            username,
            realm,
            password: user.map_or(&self.dummy_password, |u| &u.password),
            method: attempt.method,
            uri,
            nonce,
            qop,
            nc,
            cnonce: get("cnonce").unwrap_or(""),
        };
        let expected = digest.compute();
        let matched = expected
            .as_bytes()
            .ct_eq(response.to_ascii_lowercase().as_bytes());
        let Some(user) = user.filter(|_| bool::from(matched)) else {
            return fail;
        };
        // The credentials are right; what remains is whether this response
        // may be used here and now.
        if !same_resource(uri, attempt.uri) {
            return Err(Refusal::UriMismatch);
        }
        let Some((issued, head)) = self.issued(nonce, attempt.client, now) else {
            return stale;
        };
        if now - issued > self.lifetime.as_secs() {
            return stale;
        }
        if qop.is_some() {
            let Ok(count) = u32::from_str_radix(nc, 16) else {
                return fail;
            };
            if !self.count_is_new(head, issued, count, now) {
                return stale;
            }
        }
        Ok(user.name.clone())
    }

    /// Records `count` as the latest nonce count of the nonce whose head
    /// is `nonce` (issued at `issued`) unless it is not above the last one
    /// recorded: a replayed request. Forgets nonces past their lifetime
    /// when the table fills.
    fn count_is_new(&self, nonce: NonceHead, issued: u64, count: u32, now: u64) -> bool {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, last)) = counts.get_mut(&nonce) {
            if count <= *last {
                return false;
            }
            *last = count;
            return true;
        }
        if counts.len() >= MAX_TRACKED_NONCES {
            let lifetime = self.lifetime.as_secs();
            counts.retain(|_, (issued, _)| now - *issued <= lifetime);
            if counts.len() >= MAX_TRACKED_NONCES {
                return false;
            }
        }
        counts.insert(nonce, (issued, count));
        true
    }

    /// The configured user named `name`. Every configured name is compared
    /// (as a SHA-256 digest, so lengths do not differ) in constant time,
    /// and the match is selected without a branch: the time taken does not
    /// depend on whether or where the name is found.
    fn find_user(&self, name: &str) -> Option<&User> {
        use subtle::ConditionallySelectable as _;
        let wanted = name_digest(name);
        let mut found = u32::MAX;
        for (i, digest) in self.name_digests.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            found.conditional_assign(&i, digest.ct_eq(&wanted));
        }
        self.users.get(usize::try_from(found).ok()?)
    }

    /// Whether `password` is `user`'s, compared in constant time; an
    /// unknown user's is compared with the dummy password, so it costs the
    /// same.
    fn password_matches(&self, user: Option<&User>, password: &str) -> bool {
        #[cfg(test)]
        PASSWORDS.with(|n| n.set(n.get() + 1));
        let expected = user.map_or(&self.dummy_password, |u| &u.password);
        let matched = expected.as_bytes().ct_eq(password.as_bytes());
        user.is_some() && bool::from(matched)
    }

    fn check_basic(&self, encoded: &str) -> Option<String> {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        let (name, password) = decoded.split_once(':')?;
        let user = self.find_user(name);
        self.password_matches(user, password)
            .then(|| user.map(|u| u.name.clone()))
            .flatten()
    }

    /// Seconds on the monotonic clock since this authenticator was made.
    fn now_secs(&self) -> u64 {
        self.epoch.elapsed().as_secs()
    }

    /// A nonce for `client`: the time it was issued, 8 random bytes (each
    /// challenge its own nonce, so clients behind one address never share
    /// a nonce count) and a keyed hash of both and of the address, in hex.
    fn nonce(&self, now: u64, client: IpAddr) -> String {
        let mut head = [0u8; 16];
        head[..8].copy_from_slice(&now.to_be_bytes());
        // Without randomness the nonce is still valid, only shared.
        let _ = getrandom::fill(&mut head[8..]);
        format!(
            "{}{}",
            hex::encode(head),
            hex::encode(self.mac(&head, client))
        )
    }

    /// When `nonce` was issued, and its decoded head (what its counts are
    /// kept by), if this server issued it to `client` and not in the
    /// future; `None` for any other text.
    fn issued(&self, nonce: &str, client: IpAddr, now: u64) -> Option<(u64, NonceHead)> {
        let bytes = hex::decode(nonce).ok()?;
        let (head, mac) = bytes.split_at_checked(16)?;
        if !bool::from(self.mac(head, client).as_slice().ct_eq(mac)) {
            return None;
        }
        let head: NonceHead = head.try_into().ok()?;
        let issued = u64::from_be_bytes(head[..8].try_into().ok()?);
        (issued <= now).then_some((issued, head))
    }

    fn mac(&self, head: &[u8], client: IpAddr) -> [u8; 16] {
        // The input has a fixed length, so key-prefix hashing is a sound MAC
        // here (no length-extension forgery can yield another input). An
        // IPv4 client is hashed as its IPv4-mapped IPv6 address, so that it
        // is one address whichever socket family it reaches.
        let client = match client {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        hasher.update(head);
        hasher.update(client.octets());
        let digest = hasher.finalize();
        let mut out = [0u8; 16];
        out.copy_from_slice(&digest[..16]);
        out
    }
}

/// Whether a response's `uri` and the Request-URI name the same resource
/// (RFC 7616 §3.4.6): the same path, whether either is written as an
/// absolute URL or a bare path (clients send both), ignoring a trailing
/// slash and the query. A track's control URL is also answered for with
/// its file's URL, one segment up: live555's clients (openRTSP, VLC) put
/// the Content-Base URL in the `uri` of every SETUP.
fn same_resource(directive: &str, request: &str) -> bool {
    fn path(uri: &str) -> &str {
        let path = match uri.find("://") {
            Some(at) => {
                let rest = &uri[at + 3..];
                rest.find('/').map_or("", |slash| &rest[slash..])
            }
            None => uri,
        };
        path.split(['?', '#'])
            .next()
            .unwrap_or("")
            .trim_end_matches('/')
    }
    let (named, requested) = (path(directive), path(request));
    let track_of_named = || {
        requested
            .strip_prefix(named)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|segment| !segment.is_empty() && !segment.contains('/'))
    };
    directive == request || named == requested || (!named.is_empty() && track_of_named())
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

// Digests computed and passwords compared on this thread (tests: an
// unknown user costs the same).
#[cfg(test)]
thread_local! {
    static DIGESTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    static PASSWORDS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl DigestResponse<'_> {
    fn compute(&self) -> String {
        #[cfg(test)]
        DIGESTS.with(|n| n.set(n.get() + 1));
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

/// The digest a user name is compared by.
fn name_digest(name: &str) -> [u8; 32] {
    Sha256::digest(name.as_bytes()).into()
}

fn quote(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));
    const URI: &str = "rtsp://h/a.264";

    fn auth(basic: bool) -> Authenticator {
        Authenticator::new(
            vec![User::parse("alice:s3cr:et").unwrap()],
            "mediatool".into(),
            basic,
        )
        .unwrap()
    }

    fn attempt<'a>(method: &'a str, uri: &'a str, header: &'a str) -> Attempt<'a> {
        Attempt {
            method,
            uri,
            client: CLIENT,
            authorization: Some(header),
        }
    }

    const UNAUTHORIZED: Result<String, Refusal> = Err(Refusal::Unauthorized { stale: false });
    const STALE: Result<String, Refusal> = Err(Refusal::Unauthorized { stale: true });

    #[test]
    fn a_file_url_answers_for_its_tracks_and_nothing_else() {
        let track = "rtsp://h:554/dir/film.mkv/track1";
        assert!(same_resource("rtsp://h:554/dir/film.mkv/", track));
        assert!(same_resource("/dir/film.mkv", track));
        assert!(!same_resource("rtsp://h:554/dir/", track));
        assert!(!same_resource("rtsp://h:554/dir/film", track));
        assert!(!same_resource("rtsp://h:554/", track));
        assert!(!same_resource(track, "rtsp://h:554/dir/film.mkv"));
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

    /// What a client computes from our challenge for `method` on `uri`,
    /// with nonce count `nc` when `qop`.
    struct Answer<'a> {
        challenge: &'a str,
        password: &'a str,
        method: &'a str,
        uri: &'a str,
        qop: bool,
        /// The nonce count as sent (8 hex digits from a correct client).
        nc: String,
    }

    impl Answer<'_> {
        fn header(&self, auth: &Authenticator) -> String {
            let params = parse_params(self.challenge.strip_prefix("Digest ").unwrap());
            let get = |n: &str| params.iter().find(|(k, _)| k == n).unwrap().1.clone();
            let algorithm = if get("algorithm") == "SHA-256" {
                Algorithm::Sha256
            } else {
                Algorithm::Md5
            };
            let nonce = get("nonce");
            let nc = &self.nc;
            let response = DigestResponse {
                algorithm,
                session: false,
                username: "alice",
                realm: &auth.realm,
                password: self.password,
                method: self.method,
                uri: self.uri,
                nonce: &nonce,
                qop: self.qop.then_some("auth"),
                nc,
                cnonce: "abc",
            }
            .compute();
            let qop = if self.qop {
                format!(", qop=auth, nc={nc}, cnonce=\"abc\"")
            } else {
                String::new()
            };
            format!(
                "Digest username=\"alice\", realm=\"mediatool\", nonce=\"{nonce}\", \
                 uri=\"{}\", response=\"{response}\", algorithm={}{qop}",
                self.uri,
                algorithm.name()
            )
        }
    }

    fn answer<'a>(challenge: &'a str, password: &'a str, qop: bool) -> Answer<'a> {
        Answer {
            challenge,
            password,
            method: "DESCRIBE",
            uri: URI,
            qop,
            nc: "00000001".into(),
        }
    }

    #[test]
    fn digest_round_trips_with_both_algorithms() {
        let auth = auth(false);
        let challenges = auth.challenges(false, CLIENT);
        assert_eq!(challenges.len(), 2);
        assert!(challenges[0].contains("algorithm=SHA-256"));
        assert!(challenges[1].contains("algorithm=MD5"));
        for algorithm in 0..2 {
            for qop in [true, false] {
                // A fresh nonce each time: its count starts at 1 again.
                let challenge = &auth.challenges(false, CLIENT)[algorithm];
                let header = answer(challenge, "s3cr:et", qop).header(&auth);
                assert_eq!(
                    auth.check(&attempt("DESCRIBE", URI, &header)),
                    Ok("alice".into())
                );
                // Wrong method, wrong password: refused.
                assert_eq!(auth.check(&attempt("PLAY", URI, &header)), UNAUTHORIZED);
                let wrong = answer(challenge, "nope", qop).header(&auth);
                assert_eq!(auth.check(&attempt("DESCRIBE", URI, &wrong)), UNAUTHORIZED);
            }
        }
    }

    #[test]
    fn a_response_opens_only_the_resource_it_names() {
        let auth = auth(false);
        let challenge = &auth.challenges(false, CLIENT)[0];
        let header = answer(challenge, "s3cr:et", false).header(&auth);
        // The same path in another spelling is the same resource; a
        // track's control URL takes its file's (live555's clients).
        for same in [
            URI,
            "rtsp://h/a.264/",
            "/a.264",
            "rtsp://10.0.0.1:8554/a.264",
            "rtsp://h/a.264/track0",
        ] {
            assert_eq!(
                auth.check(&attempt("DESCRIBE", same, &header)),
                Ok("alice".into()),
                "{same}"
            );
        }
        for other in ["rtsp://h/b.264", "rtsp://h/a.264/track0/x", "/", "*"] {
            assert_eq!(
                auth.check(&attempt("DESCRIBE", other, &header)),
                Err(Refusal::UriMismatch),
                "{other}"
            );
        }
    }

    #[test]
    fn nonce_counts_must_grow_so_a_request_cannot_be_replayed() {
        let auth = auth(false);
        let challenge = &auth.challenges(false, CLIENT)[1];
        let request = |nc: u32| {
            let header = Answer {
                nc: format!("{nc:08x}"),
                ..answer(challenge, "s3cr:et", true)
            }
            .header(&auth);
            auth.check(&attempt("DESCRIBE", URI, &header))
        };
        assert_eq!(request(1), Ok("alice".into()));
        assert_eq!(request(1), STALE, "the same request again");
        assert_eq!(request(2), Ok("alice".into()));
        assert_eq!(request(3), Ok("alice".into()));
        assert_eq!(request(2), STALE, "an older count");
        // Another nonce has counts of its own.
        let fresh = &auth.challenges(false, CLIENT)[1];
        let header = answer(fresh, "s3cr:et", true).header(&auth);
        assert_ne!(fresh, challenge);
        assert_eq!(
            auth.check(&attempt("DESCRIBE", URI, &header)),
            Ok("alice".into())
        );
    }

    /// The count of a nonce is kept for the nonce, not for its spelling:
    /// hex is case-insensitive, and the upper-case form of a nonce is the
    /// same nonce, whose counts go on.
    #[test]
    fn a_nonce_in_another_case_is_the_same_nonce() {
        let auth = auth(false);
        let challenge = &auth.challenges(false, CLIENT)[1];
        let params = parse_params(challenge.strip_prefix("Digest ").unwrap());
        let nonce = &params.iter().find(|(n, _)| n == "nonce").unwrap().1;
        let upper = challenge.replace(nonce.as_str(), &nonce.to_ascii_uppercase());
        assert_ne!(&upper, challenge);
        let request = |challenge: &str, nc: u32| {
            let header = Answer {
                nc: format!("{nc:08x}"),
                ..answer(challenge, "s3cr:et", true)
            }
            .header(&auth);
            auth.check(&attempt("DESCRIBE", URI, &header))
        };
        assert_eq!(request(challenge, 1), Ok("alice".into()));
        assert_eq!(request(&upper, 1), STALE, "count 1 again, upper case");
        assert_eq!(request(&upper, 2), Ok("alice".into()));
        assert_eq!(request(challenge, 2), STALE, "count 2 again, lower case");
    }

    /// An unknown user costs the same work as a known one with a wrong
    /// password: a digest is computed either way (with a dummy password
    /// for the unknown name), so the time of a 401 does not tell whether
    /// a name exists.
    #[test]
    fn an_unknown_user_is_hashed_like_a_known_one() {
        let auth = auth(true);
        let challenge = &auth.challenges(false, CLIENT)[0];
        let digests = |header: &str| {
            let before = DIGESTS.with(std::cell::Cell::get);
            let result = auth.check(&attempt("DESCRIBE", URI, header));
            (result, DIGESTS.with(std::cell::Cell::get) - before)
        };
        let known = answer(challenge, "wrong", true).header(&auth);
        let unknown = known.replace("username=\"alice\"", "username=\"mallory\"");
        assert_ne!(known, unknown);
        assert_eq!(digests(&known), (UNAUTHORIZED, 1));
        assert_eq!(digests(&unknown), (UNAUTHORIZED, 1));
        // Basic compares a password either way too.
        let basic = |text: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(text)
            )
        };
        let before = PASSWORDS.with(std::cell::Cell::get);
        assert_eq!(
            auth.check(&attempt("DESCRIBE", URI, &basic("alice:wrong"))),
            UNAUTHORIZED
        );
        assert_eq!(
            auth.check(&attempt("DESCRIBE", URI, &basic("mallory:wrong"))),
            UNAUTHORIZED
        );
        assert_eq!(PASSWORDS.with(std::cell::Cell::get) - before, 2);
    }

    #[test]
    fn a_nonce_is_worth_nothing_from_another_address() {
        let auth = auth(false);
        let challenge = &auth.challenges(false, CLIENT)[0];
        let header = answer(challenge, "s3cr:et", false).header(&auth);
        let elsewhere = Attempt {
            client: "192.0.2.8".parse().unwrap(),
            ..attempt("DESCRIBE", URI, &header)
        };
        // Right credentials: the client is told to take a fresh nonce.
        assert_eq!(auth.check(&elsewhere), STALE);
        // The same address seen through an IPv6 socket is the same client.
        let mapped = Attempt {
            client: "::ffff:192.0.2.7".parse().unwrap(),
            ..attempt("DESCRIBE", URI, &header)
        };
        assert_eq!(auth.check(&mapped), Ok("alice".into()));
    }

    #[test]
    fn stale_nonces_are_reported_as_stale_only_with_right_credentials() {
        let auth = auth(false);
        let now = NONCE_LIFETIME.as_secs() + 1_000;
        let challenge = format!(
            "Digest realm=\"mediatool\", nonce=\"{}\", algorithm=MD5",
            auth.nonce(now - NONCE_LIFETIME.as_secs() - 10, CLIENT)
        );
        let header = answer(&challenge, "s3cr:et", true).header(&auth);
        assert_eq!(
            auth.check_at(&attempt("DESCRIBE", URI, &header), now),
            STALE
        );
        let wrong = answer(&challenge, "bad", true).header(&auth);
        assert_eq!(
            auth.check_at(&attempt("DESCRIBE", URI, &wrong), now),
            UNAUTHORIZED
        );
        // Issued in the future (not by this clock): stale, never accepted.
        let future = format!(
            "Digest realm=\"mediatool\", nonce=\"{}\", algorithm=MD5",
            auth.nonce(now + 60, CLIENT)
        );
        let header = answer(&future, "s3cr:et", true).header(&auth);
        assert_eq!(
            auth.check_at(&attempt("DESCRIBE", URI, &header), now),
            STALE
        );
        assert!(auth.challenges(true, CLIENT)[0].ends_with(", stale=true"));
    }

    #[test]
    fn forged_nonces_are_refused() {
        let auth = auth(false);
        let other =
            super::Authenticator::new(auth.users.clone(), auth.realm.clone(), false).unwrap();
        let challenge = &other.challenges(false, CLIENT)[1];
        let header = answer(challenge, "s3cr:et", true).header(&auth);
        assert!(auth.check(&attempt("DESCRIBE", URI, &header)).is_err());
        for text in ["zz", "", "00", &"00".repeat(16)] {
            assert_eq!(auth.issued(text, CLIENT, 0), None);
        }
        assert_eq!(auth.issued(&auth.nonce(100, CLIENT), CLIENT, 50), None);
        assert_eq!(
            auth.issued(&auth.nonce(100, CLIENT), CLIENT, 150)
                .map(|(t, _)| t),
            Some(100)
        );
    }

    #[test]
    fn the_count_table_stays_bounded() {
        let auth = auth(false);
        let lifetime = NONCE_LIFETIME.as_secs();
        let head = |n: usize| {
            let mut head = [0u8; 16];
            head[8..].copy_from_slice(&(n as u64).to_be_bytes());
            head
        };
        for n in 0..MAX_TRACKED_NONCES {
            assert!(auth.count_is_new(head(n), 0, 1, 0));
        }
        // Full of live nonces: a new one is refused (the client is told
        // its nonce is stale and gets another).
        let new = head(MAX_TRACKED_NONCES);
        assert!(!auth.count_is_new(new, 0, 1, lifetime));
        // Once they have expired they make room.
        assert!(auth.count_is_new(new, lifetime + 1, 1, lifetime + 1));
        assert_eq!(auth.counts.lock().unwrap().len(), 1);
    }

    #[test]
    fn basic_only_when_enabled() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:s3cr:et")
        );
        let check = |auth: &Authenticator, header: &str| auth.check(&attempt("PLAY", URI, header));
        assert!(check(&auth(false), &header).is_err());
        assert_eq!(check(&auth(true), &header), Ok("alice".into()));
        assert!(auth(true).challenges(false, CLIENT)[2].starts_with("Basic realm="));
        let bad = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("alice:wrong")
        );
        assert!(check(&auth(true), &bad).is_err());
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
            assert!(
                auth.check(&attempt("DESCRIBE", URI, header)).is_err(),
                "{header}"
            );
        }
        let none = Attempt {
            authorization: None,
            ..attempt("DESCRIBE", URI, "")
        };
        assert_eq!(auth.check(&none), UNAUTHORIZED);
    }

    #[test]
    fn a_malformed_nonce_count_is_refused() {
        let auth = auth(false);
        let challenge = &auth.challenges(false, CLIENT)[1];
        let header = Answer {
            nc: "zz".into(),
            ..answer(challenge, "s3cr:et", true)
        }
        .header(&auth);
        assert_eq!(auth.check(&attempt("DESCRIBE", URI, &header)), UNAUTHORIZED);
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
