//! MP4 demuxing beside ffprobe and GStreamer, in one run: packet extraction
//! throughput and peak memory on a small and a large file (memory must not
//! grow with the file), and what opening a large file whose `moov` box is at
//! its end costs (reads, bytes read, seeks).
//!
//! Run: `cargo bench --bench demux_mp4` (MEDIATOOL_BENCH_MB sets the large
//! file's size, default 500; MEDIATOOL_BENCH_OPEN_MB the file opened for the
//! open cost, default 2048). The input is a 720p 8 Mbit/s H.264 clip with
//! B-frames and 128 kbit/s AAC, muxed without `faststart` (index at the
//! end) and looped with `ffmpeg -stream_loop -c copy` to the size wanted;
//! the files live in `target/bench-data/`.
//!
//! Figures, warm page cache: MB of file per second of
//! - ours: `media::open` then `read_unit` to the end (every sample's bytes
//!   in hand, as `serve` and `packetize` get them);
//! - ffprobe: `-count_packets` (every packet read, none decoded);
//! - GStreamer: `filesrc ! qtdemux ! queue ! fakesink` for both tracks;
//!
//! and the peak resident memory of a process that only reads with ours.
//! The open cost is counted from `/proc/self/io` (read calls, bytes) and
//! by `strace` (lseek calls) around `media::open` alone.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::{data_dir, encoded_once, large_mb, peak_rss_kb, warm};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(Path::new(&args[i + 1]));
    }
    if let Some(i) = args.iter().position(|a| a == "--open") {
        return open_only(Path::new(&args[i + 1]));
    }
    let dir = data_dir();
    let clip = base_clip(&dir);
    println!(
        "MP4 demux benchmark: H.264 1280x720 8 Mbit/s with B-frames + AAC, moov at the end, \
         looped from {}",
        clip.display()
    );
    println!(
        "{:>9} {:>10} {:>11} {:>12} {:>13} {:>15}",
        "size MB", "packets", "ours MB/s", "peak RSS MB", "ffprobe MB/s", "GStreamer MB/s"
    );
    let large = large_mb();
    for mb in [large / 10, large] {
        let file = looped(&clip, &dir, mb);
        let size = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
        warm(&file);
        let out = run_self("--child", &file);
        let fields: Vec<&str> = out.split_whitespace().collect();
        let (packets, secs, rss_kb): (u64, f64, f64) = (
            fields[0].parse().unwrap(),
            fields[1].parse().unwrap(),
            fields[2].parse().unwrap(),
        );
        let rate =
            |s: Option<f64>| s.map_or_else(|| "n/a".to_owned(), |s| format!("{:.0}", size / s));
        println!(
            "{size:>9.0} {packets:>10} {:>11.0} {:>12.1} {:>13} {:>15}",
            size / secs,
            rss_kb / 1024.0,
            rate(ffprobe_seconds(&file)),
            rate(gstreamer_seconds(&file)),
        );
        std::fs::remove_file(&file).unwrap();
    }
    let open_mb = std::env::var("MEDIATOOL_BENCH_OPEN_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let file = looped(&clip, &dir, open_mb);
    let size = std::fs::metadata(&file).unwrap().len();
    let out = run_self("--open", &file);
    let seeks = lseeks_to_open(&file);
    println!(
        "opening {:.2} GB with moov at the end: {out}, {} lseek calls (strace)",
        size as f64 / 1e9,
        seeks.map_or_else(|| "n/a".to_owned(), |n| n.to_string())
    );
    std::fs::remove_file(&file).unwrap();
}

/// Runs this benchmark binary on `file` in `mode`; its stdout.
fn run_self(mode: &str, file: &Path) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .arg(mode)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Child process: read every unit; print packets, seconds and peak RSS (kB).
fn child(file: &Path) {
    let start = Instant::now();
    let mut demuxer = mediatool::media::open(file).expect("open");
    let mut packets = 0u64;
    let mut bytes = 0u64;
    while let Some(unit) = demuxer.read_unit().expect("read") {
        packets += 1;
        bytes += unit.data.len() as u64;
    }
    let secs = start.elapsed().as_secs_f64();
    assert!(bytes > 0);
    println!("{packets} {secs} {}", peak_rss_kb());
}

/// Child process: open the file, print what the opening read.
fn open_only(file: &Path) {
    let before = io_counters();
    let start = Instant::now();
    let demuxer = mediatool::media::open(file).expect("open");
    let secs = start.elapsed().as_secs_f64();
    let after = io_counters();
    assert!(!demuxer.tracks().is_empty());
    print!(
        "{} read calls, {} bytes read, {:.2} ms",
        after.0 - before.0,
        after.1 - before.1,
        secs * 1e3
    );
}

/// `syscr` and `rchar` of `/proc/self/io`: read calls and bytes read.
fn io_counters() -> (u64, u64) {
    let io = std::fs::read_to_string("/proc/self/io").unwrap_or_default();
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    (field("syscr:"), field("rchar:"))
}

/// The `lseek` calls on the file while opening it, counted by strace
/// (`None` without strace).
fn lseeks_to_open(file: &Path) -> Option<usize> {
    let log = data_dir().join("open.strace");
    let status = Command::new("strace")
        .args(["-f", "-e", "trace=lseek", "-o"])
        .arg(&log)
        .arg(std::env::current_exe().unwrap())
        .arg("--open")
        .arg(file)
        .output()
        .ok()?;
    if !status.status.success() {
        return None;
    }
    let text = std::fs::read_to_string(&log).ok()?;
    std::fs::remove_file(&log).ok()?;
    // The file's descriptor is the one opened last; count seeks that move
    // it (not the SEEK_CUR position queries read_at makes).
    Some(
        text.lines()
            .filter(|l| l.contains("lseek(") && !l.contains("SEEK_CUR"))
            .count(),
    )
}

/// A 40 s 720p clip at 8 Mbit/s with B-frames and AAC, moov at the end.
fn base_clip(dir: &Path) -> PathBuf {
    encoded_once(
        &dir.join("clip720p-8M-bframes-aac.mp4"),
        &[
            "-i",
            "testsrc2=size=1280x720:rate=25:duration=40",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=40",
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
            "-c:a",
            "aac",
            "-b:a",
            "128k",
        ],
    )
}

/// `clip` looped (stream copy) into an MP4 of at least `mb` megabytes, its
/// `moov` at the end; made once.
fn looped(clip: &Path, dir: &Path, mb: u64) -> PathBuf {
    let file = dir.join(format!("demux-{mb}MB.mp4"));
    if file.exists() {
        return file;
    }
    let clip_mb = std::fs::metadata(clip).unwrap().len() as f64 / 1e6;
    let loops = (mb as f64 / clip_mb).ceil() as u64;
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-stream_loop"])
        .arg((loops.max(1) - 1).to_string())
        .arg("-i")
        .arg(clip)
        .args(["-c", "copy"])
        .arg(&file)
        .status()
        .expect("ffmpeg makes the benchmark input");
    assert!(status.success(), "ffmpeg failed");
    file
}

/// Seconds ffprobe takes to read (not decode) every packet of the file.
fn ffprobe_seconds(file: &Path) -> Option<f64> {
    let start = Instant::now();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .args(["stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}

/// Seconds GStreamer's qtdemux takes to push every buffer of both tracks
/// to fake sinks.
fn gstreamer_seconds(file: &Path) -> Option<f64> {
    let start = Instant::now();
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("filesrc")
        .arg(format!("location={}", file.display()))
        .args(["!", "qtdemux", "name=d"])
        .args(["d.video_0", "!", "queue", "!", "fakesink", "sync=false"])
        .args(["d.audio_0", "!", "queue", "!", "fakesink", "sync=false"])
        .output()
        .ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}
