//! The `probe` report: what is in a file and the SDP `serve` would send,
//! with the keys of the CLI contract (ffprobe's names where one exists).

use std::net::{IpAddr, Ipv4Addr};

use serde::Serialize;

use crate::media::{AudioParams, MediaInfo, VideoParams};
use crate::rtp::PayloadOptions;
use crate::sdp::{self, Destination};

/// The whole report, serialised as JSON or YAML by `probe --format`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ProbeReport {
    /// The file as given.
    pub path: String,
    /// Detected format (`h264`, `mp3`, `wav`...).
    pub format: &'static str,
    /// Longest track's duration in seconds.
    pub duration_s: f64,
    /// File size.
    pub size_bytes: u64,
    /// Average bit rate of the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    /// One entry per track.
    pub tracks: Vec<TrackReport>,
    /// The session description `serve` announces for this file; absent
    /// when no track can be streamed (`serve` refuses the file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdp: Option<String>,
}

/// One track of the report. Fields that do not apply are absent.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TrackReport {
    /// Track index.
    pub index: usize,
    /// `video`, `audio`, `subtitle` or `data`.
    pub kind: &'static str,
    /// ffprobe's `codec_name`.
    pub codec: String,
    /// ffprobe's profile name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// A video track's picture parameters.
    #[serde(flatten)]
    pub video: Option<VideoReport>,
    /// An audio track's sound parameters.
    #[serde(flatten)]
    pub audio: Option<AudioReport>,
    /// Exact frame count (PCM: sample frames).
    pub frames: u64,
    /// Exact duration in seconds: the frames end to end (for PCM, the
    /// sample frames), what RTP timestamps cover and `a=range` states.
    pub duration_s: f64,
    /// What a gapless decoder plays, in seconds, when the stream states its
    /// encoder delay and padding (MP3 LAME tag): `duration_s` less them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gapless_duration_s: Option<f64>,
    /// Average bit rate of the track's coded data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bit_rate: Option<u64>,
    /// The RTP payload format, absent when RTP cannot carry the track.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtp: Option<RtpReport>,
}

/// A video track's [`VideoParams`], spelt as ffprobe spells them.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct VideoReport {
    /// Codec level as ffprobe reports it (H.264 `level_idc`, H.265
    /// `general_level_idc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    /// The level as its standard writes it (`3.1`): for the table only.
    #[serde(skip)]
    pub level_name: Option<String>,
    /// H.265 tier, `Main` or `High` (ffprobe has no key for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tier: Option<&'static str>,
    /// ffprobe's `pix_fmt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pix_fmt: Option<&'static str>,
    /// ffprobe's `bits_per_raw_sample`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_raw_sample: Option<u8>,
    /// ffprobe's `sample_aspect_ratio`, spelt as it does (`16:11`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_aspect_ratio: Option<String>,
    /// Displayed width.
    pub width: u32,
    /// Displayed height.
    pub height: u32,
    /// Frames per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// Frame rate as an exact ratio, as ffprobe's `r_frame_rate` (`30000/1001`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub r_frame_rate: Option<String>,
}

impl From<&VideoParams> for VideoReport {
    fn from(video: &VideoParams) -> VideoReport {
        VideoReport {
            level: video.level.as_ref().map(|l| l.idc),
            level_name: video.level.as_ref().map(|l| l.name.clone()),
            tier: video.tier,
            pix_fmt: video.pix_fmt,
            bits_per_raw_sample: video.bits_per_raw_sample,
            sample_aspect_ratio: video
                .sample_aspect_ratio
                .map(|r| format!("{}:{}", r.num, r.den)),
            width: video.width,
            height: video.height,
            frame_rate: video.frame_rate.map(|r| round6(r.as_f64())),
            r_frame_rate: video.frame_rate.map(|r| r.to_string()),
        }
    }
}

/// An audio track's [`AudioParams`], spelt as ffprobe spells them.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct AudioReport {
    /// Audio sampling rate.
    pub sample_rate: u32,
    /// Audio channels.
    pub channels: u16,
    /// ffprobe's `bits_per_sample` (PCM, ADPCM).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bits_per_sample: Option<u16>,
    /// Bytes per block (WAV `nBlockAlign`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub block_align: Option<u16>,
}

impl From<&AudioParams> for AudioReport {
    fn from(audio: &AudioParams) -> AudioReport {
        AudioReport {
            sample_rate: audio.sample_rate,
            channels: audio.channels,
            bits_per_sample: audio.bits_per_sample,
            block_align: audio.block_align,
        }
    }
}

/// How a track goes over RTP.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct RtpReport {
    /// RTP payload type.
    pub payload_type: u8,
    /// `a=rtpmap` value (`H264/90000`).
    pub encoding: String,
    /// `a=fmtp` parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmtp: Option<String>,
}

impl ProbeReport {
    /// Builds the report for an inspected file, its tracks in the payload
    /// formats `payload` chooses; `path` is the name shown.
    pub fn new(info: &MediaInfo, path: &str, payload: &PayloadOptions) -> ProbeReport {
        let (streamable, skipped) = sdp::streamable_tracks(info, payload);
        // Described, never a failure: `serve` and `packetize` leave them
        // out the same way.
        if !streamable.is_empty() {
            for (index, why) in &skipped {
                tracing::warn!("track {index} is left out of the SDP: {why}");
            }
        }
        let sdp = (!streamable.is_empty()).then(|| {
            sdp::session_description(
                info,
                &streamable,
                IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                Destination::Rtsp,
                None,
            )
        });
        let tracks = info
            .tracks
            .iter()
            .zip(&info.stats)
            .map(|(track, stats)| {
                let duration = info.track_duration(track.index);
                let rtp = streamable
                    .iter()
                    .find(|s| s.index == track.index)
                    .map(|s| RtpReport {
                        payload_type: s.payload.payload_type(s.index),
                        encoding: s.payload.rtpmap(),
                        fmtp: s.payload.fmtp.clone(),
                    });
                TrackReport {
                    index: track.index,
                    kind: track.kind().name(),
                    codec: track.codec.name().to_owned(),
                    profile: track.profile.clone(),
                    video: track.video().map(VideoReport::from),
                    audio: track.audio().map(AudioReport::from),
                    frames: stats.frames,
                    duration_s: round6(duration),
                    gapless_duration_s: track
                        .audio()
                        .and_then(|a| a.gapless_duration)
                        .map(|d| round6(d as f64 / f64::from(track.clock_rate))),
                    bit_rate: (duration > 0.0)
                        .then(|| (stats.bytes as f64 * 8.0 / duration).round() as u64),
                    rtp,
                }
            })
            .collect();
        ProbeReport {
            path: path.to_owned(),
            format: info.format.name,
            duration_s: round6(info.duration()),
            size_bytes: info.size,
            bit_rate: info.bit_rate(),
            tracks,
            sdp,
        }
    }
}

/// Seconds to the microsecond, so reports do not print float noise.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
