//! Helpers shared by the benchmarks: where their inputs live, how large the
//! large one is, how an input is made (a clip encoded once with ffmpeg,
//! repeated or looped to the size wanted), a process's peak memory measured
//! in a child process of its own, and the peers' (ffprobe, GStreamer)
//! timings. [`demux`] is the container demux benchmarks' runner.
#![allow(dead_code)] // each benchmark uses a subset

pub mod process;
pub mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod demux;

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

/// `ffmpeg -f lavfi` input of a 40 s 1280x720 25 fps test picture (the
/// `-f lavfi` before it is [`encoded_once`]'s).
pub const PICTURE_720P_40S: &[&str] = &["-i", "testsrc2=size=1280x720:rate=25:duration=40"];

/// `ffmpeg` input of a 40 s 440 Hz tone at 48 kHz, after a first input.
pub const TONE_40S: &[&str] = &[
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000:duration=40",
];

/// H.264 at 8 Mbit/s with B-frames, an IDR every 2 s: a broadcast-like
/// stream (~40 KB a frame at 720p, so per-frame work counts).
pub const X264_8M_BFRAMES: &[&str] = &[
    "-c:v", "libx264", "-preset", "veryfast", "-bf", "3", "-b:v", "8M", "-g", "50",
];

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

/// Seconds `command` (an external tool: ffprobe, GStreamer, strace) takes to run to
/// success. `None` only if the tool is not installed, and then a panic
/// with `CI=true`; a run that fails panics, as it measured nothing.
pub fn peer_seconds(command: &mut Command) -> Option<f64> {
    let start = std::time::Instant::now();
    let out = match command.output() {
        Ok(out) => out,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let ci = std::env::var("CI").is_ok_and(|v| v == "true");
            assert!(!ci, "{command:?}: not installed (CI=true)");
            return None;
        }
        Err(e) => panic!("{command:?}: {e}"),
    };
    assert!(
        out.status.success(),
        "{command:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Some(start.elapsed().as_secs_f64())
}

/// ffprobe arguments that parse and print every packet, decoding nothing.
pub const FFPROBE_SHOW_PACKETS: &[&str] = &["-show_packets", "-of", "csv"];

/// ffprobe arguments that read every packet, decoding none, and print
/// only their count.
pub const FFPROBE_COUNT_PACKETS: &[&str] = &[
    "-count_packets",
    "-show_entries",
    "stream=nb_read_packets",
    "-of",
    "csv=p=0",
];

/// Seconds ffprobe takes to read `file` with `args` (which say what it
/// reads and prints; the printing is thrown away), as [`peer_seconds`].
pub fn ffprobe_seconds(args: &[&str], file: &Path) -> Option<f64> {
    peer_seconds(
        Command::new("ffprobe")
            .args(["-v", "error"])
            .args(args)
            .arg(file)
            .stdout(std::process::Stdio::null()),
    )
}

/// Seconds `gst-launch-1.0 filesrc location=FILE ! TAIL` takes, as
/// [`peer_seconds`]; `tail` is split at whitespace.
pub fn gstreamer_seconds(file: &Path, tail: &str) -> Option<f64> {
    peer_seconds(
        Command::new("gst-launch-1.0")
            .args(["-q", "filesrc"])
            .arg(format!("location={}", file.display()))
            .arg("!")
            .args(tail.split_whitespace()),
    )
}

/// `size_mb / seconds` as a table cell, `n/a` without a measure.
pub fn rate_cell(size_mb: f64, seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "n/a".to_owned(), |s| format!("{:.0}", size_mb / s))
}

/// Runs this benchmark binary again with `args` (a fresh process, so its
/// peak memory is its own); its stdout, trimmed. Panics if it fails.
pub fn run_self(args: &[&std::ffi::OsStr]) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// What a measuring child process prints: how many items it read,
/// seconds and peak RSS in kB.
pub struct ChildFigures {
    pub count: u64,
    pub seconds: f64,
    pub peak_rss_kb: u64,
}

impl ChildFigures {
    /// The child's stdout line: `count seconds rss_kb`.
    pub fn print(&self) {
        println!("{} {} {}", self.count, self.seconds, self.peak_rss_kb);
    }

    /// Runs this binary with `args` and reads what it printed.
    pub fn of_child(args: &[&std::ffi::OsStr]) -> ChildFigures {
        let text = run_self(args);
        let fields: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(fields.len(), 3, "child printed {text:?}");
        ChildFigures {
            count: fields[0].parse().unwrap(),
            seconds: fields[1].parse().unwrap(),
            peak_rss_kb: fields[2].parse().unwrap(),
        }
    }

    /// Megabytes of a `size_mb` file read per second.
    pub fn rate(&self, size_mb: f64) -> f64 {
        size_mb / self.seconds
    }

    /// Peak RSS in MB.
    pub fn peak_rss_mb(&self) -> f64 {
        self.peak_rss_kb as f64 / 1024.0
    }
}
