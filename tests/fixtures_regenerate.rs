//! The committed fixtures are what `fixtures/generate.sh` makes: with
//! `CI=true` (Debian's ffmpeg, whose encoders the script drives with one
//! thread and bit-exact flags) the script runs into a temporary directory
//! and every file must match the committed one byte for byte, with no file
//! missing on either side; a file with Opus audio may differ in its Opus
//! packets' bytes only (see [`all_but_opus_bytes`]).
//!
//! Off CI the test is skipped: another ffmpeg build writes other version
//! strings (x264's SEI, the `TSSE` tag of the MP3) and may encode
//! differently, so a mismatch there says nothing about the script.

mod common;

use common::Bounded;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every file under `dir` (recursively), by path relative to `dir`, with
/// its bytes; the generator script itself left out.
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "generate.sh") {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(path.strip_prefix(dir).unwrap().to_path_buf(), bytes);
            }
        }
    }
    out
}

/// ffprobe's `what` (`-show_streams`, `-show_entries ...`) of `file`,
/// with MD5 hashes of the data shown, as JSON.
fn ffprobe(file: &Path, what: &[&str]) -> serde_json::Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_data_hash", "MD5", "-of", "json"])
        .args(what)
        .arg(file)
        .output_bounded();
    assert!(out.status.success(), "ffprobe {}", file.display());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// What ffprobe says of `file`: its format, its streams (their codec
/// parameters and a hash of their headers), and its packets: stream,
/// times, flags, and the size and a hash of the bytes of every packet but
/// Opus ones; `None` for a file without Opus. libopus picks its code
/// by the CPU it runs on (SSE4.1, AVX, approximate reciprocals whose
/// results differ between processors), so its packets differ from one
/// machine to another with everything else the same: 2026-12-07 a fresh
/// machine made every Opus fixture with other packet bytes and every
/// other file byte for byte.
fn all_but_opus_bytes(file: &Path) -> Option<(serde_json::Value, Vec<String>)> {
    let mut headers = ffprobe(file, &["-show_format", "-show_streams"]);
    headers["format"]["filename"] = serde_json::Value::Null;
    let opus: Vec<u64> = headers["streams"]
        .as_array()?
        .iter()
        .filter(|s| s["codec_name"] == "opus")
        .filter_map(|s| s["index"].as_u64())
        .collect();
    if opus.is_empty() {
        return None;
    }
    let packets = ffprobe(
        file,
        &[
            "-show_entries",
            "packet=stream_index,pts,dts,duration,flags,size,data_hash",
        ],
    );
    let packets = packets["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let at = |key: &str| p[key].to_string();
            let when = [
                at("stream_index"),
                at("pts"),
                at("dts"),
                at("duration"),
                at("flags"),
            ];
            if p["stream_index"]
                .as_u64()
                .is_some_and(|i| opus.contains(&i))
            {
                when.join(",")
            } else {
                format!("{},{},{}", when.join(","), at("size"), at("data_hash"))
            }
        })
        .collect();
    Some((headers, packets))
}

#[test]
fn generate_sh_remakes_the_committed_fixtures_byte_for_byte() {
    if !std::env::var("CI").is_ok_and(|v| v == "true") {
        eprintln!("skipping: fixture regeneration is compared on CI only (CI=true)");
        return;
    }
    assert!(common::require_tool("ffmpeg") && common::require_tool("python3"));
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let out = tempfile::tempdir().unwrap();
    let run = Command::new("bash")
        .arg(committed.join("generate.sh"))
        .arg(out.path())
        .output_bounded();
    assert!(
        run.status.success(),
        "generate.sh failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let fresh = files(out.path());
    let fixtures = committed;
    let committed = files(&fixtures);
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&fresh),
        names(&committed),
        "the script and the committed fixtures name different files"
    );
    let differing: Vec<String> = fresh
        .iter()
        .filter(|(name, bytes)| committed[*name] != **bytes)
        .filter(|(name, _)| {
            let (made, kept) = (out.path().join(name), fixtures.join(name));
            match all_but_opus_bytes(&kept) {
                None => true,
                kept => all_but_opus_bytes(&made) != kept,
            }
        })
        .map(|(name, bytes)| {
            let old = &committed[name];
            let first = old.iter().zip(bytes).position(|(a, b)| a != b);
            format!(
                "{}: {} bytes committed, {} made, first difference at byte {}",
                name.display(),
                old.len(),
                bytes.len(),
                first.unwrap_or(old.len().min(bytes.len()))
            )
        })
        .collect();
    assert!(
        differing.is_empty(),
        "fixtures differ:\n{}",
        differing.join("\n")
    );
}
