//! What RTSP playback control asks of a stream: cue the first packets,
//! start or resume at a wall-clock instant with the `Range` and `RTP-Info`
//! of the PLAY response, take back packets read ahead and never sent, and
//! say goodbye.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime};

use super::packet::rtp_sequence_and_timestamp;
use super::timeline::{duration_ns, ns_duration, ticks, NS};
use super::{MediaStream, OutgoingPacket, PacketKind, PacketParts, StreamError};
use crate::rtp::rtcp::{self, RtcpMessage};

/// How far past the play position [`MediaStream::cue`] generates packets
/// looking for a track's first one (ns): bounds what a track that never
/// comes costs.
const CUE_LIMIT: i64 = 2 * NS as i64;

/// Where a track resumes after [`MediaStream::play`]: the RTSP `RTP-Info`
/// fields (RFC 2326 §12.33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpInfo {
    /// File track index.
    pub track: usize,
    /// Sequence number of the next RTP packet of the track (of its first
    /// packet when it is queued: see [`MediaStream::cue`]).
    pub sequence: u16,
    /// The RTP timestamp of the play position (`npt` of [`PlayStart`]), as
    /// RFC 2326 §12.33 defines `rtptime`: the same instant on every
    /// track, so a client maps each track's timestamps to one timeline
    /// before any sender report arrives. It equals the first packet's
    /// timestamp for video (the key frame at the position) but not for a
    /// track whose first frame starts before the position (audio after a
    /// seek: the frame containing it) or after it (a track that starts
    /// late).
    pub rtptime: u32,
}

/// What [`MediaStream::play`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayStart {
    /// The media position playback resumes at (RTSP `Range: npt=`).
    pub npt: Duration,
    /// The send time that maps to the wall-clock instant given to `play`:
    /// send the packet stamped `t` at `that instant + (t - send_time)`.
    pub send_time: Duration,
    /// One entry per track.
    pub rtp_info: Vec<RtpInfo>,
}

impl MediaStream {
    /// Takes back packets this stream returned that were never sent (a
    /// sender reading ahead stopped), in the order they were returned:
    /// they are returned again before anything else, so a later
    /// [`play`](Self::play) starts at the first of them and a
    /// [`seek`](Self::seek) reuses their sequence numbers. Sender reports
    /// among them are dropped and fall due again, to be made with the
    /// wall clock of the next `play` (RFC 3550 §6.4.1); the final BYE is
    /// made again in its turn.
    pub fn unread(&mut self, packets: impl IntoIterator<Item = PacketParts>) {
        let mut back = VecDeque::new();
        for packet in packets {
            if packet.kind == PacketKind::Rtp {
                back.push_back(packet);
                continue;
            }
            let Some(pos) = self.merge.position_of(packet.track) else {
                continue;
            };
            let at = duration_ns(packet.send_time);
            if rtcp::parse(&packet.body)
                .is_ok_and(|m| m.iter().any(|m| matches!(m, RtcpMessage::Bye { .. })))
            {
                self.enqueue_report(pos, at, true);
            } else {
                self.tracks[pos].rtcp.due_again_by(at);
            }
        }
        self.queue.give_back(back);
    }

    /// Whether the stream has ended and returned everything: its final
    /// BYE, a read error, or [`goodbye`](Self::goodbye). A
    /// [`seek`](Self::seek) starts it again.
    pub fn has_ended(&self) -> bool {
        self.finished && self.queue.is_empty()
    }

    /// Generates packets until every track's next RTP packet is queued
    /// (or the stream ends, or 2 s of send time are queued), so that
    /// [`play`](Self::play) names those packets in RTP-Info. Reads the
    /// file.
    pub fn cue(&mut self) -> Result<(), StreamError> {
        let from = self.next_send_time();
        loop {
            let cued = self
                .tracks
                .iter()
                .all(|t| self.queue.first_rtp(t.index).is_some());
            // Every unit of the segment packetized (a track that ends
            // early has nothing to cue): the loop restart, the final BYE or
            // a read error come from `next_packet`, after what is queued.
            let exhausted = self.next_unit().is_none();
            if cued || exhausted || self.finished || self.queue.last_send() - from > CUE_LIMIT {
                return Ok(());
            }
            self.generate()?;
        }
    }

    /// Declares that the next packet goes out at wall-clock `now`
    /// (playback starts or resumes): sender reports from now on map their
    /// send time to the wall clock from there (RFC 3550 §6.4.1). Returns
    /// where playback resumes and the RTP-Info of every track for the RTSP
    /// PLAY response (RFC 2326 §12.33); [`cue`](Self::cue) first for the
    /// exact first packet of each track.
    pub fn play(&mut self, now: SystemTime) -> PlayStart {
        let send_time = self.next_send_time();
        self.reports.anchor_at(now, send_time);
        let npt = self.timeline.npt_at(send_time);
        // When the play position is presented, on the send timeline.
        let presented = self.timeline.presented_at(duration_ns(npt));
        let rtp_info = self
            .tracks
            .iter()
            .map(|t| {
                let sequence = self
                    .queue
                    .first_rtp(t.index)
                    .and_then(|p| rtp_sequence_and_timestamp(&p.head))
                    .map_or_else(|| t.sender.next_sequence(), |(sequence, _)| sequence);
                RtpInfo {
                    track: t.index,
                    sequence,
                    rtptime: t.sender.rtp_timestamp(ticks(presented, t.rtp_clock)),
                }
            })
            .collect();
        PlayStart {
            npt,
            send_time: ns_duration(send_time),
            rtp_info,
        }
    }

    /// Ends the stream now: a compound sender report, SDES and BYE for every
    /// track (RFC 3550 §6.6), stamped with the send time of the next packet
    /// that would have gone (what was read ahead and taken back with
    /// [`unread`](Self::unread) does not count as sent). Packets not yet
    /// returned are dropped (their sequence numbers reused after a
    /// [`seek`](Self::seek)), and later calls to
    /// [`next_packet`](Self::next_packet) return `None`.
    ///
    /// At the end of the file the stream sends its own BYE, at the end of
    /// the presentation of the last unit.
    pub fn goodbye(&mut self, reason: &str) -> Vec<OutgoingPacket> {
        let now = self.next_send_time();
        self.drop_unsent();
        self.finished = true;
        self.tracks
            .iter()
            .map(|t| {
                self.reports
                    .make(t.index, t.rtp_clock, &t.sender, now, Some(reason))
                    .join()
            })
            .collect()
    }

    /// Lets go of the file and of every buffer read from it until the next
    /// read, keeping the position and what was read ahead (copied to fit):
    /// a paused or ended stream holds no file descriptor and no read
    /// buffer. The next [`cue`](Self::cue), [`seek`](Self::seek) or read
    /// opens the file again.
    pub fn park(&mut self) {
        self.merge.park();
        self.queue.compact();
    }

    /// The send time of the next packet to return (ns).
    fn next_send_time(&self) -> i64 {
        self.queue
            .next_send_time()
            .unwrap_or(self.timeline.cursor())
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use crate::rtp::rtcp::{self, RtcpMessage};
    use crate::stream::packet::rtp_sequence_and_timestamp;
    use crate::stream::testing::{av_demuxer, config, drain_parts, firsts, info, report_anchor};
    use crate::stream::{MediaStream, PacketKind, PacketParts};

    #[test]
    fn cue_names_each_tracks_first_packet_in_rtp_info() {
        // The fixture's audio frames start on the video's key frames:
        // every first packet is at the play position.
        for seek in [None, Some(Duration::from_millis(6700))] {
            let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
            if let Some(npt) = seek {
                stream.seek(npt).unwrap();
            }
            stream.cue().unwrap();
            let play = stream.play(SystemTime::now());
            let packets = drain_parts(&mut stream);
            assert_eq!(info(&play), firsts(&packets), "seek {seek:?}");
            assert_eq!(packets[0].send_time, play.send_time);
        }
    }

    /// RTP-Info maps every track to the play position (RFC 2326 §12.33):
    /// an audio track that starts 0.5 s after the video has an rtptime
    /// 0.5 s of its clock (less 5 ms) before its first packet, and after a seek that
    /// lands audio 5 ms before the key frame, audio's first packet comes
    /// 40 ticks before its rtptime. Every first packet's timestamp, mapped
    /// through its track's rtptime, is its media time less the npt.
    #[test]
    fn rtp_info_names_one_instant_for_every_track() {
        let mut demuxer = av_demuxer();
        // Audio from 0.5 s, in blocks shifted 5 ms early.
        demuxer.units.retain(|u| u.track == 0 || u.pts >= 4000);
        for u in demuxer.units.iter_mut().filter(|u| u.track == 1) {
            u.pts -= 40;
            u.dts -= 40;
        }
        let media_time = |p: &PacketParts| {
            let (_, ts) = rtp_sequence_and_timestamp(&p.head).unwrap();
            ts
        };
        for seek in [None, Some(Duration::from_secs(3))] {
            let mut stream = MediaStream::new(Box::new(demuxer_copy(&demuxer)), config()).unwrap();
            if let Some(npt) = seek {
                stream.seek(npt).unwrap();
            }
            stream.cue().unwrap();
            let play = stream.play(SystemTime::now());
            let packets = drain_parts(&mut stream);
            let first = |track| {
                packets
                    .iter()
                    .find(|p| p.track == track && p.kind == PacketKind::Rtp)
                    .unwrap()
            };
            let video = media_time(first(0)).wrapping_sub(play.rtp_info[0].rtptime) as i32;
            let audio = media_time(first(1)).wrapping_sub(play.rtp_info[1].rtptime) as i32;
            assert_eq!(video, 0, "{seek:?}: the video key frame is at the npt");
            match seek {
                // Audio starts 0.5 s late, less its 5 ms shift.
                None => assert_eq!(audio, 4000 - 40, "{seek:?}"),
                // The frame containing 3 s starts 5 ms before it.
                Some(_) => assert_eq!(audio, -40, "{seek:?}"),
            }
            assert_eq!(info(&play).iter().map(|i| i.0).collect::<Vec<_>>(), {
                let f = firsts(&packets);
                f.iter().map(|i| i.0).collect::<Vec<_>>()
            });
        }
    }

    /// A fresh copy of `demuxer` at its start.
    fn demuxer_copy(
        demuxer: &crate::stream::testing::FakeDemuxer,
    ) -> crate::stream::testing::FakeDemuxer {
        let mut copy = av_demuxer();
        copy.units = demuxer.units.clone();
        copy
    }

    /// A track that ends before the others has nothing to cue after a
    /// seek past its end; cueing the rest must not run into the loop
    /// restart, which would drop what it queued and start again at 0.
    #[test]
    fn cue_past_a_tracks_end_keeps_the_seek_when_looping() {
        let mut demuxer = av_demuxer();
        demuxer.units.retain(|u| u.track == 0 || u.pts < 8 * 8000);
        let mut c = config();
        c.looping = true;
        let mut stream = MediaStream::new(Box::new(demuxer), c).unwrap();
        stream.seek(Duration::from_secs(9)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        assert_eq!(play.npt, Duration::from_secs(9));
        // The stream loops forever: look at the next second only.
        let next_second: Vec<PacketParts> =
            std::iter::from_fn(|| stream.next_packet_parts().unwrap())
                .take_while(|p| p.send_time < play.send_time + Duration::from_secs(1))
                .filter(|p| p.kind == PacketKind::Rtp)
                .collect();
        assert!(
            next_second.iter().all(|p| p.track == 0),
            "audio before its end"
        );
        // The last second of video: SPS and PPS in a STAP-A, then 25 frames
        // of 3000 bytes in 3 packets each.
        assert_eq!(next_second.len(), 1 + 25 * 3);
        assert_eq!(
            rtp_sequence_and_timestamp(&next_second[0].head),
            Some((play.rtp_info[0].sequence, play.rtp_info[0].rtptime))
        );
    }

    #[test]
    fn unread_packets_come_back_first_and_reports_follow_the_new_anchor() {
        let mut whole = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let reference = drain_parts(&mut whole);
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let first_wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        stream.play(first_wall);
        // Read to 5.6 s; what is past 4.9 s (the reports at 5 s among it)
        // was read ahead and never sent.
        let mut read = Vec::new();
        while let Some(p) = stream.next_packet_parts().unwrap() {
            let done = p.send_time >= Duration::from_millis(5600);
            read.push(p);
            if done {
                break;
            }
        }
        let sent = read
            .iter()
            .position(|p| p.send_time > Duration::from_millis(4900))
            .unwrap();
        let unsent = read.split_off(sent);
        assert!(unsent.iter().any(|p| p.kind == PacketKind::Rtcp));
        stream.unread(unsent.clone());
        assert!(!stream.has_ended());
        // Resumed an hour later: the first packet read back goes out then.
        let resumed_wall = first_wall + Duration::from_secs(3600);
        stream.cue().unwrap();
        let play = stream.play(resumed_wall);
        assert_eq!(play.send_time, unsent[0].send_time);
        let rest = drain_parts(&mut stream);
        assert_eq!(info(&play), firsts(&rest));
        // The same RTP packets as a stream never stopped.
        let rtp = |packets: &[PacketParts]| -> Vec<PacketParts> {
            packets
                .iter()
                .filter(|p| p.kind == PacketKind::Rtp)
                .cloned()
                .collect()
        };
        let mut all = rtp(&read);
        all.extend(rtp(&rest));
        assert_eq!(all, rtp(&reference));
        // Reports made after the resumption, at 5 s, and the BYE, follow the
        // new wall clock; the report that was read ahead is made again.
        let resumed =
            rtcp::ntp_timestamp(resumed_wall) as f64 / 2f64.powi(32) - play.send_time.as_secs_f64();
        let reports: Vec<&PacketParts> =
            rest.iter().filter(|p| p.kind == PacketKind::Rtcp).collect();
        assert!(reports.len() >= 4, "{}", reports.len());
        for report in reports {
            let anchor = report_anchor(report).unwrap();
            assert!((anchor - resumed).abs() < 1e-6, "{report:?}");
        }
        assert!(stream.has_ended());
    }

    #[test]
    fn a_seek_after_unread_reuses_the_sequence_numbers() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut read = Vec::new();
        for _ in 0..200 {
            read.push(stream.next_packet_parts().unwrap().unwrap());
        }
        let unsent = read.split_off(100);
        let next = firsts(&unsent);
        stream.unread(unsent);
        stream.seek(Duration::from_secs(3)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        let sequences: Vec<u16> = info(&play).iter().map(|i| i.0).collect();
        assert_eq!(sequences, [next[0].0, next[1].0]);
    }

    #[test]
    fn goodbye_drops_what_is_unsent_and_the_final_bye_comes_back_when_unread() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut read: Vec<PacketParts> = (0..50)
            .map(|_| stream.next_packet_parts().unwrap().unwrap())
            .collect();
        let unsent = read.split_off(40);
        let next = firsts(&unsent);
        let resume_at = unsent[0].send_time;
        stream.unread(unsent);
        let bye = stream.goodbye("session ended");
        assert_eq!(bye.len(), 2);
        // Stamped where sending stopped, not at the end of the read-ahead.
        assert!(bye.iter().all(|p| p.send_time == resume_at), "{bye:?}");
        assert!(stream.has_ended());
        assert!(stream.next_packet_parts().unwrap().is_none());
        stream.seek(Duration::ZERO).unwrap();
        stream.cue().unwrap();
        let sequences: Vec<u16> = info(&stream.play(SystemTime::now()))
            .iter()
            .map(|i| i.0)
            .collect();
        assert_eq!(sequences, [next[0].0, next[1].0]);
        // To the end, then the last packets and the BYE handed back: the BYE
        // comes again, the report before it does not (no unit follows).
        let mut all = drain_parts(&mut stream);
        assert!(stream.has_ended());
        let last_rtp = all.iter().rposition(|p| p.kind == PacketKind::Rtp).unwrap();
        let tail = all.split_off(last_rtp);
        let is_bye = |p: &PacketParts| {
            p.kind == PacketKind::Rtcp
                && matches!(
                    rtcp::parse(&p.body).unwrap().last(),
                    Some(RtcpMessage::Bye { .. })
                )
        };
        assert_eq!(tail.iter().filter(|p| is_bye(p)).count(), 2);
        stream.unread(tail.clone());
        assert!(!stream.has_ended());
        let again = drain_parts(&mut stream);
        let expected: Vec<_> = tail
            .iter()
            .filter(|p| p.kind == PacketKind::Rtp || is_bye(p))
            .map(|p| (p.send_time, p.track, p.kind))
            .collect();
        let got: Vec<_> = again
            .iter()
            .map(|p| (p.send_time, p.track, p.kind))
            .collect();
        assert_eq!(got, expected);
        assert!(again[1..].iter().all(is_bye));
        assert!(stream.has_ended());
    }
}
