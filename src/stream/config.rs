//! What a stream is asked to do ([`StreamConfig`]) and why it may refuse
//! or stop ([`StreamError`]).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use crate::media::MediaError;
use crate::rtp::{PayloadOptions, RtpError, SenderOptions, RTP_HEADER_LEN};

/// What a [`MediaStream`](super::MediaStream) sends and how.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// File track indexes to stream; empty means every track RTP can carry.
    pub tracks: Vec<usize>,
    /// Largest RTP payload in bytes (see [`max_payload_for_mtu`]).
    pub max_payload: usize,
    /// Media time between RTCP sender reports of a track (RFC 3550 §6.2
    /// suggests 5 s as the minimum interval).
    pub rtcp_interval: Duration,
    /// Restart at the end of the file instead of ending the stream.
    pub looping: bool,
    /// The RTCP CNAME of every track (RFC 3550 §6.5.1: one per session
    /// participant, `user@host` style).
    pub cname: String,
    /// Wall-clock time of send time zero: the NTP side of the sender
    /// reports until [`MediaStream::play`](super::MediaStream::play) sets
    /// it again.
    pub wallclock: SystemTime,
    /// RTP header fields to use instead of random ones, by file track index.
    pub senders: BTreeMap<usize, SenderOptions>,
    /// The choices between payload formats (8-bit PCM as L16 or L8).
    pub payload: PayloadOptions,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            tracks: Vec::new(),
            max_payload: max_payload_for_mtu(1500, false).unwrap_or(1460),
            rtcp_interval: Duration::from_secs(5),
            looping: false,
            cname: format!("mediatool@{}", hostname()),
            wallclock: SystemTime::now(),
            senders: BTreeMap::new(),
            payload: PayloadOptions::default(),
        }
    }
}

/// The largest RTP payload an IP packet of `mtu` bytes can carry over UDP:
/// the MTU minus the IPv4 (20) or IPv6 (40) header, UDP (8) and RTP (12)
/// headers. `None` when nothing is left.
pub fn max_payload_for_mtu(mtu: usize, ipv6: bool) -> Option<usize> {
    let ip = if ipv6 { 40 } else { 20 };
    mtu.checked_sub(ip + 8 + RTP_HEADER_LEN).filter(|&n| n > 0)
}

/// The machine's name, read once (every stream's default CNAME has it).
fn hostname() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    })
}

/// Why a stream cannot start or continue.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the file failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// A track's payload format refused the track or one of its units.
    #[error("track {track}: {error}")]
    Rtp {
        /// File track index.
        track: usize,
        /// What the payload format said: in the message, and so not the
        /// error's `source()` too (a printed chain would repeat it).
        error: RtpError,
    },
    /// A selected track index the file does not have.
    #[error("track {track} does not exist: the file has {count} track(s), 0 to {last}", last = count.saturating_sub(1))]
    NoSuchTrack {
        /// The index asked for.
        track: usize,
        /// How many tracks the file has.
        count: usize,
    },
    /// No track of the file can be carried over RTP.
    #[error("no track can be streamed over RTP{0}")]
    NothingToStream(String),
}
