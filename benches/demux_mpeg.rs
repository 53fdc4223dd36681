//! MPEG transport stream demux throughput and memory on a large file, side
//! by side with ffprobe (`-show_packets`: every packet parsed and printed,
//! nothing decoded) and GStreamer (`filesrc ! tsdemux ! fakesink` on each
//! stream), in one run.
//!
//! Run: `cargo bench --bench demux_mpeg` (MEDIATOOL_BENCH_MB sets the
//! large file's size, default 500). The input is a 40 s 720p 8 Mbit/s
//! H.264 clip with B-frames and 128 kbit/s AAC, muxed by ffmpeg into a
//! transport stream once, then looped without re-encoding to the size
//! wanted; it lives in `target/bench-data/`.
//!
//! Figures: file bytes demuxed per second (warm page cache: every access
//! unit of every track read, as `probe` counts them; and the whole stream
//! read as MP2T runs, as `serve --ts-mode mp2t` sends it) and the peak
//! resident memory of a process that does nothing else, for a file a tenth
//! of the size and the large one: memory must not grow with file size.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use mediatool::media::{ReadOptions, TsMode};
use support::{data_dir, encoded_once, large_mb, looped, peak_rss_kb, seconds_of, warm};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        return child(Path::new(&args[i + 1]), &args[i + 2]);
    }
    let dir = data_dir();
    let clip = base_clip(&dir);
    println!(
        "MPEG-TS demux benchmark: H.264 720p 8 Mbit/s with B-frames + AAC, looped {}",
        clip.display()
    );
    println!(
        "{:>8} {:>7} {:>9} {:>9} {:>10} {:>12} {:>13} {:>15}",
        "size MB",
        "mode",
        "units",
        "ours s",
        "ours MB/s",
        "peak RSS MB",
        "ffprobe MB/s",
        "GStreamer MB/s"
    );
    let large = large_mb();
    for mb in [large / 10, large] {
        let file = looped(&clip, dir.join(format!("demux-{mb}MB.ts")), mb);
        let size = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
        warm(&file);
        let rate =
            |s: Option<f64>| s.map_or_else(|| "n/a".to_owned(), |s| format!("{:.0}", size / s));
        let ffprobe = seconds_of(
            Command::new("ffprobe")
                .args(["-v", "error", "-show_packets", "-of", "csv"])
                .arg(&file)
                .stdout(std::process::Stdio::null()),
        );
        let gstreamer = seconds_of(
            Command::new("gst-launch-1.0")
                .args(["-q", "filesrc"])
                .arg(format!("location={}", file.display()))
                .args([
                    "!", "tsdemux", "name=d", "d.", "!", "queue", "!", "fakesink",
                ])
                .args(["d.", "!", "queue", "!", "fakesink"]),
        );
        for mode in ["tracks", "mp2t"] {
            let out = Command::new(std::env::current_exe().unwrap())
                .arg("--child")
                .arg(&file)
                .arg(mode)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let text = String::from_utf8(out.stdout).unwrap();
            let fields: Vec<&str> = text.split_whitespace().collect();
            let (units, secs, rss_kb): (u64, f64, f64) = (
                fields[0].parse().unwrap(),
                fields[1].parse().unwrap(),
                fields[2].parse().unwrap(),
            );
            println!(
                "{size:>8.0} {mode:>7} {units:>9} {secs:>9.3} {:>10.0} {:>12.1} {:>13} {:>15}",
                size / secs,
                rss_kb / 1024.0,
                rate(ffprobe),
                rate(gstreamer)
            );
        }
    }
}

/// Child process: read every unit of one file as `probe` (mode `tracks`)
/// or `serve --ts-mode mp2t` (mode `mp2t`) does, print units, seconds and
/// peak RSS (kB).
fn child(file: &Path, mode: &str) {
    let options = ReadOptions {
        ts_mode: mode.parse::<TsMode>().expect("mode"),
    };
    let start = Instant::now();
    let mut demuxer = mediatool::media::open_with(file, &options).expect("open");
    let mut units = 0u64;
    while demuxer.read_unit().expect("read").is_some() {
        units += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    println!("{units} {secs} {}", peak_rss_kb());
}

/// A 40 s 720p clip at 8 Mbit/s with B-frames and AAC in a transport
/// stream, encoded once.
fn base_clip(dir: &Path) -> PathBuf {
    encoded_once(
        &dir.join("clip720p-8M-aac.ts"),
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
