//! `mediatool serve` and files cut short: the truncation policy (whole
//! frames served, a last frame cut short dropped) through the server, and
//! the start-up list naming exactly the files that DESCRIBE serves.

mod common;
mod serve_common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::Bounded;
use serve_common::TestServer;

/// The status DESCRIBE gets for `path` (relative to the served directory).
fn describe(server: &TestServer, path: &str) -> u16 {
    let mut client = server.connect();
    client
        .request(
            "DESCRIBE",
            &server.url(path),
            &[("Accept", "application/sdp")],
        )
        .status
}

/// The file URLs among the start-up lines (the first is the listener's).
fn listed(server: &TestServer) -> Vec<String> {
    server
        .lines
        .iter()
        .filter(|l| !l.ends_with('/'))
        .cloned()
        .collect()
}

/// Files whose last frame is cut short are listed at start-up, described
/// (200) and played whole: ffmpeg decodes as many frames over RTSP as
/// ffprobe decodes from the whole packets of the file, cleanly.
#[test]
fn files_with_a_last_frame_cut_short_are_listed_described_and_played() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let cases = [
        ("last_frame_cut.mp3", "bad/last_frame_cut.mp3"),
        ("cut_then_tagged.aac", "bad/cut_then_tagged.aac"),
        ("frame_cut.mp2", "bad/frame_cut.mp2"),
    ];
    let server = TestServer::start(&cases, &[]);
    let mut failures = Vec::new();
    for (name, fixture) in cases {
        let url = server.url(name);
        if !listed(&server).contains(&url) {
            failures.push(format!(
                "{name}: not listed at start-up: {:?}",
                server.lines
            ));
        }
        let status = describe(&server, name);
        if status != 200 {
            failures.push(format!("{name}: DESCRIBE answered {status}"));
        }
        let whole = common::ffprobe_whole_frames(&common::fixtures().join(fixture))
            .unwrap()
            .frames;
        let output = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-rtsp_transport", "tcp", "-i"])
            .arg(&url)
            .args(["-fps_mode", "passthrough", "-f", "framecrc", "-"])
            .output_bounded();
        let decoded = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .count() as u64;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() || decoded != whole || !stderr.trim().is_empty() {
            failures.push(format!(
                "{name}: ffmpeg decoded {decoded} of {whole} whole frames, status {:?}, \
                 stderr: {stderr}",
                output.status.code()
            ));
        }
    }
    server.assert_no_failures(&failures);
    // The server said once per reader what it dropped.
    let log = server.log();
    assert!(
        log.contains(
            "MPEG audio: last frame cut short at byte 5090 (needs 78 bytes, 40 remain): dropped"
        ),
        "{log}"
    );
    // And a reader's warnings while a session plays name the file played
    // (the playback's reads run in a `play{file=...}` log span).
    for (name, _) in cases {
        let named = log.lines().any(|l| {
            l.contains("WARN")
                && l.contains("play{file=")
                && l.contains(name)
                && l.contains("cut short")
        });
        assert!(named, "no playback warning naming {name}:\n{log}");
    }
}

/// Every file under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![PathBuf::from(dir)];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                files.push(relative.to_str().unwrap().to_owned());
            }
        }
    }
    files.sort();
    files
}

/// The start-up list names exactly what DESCRIBE serves: every fixture,
/// good and broken, the generator script, and a WAV in a codec without an
/// RTP payload format (GSM 6.10, which probe describes). Each listed file
/// gets 200; each file not listed gets 415 (or 404). The files are served
/// in batches under the list's cap (`LISTED_FILES`), so that every one is
/// either listed or not.
#[test]
fn the_startup_list_is_what_describe_serves() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let mut failures = Vec::new();
    let mut listed_files: Vec<String> = Vec::new();
    let all = files_under(&common::fixtures());
    for (batch, chunk) in all.chunks(BATCH).enumerate() {
        let dir = tempfile::tempdir().unwrap();
        for relative in chunk {
            let dest = dir.path().join(relative);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::copy(common::fixtures().join(relative), dest).unwrap();
        }
        if batch == 0 {
            let made = Command::new("ffmpeg")
                .args(["-v", "error", "-f", "lavfi", "-i"])
                .arg("sine=frequency=440:sample_rate=8000:duration=1")
                .args(["-ac", "1", "-c:a", "libgsm_ms"])
                .arg(dir.path().join("gsm.wav"))
                .status_bounded();
            assert!(made.success(), "ffmpeg could not make gsm.wav");
        }
        let files = files_under(dir.path());
        let server = TestServer::start_in(dir, &[]);
        let listed = listed(&server);
        assert!(
            !server.lines.iter().any(|l| l.starts_with("... and ")),
            "the list is capped: {:?}",
            server.lines
        );
        let mut served = 0;
        for file in &files {
            let status = describe(&server, file);
            let is_listed = listed.contains(&server.url(file));
            served += usize::from(is_listed);
            if is_listed {
                listed_files.push(file.clone());
            }
            match (is_listed, status) {
                (true, 200) | (false, 415 | 404) => {}
                (true, status) => {
                    failures.push(format!("{file}: listed, DESCRIBE answered {status}"))
                }
                (false, status) => {
                    failures.push(format!("{file}: not listed, DESCRIBE answered {status}"))
                }
            }
        }
        assert_eq!(
            listed.len(),
            served,
            "listed files that do not exist: {listed:?}"
        );
        server.assert_no_failures(&failures);
    }
    for expected in ["bad/last_frame_cut.mp3", "audio_44k_mono_vbri.mp3"] {
        assert!(
            listed_files.iter().any(|f| f == expected),
            "{expected}: {listed_files:?}"
        );
    }
    for refused in [
        "gsm.wav",
        "generate.sh",
        "bad/random.bin",
        "bad/header_cut.wav",
    ] {
        assert!(
            !listed_files.iter().any(|f| f == refused),
            "{refused}: {listed_files:?}"
        );
    }
}

/// Files served at once by `the_startup_list_is_what_describe_serves`:
/// fewer than the start-up list shows (`server::listener::LISTED_FILES`).
const BATCH: usize = 40;
