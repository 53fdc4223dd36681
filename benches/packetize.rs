//! Packetize throughput to pcap and peak memory, on a large H.264 stream and
//! a large WAV, side by side with GStreamer doing the same packetization
//! (`filesrc ! h264parse ! rtph264pay ! fakesink`, and `wavparse !
//! audioconvert ! rtpL16pay` for the WAV) in the same run.
//!
//! Run: `cargo bench --bench packetize` (MEDIATOOL_BENCH_MB sets the large
//! files' size, default 500). Inputs live in `target/bench-data/`: the H.264
//! stream is a 720p clip encoded once with ffmpeg and repeated (each copy
//! starts with SPS/PPS/IDR), the WAV 48 kHz stereo 16-bit samples.
//!
//! Figures, each the best of [`RUNS`] runs on a warm page cache: input
//! bytes per second of the whole `mediatool packetize` run (a real pcap
//! written to `target/bench-data/`, the previous run's output deleted
//! first) and its CPU time and peak resident memory, for a file a tenth the
//! size and the large one: memory must not grow with the file.
//!
//! GStreamer gets its best case: the best of [`RUNS`] runs for each of its
//! read sizes (`filesrc blocksize`, default 4 KiB, and 1 MiB), `fakesink
//! sync=false` (no clock), RTP packets as large as ours (MTU 1500: RTP
//! packets up to 1472 bytes), and it writes nothing. The pipeline asked for
//! runs on one streaming thread; the last column is GStreamer with a
//! `queue` after the source and after the parser, so that it uses both
//! cores as we do.

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use support::{data_dir, encoded_once, large_mb, repeated, warm};

/// Runs of each command; the best counts.
const RUNS: usize = 3;

/// RTP packet size limit (GStreamer's payloader `mtu`) matching our default
/// `--mtu 1500`: the IP packet less the IPv4 and UDP headers.
const RTP_MTU: &str = "mtu=1472";

fn main() {
    let large_mb = large_mb();
    let dir = data_dir();
    let clip = h264_clip(&dir);
    println!("packetize benchmark (best of {RUNS} runs each)");
    println!(
        "{:<6} {:>7} {:>7} {:>9} {:>7} {:>8} {:>9} {:>8} {:>12} {:>8}",
        "input",
        "size MB",
        "ours s",
        "ours MB/s",
        "CPU s",
        "peak MB",
        "gst MB/s",
        "ours/gst",
        "gst 2thr MB/s",
        "ours/gst2"
    );
    for mb in [large_mb / 10, large_mb] {
        let h264 = repeated(&clip, dir.join(format!("big-{mb}MB.264")), mb);
        let wav = wav_file(&dir, mb);
        for (kind, file, parse, pay) in [
            ("H.264", &h264, "h264parse", "rtph264pay"),
            ("WAV", &wav, "wavparse ! audioconvert", "rtpL16pay"),
        ] {
            report(kind, file, parse, pay, &dir);
        }
    }
}

/// Runs both tools on `file` and prints one row.
fn report(kind: &str, file: &Path, parse: &str, pay: &str, dir: &Path) {
    let size = std::fs::metadata(file).unwrap().len() as f64 / 1e6;
    warm(file);
    let out = dir.join("bench-out.pcap");
    let ours = (0..RUNS)
        .map(|_| ours_run(file, &out))
        .fold(Run::default(), Run::best);
    let _ = std::fs::remove_file(&out);
    let best_gst = |pipeline: &str| {
        ["", "blocksize=1048576"]
            .iter()
            .flat_map(|blocksize| {
                let pipeline = format!(
                    "filesrc location={} {blocksize} {pipeline} ! fakesink sync=false",
                    file.display()
                );
                (0..RUNS).filter_map(move |_| gst_seconds(&pipeline))
            })
            .reduce(f64::min)
    };
    let one_thread = best_gst(&format!("! {parse} ! {pay} {RTP_MTU}"));
    let two_threads = best_gst(&format!("! queue ! {parse} ! queue ! {pay} {RTP_MTU}"));
    let rate_and_ratio = |gst: Option<f64>| match gst {
        Some(s) => (
            format!("{:.0}", size / s),
            format!("{:.1}x", s / ours.seconds),
        ),
        None => ("n/a".into(), "n/a".into()),
    };
    let (gst1, ratio1) = rate_and_ratio(one_thread);
    let (gst2, ratio2) = rate_and_ratio(two_threads);
    println!(
        "{kind:<6} {size:>7.0} {:>7.3} {:>9.0} {:>7.3} {:>8.1} {gst1:>9} {ratio1:>8} {gst2:>12} {ratio2:>8}",
        ours.seconds,
        size / ours.seconds,
        ours.cpu,
        ours.peak_kb / 1024.0
    );
}

/// One run of ours.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// Wall seconds.
    seconds: f64,
    /// User and system CPU seconds.
    cpu: f64,
    /// Peak resident memory in KiB.
    peak_kb: f64,
}

impl Default for Run {
    fn default() -> Run {
        Run {
            seconds: f64::MAX,
            cpu: 0.0,
            peak_kb: 0.0,
        }
    }
}

impl Run {
    /// The fastest run, with the highest peak memory of both.
    fn best(self, other: Run) -> Run {
        let fastest = if other.seconds < self.seconds {
            other
        } else {
            self
        };
        Run {
            peak_kb: self.peak_kb.max(other.peak_kb),
            ..fastest
        }
    }
}

/// `mediatool packetize FILE -o OUT -q` (CPU time and memory from GNU
/// time), after deleting the previous run's output (freeing its page cache
/// is not our work).
fn ours_run(file: &Path, out: &Path) -> Run {
    let _ = std::fs::remove_file(out);
    let exe = env!("CARGO_BIN_EXE_mediatool");
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M"])
        .arg(exe)
        .arg("packetize")
        .arg(file)
        .arg("-o")
        .arg(out)
        .arg("-q")
        .output()
        .expect("GNU time (/usr/bin/time) runs the measured command");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let figures: Vec<f64> = stderr
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [user, system, peak_kb] = figures[..] else {
        panic!("unexpected GNU time output: {stderr}")
    };
    Run {
        seconds,
        cpu: user + system,
        peak_kb,
    }
}

/// Seconds GStreamer takes to run `pipeline`.
fn gst_seconds(pipeline: &str) -> Option<f64> {
    let start = Instant::now();
    let out = Command::new("gst-launch-1.0")
        .arg("-q")
        .args(pipeline.split_whitespace())
        .output()
        .ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}

/// A 20 s 720p clip at a high bit rate, encoded once.
fn h264_clip(dir: &Path) -> PathBuf {
    encoded_once(
        &dir.join("clip720p.264"),
        &[
            "-i",
            "testsrc2=size=1280x720:rate=25:duration=20",
            "-f",
            "lavfi",
            "-i",
            "nullsrc=size=1280x720:rate=25,geq=random(1)*255:128:128",
            "-filter_complex",
            "[0][1]blend=all_mode=addition:all_opacity=0.15",
            "-t",
            "20",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "0",
            "-qp",
            "18",
            "-g",
            "50",
        ],
    )
}

/// A 48 kHz stereo 16-bit WAV of `mb` megabytes of a 1 kHz tone.
fn wav_file(dir: &Path, mb: u64) -> PathBuf {
    let file = dir.join(format!("big-{mb}MB.wav"));
    // Whole seconds of audio: 192000 bytes each.
    let data_len = (mb * 1_000_000).div_ceil(192_000) * 192_000;
    if std::fs::metadata(&file).is_ok_and(|m| m.len() == data_len + 44) {
        return file;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(&file).unwrap());
    let len = u32::try_from(data_len).expect("WAV under 4 GB");
    let mut header = Vec::new();
    header.extend_from_slice(b"RIFF");
    header.extend_from_slice(&(len + 36).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    header.extend_from_slice(&16u32.to_le_bytes());
    header.extend_from_slice(&1u16.to_le_bytes()); // PCM
    header.extend_from_slice(&2u16.to_le_bytes()); // channels
    header.extend_from_slice(&48000u32.to_le_bytes());
    header.extend_from_slice(&192_000u32.to_le_bytes()); // bytes per second
    header.extend_from_slice(&4u16.to_le_bytes()); // block align
    header.extend_from_slice(&16u16.to_le_bytes());
    header.extend_from_slice(b"data");
    header.extend_from_slice(&len.to_le_bytes());
    out.write_all(&header).unwrap();
    let second: Vec<u8> = (0..48000)
        .flat_map(|i| {
            let s = ((f64::from(i) * 2.0 * std::f64::consts::PI / 48.0).sin() * 8000.0) as i16;
            let b = s.to_le_bytes();
            [b[0], b[1], b[0], b[1]]
        })
        .collect();
    for _ in 0..data_len / 192_000 {
        out.write_all(&second).unwrap();
    }
    out.flush().unwrap();
    file
}
