//! Packetize throughput to pcap and peak memory, on a large H.264 stream and
//! a large WAV, side by side with GStreamer doing the same packetization
//! (`filesrc ! h264parse ! rtph264pay ! fakesink`, and `wavparse !
//! rtpL16pay` for the WAV) in the same run.
//!
//! Run: `cargo bench --bench packetize` (MEDIATOOL_BENCH_MB sets the large
//! files' size, default 500). Inputs live in `target/bench-data/`: the H.264
//! stream is a 720p clip encoded once with ffmpeg and repeated (each copy
//! starts with SPS/PPS/IDR), the WAV 48 kHz stereo 16-bit samples.
//!
//! Figures: input bytes per second of the whole `mediatool packetize` run
//! (warm page cache, the pcap written to `target/bench-data/`, including
//! the exact-duration pass for the SDP), and its peak resident memory for a
//! file a tenth the size and the large one: memory must not grow with the
//! file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let large_mb: u64 = std::env::var("MEDIATOOL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-data");
    std::fs::create_dir_all(&dir).unwrap();
    let clip = h264_clip(&dir);
    println!("packetize benchmark (2 runs each, best shown)");
    println!(
        "{:<6} {:>8} {:>9} {:>10} {:>12} {:>11} {:>9}",
        "input", "size MB", "ours s", "ours MB/s", "peak RSS MB", "gst MB/s", "ours/gst"
    );
    for mb in [large_mb / 10, large_mb] {
        let h264 = repeated_h264(&clip, &dir, mb);
        let wav = wav_file(&dir, mb);
        for (kind, file, gst) in [
            ("H.264", &h264, "h264parse ! rtph264pay mtu=1460"),
            ("WAV", &wav, "wavparse ! audioconvert ! rtpL16pay mtu=1460"),
        ] {
            report(kind, file, gst, &dir);
        }
    }
}

/// Runs both tools on `file` and prints one row.
fn report(kind: &str, file: &Path, gst_chain: &str, dir: &Path) {
    let size = std::fs::metadata(file).unwrap().len() as f64 / 1e6;
    warm(file);
    let out = dir.join("bench-out.pcap");
    let (ours, rss) = (0..2)
        .map(|_| ours_seconds(file, &out))
        .fold((f64::MAX, 0.0), |(s, r), (s2, r2)| {
            (s.min(s2), f64::max(r, r2))
        });
    let _ = std::fs::remove_file(&out);
    let gst = (0..2)
        .filter_map(|_| gst_seconds(file, gst_chain))
        .fold(None, |best: Option<f64>, s| {
            Some(best.map_or(s, |b| b.min(s)))
        });
    let (gst_rate, ratio) = match gst {
        Some(s) => (format!("{:.0}", size / s), format!("{:.1}x", s / ours)),
        None => ("n/a".into(), "n/a".into()),
    };
    println!(
        "{kind:<6} {size:>8.0} {ours:>9.3} {:>10.0} {:>12.1} {gst_rate:>11} {ratio:>9}",
        size / ours,
        rss / 1024.0
    );
}

/// Wall seconds and peak RSS (kB) of `mediatool packetize FILE -o OUT -q`.
fn ours_seconds(file: &Path, out: &Path) -> (f64, f64) {
    let exe = env!("CARGO_BIN_EXE_mediatool");
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(exe)
        .arg("packetize")
        .arg(file)
        .arg("-o")
        .arg(out)
        .arg("-q")
        .output()
        .expect("GNU time (/usr/bin/time) runs the measured command");
    let secs = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0.0);
    (secs, rss)
}

/// Seconds GStreamer takes to packetize the file into a fakesink.
fn gst_seconds(file: &Path, chain: &str) -> Option<f64> {
    let start = Instant::now();
    let mut args = vec![
        "-q".to_owned(),
        "filesrc".into(),
        format!("location={}", file.display()),
        "!".into(),
    ];
    args.extend(chain.split_whitespace().map(str::to_owned));
    args.extend(["!".into(), "fakesink".into()]);
    let out = Command::new("gst-launch-1.0").args(&args).output().ok()?;
    out.status.success().then(|| start.elapsed().as_secs_f64())
}

/// A 20 s 720p clip at a high bit rate, encoded once.
fn h264_clip(dir: &Path) -> PathBuf {
    let clip = dir.join("clip720p.264");
    if !clip.exists() {
        eprintln!("encoding the base clip with ffmpeg (once)...");
        let status = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi"])
            .args([
                "-i",
                "testsrc2=size=1280x720:rate=25:duration=20",
                "-f",
                "lavfi",
            ])
            .args([
                "-i",
                "nullsrc=size=1280x720:rate=25,geq=random(1)*255:128:128",
            ])
            .args([
                "-filter_complex",
                "[0][1]blend=all_mode=addition:all_opacity=0.15",
                "-t",
                "20",
            ])
            .args([
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
            ])
            .arg(&clip)
            .status()
            .expect("ffmpeg is needed to make the benchmark input");
        assert!(status.success(), "ffmpeg failed");
    }
    clip
}

/// The clip repeated until the file holds at least `mb` megabytes.
fn repeated_h264(clip: &Path, dir: &Path, mb: u64) -> PathBuf {
    let file = dir.join(format!("big-{mb}MB.264"));
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

/// Reads the file once so every run sees a warm page cache.
fn warm(file: &Path) {
    let mut f = std::fs::File::open(file).unwrap();
    std::io::copy(&mut f, &mut std::io::sink()).unwrap();
}
