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
/// warning: every loop over the media fixtures covers them too. A WAV whose
/// data size lies; files whose last frame is cut short (the truncation
/// policy serves their whole frames and drops the cut one).
pub const PLAYABLE_BAD_FIXTURES: [&str; 5] = [
    "bad/wav_lying_size.wav",
    "bad/frame_cut.mp2",
    "bad/last_frame_cut.mp3",
    "bad/last_frame_cut.aac",
    "bad/cut_then_tagged.aac",
];

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

/// One packet as ffprobe lists it.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Its file offset, as the demuxer reports it (after junk that it
    /// skipped, not always where the packet's bytes are).
    pub pos: u64,
    /// Its size.
    pub size: u64,
    /// Its first bytes (up to 16), from ffprobe's hex dump.
    pub head: Vec<u8>,
}

/// A decoded frame as ffprobe lists it: its packet's file offset, its
/// samples.
type DecodedFrame = (u64, u64);

/// ffprobe's packets and decoded frames of the first audio stream of
/// `path`, in one run; `None` when ffprobe cannot read the file.
fn ffprobe_packets_and_frames(path: &Path) -> Option<(Vec<Packet>, Vec<DecodedFrame>)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-of",
            "json",
            "-show_data",
        ])
        .args([
            "-show_entries",
            "packet=pos,size,data:frame=pkt_pos,nb_samples",
        ])
        .arg(path)
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let number = |item: &Value, key: &str| -> u64 {
        let value = &item[key];
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("{}: ffprobe entry without {key}: {item}", path.display()))
    };
    // "\n00000000: fff1 4c40 ...  ..L@": the hex groups of the first line.
    let head = |item: &Value| -> Vec<u8> {
        let dump = item["data"].as_str().unwrap_or_default();
        let line = dump.trim_start().lines().next().unwrap_or_default();
        let hex = line.split_once(": ").map_or("", |(_, rest)| rest);
        let hex: String = hex
            .split("  ")
            .next()
            .unwrap_or_default()
            .split(' ')
            .collect();
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    let (mut packets, mut frames) = (Vec::new(), Vec::new());
    for item in json["packets_and_frames"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("packet") => packets.push(Packet {
                pos: number(item, "pos"),
                size: number(item, "size"),
                head: head(item),
            }),
            Some("frame") => frames.push((number(item, "pkt_pos"), number(item, "nb_samples"))),
            other => panic!("{}: unexpected ffprobe entry {other:?}", path.display()),
        }
    }
    Some((packets, frames))
}

/// ffprobe's packets of the audio stream of `path`.
pub fn ffprobe_packets(path: &Path) -> Vec<Packet> {
    ffprobe_packets_and_frames(path)
        .unwrap_or_else(|| panic!("ffprobe failed on {}", path.display()))
        .0
}

/// The length an MPEG audio or ADTS frame header at the start of `bytes`
/// states.
pub fn stated_frame_len(bytes: &[u8]) -> Option<u64> {
    mediatool::codec::adts::AdtsHeader::parse(bytes)
        .map(|h| h.frame_len)
        .or_else(|| {
            mediatool::codec::mpeg_audio::FrameHeader::parse(bytes)
                .ok()
                .map(|h| h.frame_len)
        })
        .map(|n| n as u64)
}

/// What ffprobe decodes from the whole packets of an MPEG audio or ADTS
/// stream. FFmpeg's MP3 decoder also decodes a last frame cut short by the
/// end of the file (the bytes present, zeros beyond: `nb_read_frames`
/// counts it), which the truncation policy drops; its AAC decoder rejects
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WholeFrames {
    /// Frames decoded from whole packets.
    pub frames: u64,
    /// Their samples (per channel), after the decoder's trimming.
    pub samples: u64,
    /// ffprobe listed a packet cut short by the end of the file.
    pub cut: bool,
}

/// MPEG audio and ADTS files, whose frames state their lengths (so a cut
/// one is told from the whole ones).
pub fn is_audio_elementary_stream(path: &std::path::Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("mp3" | "mp2" | "aac")
    )
}

/// [`WholeFrames`] of the audio stream of `path`; `None` when ffprobe
/// cannot read the file at all.
pub fn ffprobe_whole_frames(path: &Path) -> Option<WholeFrames> {
    let (packets, decoded) = ffprobe_packets_and_frames(path)?;
    // Only the last packet can be cut short: the header ffprobe dumps
    // states more bytes than the packet has, or is itself cut (shorter
    // than the 7 bytes of an ADTS header, unparsable).
    let cut = packets.last().filter(|p| match stated_frame_len(&p.head) {
        Some(len) => len > p.size,
        None if p.size < 7 => true,
        None => panic!("{}: no frame header in {p:?}", path.display()),
    });
    let whole = decoded
        .iter()
        .filter(|(pos, _)| cut.is_none_or(|cut| cut.pos != *pos));
    Some(WholeFrames {
        frames: whole.clone().count() as u64,
        samples: whole.map(|(_, samples)| samples).sum(),
        cut: cut.is_some(),
    })
}
