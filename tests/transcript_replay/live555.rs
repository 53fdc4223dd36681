//! What live555's RTSPClient (openRTSP, VLC) requires of the answers,
//! re-implemented from liveMedia/RTSPClient.cpp (live555 2024.06.26:
//! handleResponseBytes, handleAuthenticationFailure, constructSubsessionURL).

use super::digest::Challenge;

/// The 401 as live555 reads it: of several WWW-Authenticate headers it keeps
/// the last Digest one, reads it with `sscanf("Digest realm=\"%[^\"]\",
/// nonce=\"%[^\"]\"")` (realm first, then nonce) and answers with MD5 whatever
/// algorithm it names: that challenge must be MD5.
pub fn unauthorized(challenges: &[Challenge]) -> Vec<String> {
    let Some(last) = challenges.last() else {
        return vec!["no Digest challenge".into()];
    };
    let mut problems = Vec::new();
    let realm_then_nonce = last
        .raw
        .strip_prefix("Digest realm=\"")
        .and_then(|r| r.split_once('"'))
        .and_then(|(realm, r)| (!realm.is_empty()).then_some(r))
        .and_then(|r| r.strip_prefix(','))
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("nonce=\""))
        .is_some_and(|r| r.find('"').is_some_and(|end| end > 0));
    if !realm_then_nonce {
        problems.push(format!(
            "{} is not 'Digest realm=\"..\", nonce=\"..\"'",
            last.raw
        ));
    }
    if last.algorithm != "MD5" {
        problems.push(format!(
            "the last Digest challenge ({}) is not MD5, which live555 always computes",
            last.raw
        ));
    }
    problems
}

/// constructSubsessionURL joins the Content-Base and a=control with a `/`,
/// which is the RFC 3986 resolution the server means only when the
/// Content-Base ends with `/` (as its own comment says).
pub fn describe(content_base: &str) -> Vec<String> {
    if content_base.ends_with('/') {
        vec![]
    } else {
        vec![format!("Content-Base {content_base} does not end with '/'")]
    }
}

#[test]
fn live555_answers_the_last_challenge_with_md5() {
    let challenge = |raw: &str, algorithm: &str| Challenge {
        raw: raw.into(),
        realm: "r".into(),
        nonce: "n".into(),
        algorithm: algorithm.into(),
    };
    let sha = challenge(
        r#"Digest realm="r", nonce="n", algorithm=SHA-256"#,
        "SHA-256",
    );
    let md5 = challenge(r#"Digest realm="r", nonce="n", algorithm=MD5"#, "MD5");
    assert!(unauthorized(&[sha.clone(), md5.clone()]).is_empty());
    assert_eq!(unauthorized(&[md5, sha]).len(), 1);
    assert_eq!(
        unauthorized(&[challenge(r#"Digest nonce="n", realm="r""#, "MD5")]).len(),
        1
    );
    assert_eq!(describe("rtsp://h/f").len(), 1);
}
