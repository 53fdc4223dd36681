//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test crate uses a different subset

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The hostile fixtures in `fixtures/bad/` that must still play, with a
/// warning: every loop over the media fixtures covers them too.
pub const PLAYABLE_BAD_FIXTURES: [&str; 1] = ["bad/wav_lying_size.wav"];

/// Every media fixture a reader plays: the files at the top of `fixtures/`
/// (not the generator script, not `bad/`) and [`PLAYABLE_BAD_FIXTURES`].
pub fn media_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "sh" && e != "md"))
        .chain(PLAYABLE_BAD_FIXTURES.iter().map(|f| fixtures().join(f)))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no media fixtures in {}",
        fixtures().display()
    );
    files
}

/// Media fixtures that no RTP payload format carries (E-AC-3: RFC 4598 is
/// not implemented): `probe` describes them, `packetize` refuses them and
/// `serve` answers 415 (tests/packetize_cli.rs checks both); the loops that
/// stream every fixture leave them out.
pub const UNSTREAMABLE_FIXTURES: [&str; 1] = ["audio_44k_5.1.eac3"];

/// [`media_fixtures`] but [`UNSTREAMABLE_FIXTURES`]: the fixtures `serve`
/// and `packetize` stream.
pub fn streamable_fixtures() -> Vec<PathBuf> {
    media_fixtures()
        .into_iter()
        .filter(|f| !UNSTREAMABLE_FIXTURES.iter().any(|u| f.ends_with(u)))
        .collect()
}

/// Whether ffprobe finds more than one stream in `path`: the serve tests'
/// references (`serve_common`) describe one track a file, and the files
/// of several are played by tests/serve_mpeg.rs.
pub fn is_multitrack(path: &Path) -> bool {
    ffprobe_streams(path).len() > 1
}

/// The subcommands of `mediatool`, as its `--help` lists them (clap's
/// built-in `help` left out): derived from the clap model, so a new
/// subcommand is seen by every test that loops over them.
pub fn subcommands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .split("\n\n")
        .next()
        .unwrap_or("");
    // Entries are indented two spaces; wrapped descriptions more.
    let names: Vec<String> = listed
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 5, "too few subcommands in --help: {help}");
    names
}

/// Whether an external tool (ffprobe, gst-launch-1.0, tshark...) can be run.
/// Missing tools skip the test on a developer machine, but fail it when
/// `CI=true`: CI installs them and must never skip silently.
pub fn require_tool(tool: &str) -> bool {
    let found = Command::new(tool).arg("-version").output().is_ok()
        || Command::new(tool).arg("--version").output().is_ok();
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required when CI=true but was not found on PATH");
        }
        eprintln!("skipping: {tool} not found (set CI=true to make this a failure)");
    }
    found
}

/// `ffprobe -count_frames -show_streams` of a file: its streams, with exact
/// frame counts (`nb_read_frames`). Panics when ffprobe fails.
pub fn ffprobe_streams(path: &Path) -> Vec<Value> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// The samples ffprobe decodes from each audio stream of `file`, by
/// stream index.
pub fn ffprobe_decoded_samples(file: &Path) -> std::collections::HashMap<usize, u64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "quiet",
            "-show_entries",
            "frame=stream_index,nb_samples",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", file.display());
    let mut samples = std::collections::HashMap::new();
    // One line a frame, `index,nb_samples` (video frames: `index,`),
    // blank lines between.
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut fields = line.split(',');
        let index: usize = fields.next().unwrap().parse().unwrap();
        match fields.next().unwrap_or("") {
            "" => {}
            count => *samples.entry(index).or_insert(0) += count.parse::<u64>().unwrap(),
        }
    }
    samples
}
