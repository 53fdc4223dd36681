//! The media core: format detection, the demuxer interface and one reader per
//! container or elementary-stream format.
//!
//! A reader is one [`ReaderFormat`] value in its own module: its names, its
//! extensions, what the head of a file shows of it and how to open it.
//! [`READERS`] is the registry that detection ranks and [`open`] uses:
//! adding a format is one new module plus one line there.
//!
//! Data flows one way: a file is [`detect`]ed, [`open`]ed as a [`Demuxer`]
//! that describes its [`Track`]s and yields timed [`AccessUnit`]s in file
//! (decode) order, read incrementally so a file never sits in memory whole.
//! [`inspect`] adds the exact per-track frame counts and durations that
//! `probe` reports and `serve` announces in `a=range`.

mod annexb;
mod audio_frames;
mod audio_tags;
mod bytes_reader;
mod detect;
mod error;
mod frame_clock;
mod inspect;
mod mpeg_pes;
mod output_order;
mod seek_index;
mod sequence;
mod sniff;
#[cfg(test)]
pub(crate) mod testing;
mod track;
mod warnings;

pub mod ac3;
pub mod adts;
pub mod h264;
pub mod hevc;
pub mod matroska;
pub mod mp4;
pub mod mpeg_audio;
pub mod mpeg_ps;
pub mod mpeg_ts;
pub mod ogg;
pub mod wav;

use std::fmt;
use std::path::Path;
use std::time::Duration;

pub use bytes_reader::{compact, BytesReader};
pub use detect::{detect, detect_path, detect_reader, Evidence};
pub use error::MediaError;
pub use inspect::{inspect, inspect_with, MediaInfo, StatsCounter, TrackStats};
pub use track::{AccessUnit, AudioParams, CodecConfig, Level, Track, TrackParams, VideoParams};

/// Result type of the media core.
pub type Result<T, E = MediaError> = std::result::Result<T, E>;

/// A demultiplexer: the tracks of one file and its access units, in file
/// order, with timestamps in each track's [`Track::clock_rate`].
///
/// Timestamps follow one convention in every reader: presentation of the file
/// starts at PTS 0 on the earliest track (NPT 0 in RTSP terms), and DTS may be
/// negative when frames are reordered (H.264/H.265 with B-frames), as in
/// ISO/IEC 14496-12 composition offsets.
pub trait Demuxer: Send {
    /// The container or elementary-stream format this reader parses.
    fn format(&self) -> &'static ReaderFormat;

    /// The tracks of the file, indexed by [`Track::index`].
    fn tracks(&self) -> &[Track];

    /// The next access unit in decode order, `Ok(None)` at the end of the file.
    ///
    /// A file cut short serves its whole units: a last unit cut short (a
    /// frame header promising more bytes than remain, a slice header that
    /// the end of the file cuts) is dropped with a warning, and only a file
    /// with no whole unit is [`MediaError::Truncated`], from the reader's
    /// constructor. An error ends the stream: readers from [`open`] return `Ok(None)` after
    /// it until a [`seek`](Self::seek) repositions them.
    fn read_unit(&mut self) -> Result<Option<AccessUnit>>;

    /// Repositions the reader so that the next unit returned is the key frame
    /// at or before `time` (for audio-only files: the frame containing `time`),
    /// and returns the presentation time of that unit. Seeking past the end
    /// positions at the end and returns the duration.
    fn seek(&mut self, time: Duration) -> Result<Duration>;

    /// Exact per-track statistics when the container states them (WAV sizes,
    /// MP4 sample tables); `None` makes [`inspect`] count by reading the file.
    fn stats(&self) -> Option<Vec<TrackStats>> {
        None
    }

    /// Closes the file and lets go of the read buffers until the next read
    /// or seek, keeping the position ([`BytesReader::park`]): a paused
    /// stream holds no file descriptor. Nothing happens for input in
    /// memory.
    fn park(&mut self) {}
}

/// How a transport stream is read: its elementary streams as tracks, or
/// the whole stream as one MP2T track (RFC 2250 §2) of runs of packets
/// paced by its PCR. The `ts_mode` option of `serve` and `packetize`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TsMode {
    /// One track per elementary stream.
    #[default]
    Tracks,
    /// The whole stream as one MP2T track.
    Mp2t,
}

impl TsMode {
    /// The option's spellings, in order.
    pub const NAMES: [&'static str; 2] = ["tracks", "mp2t"];
}

impl fmt::Display for TsMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TsMode::Tracks => "tracks",
            TsMode::Mp2t => "mp2t",
        })
    }
}

impl std::str::FromStr for TsMode {
    type Err = String;

    fn from_str(text: &str) -> std::result::Result<TsMode, String> {
        match text {
            "tracks" => Ok(TsMode::Tracks),
            "mp2t" => Ok(TsMode::Mp2t),
            other => Err(format!("ts_mode {other:?}: expected tracks or mp2t")),
        }
    }
}

/// Options that choose between the readings of a format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// How transport streams are read.
    pub ts_mode: TsMode,
}

impl ReadOptions {
    /// The reader for a file detected as `format`: in MP2T mode the
    /// transport stream reader gives way to its whole-stream reading.
    pub fn reader(&self, format: &'static ReaderFormat) -> &'static ReaderFormat {
        if self.ts_mode == TsMode::Mp2t && std::ptr::eq(format, &mpeg_ts::FORMAT) {
            &mpeg_ts::READ_AS_MP2T
        } else {
            format
        }
    }
}

/// Opens `path`, detecting its format by content first and extension second.
///
/// The file is opened once ([`BytesReader::open`]: regular files only) and
/// the bytes detection read are the reader's first bytes.
pub fn open(path: &Path) -> Result<Box<dyn Demuxer>> {
    open_with(path, &ReadOptions::default())
}

/// Opens `path` like [`open`], read as `options` say.
pub fn open_with(path: &Path, options: &ReadOptions) -> Result<Box<dyn Demuxer>> {
    let started = std::time::Instant::now();
    let mut input = BytesReader::open(path)?;
    let format = options.reader(detect_reader(&mut input, extension(path).as_deref())?);
    let demuxer = open_reader(input, format)?;
    tracing::debug!(
        "{} reader opened in {:.1} ms",
        format.long_name,
        started.elapsed().as_secs_f64() * 1e3
    );
    for track in demuxer.tracks() {
        tracing::debug!("track {}: {}", track.index, track.summary());
    }
    Ok(demuxer)
}

/// Opens `path` as a `format` file, known from an earlier [`inspect`] of
/// it, without detecting the format again, reading `chunk` bytes per
/// refill (see [`BytesReader::with_chunk`]): `serve` keeps one reader per
/// playing session, so its memory per session is about this size, and no
/// detection window (64 KiB) is read per session. A file that is no
/// longer of that format fails to open.
pub fn open_as(path: &Path, format: &ReaderFormat, chunk: usize) -> Result<Box<dyn Demuxer>> {
    open_reader(BytesReader::open(path)?.with_chunk(chunk), format)
}

/// The extension of `path`, lower case, without the dot.
fn extension(path: &Path) -> Option<String> {
    path.extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
}

/// A registered reader: one container or elementary-stream format.
pub struct ReaderFormat {
    /// The name in `probe` output (its `format` key): `h264`, `mp3`, `wav`.
    pub name: &'static str,
    /// A human-readable name for messages and the SDP `i=` line.
    pub long_name: &'static str,
    /// File extensions (lower case, without the dot) that name the format:
    /// they choose between readings of the content that are equally strong.
    pub extensions: &'static [&'static str],
    /// What the head of a file (its first 64 KiB, after any ID3v2 tag)
    /// shows of this format, if anything.
    pub sniff: fn(&[u8]) -> Option<Evidence>,
    /// The reader for an input of this format, positioned at its start.
    pub open: fn(BytesReader) -> Result<Box<dyn Demuxer>>,
}

impl PartialEq for ReaderFormat {
    fn eq(&self, other: &ReaderFormat) -> bool {
        self.name == other.name
    }
}

impl Eq for ReaderFormat {}

impl fmt::Debug for ReaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ReaderFormat").field(&self.name).finish()
    }
}

impl fmt::Display for ReaderFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)
    }
}

/// The registry of readers, one line per module. Detection ranks their
/// readings of a file by [`Evidence`]; between equally strong readings
/// that the extension does not choose from, the first listed wins.
pub static READERS: &[&ReaderFormat] = &[
    &adts::FORMAT,
    &mpeg_audio::FORMAT,
    &h264::FORMAT,
    &hevc::FORMAT,
    &wav::FORMAT,
    &matroska::FORMAT,
    &matroska::WEBM,
    &ogg::FORMAT,
    &mp4::FORMAT,
    &mpeg_ps::FORMAT,
    &mpeg_ts::FORMAT,
    &ac3::FORMAT,
    &ac3::EAC3_FORMAT,
];

/// Opens the input behind `file` (a file, or bytes in memory: tests and
/// fuzzing) with the reader for `format`.
pub fn open_reader(file: BytesReader, format: &ReaderFormat) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(EndsAtError {
        reader: (format.open)(file)?,
        failed: false,
    }))
}

/// Gives every reader one behaviour after an error: the stream is over
/// (`Ok(None)`) until a seek, whatever the reader would do if asked again.
struct EndsAtError {
    reader: Box<dyn Demuxer>,
    failed: bool,
}

impl Demuxer for EndsAtError {
    fn format(&self) -> &'static ReaderFormat {
        self.reader.format()
    }

    fn tracks(&self) -> &[Track] {
        self.reader.tracks()
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        if self.failed {
            return Ok(None);
        }
        let result = self.reader.read_unit();
        self.failed = result.is_err();
        result
    }

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        self.failed = false;
        self.reader.seek(time)
    }

    fn stats(&self) -> Option<Vec<TrackStats>> {
        self.reader.stats()
    }

    fn park(&mut self) {
        self.reader.park();
    }
}
