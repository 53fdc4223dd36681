//! WAVE files (`.wav`): RIFF (Microsoft Multimedia Programming Interface
//! and Data Specifications 1.0, "WAVE Form"), RF64 (EBU Tech 3306) and BW64
//! (ITU-R BS.2088), whose `ds64` chunk holds the 64-bit sizes.
//!
//! PCM, IEEE float, G.711 mu-law/A-law and WAVE_FORMAT_EXTENSIBLE with the
//! same subformats are read. Units are blocks of at most 20 ms of sample
//! frames (`sample_rate / 50`, at least one, at most 1 MiB), timed by the
//! index of their first sample frame, cut straight from the data chunk
//! without copying.
//!
//! hound (the usual crate) cannot read mu-law/A-law or RF64, and the chunk
//! walk is a few lines, so it is done here.

#[cfg(test)]
mod tests;

use std::time::Duration;

use super::clock::{sample_at, time_of};
use super::{
    AccessUnit, BytesReader, Codec, Demuxer, Format, MediaError, PcmFormat, Result, Track,
    TrackStats,
};

/// The GUID tail shared by the KSDATAFORMAT_SUBTYPE_* GUIDs of
/// WAVE_FORMAT_EXTENSIBLE (`xxxxxxxx-0000-0010-8000-00AA00389B71`, the first
/// field holding the format tag).
const SUBTYPE_TAIL: [u8; 12] = [
    0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// Format tags (RFC 2361 Appendix A; mmreg.h).
const WAVE_FORMAT_PCM: u16 = 0x0001;
const WAVE_FORMAT_IEEE_FLOAT: u16 = 0x0003;
const WAVE_FORMAT_ALAW: u16 = 0x0006;
const WAVE_FORMAT_MULAW: u16 = 0x0007;
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xfffe;

/// Largest unit: 20 ms of 8 channels of 64-bit samples at 384 kHz take
/// 480 KiB; a unit never holds more than this whatever the header says
/// (a hostile sample rate must not make one read gigabytes).
const MAX_UNIT_BYTES: u64 = 1 << 20;

/// A `fmt ` chunk larger than this is not a WAVEFORMAT(EX/TENSIBLE).
const MAX_FMT_LEN: u32 = 1024;

/// A chunk size that means "see the ds64 chunk" in RF64/BW64, or "unknown"
/// when a streaming writer could not go back to fill it in.
const SIZE_UNKNOWN: u32 = 0xffff_ffff;

/// The parts of a `fmt ` chunk the reader uses.
struct WaveFormat {
    format: PcmFormat,
    channels: u16,
    sample_rate: u32,
    block_align: u16,
}

/// Reads the sample frames of a WAVE file in blocks of at most 20 ms.
pub struct WavReader {
    input: BytesReader,
    tracks: Vec<Track>,
    /// File offset of the first sample frame.
    data_start: u64,
    /// Bytes per sample frame.
    block_align: u64,
    /// Sample frames in the data chunk (a partial last one excluded).
    total: u64,
    /// Sample frames per unit.
    per_unit: u64,
    /// Index of the next sample frame to return.
    next: u64,
}

impl WavReader {
    /// Walks the chunks up to `data`, reading `ds64` and `fmt ` on the way
    /// and skipping every other chunk.
    pub fn new(mut input: BytesReader) -> Result<WavReader> {
        let head = input.peek(12)?;
        if head.is_empty() {
            return Err(MediaError::Empty);
        }
        let wide = matches!(head.get(..4), Some(b"RF64" | b"BW64"));
        if !(head.starts_with(b"RIFF") || wide) || head.len() >= 12 && &head[8..12] != b"WAVE" {
            return Err(MediaError::invalid(0, "not a RIFF/RF64 WAVE file"));
        }
        if head.len() < 12 {
            return Err(MediaError::truncated(
                0,
                "the file ends inside the RIFF header",
            ));
        }
        input.skip(12)?;
        let mut ds64_data_len = None;
        let mut format = None;
        loop {
            let pos = input.position();
            let header = input.peek(8)?;
            if header.len() < 8 {
                let missing = if format.is_none() { "fmt " } else { "data" };
                return Err(MediaError::truncated(
                    pos,
                    format!("the WAVE file ends before its '{missing}' chunk"),
                ));
            }
            let id: [u8; 4] = [header[0], header[1], header[2], header[3]];
            let size = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
            input.skip(8)?;
            match &id {
                b"data" => {
                    let Some(format) = format else {
                        return Err(MediaError::invalid(
                            pos,
                            "the 'data' chunk comes before the 'fmt ' chunk",
                        ));
                    };
                    return Ok(WavReader::with_data(input, format, size, ds64_data_len));
                }
                b"fmt " => format = Some(read_fmt(&mut input, pos, size)?),
                b"ds64" if wide => ds64_data_len = Some(read_ds64(&mut input, pos, size)?),
                _ => {}
            }
            // Chunks are padded to an even size (RIFF word alignment).
            let padded = u64::from(size) + u64::from(size & 1);
            let body_start = pos + 8;
            let consumed = input.position() - body_start;
            input.skip(padded.saturating_sub(consumed))?;
        }
    }

    /// The reader for a data chunk starting at the current position whose
    /// header says `size` bytes (clamped to the file).
    fn with_data(
        input: BytesReader,
        format: WaveFormat,
        size: u32,
        ds64_data_len: Option<u64>,
    ) -> WavReader {
        let data_start = input.position();
        let in_file = input.size().saturating_sub(data_start);
        // 0xFFFFFFFF defers to ds64 (RF64) or means unknown; 0 comes from
        // streaming writers; any size stated beyond the file (a file cut
        // short, or a lying header) is clamped to it, with a warning.
        let (declared, stated_in) = match (size, ds64_data_len) {
            (SIZE_UNKNOWN, Some(len)) => (len, Some("ds64 chunk")),
            (SIZE_UNKNOWN | 0, _) => (in_file, None),
            (size, _) => (u64::from(size), Some("data chunk header")),
        };
        if let Some(header) = stated_in.filter(|_| declared > in_file) {
            tracing::warn!(
                "WAVE data at byte {data_start}: its {header} claims {declared} bytes, the file \
                 holds {in_file}: reading those (file truncated?)"
            );
        }
        let block_align = u64::from(format.block_align);
        let total = declared.min(in_file) / block_align;
        let mut track = Track::new(0, Codec::Pcm(format.format), format.sample_rate);
        track.sample_rate = Some(format.sample_rate);
        track.channels = Some(format.channels);
        track.bits_per_sample = Some(format.format.bits());
        track.bit_rate = Some(u64::from(format.sample_rate) * block_align * 8);
        WavReader {
            input,
            tracks: vec![track],
            data_start,
            block_align,
            total,
            per_unit: u64::from(format.sample_rate / 50)
                .min(MAX_UNIT_BYTES / block_align)
                .max(1),
            next: 0,
        }
    }
}

/// Reads the `ds64` chunk body (EBU Tech 3306 §3.2): RIFF size, data size,
/// sample count (64-bit each), then a table this reader does not need.
fn read_ds64(input: &mut BytesReader, pos: u64, size: u32) -> Result<u64> {
    let body = chunk_body(input, pos, size, 24, "ds64")?;
    let mut data_len = [0u8; 8];
    data_len.copy_from_slice(&body[8..16]);
    Ok(u64::from_le_bytes(data_len))
}

/// The first `need` bytes of the body of the chunk at `pos` whose header
/// (already consumed) says `size`.
fn chunk_body<'a>(
    input: &'a mut BytesReader,
    pos: u64,
    size: u32,
    need: u32,
    name: &str,
) -> Result<&'a [u8]> {
    if size < need {
        return Err(MediaError::invalid(
            pos,
            format!("the '{name}' chunk has {size} bytes, at least {need} needed"),
        ));
    }
    let need = need as usize;
    let body = input.peek(need)?;
    if body.len() < need {
        return Err(MediaError::truncated(
            pos,
            format!(
                "the '{name}' chunk needs {need} bytes, {} remain",
                body.len()
            ),
        ));
    }
    Ok(&body[..need])
}

/// Reads a `fmt ` chunk: WAVEFORMATEX and, for WAVE_FORMAT_EXTENSIBLE, the
/// SubFormat GUID (Multimedia Registration Kit, WAVEFORMATEXTENSIBLE).
fn read_fmt(input: &mut BytesReader, pos: u64, size: u32) -> Result<WaveFormat> {
    if size > MAX_FMT_LEN {
        return Err(MediaError::invalid(
            pos,
            format!("the 'fmt ' chunk claims {size} bytes"),
        ));
    }
    let body = chunk_body(input, pos, size, size.max(16), "fmt ")?;
    let u16_at = |at: usize| u16::from_le_bytes([body[at], body[at + 1]]);
    let mut tag = u16_at(0);
    let channels = u16_at(2);
    let sample_rate = u32::from_le_bytes([body[4], body[5], body[6], body[7]]);
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
    let format = match (tag, bits) {
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
            return Err(MediaError::Unsupported(format!(
                "WAVE format tag {tag:#06x} (only PCM, IEEE float, mu-law and A-law are read)"
            )))
        }
    };
    if channels == 0 || sample_rate == 0 {
        return Err(MediaError::invalid(
            pos,
            format!("the 'fmt ' chunk says {channels} channels at {sample_rate} Hz"),
        ));
    }
    let expected = u32::from(channels) * u32::from(bits / 8);
    if u32::from(block_align) != expected {
        return Err(MediaError::invalid(
            pos,
            format!(
                "block_align {block_align} does not match {channels} channels of {bits}-bit \
                 samples ({expected} bytes)"
            ),
        ));
    }
    Ok(WaveFormat {
        format,
        channels,
        sample_rate,
        block_align,
    })
}

impl Demuxer for WavReader {
    fn format(&self) -> Format {
        Format::Wav
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        let frames = self.per_unit.min(self.total - self.next);
        if frames == 0 {
            return Ok(None);
        }
        let len = (frames * self.block_align) as usize;
        let available = self.input.peek(len)?.len();
        if available < len {
            return Err(MediaError::truncated(
                self.input.position(),
                format!("the WAVE data needs {len} more bytes, {available} remain"),
            ));
        }
        let pts = self.next as i64;
        self.next += frames;
        Ok(Some(AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: frames as u32,
            keyframe: true,
            data: self.input.take(len),
        }))
    }

    /// Positions at the unit containing `time` (units start at multiples of
    /// 20 ms of sample frames), computed from the sizes without reading.
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let target = sample_at(time, rate);
        self.next = if target >= self.total {
            self.total
        } else {
            target - target % self.per_unit
        };
        self.input
            .seek(self.data_start + self.next * self.block_align)?;
        Ok(time_of(self.next, rate))
    }

    /// Exact from the data chunk size: every sample frame is a frame.
    fn stats(&self) -> Option<Vec<TrackStats>> {
        Some(vec![TrackStats {
            frames: self.total,
            duration: self.total,
            bytes: self.total * self.block_align,
        }])
    }
}
