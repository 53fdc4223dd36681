//! The bridge from a file to a session's timed packets: the RTP pipeline
//! ([`MediaStream`]) over the file's demuxer, read in batches on the
//! blocking pool.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::ops::RangeInclusive;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::media::{Demuxer, ReaderFormat};
use crate::rtp::{PayloadOptions, SenderOptions};
use crate::stream::{self, MediaStream, PacketParts, PlayStart, StreamConfig, StreamError};

/// How much a playing session reads ahead, and in what chunks, sized by
/// the stream's bit rate rather than fixed: a session holds about a chunk
/// of its file (more only while a unit spans several) and the packets read
/// ahead, so a 1 Mbit/s session costs tens of KiB, not the hundreds a fixed
/// 64 KiB chunk and 300 ms cost. File pages themselves are shared through
/// the page cache; only what is read ahead is copied per session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace {
    /// File bytes asked for per read: [`CHUNK_TIME`] of the stream,
    /// rounded up to 4 KiB, from 4 KiB to 64 KiB. What the units read
    /// ahead span, rounded up to chunks, stays in memory: small chunks
    /// waste little.
    pub chunk: usize,
    /// Media read ahead of the next packet to send, at least:
    /// [`READ_AHEAD_BYTES`] of the stream, from [`MIN_READ_AHEAD`] to
    /// [`MAX_READ_AHEAD`]; read again when half is left. A session reads
    /// further ahead, up to [`most_read_ahead`](Self::most_read_ahead),
    /// while its reads are slow to come back (the playback task sizes it).
    /// A paused session keeps what was read ahead (copied to fit), so that
    /// it resumes exactly.
    pub read_ahead: Duration,
}

/// The media time one read covers (a read is a system call of a few
/// microseconds: 40 a second per session is cheap).
const CHUNK_TIME: Duration = Duration::from_millis(25);
/// The media bytes a session aims to hold read ahead.
const READ_AHEAD_BYTES: u64 = 8 * 1024;
/// The least read ahead, whatever the bit rate: about 40 ms of slack (a
/// 25 fps frame) for a read on the blocking pool, which takes well under
/// a millisecond on a quiet server; a session whose reads come back slower
/// reads further ahead. Held media is most of a playing session's memory:
/// 200 sessions of a 1 Mbit/s stream held 56 KiB of heap each at 75 ms,
/// 68 KiB at 90 ms, 75 KiB at 150 ms (docs/benchmarks.md).
const MIN_READ_AHEAD: Duration = Duration::from_millis(75);
/// The most read ahead.
const MAX_READ_AHEAD: Duration = Duration::from_secs(1);
/// How many times its least a session's read ahead grows to at most.
const READ_AHEAD_GROWTH: u32 = 4;

impl Pace {
    /// The pace of a stream of `bit_rate` bits per second; unknown: 64 KiB
    /// chunks, 300 ms.
    pub fn for_bit_rate(bit_rate: Option<u64>) -> Pace {
        let Some(bytes_per_second) = bit_rate.map(|b| (b / 8).max(1)) else {
            return Pace {
                chunk: 64 * 1024,
                read_ahead: Duration::from_millis(300),
            };
        };
        let per_chunk = bytes_per_second.saturating_mul(CHUNK_TIME.as_millis() as u64) / 1000;
        let chunk = usize::try_from(per_chunk.next_multiple_of(4096))
            .unwrap_or(usize::MAX)
            .clamp(4096, 64 * 1024);
        let read_ahead = Duration::from_secs_f64(READ_AHEAD_BYTES as f64 / bytes_per_second as f64)
            .clamp(MIN_READ_AHEAD, MAX_READ_AHEAD);
        Pace { chunk, read_ahead }
    }

    /// The most a session reads ahead while its reads are slow:
    /// [`READ_AHEAD_GROWTH`] times the least, within [`MAX_READ_AHEAD`].
    pub fn most_read_ahead(&self) -> Duration {
        // The least is within MAX_READ_AHEAD, so this is never below it.
        (self.read_ahead * READ_AHEAD_GROWTH).min(MAX_READ_AHEAD)
    }
}

/// The most packet bytes one [`Source::fill`] returns, whatever their send
/// times: a file whose timestamps stand still must not be read whole.
const FILL_BYTES: usize = 4 << 20;

/// The IP packet size packets are cut for: Ethernet's.
const MTU: usize = 1500;

/// A track a [`Source`] sends.
#[derive(Clone, Copy, Debug)]
pub struct SourceTrack {
    /// The file track index.
    pub index: usize,
    /// The SSRC it is sent with.
    pub ssrc: u32,
    /// The sequence number of its first packet; `None`: random.
    pub sequence: Option<u16>,
}

/// What the server's settings say of every session's stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamSettings {
    /// Restart at the end of the file (`loop`).
    pub looping: bool,
    /// The payload formats chosen (`pcm8`): the ones the SDP announced.
    pub payload: PayloadOptions,
}

/// A session's packet source. The methods that read the file (`open`,
/// `fill`, `seek`, `cue`) belong on the blocking pool.
pub struct Source {
    stream: MediaStream,
    pace: Pace,
    /// The log span the reads run in ([`FileToPlay::span`]), none for a
    /// reader given whole.
    span: tracing::Span,
}

/// The file a session plays, as its description found it.
pub struct FileToPlay<'a> {
    pub path: &'a Path,
    pub format: &'static ReaderFormat,
    /// The file's `play{file=...}` log span, which the reads run in so
    /// that what a reader finds odd (a warning logged deep in it) names
    /// the file (`catalog::Media::play_span`).
    pub span: &'a tracing::Span,
}

impl Source {
    /// Opens `file` for a session sending `tracks` in that order, as
    /// `settings` say, to a client at `peer`, read at `pace`, each RTP
    /// packet `overhead` bytes longer on the wire than its RTP header and
    /// payload (SRTP's tag and MKI), all within an Ethernet MTU.
    pub fn open(
        file: &FileToPlay<'_>,
        tracks: &[SourceTrack],
        settings: StreamSettings,
        peer: IpAddr,
        overhead: usize,
        pace: Pace,
    ) -> Result<Source, StreamError> {
        let demuxer = file
            .span
            .in_scope(|| crate::media::open_as(file.path, file.format, pace.chunk))?;
        let mut source = Source::new(demuxer, tracks, settings, peer, overhead, pace)?;
        source.span = file.span.clone();
        Ok(source)
    }

    /// A source reading `demuxer` (as [`open`](Self::open) does a file's).
    pub fn new(
        demuxer: Box<dyn Demuxer>,
        tracks: &[SourceTrack],
        settings: StreamSettings,
        peer: IpAddr,
        overhead: usize,
        pace: Pace,
    ) -> Result<Source, StreamError> {
        let config = StreamConfig {
            tracks: tracks.iter().map(|t| t.index).collect(),
            max_payload: stream::max_payload_for_mtu(MTU - overhead, peer.is_ipv6())
                .unwrap_or(1400),
            looping: settings.looping,
            payload: settings.payload,
            senders: tracks
                .iter()
                .map(|t| {
                    let options = SenderOptions {
                        ssrc: Some(t.ssrc),
                        sequence: t.sequence,
                        ..SenderOptions::default()
                    };
                    (t.index, options)
                })
                .collect(),
            ..StreamConfig::default()
        };
        Ok(Source {
            stream: MediaStream::new(demuxer, config)?,
            pace,
            span: tracing::Span::none(),
        })
    }

    /// How far ahead to read: at least, and at most while reads are slow.
    pub fn read_ahead(&self) -> RangeInclusive<Duration> {
        self.pace.read_ahead..=self.pace.most_read_ahead()
    }

    /// Appends the packets due up to send time `until` (and the first one
    /// after it), at most [`FILL_BYTES`] of them. Returns `false` once the
    /// stream has ended (its RTCP BYE included) and nothing more comes
    /// until a seek.
    pub fn fill(
        &mut self,
        until: Duration,
        out: &mut VecDeque<PacketParts>,
    ) -> Result<bool, StreamError> {
        let _file = self.span.enter();
        let mut bytes = 0;
        loop {
            let Some(packet) = self.stream.next_packet_parts()? else {
                return Ok(false);
            };
            let at = packet.send_time;
            bytes += packet.len();
            out.push_back(packet);
            if at > until || bytes >= FILL_BYTES {
                return Ok(true);
            }
        }
    }

    /// Repositions at the key frame at or before `npt`; returns where
    /// playback really starts.
    pub fn seek(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        let _file = self.span.enter();
        self.stream.seek(npt)
    }

    /// Reads ahead to each track's first packet, for [`play`](Self::play).
    pub fn cue(&mut self) -> Result<(), StreamError> {
        let _file = self.span.enter();
        self.stream.cue()
    }

    /// Starts the wall clock: the next packet goes out at `now`. Returns the
    /// position and RTP-Info of the PLAY response.
    pub fn play(&mut self, now: SystemTime) -> PlayStart {
        self.stream.play(now)
    }

    /// Takes back the packets read ahead and not sent, for the next PLAY.
    pub fn unread(&mut self, packets: VecDeque<PacketParts>) {
        self.stream.unread(packets);
    }

    /// Whether everything was sent (or the reading failed): the next PLAY
    /// starts over.
    pub fn has_ended(&self) -> bool {
        self.stream.has_ended()
    }

    /// Closes the file and lets go of the read buffers, keeping the
    /// position and the packets read ahead (see [`MediaStream::park`]): a
    /// paused or ended session holds no file descriptor. The next read
    /// opens the file again.
    pub fn park(&mut self) {
        self.stream.park();
    }

    /// RTCP BYE of every track (RFC 3550 §6.6); the stream ends.
    pub fn bye(&mut self, reason: &str) -> Vec<PacketParts> {
        self.stream
            .goodbye(reason)
            .into_iter()
            .map(PacketParts::from)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_follows_the_bit_rate() {
        let pace = |rate| {
            let p = Pace::for_bit_rate(Some(rate));
            (p.chunk / 1024, p.read_ahead.as_millis())
        };
        // 1 Mbit/s: 3.1 KB a chunk (4 KiB at least), 8 KiB (66 ms) but
        // at least 75 ms read ahead.
        assert_eq!(pace(1_000_000), (4, 75));
        assert_eq!(pace(2_000_000), (8, 75));
        assert_eq!(pace(12_000_000), (40, 75));
        assert_eq!(pace(40_000_000), (64, 75));
        assert_eq!(pace(128_000), (4, 512));
        assert_eq!(pace(0), (4, 1000));
        let most = |rate| Pace::for_bit_rate(Some(rate)).most_read_ahead().as_millis();
        assert_eq!(most(1_000_000), 300);
        assert_eq!(most(128_000), 1000);
        assert_eq!(most(0), 1000);
        let unknown = Pace::for_bit_rate(None);
        assert_eq!(
            (unknown.chunk, unknown.read_ahead.as_millis()),
            (65_536, 300)
        );
    }
}
