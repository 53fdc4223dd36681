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

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use support::{
    data_dir, encoded_once, ffprobe_seconds, large_mb, peak_rss_kb, rate_cell, repeated, warm,
    ChildFigures, FFPROBE_COUNT_PACKETS, PICTURE_720P_40S, X264_8M_BFRAMES,
};

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
        let ours = ChildFigures::of_child(&[OsStr::new("--child"), file.as_os_str()]);
        let peer = rate_cell(size, ffprobe_seconds(FFPROBE_COUNT_PACKETS, &file));
        println!(
            "{size:>9.0} {:>10} {:>10.3} {:>12.0} {:>12.1} {peer:>10}",
            ours.count,
            ours.seconds,
            ours.rate(size),
            ours.peak_rss_mb()
        );
    }
}

/// Child process: inspect one file, print frames, seconds and peak RSS (kB).
fn child(file: &Path) {
    let start = Instant::now();
    let info = mediatool::media::inspect(file).expect("inspect");
    ChildFigures {
        count: info.stats[0].frames,
        seconds: start.elapsed().as_secs_f64(),
        peak_rss_kb: peak_rss_kb(),
    }
    .print();
}

/// A 40 s 720p clip at 8 Mbit/s with B-frames (a typical broadcast-like
/// stream: ~40 KB per frame, so per-frame work counts), encoded once.
fn base_clip(dir: &Path) -> PathBuf {
    encoded_once(
        &dir.join("clip720p-8M-bframes.264"),
        &[PICTURE_720P_40S, X264_8M_BFRAMES].concat(),
    )
}
