//! Probe throughput and memory on a large H.264 elementary stream, side by
//! side with ffprobe parsing the same file (`-count_packets`, no decoding).
//!
//! Run: `cargo bench --bench probe` (MEDIATOOL_BENCH_MB sets the large
//! file's size, default 500). The stream is a 720p 8 Mbit/s clip with
//! B-frames encoded once with ffmpeg and repeated (each repetition starts
//! with SPS/PPS/IDR, so the result is one valid stream); it lives in
//! `target/bench-data/`.
//!
//! Figures: input scanned per second (warm page cache) and the peak resident
//! memory of a process that does nothing but `mediatool::media::inspect`,
//! for a small and a large file: memory must not grow with file size.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::{data_dir, encoded_once, large_mb, peak_rss_kb, repeated, warm};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(Path::new(&args[i + 1]));
    }
    let large_mb = large_mb();
    let dir = data_dir();
    let clip = base_clip(&dir);
    println!(
        "probe benchmark: H.264 Annex B, 1280x720, 8 Mbit/s with B-frames, repeated {}",
        clip.display()
    );
    println!(
        "{:>9} {:>10} {:>10} {:>12} {:>12} {:>10}",
        "size MB", "frames", "ours s", "ours MB/s", "peak RSS MB", "ffprobe MB/s"
    );
    for mb in [large_mb / 10, large_mb] {
        let file = repeated(&clip, dir.join(format!("probe-{mb}MB.264")), mb);
        let size = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
        warm(&file);
        let out = Command::new(std::env::current_exe().unwrap())
            .arg("--child")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let fields: Vec<&str> = text.split_whitespace().collect();
        let (frames, secs, rss_kb): (u64, f64, f64) = (
            fields[0].parse().unwrap(),
            fields[1].parse().unwrap(),
            fields[2].parse().unwrap(),
        );
        let peer =
            ffprobe_seconds(&file).map_or_else(|| "n/a".to_owned(), |s| format!("{:.0}", size / s));
        println!(
            "{size:>9.0} {frames:>10} {secs:>10.3} {:>12.0} {:>12.1} {peer:>10}",
            size / secs,
            rss_kb / 1024.0
        );
    }
}

/// Child process: inspect one file, print frames, seconds and peak RSS (kB).
fn child(file: &Path) {
    let start = Instant::now();
    let info = mediatool::media::inspect(file).expect("inspect");
    let secs = start.elapsed().as_secs_f64();
    println!("{} {secs} {}", info.stats[0].frames, peak_rss_kb());
}

/// A 40 s 720p clip at 8 Mbit/s with B-frames (a typical broadcast-like
/// stream: ~40 KB per frame, so per-frame work counts), encoded once.
fn base_clip(dir: &Path) -> PathBuf {
    encoded_once(
        &dir.join("clip720p-8M-bframes.264"),
        &[
            "-i",
            "testsrc2=size=1280x720:rate=25:duration=40",
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-bf",
            "3",
            "-b:v",
            "8M",
            "-g",
            "50",
        ],
    )
}

/// Seconds ffprobe takes to parse (not decode) every packet of the file.
fn ffprobe_seconds(file: &Path) -> Option<f64> {
    let start = Instant::now();
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output()
        .ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}
