//! Sample descriptions (ISO/IEC 14496-12 §8.5.2, QuickTime File Format
//! "Sample description atoms") as tracks: the codec, named as ffprobe names
//! it, its configuration (parameter sets from `avcC`/`hvcC`, the
//! AudioSpecificConfig from `esds`, an OpusHead made from `dOps`) and the
//! picture or sound parameters.

use bytes::Bytes;

use super::boxes::{Fields, FourCc};
use super::movie::{SampleEntry, Trak};
use crate::codec::aac::AudioSpecificConfig;
use crate::codec::h264::{level_name as h264_level, parse_sps, AvcConfig, SpsInfo};
use crate::codec::hevc::{level_name as hevc_level, HevcConfig, StreamParams};
use crate::codec::{ac3, opus};
use crate::media::{AudioParams, Level, MediaError, Result, Track, TrackParams, VideoParams};
use crate::vocab::{Codec, NalFraming, PcmFormat, Rational, TrackKind};

/// Bytes of a VisualSampleEntry before its boxes (§12.1.3).
const VISUAL_FIELDS: usize = 78;

/// Bytes of an AudioSampleEntry (and QuickTime sound description version
/// 0) before its boxes (§12.2.3).
const AUDIO_FIELDS: usize = 28;

/// A track as its sample description describes it.
#[derive(Clone, Debug)]
pub(super) struct Described {
    pub track: Track,
    /// PCM: bytes per sample frame, read in runs of frames (0 otherwise).
    pub frame_bytes: u64,
    /// MPEG audio whose layer its first frame tells (`mp4a` with an MPEG-1/2
    /// audio object type, `.mp3`).
    pub mpeg_audio: bool,
    /// The frame rate the video stream's parameter sets signal, if any.
    pub signalled_rate: Option<Rational>,
}

/// The track `trak` describes (its index set by the caller).
pub(super) fn describe(trak: &Trak, chapter: bool) -> Result<Described> {
    let handler = &trak.handler;
    let fallback = |kind: TrackKind, codec: &str| Described {
        track: Track::new(0, Codec::Other(kind, codec.to_owned()), trak.timescale),
        frame_bytes: 0,
        mpeg_audio: false,
        signalled_rate: None,
    };
    let Some(entry) = &trak.entry else {
        return Ok(fallback(kind_of(handler), "unknown"));
    };
    match handler {
        b"vide" => describe_video(trak, entry),
        b"soun" => describe_audio(trak, entry),
        b"text" | b"sbtl" | b"subt" if chapter => Ok(fallback(TrackKind::Data, "bin_data")),
        b"text" | b"sbtl" | b"subt" => Ok(fallback(
            TrackKind::Subtitle,
            match &entry.kind {
                b"tx3g" | b"text" => "mov_text",
                b"wvtt" => "webvtt",
                b"stpp" => "ttml",
                _ => "unknown",
            },
        )),
        _ => Ok(fallback(TrackKind::Data, "unknown")),
    }
}

/// The kind of track a handler type means.
fn kind_of(handler: &FourCc) -> TrackKind {
    match handler {
        b"vide" => TrackKind::Video,
        b"soun" => TrackKind::Audio,
        b"text" | b"sbtl" | b"subt" => TrackKind::Subtitle,
        _ => TrackKind::Data,
    }
}

/// The boxes after the first `skip` bytes of a sample entry body: (type,
/// file offset of the body, body).
fn boxes(entry_body: &[u8], base: u64, skip: usize) -> Vec<(FourCc, u64, &[u8])> {
    let mut out = Vec::new();
    let mut pos = skip;
    while pos + 8 <= entry_body.len() {
        let size = u32::from_be_bytes(entry_body[pos..pos + 4].try_into().expect("4 bytes"));
        let kind = [
            entry_body[pos + 4],
            entry_body[pos + 5],
            entry_body[pos + 6],
            entry_body[pos + 7],
        ];
        let size = match size {
            0 => entry_body.len() - pos,
            n if (n as usize) < 8 => break,
            n => (n as usize).min(entry_body.len() - pos),
        };
        out.push((
            kind,
            base + pos as u64 + 8,
            &entry_body[pos + 8..pos + size],
        ));
        pos += size;
    }
    out
}

/// The body of the first box of type `kind` among `boxes`, looking inside
/// a QuickTime `wave` box too.
fn find<'a>(boxes: &[(FourCc, u64, &'a [u8])], kind: &FourCc) -> Option<(u64, &'a [u8])> {
    boxes.iter().find_map(|(k, at, body)| {
        if k == kind {
            Some((*at, *body))
        } else if k == b"wave" {
            find(&self::boxes(body, *at, 0), kind)
        } else {
            None
        }
    })
}

fn describe_video(trak: &Trak, entry: &SampleEntry) -> Result<Described> {
    let mut f = Fields::new(&entry.body, entry.offset, "visual sample entry");
    f.skip(24)?;
    let width = u32::from(f.u16()?);
    let height = u32::from(f.u16()?);
    let children = boxes(
        &entry.body,
        entry.offset,
        VISUAL_FIELDS.min(entry.body.len()),
    );
    let mut track = Track::new(0, Codec::H264, trak.timescale);
    let mut signalled_rate = None;
    match &entry.kind {
        b"avc1" | b"avc3" => {
            let (at, record) = find(&children, b"avcC").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'avc1' sample entry without 'avcC'")
            })?;
            let config = AvcConfig::parse(record)
                .map_err(|e| MediaError::invalid(at, format!("'avcC': {e}")))?;
            track.framing = NalFraming::LengthPrefixed(config.length_size);
            track.config.parameter_sets = config.parameter_sets;
            let sps = track
                .config
                .parameter_sets
                .iter()
                .find(|n| n.first().is_some_and(|b| b & 0x1f == 7))
                .ok_or_else(|| MediaError::invalid(at, "'avcC' holds no sequence parameter set"))?;
            let info = parse_sps(sps)
                .and_then(|sps| SpsInfo::new(&sps))
                .map_err(|e| MediaError::invalid(at, format!("'avcC' SPS: {e}")))?;
            track.profile = Some(info.profile().into_owned());
            signalled_rate = info.frame_rate_signalled.then_some(info.frame_rate);
            let level = u32::from(info.level_idc);
            track.params = TrackParams::Video(VideoParams {
                sample_aspect_ratio: info.sample_aspect_ratio,
                pix_fmt: info.pix_fmt,
                bits_per_raw_sample: Some(info.bit_depth),
                level: Some(Level {
                    idc: level,
                    name: h264_level(level),
                }),
                ..VideoParams::new(info.width, info.height)
            });
        }
        b"hvc1" | b"hev1" => {
            let (at, record) = find(&children, b"hvcC").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'hvc1' sample entry without 'hvcC'")
            })?;
            let config = HevcConfig::parse(record)
                .map_err(|e| MediaError::invalid(at, format!("'hvcC': {e}")))?;
            track.codec = Codec::Hevc;
            track.framing = NalFraming::LengthPrefixed(config.length_size);
            let params = StreamParams::from_nal_units(config.parameter_sets.iter().map(|n| &n[..]))
                .ok_or_else(|| MediaError::invalid(at, "'hvcC' holds no usable SPS"))?;
            track.config.parameter_sets = config.parameter_sets;
            track.profile = params.profile.map(str::to_owned);
            signalled_rate = params.frame_rate_signalled.then_some(params.frame_rate);
            let level = u32::from(params.level_idc);
            track.params = TrackParams::Video(VideoParams {
                sample_aspect_ratio: params.sample_aspect_ratio,
                pix_fmt: params.pix_fmt,
                level: Some(Level {
                    idc: level,
                    name: hevc_level(level),
                }),
                tier: Some(params.tier),
                ..VideoParams::new(params.width, params.height)
            });
        }
        other => {
            track.codec = Codec::Other(TrackKind::Video, video_codec_name(other).to_owned());
            track.params = TrackParams::Video(VideoParams::new(width, height));
        }
    }
    Ok(Described {
        track,
        frame_bytes: 0,
        mpeg_audio: false,
        signalled_rate,
    })
}

/// ffprobe's name for a video sample entry type this reader does not
/// stream.
fn video_codec_name(kind: &FourCc) -> &'static str {
    match kind {
        b"mp4v" => "mpeg4",
        b"vp08" => "vp8",
        b"vp09" => "vp9",
        b"av01" => "av1",
        b"jpeg" | b"mjpa" | b"mjpb" => "mjpeg",
        b"s263" | b"h263" => "h263",
        b"apch" | b"apcn" | b"apcs" | b"apco" | b"ap4h" | b"ap4x" => "prores",
        b"mp2v" | b"hdv2" | b"xdv2" => "mpeg2video",
        b"dvc " | b"dvcp" | b"dv5n" | b"dv5p" => "dvvideo",
        b"png " => "png",
        _ => "unknown",
    }
}

/// The fields of an audio sample entry (ISO AudioSampleEntry, QuickTime
/// sound description versions 0 to 2).
struct SoundFields {
    channels: u16,
    bits: u16,
    sample_rate: u32,
    /// QuickTime version 2 `formatSpecificFlags` (LPCM flags).
    lpcm_flags: Option<u32>,
    /// Where the boxes start.
    boxes_at: usize,
}

fn sound_fields(entry: &SampleEntry) -> Result<SoundFields> {
    let mut f = Fields::new(&entry.body, entry.offset, "audio sample entry");
    f.skip(8)?;
    let version = f.u16()?;
    f.skip(6)?;
    let channels = f.u16()?;
    let bits = f.u16()?;
    f.skip(4)?;
    let rate = f.u32()?;
    Ok(match version {
        1 => {
            f.skip(16)?;
            SoundFields {
                channels,
                bits,
                sample_rate: rate >> 16,
                lpcm_flags: None,
                boxes_at: AUDIO_FIELDS + 16,
            }
        }
        2 => {
            // sizeOfStructOnly, audioSampleRate (f64), numAudioChannels,
            // always7F000000, constBitsPerChannel, formatSpecificFlags,
            // constBytesPerAudioPacket, constLPCMFramesPerAudioPacket.
            f.skip(4)?;
            let rate = f64::from_bits(f.u64()?);
            let channels = f.u32()?;
            f.skip(4)?;
            let bits = f.u32()?;
            let flags = f.u32()?;
            f.skip(8)?;
            SoundFields {
                channels: u16::try_from(channels).unwrap_or(0),
                bits: u16::try_from(bits).unwrap_or(0),
                sample_rate: if rate.is_finite() && (0.0..1e7).contains(&rate) {
                    rate.round() as u32
                } else {
                    0
                },
                lpcm_flags: Some(flags),
                boxes_at: AUDIO_FIELDS + 36,
            }
        }
        _ => SoundFields {
            channels,
            bits,
            sample_rate: rate >> 16,
            lpcm_flags: None,
            boxes_at: AUDIO_FIELDS,
        },
    })
}

/// How a PCM sample entry codes its samples.
enum Pcm {
    /// One of the formats RTP or the vocabulary knows.
    Known(PcmFormat),
    /// Another layout, by ffprobe's name, and its bits per sample.
    Other(&'static str, u16),
}

fn describe_audio(trak: &Trak, entry: &SampleEntry) -> Result<Described> {
    let sound = sound_fields(entry)?;
    let children = boxes(
        &entry.body,
        entry.offset,
        sound.boxes_at.min(entry.body.len()),
    );
    let mut channels = sound.channels;
    let mut sample_rate = if sound.sample_rate > 0 {
        sound.sample_rate
    } else {
        trak.timescale
    };
    let mut track = Track::new(0, Codec::Aac, trak.timescale);
    let mut mpeg_audio = false;
    // Little-endian per the QuickTime `enda` box.
    let little = find(&children, b"enda").is_some_and(|(_, b)| b.get(1) == Some(&1));
    let pcm = match &entry.kind {
        b"twos" if sound.bits == 8 => Some(Pcm::Other("pcm_s8", 8)),
        b"sowt" if sound.bits == 8 => Some(Pcm::Other("pcm_s8", 8)),
        b"twos" => Some(Pcm::Known(PcmFormat::S16Be)),
        b"sowt" => Some(Pcm::Known(PcmFormat::S16Le)),
        b"raw " | b"NONE" => Some(Pcm::Known(PcmFormat::U8)),
        b"in24" if little => Some(Pcm::Known(PcmFormat::S24Le)),
        b"in24" => Some(Pcm::Known(PcmFormat::S24Be)),
        b"in32" if little => Some(Pcm::Known(PcmFormat::S32Le)),
        b"in32" => Some(Pcm::Other("pcm_s32be", 32)),
        b"fl32" if little => Some(Pcm::Known(PcmFormat::F32Le)),
        b"fl32" => Some(Pcm::Other("pcm_f32be", 32)),
        b"fl64" if little => Some(Pcm::Known(PcmFormat::F64Le)),
        b"fl64" => Some(Pcm::Other("pcm_f64be", 64)),
        b"alaw" => Some(Pcm::Known(PcmFormat::Alaw)),
        b"ulaw" => Some(Pcm::Known(PcmFormat::Mulaw)),
        b"lpcm" => Some(lpcm(sound.lpcm_flags.unwrap_or(0), sound.bits)),
        b"ipcm" | b"fpcm" => {
            let (at, config) = find(&children, b"pcmC").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'ipcm' sample entry without 'pcmC'")
            })?;
            let (Some(&flags), Some(&bits)) = (config.get(4), config.get(5)) else {
                return Err(MediaError::invalid(at, "the 'pcmC' box is too short"));
            };
            // ISO/IEC 23003-5 §5.1: format_flags bit 0 is little-endian.
            let float = u32::from(&entry.kind == b"fpcm");
            let endian = if flags & 1 == 1 { 0 } else { 2 };
            Some(lpcm(float | endian | (4 * (1 - float)), u16::from(bits)))
        }
        _ => None,
    };
    if let Some(pcm) = pcm {
        let (codec, bits) = match pcm {
            Pcm::Known(format) => (Codec::Pcm(format), format.bits()),
            Pcm::Other(name, bits) => (Codec::Other(TrackKind::Audio, name.to_owned()), bits),
        };
        let frame_bytes = u64::from(bits / 8) * u64::from(channels.max(1));
        track.codec = codec;
        track.clock_rate = sample_rate;
        track.bit_rate = Some(u64::from(sample_rate) * frame_bytes * 8);
        track.params = TrackParams::Audio(AudioParams {
            bits_per_sample: Some(bits),
            block_align: u16::try_from(frame_bytes).ok(),
            ..AudioParams::new(sample_rate, channels)
        });
        return Ok(Described {
            track,
            frame_bytes,
            mpeg_audio: false,
            signalled_rate: None,
        });
    }
    match &entry.kind {
        b"mp4a" => {
            let (at, esds) = find(&children, b"esds").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'mp4a' sample entry without 'esds'")
            })?;
            let descriptor = read_esds(esds, at)?;
            match descriptor.object_type {
                // MPEG-4 audio and the MPEG-2 AAC profiles (ISO/IEC 14496-1
                // Table 5, objectTypeIndication).
                0x40 | 0x66..=0x68 => {
                    let config = AudioSpecificConfig::parse(&descriptor.specific)
                        .map_err(|e| MediaError::invalid(at, format!("'esds': {e}")))?;
                    sample_rate = config.sample_rate;
                    channels = config.channels().unwrap_or(channels);
                    track.profile = config.profile().map(str::to_owned);
                    track.config.extradata = Bytes::from(descriptor.specific);
                }
                0x69 | 0x6b => {
                    track.codec = Codec::Mp3;
                    mpeg_audio = true;
                }
                0xa5 => track.codec = Codec::Ac3,
                0xa6 => track.codec = Codec::Other(TrackKind::Audio, "eac3".into()),
                0xdd => track.codec = Codec::Other(TrackKind::Audio, "vorbis".into()),
                other => {
                    track.codec = Codec::Other(TrackKind::Audio, "unknown".into());
                    tracing::debug!("'esds' object type 0x{other:02x}");
                }
            }
            track.bit_rate = Some(u64::from(descriptor.avg_bitrate)).filter(|&b| b > 0);
        }
        b".mp3" | b"ms\x00\x55" => {
            track.codec = Codec::Mp3;
            mpeg_audio = true;
        }
        b"Opus" => {
            let (at, dops) = find(&children, b"dOps").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'Opus' sample entry without 'dOps'")
            })?;
            let head = opus_head(dops, at)?;
            let parsed = opus::OpusHead::parse(&head)
                .map_err(|e| MediaError::invalid(at, format!("'dOps': {e}")))?;
            track.codec = Codec::Opus;
            channels = u16::from(parsed.channels);
            sample_rate = opus::SAMPLE_RATE;
            track.config.extradata = Bytes::from(head);
        }
        b"ac-3" => {
            let (at, dac3) = find(&children, b"dac3").ok_or_else(|| {
                MediaError::invalid(entry.offset, "an 'ac-3' sample entry without 'dac3'")
            })?;
            let (fscod, acmod, lfe, rate_code) = match dac3 {
                [a, b, c, ..] => (a >> 6, (b >> 3) & 7, b & 4 != 0, ((b & 3) << 3) | (c >> 5)),
                _ => return Err(MediaError::invalid(at, "the 'dac3' box is too short")),
            };
            track.codec = Codec::Ac3;
            sample_rate = match fscod {
                0 => 48000,
                1 => 44100,
                2 => 32000,
                _ => return Err(MediaError::invalid(at, "'dac3' with a reserved fscod")),
            };
            channels = ac3::channels(acmod, lfe);
            track.bit_rate = AC3_BIT_RATES
                .get(usize::from(rate_code))
                .map(|&kbps| u64::from(kbps) * 1000);
        }
        other => {
            track.codec = Codec::Other(TrackKind::Audio, audio_codec_name(other).to_owned());
        }
    }
    track.params = TrackParams::Audio(AudioParams::new(sample_rate, channels));
    Ok(Described {
        track,
        frame_bytes: 0,
        mpeg_audio,
        signalled_rate: None,
    })
}

/// AC-3 nominal bit rates in kb/s by `frmsizecod / 2` (A/52 Table 5.18),
/// which `dac3`'s `bit_rate_code` indexes.
const AC3_BIT_RATES: [u32; 19] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640,
];

/// ffprobe's name for an audio sample entry type this reader does not
/// stream.
fn audio_codec_name(kind: &FourCc) -> &'static str {
    match kind {
        b"ec-3" => "eac3",
        b"alac" => "alac",
        b"fLaC" => "flac",
        b"samr" => "amr_nb",
        b"sawb" => "amr_wb",
        b"ima4" => "adpcm_ima_qt",
        b"Qclp" | b"sqcp" => "qcelp",
        b"dtsc" | b"dtsh" | b"dtsl" => "dts",
        b"mp4s" => "unknown",
        _ => "unknown",
    }
}

/// The layout of linear PCM from QuickTime LPCM flags (`kAudioFormatFlag*`:
/// 1 float, 2 big-endian, 4 signed integer) and bits per sample.
fn lpcm(flags: u32, bits: u16) -> Pcm {
    let float = flags & 1 != 0;
    let big = flags & 2 != 0;
    let signed = flags & 4 != 0;
    match (float, big, bits) {
        (true, false, 32) => Pcm::Known(PcmFormat::F32Le),
        (true, false, 64) => Pcm::Known(PcmFormat::F64Le),
        (true, true, 32) => Pcm::Other("pcm_f32be", 32),
        (true, true, 64) => Pcm::Other("pcm_f64be", 64),
        (false, _, 8) if signed => Pcm::Other("pcm_s8", 8),
        (false, _, 8) => Pcm::Known(PcmFormat::U8),
        (false, false, 16) => Pcm::Known(PcmFormat::S16Le),
        (false, true, 16) => Pcm::Known(PcmFormat::S16Be),
        (false, false, 24) => Pcm::Known(PcmFormat::S24Le),
        (false, true, 24) => Pcm::Known(PcmFormat::S24Be),
        (false, false, 32) => Pcm::Known(PcmFormat::S32Le),
        (false, true, 32) => Pcm::Other("pcm_s32be", 32),
        _ => Pcm::Other("unknown", bits.max(8)),
    }
}

/// What an `esds` box says (ISO/IEC 14496-1 §7.2.6.5–§7.2.6.7): the
/// DecoderConfigDescriptor's object type and average bit rate, and its
/// DecoderSpecificInfo bytes.
struct EsDescriptor {
    object_type: u8,
    avg_bitrate: u32,
    specific: Vec<u8>,
}

/// Parses an `esds` box body (version and flags, then an ES_Descriptor).
fn read_esds(body: &[u8], at: u64) -> Result<EsDescriptor> {
    let mut f = Fields::new(body, at, "esds");
    f.skip(4)?;
    let (tag, len) = descriptor(&mut f)?;
    if tag != 0x03 {
        return Err(MediaError::invalid(at, "'esds' without an ES_Descriptor"));
    }
    let end = f.offset() + len as u64;
    f.skip(2)?;
    let flags = f.u8()?;
    if flags & 0x80 != 0 {
        f.skip(2)?;
    }
    if flags & 0x40 != 0 {
        let url = f.u8()?;
        f.skip(usize::from(url))?;
    }
    if flags & 0x20 != 0 {
        f.skip(2)?;
    }
    while f.offset() < end && f.remaining() > 0 {
        let (tag, len) = descriptor(&mut f)?;
        let body = f.bytes(len.min(f.remaining()))?;
        if tag != 0x04 {
            continue;
        }
        let mut d = Fields::new(body, at, "esds");
        let object_type = d.u8()?;
        d.skip(1 + 3 + 4)?;
        let avg_bitrate = d.u32()?;
        let mut specific = Vec::new();
        while d.remaining() > 0 {
            let (tag, len) = descriptor(&mut d)?;
            let bytes = d.bytes(len.min(d.remaining()))?;
            if tag == 0x05 {
                specific = bytes.to_vec();
                break;
            }
        }
        return Ok(EsDescriptor {
            object_type,
            avg_bitrate,
            specific,
        });
    }
    Err(MediaError::invalid(
        at,
        "'esds' without a DecoderConfigDescriptor",
    ))
}

/// A descriptor's tag and length (ISO/IEC 14496-1 §8.3.3: up to four
/// bytes of 7 bits, the top bit saying another follows).
fn descriptor(f: &mut Fields) -> Result<(u8, usize)> {
    let tag = f.u8()?;
    let mut len = 0usize;
    for _ in 0..4 {
        let byte = f.u8()?;
        len = len << 7 | usize::from(byte & 0x7f);
        if byte & 0x80 == 0 {
            break;
        }
    }
    Ok((tag, len))
}

/// The OpusHead (RFC 7845 §5.1) that a `dOps` box (Encapsulation of Opus
/// in ISO Base Media File Format §4.3.2) stands for: the same fields,
/// big-endian there and little-endian in OpusHead, with the magic and
/// version 1 in front.
fn opus_head(dops: &[u8], at: u64) -> Result<Vec<u8>> {
    let mut f = Fields::new(dops, at, "dOps");
    let version = f.u8()?;
    if version != 0 {
        return Err(MediaError::invalid(
            at,
            format!("'dOps' version {version} (0 expected)"),
        ));
    }
    let channels = f.u8()?;
    let pre_skip = f.u16()?;
    let rate = f.u32()?;
    let gain = f.u16()?;
    let family = f.u8()?;
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend_from_slice(&pre_skip.to_le_bytes());
    head.extend_from_slice(&rate.to_le_bytes());
    head.extend_from_slice(&gain.to_le_bytes());
    head.push(family);
    if family != 0 {
        head.extend_from_slice(f.bytes(2 + usize::from(channels))?);
    }
    Ok(head)
}

/// The MPEG audio codec of a frame header's layer (`mp4a` with an MPEG-1/2
/// audio object type covers layers I to III), its sampling rate and
/// channels.
pub(super) fn mpeg_audio_codec(header: &[u8]) -> Option<(Codec, u32, u16)> {
    let header = crate::codec::mpeg_audio::FrameHeader::parse(header).ok()?;
    let codec = match header.layer {
        1 => Codec::Mp1,
        2 => Codec::Mp2,
        _ => Codec::Mp3,
    };
    Some((codec, header.sample_rate, header.channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dops_becomes_opus_head() {
        let dops = [0, 2, 0x01, 0x38, 0, 0, 0xbb, 0x80, 0xff, 0xfe, 0];
        let head = opus_head(&dops, 0).unwrap();
        assert_eq!(
            head,
            [
                b'O', b'p', b'u', b's', b'H', b'e', b'a', b'd', 1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0,
                0xfe, 0xff, 0
            ]
        );
        let parsed = opus::OpusHead::parse(&head).unwrap();
        assert_eq!((parsed.channels, parsed.pre_skip), (2, 312));
        assert!(opus_head(&dops[..6], 0).is_err());
    }

    #[test]
    fn esds_yields_the_audio_specific_config() {
        // ES_Descriptor(ES_ID 1) > DecoderConfig(0x40, audio) > specific.
        let esds = [
            0, 0, 0, 0, 0x03, 0x19, 0, 1, 0, 0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0xfa, 0, 0, 0,
            0xfa, 0, 0x05, 0x02, 0x12, 0x10, 0x06, 0x01, 0x02,
        ];
        let d = read_esds(&esds, 0).unwrap();
        assert_eq!((d.object_type, d.avg_bitrate), (0x40, 64000));
        assert_eq!(d.specific, [0x12, 0x10]);
        for cut in 4..12 {
            assert!(read_esds(&esds[..cut], 0).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn lpcm_flags_name_the_layout() {
        let name = |flags, bits| match lpcm(flags, bits) {
            Pcm::Known(format) => Codec::Pcm(format).name().to_owned(),
            Pcm::Other(name, _) => name.to_owned(),
        };
        assert_eq!(name(4, 16), "pcm_s16le");
        assert_eq!(name(6, 24), "pcm_s24be");
        assert_eq!(name(1, 32), "pcm_f32le");
        assert_eq!(name(3, 64), "pcm_f64be");
        assert_eq!(name(6, 32), "pcm_s32be");
    }
}
