//! The Tracks element (RFC 9559 §5.1.4): each TrackEntry as a [`Track`]
//! (codec, parameters, configuration from CodecPrivate) and what timing
//! its blocks need.

use bytes::Bytes;

use super::ebml::{float, id, string, uint, Children};
use crate::codec::av1::{find_sequence_header, Av1Config, SequenceHeader};
use crate::codec::h264::{level_name, parse_sps, SpsInfo};
use crate::codec::hevc::StreamParams;
use crate::codec::opus::OpusHead;
use crate::codec::theora;
use crate::codec::vorbis::VorbisTiming;
use crate::codec::xiph::XiphHeaders;
use crate::codec::{h264, hevc, vp9};
use crate::media::{AudioParams, Level, Track, TrackParams, VideoParams};
use crate::vocab::{Codec, NalFraming, PcmFormat, Rational, TrackKind};

/// The clock of video and subtitle tracks' timestamps: RTP's 90 kHz video
/// clock, to which Matroska's (usually millisecond) timestamps convert
/// exactly.
pub(super) const VIDEO_CLOCK: u32 = 90_000;
/// The clock of subtitle and data tracks: milliseconds.
pub(super) const TEXT_CLOCK: u32 = 1000;

/// A track of the file and what reading its blocks needs.
#[derive(Clone, Debug)]
pub(super) struct TrackInfo {
    /// `TrackNumber`: what blocks name.
    pub number: u64,
    pub track: Track,
    /// `DefaultDuration` in ns: each frame's duration, and the spacing of
    /// the frames of a lace.
    pub default_duration: Option<u64>,
    /// `CodecDelay` in ns (Opus pre-skip): subtracted from the timestamps
    /// (RFC 9559 §5.1.4.1.15), so the priming samples come before 0.
    pub codec_delay: u64,
    /// `SeekPreRoll` in ns (Opus: 80 ms): how much earlier than a seek
    /// target decoding must start to be exact.
    pub seek_preroll: u64,
    /// How the samples of one frame are counted (audio).
    pub samples: FrameSamples,
    /// Frames a picture may be decoded ahead of its presentation (H.264,
    /// H.265): how far DTS trails PTS.
    pub reorder_depth: u32,
    /// Bytes `ContentCompression` header stripping removed from every
    /// frame (RFC 9559 §5.1.4.1.31.8), put back when reading.
    pub stripped_header: Option<Bytes>,
}

/// How many samples an audio frame holds.
#[derive(Clone, Debug)]
pub(super) enum FrameSamples {
    /// Always this many (AAC 1024 or 960, AC-3 1536).
    Fixed(u32),
    /// From each frame's MPEG audio header.
    MpegAudio,
    /// From each packet's TOC (RFC 6716 §3.1), at 48 kHz.
    Opus,
    /// From the block sizes of this packet and the one before (Vorbis
    /// I §1.3.2): `previous` is the last packet's block size.
    Vorbis {
        timing: Box<VorbisTiming>,
        previous: Option<u16>,
    },
    /// Sample frames of this many bytes.
    Pcm(usize),
    /// Not audio, or not known: from DefaultDuration or BlockDuration.
    FromContainer,
}

/// Why a track cannot be read as its codec.
fn warn_track(number: u64, why: &str) {
    tracing::warn!("Matroska track {number}: {why}");
}

/// The tracks of a Tracks element's body. Entries without a number or a
/// codec, and numbers used twice, are skipped with a warning.
pub(super) fn parse_tracks(body: &[u8]) -> Vec<TrackInfo> {
    let mut out: Vec<TrackInfo> = Vec::new();
    for entry in Children::of(body).filter(|c| c.id == id::TRACK_ENTRY) {
        let Some(info) = parse_entry(entry.body, out.len()) else {
            continue;
        };
        if out.iter().any(|t| t.number == info.number) {
            warn_track(
                info.number,
                "number used twice; the second entry is skipped",
            );
            continue;
        }
        out.push(info);
    }
    out
}

/// The elements of one TrackEntry that matter here.
#[derive(Default)]
struct Entry<'a> {
    number: Option<u64>,
    track_type: Option<u64>,
    enabled: Option<u64>,
    codec_id: Option<String>,
    codec_private: Option<&'a [u8]>,
    default_duration: Option<u64>,
    codec_delay: Option<u64>,
    seek_preroll: Option<u64>,
    encodings: Option<&'a [u8]>,
    video: Option<&'a [u8]>,
    audio: Option<&'a [u8]>,
}

fn parse_entry(body: &[u8], index: usize) -> Option<TrackInfo> {
    let mut e = Entry::default();
    for child in Children::of(body) {
        match child.id {
            id::TRACK_NUMBER => e.number = uint(child.body),
            id::TRACK_TYPE => e.track_type = uint(child.body),
            id::FLAG_ENABLED => e.enabled = uint(child.body),
            id::CODEC_ID => e.codec_id = Some(string(child.body)),
            id::CODEC_PRIVATE => e.codec_private = Some(child.body),
            id::DEFAULT_DURATION => e.default_duration = uint(child.body).filter(|&d| d > 0),
            id::CODEC_DELAY => e.codec_delay = uint(child.body),
            id::SEEK_PRE_ROLL => e.seek_preroll = uint(child.body),
            id::CONTENT_ENCODINGS => e.encodings = Some(child.body),
            id::VIDEO => e.video = Some(child.body),
            id::AUDIO => e.audio = Some(child.body),
            _ => {}
        }
    }
    let number = e.number.filter(|&n| n > 0)?;
    let Some(codec_id) = e.codec_id.clone() else {
        warn_track(number, "no CodecID; skipped");
        return None;
    };
    if e.enabled == Some(0) {
        tracing::debug!("Matroska track {number} is flagged disabled; read anyway");
    }
    let private = Bytes::copy_from_slice(e.codec_private.unwrap_or_default());
    let kind = match e.track_type {
        Some(1) => TrackKind::Video,
        Some(2) => TrackKind::Audio,
        Some(0x11) => TrackKind::Subtitle,
        _ => TrackKind::Data,
    };
    let mut info = TrackInfo {
        number,
        track: Track::new(index, codec_of(&codec_id, kind, &e), 0),
        default_duration: e.default_duration,
        codec_delay: e.codec_delay.unwrap_or(0),
        seek_preroll: e.seek_preroll.unwrap_or(0),
        samples: FrameSamples::FromContainer,
        reorder_depth: 0,
        stripped_header: None,
    };
    if let Some(encodings) = e.encodings {
        match header_stripping(encodings) {
            Ok(stripped) => info.stripped_header = stripped,
            Err(why) => {
                warn_track(number, &format!("{why}; its frames are not read"));
                let name = info.track.codec.name().to_owned();
                info.track.codec = Codec::Other(info.track.kind(), name);
            }
        }
    }
    match info.track.kind() {
        TrackKind::Video => describe_video(&mut info, e.video.unwrap_or_default(), private),
        TrackKind::Audio => describe_audio(&mut info, e.audio.unwrap_or_default(), private),
        TrackKind::Subtitle | TrackKind::Data => {
            info.track.clock_rate = TEXT_CLOCK;
            info.track.config.extradata = private;
        }
    }
    Some(info)
}

/// The codec a CodecID names (RFC 9559 §5.1.4.1.21 and the Matroska codec
/// mappings), spelt as ffprobe spells it for the codecs not streamed.
fn codec_of(codec_id: &str, kind: TrackKind, e: &Entry) -> Codec {
    let bits = e
        .audio
        .and_then(|a| Children::of(a).find(|c| c.id == id::BIT_DEPTH))
        .and_then(|c| uint(c.body));
    let other = |name: &str| Codec::Other(kind, name.to_owned());
    match codec_id {
        "V_MPEG4/ISO/AVC" => Codec::H264,
        "V_MPEGH/ISO/HEVC" => Codec::Hevc,
        "V_VP8" => Codec::Vp8,
        "V_VP9" => Codec::Vp9,
        "V_AV1" => Codec::Av1,
        "V_THEORA" => Codec::Theora,
        "V_MPEG1" => Codec::Mpeg1Video,
        "V_MPEG2" => Codec::Mpeg2Video,
        "A_MPEG/L1" => Codec::Mp1,
        "A_MPEG/L2" => Codec::Mp2,
        "A_MPEG/L3" => Codec::Mp3,
        "A_AC3" => Codec::Ac3,
        "A_OPUS" => Codec::Opus,
        "A_VORBIS" => Codec::Vorbis,
        id if id == "A_AAC" || id.starts_with("A_AAC/") => Codec::Aac,
        "A_PCM/INT/LIT" => match bits {
            Some(8) => Codec::Pcm(PcmFormat::U8),
            Some(16) => Codec::Pcm(PcmFormat::S16Le),
            Some(24) => Codec::Pcm(PcmFormat::S24Le),
            Some(32) => Codec::Pcm(PcmFormat::S32Le),
            _ => other("pcm_s16le"),
        },
        "A_PCM/INT/BIG" => match bits {
            Some(16) => Codec::Pcm(PcmFormat::S16Be),
            Some(24) => Codec::Pcm(PcmFormat::S24Be),
            Some(32) => other("pcm_s32be"),
            _ => other("pcm_s16be"),
        },
        "A_PCM/FLOAT/IEEE" => match bits {
            Some(64) => Codec::Pcm(PcmFormat::F64Le),
            _ => Codec::Pcm(PcmFormat::F32Le),
        },
        "A_EAC3" => other("eac3"),
        "A_DTS" => other("dts"),
        "A_FLAC" => other("flac"),
        "A_TRUEHD" => other("truehd"),
        "A_ALAC" => other("alac"),
        "V_MPEG4/ISO/ASP" | "V_MPEG4/ISO/SP" | "V_MPEG4/ISO/AP" => other("mpeg4"),
        "V_PRORES" => other("prores"),
        "V_FFV1" => other("ffv1"),
        "S_TEXT/UTF8" => other("subrip"),
        "S_TEXT/ASS" | "S_TEXT/SSA" | "S_ASS" | "S_SSA" => other("ass"),
        "S_TEXT/WEBVTT" => other("webvtt"),
        "S_VOBSUB" => other("dvd_subtitle"),
        "S_HDMV/PGS" => other("hdmv_pgs_subtitle"),
        "S_DVBSUB" => other("dvb_subtitle"),
        id => other(&id.to_ascii_lowercase()),
    }
}

/// The header bytes a track's ContentEncodings strip from every frame,
/// if that is all they do (the only encoding read: RFC 9559
/// §5.1.4.1.31.8, algorithm 3); zlib and bzlib compression and
/// encryption are refused.
fn header_stripping(encodings: &[u8]) -> Result<Option<Bytes>, &'static str> {
    const CONTENT_ENCODING: u32 = 0x6240;
    const CONTENT_COMPRESSION: u32 = 0x5034;
    const CONTENT_ENCRYPTION: u32 = 0x5035;
    const COMP_ALGO: u32 = 0x4254;
    const COMP_SETTINGS: u32 = 0x4255;
    let mut stripped = None;
    for encoding in Children::of(encodings).filter(|c| c.id == CONTENT_ENCODING) {
        for part in Children::of(encoding.body) {
            match part.id {
                CONTENT_ENCRYPTION => return Err("encrypted"),
                CONTENT_COMPRESSION => {
                    let children: Vec<_> = Children::of(part.body).collect();
                    let algo = children
                        .iter()
                        .find(|c| c.id == COMP_ALGO)
                        .and_then(|c| uint(c.body))
                        .unwrap_or(0);
                    if algo != 3 {
                        return Err("compressed (zlib, bzlib or lzo)");
                    }
                    let settings = children.iter().find(|c| c.id == COMP_SETTINGS);
                    stripped = settings.map(|c| Bytes::copy_from_slice(c.body));
                }
                _ => {}
            }
        }
    }
    Ok(stripped)
}

/// The Video element's values that matter here.
struct VideoElement {
    width: u32,
    height: u32,
    /// `DisplayWidth`/`DisplayHeight` in pixels (DisplayUnit 0), when given.
    display: Option<(u32, u32)>,
}

fn video_element(body: &[u8]) -> VideoElement {
    let (mut width, mut height, mut dw, mut dh, mut unit) = (0, 0, None, None, 0);
    for c in Children::of(body) {
        let value = uint(c.body).and_then(|v| u32::try_from(v).ok());
        match c.id {
            id::PIXEL_WIDTH => width = value.unwrap_or(0),
            id::PIXEL_HEIGHT => height = value.unwrap_or(0),
            id::DISPLAY_WIDTH => dw = value,
            id::DISPLAY_HEIGHT => dh = value,
            id::DISPLAY_UNIT => unit = value.unwrap_or(0),
            _ => {}
        }
    }
    VideoElement {
        width,
        height,
        display: dw.zip(dh).filter(|_| unit == 0),
    }
}

/// A video track's clock, framing, configuration and parameters, from its
/// Video element and CodecPrivate (avcC, hvcC, av1C, Theora's headers).
fn describe_video(info: &mut TrackInfo, video: &[u8], private: Bytes) {
    let element = video_element(video);
    let track = &mut info.track;
    track.clock_rate = VIDEO_CLOCK;
    // The container's sample aspect ratio: display size over pixel size,
    // 1:1 when no display size is given (as FFmpeg's demuxer reads it).
    let (dw, dh) = element.display.unwrap_or((element.width, element.height));
    let mut params = VideoParams {
        frame_rate: info.default_duration.and_then(frame_rate_of),
        sample_aspect_ratio: Rational::reduced(
            u64::from(dw) * u64::from(element.height),
            u64::from(dh) * u64::from(element.width),
        ),
        ..VideoParams::new(element.width, element.height)
    };
    match track.codec {
        Codec::H264 => match h264::AvcConfig::parse(&private) {
            Ok(config) => {
                track.framing = NalFraming::LengthPrefixed(config.length_size);
                let sps = config.parameter_sets.iter().find(|n| n[0] & 0x1f == 7);
                if let Some(sps) = sps {
                    if let Ok(sps_info) = parse_sps(sps).and_then(|s| SpsInfo::new(&s)) {
                        track.profile = Some(sps_info.profile().into_owned());
                        params.width = sps_info.width;
                        params.height = sps_info.height;
                        params.pix_fmt = sps_info.pix_fmt;
                        params.bits_per_raw_sample = Some(sps_info.bit_depth);
                        params.level = Some(Level {
                            idc: u32::from(sps_info.level_idc),
                            name: level_name(u32::from(sps_info.level_idc)),
                        });
                        if params.frame_rate.is_none() || sps_info.frame_rate_signalled {
                            params.frame_rate = Some(sps_info.frame_rate);
                        }
                        info.reorder_depth = sps_info.reorder_depth;
                    }
                }
                track.config.parameter_sets = config.parameter_sets;
            }
            Err(why) => warn_track(info.number, &format!("avcC CodecPrivate: {why}")),
        },
        Codec::Hevc => match hevc::HevcConfig::parse(&private) {
            Ok(config) => {
                track.framing = NalFraming::LengthPrefixed(config.length_size);
                if let Some(p) =
                    StreamParams::from_nal_units(config.parameter_sets.iter().map(|n| &n[..]))
                {
                    track.profile = p.profile.map(str::to_owned);
                    params.width = p.width;
                    params.height = p.height;
                    params.pix_fmt = p.pix_fmt;
                    params.tier = Some(p.tier);
                    params.level = Some(Level {
                        idc: u32::from(p.level_idc),
                        name: hevc::level_name(u32::from(p.level_idc)),
                    });
                    if params.frame_rate.is_none() || p.frame_rate_signalled {
                        params.frame_rate = Some(p.frame_rate);
                    }
                    info.reorder_depth = u32::from(p.max_num_reorder_pics);
                }
                track.config.parameter_sets = config.parameter_sets;
            }
            Err(why) => warn_track(info.number, &format!("hvcC CodecPrivate: {why}")),
        },
        Codec::Av1 => {
            if let Ok(config) = Av1Config::parse(&private) {
                let header = find_sequence_header(config.config_obus)
                    .and_then(|obu| SequenceHeader::parse(obu.payload).ok());
                if let Some(header) = header {
                    track.profile = Some(header.profile_name().to_owned());
                    params.pix_fmt = Some(header.pix_fmt());
                    params.level = Some(Level {
                        idc: u32::from(header.level_idx),
                        name: header.level_idx.to_string(),
                    });
                }
            }
            track.config.extradata = private;
        }
        Codec::Vp8 => params.pix_fmt = Some("yuv420p"),
        Codec::Vp9 => {
            track.profile = vp9::config_profile(&private).map(|p| format!("Profile {p}"));
            track.config.extradata = private;
        }
        Codec::Theora => {
            match XiphHeaders::from_codec_private(&private)
                .ok()
                .and_then(|h| theora::Identification::parse(&h.identification).ok())
            {
                Some(ident) => {
                    let (width, height) = ident.display_size();
                    params.width = width;
                    params.height = height;
                    params.pix_fmt = Some(ident.pixel_format.name());
                    params.frame_rate = Some(ident.frame_rate);
                }
                None => warn_track(info.number, "Theora headers do not parse"),
            }
            track.config.extradata = private;
        }
        _ => track.config.extradata = private,
    }
    track.params = TrackParams::Video(params);
}

/// A frame rate from a frame duration in ns: exact for whole numbers of
/// frames per second and the NTSC rates (1001 denominators), as muxers
/// round them to the nanosecond.
fn frame_rate_of(duration_ns: u64) -> Option<Rational> {
    let fps = 1e9 / duration_ns as f64;
    let whole = fps.round();
    if whole >= 1.0 && (fps - whole).abs() < 1e-3 {
        return Rational::new(whole as u32, 1);
    }
    let ntsc = (fps * 1.001).round();
    if (fps - ntsc / 1.001).abs() < 1e-3 {
        // A hostile duration of a few ns is billions of frames a second:
        // past u32 it is no NTSC rate.
        if let Some(rate) = (ntsc as u32).checked_mul(1000) {
            return Rational::new(rate, 1001);
        }
    }
    Rational::reduced(1_000_000_000, duration_ns)
}

/// An audio track's clock (its sample rate), configuration and
/// parameters, from its Audio element and CodecPrivate.
fn describe_audio(info: &mut TrackInfo, audio: &[u8], private: Bytes) {
    let (mut rate, mut channels, mut bits) = (8000.0, 1u64, None);
    for c in Children::of(audio) {
        match c.id {
            id::SAMPLING_FREQUENCY => rate = float(c.body).unwrap_or(rate),
            id::CHANNELS => channels = uint(c.body).unwrap_or(1),
            id::BIT_DEPTH => bits = uint(c.body).and_then(|b| u16::try_from(b).ok()),
            _ => {}
        }
    }
    let rate = if rate.is_finite() && (1.0..=1e6).contains(&rate) {
        rate.round() as u32
    } else {
        warn_track(
            info.number,
            "sampling frequency out of range; 8000 Hz assumed",
        );
        8000
    };
    let channels = u16::try_from(channels.clamp(1, 255)).unwrap_or(1);
    let track = &mut info.track;
    let mut params = AudioParams::new(rate, channels);
    track.clock_rate = rate;
    info.samples = match &track.codec {
        Codec::Aac => {
            let config = if private.is_empty() {
                synthetic_audio_specific_config(rate, channels)
            } else {
                private
            };
            let object_type = config.first().map_or(2, |b| b >> 3);
            track.profile = Some(aac_profile(object_type).to_owned());
            // frameLengthFlag: 960-sample frames.
            let short = config.get(1).is_some_and(|b| b & 0x04 != 0);
            track.config.extradata = config;
            FrameSamples::Fixed(if short { 960 } else { 1024 })
        }
        Codec::Ac3 => FrameSamples::Fixed(1536),
        Codec::Mp1 | Codec::Mp2 | Codec::Mp3 => FrameSamples::MpegAudio,
        Codec::Opus => {
            track.clock_rate = 48_000;
            params.sample_rate = 48_000;
            if let Ok(head) = OpusHead::parse(&private) {
                params.channels = u16::from(head.channels);
            }
            track.config.extradata = private;
            FrameSamples::Opus
        }
        Codec::Vorbis => {
            let timing = XiphHeaders::from_codec_private(&private)
                .ok()
                .and_then(|h| VorbisTiming::from_headers(&h).ok());
            track.config.extradata = private;
            match timing {
                Some(timing) => FrameSamples::Vorbis {
                    timing: Box::new(timing),
                    previous: None,
                },
                None => {
                    warn_track(info.number, "Vorbis headers do not parse");
                    FrameSamples::FromContainer
                }
            }
        }
        Codec::Pcm(format) => {
            let bytes = format.bytes() * usize::from(channels);
            params.bits_per_sample = Some(format.bits());
            params.block_align = u16::try_from(bytes).ok();
            FrameSamples::Pcm(bytes)
        }
        _ => {
            params.bits_per_sample = bits;
            track.config.extradata = private;
            FrameSamples::FromContainer
        }
    };
    track.params = TrackParams::Audio(params);
}

/// ffprobe's AAC profile names by audio object type (ISO/IEC 14496-3
/// Table 1.1).
fn aac_profile(object_type: u8) -> &'static str {
    match object_type {
        1 => "Main",
        2 => "LC",
        3 => "SSR",
        4 => "LTP",
        5 => "HE-AAC",
        29 => "HE-AACv2",
        _ => "LC",
    }
}

/// An AAC LC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1) for the old
/// `A_AAC/MPEG4/LC`-style tracks that carry none.
fn synthetic_audio_specific_config(rate: u32, channels: u16) -> Bytes {
    const RATES: [u32; 13] = [
        96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
    ];
    let index = RATES.iter().position(|&r| r == rate).unwrap_or(4) as u8;
    let channels = (channels.min(7)) as u8;
    Bytes::from(vec![
        (2 << 3) | (index >> 1),
        ((index & 1) << 7) | (channels << 3),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_rates_from_durations() {
        assert_eq!(frame_rate_of(40_000_000), Rational::new(25, 1));
        assert_eq!(frame_rate_of(33_366_667), Rational::new(30_000, 1001));
        assert_eq!(frame_rate_of(41_708_333), Rational::new(24_000, 1001));
        assert_eq!(frame_rate_of(16_666_667), Rational::new(60, 1));
        // 7 ns (a fuzzed file): 143,000,000/1.001 frames a second would
        // overflow the NTSC numerator; the exact ratio is given instead.
        assert_eq!(frame_rate_of(7), Rational::reduced(1_000_000_000, 7));
    }

    #[test]
    fn codec_ids() {
        let e = Entry::default();
        assert_eq!(
            codec_of("A_AAC/MPEG4/LC/SBR", TrackKind::Audio, &e),
            Codec::Aac
        );
        assert_eq!(
            codec_of("S_TEXT/UTF8", TrackKind::Subtitle, &e).name(),
            "subrip"
        );
        assert_eq!(
            codec_of("A_PCM/FLOAT/IEEE", TrackKind::Audio, &e),
            Codec::Pcm(PcmFormat::F32Le)
        );
        assert_eq!(synthetic_audio_specific_config(48000, 2)[..], [0x11, 0x90]);
    }
}
