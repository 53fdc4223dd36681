//! What every client needs of each answer (RFC 2326): the CSeq echoed
//! (§12.17), Public (§12.28), the DESCRIBE's Content-Base, Content-Type and
//! SDP (§10.2, §C.1.1), the SETUP's Transport and Session (§12.39, §12.37),
//! PLAY's Range and RTP-Info (§12.29, §12.33). Each check returns the
//! problems it found, empty when the answer is right.

use crate::serve_common::Reply;

use super::transcript::Request;

/// The CSeq of the answer is the request's.
pub fn cseq(request: &Request, reply: &Reply) -> Vec<String> {
    match (request.header("CSeq"), reply.header("CSeq")) {
        (Some(sent), Some(got)) if sent == got => vec![],
        (sent, got) => vec![format!("CSeq {got:?} answers CSeq {sent:?}")],
    }
}

/// OPTIONS lists every method the client goes on to use.
pub fn options(reply: &Reply, methods: &[&str]) -> Vec<String> {
    let Some(public) = reply.header("Public") else {
        return vec!["no Public header".into()];
    };
    let listed: Vec<&str> = public.split(',').map(str::trim).collect();
    methods
        .iter()
        .filter(|m| !listed.contains(m))
        .map(|m| format!("Public ({public}) lacks {m}, which this client sends"))
        .collect()
}

/// What a DESCRIBE answer gives the replay: the SDP and its track URLs.
#[derive(Debug)]
pub struct Description {
    /// The Content-Base.
    pub base: String,
    /// Each media's `a=control`, in order.
    pub controls: Vec<String>,
    /// Each media's control URL resolved against the Content-Base.
    pub tracks: Vec<String>,
}

/// DESCRIBE: Content-Type application/sdp, a Content-Length that is the
/// body's, an absolute Content-Base on the server's authority, an SDP that
/// parses with a control and an rtpmap for each media and the session's
/// `a=range`. Returns the description when it is usable.
pub fn describe(reply: &Reply, authority: &str) -> (Vec<String>, Option<Description>) {
    let mut problems = Vec::new();
    let content_type = reply.header("Content-Type").unwrap_or("");
    if content_type.split(';').next().map(str::trim) != Some("application/sdp") {
        problems.push(format!(
            "Content-Type {content_type:?}, not application/sdp"
        ));
    }
    match reply.header("Content-Length").map(str::parse::<usize>) {
        Some(Ok(n)) if n == reply.body.len() && n > 0 => {}
        other => problems.push(format!(
            "Content-Length {other:?} for a body of {} bytes",
            reply.body.len()
        )),
    }
    if !reply.body.ends_with("\r\n") {
        problems.push("the SDP does not end with CRLF (RFC 8866 §5)".into());
    }
    let base = match reply.header("Content-Base") {
        Some(base) if base.starts_with(&format!("rtsp://{authority}/")) => base.to_owned(),
        Some(base) => {
            problems.push(format!("Content-Base {base} not on rtsp://{authority}/"));
            return (problems, None);
        }
        None => {
            problems.push("no Content-Base".into());
            return (problems, None);
        }
    };
    let sdp = match sdp_types::Session::parse(reply.body.as_bytes()) {
        Ok(sdp) => sdp,
        Err(e) => {
            problems.push(format!("SDP does not parse: {e:?}\n{}", reply.body));
            return (problems, None);
        }
    };
    if sdp.medias.is_empty() {
        problems.push("SDP without media".into());
    }
    match sdp.get_first_attribute_value("range") {
        Some(Some(range)) => match npt_range(range) {
            Some((start, Some(end))) if start == 0.0 && end > 0.0 => {}
            _ => problems.push(format!("a=range:{range} is not npt=0-<duration>")),
        },
        _ => problems.push("no session a=range (clients take the duration from it)".into()),
    }
    let mut controls = Vec::new();
    for (i, media) in sdp.medias.iter().enumerate() {
        let dynamic = media
            .fmt
            .split(' ')
            .any(|pt| pt.parse::<u8>().is_ok_and(|pt| pt >= 96));
        if dynamic && !media.has_attribute("rtpmap") {
            problems.push(format!(
                "media {i} has a dynamic payload type and no a=rtpmap"
            ));
        }
        match media.get_first_attribute_value("control") {
            Some(Some(control)) => controls.push(control.to_owned()),
            _ => problems.push(format!("media {i} has no a=control")),
        }
    }
    let tracks = controls.iter().map(|c| resolve(&base, c)).collect();
    (
        problems,
        Some(Description {
            base,
            controls,
            tracks,
        }),
    )
}

/// A control URL resolved against the Content-Base (RFC 2326 §C.1.1 with
/// RFC 3986 §5.2: absolute as is, `*` the base itself, else relative to the
/// base's last `/`).
pub fn resolve(base: &str, control: &str) -> String {
    if control.contains("://") {
        control.to_owned()
    } else if control == "*" {
        base.to_owned()
    } else {
        let dir = &base[..base.rfind('/').map_or(base.len(), |i| i + 1)];
        format!("{dir}{control}")
    }
}

/// The lower transport a Transport value asks for: `(tcp, parameters)`,
/// from its first alternative.
pub fn transport(value: &str) -> (bool, Vec<(String, String)>) {
    let first = value.split(',').next().unwrap_or("");
    let mut parts = first.split(';').map(str::trim);
    let spec = parts.next().unwrap_or("").to_ascii_uppercase();
    let params = parts
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.trim_matches('"').to_owned()),
            None => (p.to_ascii_lowercase(), String::new()),
        })
        .collect();
    (spec.ends_with("/TCP"), params)
}

/// `A-B` as a pair of numbers.
pub fn pair(value: &str) -> Option<(u16, u16)> {
    let (a, b) = value.split_once('-')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// SETUP: the URL is one the DESCRIBE announced; the Transport answers the
/// one asked (same lower transport, the client's ports or channels, a
/// server_port pair for UDP, an ssrc); `Session: id;timeout=N`, the id the
/// request named if it named one. Returns the session id and the ssrc.
pub fn setup(
    request: &Request,
    reply: &Reply,
    tracks: &[String],
) -> (Vec<String>, Option<String>, Option<u32>) {
    let mut problems = Vec::new();
    if !tracks.iter().any(|t| t == request.url()) {
        problems.push(format!(
            "SETUP of {}, which is none of the DESCRIBE's tracks {tracks:?}",
            request.url()
        ));
    }
    let asked = transport(request.header("Transport").unwrap_or(""));
    let Some(answer) = reply.header("Transport") else {
        return (vec!["no Transport".into()], None, None);
    };
    let (tcp, params) = transport(answer);
    let get = |params: &[(String, String)], name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    if tcp != asked.0 {
        problems.push(format!(
            "Transport {answer} changes the lower transport asked"
        ));
    }
    if tcp {
        match (get(&asked.1, "interleaved"), get(&params, "interleaved")) {
            (_, None) => problems.push(format!("Transport {answer} has no interleaved=")),
            (Some(want), Some(got)) if want != got => {
                problems.push(format!("interleaved={got}, the client asked {want}"))
            }
            _ => {}
        }
    } else {
        if get(&params, "client_port") != get(&asked.1, "client_port") {
            problems.push(format!(
                "Transport {answer} does not echo the client_port asked"
            ));
        }
        match get(&params, "server_port").as_deref().and_then(pair) {
            Some((rtp, rtcp)) if rtcp == rtp.wrapping_add(1) && rtp.is_multiple_of(2) => {}
            _ => problems.push(format!("Transport {answer} has no even server_port pair")),
        }
    }
    let ssrc = get(&params, "ssrc").and_then(|s| u32::from_str_radix(&s, 16).ok());
    if ssrc.is_none() {
        problems.push(format!("Transport {answer} has no hexadecimal ssrc="));
    }
    let session = match reply.header("Session") {
        Some(value) => {
            let (id, timeout) = value.split_once(';').unwrap_or((value, ""));
            let seconds = timeout
                .trim()
                .strip_prefix("timeout=")
                .map(str::parse::<u32>);
            if !matches!(seconds, Some(Ok(n)) if n > 0) {
                problems.push(format!("Session {value} has no timeout=<seconds>"));
            }
            if let Some(named) = request.header("Session") {
                if named != id.trim() {
                    problems.push(format!("Session {id} answers a SETUP in session {named}"));
                }
            }
            Some(id.trim().to_owned())
        }
        None => {
            problems.push("no Session".into());
            None
        }
    };
    (problems, session, ssrc)
}

/// The answer names the session the request named.
pub fn session_echo(request: &Request, reply: &Reply) -> Vec<String> {
    let Some(named) = request.header("Session") else {
        return vec![];
    };
    match reply
        .header("Session")
        .map(|v| v.split(';').next().unwrap().trim())
    {
        Some(id) if id == named => vec![],
        other => vec![format!("Session {other:?} answers session {named}")],
    }
}

/// An RTP-Info entry (RFC 2326 §12.33).
#[derive(Debug, Clone, PartialEq)]
pub struct RtpInfo {
    /// `url`.
    pub url: String,
    /// `seq`.
    pub seq: u16,
    /// `rtptime`.
    pub rtptime: u32,
}

/// PLAY: `Range: npt=START-` starting where asked (or at the key frame
/// before, never after; at 0 when 0 was asked), RTP-Info with one entry per
/// track set up, each with the track's SETUP URL, seq and rtptime.
pub fn play(request: &Request, reply: &Reply, set_up: &[String]) -> (Vec<String>, Vec<RtpInfo>) {
    let mut problems = session_echo(request, reply);
    let asked = request
        .header("Range")
        .and_then(npt_range)
        .map(|(start, _)| start);
    match reply.header("Range").and_then(npt_range) {
        Some((start, _)) => match asked {
            Some(asked) if start > asked + 0.0005 || (asked == 0.0 && start != 0.0) => {
                problems.push(format!("Range starts at {start}, the client asked {asked}"))
            }
            _ => {}
        },
        None => problems.push(format!(
            "Range {:?} is not npt=START-",
            reply.header("Range")
        )),
    }
    let mut entries = Vec::new();
    let Some(info) = reply.header("RTP-Info") else {
        problems.push("no RTP-Info".into());
        return (problems, entries);
    };
    for entry in info.split(',') {
        let mut url = None;
        let mut seq = None;
        let mut rtptime = None;
        for param in entry.split(';') {
            match param.trim().split_once('=') {
                Some(("url", v)) => url = Some(v.to_owned()),
                Some(("seq", v)) => seq = v.parse().ok(),
                Some(("rtptime", v)) => rtptime = v.parse().ok(),
                _ => problems.push(format!("RTP-Info parameter {param:?}")),
            }
        }
        match (url, seq, rtptime) {
            (Some(url), Some(seq), Some(rtptime)) => entries.push(RtpInfo { url, seq, rtptime }),
            _ => problems.push(format!(
                "RTP-Info entry {entry:?} lacks url, seq or rtptime"
            )),
        }
    }
    let urls: Vec<&str> = entries.iter().map(|e| e.url.as_str()).collect();
    let mut want: Vec<&str> = set_up.iter().map(String::as_str).collect();
    let mut got = urls.clone();
    want.sort_unstable();
    got.sort_unstable();
    if want != got {
        problems.push(format!(
            "RTP-Info urls {urls:?}, the tracks set up are {set_up:?}"
        ));
    }
    (problems, entries)
}

/// `npt=START-[END]` (RFC 2326 §3.6) as seconds.
pub fn npt_range(value: &str) -> Option<(f64, Option<f64>)> {
    let (start, end) = value.trim().strip_prefix("npt=")?.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        end => Some(end.parse().ok()?),
    };
    Some((start, end))
}

pub fn reply(headers: &[(&str, &str)], body: &str) -> Reply {
    Reply {
        status: 200,
        headers: headers
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        body: body.to_owned(),
    }
}

pub fn request(text: &str) -> Request {
    let t = super::transcript::Transcript::parse("t", &format!("# x\n>>> 200\n{text}")).unwrap();
    t.requests.into_iter().next().unwrap()
}

#[test]
fn setup_answers_must_echo_the_transport_and_give_a_session() {
    let tracks = ["rtsp://h:1/f/track0".to_owned()];
    let asked = request("SETUP rtsp://h:1/f/track0 RTSP/1.0\nCSeq: 3\nTransport: RTP/AVP;unicast;client_port=5000-5001\n");
    let good = reply(
        &[
            ("CSeq", "3"),
            (
                "Transport",
                "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=0A0B0C0D",
            ),
            ("Session", "ABC;timeout=65"),
        ],
        "",
    );
    let (problems, session, ssrc) = setup(&asked, &good, &tracks);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!((session.as_deref(), ssrc), (Some("ABC"), Some(0x0a0b0c0d)));
    let bad = reply(
        &[
            (
                "Transport",
                "RTP/AVP/TCP;unicast;client_port=5002-5003;server_port=6971-6972",
            ),
            ("Session", "ABC"),
        ],
        "",
    );
    // Lower transport, client_port, server_port, ssrc, timeout, interleaved.
    let (problems, _, _) = setup(&asked, &bad, &tracks);
    assert_eq!(problems.len(), 4, "{problems:?}");
    let (problems, _, _) = setup(&asked, &good, &["rtsp://h:1/f/track1".to_owned()]);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(cseq(&asked, &bad).len(), 1);
}

#[test]
fn play_answers_need_one_rtp_info_entry_per_track() {
    let set_up = [
        "rtsp://h:1/f/track0".to_owned(),
        "rtsp://h:1/f/track1".to_owned(),
    ];
    let asked = request("PLAY rtsp://h:1/f/ RTSP/1.0\nCSeq: 5\nSession: S\nRange: npt=1.5-\n");
    let info = "url=rtsp://h:1/f/track0;seq=1;rtptime=2,url=rtsp://h:1/f/track1;seq=3;rtptime=4";
    let good = reply(
        &[
            ("Session", "S;timeout=65"),
            ("Range", "npt=1.000-"),
            ("RTP-Info", info),
        ],
        "",
    );
    let (problems, entries) = play(&asked, &good, &set_up);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(entries[1].rtptime, 4);
    let one = "url=rtsp://h:1/f/track0;seq=1;rtptime=2";
    let bad = reply(
        &[("Session", "T"), ("Range", "npt=2-"), ("RTP-Info", one)],
        "",
    );
    // Session, a Range after the one asked, a track without an entry.
    assert_eq!(play(&asked, &bad, &set_up).0.len(), 3);
    let no_seq = reply(
        &[
            ("Session", "S"),
            ("Range", "npt=1-"),
            ("RTP-Info", "url=rtsp://h:1/f/track0"),
        ],
        "",
    );
    // The entry lacks seq and rtptime, so the track has none.
    assert_eq!(play(&asked, &no_seq, &set_up[..1]).0.len(), 2);
}

#[test]
fn describe_answers_need_a_base_a_type_and_tracks() {
    let sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=f\r\nt=0 0\r\na=range:npt=0-2.000\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track0\r\n";
    let length = sdp.len().to_string();
    let good = reply(
        &[
            ("Content-Base", "rtsp://h:1/f/"),
            ("Content-Type", "application/sdp"),
            ("Content-Length", &length),
        ],
        sdp,
    );
    let (problems, description) = describe(&good, "h:1");
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(description.unwrap().tracks, ["rtsp://h:1/f/track0"]);
    let no_range = sdp.replace("a=range:npt=0-2.000\r\n", "");
    let bad = reply(
        &[
            ("Content-Base", "rtsp://h:1/f/"),
            ("Content-Type", "text/plain"),
        ],
        &no_range,
    );
    // Content-Type, Content-Length, a=range.
    assert_eq!(describe(&bad, "h:1").0.len(), 3);
    assert!(describe(&good, "other:2").1.is_none());
    assert_eq!(resolve("rtsp://h/f", "track0"), "rtsp://h/track0");
    assert_eq!(resolve("rtsp://h/f/", "*"), "rtsp://h/f/");
}
