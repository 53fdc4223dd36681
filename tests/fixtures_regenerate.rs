//! The committed fixtures are what `fixtures/generate.sh` makes: with
//! `CI=true` (Debian's ffmpeg, whose encoders the script drives with one
//! thread and bit-exact flags) the script runs into a temporary directory
//! and every file must match the committed one byte for byte, with no file
//! missing on either side.
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
    let committed = files(&committed);
    let names = |m: &BTreeMap<PathBuf, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        names(&fresh),
        names(&committed),
        "the script and the committed fixtures name different files"
    );
    let differing: Vec<String> = fresh
        .iter()
        .filter(|(name, bytes)| committed[*name] != **bytes)
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
