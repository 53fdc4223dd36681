//! Tracks and access units: what a demuxer describes and yields.

use bytes::Bytes;

use crate::vocab::{Codec, NalFraming, Rational, TrackKind};

/// Out-of-band codec configuration, as RTP payload formats and SDP need it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodecConfig {
    /// Parameter-set NAL units (with their NAL header, without start codes):
    /// H.264 SPS then PPS; H.265 VPS, SPS then PPS.
    pub parameter_sets: Vec<Bytes>,
    /// Codec-specific configuration bytes: the AAC AudioSpecificConfig
    /// (ISO/IEC 14496-3 §1.6.2.1), Vorbis/Theora/Opus headers, etc.
    pub extradata: Bytes,
}

/// One elementary stream of a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Track {
    /// Position in [`super::Demuxer::tracks`], and the `index` in `probe` output.
    pub index: usize,
    /// The coding format.
    pub codec: Codec,
    /// Ticks per second of [`AccessUnit::pts`]/[`AccessUnit::dts`]: 90000 for
    /// elementary video streams, the sampling rate for audio.
    pub clock_rate: u32,
    /// How NAL units are delimited in this track's access units.
    pub framing: NalFraming,
    /// Parameter sets and codec-specific configuration.
    pub config: CodecConfig,
    /// Profile name, as ffprobe spells it (`High`, `Main`, `LC`...).
    pub profile: Option<String>,
    /// Nominal bit rate in bits per second, when the stream states one.
    pub bit_rate: Option<u64>,
    /// What the stream says about its pictures or its sound.
    pub params: TrackParams,
}

/// The parameters of a track, by kind.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum TrackParams {
    /// Nothing known beyond the codec (a track not yet described).
    #[default]
    None,
    /// A video track's pictures.
    Video(VideoParams),
    /// An audio track's sound.
    Audio(AudioParams),
}

/// What a video stream says about its pictures.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoParams {
    /// Displayed width in pixels (after cropping).
    pub width: u32,
    /// Displayed height in pixels (after cropping).
    pub height: u32,
    /// Frames per second as the stream signals it.
    pub frame_rate: Option<Rational>,
    /// Sample (pixel) aspect ratio from the VUI (H.264/H.265 Table E-1),
    /// when the stream specifies one.
    pub sample_aspect_ratio: Option<Rational>,
    /// Pixel format of the decoded pictures, as ffprobe's `pix_fmt`
    /// (`yuv420p`, `yuv422p10le`...).
    pub pix_fmt: Option<&'static str>,
    /// Bits per decoded sample where ffprobe reports `bits_per_raw_sample`
    /// for video (H.264's bit depth; its H.265 decoder reports none).
    pub bits_per_raw_sample: Option<u8>,
    /// The level the stream conforms to.
    pub level: Option<Level>,
    /// H.265 tier (§A.4.1): `Main` or `High`.
    pub tier: Option<&'static str>,
}

impl VideoParams {
    /// Pictures of `width` x `height` pixels, nothing else known yet.
    pub fn new(width: u32, height: u32) -> VideoParams {
        VideoParams {
            width,
            height,
            frame_rate: None,
            sample_aspect_ratio: None,
            pix_fmt: None,
            bits_per_raw_sample: None,
            level: None,
            tier: None,
        }
    }
}

/// A codec level: the number the stream codes and the name its standard
/// gives it (the codec module names it, e.g. [`crate::codec::h264::level_name`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Level {
    /// The coded value, as ffprobe reports it (H.264 `level_idc`, e.g. 31;
    /// H.265 `general_level_idc`, e.g. 93).
    pub idc: u32,
    /// The level as the standard writes it (`3.1`, `1b`).
    pub name: String,
}

/// What an audio stream says about its sound.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioParams {
    /// Samples per second.
    pub sample_rate: u32,
    /// Channels.
    pub channels: u16,
    /// Bits per coded sample (PCM, and ADPCM's 4), as ffprobe's
    /// `bits_per_sample`.
    pub bits_per_sample: Option<u16>,
    /// Bytes per block of a block-structured audio format (WAV
    /// `nBlockAlign`; for PCM, one sample frame).
    pub block_align: Option<u16>,
    /// The length a gapless decoder plays, in [`Track::clock_rate`] ticks,
    /// when the stream states its encoder delay and padding (an MP3 LAME
    /// tag): shorter than the frames, which carry priming and padding.
    pub gapless_duration: Option<u64>,
}

impl AudioParams {
    /// `channels` channels at `sample_rate` Hz, nothing else known yet.
    pub fn new(sample_rate: u32, channels: u16) -> AudioParams {
        AudioParams {
            sample_rate,
            channels,
            bits_per_sample: None,
            block_align: None,
            gapless_duration: None,
        }
    }
}

impl Track {
    /// A track of `codec` with nothing else known yet.
    pub fn new(index: usize, codec: Codec, clock_rate: u32) -> Track {
        Track {
            index,
            codec,
            clock_rate,
            framing: NalFraming::None,
            config: CodecConfig::default(),
            profile: None,
            bit_rate: None,
            params: TrackParams::None,
        }
    }

    /// Video, audio, subtitle or data.
    pub fn kind(&self) -> TrackKind {
        self.codec.kind()
    }

    /// The picture parameters of a video track.
    pub fn video(&self) -> Option<&VideoParams> {
        match &self.params {
            TrackParams::Video(video) => Some(video),
            _ => None,
        }
    }

    /// The sound parameters of an audio track.
    pub fn audio(&self) -> Option<&AudioParams> {
        match &self.params {
            TrackParams::Audio(audio) => Some(audio),
            _ => None,
        }
    }

    /// One line for logs: codec, profile and the parameters known
    /// (`h264 High, level 13, 320x240, 25/1 fps`).
    pub fn summary(&self) -> String {
        let mut parts = vec![match &self.profile {
            Some(profile) => format!("{} {profile}", self.codec),
            None => self.codec.to_string(),
        }];
        match &self.params {
            TrackParams::Video(video) => {
                if let Some(level) = &video.level {
                    parts.push(format!("level {}", level.idc));
                }
                parts.push(format!("{}x{}", video.width, video.height));
                if let Some(rate) = video.frame_rate {
                    parts.push(format!("{rate} fps"));
                }
            }
            TrackParams::Audio(audio) => {
                parts.push(format!("{} Hz", audio.sample_rate));
                parts.push(format!("{} channels", audio.channels));
            }
            TrackParams::None => {}
        }
        parts.join(", ")
    }
}

/// One access unit: a coded picture (all its NAL units), one audio frame, or
/// a block of PCM samples.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessUnit {
    /// Index of the track it belongs to.
    pub track: usize,
    /// Presentation timestamp in the track's clock.
    pub pts: i64,
    /// Decoding timestamp in the track's clock (≤ `pts`).
    pub dts: i64,
    /// Duration in the track's clock; for PCM, the number of sample frames.
    pub duration: u32,
    /// A random-access point: decoding can start here.
    pub keyframe: bool,
    /// The coded bytes, framed as the track's [`NalFraming`] says; a slice of
    /// the reader's buffer, not a copy, where the file layout allows.
    pub data: Bytes,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_list_what_is_known() {
        let mut track = Track::new(0, Codec::H264, 90_000);
        assert_eq!(track.summary(), "h264");
        track.profile = Some("High".into());
        track.params = TrackParams::Video(VideoParams {
            level: Some(Level {
                idc: 13,
                name: "1.3".into(),
            }),
            frame_rate: Rational::new(25, 1),
            ..VideoParams::new(320, 240)
        });
        assert_eq!(track.summary(), "h264 High, level 13, 320x240, 25/1 fps");
        let mut audio = Track::new(0, Codec::Aac, 48_000);
        audio.params = TrackParams::Audio(AudioParams::new(48_000, 2));
        assert_eq!(audio.summary(), "aac, 48000 Hz, 2 channels");
    }
}
