//! Generated packets of every track waiting for their turn, in send order:
//! a heap ordered by send time, then by generation order, behind the
//! packets a sender handed back.

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, VecDeque};

use super::timeline::duration_ns;
use super::{PacketKind, PacketParts};
use crate::rtp::RtpSender;

/// What waits in the queue.
pub(super) enum QueuedItem {
    /// An RTP packet.
    Packet(PacketParts),
    /// A compound sender report (RFC 3550 §6.4.1) of the stream's track at
    /// `pos`, with the counts `sender` had when it fell due. It is made
    /// when released, so that its wall-clock time follows the latest
    /// [`play`](super::MediaStream::play).
    Report {
        pos: usize,
        sender: RtpSender,
        /// Ends with the BYE of the end of the stream (§6.6).
        bye: bool,
    },
}

/// A generated packet waiting for its turn: ordered by send time, then by
/// generation order.
struct Queued {
    send: i64,
    order: u64,
    item: QueuedItem,
}

impl Queued {
    /// The RTP packet of file track `track`, if that is what this is.
    fn rtp_of(&self, track: usize) -> Option<&PacketParts> {
        match &self.item {
            QueuedItem::Packet(p) if p.track == track && p.kind == PacketKind::Rtp => Some(p),
            _ => None,
        }
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Queued) -> bool {
        (self.send, self.order) == (other.send, other.order)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Queued) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Queued) -> Ordering {
        (self.send, self.order).cmp(&(other.send, other.order))
    }
}

/// The packets generated and not yet returned (times in ns on the send
/// timeline).
pub(super) struct SendQueue {
    /// Packets generated and not yet returned, earliest first.
    heap: BinaryHeap<Reverse<Queued>>,
    /// Packets returned and handed back by
    /// [`give_back`](Self::give_back): returned again before `heap`.
    returned: VecDeque<PacketParts>,
    /// Packets generated so far (the tie-break of `heap`).
    generated: u64,
    /// The latest send time of any packet generated.
    last_send: i64,
}

impl SendQueue {
    pub(super) fn new() -> SendQueue {
        SendQueue {
            heap: BinaryHeap::new(),
            returned: VecDeque::new(),
            generated: 0,
            last_send: 0,
        }
    }

    /// Queues `item` to go out at `send`, after what was queued for the
    /// same time before.
    pub(super) fn push(&mut self, send: i64, item: QueuedItem) {
        self.last_send = self.last_send.max(send);
        self.generated += 1;
        self.heap.push(Reverse(Queued {
            send,
            order: self.generated,
            item,
        }));
    }

    /// The first packet handed back, if any: it goes before the heap.
    pub(super) fn pop_given_back(&mut self) -> Option<PacketParts> {
        self.returned.pop_front()
    }

    /// The send time of the earliest item in the heap.
    pub(super) fn earliest(&self) -> Option<i64> {
        self.heap.peek().map(|Reverse(q)| q.send)
    }

    /// Takes the earliest item of the heap, with its send time.
    pub(super) fn pop(&mut self) -> Option<(i64, QueuedItem)> {
        self.heap.pop().map(|Reverse(q)| (q.send, q.item))
    }

    /// The send time of the next packet to return, if one is queued.
    pub(super) fn next_send_time(&self) -> Option<i64> {
        match self.returned.front() {
            Some(packet) => Some(duration_ns(packet.send_time)),
            None => self.earliest(),
        }
    }

    /// The latest send time of any packet generated.
    pub(super) fn last_send(&self) -> i64 {
        self.last_send
    }

    /// Whether nothing waits, handed back or generated.
    pub(super) fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.returned.is_empty()
    }

    /// The first RTP packet of file track `track` still to return.
    pub(super) fn first_rtp(&self, track: usize) -> Option<&PacketParts> {
        let returned = self
            .returned
            .iter()
            .find(|p| p.track == track && p.kind == PacketKind::Rtp);
        returned.or_else(|| {
            self.heap
                .iter()
                .map(|Reverse(q)| q)
                .filter(|q| q.rtp_of(track).is_some())
                .min()
                .and_then(|q| q.rtp_of(track))
        })
    }

    /// Empties the queue: the packets handed back, then the generated
    /// ones (sender reports, made only when released, are dropped).
    pub(super) fn drain_unsent(&mut self) -> Vec<PacketParts> {
        let queued = self.heap.drain().filter_map(|Reverse(q)| match q.item {
            QueuedItem::Packet(packet) => Some(packet),
            QueuedItem::Report { .. } => None,
        });
        self.returned.drain(..).chain(queued).collect()
    }

    /// Copies the bodies of every packet waiting into one buffer of their
    /// size, so that they no longer keep the demuxer's read buffers they
    /// were sliced from alive (a paused stream).
    pub(super) fn compact(&mut self) {
        let mut items = std::mem::take(&mut self.heap).into_vec();
        let bodies =
            self.returned
                .iter_mut()
                .map(|p| &mut p.body)
                .chain(items.iter_mut().filter_map(|Reverse(q)| match &mut q.item {
                    QueuedItem::Packet(p) => Some(&mut p.body),
                    QueuedItem::Report { .. } => None,
                }));
        crate::media::compact(bodies.collect());
        self.heap = BinaryHeap::from(items);
    }

    /// Packets returned and not sent, in the order they were returned:
    /// returned again before anything else.
    pub(super) fn give_back(&mut self, mut packets: VecDeque<PacketParts>) {
        packets.append(&mut self.returned);
        self.returned = packets;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::rtp::rtcp::{self, RtcpMessage};
    use crate::stream::testing::{av_demuxer, config, drain, rtp};
    use crate::stream::{MediaStream, PacketKind, BYE_GRACE};

    #[test]
    fn packets_are_merged_in_send_order_with_reports_and_bye() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let tracks = stream.tracks();
        assert_eq!(tracks.len(), 2);
        assert_eq!((tracks[0].payload_type, tracks[1].payload_type), (96, 0));
        let packets = drain(&mut stream);
        assert!(packets.windows(2).all(|w| w[0].send_time <= w[1].send_time));
        for track in [0, 1] {
            let ours: Vec<_> = packets.iter().filter(|p| p.track == track).collect();
            let rtp_packets: Vec<_> = ours
                .iter()
                .filter(|p| p.kind == PacketKind::Rtp)
                .map(|p| rtp(p))
                .collect();
            // Sequence numbers continue without a gap, wrapping at 2^16.
            assert!(rtp_packets
                .windows(2)
                .all(|w| w[1].0 == w[0].0.wrapping_add(1)));
            let reports: Vec<_> = ours.iter().filter(|p| p.kind == PacketKind::Rtcp).collect();
            // t = 0, 5 s and the BYE at the end.
            assert_eq!(reports.len(), 3, "track {track}");
            // After the unit that starts at 5 s (audio: its last packet).
            let second = reports[1].send_time;
            assert!(second >= Duration::from_secs(5) && second < Duration::from_millis(5500));
            let last = rtcp::parse(&reports[2].data).unwrap();
            assert!(matches!(last.last(), Some(RtcpMessage::Bye { .. })));
            // The BYE comes a grace period after the presentation ends
            // (both tracks: 10 s), after the last packet (video 9.96 s,
            // audio 9.98 s).
            assert_eq!(reports[2].send_time, Duration::from_secs(10) + BYE_GRACE);
            assert!(packets.iter().all(|p| p.send_time <= reports[2].send_time));
        }
        // Video: 250 frames of 3 packets (the key frame's parameter sets are
        // aggregated into a STAP-A, plus 3 FU-As).
        let video: Vec<_> = packets
            .iter()
            .filter(|p| p.track == 0 && p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(video.len(), 240 * 3 + 10 * 4);
        assert_eq!(rtp(video[0]), (65000, 0xffff_0000, false));
        assert_eq!(rtp(video[4]).1, 0xffff_0000 + 3600);
        // Audio: 20 ms packets at 8 kHz: 160 samples each.
        let audio: Vec<_> = packets
            .iter()
            .filter(|p| p.track == 1 && p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(audio.len(), 500);
        assert_eq!(rtp(audio[1]).1, 1160);
        // Each 0.5 s block goes out as 25 packets, one every 20 ms.
        assert_eq!(audio[25].send_time, Duration::from_millis(500));
        assert_eq!(audio[30].send_time, Duration::from_millis(600));
    }
}
