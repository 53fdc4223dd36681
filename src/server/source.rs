//! The bridge from a file to a session's timed packets: the RTP pipeline
//! ([`MediaStream`]) over the file's demuxer, read in batches on the
//! blocking pool.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::media::ReadOptions;
use crate::rtp::SenderOptions;
use crate::stream::{self, MediaStream, PacketParts, PlayStart, StreamConfig, StreamError};

/// File bytes read at a time: a few hundred milliseconds of a 2 Mbit/s
/// stream, so a playing session holds about this much of its file.
const READ_CHUNK: usize = 64 * 1024;

/// The most packet bytes one [`Source::fill`] returns, whatever their send
/// times: a file whose timestamps stand still must not be read whole.
const FILL_BYTES: usize = 4 << 20;

/// A session's packet source. The methods that read the file (`open`,
/// `fill`, `seek`, `cue`) belong on the blocking pool.
pub struct Source {
    stream: MediaStream,
}

impl Source {
    /// Opens `file`, read as `options` say, for a session sending
    /// `tracks` (file index, SSRC) in that order to a client at `peer`.
    pub fn open(
        file: &Path,
        options: &ReadOptions,
        tracks: &[(usize, u32)],
        looping: bool,
        peer: IpAddr,
    ) -> Result<Source, StreamError> {
        let demuxer = crate::media::open_chunked(file, READ_CHUNK, options)?;
        let config = StreamConfig {
            tracks: tracks.iter().map(|(index, _)| *index).collect(),
            max_payload: stream::max_payload_for_mtu(1500, peer.is_ipv6()).unwrap_or(1400),
            looping,
            senders: tracks
                .iter()
                .map(|&(index, ssrc)| {
                    let options = SenderOptions {
                        ssrc: Some(ssrc),
                        ..SenderOptions::default()
                    };
                    (index, options)
                })
                .collect(),
            ..StreamConfig::default()
        };
        Ok(Source {
            stream: MediaStream::new(demuxer, config)?,
        })
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
        self.stream.seek(npt)
    }

    /// Reads ahead to each track's first packet, for [`play`](Self::play).
    pub fn cue(&mut self) -> Result<(), StreamError> {
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

    /// RTCP BYE of every track (RFC 3550 §6.6); the stream ends.
    pub fn bye(&mut self, reason: &str) -> Vec<PacketParts> {
        self.stream
            .goodbye(reason)
            .into_iter()
            .map(PacketParts::from)
            .collect()
    }
}
