//! Helpers shared by the benchmarks: where their inputs live, how large the
//! large one is, how an input is made (a clip encoded once with ffmpeg,
//! repeated to the size wanted) and a process's peak memory.
#![allow(dead_code)] // each benchmark uses a subset

pub mod process;
pub mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `target/bench-data/`, created if needed: the benchmarks' inputs and outputs.
pub fn data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Size of the large input in megabytes: `MEDIATOOL_BENCH_MB`, default 500.
pub fn large_mb() -> u64 {
    std::env::var("MEDIATOOL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500)
}

/// `clip`, encoded once with `ffmpeg -f lavfi` and `ffmpeg_args` (inputs,
/// filters and encoder options) unless it exists already.
pub fn encoded_once(clip: &Path, ffmpeg_args: &[&str]) -> PathBuf {
    if !clip.exists() {
        eprintln!("encoding the base clip with ffmpeg (once)...");
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args(ffmpeg_args)
            .arg(clip)
            .status()
            .expect("ffmpeg is needed to make the benchmark input");
        assert!(status.success(), "ffmpeg failed");
    }
    clip.to_owned()
}

/// `file`: `clip` repeated until it holds at least `mb` megabytes (each
/// copy of an H.264 clip starts with SPS/PPS/IDR, so the result is one
/// valid stream); made once.
pub fn repeated(clip: &Path, file: PathBuf, mb: u64) -> PathBuf {
    let want = mb * 1_000_000;
    if std::fs::metadata(&file).is_ok_and(|m| m.len() >= want) {
        return file;
    }
    let data = std::fs::read(clip).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let mut written = 0u64;
    while written < want {
        out.write_all(&data).unwrap();
        written += data.len() as u64;
    }
    out.flush().unwrap();
    file
}

/// Reads the file once so every run sees a warm page cache.
pub fn warm(file: &Path) {
    let mut f = std::fs::File::open(file).unwrap();
    std::io::copy(&mut f, &mut std::io::sink()).unwrap();
}

/// `file`: `clip` (a container file) played in a loop and remuxed without
/// re-encoding (`ffmpeg -stream_loop N -c copy`) until it holds at least
/// `mb` megabytes; made once. Containers cannot be repeated by
/// concatenating bytes as elementary streams can.
pub fn looped(clip: &Path, file: PathBuf, mb: u64) -> PathBuf {
    let want = mb * 1_000_000;
    if std::fs::metadata(&file).is_ok_and(|m| m.len() >= want) {
        return file;
    }
    let clip_len = std::fs::metadata(clip).unwrap().len().max(1);
    let loops = want.div_ceil(clip_len).saturating_sub(1).to_string();
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-stream_loop",
            &loops,
        ])
        .arg("-i")
        .arg(clip)
        .args(["-map", "0", "-c", "copy"])
        .arg(&file)
        .status()
        .expect("ffmpeg is needed to make the benchmark input");
    assert!(status.success(), "ffmpeg failed");
    file
}

/// The peak resident memory of this process in kB (`VmHWM`).
pub fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmHWM in /proc/self/status (Linux only)")
}

/// Seconds `command` takes to run to success, `None` if it cannot run or
/// fails.
pub fn seconds_of(command: &mut Command) -> Option<f64> {
    let start = std::time::Instant::now();
    let out = command.output().ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}
