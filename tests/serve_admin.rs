//! The admin listener of `mediatool serve` (issue 13): `/metrics` parsed by
//! a strict OpenMetrics text parser (written here, independent of the
//! server's encoder) with counters that move by exactly what a client
//! received; the sessions API with real ffmpeg clients, and a kick that
//! ends one with RTCP BYE; `/readyz` during a drain; reloads on SIGHUP and
//! `POST /api/v1/reload`, good and bad; access per path (401, 403, 200);
//! and hostile input on the admin port.

mod common;
mod serve_common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Bounded;
use serve_common::{digest_authorization, free_port, rtcp_packet_types, Item, Rtsp, TestServer};

/// What the admin port answered.
#[derive(Debug)]
struct Http {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Http {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// Sends `raw` to the admin port and reads the answer to its end (every
/// answer closes the connection).
fn http_raw(port: u16, raw: &[u8]) -> Http {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    stream.write_all(raw).unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP head");
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1.1 "))
        .and_then(|l| l.get(..3))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {head}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let http = Http {
        status,
        headers,
        body: body.to_owned(),
    };
    let head_only = raw.starts_with(b"HEAD ");
    if let (Some(length), false) = (http.header("Content-Length"), head_only) {
        assert_eq!(
            length.parse::<usize>().unwrap(),
            http.body.len(),
            "{http:?}"
        );
    }
    http
}

fn http(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> Http {
    let extra: String = headers
        .iter()
        .map(|(n, v)| format!("{n}: {v}\r\n"))
        .collect();
    http_raw(
        port,
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n").as_bytes(),
    )
}

fn get(port: u16, path: &str) -> Http {
    http(port, "GET", path, &[])
}

/// A server of `files` with its admin listener on a free port; returns it
/// and that port.
fn server_with_admin(files: &[(&str, &str)], extra: &[&str]) -> (TestServer, u16) {
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let mut args = vec!["--admin", admin.as_str()];
    args.extend_from_slice(extra);
    (TestServer::start(files, &args), port)
}

/// As [`server_with_admin`], serving `dir` with the YAML `config`.
fn configured_with_admin(dir: tempfile::TempDir, yaml: &str) -> (TestServer, u16) {
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let server = TestServer::start_in_with_config(dir, yaml, &["--admin", &admin]);
    (server, port)
}

// ---------------------------------------------------------------------------
// A strict parser of the OpenMetrics text format (OpenMetrics 1.0 §4), the
// subset Prometheus scrapes: it fails on anything out of place.

#[derive(Debug, Default)]
struct Family {
    kind: String,
    help: bool,
}

#[derive(Debug)]
struct Exposition {
    families: BTreeMap<String, Family>,
    /// Series (name with labels, as printed) to value.
    samples: BTreeMap<String, f64>,
}

impl Exposition {
    fn value(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in {:#?}", self.samples.keys()))
    }
}

fn valid_name(name: &str, colon: bool) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// A sample: its name, its labels and its value.
type Sample = (String, Vec<(String, String)>, f64);

/// Splits `name{labels} value` into the name, its labels and the value.
fn parse_sample(line: &str) -> Result<Sample, String> {
    let bad = |why: &str| format!("{why}: {line}");
    let name_end = line.find(['{', ' ']).ok_or_else(|| bad("no value"))?;
    let name = &line[..name_end];
    if !valid_name(name, true) {
        return Err(bad("bad metric name"));
    }
    let mut rest = &line[name_end..];
    let mut labels: Vec<(String, String)> = Vec::new();
    if let Some(mut inner) = rest.strip_prefix('{') {
        while !inner.starts_with('}') {
            let (label, after) = inner.split_once("=\"").ok_or_else(|| bad("bad label"))?;
            if !valid_name(label, false) || labels.iter().any(|(l, _)| l == label) {
                return Err(bad("bad or repeated label name"));
            }
            let mut value = String::new();
            let mut chars = after.char_indices();
            let end = loop {
                match chars.next() {
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        _ => return Err(bad("bad escape")),
                    },
                    Some((i, '"')) => break i,
                    Some((_, c)) => value.push(c),
                    None => return Err(bad("unclosed label value")),
                }
            };
            labels.push((label.to_owned(), value));
            inner = &after[end + 1..];
            if let Some(next) = inner.strip_prefix(',') {
                inner = next;
            } else if !inner.starts_with('}') {
                return Err(bad("bad label list"));
            }
        }
        rest = &inner[1..];
    }
    let value = rest
        .strip_prefix(' ')
        .ok_or_else(|| bad("no space before the value"))?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|_| bad("bad value"))?,
    };
    Ok((name.to_owned(), labels, value))
}

/// The suffixes a sample of a family of `kind` may add to its name.
fn suffixes(kind: &str) -> &'static [&'static str] {
    match kind {
        "counter" => &["_total", "_created"],
        "histogram" => &["_bucket", "_count", "_sum", "_created"],
        "info" => &["_info"],
        _ => &[""],
    }
}

fn parse_exposition(text: &str) -> Result<Exposition, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .ok_or("the exposition does not end with `# EOF`")?;
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut samples = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut closed: Vec<String> = Vec::new();
    // Histogram buckets by series (without `le`): (le, count) in order.
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for line in body.lines() {
        if line.is_empty() {
            return Err("empty line".into());
        }
        if let Some(meta) = line.strip_prefix("# ") {
            let mut parts = meta.splitn(3, ' ');
            let (keyword, name) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let rest = parts.next().unwrap_or("");
            if !valid_name(name, true) {
                return Err(format!("bad family name: {line}"));
            }
            if current.as_deref() != Some(name) {
                if closed.iter().any(|c| c == name) || families.contains_key(name) {
                    return Err(format!("family {name} interleaved with another"));
                }
                if let Some(previous) = current.take() {
                    closed.push(previous);
                }
                current = Some(name.to_owned());
            }
            let family = families.entry(name.to_owned()).or_default();
            match keyword {
                "TYPE" => {
                    const KINDS: [&str; 8] = [
                        "counter",
                        "gauge",
                        "histogram",
                        "gaugehistogram",
                        "stateset",
                        "info",
                        "summary",
                        "unknown",
                    ];
                    if !KINDS.contains(&rest) || !family.kind.is_empty() {
                        return Err(format!("bad or repeated TYPE: {line}"));
                    }
                    family.kind = rest.to_owned();
                }
                "HELP" => family.help = true,
                "UNIT" => {
                    if !name.ends_with(&format!("_{rest}")) {
                        return Err(format!("a unit the name does not end with: {line}"));
                    }
                }
                _ => return Err(format!("unknown comment: {line}")),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(format!("bad comment: {line}"));
        }
        let (name, labels, value) = parse_sample(line)?;
        let family_name = current
            .as_deref()
            .ok_or_else(|| format!("sample before any TYPE: {line}"))?;
        let family = &families[family_name];
        let suffix = name
            .strip_prefix(family_name)
            .ok_or_else(|| format!("{name} outside its family {family_name}"))?;
        if !suffixes(&family.kind).contains(&suffix) {
            return Err(format!(
                "{name}: suffix {suffix:?} not of a {}",
                family.kind
            ));
        }
        if family.kind == "counter" && (value < 0.0 || value.is_nan()) {
            return Err(format!("negative counter: {line}"));
        }
        let printed: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
        let series = if labels.is_empty() {
            name.clone()
        } else {
            format!("{name}{{{}}}", printed.join(","))
        };
        if samples.insert(series.clone(), value).is_some() {
            return Err(format!("series {series} twice"));
        }
        if suffix == "_bucket" {
            let le = labels
                .iter()
                .find(|(k, _)| k == "le")
                .ok_or_else(|| format!("bucket without le: {line}"))?;
            let le: f64 = match le.1.as_str() {
                "+Inf" => f64::INFINITY,
                v => v.parse().map_err(|_| format!("bad le: {line}"))?,
            };
            let others: Vec<&String> = printed.iter().filter(|l| !l.starts_with("le=")).collect();
            let key = format!("{family_name}{others:?}");
            buckets.entry(key).or_default().push((le, value));
        }
    }
    for (family, series) in &buckets {
        let ordered = series
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
        if !ordered || series.last().map(|b| b.0) != Some(f64::INFINITY) {
            return Err(format!(
                "buckets of {family} not cumulative up to +Inf: {series:?}"
            ));
        }
    }
    for (name, family) in &families {
        if family.kind.is_empty() || !family.help {
            return Err(format!("family {name} without TYPE or HELP"));
        }
        if !name.starts_with("mediatool_") {
            return Err(format!("family {name} without the mediatool_ prefix"));
        }
    }
    Ok(Exposition { families, samples })
}

#[test]
fn the_parser_is_strict() {
    let good = "# HELP mediatool_a x\n# TYPE mediatool_a counter\nmediatool_a_total{k=\"v\\\"\"} 1\n# EOF\n";
    let parsed = parse_exposition(good).unwrap();
    assert_eq!(parsed.value("mediatool_a_total{k=\"v\"\"}"), 1.0);
    for bad in [
        "# TYPE mediatool_a counter\nmediatool_a_total 1\n",
        "# HELP mediatool_a x\n# TYPE mediatool_a counter\nmediatool_a 1\n# EOF\n",
        "# HELP mediatool_a x\n# TYPE mediatool_a counter\nmediatool_a_total -1\n# EOF\n",
        "# HELP mediatool_a x\n# TYPE mediatool_a gauge\nmediatool_a{k=v} 1\n# EOF\n",
        "# HELP mediatool_a x\n# TYPE mediatool_a gauge\nmediatool_a 1\nmediatool_a 2\n# EOF\n",
        "# HELP mediatool_a x\n# TYPE mediatool_a gauge\nmediatool_a x\n# EOF\n",
        "# HELP a x\n# TYPE a gauge\na 1\n# EOF\n",
        "mediatool_a 1\n# EOF\n",
        "# HELP mediatool_h x\n# TYPE mediatool_h histogram\nmediatool_h_bucket{le=\"1\"} 2\n\
         mediatool_h_bucket{le=\"+Inf\"} 1\n# EOF\n",
    ] {
        assert!(parse_exposition(bad).is_err(), "{bad}");
    }
}

/// Scrapes `/metrics`, checking the content type and the format.
fn scrape(port: u16) -> Exposition {
    let answer = get(port, "/metrics");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(
        answer
            .header("Content-Type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{answer:?}"
    );
    parse_exposition(&answer.body).unwrap_or_else(|e| panic!("{e}\n{}", answer.body))
}

// ---------------------------------------------------------------------------

/// What a client read of one interleaved session to its RTCP BYE.
#[derive(Debug, Default)]
struct Received {
    rtp_packets: u64,
    rtp_bytes: u64,
    rtcp_packets: u64,
}

/// Sets `url` up interleaved, plays it and reads to the RTCP BYE.
fn play_and_count(client: &mut Rtsp, url: &str) -> Received {
    let setup = client.request(
        "SETUP",
        url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    let play = client.request("PLAY", url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200, "{play:?}");
    let mut received = Received::default();
    loop {
        match client.read_item().expect("the stream to end with BYE") {
            Item::Frame(0, packet) => {
                received.rtp_packets += 1;
                received.rtp_bytes += packet.len() as u64;
            }
            Item::Frame(1, packet) => {
                received.rtcp_packets += 1;
                if rtcp_packet_types(&packet).contains(&203) {
                    return received;
                }
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn metrics_parse_and_count_exactly_what_a_session_received() {
    let (server, admin) = server_with_admin(&[("clip.aac", "audio_48k_mono.aac")], &[]);
    let before = scrape(admin);
    let names: Vec<&str> = before.families.keys().map(String::as_str).collect();
    for family in [
        "mediatool_connections",
        "mediatool_connections_accepted",
        "mediatool_sessions",
        "mediatool_rtp_sent_packets",
        "mediatool_rtp_sent_bytes",
        "mediatool_rtcp_sent_packets",
        "mediatool_rtcp_received_packets",
        "mediatool_rtcp_reported_lost_packets",
        "mediatool_rtcp_jitter_seconds",
        "mediatool_auth_failures",
        "mediatool_sessions_reclaimed",
        "mediatool_stalled_disconnects",
        "mediatool_files_described",
        "mediatool_process_cpu_seconds",
        "mediatool_process_resident_memory_bytes",
    ] {
        assert!(names.contains(&family), "{family} missing from {names:?}");
    }
    assert_eq!(before.value("mediatool_rtp_sent_packets_total"), 0.0);
    let url = server.url("clip.aac");
    let mut client = server.connect();
    let describe = client.request("DESCRIBE", &url, &[]);
    assert_eq!(describe.status, 200);
    let playing = scrape(admin);
    assert_eq!(
        playing.value("mediatool_connections{transport=\"rtsp\"}"),
        1.0
    );
    let received = play_and_count(&mut client, &url);
    assert!(received.rtp_packets > 100, "{received:?}");
    // The playback task adds its last batch as it hands it over; the BYE
    // came in that batch.
    std::thread::sleep(Duration::from_millis(200));
    let after = scrape(admin);
    assert!(after.families.contains_key("mediatool_requests"));
    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(
        moved("mediatool_rtp_sent_packets_total"),
        received.rtp_packets as f64
    );
    assert_eq!(
        moved("mediatool_rtp_sent_bytes_total"),
        received.rtp_bytes as f64
    );
    assert_eq!(
        moved("mediatool_rtcp_sent_packets_total"),
        received.rtcp_packets as f64
    );
    for method in ["DESCRIBE", "SETUP", "PLAY"] {
        let series = format!("mediatool_requests_total{{method=\"{method}\",status=\"200\"}}");
        assert_eq!(after.value(&series), 1.0, "{series}");
    }
    // DESCRIBE, SETUP and PLAY each described the file: one scan, then
    // the cache.
    assert_eq!(
        after.value("mediatool_files_described_total{cache=\"miss\"}"),
        1.0
    );
    assert_eq!(
        after.value("mediatool_files_described_total{cache=\"hit\"}"),
        1.0
    );
    assert_eq!(
        after.value("mediatool_sessions{state=\"ended\",transport=\"tcp\"}"),
        1.0
    );
    assert!(after.value("mediatool_process_resident_memory_bytes") > 1e6);
    drop(client);
}

/// A WAV file of `seconds` of 16-bit mono PCM at 8 kHz (a quiet ramp).
fn tone_wav(seconds: u32) -> Vec<u8> {
    const RATE: u32 = 8_000;
    let data_len = RATE * seconds * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * 2).to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend((0..data_len / 2).flat_map(|i| ((i % 256) as i16).to_le_bytes()));
    wav
}

/// A directory holding `long.wav` (`seconds` long) under `sub`.
fn long_wav_dir(sub: &str, seconds: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let at = dir.path().join(sub);
    std::fs::create_dir_all(&at).unwrap();
    std::fs::write(at.join("long.wav"), tone_wav(seconds)).unwrap();
    dir
}

/// Polls `until` every 100 ms for up to `limit`.
fn eventually<T>(limit: Duration, mut until: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = until() {
            return Some(found);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ffmpeg_reading(url: &str, transport: &str) -> std::process::Child {
    Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-nostdin",
            "-rtsp_transport",
            transport,
            "-i",
            url,
        ])
        .args(["-f", "null", "-"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg")
}

fn wait_exit(child: &mut std::process::Child, limit: Duration) -> Option<std::process::ExitStatus> {
    eventually(limit, || child.try_wait().unwrap())
}

#[test]
fn the_sessions_api_lists_ffmpeg_sessions_and_a_kick_ends_one_with_bye() {
    let dir = long_wav_dir("radio", 30);
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let server = TestServer::start_in(dir, &["--admin", &admin]);
    let url = server.url("radio/long.wav");
    let mut tcp = ffmpeg_reading(&url, "tcp");
    let mut udp = ffmpeg_reading(&url, "udp");
    let sessions = eventually(Duration::from_secs(15), || {
        let json = get(port, "/api/v1/sessions").json();
        let list = json["sessions"].as_array()?.clone();
        let playing = list.iter().filter(|s| s["state"] == "playing").count();
        (playing == 2).then_some(list)
    })
    .unwrap_or_else(|| panic!("two playing sessions; log:\n{}", server.log()));
    let mut transports: Vec<&str> = sessions
        .iter()
        .map(|s| s["transport"].as_str().unwrap())
        .collect();
    transports.sort_unstable();
    assert_eq!(transports, ["tcp", "udp"]);
    for session in &sessions {
        assert_eq!(session["path"], "radio/long.wav", "{session}");
        assert_eq!(session["client_address"], "127.0.0.1");
        assert!(session["url"]
            .as_str()
            .unwrap()
            .ends_with("/radio/long.wav"));
        assert!(session.get("user").is_none(), "{session}");
        assert!(session["position_s"].as_f64().unwrap() < 30.0);
    }
    // The counts grow while it plays.
    let id = sessions.iter().find(|s| s["transport"] == "tcp").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = get(port, &format!("/api/v1/sessions/{id}")).json();
    std::thread::sleep(Duration::from_millis(600));
    let later = get(port, &format!("/api/v1/sessions/{id}")).json();
    assert!(
        later["packets_sent"].as_u64() > first["packets_sent"].as_u64(),
        "{first} {later}"
    );
    assert!(later["position_s"].as_f64() > first["position_s"].as_f64());
    // The stream lists it with one session... two: both clients.
    let streams = get(port, "/api/v1/streams").json();
    let stream = &streams["streams"][0];
    assert_eq!(stream["path"], "radio/long.wav");
    assert_eq!(stream["format"], "wav");
    assert_eq!(stream["sessions"], 2);
    assert_eq!(stream["duration_s"], 30.0);
    assert_eq!(stream["tracks"][0]["codec"], "pcm_s16le");
    assert_eq!(stream["tracks"][0]["sample_rate"], 8000);
    assert_eq!(streams["truncated"], false);
    // Kick the TCP one: ffmpeg sees the BYE and ends, well before the
    // file's 30 s; the UDP one plays on.
    let kicked = Instant::now();
    let kick = http(port, "DELETE", &format!("/api/v1/sessions/{id}"), &[]);
    assert_eq!(kick.status, 204, "{kick:?}");
    assert_eq!(kick.header("Content-Length"), None);
    let status = wait_exit(&mut tcp, Duration::from_secs(10))
        .unwrap_or_else(|| panic!("ffmpeg did not end on the BYE\n{}", server.log()));
    assert!(status.success(), "{status:?}");
    assert!(kicked.elapsed() < Duration::from_secs(10));
    assert!(
        udp.try_wait().unwrap().is_none(),
        "the other client ended too"
    );
    let left = get(port, "/api/v1/sessions").json();
    let left = left["sessions"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0]["transport"], "udp");
    assert_eq!(get(port, &format!("/api/v1/sessions/{id}")).status, 404);
    assert_eq!(
        http(port, "DELETE", &format!("/api/v1/sessions/{id}"), &[]).status,
        404
    );
    let metrics = scrape(port);
    assert_eq!(metrics.value("mediatool_sessions_kicked_total"), 1.0);
    let _ = udp.kill();
    let _ = udp.wait();
}

/// A receiver report (RFC 3550 §6.4.2) from `reporter` about `ssrc`:
/// fraction lost 64/256, `lost` packets in all, `jitter` in timestamp units.
fn receiver_report(reporter: u32, ssrc: u32, lost: u32, jitter: u32) -> Vec<u8> {
    let mut rr = vec![0x81, 201, 0, 7];
    rr.extend_from_slice(&reporter.to_be_bytes());
    rr.extend_from_slice(&ssrc.to_be_bytes());
    rr.extend_from_slice(&((64 << 24) | lost).to_be_bytes());
    rr.extend_from_slice(&1000u32.to_be_bytes());
    rr.extend_from_slice(&jitter.to_be_bytes());
    rr.extend_from_slice(&[0; 8]);
    rr
}

#[test]
fn receiver_reports_reach_the_api_and_the_metrics() {
    let dir = long_wav_dir("", 10);
    let port = free_port();
    let admin = format!("127.0.0.1:{port}");
    let server = TestServer::start_in(dir, &["--admin", &admin]);
    let url = server.url("long.wav");
    let (rtp, rtcp) = serve_common::udp_pair();
    let rtp_port = rtp.local_addr().unwrap().port();
    let mut client = server.connect();
    let transport = format!("RTP/AVP;unicast;client_port={rtp_port}-{}", rtp_port + 1);
    let setup = client.request("SETUP", &url, &[("Transport", &transport)]);
    assert_eq!(setup.status, 200, "{setup:?}");
    let chosen = setup.header("Transport").unwrap().to_owned();
    let field = |name: &str| {
        chosen
            .split(';')
            .find_map(|f| f.strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {chosen}"))
            .to_owned()
    };
    let ssrc = u32::from_str_radix(&field("ssrc="), 16).unwrap();
    let server_rtcp: u16 = field("server_port=")
        .split('-')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let play = client.request("PLAY", &url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200);
    let before = scrape(port);
    // 8 kHz audio: 80 timestamp units of jitter are 10 ms.
    for (lost, jitter) in [(3, 40), (7, 80)] {
        rtcp.send_to(
            &receiver_report(0x1234, ssrc, lost, jitter),
            ("127.0.0.1", server_rtcp),
        )
        .unwrap();
    }
    let session = eventually(Duration::from_secs(5), || {
        let json = get(port, "/api/v1/sessions").json();
        let session = json["sessions"][0].clone();
        (session["rtcp_packets_received"] == 2).then_some(session)
    })
    .unwrap_or_else(|| panic!("the reports did not arrive\n{}", server.log()));
    let track = &session["tracks"][0];
    assert_eq!(track["ssrc"], format!("{ssrc:08X}"), "{session}");
    assert_eq!(track["packets_lost"], 7, "{session}");
    assert_eq!(track["fraction_lost"], 0.25, "{session}");
    assert_eq!(track["jitter_s"], 0.01, "{session}");
    assert_eq!(session["transport"], "udp");
    let after = scrape(port);
    let moved = |series: &str| after.value(series) - before.value(series);
    assert_eq!(moved("mediatool_rtcp_received_packets_total"), 2.0);
    assert_eq!(moved("mediatool_rtcp_reported_lost_packets_total"), 7.0);
    assert_eq!(moved("mediatool_rtcp_jitter_seconds_count"), 2.0);
    assert!((moved("mediatool_rtcp_jitter_seconds_sum") - 0.015).abs() < 1e-9);
    assert_eq!(
        moved("mediatool_rtcp_jitter_seconds_bucket{le=\"0.0064\"}"),
        1.0,
        "5 ms falls under 6.4 ms, 10 ms does not"
    );
    drop(rtp);
}

#[test]
fn readyz_is_503_during_a_drain_while_a_playing_session_finishes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::fixtures().join("wav_u8_8k_mono.wav"),
        dir.path().join("clip.wav"),
    )
    .unwrap();
    let (mut server, admin) = configured_with_admin(dir, "drain_timeout: 30\n");
    let url = server.url("clip.wav");
    assert_eq!(get(admin, "/readyz").status, 200);
    let mut idle = server.connect();
    let mut player = server.connect();
    let describe = player.request("DESCRIBE", &url, &[]);
    assert_eq!(describe.status, 200);
    let play_url = url.clone();
    let reader = std::thread::spawn(move || {
        let received = play_and_count(&mut player, &play_url);
        (received, Instant::now())
    });
    std::thread::sleep(Duration::from_millis(500));
    let pid = server.pid();
    let signalled = Instant::now();
    assert!(Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status_bounded()
        .success());
    let draining = eventually(Duration::from_secs(2), || {
        let ready = get(admin, "/readyz");
        (ready.status == 503).then_some(ready)
    })
    .expect("/readyz to answer 503");
    assert_eq!(draining.json()["status"], "draining");
    assert_eq!(get(admin, "/healthz").status, 200);
    // No new session on a connection already open; no new connection.
    let refused = idle.request("DESCRIBE", &url, &[]);
    assert_eq!(refused.status, 503, "{refused:?}");
    let port = server.port;
    assert!(eventually(Duration::from_secs(2), || {
        TcpStream::connect(("127.0.0.1", port))
            .is_err()
            .then_some(())
    })
    .is_some());
    assert_eq!(scrape(admin).value("mediatool_draining"), 1.0);
    // The playing session finishes its 3 s, BYE included.
    let (received, ended) = reader.join().unwrap();
    assert!(received.rtp_packets > 50, "{received:?}");
    let status = server
        .wait_exit(Duration::from_secs(10))
        .expect("the server to stop once drained");
    assert!(status.success(), "{status:?}");
    let stopped = Instant::now();
    assert!(
        ended.duration_since(signalled) > Duration::from_secs(2),
        "the session ended early: the drain did not wait"
    );
    assert!(
        stopped.duration_since(signalled) < Duration::from_secs(8),
        "the server waited past the session's end"
    );
    let log = server.log();
    assert!(log.contains("draining") && log.contains("drained"), "{log}");
}

/// A connection authenticated as `user` with digest (MD5) for every request.
struct Authed {
    rtsp: Rtsp,
    user: &'static str,
    password: &'static str,
    challenge: String,
}

impl Authed {
    fn new(server: &TestServer, url: &str, user: &'static str, password: &'static str) -> Authed {
        let mut rtsp = server.connect();
        let first = rtsp.request("DESCRIBE", url, &[]);
        assert_eq!(first.status, 401);
        let challenge = first
            .all("WWW-Authenticate")
            .into_iter()
            .find(|c| c.contains("MD5"))
            .unwrap()
            .to_owned();
        Authed {
            rtsp,
            user,
            password,
            challenge,
        }
    }

    fn request(
        &mut self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
    ) -> serve_common::Reply {
        let auth = digest_authorization(&self.challenge, self.user, self.password, method, url);
        let mut all = headers.to_vec();
        all.push(("Authorization", &auth));
        self.rtsp.request(method, url, &all)
    }
}

/// An interleaved session read on a thread: packets counted, the longest
/// gap between two measured, until stopped.
struct Reading {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, Duration, Option<String>)>,
}

impl Reading {
    fn start(mut client: Authed, url: &str) -> Reading {
        let setup = client.request(
            "SETUP",
            url,
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        );
        assert_eq!(setup.status, 200, "{setup:?}");
        let play = client.request("PLAY", url, &[("Session", &setup.session())]);
        assert_eq!(play.status, 200, "{play:?}");
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut packets = 0;
            let mut last = Instant::now();
            let mut longest = Duration::ZERO;
            while !flag.load(Ordering::Relaxed) {
                match client.rtsp.read_item() {
                    Some(Item::Frame(0, _)) => {
                        packets += 1;
                        longest = longest.max(last.elapsed());
                        last = Instant::now();
                    }
                    Some(Item::Frame(1, p)) if rtcp_packet_types(&p).contains(&203) => {
                        return (packets, longest, Some("BYE".to_owned()));
                    }
                    Some(_) => {}
                    None => return (packets, longest, Some("connection closed".to_owned())),
                }
            }
            (packets, longest, None)
        });
        Reading { stop, thread }
    }

    fn finish(self) -> (u64, Duration, Option<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

fn signal(server: &TestServer, name: &str) {
    assert!(Command::new("kill")
        .args([&format!("-{name}"), &server.pid().to_string()])
        .status_bounded()
        .success());
}

/// Waits until the server's log has `needle` `count` times.
fn logged(server: &TestServer, needle: &str, count: usize) {
    let found = eventually(Duration::from_secs(5), || {
        (server.log().matches(needle).count() >= count).then_some(())
    });
    assert!(
        found.is_some(),
        "{needle:?} x{count} not logged:\n{}",
        server.log()
    );
}

fn config_path(server: &TestServer) -> std::path::PathBuf {
    server.dir.path().with_extension("yaml")
}

#[test]
fn sighup_with_a_new_user_lets_that_user_in_and_keeps_playing() {
    let dir = long_wav_dir("", 30);
    let (server, admin) = configured_with_admin(dir, "users: [alice:wonderland]\n");
    let url = server.url("long.wav");
    let alice = Authed::new(&server, &url, "alice", "wonderland");
    let reading = Reading::start(alice, &url);
    // Bob is not a user yet.
    let mut bob = Authed::new(&server, &url, "bob", "builder");
    assert_eq!(bob.request("DESCRIBE", &url, &[]).status, 401);
    std::fs::write(
        config_path(&server),
        "users: [alice:wonderland, bob:builder]\nreclaim: 30\n",
    )
    .unwrap();
    signal(&server, "HUP");
    logged(&server, "reload: configuration applied", 1);
    let mut bob = Authed::new(&server, &url, "bob", "builder");
    let describe = bob.request("DESCRIBE", &url, &[]);
    assert_eq!(describe.status, 200, "{describe:?}");
    let setup = bob.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert!(
        setup.header("Session").unwrap().contains("timeout=30"),
        "{setup:?}"
    );
    // Alice played on through the reload, without a gap.
    std::thread::sleep(Duration::from_millis(500));
    let (packets, longest, ended) = reading.finish();
    assert_eq!(ended, None, "alice's session ended");
    // 8 kHz 16-bit mono: about 11 packets a second.
    assert!(
        packets >= 15 && longest < Duration::from_millis(500),
        "{packets} {longest:?}"
    );
    assert_eq!(
        scrape(admin).value("mediatool_reloads_total{result=\"applied\"}"),
        1.0
    );
}

#[test]
fn a_bad_config_on_reload_is_refused_and_the_old_one_stays() {
    let dir = long_wav_dir("", 5);
    let (server, admin) = configured_with_admin(dir, "users: [alice:wonderland]\n");
    let url = server.url("long.wav");
    for (n, bad) in [
        "users: [alice:wonderland, bob:builder]\nreclam: 5\n",
        "users: [bob:builder]\npaths: [{path: 'a/**', read: [carol]}]\n",
        "users: [bob:builder\n",
    ]
    .into_iter()
    .enumerate()
    {
        std::fs::write(config_path(&server), bad).unwrap();
        signal(&server, "HUP");
        logged(&server, "reload refused", n + 1);
        // Exactly one error line per refusal.
        let errors = server.log().lines().filter(|l| l.contains("ERROR")).count();
        assert_eq!(errors, n + 1, "{}", server.log());
        let mut bob = Authed::new(&server, &url, "bob", "builder");
        assert_eq!(bob.request("DESCRIBE", &url, &[]).status, 401, "{bad}");
        let mut alice = Authed::new(&server, &url, "alice", "wonderland");
        assert_eq!(alice.request("DESCRIBE", &url, &[]).status, 200, "{bad}");
    }
    // The API refuses the same way, saying why.
    let refused = http(admin, "POST", "/api/v1/reload", &[]);
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(
        refused.json()["error"].as_str().unwrap().contains("line"),
        "{refused:?}"
    );
    let metrics = scrape(admin);
    assert_eq!(
        metrics.value("mediatool_reloads_total{result=\"refused\"}"),
        4.0
    );
    assert_eq!(
        metrics.value("mediatool_reloads_total{result=\"applied\"}"),
        0.0
    );
    // A good one through the API: applied, with what waits for a restart.
    std::fs::write(
        config_path(&server),
        "users: [bob:builder]\nrtp_port: 7100\npcm8: l8\n",
    )
    .unwrap();
    let applied = http(admin, "POST", "/api/v1/reload", &[("Content-Length", "0")]);
    assert_eq!(applied.status, 200, "{applied:?}");
    assert_eq!(
        applied.json()["restart_needed"],
        serde_json::json!(["rtp_port", "pcm8"])
    );
    let mut bob = Authed::new(&server, &url, "bob", "builder");
    assert_eq!(bob.request("DESCRIBE", &url, &[]).status, 200);
}

#[test]
fn per_path_rules_give_401_403_and_200() {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["public", "cams"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
        std::fs::copy(
            common::fixtures().join("wav_u8_8k_mono.wav"),
            dir.path().join(sub).join("a.wav"),
        )
        .unwrap();
    }
    std::fs::copy(
        common::fixtures().join("wav_u8_8k_mono.wav"),
        dir.path().join("other.wav"),
    )
    .unwrap();
    // A link from the open subtree into the protected one.
    std::os::unix::fs::symlink(
        dir.path().join("cams/a.wav"),
        dir.path().join("public/into-cams.wav"),
    )
    .unwrap();
    let yaml = "users: [alice:wonderland, bob:builder]\n\
                paths:\n\
                \x20 - {path: 'public/**', read: anonymous}\n\
                \x20 - {path: 'cams/**', read: [alice]}\n";
    let (server, admin) = configured_with_admin(dir, yaml);
    let open = |path: &str| server.connect().request("DESCRIBE", &server.url(path), &[]);
    let public = open("public/a.wav");
    assert_eq!(public.status, 200, "{public:?}");
    let cams = open("cams/a.wav");
    assert_eq!(cams.status, 401);
    assert!(cams.header("WWW-Authenticate").is_some());
    assert_eq!(open("public/into-cams.wav").status, 401);
    assert_eq!(open("other.wav").status, 401);
    // Anonymous: a session on the open subtree, set up and played.
    let mut anonymous = server.connect();
    let url = server.url("public/a.wav");
    let setup = anonymous.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200);
    let play = anonymous.request("PLAY", &url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200);
    for (user, password, path, status) in [
        ("bob", "builder", "cams/a.wav", 403),
        ("bob", "builder", "public/into-cams.wav", 403),
        ("alice", "wonderland", "cams/a.wav", 200),
        ("alice", "wonderland", "public/into-cams.wav", 200),
        ("bob", "builder", "other.wav", 200),
        ("bob", "builder", "public/a.wav", 200),
        ("bob", "wrong", "public/a.wav", 200),
        ("bob", "wrong", "cams/a.wav", 401),
    ] {
        let url = server.url(path);
        let mut client = Authed::new(&server, &server.url("cams/a.wav"), user, password);
        let reply = client.request("DESCRIBE", &url, &[]);
        assert_eq!(reply.status, status, "{user} {path}: {reply:?}");
    }
    // A track URL is the file's: the rule holds for SETUP too.
    let mut bob = Authed::new(&server, &server.url("cams/a.wav"), "bob", "builder");
    let track = format!("{}/track0", server.url("cams/a.wav"));
    let setup = bob.request(
        "SETUP",
        &track,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 403);
    let metrics = scrape(admin);
    assert_eq!(
        metrics.value("mediatool_auth_failures_total{reason=\"forbidden\"}"),
        3.0
    );
    assert!(metrics.value("mediatool_auth_failures_total{reason=\"missing\"}") >= 3.0);
}

/// `max_sessions_per_client` refuses the session past it with 503 and
/// `Retry-After`; a reload raising it lets the next one in, and the
/// sessions set up before stay.
#[test]
fn max_sessions_per_client_gives_503_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::fixtures().join("wav_u8_8k_mono.wav"),
        dir.path().join("a.wav"),
    )
    .unwrap();
    let server = TestServer::start_in_with_config(dir, "max_sessions_per_client: 2\n", &[]);
    let url = server.url("a.wav");
    let mut clients: Vec<Rtsp> = Vec::new();
    let setup = |client: &mut Rtsp| {
        client.request(
            "SETUP",
            &url,
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        )
    };
    for n in 0..3 {
        let mut client = server.connect();
        let answer = setup(&mut client);
        if n < 2 {
            assert_eq!(answer.status, 200, "{answer:?}");
        } else {
            assert_eq!(answer.status, 503, "{answer:?}");
            assert!(answer.header("Retry-After").is_some(), "{answer:?}");
        }
        clients.push(client);
    }
    std::fs::write(config_path(&server), "max_sessions_per_client: 3\n").unwrap();
    signal(&server, "HUP");
    logged(&server, "reload: configuration applied", 1);
    let answer = setup(&mut clients[2]);
    assert_eq!(answer.status, 200, "{answer:?}");
    let mut fourth = server.connect();
    assert_eq!(setup(&mut fourth).status, 503);
}

#[test]
fn the_admin_port_survives_bad_input() {
    let (server, admin) = server_with_admin(&[("clip.aac", "audio_48k_mono.aac")], &[]);
    assert_eq!(get(admin, "/healthz").json()["status"], "ok");
    assert_eq!(get(admin, "/nope").status, 404);
    assert_eq!(get(admin, "/api/v1/sessions/a/b").status, 404);
    let wrong = http(admin, "POST", "/metrics", &[]);
    assert_eq!(wrong.status, 405);
    assert_eq!(wrong.header("Allow"), Some("GET, HEAD"));
    assert_eq!(http(admin, "DELETE", "/healthz", &[]).status, 405);
    assert_eq!(get(admin, "/api/v1/reload").status, 405);
    let head = http(admin, "HEAD", "/healthz", &[]);
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    // A head too large is answered 431 and closed; garbage 400.
    let huge = format!(
        "GET /metrics HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let mut stream = TcpStream::connect(("127.0.0.1", admin)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = stream.write_all(huge.as_bytes());
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    assert!(
        String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 431 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(
        http_raw(admin, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n").status,
        400
    );
    assert_eq!(
        http_raw(
            admin,
            b"GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n"
        )
        .status,
        400
    );
    // Connections are bounded: 100 silent ones, and the port still
    // answers once they are gone (the extra ones are closed at once).
    let silent: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(("127.0.0.1", admin)).unwrap())
        .collect();
    let mut closed = 0;
    for mut stream in silent.iter().skip(64) {
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut byte = [0u8; 1];
        if matches!(stream.read(&mut byte), Ok(0) | Err(_)) {
            closed += 1;
        }
    }
    assert_eq!(closed, 36, "connections past the bound are closed");
    drop(silent);
    let healthy = eventually(Duration::from_secs(5), || {
        let mut stream = TcpStream::connect(("127.0.0.1", admin)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        stream.write_all(b"GET /healthz HTTP/1.1\r\n\r\n").ok()?;
        let mut text = String::new();
        stream.read_to_string(&mut text).ok()?;
        text.starts_with("HTTP/1.1 200").then_some(())
    });
    assert!(healthy.is_some());
    // RTSP is unaffected.
    let mut client = server.connect();
    assert_eq!(client.request("OPTIONS", &server.url(""), &[]).status, 200);
}

#[test]
fn admin_users_guard_all_but_the_probes() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, admin) = configured_with_admin(dir, "admin_users: [ops:s3cret]\n");
    assert_eq!(get(admin, "/healthz").status, 200);
    assert_eq!(get(admin, "/readyz").status, 200);
    for path in ["/metrics", "/api/v1/sessions", "/api/v1/streams"] {
        let refused = get(admin, path);
        assert_eq!(refused.status, 401, "{path}");
        let challenges: Vec<&str> = refused
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("WWW-Authenticate"))
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(
            challenges.iter().any(|c| c.starts_with("Basic ")),
            "{challenges:?}"
        );
        assert!(
            challenges.iter().any(|c| c.starts_with("Digest ")),
            "{challenges:?}"
        );
    }
    use base64::Engine as _;
    let basic = |credentials: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    };
    let good = basic("ops:s3cret");
    assert_eq!(
        http(admin, "GET", "/metrics", &[("Authorization", &good)]).status,
        200
    );
    let bad = basic("ops:guess");
    assert_eq!(
        http(admin, "GET", "/metrics", &[("Authorization", &bad)]).status,
        401
    );
    // An unknown path is 404 whoever asks; a wrong method 405.
    assert_eq!(get(admin, "/secret").status, 404);
}
