//! `mediatool serve` with ffmpeg as the client: every fixture format over
//! UDP and TCP decodes whole, plus seeking, authentication and errors.

mod common;
mod serve_common;

use std::process::{Command, Output};

use common::Bounded;
use serve_common::{framecrc_count, references, Reference, Stream, TestServer};

/// `ffmpeg -rtsp_transport T -i URL -map 0 ... -f framecrc -` (every
/// decoded frame of every stream, timestamps passed through so none is
/// dropped or duplicated).
fn ffmpeg(transport: &str, url: &str, before_input: &[&str]) -> Command {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-nostdin", "-v", "error", "-rtsp_transport", transport])
        .args(before_input)
        // Every stream (ffmpeg's default picks one per media type).
        .args(["-i", url, "-map", "0", "-fps_mode", "passthrough"])
        .args(["-f", "framecrc", "-"]);
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

/// Taken by the tests that run many real-time clients at once: run
/// together on a 2-core machine they starve each other's UDP sockets
/// (multicast receivers lost half their packets so).
static MANY_CLIENTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
/// cleanly, every track of the fixture (ffmpeg sets up and decodes each).
fn decode_concurrently(server: &TestServer, runs: &[(&Reference, &str)]) -> Vec<String> {
    let _alone = MANY_CLIENTS.lock().unwrap_or_else(|e| e.into_inner());
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
        let output = common::wait_with_output_bounded(child, &format!("ffmpeg {how} {}", r.name));
        let (stdout, stderr) = text(&output);
        let counts: Vec<(u64, &Stream)> = r
            .tracks
            .iter()
            .map(|s| (framecrc_count(&stdout, s), s))
            .collect();
        let whole = counts.iter().all(|&(got, s)| got == s.count);
        let quiet = stderr.trim().is_empty() || common::DAMAGED_FIXTURES.contains(&&*r.name);
        if !output.status.success() || !whole || !quiet {
            let decoded: Vec<String> = counts
                .iter()
                .map(|(got, s)| {
                    format!(
                        "{} {got} of {} {}",
                        s.codec,
                        s.count,
                        if s.is_pcm() { "samples" } else { "frames" }
                    )
                })
                .collect();
            failures.push(format!(
                "{} over {how}: {}, status {:?}, stderr: {stderr}",
                r.name,
                decoded.join(", "),
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
        // 8-bit WAV is in: served as L16 (ffmpeg has no depacketizer for
        // L8, "Decoder (codec none) not found"; `pcm8: l8` is for others).
        // ffmpeg has none for AV1 (RTP AV1 came with FFmpeg 7; Debian's is 5.1):
        // retina and our depacketizer check it (serve_retina).
        .filter(|r| !r.has_codec("av1"))
        .flat_map(|r| ["udp", "tcp"].map(|t| (r, t)))
        .collect();
    assert!(
        runs.iter().any(|(r, _)| r.has_codec("pcm_u8")),
        "no 8-bit WAV among {refs:?}"
    );
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
    let output = ffmpeg("tcp", &server.url("v.h264"), &["-ss", "1"]).output_bounded();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
    let frames = stdout.lines().filter(|l| !l.starts_with('#')).count();
    // ffmpeg asks for npt=1.000-: the server starts at the key frame before
    // it, ffmpeg drops what precedes 1 s, leaving the second half.
    assert_eq!(frames, 25, "{stdout}");
}

/// `-ss` in Matroska with video and audio: ffmpeg asks for npt=1.000-,
/// the server starts at the key frame before it (0.021 s) with the audio
/// frame containing that time, and ffmpeg drops what precedes 1 s. The
/// video frames it keeps are those it keeps seeking in the file itself
/// (same timestamps and checksums, `-copyts`), the audio frames as many.
#[test]
fn ffmpeg_seeks_with_ss_in_matroska() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let fixture = "mkv_h264_aac_bframes.mkv";
    let server = TestServer::start(&[("movie.mkv", fixture)], &[]);
    let decode = |input: &str, transport: &[&str]| {
        let output = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error"])
            .args(transport)
            .args([
                "-ss",
                "1",
                "-i",
                input,
                "-copyts",
                "-fps_mode",
                "passthrough",
            ])
            .args(["-f", "framecrc", "-"])
            .output_bounded();
        let (stdout, stderr) = text(&output);
        assert!(output.status.success() && stderr.is_empty(), "{stderr}");
        let lines: Vec<String> = stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        let video: Vec<String> = lines
            .iter()
            .filter(|l| l.starts_with("0,"))
            .cloned()
            .collect();
        let audio = lines.iter().filter(|l| l.starts_with("1,")).count();
        (video, audio)
    };
    let local = common::fixtures().join(fixture);
    let (video, audio) = decode(local.to_str().unwrap(), &[]);
    assert_eq!(video.len(), 25);
    let (over_rtsp, audio_over_rtsp) =
        decode(&server.url("movie.mkv"), &["-rtsp_transport", "tcp"]);
    assert_eq!(over_rtsp, video);
    assert_eq!(audio_over_rtsp, audio);
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
    let [ok, wrong, anonymous] =
        children.map(|c| common::wait_with_output_bounded(c, "ffmpeg with credentials"));
    let (stdout, stderr) = text(&ok);
    assert!(ok.status.success() && stderr.is_empty(), "{stderr}");
    assert_eq!(framecrc_count(&stdout, clip.first()), clip.first().count);
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
        let output = ffmpeg("tcp", &server.url(path), &[]).output_bounded();
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
    let output = ffmpeg("tcp", &server.url("clip.aac"), &[]).output_bounded();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success() && stderr.is_empty(), "{stderr}");
    assert_eq!(framecrc_count(&stdout, clip.first()), clip.first().count);
    drop(stalled);
}
