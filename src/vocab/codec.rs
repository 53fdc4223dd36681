//! Codec identities, named as ffprobe names them (`codec_name`).

use std::fmt;

/// What a track carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TrackKind {
    /// Pictures.
    Video,
    /// Sound.
    Audio,
    /// Timed text.
    Subtitle,
    /// Anything else (timed metadata, private streams).
    Data,
}

impl TrackKind {
    /// The lower-case name used in `probe` output and in SDP `m=` lines.
    pub fn name(self) -> &'static str {
        match self {
            TrackKind::Video => "video",
            TrackKind::Audio => "audio",
            TrackKind::Subtitle => "subtitle",
            TrackKind::Data => "data",
        }
    }
}

/// Uncompressed sample layouts (RFC 3551 §4.5.10–§4.5.14 and RFC 3190 carry
/// them as L8/L16/L24/PCMU/PCMA).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PcmFormat {
    /// Unsigned 8-bit, offset 128 (WAV 8-bit, RTP L8).
    U8,
    /// Signed 16-bit little-endian (WAV).
    S16Le,
    /// Signed 16-bit big-endian (RTP L16).
    S16Be,
    /// Signed 24-bit little-endian (WAV).
    S24Le,
    /// Signed 24-bit big-endian (RTP L24).
    S24Be,
    /// Signed 32-bit little-endian (WAV).
    S32Le,
    /// IEEE float 32-bit little-endian (WAV format 3).
    F32Le,
    /// IEEE float 64-bit little-endian (WAV format 3).
    F64Le,
    /// ITU-T G.711 mu-law (RTP PCMU).
    Mulaw,
    /// ITU-T G.711 A-law (RTP PCMA).
    Alaw,
}

impl PcmFormat {
    /// Bits in one sample of one channel.
    pub fn bits(self) -> u16 {
        match self {
            PcmFormat::U8 | PcmFormat::Mulaw | PcmFormat::Alaw => 8,
            PcmFormat::S16Le | PcmFormat::S16Be => 16,
            PcmFormat::S24Le | PcmFormat::S24Be => 24,
            PcmFormat::S32Le | PcmFormat::F32Le => 32,
            PcmFormat::F64Le => 64,
        }
    }

    /// Bytes in one sample of one channel.
    pub fn bytes(self) -> usize {
        usize::from(self.bits() / 8)
    }
}

/// A codec, one variant per coding format a reader or an RTP payload
/// format handles (the container issues add theirs with their readers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Codec {
    /// ITU-T H.264 / MPEG-4 AVC.
    H264,
    /// ITU-T H.265 / HEVC.
    Hevc,
    /// MPEG-1 video (ISO/IEC 11172-2).
    Mpeg1Video,
    /// MPEG-2 video (ISO/IEC 13818-2).
    Mpeg2Video,
    /// VP8 (RFC 6386).
    Vp8,
    /// VP9.
    Vp9,
    /// AV1.
    Av1,
    /// Theora.
    Theora,
    /// MPEG-1/2 audio layer I.
    Mp1,
    /// MPEG-1/2 audio layer II.
    Mp2,
    /// MPEG-1/2/2.5 audio layer III.
    Mp3,
    /// MPEG-4 AAC.
    Aac,
    /// Dolby AC-3 (ATSC A/52).
    Ac3,
    /// Opus (RFC 6716).
    Opus,
    /// Vorbis.
    Vorbis,
    /// Uncompressed or G.711 audio.
    Pcm(PcmFormat),
    /// A codec the core can name but not stream, with ffprobe's name.
    Other(TrackKind, String),
}

impl Codec {
    /// ffprobe's `codec_name` for this codec.
    pub fn name(&self) -> &str {
        match self {
            Codec::H264 => "h264",
            Codec::Hevc => "hevc",
            Codec::Mpeg1Video => "mpeg1video",
            Codec::Mpeg2Video => "mpeg2video",
            Codec::Vp8 => "vp8",
            Codec::Vp9 => "vp9",
            Codec::Av1 => "av1",
            Codec::Theora => "theora",
            Codec::Mp1 => "mp1",
            Codec::Mp2 => "mp2",
            Codec::Mp3 => "mp3",
            Codec::Aac => "aac",
            Codec::Ac3 => "ac3",
            Codec::Opus => "opus",
            Codec::Vorbis => "vorbis",
            Codec::Pcm(format) => match format {
                PcmFormat::U8 => "pcm_u8",
                PcmFormat::S16Le => "pcm_s16le",
                PcmFormat::S16Be => "pcm_s16be",
                PcmFormat::S24Le => "pcm_s24le",
                PcmFormat::S24Be => "pcm_s24be",
                PcmFormat::S32Le => "pcm_s32le",
                PcmFormat::F32Le => "pcm_f32le",
                PcmFormat::F64Le => "pcm_f64le",
                PcmFormat::Mulaw => "pcm_mulaw",
                PcmFormat::Alaw => "pcm_alaw",
            },
            Codec::Other(_, name) => name,
        }
    }

    /// Whether the codec carries video, audio, subtitles or data.
    pub fn kind(&self) -> TrackKind {
        match self {
            Codec::H264
            | Codec::Hevc
            | Codec::Mpeg1Video
            | Codec::Mpeg2Video
            | Codec::Vp8
            | Codec::Vp9
            | Codec::Av1
            | Codec::Theora => TrackKind::Video,
            Codec::Mp1
            | Codec::Mp2
            | Codec::Mp3
            | Codec::Aac
            | Codec::Ac3
            | Codec::Opus
            | Codec::Vorbis
            | Codec::Pcm(_) => TrackKind::Audio,
            Codec::Other(kind, _) => *kind,
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
