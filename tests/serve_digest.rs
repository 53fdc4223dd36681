//! Digest authentication end to end, with raw requests whose responses
//! are computed here with the `sha2` and `md-5` crates directly, not with
//! the server's code (RFC 7616 §3.4.1): replays, nonce counts, nonces
//! bound to the client's address, unknown users.

mod common;
mod serve_common;

use md5::Md5;
use sha2::{Digest as _, Sha256};

use serve_common::{Reply, Rtsp, TestServer};

const AAC: (&str, &str) = ("clip.aac", "audio_48k_mono.aac");

/// A parameter of a `WWW-Authenticate` challenge.
fn param(challenge: &str, name: &str) -> String {
    let start = challenge
        .find(&format!("{name}=\""))
        .unwrap_or_else(|| panic!("no {name} in {challenge}"))
        + name.len()
        + 2;
    let end = challenge[start..].find('"').unwrap() + start;
    challenge[start..end].to_owned()
}

/// The challenge of a 401 for `algorithm` (`SHA-256` or `MD5`).
fn challenge<'a>(reply: &'a Reply, algorithm: &str) -> &'a str {
    assert_eq!(reply.status, 401, "{reply:?}");
    reply
        .all("WWW-Authenticate")
        .into_iter()
        .find(|c| c.contains(&format!("algorithm={algorithm},")))
        .unwrap_or_else(|| panic!("no {algorithm} challenge in {reply:?}"))
}

/// An `Authorization` value with `qop=auth` (RFC 7616 §3.4.1): the
/// response hashed with `algorithm` from the challenge's realm and
/// `nonce`, for `method` on `uri` with nonce count `nc`.
struct Credentials<'a> {
    algorithm: &'a str,
    user: &'a str,
    password: &'a str,
    realm: &'a str,
    nonce: &'a str,
}

impl Credentials<'_> {
    fn hash(&self, text: &str) -> String {
        match self.algorithm {
            "SHA-256" => hex::encode(Sha256::digest(text.as_bytes())),
            "MD5" => hex::encode(Md5::digest(text.as_bytes())),
            other => panic!("{other}"),
        }
    }

    fn header(&self, method: &str, uri: &str, nc: u32) -> String {
        let cnonce = "0a4f113b";
        let nc = format!("{nc:08x}");
        let ha1 = self.hash(&format!("{}:{}:{}", self.user, self.realm, self.password));
        let ha2 = self.hash(&format!("{method}:{uri}"));
        let response = self.hash(&format!("{ha1}:{}:{nc}:{cnonce}:auth:{ha2}", self.nonce));
        format!(
            "Digest username=\"{}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", \
             algorithm={}, response=\"{response}\", qop=auth, nc={nc}, cnonce=\"{cnonce}\"",
            self.user, self.realm, self.nonce, self.algorithm
        )
    }
}

fn start() -> TestServer {
    TestServer::start(&[AAC], &["--user", "alice:wonder land"])
}

/// A fresh challenge on `c`.
fn challenged(c: &mut Rtsp, url: &str) -> Reply {
    c.request("DESCRIBE", url, &[])
}

#[test]
fn sha256_digest_with_nonce_counts_that_must_grow() {
    let server = start();
    let url = server.url(AAC.0);
    let mut c = server.connect();
    let reply = challenged(&mut c, &url);
    let offer = challenge(&reply, "SHA-256");
    let (realm, nonce) = (param(offer, "realm"), param(offer, "nonce"));
    let alice = Credentials {
        algorithm: "SHA-256",
        user: "alice",
        password: "wonder land",
        realm: &realm,
        nonce: &nonce,
    };
    let describe =
        |c: &mut Rtsp, header: &str| c.request("DESCRIBE", &url, &[("Authorization", header)]);
    assert_eq!(
        describe(&mut c, &alice.header("DESCRIBE", &url, 1)).status,
        200
    );
    // The same request again (a replay): refused, stale so that a real
    // client takes the fresh nonce and retries.
    let replayed = describe(&mut c, &alice.header("DESCRIBE", &url, 1));
    assert_eq!(replayed.status, 401);
    assert!(
        challenge(&replayed, "SHA-256").ends_with("stale=true"),
        "{replayed:?}"
    );
    // Another connection from the same host: the count is the nonce's.
    let mut other = server.connect();
    assert_eq!(
        describe(&mut other, &alice.header("DESCRIBE", &url, 1)).status,
        401
    );
    assert_eq!(
        describe(&mut other, &alice.header("DESCRIBE", &url, 2)).status,
        200
    );
    assert_eq!(
        describe(&mut c, &alice.header("DESCRIBE", &url, 2)).status,
        401
    );
    // The nonce in upper case is the same nonce: its counts go on.
    let upper = nonce.to_ascii_uppercase();
    assert_ne!(upper, nonce);
    let shouting = Credentials {
        nonce: &upper,
        ..alice
    };
    let again = describe(&mut c, &shouting.header("DESCRIBE", &url, 1));
    assert_eq!(again.status, 401, "nc=1 again as an upper-case nonce");
    assert!(challenge(&again, "SHA-256").ends_with("stale=true"));
    assert_eq!(
        describe(&mut c, &shouting.header("DESCRIBE", &url, 3)).status,
        200
    );
    // A wrong password and an unknown user: 401, not stale.
    for (user, password) in [("alice", "wonderland"), ("mallory", "wonder land")] {
        let wrong = Credentials {
            user,
            password,
            ..alice
        };
        let refused = describe(&mut c, &wrong.header("DESCRIBE", &url, 9));
        assert_eq!(refused.status, 401, "{user}:{password}");
        assert!(
            !challenge(&refused, "SHA-256").contains("stale"),
            "{user}: {refused:?}"
        );
    }
}

#[test]
fn a_nonce_is_refused_from_another_address() {
    let server = start();
    let url = server.url(AAC.0);
    let mut here = server.connect();
    let reply = challenged(&mut here, &url);
    // Both challenges carry one nonce: its counts go on across them.
    for (nc, algorithm) in [(1, "SHA-256"), (2, "MD5")] {
        let offer = challenge(&reply, algorithm);
        let (realm, nonce) = (param(offer, "realm"), param(offer, "nonce"));
        let alice = Credentials {
            algorithm,
            user: "alice",
            password: "wonder land",
            realm: &realm,
            nonce: &nonce,
        };
        // Right credentials from 127.0.0.2, with the nonce 127.0.0.1 got:
        // stale (the client there is told to take a nonce of its own).
        let mut elsewhere = Rtsp::connect_from(server.port, [127, 0, 0, 2].into());
        let header = alice.header("DESCRIBE", &url, nc);
        let refused = elsewhere.request("DESCRIBE", &url, &[("Authorization", &header)]);
        assert_eq!(refused.status, 401, "{algorithm}");
        assert!(
            challenge(&refused, algorithm).ends_with("stale=true"),
            "{algorithm}: {refused:?}"
        );
        // The nonce the other host was given there works there.
        let own = challenge(&refused, algorithm);
        let theirs = param(own, "nonce");
        assert_ne!(theirs, nonce);
        let fresh = Credentials {
            nonce: &theirs,
            ..alice
        };
        let header = fresh.header("DESCRIBE", &url, 1);
        assert_eq!(
            elsewhere
                .request("DESCRIBE", &url, &[("Authorization", &header)])
                .status,
            200,
            "{algorithm}"
        );
        // And the first host's nonce still works where it was issued.
        let header = alice.header("DESCRIBE", &url, nc);
        assert_eq!(
            here.request("DESCRIBE", &url, &[("Authorization", &header)])
                .status,
            200,
            "{algorithm}"
        );
    }
}
