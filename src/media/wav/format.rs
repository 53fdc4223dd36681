//! The `fmt ` chunk of a WAVE file: WAVEFORMATEX and WAVEFORMATEXTENSIBLE
//! (Microsoft Multimedia Programming Interface and Data Specifications 1.0,
//! "WAVE Form"; mmreg.h), and what its format tag means for reading.

use super::chunk_body;
use crate::media::{BytesReader, MediaError, Result};
use crate::vocab::{Codec, PcmFormat, TrackKind};

/// The GUID tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs of
/// WAVE_FORMAT_EXTENSIBLE (`xxxxxxxx-0000-0010-8000-00AA00389B71`, the first
/// field holding the format tag).
const SUBTYPE_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// Format tags (RFC 2361 Appendix A; mmreg.h).
const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_ADPCM: u16 = 0x0002;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_DVI_ADPCM: u16 = 0x0011;
const WAVE_FORMAT_GSM610: u16 = 0x0031;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;

/// Block-coded formats that are described but not streamed: format tag,
/// ffprobe's `codec_name`, and the samples per block when the header does
/// not state them (GSM 6.10 in WAV packs two 160-sample frames in 65 bytes:
/// RFC 2361 Appendix A, "WAVE_FORMAT_GSM610").
const BLOCK_CODED: [(u16, &str, Option<u16>); 3] = [
    (WAVE_FORMAT_ADPCM, "adpcm_ms", None),
    (WAVE_FORMAT_DVI_ADPCM, "adpcm_ima_wav", None),
    (WAVE_FORMAT_GSM610, "gsm_ms", Some(320)),
];

/// A `fmt ` chunk larger than this is not a WAVEFORMAT(EX/TENSIBLE).
const MAX_FMT_LEN: u32 = 1024;

/// How the data chunk is coded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Coding {
    /// PCM, float or G.711: a block is one sample frame, streamable.
    Pcm(PcmFormat),
    /// A block-coded format (ADPCM, GSM) named as ffprobe names it: each
    /// block of `block_align` bytes decodes to `samples` sample frames.
    /// Described, not streamed.
    Blocks {
        /// ffprobe's `codec_name`.
        codec: &'static str,
        /// Sample frames per block (`wSamplesPerBlock`).
        samples: u16,
    },
}

impl Coding {
    /// The codec of the track.
    pub fn codec(self) -> Codec {
        match self {
            Coding::Pcm(format) => Codec::Pcm(format),
            Coding::Blocks { codec, .. } => Codec::Other(TrackKind::Audio, codec.to_owned()),
        }
    }

    /// Sample frames per block.
    pub fn samples_per_block(self) -> u64 {
        match self {
            Coding::Pcm(_) => 1,
            Coding::Blocks { samples, .. } => u64::from(samples),
        }
    }
}

/// The parts of a `fmt ` chunk the reader uses.
#[derive(Clone, Copy, Debug)]
pub(super) struct WaveFormat {
    pub coding: Coding,
    pub channels: u16,
    pub sample_rate: u32,
    /// `nAvgBytesPerSec`.
    pub byte_rate: u32,
    /// `nBlockAlign`: bytes per block (PCM: per sample frame).
    pub block_align: u16,
    /// `wBitsPerSample`.
    pub bits: u16,
}

/// Reads a `fmt ` chunk: WAVEFORMATEX and, for WAVE_FORMAT_EXTENSIBLE, the
/// SubFormat GUID (Multimedia Registration Kit, WAVEFORMATEXTENSIBLE).
pub(super) fn read_fmt(input: &mut BytesReader, pos: u64, size: u32) -> Result<WaveFormat> {
    if size > MAX_FMT_LEN {
        return Err(MediaError::invalid(
            pos,
            format!("the 'fmt ' chunk claims {size} bytes"),
        ));
    }
    let body = chunk_body(input, pos, size, size.max(16), "fmt ")?;
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let u32_at =
        |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32_at(4);
    let byte_rate = u32_at(8);
    let block_align = u16_at(12);
    let bits = u16_at(14);
    if tag == WAVE_FORMAT_EXTENSIBLE {
        // cbSize(2) validBits(2) channelMask(4) SubFormat(16).
        if body.len() < 40 {
            return Err(MediaError::invalid(
                pos,
                format!("WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk has {size} bytes, 40 needed"),
            ));
        }
        if body[28..40] != SUBTYPE_TAIL || body[26..28] != [0, 0] {
            return Err(MediaError::Unsupported(format!(
                "WAVE_FORMAT_EXTENSIBLE SubFormat {} is not a PCM, float or G.711 subtype",
                hex::encode(&body[24..40])
            )));
        }
        tag = u16_at(24);
    }
    if channels == 0 || sample_rate == 0 {
        return Err(MediaError::invalid(
            pos,
            format!("the 'fmt ' chunk says {channels} channels at {sample_rate} Hz"),
        ));
    }
    // WAVEFORMATEX's cbSize, then wSamplesPerBlock in the ADPCM and GSM
    // extensions.
    let samples_per_block = (body.len() >= 20 && u16_at(16) >= 2).then(|| u16_at(18));
    let coding = match coding(tag, bits, samples_per_block)? {
        Some(coding) => coding,
        None => {
            return Err(MediaError::Unsupported(format!(
                "WAVE format tag {tag:#06x} (only PCM, IEEE float, mu-law, A-law, \
                 MS/IMA ADPCM and GSM 6.10 are read)"
            )))
        }
    };
    match coding {
        Coding::Pcm(format) => {
            let expected = u32::from(channels) * u32::from(format.bits() / 8);
            if u32::from(block_align) != expected {
                return Err(MediaError::invalid(
                    pos,
                    format!(
                        "block_align {block_align} does not match {channels} channels of \
                         {bits}-bit samples ({expected} bytes)"
                    ),
                ));
            }
        }
        Coding::Blocks { codec, .. } if block_align == 0 => {
            return Err(MediaError::invalid(
                pos,
                format!("{codec} with block_align 0: blocks cannot be empty"),
            ));
        }
        Coding::Blocks { .. } => {}
    }
    Ok(WaveFormat {
        coding,
        channels,
        sample_rate,
        byte_rate,
        block_align,
        bits,
    })
}

/// What format tag `tag` with `bits` per sample codes; `None` for a tag
/// this reader does not know.
fn coding(tag: u16, bits: u16, samples_per_block: Option<u16>) -> Result<Option<Coding>> {
    let pcm = match (tag, bits) {
        (WAVE_FORMAT_PCM, 8) => PcmFormat::U8,
        (WAVE_FORMAT_PCM, 16) => PcmFormat::S16Le,
        (WAVE_FORMAT_PCM, 24) => PcmFormat::S24Le,
        (WAVE_FORMAT_PCM, 32) => PcmFormat::S32Le,
        (WAVE_FORMAT_IEEE_FLOAT, 32) => PcmFormat::F32Le,
        (WAVE_FORMAT_IEEE_FLOAT, 64) => PcmFormat::F64Le,
        (WAVE_FORMAT_MULAW, 8) => PcmFormat::Mulaw,
        (WAVE_FORMAT_ALAW, 8) => PcmFormat::Alaw,
        (WAVE_FORMAT_PCM | WAVE_FORMAT_IEEE_FLOAT | WAVE_FORMAT_MULAW | WAVE_FORMAT_ALAW, _) => {
            return Err(MediaError::Unsupported(format!(
                "WAVE format tag {tag:#06x} with {bits} bits per sample"
            )))
        }
        _ => {
            let Some(&(_, codec, fixed)) = BLOCK_CODED.iter().find(|(t, ..)| *t == tag) else {
                return Ok(None);
            };
            let samples = samples_per_block
                .filter(|&n| n > 0)
                .or(fixed)
                .ok_or_else(|| {
                    MediaError::Unsupported(format!(
                        "{codec} WAVE file whose 'fmt ' chunk lacks wSamplesPerBlock"
                    ))
                })?;
            return Ok(Some(Coding::Blocks { codec, samples }));
        }
    };
    Ok(Some(Coding::Pcm(pcm)))
}
