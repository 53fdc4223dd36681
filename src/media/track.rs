//! Tracks and access units: what a demuxer describes and yields.

use std::fmt;

use bytes::Bytes;

use super::codec::{Codec, TrackKind};

/// An exact ratio, e.g. a frame rate of 30000/1001.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rational {
    /// Numerator.
    pub num: u32,
    /// Denominator (never zero).
    pub den: u32,
}

impl Rational {
    /// `num/den`, or `None` when either is zero.
    pub fn new(num: u32, den: u32) -> Option<Rational> {
        (num != 0 && den != 0).then_some(Rational { num, den })
    }

    /// `num/den` in lowest terms; `None` when either is zero or the reduced
    /// terms do not fit 32 bits (timing information of H.264 §E.2.1 and
    /// H.265 §E.3.1 gives ratios of 32-bit values, times 2 in H.264).
    pub fn reduced(num: u64, den: u64) -> Option<Rational> {
        let (mut a, mut b) = (num, den);
        while b != 0 {
            (a, b) = (b, a % b);
        }
        if a == 0 {
            return None;
        }
        Rational::new(u32::try_from(num / a).ok()?, u32::try_from(den / a).ok()?)
    }

    /// The ratio as a float.
    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for Rational {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// How the NAL units of an H.264/H.265 access unit are delimited in
/// [`AccessUnit::data`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum NalFraming {
    /// Not a NAL-based codec: the data is one coded frame.
    #[default]
    None,
    /// ITU-T H.264 Annex B start codes (`00 00 01` / `00 00 00 01`), as in
    /// elementary streams and MPEG-TS/PS.
    AnnexB,
    /// Big-endian length prefixes of this many bytes (1, 2 or 4), as in MP4
    /// (ISO/IEC 14496-15) and Matroska.
    LengthPrefixed(u8),
}

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
    /// Level as ffprobe reports it (H.264: `level_idc`, e.g. 31; H.265: `general_level_idc`).
    pub level: Option<u32>,
    /// H.265 tier (§A.4.1): `Main` or `High`.
    pub tier: Option<&'static str>,
    /// Pixel format of the decoded pictures, as ffprobe's `pix_fmt`
    /// (`yuv420p`, `yuv422p10le`...).
    pub pix_fmt: Option<&'static str>,
    /// Bits per decoded sample where ffprobe reports `bits_per_raw_sample`
    /// for video (H.264's bit depth; its H.265 decoder reports none).
    pub bits_per_raw_sample: Option<u8>,
    /// Sample (pixel) aspect ratio from the VUI (H.264/H.265 Table E-1),
    /// when the stream specifies one.
    pub sample_aspect_ratio: Option<Rational>,
    /// Displayed width in pixels (after cropping).
    pub width: Option<u32>,
    /// Displayed height in pixels (after cropping).
    pub height: Option<u32>,
    /// Frames per second as the stream signals it.
    pub frame_rate: Option<Rational>,
    /// Audio samples per second.
    pub sample_rate: Option<u32>,
    /// Audio channels.
    pub channels: Option<u16>,
    /// Bits per coded sample (PCM, and ADPCM's 4), as ffprobe's
    /// `bits_per_sample`.
    pub bits_per_sample: Option<u16>,
    /// Bytes per block of a block-structured audio format (WAV
    /// `nBlockAlign`; for PCM, one sample frame).
    pub block_align: Option<u16>,
    /// Nominal bit rate in bits per second, when the stream states one.
    pub bit_rate: Option<u64>,
    /// The length a gapless decoder plays, in [`clock_rate`](Self::clock_rate)
    /// ticks, when the stream states its encoder delay and padding (an MP3
    /// LAME tag): shorter than the frames, which carry priming and padding.
    pub gapless_duration: Option<u64>,
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
            level: None,
            tier: None,
            pix_fmt: None,
            bits_per_raw_sample: None,
            sample_aspect_ratio: None,
            width: None,
            height: None,
            frame_rate: None,
            sample_rate: None,
            channels: None,
            bits_per_sample: None,
            block_align: None,
            bit_rate: None,
            gapless_duration: None,
        }
    }

    /// Video, audio, subtitle or data.
    pub fn kind(&self) -> TrackKind {
        self.codec.kind()
    }

    /// One line for logs: codec, profile and the parameters known
    /// (`h264 High, level 13, 320x240, 25/1 fps`).
    pub fn summary(&self) -> String {
        let mut parts = vec![match &self.profile {
            Some(profile) => format!("{} {profile}", self.codec),
            None => self.codec.to_string(),
        }];
        if let Some(level) = self.level {
            parts.push(format!("level {level}"));
        }
        if let (Some(w), Some(h)) = (self.width, self.height) {
            parts.push(format!("{w}x{h}"));
        }
        if let Some(rate) = self.frame_rate {
            parts.push(format!("{rate} fps"));
        }
        if let Some(rate) = self.sample_rate {
            parts.push(format!("{rate} Hz"));
        }
        if let Some(channels) = self.channels {
            parts.push(format!("{channels} channels"));
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
        track.level = Some(13);
        (track.width, track.height) = (Some(320), Some(240));
        track.frame_rate = Rational::new(25, 1);
        assert_eq!(track.summary(), "h264 High, level 13, 320x240, 25/1 fps");
        let mut audio = Track::new(0, Codec::Aac, 48_000);
        (audio.sample_rate, audio.channels) = (Some(48_000), Some(2));
        assert_eq!(audio.summary(), "aac, 48000 Hz, 2 channels");
    }

    #[test]
    fn ratios_reduce_to_lowest_terms() {
        assert_eq!(Rational::reduced(60000, 2002), Rational::new(30000, 1001));
        assert_eq!(Rational::reduced(50, 2), Rational::new(25, 1));
        assert_eq!(Rational::reduced(0, 1), None);
        assert_eq!(Rational::reduced(1, 0), None);
        assert_eq!(Rational::reduced(1 << 33, 3), None);
        assert_eq!(Rational::reduced(1 << 33, 2), None);
        assert_eq!(
            Rational::reduced(u64::from(u32::MAX) * 2, 2),
            Rational::new(u32::MAX, 1)
        );
    }
}
