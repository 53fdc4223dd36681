//! Independent check of `probe`: every fixture's JSON report against
//! `ffprobe -show_streams -count_frames`. Codec, size, sample rate and
//! channels must agree, frame counts exactly, durations within one frame.
//! Broken fixtures that hold whole frames (cut short, junk) are compared
//! too, with the frames ffprobe decodes from whole packets.

mod common;

use std::path::Path;

use common::Bounded;
use serde_json::Value;

fn ours(path: &Path) -> Result<Value, String> {
    let out = assert_cmd::Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--format", "json"])
        .arg(path)
        .output_bounded();
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
        .output_bounded();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    // CSV quotes a value holding commas.
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_matches('"')
        .to_owned()
}

/// The disagreements found in one file, one line each.
struct Compare<'a> {
    name: &'a str,
    failures: &'a mut Vec<String>,
    /// An Ogg file: its streams end at a granule position.
    ogg: bool,
    /// A container with sample tables (MP4), which state every frame's
    /// duration: there ffprobe's durations are exact too.
    stated: bool,
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

    /// The same number, or both absent.
    fn same(&mut self, what: &str, ours: Option<f64>, theirs: Option<f64>) {
        if ours != theirs {
            self.failures.push(format!(
                "{}: {what}: ours {ours:?}, ffprobe {theirs:?}",
                self.name
            ));
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
        compare_file(&file, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "disagreements with ffprobe:\n{}",
        failures.join("\n")
    );
}

/// The broken fixtures that hold whole frames, and whether ffprobe lists
/// their last packet cut short: a last frame cut short (dropped, per the
/// truncation policy), junk between frames. The stated length of the cut
/// frame of `cut_then_tagged.aac` runs into the tags appended after the
/// cut, so FFmpeg's ADTS demuxer hands its decoder a full-size packet of
/// audio and tag bytes, which the decoder rejects. Those among
/// [`common::PLAYABLE_BAD_FIXTURES`] are compared with ffprobe by
/// `probe_agrees_with_ffprobe_on_every_fixture`; the others here.
const READABLE_BROKEN: [(&str, bool); 5] = [
    ("bad/frame_cut.mp2", true),
    ("bad/last_frame_cut.mp3", true),
    ("bad/last_frame_cut.aac", true),
    ("bad/cut_then_tagged.aac", false),
    ("bad/bad_sync.aac", false),
];

#[test]
fn probe_agrees_with_ffprobe_on_readable_broken_fixtures() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let mut failures = Vec::new();
    for (name, cut) in READABLE_BROKEN {
        let file = common::fixtures().join(name);
        let whole = common::ffprobe_whole_frames(&file).unwrap();
        assert_eq!(whole.cut, cut, "{name}: {whole:?}");
        if !common::PLAYABLE_BAD_FIXTURES.contains(&name) {
            compare_file(&file, &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "disagreements with ffprobe:\n{}",
        failures.join("\n")
    );
}

/// What the fixtures lack, made with ffmpeg at test time: video in 10-bit,
/// 4:2:2, 4:4:4, monochrome, full range, with a 16:11 and an unspecified
/// sample aspect ratio, in H.264 and H.265; WAV in block-coded formats
/// (MS and IMA ADPCM, GSM 6.10) that probe describes but cannot stream.
#[test]
fn probe_agrees_with_ffprobe_on_generated_files() {
    if !common::require_tool("ffprobe") || !common::require_tool("ffmpeg") {
        return;
    }
    let video = "testsrc2=size=176x144:rate=25:duration=0.6";
    let audio = "sine=frequency=440:sample_rate=8000:duration=1.3";
    let x264 = "-c:v libx264 -threads 1 -bf 2";
    let x265 = "-c:v libx265 -x265-params log-level=error:pools=1:frame-threads=1";
    let cases = [
        ("10bit.264", video, x264, "-pix_fmt yuv420p10le"),
        ("422.264", video, x264, "-pix_fmt yuv422p"),
        ("444.264", video, x264, "-pix_fmt yuv444p"),
        ("gray.264", video, x264, "-pix_fmt gray"),
        ("full_range.264", video, x264, "-pix_fmt yuvj420p"),
        (
            "sar_16_11.264",
            video,
            x264,
            "-vf setsar=16/11 -pix_fmt yuv420p",
        ),
        (
            "sar_unspecified.264",
            video,
            x264,
            "-vf setsar=0/1 -pix_fmt yuv420p",
        ),
        ("10bit.265", video, x265, "-pix_fmt yuv420p10le"),
        ("422_10bit.265", video, x265, "-pix_fmt yuv422p10le"),
        ("gray.265", video, x265, "-pix_fmt gray"),
        (
            "sar_16_11.265",
            video,
            x265,
            "-vf setsar=16/11 -pix_fmt yuv444p",
        ),
        ("adpcm_ms.wav", audio, "-c:a adpcm_ms", "-ac 1"),
        ("adpcm_ima.wav", audio, "-c:a adpcm_ima_wav", "-ac 2"),
        ("gsm.wav", audio, "-c:a libgsm_ms", "-ac 1"),
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, input, encoder, options) in cases {
        let file = dir.path().join(name);
        let made = std::process::Command::new("ffmpeg")
            .args(["-v", "error", "-f", "lavfi", "-i", input])
            .args(options.split(' '))
            .args(encoder.split(' '))
            .arg(&file)
            .status_bounded();
        assert!(made.success(), "ffmpeg could not make {name}");
        compare_file(&file, &mut failures);
    }
    assert!(
        failures.is_empty(),
        "disagreements with ffprobe:\n{}",
        failures.join("\n")
    );
}

/// Our report on `file` against ffprobe's: the format, then each track.
fn compare_file(file: &Path, failures: &mut Vec<String>) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let mut theirs = ffprobe_by_chain(file).unwrap_or_else(|| common::ffprobe_streams(file));
    normalize_system_streams(file, &mut theirs);
    let report = match ours(file) {
        Ok(report) => report,
        Err(e) => {
            failures.push(format!("{name}: probe failed: {e}"));
            return;
        }
    };
    let mut compare = Compare {
        name: &name,
        failures,
        ogg: report["format"] == "ogg",
        stated: report["format"] == "mp4",
    };
    // ffprobe names every demuxer that reads the file (`matroska,webm`).
    let format_names = ffprobe_format_name(file);
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
        return;
    }
    // MPEG audio and ADTS: the frames decoded from whole packets.
    let whole = matches!(format, "mp3" | "aac")
        .then(|| common::ffprobe_whole_frames(file).expect("ffprobe reads it"));
    for (track, stream) in tracks.iter().zip(&theirs) {
        compare_track(&mut compare, track, stream, whole);
    }
}

/// For a chained Ogg file (RFC 3533 §4: a stream starts after the first
/// chain's data), ffprobe's streams of each chain read alone, their frames
/// and `duration_ts` added up: probe continues the timeline across chains
/// and restarts the decoder at each (new headers), while ffprobe reports
/// the last chain's duration (its timestamps restart) and decodes a frame
/// from each later chain's first Vorbis packet (its decoder goes on across
/// the boundary). Vorbis frames: each chain's first packet is a frame of
/// ours that ffprobe's decoder outputs nothing for, the first chain's
/// counted by [`compare_track`], the others' here.
fn ffprobe_by_chain(file: &Path) -> Option<Vec<Value>> {
    let dir = tempfile::tempdir().unwrap();
    let chains = common::ogg_chains(file, dir.path());
    if chains.len() < 2 {
        return None;
    }
    let mut total: Option<Vec<Value>> = None;
    for part in chains {
        let streams = common::ffprobe_streams(&part);
        match &mut total {
            None => total = Some(streams),
            Some(total) => {
                for (sum, stream) in total.iter_mut().zip(&streams) {
                    let first_packet = f64::from(u8::from(stream["codec_name"] == "vorbis"));
                    for (key, extra) in [("nb_read_frames", first_packet), ("duration_ts", 0.0)] {
                        let added = num(&sum[key]).unwrap() + num(&stream[key]).unwrap() + extra;
                        sum[key] = Value::from(added.to_string());
                    }
                }
            }
        }
    }
    total
}

/// One of our tracks against ffprobe's stream (and, for MPEG audio and
/// ADTS, what it decodes from whole packets).
fn compare_track(
    compare: &mut Compare,
    track: &Value,
    stream: &Value,
    whole: Option<common::WholeFrames>,
) {
    // ffprobe leaves codec_name out for a codec it cannot name (a
    // timecode track), which its text output prints as "unknown".
    let codec = stream["codec_name"].as_str().unwrap_or("unknown");
    compare.text("codec", &track["codec"], Some(codec));
    compare.text("kind", &track["kind"], stream["codec_type"].as_str());
    // Data and subtitle tracks (MP4 chapters and timecodes, Matroska
    // subtitles): the number of events, which ffprobe counts by reading
    // (Matroska) or takes from the container (MP4); no timing to compare.
    if matches!(stream["codec_type"].as_str(), Some("data" | "subtitle")) {
        let frames = num(&stream["nb_read_frames"]).or_else(|| num(&stream["nb_frames"]));
        compare.number("frames", num(&track["frames"]), frames, 0.0);
        return;
    }
    // ffprobe says "unknown" for codecs without profiles (MP3, PCM).
    let profile = stream["profile"].as_str().filter(|p| *p != "unknown");
    compare.text("profile", &track["profile"], profile);
    let pcm = stream["codec_name"]
        .as_str()
        .is_some_and(|c| c.starts_with("pcm_"));
    if stream["codec_type"] == "video" {
        compare.number("width", num(&track["width"]), num(&stream["width"]), 0.0);
        compare.number("height", num(&track["height"]), num(&stream["height"]), 0.0);
        // ffprobe's -99 is "unknown" (VP8, VP9, Theora).
        let level = num(&stream["level"]).filter(|&l| l != -99.0);
        compare.same("level", num(&track["level"]), level);
        let rate = stream["r_frame_rate"].as_str();
        compare.text("r_frame_rate", &track["r_frame_rate"], rate);
        compare.text("pix_fmt", &track["pix_fmt"], stream["pix_fmt"].as_str());
        // ffprobe says 0:1 (or nothing) for an unspecified ratio.
        let sar = stream["sample_aspect_ratio"]
            .as_str()
            .filter(|sar| !sar.starts_with("0:"));
        compare.text("sample_aspect_ratio", &track["sample_aspect_ratio"], sar);
        compare.same(
            "bits_per_raw_sample",
            num(&track["bits_per_raw_sample"]),
            num(&stream["bits_per_raw_sample"]),
        );
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
        for key in [
            "level",
            "r_frame_rate",
            "frame_rate",
            "pix_fmt",
            "sample_aspect_ratio",
            "bits_per_raw_sample",
            "tier",
        ] {
            compare.text(key, &track[key], None);
        }
    }
    // ffprobe counts PCM "frames" in arbitrary 1024-sample packets; its
    // exact figure for PCM is duration_ts, in samples.
    let frames = if pcm {
        num(&stream["duration_ts"]).or_else(|| {
            // Matroska states no duration_ts: its DURATION tag, from the
            // stream's start, in samples.
            let seconds = tag_duration(stream)? - num(&stream["start_time"]).unwrap_or(0.0);
            Some((seconds * num(&stream["sample_rate"])?).round())
        })
    } else if stream["codec_name"] == "vorbis" {
        // FFmpeg's Vorbis decoder outputs nothing for the first packet
        // (Vorbis I §1.3.2), which is a frame all the same.
        num(&stream["nb_read_frames"]).map(|f| f + 1.0)
    } else {
        num(&stream["nb_read_frames"])
    };
    match whole {
        Some(whole) => {
            compare.number(
                "frames (decoded from whole packets)",
                num(&track["frames"]),
                Some(whole.frames as f64),
                0.0,
            );
            if !whole.cut {
                compare.number("frames", num(&track["frames"]), frames, 0.0);
            }
        }
        None => compare.number("frames", num(&track["frames"]), frames, 0.0),
    }
    compare_duration(compare, track, stream, frames, whole);
}

/// Both reports print durations rounded to the microsecond.
const PRINTED: f64 = 0.5e-6;

/// ffprobe's duration of `stream` from `duration_ts` in its `time_base`:
/// exact, unlike the printed `duration`. Matroska states none: there, the
/// track's DURATION tag (its end) less its start time.
fn exact_duration(stream: &Value) -> Option<f64> {
    match num(&stream["duration_ts"]) {
        Some(ts) => Some(ts * ratio(stream["time_base"].as_str()?)?),
        None => Some(tag_duration(stream)? - num(&stream["start_time"]).unwrap_or(0.0)),
    }
}

/// A Matroska track's DURATION tag (`HH:MM:SS.nnnnnnnnn`) in seconds.
fn tag_duration(stream: &Value) -> Option<f64> {
    let tag = stream["tags"]["DURATION"].as_str()?;
    let mut parts = tag.split(':');
    let (h, m, s) = (parts.next()?, parts.next()?, parts.next()?);
    Some(h.parse::<f64>().ok()? * 3600.0 + m.parse::<f64>().ok()? * 60.0 + s.parse::<f64>().ok()?)
}

/// Our duration against ffprobe's, given ffprobe's frame count `frames`
/// (for PCM, its sample count).
///
/// Video and PCM: exactly ffprobe's (its frames at its rate; the WAVE
/// header's samples). Coded audio: our `duration_s` is our frames end to
/// end, each of the stream's real length (samples per frame, from our own
/// duration × rate / frames, over the rate), and ffprobe decodes as many
/// frames (checked above). ffprobe's stated duration, where it is not an
/// estimate from the bit rate (ADTS), is within one such frame of ours,
/// computed exactly from `duration_ts`: for a LAME/Xing MP3 it is the Xing
/// frame count, one frame more than the frames decoded when the encoder
/// delay swallows the first one, so there the difference is exactly one frame.
/// A file whose last frame is cut short: its Xing count and its size
/// overstate what is there, so ours is compared with the samples ffprobe
/// decodes from the whole packets instead, within one frame (the encoder
/// delay FFmpeg trims from the first kept frame).
///
/// MP4 (`compare.stated`): frames are as long as the container says, the
/// last one often shorter, so ours is not a whole number of frames;
/// ffprobe's duration, the edit list's, is exact, and ours, the frames the
/// edit keeps end to end, is within one frame of it.
fn compare_duration(
    compare: &mut Compare,
    track: &Value,
    stream: &Value,
    frames: Option<f64>,
    whole: Option<common::WholeFrames>,
) {
    let ours = num(&track["duration_s"]);
    let pcm = stream["codec_name"]
        .as_str()
        .is_some_and(|c| c.starts_with("pcm_"));
    if stream["codec_type"] == "video" {
        let fps = stream["r_frame_rate"].as_str().and_then(ratio);
        let theirs = frames.zip(fps).map(|(f, fps)| f / fps);
        compare.number("duration", ours, theirs, 2.0 * PRINTED);
        return;
    }
    // Ogg ends a stream at its last page's granule position, which cuts
    // the last frame (RFC 7845 §4.5, Vorbis I §A.2) as ffprobe's packets
    // do: exactly ffprobe's duration_ts (for Opus, from -pre-skip, as its
    // first packet starts).
    if pcm || compare.ogg {
        compare.number("duration", ours, exact_duration(stream), PRINTED);
        return;
    }
    let (Some(duration), Some(count), Some(rate)) =
        (ours, num(&track["frames"]), num(&track["sample_rate"]))
    else {
        compare.number("duration, frames and rate", ours, None, 0.0);
        return;
    };
    let samples_per_frame = (duration * rate / count).round();
    let frame = samples_per_frame / rate;
    if stream["codec_name"] == "vorbis" {
        // Vorbis frames are of two sizes: no frame length to multiply.
        // Within the longest frame (2048 samples at most here) of ffprobe's.
        compare.number(
            "duration (within one long frame of ffprobe's)",
            Some(duration),
            exact_duration(stream),
            2048.0 / rate,
        );
        return;
    }
    if compare.stated {
        compare.number(
            "duration (within one frame of ffprobe's duration_ts)",
            Some(duration),
            exact_duration(stream),
            frame * (1.0 + 1e-9),
        );
        return;
    }
    compare.number(
        "duration (our frames end to end)",
        ours,
        Some(count * frame),
        PRINTED,
    );
    // A live-written Matroska file states no duration: nothing to compare.
    let live = stream["tags"]["DURATION"].is_null() && stream["duration_ts"].is_null();
    if let Some(whole) = whole.filter(|w| w.cut) {
        compare.number(
            "duration (within one frame of what ffprobe decodes from whole packets)",
            Some(count * frame),
            Some(whole.samples as f64 / rate),
            frame * (1.0 + 1e-9),
        );
    } else if stream["codec_name"] != "aac" && !live {
        compare.number(
            "duration (within one frame of ffprobe's duration_ts)",
            Some(count * frame),
            exact_duration(stream),
            frame * (1.0 + 1e-9),
        );
    }
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
        .output_bounded();
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

/// Fixtures whose time base jumps (a PCR discontinuity): ffprobe's
/// `r_frame_rate` guesses from timestamps and is thrown by the jump; its
/// `avg_frame_rate` is the stream's.
const TIMESTAMP_JUMPS: [&str; 1] = ["ts_discontinuity.ts"];

/// ffprobe's report of an MPEG program or transport stream (and of any
/// file, for the unknown level) put in the terms `probe` uses, each change
/// for a reason that does not hide a disagreement:
/// - AAC in LATM (`aac_latm`) and DVD LPCM (`pcm_dvd`) are served as what
///   they carry: AAC access units (the LATM multiplex removed, RFC 3640
///   carries bare units) and big-endian PCM samples (the LPCM header
///   removed; 16-bit samples as they are, RTP's L16): `aac` and
///   `pcm_s16be`/`pcm_s24be`.
/// - Level -99 is FFmpeg's "unknown" (MPEG-1 video has no levels).
/// - An audio stream's `duration_ts` there comes from the timestamp of its
///   last PES packet, which holds several frames (those after the first
///   are not counted): replaced by the samples ffprobe decodes, in a
///   1/rate time base, which is what the duration checks compare.
/// - `r_frame_rate` of [`TIMESTAMP_JUMPS`] by `avg_frame_rate`.
fn normalize_system_streams(file: &Path, streams: &mut [Value]) {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    for stream in streams.iter_mut() {
        if stream["level"].as_i64() == Some(-99) {
            stream["level"] = Value::Null;
        }
    }
    let format = ffprobe_format_name(file);
    if format != "mpeg" && format != "mpegts" {
        return;
    }
    let samples = common::ffprobe_decoded_samples(file);
    for stream in streams.iter_mut() {
        let index = stream["index"].as_u64().unwrap() as usize;
        match stream["codec_name"].as_str() {
            Some("aac_latm") => stream["codec_name"] = "aac".into(),
            Some("pcm_dvd") => {
                let bits = num(&stream["bits_per_raw_sample"]);
                stream["codec_name"] = if bits == Some(16.0) {
                    "pcm_s16be"
                } else {
                    "pcm_s24be"
                }
                .into();
            }
            _ => {}
        }
        if stream["codec_type"] == "audio" {
            let rate = num(&stream["sample_rate"]).unwrap();
            stream["duration_ts"] = samples.get(&index).copied().unwrap_or(0).into();
            stream["time_base"] = format!("1/{rate}").into();
        }
        if TIMESTAMP_JUMPS.contains(&name.as_str()) {
            stream["r_frame_rate"] = stream["avg_frame_rate"].clone();
        }
    }
}
