//! The bridge from a file to a session's timed packets: the RTP pipeline
//! ([`MediaStream`]) over the file's demuxer, read in batches on the
//! blocking pool.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, SystemTime};

use crate::rtp::{rtcp, SenderOptions};
use crate::stream::{self, MediaStream, PacketKind, RtpInfo, StreamConfig, StreamError};

use super::playback::{Kind, Timed};

/// File bytes read at a time: a few hundred milliseconds of a 2 Mbit/s
/// stream, so a playing session holds about this much of its file.
const READ_CHUNK: usize = 64 * 1024;

/// A session's packet source. Its methods read the file: call them on the
/// blocking pool.
pub struct Source {
    stream: MediaStream,
    /// File track index of each position in the session's track list.
    tracks: Vec<usize>,
}

/// Where playback starts, as PLAY's response needs it.
pub struct Start {
    /// The presentation time of the first packet (`Range: npt=`).
    pub npt: Duration,
    /// The send time of the first packet: it goes out now.
    pub send_time: Duration,
    /// Fallback RTP-Info of tracks with nothing left to send.
    pub rtp_info: Vec<RtpInfo>,
}

impl Source {
    /// Opens `file` for a session sending `tracks` (file index, SSRC) in
    /// that order to a client at `peer`.
    pub fn open(
        file: &Path,
        tracks: &[(usize, u32)],
        looping: bool,
        peer: IpAddr,
    ) -> Result<Source, StreamError> {
        let demuxer = crate::media::open_chunked(file, READ_CHUNK)?;
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
            tracks: tracks.iter().map(|(index, _)| *index).collect(),
        })
    }

    /// Appends the packets due up to send time `until` (and the first one
    /// after it). Returns `false` once the stream has ended (its RTCP BYE
    /// included) and nothing more comes until a seek.
    pub fn fill(
        &mut self,
        until: Duration,
        out: &mut VecDeque<Timed>,
    ) -> Result<bool, StreamError> {
        loop {
            let Some(packet) = self.stream.next_packet()? else {
                return Ok(false);
            };
            let at = packet.send_time;
            out.push_back(self.timed(packet));
            if at > until {
                return Ok(true);
            }
        }
    }

    /// Repositions at the key frame at or before `npt`; returns where
    /// playback really starts.
    pub fn seek(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        self.stream.seek(npt)
    }

    /// Starts the wall clock: the packet with send time `first` (the first
    /// one read ahead, if any) goes out at `now`. Sender reports already read
    /// ahead are restamped to match (RFC 3550 §6.4.1).
    pub fn play(&mut self, now: SystemTime, pending: &mut VecDeque<Timed>) -> Start {
        let probe = self.stream.play(now);
        let first = pending
            .front()
            .map(|p| p.at)
            .filter(|at| *at <= probe.send_time);
        let Some(first) = first else {
            return Start {
                npt: probe.npt,
                send_time: probe.send_time,
                rtp_info: probe.rtp_info,
            };
        };
        // The stream's own position is past what was read ahead: shift the
        // wall-clock anchor back by the difference.
        let ahead = probe.send_time - first;
        let start = self.stream.play(now + ahead);
        let anchor = now.checked_sub(first).unwrap_or(now);
        for packet in pending.iter_mut().filter(|p| p.kind == Kind::Rtcp) {
            restamp_sender_report(packet, anchor);
        }
        Start {
            npt: start.npt.saturating_sub(ahead),
            send_time: first,
            rtp_info: start.rtp_info,
        }
    }

    /// RTCP BYE of every track (RFC 3550 §6.6), stamped at the latest send
    /// time.
    pub fn bye(&mut self, reason: &str) -> Vec<Timed> {
        self.stream
            .goodbye(reason)
            .into_iter()
            .map(|p| self.timed(p))
            .collect()
    }

    fn timed(&self, packet: stream::OutgoingPacket) -> Timed {
        Timed {
            at: packet.send_time,
            track: self
                .tracks
                .iter()
                .position(|&i| i == packet.track)
                .unwrap_or(usize::MAX),
            kind: match packet.kind {
                PacketKind::Rtp => Kind::Rtp,
                PacketKind::Rtcp => Kind::Rtcp,
            },
            data: packet.data,
        }
    }
}

/// Rewrites the NTP time of a compound RTCP packet that starts with a
/// sender report (RFC 3550 §6.4.1: bytes 8..16) for wall-clock anchor
/// `anchor` of send time zero.
fn restamp_sender_report(packet: &mut Timed, anchor: SystemTime) {
    const SENDER_REPORT: u8 = 200;
    if packet.data.len() < 16 || packet.data[1] != SENDER_REPORT {
        return;
    }
    let ntp = rtcp::ntp_timestamp(anchor + packet.at);
    let mut data = packet.data.to_vec();
    data[8..16].copy_from_slice(&ntp.to_be_bytes());
    packet.data = data.into();
}
