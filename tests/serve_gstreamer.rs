//! `mediatool serve` with GStreamer's rtspsrc as the client: every fixture
//! format over UDP and TCP decodes whole (pipelines built and read by
//! `serve_common::gstreamer`).

mod common;
mod serve_common;

use std::path::PathBuf;
use std::process::{Child, Stdio};

use serve_common::gstreamer::{decoded, decoding_branch, ended_cleanly};
use serve_common::{references, Reference, TestServer};

/// Pipelines run at once.
const CONCURRENT_CLIENTS: usize = 8;

/// gst-launch-1.0 running `pipeline`, its stderr piped.
fn launch(pipeline: &str) -> Child {
    common::gst_launch()
        .args(pipeline.split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn gstreamer_decodes_every_fixture_over_udp_and_tcp() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let refs = references();
    let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let runs: Vec<(&Reference, &str)> = refs
        .iter()
        // Debian's GStreamer 1.22 has no AV1 depayloader (rtpav1depay
        // came with 1.24): AV1 is checked with ffmpeg and retina.
        .filter(|r| !r.has_codec("av1"))
        .flat_map(|r| ["udp", "tcp"].map(|protocol| (r, protocol)))
        .collect();
    server.assert_no_failures(&decode_in_chunks(&server, &runs));
}

/// RTSPS with SRTP (the default; rtspsrc reads the key from the SDP's
/// `a=key-mgmt`, MIKEY) interleaved inside TLS and over UDP, RTSP tunnelled
/// through HTTPS (SRTP too) and HTTP (plain RTP). Over TLS, rtspsrc
/// (1.22) now and then sends an interleaved frame header without its
/// packet just before its PAUSE or TEARDOWN; the server skips it
/// (src/rtsp/framing.rs), and this test is what caught it (two of about
/// 40 runs failed with the client's `Parse error` before).
#[test]
fn gstreamer_decodes_srtp_over_rtsps_and_http_tunnels() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let (server, refs, _certs) = TestServer::secure(&[]);
    let runs: Vec<(&Reference, &str)> = refs
        .iter()
        .flat_map(|r| ["rtsps", "rtsps-udp", "rtspsh", "rtsph"].map(|how| (r, how)))
        .collect();
    server.assert_no_failures(&decode_in_chunks(&server, &runs));
}

/// `ended_cleanly` lets by rtspsrc's teardown races and nothing else: a
/// GLib warning about a handler disconnected twice only with status 0,
/// any other warning or error never.
#[test]
fn ended_cleanly_lets_by_rtspsrc_teardown_races_only() {
    use std::os::unix::process::ExitStatusExt;
    let output = |code: i32, stderr: &str| std::process::Output {
        status: std::process::ExitStatus::from_raw(code << 8),
        stdout: Vec::new(),
        stderr: stderr.as_bytes().to_vec(),
    };
    let twice = "\n(gst-launch-1.0:20408): GLib-GObject-WARNING **: 17:59:24.560: \
        ../../../gobject/gsignal.c:2772: instance '0x561eb014e020' has no handler with id '8'\n";
    let eof =
        "ERROR: from element /GstPipeline:pipeline0/GstRTSPSrc:src: Could not write to resource.\n\
        Additional debug info:\nCould not send message. (Received end-of-file)\n";
    assert!(ended_cleanly(&output(0, "")));
    assert!(ended_cleanly(&output(0, twice)));
    assert!(ended_cleanly(&output(1, eof)));
    assert!(ended_cleanly(&output(1, &format!("{twice}{eof}"))));
    assert!(!ended_cleanly(&output(1, "")));
    assert!(!ended_cleanly(&output(1, twice)));
    assert!(!ended_cleanly(&output(
        0,
        "(gst-launch-1.0:1): GLib-GObject-CRITICAL **: g_object_ref: assertion failed\n"
    )));
    assert!(!ended_cleanly(&output(
        0,
        &format!("{twice}WARNING: from element /GstPipeline:pipeline0/GstDecodeBin: Delayed linking failed.\n")
    )));
    assert!(!ended_cleanly(&output(
        1,
        &format!("{eof}ERROR: from element /GstPipeline:pipeline0/avdec_h264: Internal data stream error.\n")
    )));
}

/// Multicast (`protocols=udp-mcast`): each session's tracks on groups of
/// their own.
#[test]
fn gstreamer_decodes_over_multicast() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let (server, refs) = TestServer::multicast("239.255.79.0/24");
    let runs: Vec<(&Reference, &str)> = refs.iter().map(|r| (r, "udp-mcast")).collect();
    server.assert_no_failures(&decode_in_chunks(&server, &runs));
}

/// rtspsrc's properties reaching fixture `name` `how`: over plain RTSP
/// with `protocols=how`, or through `rtsps` (RTSP over TLS), `rtsph`
/// (tunnelled through the HTTP port) or `rtspsh` (tunnelled through the TLS
/// port), each with RTP interleaved, or `rtsps-udp` (RTSP over TLS, the
/// media over UDP); the certificate is self-signed.
fn source(server: &TestServer, how: &str, name: &str) -> String {
    let at = |scheme: &str, port: u16, protocols: &str| {
        format!(
            "location={scheme}://127.0.0.1:{port}/{name} protocols={protocols} tls-validation-flags=0"
        )
    };
    match how {
        "rtsps" | "rtspsh" => at(how, server.port_of("rtsps"), "tcp"),
        "rtsps-udp" => at("rtsps", server.port_of("rtsps"), "udp"),
        "rtsph" => at(how, server.port_of("http"), "tcp"),
        _ => format!("location={} protocols={how}", server.url(name)),
    }
}

/// Runs rtspsrc on every (fixture, way to reach it: see [`source`]), a
/// few at a time, and says which did not decode whole and cleanly.
fn decode_in_chunks(server: &TestServer, runs: &[(&Reference, &str)]) -> Vec<String> {
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    // A few clients at a time: each decodes in real time on threads of its
    // own, and forty of them at once saturate a 2-core machine. (rtspsrc
    // over UDP ends its RTP source as soon as RTCP BYE arrives, dropping
    // what that source's thread has not read yet: the server's BYE_GRACE
    // is what keeps the last packets of a saturated client.)
    for chunk in runs.chunks(CONCURRENT_CLIENTS) {
        let children: Vec<_> = chunk
            .iter()
            .map(|&(r, protocol)| {
                let outs: Vec<PathBuf> = r
                    .tracks
                    .iter()
                    .map(|t| {
                        let file =
                            format!("{}.{}.{protocol}", r.name.replace('/', "_"), t.position);
                        out.path().join(file)
                    })
                    .collect();
                let branches: Vec<String> = r
                    .tracks
                    .iter()
                    .zip(&outs)
                    .map(|(t, o)| {
                        let caps = format!(
                            "application/x-rtp,encoding-name={}",
                            t.encoding.to_ascii_uppercase()
                        );
                        decoding_branch("src", &caps, &t.kind, o)
                    })
                    .collect();
                let pipeline = format!(
                    "rtspsrc {} latency=1000 name=src {}",
                    source(server, protocol, &r.name),
                    branches.join(" ")
                );
                (r, protocol, outs, launch(&pipeline), pipeline)
            })
            .collect();
        for (r, how, outs, child, pipeline) in children {
            let output =
                common::wait_with_output_bounded(child, &format!("gst-launch-1.0 {pipeline}"));
            let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
            // Mono samples for audio (ffprobe's frames times samples a frame).
            let counts: Vec<(u64, u64, &str)> = r
                .tracks
                .iter()
                .zip(&outs)
                .map(|(t, o)| {
                    let got = decoded(&t.kind, o);
                    (got, t.samples_or_frames(), t.codec.as_str())
                })
                .collect();
            // GStreamer's Vorbis decoder is not sample exact over RTP: it
            // drops output where the packets' timestamps restart its clock
            // (as with its own payloader, tests/payload_audio.rs), 4096
            // samples of 88640 here; it must never give more than the file
            // holds.
            let whole = |&(got, expected, codec): &(u64, u64, &str)| match codec {
                "vorbis" => got <= expected && got > expected * 9 / 10,
                _ => got == expected,
            };
            if !counts.iter().all(whole) || !ended_cleanly(&output) {
                let decoded: Vec<String> = counts
                    .iter()
                    .map(|(got, expected, codec)| {
                        format!("{codec} {got} decoded, expected {expected}")
                    })
                    .collect();
                failures.push(format!(
                    "{} via {how}: {}, status {:?}, stderr: {stderr}",
                    r.name,
                    decoded.join(", "),
                    output.status.code()
                ));
            }
        }
    }
    failures
}
