//! What ffprobe says each fixture holds: the reference that clients'
//! decoded output is checked against, one entry per track `serve`
//! streams (tracks without an RTP payload format are left out, as from
//! the SDP).

use std::process::Command;

use serde_json::Value;

use crate::common::media_fixtures;
use crate::common::Bounded;

/// A fixture and its streamed tracks, in SDP order.
#[derive(Clone, Debug)]
pub struct Reference {
    /// Path in `fixtures/` (served at the same path).
    pub name: String,
    /// The tracks `serve` streams, in the order of the SDP's `m=` lines
    /// (which is the order of the streams in ffmpeg's output).
    pub tracks: Vec<Stream>,
}

/// What ffprobe says one streamed track holds.
#[derive(Clone, Debug)]
pub struct Stream {
    /// Its position among the streamed tracks (the SDP's `m=` order).
    pub position: usize,
    /// `video` or `audio`.
    pub kind: String,
    /// ffprobe's `codec_name`.
    pub codec: String,
    /// The RTP encoding name (`H264`, `mpeg4-generic`), from `probe`.
    pub encoding: String,
    /// Its whole `a=rtpmap` value (`H264/90000`) and `a=fmtp` parameters.
    pub rtpmap: String,
    pub fmtp: Option<String>,
    /// Decoded frames (video, compressed audio) or sample frames (PCM).
    pub count: u64,
    /// Audio channels.
    pub channels: u64,
    /// Audio sample frames decoded in all (compressed audio; PCM: `count`).
    pub samples: u64,
}

impl Stream {
    /// The decoded size: frames of video, sample frames of audio.
    pub fn samples_or_frames(&self) -> u64 {
        if self.kind == "video" {
            self.count
        } else {
            self.samples
        }
    }

    /// PCM audio is counted in samples, everything else in frames.
    pub fn is_pcm(&self) -> bool {
        self.codec.starts_with("pcm_")
    }
}

impl Reference {
    /// The fixture's first (or only) streamed track.
    pub fn first(&self) -> &Stream {
        &self.tracks[0]
    }

    /// Whether any streamed track has codec `codec`.
    pub fn has_codec(&self, codec: &str) -> bool {
        self.tracks.iter().any(|t| t.codec == codec)
    }
}

/// Every media fixture (each one `mediatool probe` reads, so `serve`
/// streams it: one it cannot read fails the test rather than dropping out
/// of it), with ffprobe's exact counts for each streamed track:
/// `nb_read_frames` for video and compressed audio (for MPEG audio and ADTS
/// files the frames decoded from whole packets: a last frame cut short is
/// not served), the sample frames for PCM (`duration_ts`, or Matroska's
/// DURATION tag less the start).
pub fn references() -> Vec<Reference> {
    let mut out = Vec::new();
    for path in crate::common::streamable_fixtures() {
        let name = path
            .strip_prefix(crate::common::fixtures())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let probe = Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .args(["probe", "-q", "--format", "json"])
            .arg(&path)
            .output_bounded();
        assert!(
            probe.status.success(),
            "mediatool probe cannot read the fixture {name}: {}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let report: Value = serde_json::from_slice(&probe.stdout).unwrap();
        let streamed: Vec<&Value> = report["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["rtp"].is_null())
            .collect();
        let tracks = streamed
            .into_iter()
            .enumerate()
            .map(|(position, t)| {
                let index = t["index"].as_u64().unwrap() as usize;
                let ogg = report["format"] == "ogg";
                let mut stream = stream(&path, &name, index, position, ogg);
                stream.rtpmap = t["rtp"]["encoding"].as_str().unwrap().to_owned();
                stream.encoding = stream.rtpmap.split('/').next().unwrap().to_owned();
                stream.fmtp = t["rtp"]["fmtp"].as_str().map(str::to_owned);
                stream
            })
            .collect::<Vec<_>>();
        // Files of no track RTP carries (Speex, FLAC in Ogg) are answered
        // 415: tests/serve_ogg.rs.
        if tracks.is_empty() {
            continue;
        }
        out.push(Reference { name, tracks });
    }
    out
}

/// ffprobe's counts for stream `index` of the fixture at `path`.
///
/// Ogg Vorbis and Opus (`ogg`), whose frames vary in length: the samples a
/// decoder outputs for the stream received over RTP
/// ([`crate::common::ogg_rtp_samples`]).
fn stream(path: &std::path::Path, name: &str, index: usize, position: usize, ogg: bool) -> Stream {
    let select = index.to_string();
    let ff = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", &select])
        .args([
            "-show_entries",
            "stream=codec_type,codec_name,nb_read_frames,duration_ts,channels,\
             sample_rate,start_time:stream_tags=DURATION",
        ])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output_bounded();
    let text = String::from_utf8_lossy(&ff.stdout).into_owned();
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or("")
            .to_owned()
    };
    // AAC in LATM (transport streams) is served as AAC (RFC 3640 carries
    // the bare access units).
    let codec = match field("codec_name").as_str() {
        "aac_latm" => "aac".to_owned(),
        other => other.to_owned(),
    };
    let kind = field("codec_type");
    let count: u64 = if codec == "pcm_dvd" {
        // DVD LPCM's duration_ts is on the program stream's 90 kHz clock:
        // its samples are the ones ffprobe decodes.
        crate::common::ffprobe_decoded_samples(path)[&index]
    } else if codec.starts_with("pcm_") {
        field("duration_ts").parse().ok().unwrap_or_else(|| {
            // Matroska: the DURATION tag (HH:MM:SS.nnnnnnnnn) less the start.
            let tag = field("TAG:DURATION");
            let seconds: f64 = tag
                .split(':')
                .zip([3600.0, 60.0, 1.0])
                .map(|(part, unit)| part.parse::<f64>().unwrap_or(0.0) * unit)
                .sum();
            let start: f64 = field("start_time").parse().unwrap_or(0.0);
            let rate: f64 = field("sample_rate").parse().unwrap_or(0.0);
            ((seconds - start) * rate).round() as u64
        })
    } else if kind == "audio" && crate::common::is_audio_elementary_stream(path) {
        // A last frame cut short is not served: the frames decoded from
        // whole packets.
        crate::common::ffprobe_whole_frames(path).map_or(0, |whole| whole.frames)
    } else {
        field("nb_read_frames").parse().unwrap_or(0)
    };
    let samples = if ogg && matches!(codec.as_str(), "vorbis" | "opus") {
        crate::common::ogg_rtp_samples(path, index)
    } else if kind == "audio" && !codec.starts_with("pcm_") {
        let frames = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", &select])
            .args(["-show_entries", "frame=nb_samples", "-of", "csv=p=0"])
            .arg(path)
            .output_bounded();
        let sizes: Vec<u64> = String::from_utf8_lossy(&frames.stdout)
            .lines()
            // A frame with side data has more (empty) fields.
            .filter_map(|l| l.split(',').next()?.trim().parse().ok())
            .collect();
        if codec == "vorbis" {
            // Two block sizes: what the decoder gives, frame by frame.
            sizes.iter().sum()
        } else {
            // The largest of the frames: the first may be trimmed of
            // encoder delay (gapless MP3, Opus pre-skip), which a client
            // over RTP does not know of.
            count * sizes.iter().take(4).max().copied().unwrap_or(0)
        }
    } else {
        count
    };
    assert!(
        count > 0 && samples > 0,
        "ffprobe gave no counts for {name} stream {index}: {text}"
    );
    Stream {
        position,
        kind,
        codec,
        encoding: String::new(),
        rtpmap: String::new(),
        fmtp: None,
        count,
        channels: field("channels").parse().unwrap_or(0),
        samples,
    }
}

/// The decoded count of `stream` in ffmpeg `-f framecrc` output: frames,
/// or for PCM sample frames (framecrc carries audio as 16-bit samples).
pub fn framecrc_count(output: &str, stream: &Stream) -> u64 {
    let lines = output
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter(|l| l.split(',').next().map(str::trim) == Some(&stream.position.to_string()));
    if stream.is_pcm() {
        let bytes: u64 = lines
            .filter_map(|l| l.split(',').nth(4))
            .map(|s| s.trim().parse::<u64>().unwrap_or(0))
            .sum();
        bytes / (2 * stream.channels.max(1))
    } else {
        lines.count() as u64
    }
}
