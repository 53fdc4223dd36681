//! Independent check of `probe`: every fixture's JSON report against
//! `ffprobe -show_streams -count_frames`. Codec, size, sample rate and
//! channels must agree, frame counts exactly, durations within one frame.

mod common;

use std::path::Path;

use serde_json::Value;

fn ours(path: &Path) -> Result<Value, String> {
    let out = assert_cmd::Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

fn ratio(text: &str) -> Option<f64> {
    let (n, d) = text.split_once('/')?;
    let (n, d): (f64, f64) = (n.parse().ok()?, d.parse().ok()?);
    (n > 0.0 && d > 0.0).then_some(n / d)
}

fn num(v: &Value) -> Option<f64> {
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

/// ffprobe's `format_name` of a file: its demuxer's names, comma-separated
/// (`mov,mp4,m4a,3gp,3g2,mj2`).
fn ffprobe_format_name(path: &Path) -> String {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=format_name",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The disagreements found in one file, one line each.
struct Compare<'a> {
    name: &'a str,
    failures: &'a mut Vec<String>,
}

impl Compare<'_> {
    /// Numbers within `tolerance` (both present).
    fn number(&mut self, what: &str, ours: Option<f64>, theirs: Option<f64>, tolerance: f64) {
        match (ours, theirs) {
            (Some(a), Some(b)) if (a - b).abs() <= tolerance => {}
            (a, b) => self.failures.push(format!(
                "{}: {what}: ours {a:?}, ffprobe {b:?} (tolerance {tolerance})",
                self.name
            )),
        }
    }

    /// The same text, or both absent.
    fn text(&mut self, what: &str, ours: &Value, theirs: Option<&str>) {
        if ours.as_str() != theirs {
            self.failures.push(format!(
                "{}: {what}: ours {ours}, ffprobe {theirs:?}",
                self.name
            ));
        }
    }
}

#[test]
fn probe_agrees_with_ffprobe_on_every_fixture() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = common::media_fixtures();
    assert!(!fixtures.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for file in fixtures {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let theirs = common::ffprobe_streams(&file);
        let report = match ours(&file) {
            Ok(report) => report,
            Err(e) => {
                failures.push(format!("{name}: probe failed: {e}"));
                continue;
            }
        };
        let mut compare = Compare {
            name: &name,
            failures: &mut failures,
        };
        // ffprobe names every demuxer that reads the file (`matroska,webm`).
        let format_names = ffprobe_format_name(&file);
        let format = report["format"].as_str().unwrap_or("");
        if !format_names.split(',').any(|n| n == format) {
            compare.text("format", &report["format"], Some(&format_names));
        }
        let tracks = report["tracks"].as_array().unwrap();
        if tracks.len() != theirs.len() {
            compare.number(
                "tracks",
                Some(tracks.len() as f64),
                Some(theirs.len() as f64),
                0.0,
            );
            continue;
        }
        for (track, stream) in tracks.iter().zip(&theirs) {
            compare_track(&mut compare, track, stream);
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with ffprobe:\n{}",
        failures.join("\n")
    );
}

/// One of our tracks against ffprobe's stream.
fn compare_track(compare: &mut Compare, track: &Value, stream: &Value) {
    compare.text("codec", &track["codec"], stream["codec_name"].as_str());
    // ffprobe says "unknown" for codecs without profiles (MP3, PCM).
    let profile = stream["profile"].as_str().filter(|p| *p != "unknown");
    compare.text("profile", &track["profile"], profile);
    let pcm = stream["codec_name"]
        .as_str()
        .is_some_and(|c| c.starts_with("pcm_"));
    if stream["codec_type"] == "video" {
        compare.number("width", num(&track["width"]), num(&stream["width"]), 0.0);
        compare.number("height", num(&track["height"]), num(&stream["height"]), 0.0);
        compare.number("level", num(&track["level"]), num(&stream["level"]), 0.0);
        let rate = stream["r_frame_rate"].as_str();
        compare.text("r_frame_rate", &track["r_frame_rate"], rate);
        compare.number(
            "frame_rate",
            num(&track["frame_rate"]),
            rate.and_then(ratio),
            1e-6,
        );
    } else {
        compare.number(
            "sample_rate",
            num(&track["sample_rate"]),
            num(&stream["sample_rate"]),
            0.0,
        );
        compare.number(
            "channels",
            num(&track["channels"]),
            num(&stream["channels"]),
            0.0,
        );
        for key in ["level", "r_frame_rate", "frame_rate"] {
            compare.text(key, &track[key], None);
        }
    }
    // ffprobe counts PCM "frames" in arbitrary 1024-sample packets; its
    // exact figure for PCM is duration_ts, in samples.
    let frames = if pcm {
        num(&stream["duration_ts"])
    } else {
        num(&stream["nb_read_frames"])
    };
    compare.number("frames", num(&track["frames"]), frames, 0.0);
    // One frame's duration, and ffprobe's exact duration: from its frame
    // count for elementary streams (for which its `duration` is absent or
    // a bit-rate estimate), else its stated duration.
    let (frame, reference) = match stream["codec_type"].as_str() {
        Some("video") => {
            let fps = ratio(stream["r_frame_rate"].as_str().unwrap_or("")).unwrap_or(25.0);
            (1.0 / fps, frames.map(|f| f / fps))
        }
        _ => {
            let rate = num(&stream["sample_rate"]).unwrap_or(1.0);
            let per_frame = match stream["codec_name"].as_str() {
                Some("aac") => 1024.0,
                Some("mp1") => 384.0,
                Some("mp3") if rate < 32000.0 => 576.0,
                Some("mp2" | "mp3") => 1152.0,
                _ => 1.0,
            };
            let exact = if stream["codec_name"] == "aac" {
                frames.map(|f| f * per_frame / rate)
            } else {
                num(&stream["duration"])
            };
            (per_frame / rate, exact)
        }
    };
    compare.number(
        "duration",
        num(&track["duration_s"]),
        reference,
        frame + 1e-6,
    );
}

/// The frames ffprobe decodes from a file, in output order: whether each
/// is a key frame.
fn ffprobe_key_frames(path: &Path) -> Vec<bool> {
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "quiet",
            "-show_entries",
            "frame=key_frame",
            "-of",
            "csv=p=0",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    // A frame with side data is followed by an empty line.
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| line.starts_with('1'))
        .collect()
}

/// H.264 and H.265 streams cut inside a NAL unit (their last 70%, 50% and
/// 40%):
/// probe reads them from the first start code and counts what ffprobe
/// decodes. ffprobe's H.265 decoder also outputs the pictures before the
/// first random access point, whose parameter sets it never saw (concealed
/// garbage); a decoder skips them (H.265 §8.1.3), as probe does, so for
/// H.265 the count is ffprobe's from its first key frame on. A cut after
/// the last parameter sets, where ffprobe decodes nothing, is an error that
/// says what is missing.
#[test]
fn streams_cut_mid_nal_agree_with_ffprobe() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut counted = 0;
    for file in common::media_fixtures() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let hevc = name.starts_with("hevc");
        if !name.starts_with("h264") && !hevc {
            continue;
        }
        let data = std::fs::read(&file).unwrap();
        for tenths in [3, 5, 6] {
            let what = format!("{name} from {tenths}/10");
            let cut = dir.path().join(format!("{tenths}-{name}"));
            std::fs::write(&cut, &data[data.len() * tenths / 10..]).unwrap();
            let frames = ffprobe_key_frames(&cut);
            let theirs = if hevc {
                frames.iter().skip_while(|key| !**key).count()
            } else {
                frames.len()
            };
            match ours(&cut) {
                Ok(report) => {
                    assert_eq!(
                        report["tracks"][0]["frames"].as_u64(),
                        Some(theirs as u64),
                        "{what}"
                    );
                    counted += 1;
                }
                Err(e) => {
                    assert_eq!(theirs, 0, "{what}: {e}");
                    assert!(e.contains("parameter set"), "{what}: {e}");
                }
            }
        }
    }
    assert!(counted >= 10, "only {counted} cut streams counted");
}
