//! The media pipeline shared by `packetize` and `serve`: access units from a
//! [`Demuxer`] through each track's payload format and RTP sender, merged
//! into one sequence of timed outgoing RTP and RTCP packets.
//!
//! Pure and synchronous: nothing here sleeps or does I/O beyond the
//! demuxer's reads. Each packet carries the time at which a sender pacing in
//! real time would send it, derived from the media timestamps; a server
//! sleeps until then, `packetize` stamps captures with it. How media time,
//! send time, RTP time and the wall clock relate is told in `timeline.rs`.
//!
//! The parts, one job each: `selection.rs` picks the tracks and `track.rs`
//! packetizes each one's units; `merge.rs` reads the demuxer and merges the
//! tracks' units by decoding time; `timeline.rs` places them on the send
//! timeline; `send_queue.rs` orders the generated packets by send time;
//! `rtcp_schedule.rs` times and makes the sender reports and BYEs;
//! `play.rs` is what RTSP playback control asks (cue, play, unread,
//! goodbye). [`MediaStream`] drives them.

mod config;
mod merge;
mod packet;
mod play;
mod rtcp_schedule;
mod selection;
mod send_queue;
#[cfg(test)]
mod testing;
mod timeline;
mod track;

use std::time::Duration;

pub use config::{max_payload_for_mtu, StreamConfig, StreamError};
pub use packet::{OutgoingPacket, PacketKind, PacketParts};
pub use play::{PlayStart, RtpInfo};
pub use rtcp_schedule::BYE_GRACE;
pub use track::StreamTrack;

use crate::media::Demuxer;
use crate::rtp::RTP_HEADER_LEN;
use merge::TrackMerge;
use rtcp_schedule::SenderReports;
use send_queue::{QueuedItem, SendQueue};
use timeline::{duration_ns, unit_end, Timeline};
use track::StreamedTrack;

/// A file as a timed sequence of RTP and RTCP packets. See the module docs.
pub struct MediaStream {
    /// The tracks streamed, in the order selected.
    tracks: Vec<StreamedTrack>,
    /// The file's units, by track, in decoding order.
    merge: TrackMerge,
    timeline: Timeline,
    /// The packets generated and not yet returned.
    queue: SendQueue,
    reports: SenderReports,
    max_payload: usize,
    looping: bool,
    /// The stream has ended (its final BYE queued, a read error returned,
    /// or [`goodbye`](Self::goodbye)) until a [`seek`](Self::seek).
    finished: bool,
}

impl MediaStream {
    /// A stream of `config.tracks` of `demuxer`, positioned at its start.
    pub fn new(
        demuxer: Box<dyn Demuxer>,
        config: StreamConfig,
    ) -> Result<MediaStream, StreamError> {
        let tracks = selection::select_tracks(demuxer.tracks(), &config)?;
        Ok(MediaStream {
            merge: TrackMerge::new(demuxer, &tracks),
            tracks,
            timeline: Timeline::new(),
            queue: SendQueue::new(),
            reports: SenderReports::new(config.cname, config.wallclock),
            max_payload: config.max_payload,
            looping: config.looping,
            finished: false,
        })
    }

    /// The streamed tracks, in file track order as selected.
    pub fn tracks(&self) -> Vec<StreamTrack> {
        self.tracks.iter().map(StreamedTrack::describe).collect()
    }

    /// Bytes of access-unit data read from the file so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.merge.bytes_read()
    }

    /// The media position (NPT) of the send cursor: where playback is.
    pub fn position(&self) -> Duration {
        self.timeline.npt_at(self.timeline.cursor())
    }

    /// The next packet in send order, `Ok(None)` after the final RTCP BYE.
    ///
    /// A read error is returned after every packet of the units read before
    /// it; the stream then ends (or can be [`seek`](Self::seek)ed).
    pub fn next_packet(&mut self) -> Result<Option<OutgoingPacket>, StreamError> {
        Ok(self.next_packet_parts()?.map(PacketParts::join))
    }

    /// [`next_packet`](Self::next_packet) with the packet's bytes in two
    /// parts, not joined.
    pub fn next_packet_parts(&mut self) -> Result<Option<PacketParts>, StreamError> {
        if let Some(packet) = self.queue.pop_given_back() {
            return Ok(Some(packet));
        }
        loop {
            if let Some(due) = self.queue.earliest() {
                // Release a packet once no unit still to packetize can
                // produce an earlier one.
                let release = self.finished || self.next_unit().is_none_or(|(_, send)| due <= send);
                if release {
                    if let Some((send, item)) = self.queue.pop() {
                        return Ok(Some(self.release(send, item)));
                    }
                }
            }
            if !self.generate()? {
                return Ok(None);
            }
        }
    }

    /// Repositions the stream at the key frame at or before `npt` (audio
    /// tracks start at the frame containing that key frame's time) and
    /// returns the position reached. Packets not yet returned are dropped
    /// and their sequence numbers reused: numbering continues without gaps,
    /// and timestamps continue past everything already sent.
    pub fn seek(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        self.finished = false;
        self.restart(npt)
    }

    /// Generates what comes next: the packets of the next unit, or at the
    /// end of the file the restart of a loop or the final BYE; `false` once
    /// the stream is finished.
    fn generate(&mut self) -> Result<bool, StreamError> {
        if self.finished {
            return Ok(false);
        }
        if let Some((pos, send)) = self.next_unit() {
            self.send_unit(pos, send)?;
        } else if let Some(e) = self.merge.take_error() {
            self.finished = true;
            return Err(e.into());
        } else if self.looping && self.merge.taken() > 0 {
            self.restart(Duration::ZERO)?;
        } else {
            // The BYE goes out a grace period after the last unit's
            // presentation ends, not with its last packet: a receiver that
            // stops at BYE (ffmpeg, GStreamer) still has that unit to take
            // from its RTP socket, and RTCP arrives on another socket.
            let end = self.presentation_end() + BYE_GRACE.as_nanos() as i64;
            for pos in 0..self.tracks.len() {
                self.enqueue_report(pos, end, true);
            }
            self.finished = true;
        }
        Ok(true)
    }

    /// The stream position of the track whose unit goes next and that
    /// unit's send time (ns), fixing the segment's origin at its first
    /// unit (see [`Timeline::fix_origin`]).
    fn next_unit(&mut self) -> Option<(usize, i64)> {
        let (pos, dts) = self.merge.next()?;
        self.timeline.fix_origin(dts);
        Some((pos, self.timeline.send_time(dts)))
    }

    /// Packetizes the unit at the head of track `pos`'s queue into RTP
    /// packets going out from `send` (ns), and adds a sender report when
    /// one is due.
    fn send_unit(&mut self, pos: usize, send: i64) -> Result<(), StreamError> {
        let Some(unit) = self.merge.take(pos) else {
            return Ok(());
        };
        self.timeline.advance(send);
        let t = &mut self.tracks[pos];
        let rtp_offset = self.timeline.rtp_offset(t.rtp_clock);
        let packets = t.packetize(&unit, self.max_payload, rtp_offset, send)?;
        self.timeline.presented_until(unit_end(&unit, t.clock_rate));
        let report_due = t.rtcp.due(send);
        // The report follows the unit's last packet, so its counts are of
        // packets sent by then (RFC 3550 §6.4.1).
        let mut last = send;
        for (at, packet) in packets {
            last = at;
            self.queue.push(at, QueuedItem::Packet(packet));
        }
        if report_due {
            self.enqueue_report(pos, last, false);
        }
        Ok(())
    }

    /// Queues a sender report of `tracks[pos]` at send time `at` (ns) with
    /// the track's counts as they are now.
    fn enqueue_report(&mut self, pos: usize, at: i64, bye: bool) {
        let sender = self.tracks[pos].sender.clone();
        self.queue.push(at, QueuedItem::Report { pos, sender, bye });
    }

    /// The packet of a queued item leaving the queue at `send` (ns).
    fn release(&self, send: i64, item: QueuedItem) -> PacketParts {
        match item {
            QueuedItem::Packet(packet) => packet,
            QueuedItem::Report { pos, sender, bye } => {
                let t = &self.tracks[pos];
                let bye = bye.then_some("end of stream");
                self.reports.make(t.index, t.rtp_clock, &sender, send, bye)
            }
        }
    }

    /// The send time at which the presentation of everything sent so far
    /// ends (ns): the latest unit's PTS plus duration, or the latest packet
    /// if that is later.
    fn presentation_end(&self) -> i64 {
        self.timeline.presented_end().max(self.queue.last_send())
    }

    /// Drops every packet not yet returned, giving back the sequence
    /// numbers of the RTP ones.
    fn drop_unsent(&mut self) {
        for packet in self.queue.drain_unsent() {
            if packet.kind == PacketKind::Rtp {
                if let Some(pos) = self.merge.position_of(packet.track) {
                    self.tracks[pos]
                        .sender
                        .unsend(packet.len() - RTP_HEADER_LEN);
                }
            }
        }
    }

    /// Seeks the demuxer and starts a new segment at the end of everything
    /// sent so far.
    fn restart(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        self.drop_unsent();
        let reached = self.merge.seek(npt)?;
        let at = self.presentation_end().max(self.timeline.cursor());
        self.timeline.start_segment(duration_ns(reached), at);
        Ok(reached)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::rtp::rtcp::{self, RtcpMessage};
    use testing::{av_demuxer, config, drain, rtp};

    #[test]
    fn seek_continues_numbering_and_aligns_audio() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        // Send 2 s worth, keeping some packets generated but unsent.
        let mut sent = Vec::new();
        while let Some(p) = stream.next_packet().unwrap() {
            let done = p.send_time >= Duration::from_secs(2);
            sent.push(p);
            if done {
                break;
            }
        }
        let last_seq = |track| {
            sent.iter()
                .filter(|p| p.track == track && p.kind == PacketKind::Rtp)
                .map(rtp)
                .last()
                .unwrap()
        };
        let (video_seq, _, _) = last_seq(0);
        let (audio_seq, _, _) = last_seq(1);
        let reached = stream.seek(Duration::from_millis(6700)).unwrap();
        assert_eq!(reached, Duration::from_secs(6));
        let play = stream.play(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        assert_eq!(play.npt, Duration::from_secs(6));
        // The segment starts where the media sent so far ends (2.04 s: the
        // last video frame sent was at 2.0 s).
        assert_eq!(play.send_time, Duration::from_millis(2040));
        assert_eq!(play.rtp_info[0].sequence, video_seq.wrapping_add(1));
        assert_eq!(play.rtp_info[1].sequence, audio_seq.wrapping_add(1));
        assert_eq!(
            play.rtp_info[0].rtptime,
            0xffff_0000u32.wrapping_add(2040 * 90)
        );
        assert_eq!(play.rtp_info[1].rtptime, 1000 + 2040 * 8);
        let after = drain(&mut stream);
        let first_video = after
            .iter()
            .find(|p| p.track == 0 && p.kind == PacketKind::Rtp)
            .unwrap();
        assert_eq!(rtp(first_video).0, play.rtp_info[0].sequence);
        assert_eq!(rtp(first_video).1, play.rtp_info[0].rtptime);
        assert_eq!(first_video.send_time, play.send_time);
        let first_audio = after
            .iter()
            .find(|p| p.track == 1 && p.kind == PacketKind::Rtp)
            .unwrap();
        assert_eq!(rtp(first_audio).1, play.rtp_info[1].rtptime);
        // Sender reports after the seek use the same timeline and the anchor
        // `play` set.
        let sr = after
            .iter()
            .find(|p| p.kind == PacketKind::Rtcp && p.track == 1)
            .unwrap();
        let Some(RtcpMessage::SenderReport {
            ntp, rtp_timestamp, ..
        }) = rtcp::parse(&sr.data).unwrap().first().cloned()
        else {
            panic!()
        };
        let wall = rtcp::ntp_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let since_play = (ntp - wall) as f64 / 2f64.powi(32);
        let expected = (sr.send_time - play.send_time).as_secs_f64();
        assert!((since_play - expected).abs() < 1e-6);
        assert_eq!(
            rtp_timestamp,
            1000 + (sr.send_time.as_micros() as u32 * 8 / 1000)
        );
    }
}
