//! What ffprobe says each fixture holds: the reference that clients'
//! decoded output is checked against.

use std::process::Command;

/// What ffprobe says a fixture holds: the reference the clients' decoded
/// output is checked against.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Path in `fixtures/` (served at the same path).
    pub name: String,
    /// `video` or `audio`.
    pub kind: String,
    /// ffprobe's `codec_name`.
    pub codec: String,
    /// Decoded frames (video, compressed audio) or sample frames (PCM).
    pub count: u64,
    /// Audio channels.
    pub channels: u64,
    /// Samples in each decoded frame of compressed audio (0 otherwise).
    pub frame_samples: u64,
}

impl Reference {
    /// The decoded size: frames of video, sample frames of audio.
    pub fn samples_or_frames(&self) -> u64 {
        match self.frame_samples {
            0 => self.count,
            n => self.count * n,
        }
    }

    /// PCM audio is counted in samples, everything else in frames.
    pub fn is_pcm(&self) -> bool {
        self.codec.starts_with("pcm_")
    }
}

/// Every media fixture (each one `mediatool probe` reads, so `serve`
/// streams it: one it cannot read fails the test rather than dropping out
/// of it), with ffprobe's exact counts: `nb_read_frames` for video and
/// compressed audio, `duration_ts` (sample frames) for PCM.
pub fn references() -> Vec<Reference> {
    let mut out = Vec::new();
    // Files of several tracks are played by tests/serve_mpeg.rs.
    let files = crate::common::streamable_fixtures()
        .into_iter()
        .filter(|f| !crate::common::is_multitrack(f));
    for path in files {
        let name = path
            .strip_prefix(crate::common::fixtures())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let probe = Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .args(["probe", "-q"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            probe.status.success(),
            "mediatool probe cannot read the fixture {name}: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let ff = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "0"])
            .args([
                "-show_entries",
                "stream=codec_type,codec_name,nb_read_frames,duration_ts,channels",
            ])
            .args(["-of", "default=noprint_wrappers=1"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&ff.stdout).into_owned();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or("")
                .to_owned()
        };
        // AAC in LATM (transport streams) is served as AAC (RFC 3640
        // carries the bare access units).
        let codec = match field("codec_name").as_str() {
            "aac_latm" => "aac".to_owned(),
            other => other.to_owned(),
        };
        let count = if codec.starts_with("pcm_") {
            field("duration_ts")
        } else {
            field("nb_read_frames")
        };
        let kind = field("codec_type");
        let frame_samples = if kind == "audio" && !codec.starts_with("pcm_") {
            let first = Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-select_streams",
                    "0",
                    "-read_intervals",
                    "%+#4",
                ])
                .args(["-show_entries", "frame=nb_samples", "-of", "csv=p=0"])
                .arg(&path)
                .output()
                .unwrap();
            // The largest of the first frames: the first may be trimmed
            // of encoder delay (gapless MP3).
            String::from_utf8_lossy(&first.stdout)
                .lines()
                // `1536,` for frames with side data (AC-3).
                .filter_map(|l| l.split(',').next().unwrap().trim().parse().ok())
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        let count: u64 = count.parse().unwrap_or(0);
        assert!(
            count > 0 && (kind == "video" || codec.starts_with("pcm_") || frame_samples > 0),
            "ffprobe gave no counts for {name}: {text}"
        );
        out.push(Reference {
            name,
            kind,
            codec,
            count,
            channels: field("channels").parse().unwrap_or(0),
            frame_samples,
        });
    }
    out
}

/// The decoded count in ffmpeg `-f framecrc` output: frames, or for PCM
/// sample frames (framecrc carries audio as 16-bit samples).
pub fn framecrc_count(output: &str, reference: &Reference) -> u64 {
    let lines = output
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    if reference.is_pcm() {
        let bytes: u64 = lines
            .filter_map(|l| l.split(',').nth(4))
            .map(|s| s.trim().parse::<u64>().unwrap_or(0))
            .sum();
        bytes / (2 * reference.channels.max(1))
    } else {
        lines.count() as u64
    }
}
