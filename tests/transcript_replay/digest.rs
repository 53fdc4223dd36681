//! Digest authentication as the test computes it, independently of the
//! server's code: challenges read from `WWW-Authenticate`, responses per
//! RFC 2069 (no `qop`), RFC 2617 §3.2.2 (MD5, `qop=auth`) and RFC 7616 §3.4.1
//! (SHA-256).

use md5::{Digest, Md5};
use sha2::Sha256;

/// A Digest challenge of a `WWW-Authenticate` header.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The header value as sent.
    pub raw: String,
    /// `realm`.
    pub realm: String,
    /// `nonce`.
    pub nonce: String,
    /// `algorithm`, upper-cased; MD5 when absent (RFC 7616 §3.3).
    pub algorithm: String,
}

impl Challenge {
    /// The Digest challenges among `WWW-Authenticate` header values, in order.
    pub fn all<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Vec<Challenge>, String> {
        let mut challenges = Vec::new();
        for value in values {
            let Some(rest) = value.strip_prefix("Digest ") else {
                continue;
            };
            let params = params(rest)?;
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            challenges.push(Challenge {
                raw: value.to_owned(),
                realm: get("realm").ok_or_else(|| format!("no realm in {value}"))?,
                nonce: get("nonce").ok_or_else(|| format!("no nonce in {value}"))?,
                algorithm: get("algorithm")
                    .unwrap_or_else(|| "MD5".into())
                    .to_uppercase(),
            });
        }
        Ok(challenges)
    }
}

/// The comma-separated `name=value` pairs of a Digest header, quotes
/// removed (RFC 7616 §3.3, §3.4).
pub fn params(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let (name, after) = rest
            .split_once('=')
            .ok_or_else(|| format!("no '=' in digest parameters: {text}"))?;
        let after = after.trim_start();
        let (value, tail) = if let Some(quoted) = after.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("unterminated quote: {text}"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            after.split_at(after.find(',').unwrap_or(after.len()))
        };
        out.push((name.trim().to_owned(), value.trim().to_owned()));
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    Ok(out)
}

/// The recorded `Authorization` value with its nonce replaced by
/// `challenge`'s and its response recomputed for `method` and `password`.
pub fn answer(
    recorded: &str,
    challenge: &Challenge,
    method: &str,
    password: &str,
) -> Result<String, String> {
    let rest = recorded
        .strip_prefix("Digest ")
        .ok_or_else(|| format!("not a Digest Authorization: {recorded}"))?;
    let params = params(rest)?;
    let get = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let need = |name: &str| get(name).ok_or_else(|| format!("no {name} in {recorded}"));
    let (username, realm, uri) = (need("username")?, need("realm")?, need("uri")?);
    let (old_nonce, old_response) = (need("nonce")?, need("response")?);
    if realm != challenge.realm {
        return Err(format!(
            "recorded realm {realm:?}, the server's is {:?}",
            challenge.realm
        ));
    }
    let algorithm = get("algorithm").unwrap_or("MD5").to_uppercase();
    let h = |s: String| -> String {
        match algorithm.as_str() {
            "MD5" => hex::encode(Md5::digest(s.as_bytes())),
            "SHA-256" => hex::encode(Sha256::digest(s.as_bytes())),
            other => panic!("digest algorithm {other} not supported by the replay"),
        }
    };
    let nonce = &challenge.nonce;
    let ha1 = h(format!("{username}:{realm}:{password}"));
    let ha2 = h(format!("{method}:{uri}"));
    let response = match get("qop") {
        None => h(format!("{ha1}:{nonce}:{ha2}")),
        Some(qop) => h(format!(
            "{ha1}:{nonce}:{}:{}:{qop}:{ha2}",
            need("nc")?,
            need("cnonce")?
        )),
    };
    let swap = |text: String, name: &str, old: &str, new: &str| -> Result<String, String> {
        let from = format!("{name}=\"{old}\"");
        if !text.contains(&from) {
            return Err(format!("{name} not quoted in {recorded}"));
        }
        Ok(text.replacen(&from, &format!("{name}=\"{new}\""), 1))
    };
    let text = swap(recorded.to_owned(), "nonce", old_nonce, nonce)?;
    swap(text, "response", old_response, &response)
}

#[test]
fn answers_match_the_rfc_examples() {
    let challenge = |realm: &str, nonce: &str, algorithm: &str| Challenge {
        raw: String::new(),
        realm: realm.into(),
        nonce: nonce.into(),
        algorithm: algorithm.into(),
    };
    // RFC 2617 §3.5: MD5, qop=auth.
    let recorded = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="old", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="0", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let md5 = challenge(
        "testrealm@host.com",
        "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        "MD5",
    );
    let answered = answer(recorded, &md5, "GET", "Circle Of Life").unwrap();
    assert!(
        answered.contains(r#"nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#),
        "{answered}"
    );
    assert!(
        answered.contains(r#"response="6629fae49393a05397450978507c4ef1""#),
        "{answered}"
    );
    assert!(answered.contains(r#"cnonce="0a4f113b""#), "{answered}");
    // RFC 7616 §3.9.1: SHA-256, qop=auth.
    let recorded = r#"Digest username="Mufasa", realm="http-auth@example.org", uri="/dir/index.html", algorithm=SHA-256, nonce="old", nc=00000001, cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", qop=auth, response="0""#;
    let sha = challenge(
        "http-auth@example.org",
        "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        "SHA-256",
    );
    let answered = answer(recorded, &sha, "GET", "Circle of Life").unwrap();
    assert!(
        answered.contains(
            r#"response="753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1""#
        ),
        "{answered}"
    );
    // A realm other than the server's is an error, not a silent success.
    assert!(answer(recorded, &md5, "GET", "Circle of Life").is_err());
}
