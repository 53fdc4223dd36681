//! One streamed track: its payload format and RTP sender, turning its
//! access units into RTP packets.

use super::rtcp_schedule::RtcpSchedule;
use super::timeline::{ns, ns_duration};
use super::{PacketKind, PacketParts, StreamError};
use crate::media::{AccessUnit, Track};
use crate::rtp::{
    PacketHead, Packetizer, PayloadDescription, RtpPayload, RtpSender, SenderOptions,
};
use crate::vocab::clock::rescale;
use crate::vocab::TrackKind;

/// One track of a stream as the session description and RTSP need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamTrack {
    /// File track index.
    pub index: usize,
    /// The payload format in SDP terms.
    pub description: PayloadDescription,
    /// The payload type in the RTP headers.
    pub payload_type: u8,
    /// The SSRC of the track's RTP sender.
    pub ssrc: u32,
}

/// A track being streamed.
pub(super) struct StreamedTrack {
    /// File track index.
    pub(super) index: usize,
    pub(super) kind: TrackKind,
    /// The track's timestamp clock (units' PTS/DTS).
    pub(super) clock_rate: u32,
    /// The payload format's RTP clock.
    pub(super) rtp_clock: u32,
    packetizer: Box<dyn Packetizer>,
    description: PayloadDescription,
    pub(super) sender: RtpSender,
    pub(super) rtcp: RtcpSchedule,
    /// The payloads of the unit being packetized (kept for its capacity).
    payloads: Vec<RtpPayload>,
}

impl StreamedTrack {
    /// File track `index`, `track`, sent through `packetizer` with RTP
    /// header fields `options`, reporting every `rtcp_interval` (ns).
    pub(super) fn new(
        index: usize,
        track: &Track,
        packetizer: Box<dyn Packetizer>,
        options: SenderOptions,
        rtcp_interval: i64,
    ) -> StreamedTrack {
        let description = packetizer.description();
        let sender = RtpSender::new(
            description.payload_type(index),
            description.clock_rate,
            options,
        );
        StreamedTrack {
            index,
            kind: track.kind(),
            clock_rate: track.clock_rate.max(1),
            rtp_clock: description.clock_rate.max(1),
            packetizer,
            description,
            sender,
            rtcp: RtcpSchedule::new(rtcp_interval),
            payloads: Vec::new(),
        }
    }

    /// The track as SDP and RTSP describe it.
    pub(super) fn describe(&self) -> StreamTrack {
        StreamTrack {
            index: self.index,
            description: self.description.clone(),
            payload_type: self.sender.payload_type(),
            ssrc: self.sender.ssrc(),
        }
    }

    /// The RTP packets of `unit`, each with its send time (ns): `send` for
    /// the unit's first, later by their timestamps for the packets of one
    /// unit with later ones (PCM split by the MTU or 20 ms). `rtp_offset`
    /// is added to the payload format's timestamps (see the timelines in
    /// `timeline.rs`).
    pub(super) fn packetize(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        rtp_offset: i64,
        send: i64,
    ) -> Result<Vec<(i64, PacketParts)>, StreamError> {
        self.payloads.clear();
        self.packetizer
            .packetize(unit, max_payload, &mut self.payloads)
            .map_err(|error| StreamError::Rtp {
                track: self.index,
                error,
            })?;
        let unit_ts = rescale(unit.pts, self.clock_rate, self.rtp_clock) as u32;
        Ok(self.packets(unit_ts, rtp_offset, send))
    }

    /// The RTP packets of the units the payload format still holds back to
    /// pack with later ones (RFC 5215, RFC 4184), going out from `send`
    /// (ns): at the end of the stream or before a loop restarts it.
    pub(super) fn flush(&mut self, rtp_offset: i64, send: i64) -> Vec<(i64, PacketParts)> {
        self.payloads.clear();
        self.packetizer.flush(&mut self.payloads);
        let first_ts = self.payloads.first().map_or(0, |p| p.timestamp);
        self.packets(first_ts, rtp_offset, send)
    }

    /// Forgets the units the payload format holds back (a seek: they are
    /// not to be sent, and no sequence number was given to them).
    pub(super) fn discard_held(&mut self) {
        self.payloads.clear();
        self.packetizer.flush(&mut self.payloads);
        self.payloads.clear();
    }

    /// The packets of `self.payloads`, the first going out at `send` (ns)
    /// for timestamp `unit_ts`, later ones later by their timestamps.
    fn packets(&mut self, unit_ts: u32, rtp_offset: i64, send: i64) -> Vec<(i64, PacketParts)> {
        // Each packet's head, and its media as a slice of the unit.
        // Drained, not cloned: nothing of the unit outlives its packets here
        // (a slice kept would hold the reader's whole buffer).
        let mut packets = Vec::with_capacity(self.payloads.len());
        for payload in self.payloads.drain(..) {
            let mut head = PacketHead::new();
            self.sender.write_head(&payload, rtp_offset, &mut head);
            let later = i64::from(payload.timestamp.wrapping_sub(unit_ts) as i32).max(0);
            let at = send + ns(later, self.rtp_clock);
            packets.push((
                at,
                PacketParts {
                    send_time: ns_duration(at),
                    track: self.index,
                    kind: PacketKind::Rtp,
                    head,
                    body: payload.data,
                },
            ));
        }
        packets
    }
}
