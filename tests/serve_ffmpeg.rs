//! `mediatool serve` with ffmpeg as the client: every fixture format over
//! UDP and TCP decodes whole, plus seeking, authentication and errors.

mod common;
mod serve_common;

use std::process::{Command, Output};

use serve_common::{framecrc_count, references, Reference, TestServer};

/// `ffmpeg -rtsp_transport T -i URL ... -f framecrc -` (every decoded frame,
/// timestamps passed through so none is dropped or duplicated).
fn ffmpeg(transport: &str, url: &str, before_input: &[&str]) -> Command {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-v", "error", "-rtsp_transport", transport])
        .args(before_input)
        .args(["-i", url, "-fps_mode", "passthrough", "-f", "framecrc", "-"]);
    command
}

/// stdout and stderr; stderr without the notice ffmpeg prints when another
/// client took the UDP port it tried first (it then takes another: many
/// clients start at once here).
fn text(output: &Output) -> (String, String) {
    let stderr: Vec<&str> = std::str::from_utf8(&output.stderr)
        .unwrap_or("")
        .lines()
        .filter(|l| !l.contains("bind failed: Address already in use"))
        .collect();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr.join("\n"),
    )
}

/// The `-rtsp_transport` and URL of fixture `name` reached `how`: one of
/// ffmpeg's transports over plain RTSP, or `rtsps` (RTSP over TLS, for
/// which ffmpeg offers only TCP interleaving), `https` (tunnelled through
/// the TLS port) or `http` (through the HTTP port).
fn source(server: &TestServer, how: &str, name: &str) -> (&'static str, String) {
    let at = |scheme: &str, port: u16| format!("{scheme}://127.0.0.1:{port}/{name}");
    match how {
        "rtsps" => ("tcp", at("rtsps", server.port_of("rtsps"))),
        "https" => ("https", at("rtsp", server.port_of("rtsps"))),
        "http" => ("http", at("rtsp", server.port_of("http"))),
        "udp" => ("udp", server.url(name)),
        "tcp" => ("tcp", server.url(name)),
        "udp_multicast" => ("udp_multicast", server.url(name)),
        _ => panic!("no way {how}"),
    }
}

/// Runs ffmpeg on every (fixture, way to reach it: see [`source`]) at once
/// (the files play in real time) and says which did not decode whole and
/// cleanly.
fn decode_concurrently(server: &TestServer, runs: &[(&Reference, &str)]) -> Vec<String> {
    let children: Vec<_> = runs
        .iter()
        .map(|&(r, how)| {
            let (t, url) = source(server, how, &r.name);
            let child = ffmpeg(t, &url, &[])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (r, how, child)
        })
        .collect();
    let mut failures = Vec::new();
    for (r, how, child) in children {
        let output = child.wait_with_output().unwrap();
        let (stdout, stderr) = text(&output);
        let got = framecrc_count(&stdout, r);
        if !output.status.success() || got != r.count || !stderr.trim().is_empty() {
            failures.push(format!(
                "{} over {how}: {got} of {} {} decoded, status {:?}, stderr: {stderr}",
                r.name,
                r.count,
                if r.is_pcm() { "samples" } else { "frames" },
                output.status.code()
            ));
        }
    }
    failures
}

#[test]
fn ffmpeg_decodes_every_fixture_over_udp_and_tcp() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let refs = references();
    assert!(refs.len() >= 10, "too few streamable fixtures: {refs:?}");
    let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let runs: Vec<(&Reference, &str)> = refs
        .iter()
        // ffmpeg has no depacketizer for L8 (RFC 3551 §4.5.10, 8-bit PCM):
        // "Decoder (codec none) not found". GStreamer plays it (serve_gstreamer).
        .filter(|r| r.codec != "pcm_u8")
        .flat_map(|r| ["udp", "tcp"].map(|t| (r, t)))
        .collect();
    server.assert_no_failures(&decode_concurrently(&server, &runs));
}

/// Multicast (`-rtsp_transport udp_multicast`): each session's tracks on
/// groups of their own.
#[test]
fn ffmpeg_decodes_over_multicast() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let (server, refs) = TestServer::multicast("239.255.78.0/24");
    let runs: Vec<(&Reference, &str)> = refs.iter().map(|r| (r, "udp_multicast")).collect();
    server.assert_no_failures(&decode_concurrently(&server, &runs));
}

/// RTSPS with SRTP (the default: SRTP interleaved inside TLS, ffmpeg
/// reading the key from the SDP's `a=crypto`), and RTSP tunnelled through
/// HTTPS (SRTP too) and HTTP (plain RTP).
#[test]
fn ffmpeg_decodes_srtp_over_rtsps_and_http_tunnels() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let (server, refs, _certs) = TestServer::secure(&[]);
    let runs: Vec<(&Reference, &str)> = refs
        .iter()
        .flat_map(|r| ["rtsps", "https", "http"].map(|how| (r, how)))
        .collect();
    server.assert_no_failures(&decode_concurrently(&server, &runs));
}

/// `--no-srtp`: plain RTP interleaved inside TLS, and through HTTPS.
#[test]
fn ffmpeg_decodes_plain_rtp_over_rtsps_with_no_srtp() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let (server, refs, _certs) = TestServer::secure(&["--no-srtp"]);
    let runs: Vec<(&Reference, &str)> = refs
        .iter()
        .flat_map(|r| ["rtsps", "https"].map(|how| (r, how)))
        .collect();
    server.assert_no_failures(&decode_concurrently(&server, &runs));
}

#[test]
fn ffmpeg_seeks_with_ss() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    // 2 s at 25 fps, a key frame every 12 frames (fixtures/generate.sh).
    let server = TestServer::start(&[("v.h264", "h264_baseline.h264")], &[]);
    let output = ffmpeg("tcp", &server.url("v.h264"), &["-ss", "1"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
    let frames = stdout.lines().filter(|l| !l.starts_with('#')).count();
    // ffmpeg asks for npt=1.000-: the server starts at the key frame before
    // it, ffmpeg drops what precedes 1 s, leaving the second half.
    assert_eq!(frames, 25, "{stdout}");
}

#[test]
fn ffmpeg_with_digest_credentials_and_without() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let server = TestServer::start(
        &[("clip.aac", "audio_48k_mono.aac")],
        &["--user", "alice:s3cret"],
    );
    let with = format!("rtsp://alice:s3cret@127.0.0.1:{}/clip.aac", server.port);
    let wrong = format!("rtsp://alice:guess@127.0.0.1:{}/clip.aac", server.port);
    let refs = references();
    let clip = refs
        .iter()
        .find(|r| r.name == "audio_48k_mono.aac")
        .unwrap();
    let children = [with, wrong, server.url("clip.aac")].map(|url| {
        ffmpeg("udp", &url, &[])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    });
    let [ok, wrong, anonymous] = children.map(|c| c.wait_with_output().unwrap());
    let (stdout, stderr) = text(&ok);
    assert!(ok.status.success() && stderr.is_empty(), "{stderr}");
    assert_eq!(framecrc_count(&stdout, clip), clip.count);
    for refused in [wrong, anonymous] {
        let (_, stderr) = text(&refused);
        assert!(!refused.status.success());
        assert!(stderr.contains("401"), "{stderr}");
    }
}

#[test]
fn ffmpeg_gets_404_for_missing_files() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let server = TestServer::start(&[("clip.aac", "audio_48k_mono.aac")], &[]);
    for path in ["missing.aac", "../etc/passwd", "%2e%2e/%2e%2e/etc/passwd"] {
        let output = ffmpeg("tcp", &server.url(path), &[]).output().unwrap();
        let (_, stderr) = text(&output);
        assert!(!output.status.success(), "{path}");
        assert!(stderr.contains("404"), "{path}: {stderr}");
    }
}

#[test]
fn ffmpeg_plays_after_garbage_and_a_stalled_client() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let server = TestServer::start(&[("clip.aac", "audio_48k_mono.aac")], &[]);
    let mut garbage = server.connect();
    garbage.send(b"\x00\xffGET / HTTP/1.1\r\n\x01\x02\r\n\r\n");
    assert_eq!(garbage.read_reply().unwrap().status, 400);
    // A client that sends half a request and then nothing stays connected
    // while ffmpeg plays.
    let mut stalled = server.connect();
    stalled.send(b"DESCRIBE rtsp://127.0.0.1/clip.aac RTSP/1.0\r\nCSe");
    let refs = references();
    let clip = refs
        .iter()
        .find(|r| r.name == "audio_48k_mono.aac")
        .unwrap();
    let output = ffmpeg("tcp", &server.url("clip.aac"), &[])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
    assert_eq!(framecrc_count(&stdout, clip), clip.count);
    drop(stalled);
}
