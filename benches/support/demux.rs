//! The container demux benchmarks' shared runner: a base clip encoded
//! once, looped to a tenth of the large size and to the large size, each
//! file read to the end by our reader in a child process of its own (for
//! its peak memory) and timed beside ffprobe and GStreamer, one table row
//! per file and way of reading.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mediatool::media::{ReadOptions, TsMode};

use super::{
    data_dir, encoded_once, ffprobe_seconds, gstreamer_seconds, large_mb, looped, peak_rss_kb,
    rate_cell, warm, ChildFigures, PICTURE_720P_40S, TONE_40S, X264_8M_BFRAMES,
};

/// `ffmpeg -f lavfi` inputs and encoder options of a 40 s 720p clip at
/// 8 Mbit/s H.264 with B-frames and 128 kbit/s AAC, in parts.
pub const H264_AAC_720P: &[&[&str]] = &[
    PICTURE_720P_40S,
    TONE_40S,
    X264_8M_BFRAMES,
    &["-c:a", "aac", "-b:a", "128k"],
];

/// What sets one container's demux benchmark apart.
pub struct DemuxBench {
    /// The table's heading, before the clip's path.
    pub title: &'static str,
    /// The base clip's file name in `target/bench-data/`; its extension
    /// chooses ffmpeg's muxer and names the looped files.
    pub clip: &'static str,
    /// `ffmpeg -f lavfi` inputs and encoder options of the base clip, in
    /// parts put end to end.
    pub encoder: &'static [&'static [&'static str]],
    /// Whether each file is read both ways a transport stream can be
    /// ([`TsMode`]), a row each with a `mode` column; otherwise once with
    /// the default [`ReadOptions`].
    pub ts_modes: bool,
    /// What ffprobe is asked to read (after `-v error`, before the file).
    pub ffprobe: &'static [&'static str],
    /// GStreamer's pipeline after `filesrc location=FILE !`.
    pub gstreamer: &'static str,
}

impl DemuxBench {
    /// The benchmark's `main`: as the child (`--child FILE MODE`) reads
    /// one file and prints its figures; otherwise makes the inputs, prints
    /// the table and returns the base clip and the files measured.
    pub fn run(&self) -> Option<(PathBuf, Vec<PathBuf>)> {
        let args: Vec<String> = std::env::args().collect();
        if let Some(i) = args.iter().position(|a| a == "--child") {
            read_all(Path::new(&args[i + 1]), &args[i + 2]).print();
            return None;
        }
        let dir = data_dir();
        let clip = encoded_once(&dir.join(self.clip), &self.encoder.concat());
        let extension = clip.extension().unwrap().to_str().unwrap();
        println!("{} {}", self.title, clip.display());
        let modes: &[&str] = if self.ts_modes { &TsMode::NAMES } else { &[""] };
        let mode_cell = |mode: &str| {
            if self.ts_modes {
                format!(" {mode:>7}")
            } else {
                String::new()
            }
        };
        println!(
            "{:>8}{} {:>9} {:>9} {:>10} {:>12} {:>13} {:>15}",
            "size MB",
            mode_cell("mode"),
            "units",
            "ours s",
            "ours MB/s",
            "peak RSS MB",
            "ffprobe MB/s",
            "GStreamer MB/s"
        );
        let large = large_mb();
        let mut files = Vec::new();
        for mb in [large / 10, large] {
            let file = looped(&clip, dir.join(format!("demux-{mb}MB.{extension}")), mb);
            let size = std::fs::metadata(&file).unwrap().len() as f64 / 1e6;
            warm(&file);
            let ffprobe = rate_cell(size, ffprobe_seconds(self.ffprobe, &file));
            let gstreamer = rate_cell(size, gstreamer_seconds(&file, self.gstreamer));
            for mode in modes {
                let ours = ChildFigures::of_child(&[
                    OsStr::new("--child"),
                    file.as_os_str(),
                    OsStr::new(mode),
                ]);
                println!(
                    "{size:>8.0}{} {:>9} {:>9.3} {:>10.0} {:>12.1} {ffprobe:>13} {gstreamer:>15}",
                    mode_cell(mode),
                    ours.count,
                    ours.seconds,
                    ours.rate(size),
                    ours.peak_rss_mb(),
                );
            }
            files.push(file);
        }
        Some((clip, files))
    }
}

/// Child process: read every unit of every track of `file` (as `probe`
/// does; as `serve --ts-mode mp2t` does with `mode` `mp2t`; `mode` empty
/// for the default options): units, seconds from the open on, peak RSS.
fn read_all(file: &Path, mode: &str) -> ChildFigures {
    let options = if mode.is_empty() {
        ReadOptions::default()
    } else {
        ReadOptions {
            ts_mode: mode.parse().expect("mode"),
        }
    };
    let start = Instant::now();
    let mut demuxer = mediatool::media::open_with(file, &options).expect("open");
    let (mut units, mut bytes) = (0u64, 0u64);
    while let Some(unit) = demuxer.read_unit().expect("read") {
        units += 1;
        bytes += unit.data.len() as u64;
    }
    let seconds = start.elapsed().as_secs_f64();
    assert!(bytes > 0, "{}: no bytes read", file.display());
    ChildFigures {
        count: units,
        seconds,
        peak_rss_kb: peak_rss_kb(),
    }
}
