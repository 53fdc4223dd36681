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

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use support::demux::{DemuxBench, H264_AAC_720P};
use support::{data_dir, looped, peer_seconds, run_self, FFPROBE_COUNT_PACKETS};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--open") {
        return open_only(Path::new(&args[i + 1]));
    }
    let Some((clip, files)) = (DemuxBench {
        title: "MP4 demux benchmark: H.264 1280x720 8 Mbit/s with B-frames + AAC, moov at the \
                end, looped from",
        clip: "clip720p-8M-bframes-aac.mp4",
        encoder: H264_AAC_720P,
        ts_modes: false,
        ffprobe: FFPROBE_COUNT_PACKETS,
        gstreamer: "qtdemux name=d d.video_0 ! queue ! fakesink sync=false d.audio_0 ! queue ! fakesink sync=false",
    })
    .run() else {
        return;
    };
    for file in files {
        std::fs::remove_file(file).unwrap();
    }
    let open_mb = std::env::var("MEDIATOOL_BENCH_OPEN_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2048);
    let file = looped(
        &clip,
        data_dir().join(format!("demux-{open_mb}MB.mp4")),
        open_mb,
    );
    let size = std::fs::metadata(&file).unwrap().len();
    let out = run_self(&[OsStr::new("--open"), file.as_os_str()]);
    let seeks = lseeks_to_open(&file);
    println!(
        "opening {:.2} GB with moov at the end: {out}, {} lseek calls (strace)",
        size as f64 / 1e9,
        seeks.map_or_else(|| "n/a".to_owned(), |n| n.to_string())
    );
    std::fs::remove_file(&file).unwrap();
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
    let io = std::fs::read_to_string("/proc/self/io").expect("/proc/self/io");
    let field = |name: &str| {
        io.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in /proc/self/io"))
    };
    (field("syscr:"), field("rchar:"))
}

/// The `lseek` calls on the file while opening it, counted by strace
/// (`None` only without strace, as [`peer_seconds`] does without its tool).
fn lseeks_to_open(file: &Path) -> Option<usize> {
    let log = data_dir().join("open.strace");
    peer_seconds(
        Command::new("strace")
            .args(["-f", "-e", "trace=lseek", "-o"])
            .arg(&log)
            .arg(std::env::current_exe().unwrap())
            .arg("--open")
            .arg(file),
    )?;
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).unwrap();
    // The file's descriptor is the one opened last; count seeks that move
    // it (not the SEEK_CUR position queries read_at makes).
    Some(
        text.lines()
            .filter(|l| l.contains("lseek(") && !l.contains("SEEK_CUR"))
            .count(),
    )
}
