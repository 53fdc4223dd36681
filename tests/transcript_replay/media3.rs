//! What AndroidX Media3's RTSP client (ExoPlayer) requires of the answers,
//! re-implemented from its parsers (androidx/media libraries/exoplayer_rtsp:
//! SessionDescriptionParser, RtspMediaTrack, RtspMessageUtil, RtspSessionTiming,
//! RtspTrackTiming, RtspMediaPeriod.onPlaybackStarted); issue 12's list:
//! a `t=` line, no empty `i=` line, H.264 `sprop-parameter-sets`, and one
//! RTP-Info entry per track whose url matches the track's control URL.

use crate::serve_common::Reply;

use super::checks::Description;
use super::digest::Challenge;

/// SessionDescriptionParser.parse, RtspMediaTrack and MediaDescription: every
/// line `[a-z]=\s?VALUE` with a value (older Media3 also throws on an empty
/// `i=`), `v=0`, `o=`, `s=` and `t=` present, `m=` lines of exactly four
/// fields, attributes named by token characters, each media with a control
/// and an rtpmap, the session range parseable, H.264 with two parameter sets,
/// AAC with a profile-level-id and a config.
pub fn describe(reply: &Reply) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = Vec::new();
    let mut media: Vec<Vec<(String, String)>> = Vec::new();
    let mut session_range = None;
    // RtspMessageUtil.splitRtspMessageBody: CRLF if the body has one, else LF.
    let separator = if reply.body.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    for line in reply
        .body
        .split(separator)
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        let bytes = line.as_bytes();
        let value = line
            .get(2..)
            .map(|v| v.strip_prefix([' ', '\t']).unwrap_or(v));
        let well_formed = bytes.len() > 2 && bytes[0].is_ascii_lowercase() && bytes[1] == b'=';
        let Some(value) = value.filter(|v| well_formed && !v.is_empty()) else {
            problems.push(format!(
                "SDP line {line:?} has no value (Media3 throws on it)"
            ));
            continue;
        };
        let kind = bytes[0];
        seen.push(kind);
        match kind {
            b'v' if value != "0" => problems.push(format!("SDP version {value}")),
            b'm' => {
                if value.split(' ').count() != 4 || value.contains("  ") {
                    problems.push(format!("m={value} is not four fields"));
                }
                media.push(Vec::new());
            }
            b'a' => {
                let (name, attr) = value.split_once(':').unwrap_or((value, ""));
                if name.is_empty() || !name.bytes().all(token_char) {
                    problems.push(format!("attribute name {name:?}"));
                }
                match media.last_mut() {
                    Some(m) => m.push((name.to_owned(), attr.to_owned())),
                    None if name == "range" => session_range = Some(attr.to_owned()),
                    None => {}
                }
            }
            _ => {}
        }
    }
    for kind in [b'v', b'o', b's', b't'] {
        if !seen.contains(&kind) {
            problems.push(format!("SDP has no {}= line", char::from(kind)));
        }
    }
    if let Some(range) = session_range {
        if !npt_timing(&range) {
            problems.push(format!(
                "a=range:{range} fails RtspSessionTiming.parseTiming"
            ));
        }
    }
    for (i, attrs) in media.iter().enumerate() {
        problems.extend(media_track(i, attrs));
    }
    problems
}

/// RtspMediaTrack's checks of one media description.
fn media_track(i: usize, attrs: &[(String, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    let get = |name: &str| {
        attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    if get("control").is_none() {
        problems.push(format!("media {i}: no a=control"));
    }
    let Some(rtpmap) = get("rtpmap") else {
        return vec![format!("media {i}: no a=rtpmap")];
    };
    let encoding = rtpmap
        .split_once(' ')
        .map_or("", |(_, e)| e.split('/').next().unwrap_or(""))
        .to_ascii_uppercase();
    let fmtp = get("fmtp").and_then(|f| f.split_once(' ')).map(|(_, p)| p);
    let mut params: Vec<(&str, &str)> = Vec::new();
    for param in fmtp.unwrap_or("").split(';').map(str::trim_start) {
        let (k, v) = param.split_once('=').unwrap_or((param, ""));
        if params.iter().any(|(seen, _)| *seen == k) {
            problems.push(format!("media {i}: fmtp repeats {k} (ImmutableMap throws)"));
        }
        params.push((k, v));
    }
    let param = |name: &str| params.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
    match encoding.as_str() {
        "H264" => match param("sprop-parameter-sets") {
            Some(sets) if sets.split(',').count() == 2 && !sets.split(',').any(str::is_empty) => {}
            other => problems.push(format!(
                "media {i}: H.264 sprop-parameter-sets {other:?}, Media3 needs exactly SPS,PPS"
            )),
        },
        "MPEG4-GENERIC" => {
            if param("profile-level-id").is_none_or(str::is_empty) {
                problems.push(format!("media {i}: AAC without profile-level-id"));
            }
            if param("config").is_none() {
                problems.push(format!("media {i}: AAC without config"));
            }
        }
        _ => {}
    }
    problems
}

/// RFC 4566 token characters, as Media3's ATTRIBUTE_PATTERN lists them.
fn token_char(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x27 | 0x2a | 0x2b | 0x2d | 0x2e | 0x30..=0x39 | 0x41..=0x5a | 0x5e..=0x7e)
}

/// RtspSessionTiming's `npt=([.\d]+|now)\s?-\s?([.\d]+)?`, end after start.
fn npt_timing(value: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b == b'.' || b.is_ascii_digit());
    let Some((start, end)) = value.strip_prefix("npt=").and_then(|v| v.split_once('-')) else {
        return false;
    };
    let start = start.strip_suffix(' ').unwrap_or(start);
    let end = end.strip_prefix(' ').unwrap_or(end);
    if !(start == "now" || number(start)) || !(end.is_empty() || number(end)) {
        return false;
    }
    match (start.parse::<f32>(), end.parse::<f32>()) {
        (Ok(s), Ok(e)) => e > s,
        _ => true,
    }
}

/// RtspMessageUtil.parseSessionHeader: `[\w$\-_.+]+(;\s?timeout=\d+)?`,
/// the whole value.
pub fn setup(reply: &Reply) -> Vec<String> {
    let value = reply.header("Session").unwrap_or("");
    let (id, rest) = value.split_once(';').unwrap_or((value, ""));
    let id_ok = !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_$-.+".contains(&b));
    let rest = rest.strip_prefix(' ').unwrap_or(rest);
    let timeout_ok = value.split_once(';').is_none()
        || rest
            .strip_prefix("timeout=")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    if id_ok && timeout_ok {
        vec![]
    } else {
        vec![format!(
            "Session {value:?} fails Media3's SESSION_HEADER_PATTERN"
        )]
    }
}

/// The PLAY answer as Media3 reads it: Range through RtspSessionTiming; the
/// RTP-Info split at `,` then `;` then the first `=`, with only `url`, `seq`
/// and `rtptime` (anything else, even a space before a name, makes Media3
/// drop the whole header); each url resolved against the session URI (the
/// URL the app gave) as RtspTrackTiming.resolveUri does, and every track set
/// up found among their paths, its URI being Content-Base + a=control as
/// RtspMediaTrack.extractTrackUri builds it.
pub fn play(
    reply: &Reply,
    session_uri: &str,
    description: &Description,
    set_up: &[usize],
) -> Vec<String> {
    let mut problems = Vec::new();
    match reply.header("Range") {
        Some(range) if npt_timing(range) => {}
        other => problems.push(format!(
            "Range {other:?} fails RtspSessionTiming.parseTiming"
        )),
    }
    let info = reply.header("RTP-Info").unwrap_or("");
    let mut paths = Vec::new();
    for entry in info.split(',') {
        let mut has_timing = false;
        for attribute in entry.split(';') {
            match attribute.split_once('=') {
                Some(("url", url)) => paths.push(path(&resolve_rtp_info(url, session_uri))),
                Some(("seq", v)) if v.parse::<i32>().is_ok() => has_timing = true,
                Some(("rtptime", v)) if v.parse::<i64>().is_ok() => has_timing = true,
                _ => problems.push(format!(
                    "RTP-Info attribute {attribute:?} makes Media3 throw"
                )),
            }
        }
        if !has_timing {
            problems.push(format!(
                "RTP-Info entry {entry:?} has neither seq nor rtptime"
            ));
        }
    }
    for &track in set_up {
        let uri = extract_track_uri(&description.base, &description.controls[track]);
        if !paths.contains(&path(&uri)) {
            problems.push(format!(
                "no RTP-Info url with the path of track {uri} (Media3 then disables seeking)"
            ));
        }
    }
    if paths.len() != set_up.len() {
        problems.push(format!(
            "{} RTP-Info entries for {} tracks",
            paths.len(),
            set_up.len()
        ));
    }
    problems
}

/// The 401 as Media3 reads it: the first Digest WWW-Authenticate must match
/// WWW_AUTHENTICATION_HEADER_DIGEST_PATTERN (realm, optional domain, nonce,
/// in that order); Media3 answers it with MD5 whatever algorithm it names.
pub fn unauthorized(challenges: &[Challenge]) -> Vec<String> {
    let Some(first) = challenges.first() else {
        return vec!["no Digest challenge".into()];
    };
    let raw = &first.raw;
    let Some(at) = raw.find("Digest realm=\"") else {
        return vec![format!(
            "{raw} does not start realm=\"...\" (Media3's pattern)"
        )];
    };
    let rest = &raw[at + 14..];
    let after_realm = rest
        .split_once("\",")
        .map(|(_, r)| r.strip_prefix(' ').unwrap_or(r));
    let ok = after_realm.is_some_and(|r| {
        let r = match r.strip_prefix("domain=\"") {
            Some(d) => d
                .split_once("\",")
                .map_or("", |(_, r)| r.strip_prefix(' ').unwrap_or(r)),
            None => r,
        };
        r.strip_prefix("nonce=\"")
            .is_some_and(|n| n.find('"').is_some_and(|end| end > 0))
    });
    if ok {
        vec![]
    } else {
        vec![format!(
            "{raw} fails Media3's Digest pattern (realm, then nonce)"
        )]
    }
}

/// RtspMediaTrack.extractTrackUri: absolute as is, `*` the base, else the
/// base with the control appended as a path segment (Uri.appendEncodedPath).
fn extract_track_uri(base: &str, control: &str) -> String {
    if control.contains("://") {
        control.to_owned()
    } else if control == "*" {
        base.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

/// RtspTrackTiming.resolveUri: an absolute url as is; one missing only its
/// scheme (its host is the session's) with `rtsp://`; else relative to the
/// session URI taken as a directory.
fn resolve_rtp_info(url: &str, session_uri: &str) -> String {
    if url.contains("://") {
        return url.to_owned();
    }
    let with_scheme = format!("rtsp://{url}");
    if host(&with_scheme) == host(session_uri) {
        return with_scheme;
    }
    let dir = session_uri.trim_end_matches('/');
    format!("{dir}/{}", url.trim_start_matches('/'))
}

/// The host of an `rtsp://host[:port]/path` URL (Uri.getHost).
fn host(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    after_scheme.split(['/', ':']).next().unwrap_or("")
}

/// The path of an `rtsp://host[:port]/path` URL (Uri.getPath).
fn path(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    path.split(['?', '#']).next().unwrap_or("").to_owned()
}

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=f\r\ni=f (H.264)\r\nt=0 0\r\na=range:npt=0-2.000\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z2Q=,aO8=\r\na=control:track0\r\n";

#[test]
fn media3_refuses_what_issue_12_lists() {
    use super::checks::reply;
    assert!(
        describe(&reply(&[], SDP)).is_empty(),
        "{:?}",
        describe(&reply(&[], SDP))
    );
    for (from, to) in [
        ("t=0 0\r\n", ""),
        ("i=f (H.264)\r\n", "i=\r\n"),
        (";sprop-parameter-sets=Z2Q=,aO8=", ""),
        ("Z2Q=,aO8=", "Z2Q="),
        ("a=control:track0\r\n", ""),
        ("npt=0-2.000", "npt=0-0"),
        ("m=video 0 RTP/AVP 96", "m=video 0 RTP/AVP 96 97"),
    ] {
        let sdp = SDP.replace(from, to);
        assert_eq!(describe(&reply(&[], &sdp)).len(), 1, "{sdp}");
    }
    assert!(setup(&reply(&[("Session", "A1.b-c_$+; timeout=60")], "")).is_empty());
    assert_eq!(setup(&reply(&[("Session", "A1;timeout=")], "")).len(), 1);
    assert_eq!(setup(&reply(&[("Session", "A 1")], "")).len(), 1);
}

#[test]
fn media3_matches_rtp_info_to_tracks_by_path() {
    use super::checks::reply;
    let description = Description {
        base: "rtsp://h:1/f/".into(),
        controls: vec!["track0".into(), "track1".into()],
        tracks: vec![],
    };
    let play_reply = |info: &str| reply(&[("Range", "npt=0.000-"), ("RTP-Info", info)], "");
    let both = "url=rtsp://h:1/f/track0;seq=1;rtptime=2,url=track1;seq=3;rtptime=4";
    assert!(play(&play_reply(both), "rtsp://h:1/f", &description, &[0, 1]).is_empty());
    // A space after the comma makes Media3 drop the header.
    let spaced = "url=rtsp://h:1/f/track0;seq=1;rtptime=2, url=rtsp://h:1/f/track1;seq=3;rtptime=4";
    assert!(!play(&play_reply(spaced), "rtsp://h:1/f", &description, &[0, 1]).is_empty());
    // A url of another path leaves track 0 without timing.
    let other = "url=rtsp://h:1/g/track0;seq=1;rtptime=2";
    assert_eq!(
        play(&play_reply(other), "rtsp://h:1/f", &description, &[0]).len(),
        1
    );
    assert_eq!(path("rtsp://h:1/f/track0?x"), "/f/track0");
}

#[test]
fn media3_reads_realm_then_nonce() {
    let challenge = |raw: &str| Challenge {
        raw: raw.into(),
        realm: "r".into(),
        nonce: "n".into(),
        algorithm: "MD5".into(),
    };
    assert!(unauthorized(&[challenge(
        r#"Digest realm="r", nonce="n", algorithm=SHA-256"#
    )])
    .is_empty());
    assert_eq!(
        unauthorized(&[challenge(r#"Digest nonce="n", realm="r""#)]).len(),
        1
    );
    assert_eq!(unauthorized(&[]).len(), 1);
}
