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
//! Block-coded formats (MS ADPCM, IMA ADPCM, GSM 6.10) are described, not
//! decoded: one unit per block of `nBlockAlign` bytes, each
//! `wSamplesPerBlock` sample frames long, the last one shortened to the
//! `fact` chunk's sample count when that falls inside it. No RTP payload
//! format carries them, so `serve` and `packetize` refuse them.
//!
//! hound (the usual crate) cannot read mu-law/A-law or RF64, and the chunk
//! walk is a few lines, so it is done here.

mod format;
#[cfg(test)]
mod tests;

use std::time::Duration;

use self::format::{read_fmt, Coding, WaveFormat};
use super::sniff::at;
use super::{
    AccessUnit, AudioParams, BytesReader, Demuxer, Evidence, MediaError, ReaderFormat, Result,
    Track, TrackParams, TrackStats,
};
use crate::vocab::clock::{sample_at, time_of};

/// The registry entry: RIFF/RF64 WAVE, known by its signature.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "wav",
    long_name: "WAV",
    extensions: &["wav", "wave", "rf64"],
    sniff: |head| {
        let riff = at(head, 0, b"RIFF") || at(head, 0, b"RF64") || at(head, 0, b"BW64");
        (riff && at(head, 8, b"WAVE")).then_some(Evidence::Signature)
    },
    open: |input| Ok(Box::new(WavReader::new(input)?)),
};

/// Largest unit: 20 ms of 8 channels of 64-bit samples at 384 kHz take
/// 480 KiB; a unit never holds more than this whatever the header says
/// (a hostile sample rate must not make one read gigabytes).
const MAX_UNIT_BYTES: u64 = 1 << 20;

/// A chunk size that means "see the ds64 chunk" in RF64/BW64, or "unknown"
/// when a streaming writer could not go back to fill it in.
const SIZE_UNKNOWN: u32 = 0xffff_ffff;

/// Reads the blocks of a WAVE file's data chunk: sample frames in units of
/// at most 20 ms, or one coded block per unit.
pub struct WavReader {
    input: BytesReader,
    tracks: Vec<Track>,
    /// File offset of the first block.
    data_start: u64,
    /// Bytes per block (PCM: per sample frame).
    block_align: u64,
    /// Sample frames per block (PCM: 1).
    samples_per_block: u64,
    /// Blocks in the data chunk (a partial last one excluded).
    total: u64,
    /// Sample frames of all blocks (for coded formats, as the `fact`
    /// chunk states when it falls inside the last block).
    total_samples: u64,
    /// Blocks per unit.
    per_unit: u64,
    /// Index of the next block to return.
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
        let mut fact = None;
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
                    let sizes = DataSizes {
                        header: size,
                        ds64: ds64_data_len,
                        fact,
                    };
                    return WavReader::with_data(input, format, sizes);
                }
                b"fmt " => format = Some(read_fmt(&mut input, pos, size)?),
                b"fact" => fact = Some(u32::from_le_bytes(chunk_array(&mut input, pos, size)?)),
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

    /// The reader for a data chunk starting at the current position, of
    /// the size its header (or ds64) states, clamped to the file: whole
    /// blocks are read, a last block cut short is dropped with a warning,
    /// and data without one whole block is an error.
    fn with_data(input: BytesReader, format: WaveFormat, sizes: DataSizes) -> Result<WavReader> {
        let data_start = input.position();
        let in_file = input.size().saturating_sub(data_start);
        // 0xFFFFFFFF defers to ds64 (RF64) or means unknown; 0 comes from
        // streaming writers; any size stated beyond the file (a file cut
        // short, or a lying header) is clamped to it, with a warning.
        let (declared, stated_in) = match (sizes.header, sizes.ds64) {
            (SIZE_UNKNOWN, Some(len)) => (len, Some("ds64 chunk")),
            (SIZE_UNKNOWN | 0, _) => (in_file, None),
            (size, _) => (u64::from(size), Some("data chunk header")),
        };
        let block_align = u64::from(format.block_align);
        let present = declared.min(in_file);
        let total = present / block_align;
        if total == 0 {
            return Err(MediaError::truncated(
                data_start,
                format!(
                    "the WAVE data holds {present} bytes, not one whole {block_align}-byte block"
                ),
            ));
        }
        match stated_in.filter(|_| declared > in_file) {
            Some(header) => tracing::warn!(
                "WAVE data at byte {data_start}: its {header} claims {declared} bytes, the file \
                 holds {in_file}: reading those (file truncated?)"
            ),
            None if present % block_align != 0 => tracing::warn!(
                "WAVE data at byte {data_start}: last block cut short at byte {} (needs \
                 {block_align} bytes, {} remain): dropped",
                data_start + total * block_align,
                present % block_align
            ),
            None => {}
        }
        let samples_per_block = format.coding.samples_per_block();
        let all_blocks = total * samples_per_block;
        // The fact chunk's count, when it ends inside the last block.
        let total_samples = match (format.coding, sizes.fact.map(u64::from)) {
            (Coding::Blocks { .. }, Some(fact))
                if fact <= all_blocks && fact + samples_per_block > all_blocks =>
            {
                fact
            }
            _ => all_blocks,
        };
        let mut track = Track::new(0, format.coding.codec(), format.sample_rate);
        let mut audio = AudioParams {
            block_align: Some(format.block_align),
            ..AudioParams::new(format.sample_rate, format.channels)
        };
        let per_unit = match format.coding {
            Coding::Pcm(pcm) => {
                audio.bits_per_sample = Some(pcm.bits());
                track.bit_rate = Some(u64::from(format.sample_rate) * block_align * 8);
                u64::from(format.sample_rate / 50)
                    .min(MAX_UNIT_BYTES / block_align)
                    .max(1)
            }
            Coding::Blocks { .. } => {
                audio.bits_per_sample = Some(format.bits).filter(|&b| b > 0);
                track.bit_rate = Some(u64::from(format.byte_rate) * 8).filter(|&b| b > 0);
                1
            }
        };
        track.params = TrackParams::Audio(audio);
        Ok(WavReader {
            input,
            tracks: vec![track],
            data_start,
            block_align,
            samples_per_block,
            total,
            total_samples,
            per_unit,
            next: 0,
        })
    }
}

/// What the chunks before the data say about its size.
struct DataSizes {
    /// The data chunk header's size field.
    header: u32,
    /// The data size of an RF64/BW64 `ds64` chunk.
    ds64: Option<u64>,
    /// The sample count of a `fact` chunk (required for non-PCM formats;
    /// Multimedia Programming Interface 1.0, "WAVE Form").
    fact: Option<u32>,
}

/// The 4-byte body of the `fact` chunk at `pos` (its header consumed).
fn chunk_array(input: &mut BytesReader, pos: u64, size: u32) -> Result<[u8; 4]> {
    let body = chunk_body(input, pos, size, 4, "fact")?;
    Ok([body[0], body[1], body[2], body[3]])
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

impl Demuxer for WavReader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        let blocks = self.per_unit.min(self.total - self.next);
        if blocks == 0 {
            return Ok(None);
        }
        let len = (blocks * self.block_align) as usize;
        let available = self.input.peek(len)?.len();
        if available < len {
            return Err(MediaError::truncated(
                self.input.position(),
                format!("the WAVE data needs {len} more bytes, {available} remain"),
            ));
        }
        let pts = self.next * self.samples_per_block;
        let end = ((self.next + blocks) * self.samples_per_block).min(self.total_samples);
        self.next += blocks;
        Ok(Some(AccessUnit {
            track: 0,
            pts: pts as i64,
            dts: pts as i64,
            duration: (end - pts) as u32,
            keyframe: true,
            data: self.input.take(len),
        }))
    }

    /// Parks the input (see [`Demuxer::park`]).
    fn park(&mut self) {
        self.input.park();
    }

    /// Positions at the unit containing `time` (PCM units start at
    /// multiples of 20 ms of sample frames, coded ones at each block),
    /// computed from the sizes without reading.
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let target = sample_at(time, rate);
        self.next = if target >= self.total_samples {
            self.total
        } else {
            let block = target / self.samples_per_block;
            block - block % self.per_unit
        };
        self.input
            .seek(self.data_start + self.next * self.block_align)?;
        Ok(time_of(
            (self.next * self.samples_per_block).min(self.total_samples),
            rate,
        ))
    }

    /// Exact from the data chunk size: frames are blocks (PCM: sample
    /// frames), the duration their samples.
    fn stats(&self) -> Option<Vec<TrackStats>> {
        Some(vec![TrackStats {
            frames: self.total,
            duration: self.total_samples,
            bytes: self.total * self.block_align,
        }])
    }
}
