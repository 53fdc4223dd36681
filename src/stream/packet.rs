//! The packets a stream hands out: whole ([`OutgoingPacket`]) or as a head
//! and a body for vectored writes ([`PacketParts`]).

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::rtp::PacketHead;
use crate::srtp::{SrtpError, SrtpSender};

/// RTP or RTCP: which of a track's two ports the packet goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// An RTP data packet.
    Rtp,
    /// A compound RTCP packet.
    Rtcp,
}

/// One packet to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingPacket {
    /// When to send it, on the stream's send timeline (see the stream
    /// module's `timeline.rs`).
    pub send_time: Duration,
    /// File track index.
    pub track: usize,
    /// RTP or RTCP.
    pub kind: PacketKind,
    /// The whole packet, RTP header included.
    pub data: Bytes,
}

/// One packet to send with its bytes in two parts, which follow each other
/// on the wire: what
/// [`MediaStream::next_packet_parts`](super::MediaStream::next_packet_parts)
/// returns, for a sender that writes vectored and so never copies the
/// media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketParts {
    /// When to send it, on the stream's send timeline (see the stream
    /// module's `timeline.rs`).
    pub send_time: Duration,
    /// File track index.
    pub track: usize,
    /// RTP or RTCP.
    pub kind: PacketKind,
    /// RTP: the RTP header and the payload format header; RTCP: empty.
    pub head: PacketHead,
    /// RTP: the media bytes, a slice of the access unit where the payload
    /// format allows; RTCP: the whole packet.
    pub body: Bytes,
}

impl PacketParts {
    /// The packet's length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Whether the packet is empty (never true for a stream's packets).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packet protected by `sender` (RFC 3711: SRTP for RTP, SRTCP
    /// for RTCP), whole in the body, carved from `arena`: the two parts are
    /// copied in and encrypted in place, and the tag appended, with no
    /// allocation while the arena has room (it reuses its storage once the
    /// packets carved from it are dropped). `sender` must see each stream's
    /// packets in sending order; on error nothing was protected.
    pub fn protect(
        &self,
        sender: &mut SrtpSender,
        arena: &mut BytesMut,
    ) -> Result<PacketParts, SrtpError> {
        let overhead = match self.kind {
            PacketKind::Rtp => sender.policy().rtp_overhead(),
            PacketKind::Rtcp => sender.policy().rtcp_overhead(),
        };
        arena.reserve(self.len() + overhead);
        arena.extend_from_slice(&self.head);
        arena.extend_from_slice(&self.body);
        let protected = match self.kind {
            PacketKind::Rtp => sender.protect_rtp(arena),
            PacketKind::Rtcp => sender.protect_rtcp(arena),
        };
        if let Err(e) = protected {
            arena.clear();
            return Err(e);
        }
        Ok(PacketParts {
            send_time: self.send_time,
            track: self.track,
            kind: self.kind,
            head: PacketHead::new(),
            body: arena.split().freeze(),
        })
    }

    /// The packet in one buffer (the media copied after the head; an RTCP
    /// packet is not copied).
    pub fn join(self) -> OutgoingPacket {
        let data = if self.head.is_empty() {
            self.body
        } else {
            let mut data = Vec::with_capacity(self.len());
            data.extend_from_slice(&self.head);
            data.extend_from_slice(&self.body);
            data.into()
        };
        OutgoingPacket {
            send_time: self.send_time,
            track: self.track,
            kind: self.kind,
            data,
        }
    }
}

impl From<OutgoingPacket> for PacketParts {
    fn from(packet: OutgoingPacket) -> PacketParts {
        PacketParts {
            send_time: packet.send_time,
            track: packet.track,
            kind: packet.kind,
            head: PacketHead::new(),
            body: packet.data,
        }
    }
}

/// The sequence number and timestamp in an RTP header (RFC 3550 §5.1).
pub(super) fn rtp_sequence_and_timestamp(header: &[u8]) -> Option<(u16, u32)> {
    let sequence = header.get(2..4)?;
    let timestamp = header.get(4..8)?;
    Some((
        u16::from_be_bytes([sequence[0], sequence[1]]),
        u32::from_be_bytes([timestamp[0], timestamp[1], timestamp[2], timestamp[3]]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::RTP_HEADER_LEN;
    use crate::stream::testing::{av_demuxer, config, drain};
    use crate::stream::MediaStream;

    /// Protected parts are the joined packet protected: the receiver gets
    /// each back, RTP and RTCP, and an arena of one packet's room serves
    /// them all in turn once each is dropped.
    #[test]
    fn protected_parts_unprotect_to_the_joined_packets() {
        use crate::srtp::{Policy, SrtpKey, SrtpReceiver, Suite};
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let parts: Vec<PacketParts> =
            std::iter::from_fn(|| stream.next_packet_parts().unwrap()).collect();
        let key = SrtpKey::random().unwrap();
        let policy = Policy::new(Suite::AesCm128HmacSha1_80);
        let ssrc = |p: &PacketParts| {
            let data = p.clone().join().data;
            let at = if p.kind == PacketKind::Rtp { 8 } else { 4 };
            u32::from_be_bytes(data[at..at + 4].try_into().unwrap())
        };
        let video = parts.iter().find(|p| p.track == 0).map(ssrc).unwrap();
        let mut sender = SrtpSender::new(&key, policy, video);
        let mut receiver = SrtpReceiver::new(&key, policy, 0);
        const ROOM: usize = 4096;
        let mut arena = BytesMut::with_capacity(ROOM);
        let storage = arena.as_ptr() as usize..arena.as_ptr() as usize + ROOM;
        let mut checked = [0; 2];
        for p in parts.iter().filter(|p| p.track == 0) {
            let protected = p.protect(&mut sender, &mut arena).unwrap();
            assert!(protected.head.is_empty());
            // Carved from the arena's first storage: nothing allocated.
            let at = protected.body.as_ptr() as usize;
            assert!(storage.contains(&at) && at + protected.body.len() <= storage.end);
            let mut data = protected.body.to_vec();
            drop(protected);
            let len = match p.kind {
                PacketKind::Rtp => receiver.unprotect_rtp(&mut data).unwrap(),
                PacketKind::Rtcp => receiver.unprotect_rtcp(&mut data).unwrap(),
            };
            assert_eq!(data[..len], p.clone().join().data[..]);
            checked[usize::from(p.kind == PacketKind::Rtcp)] += 1;
        }
        assert!(checked[0] > 10 && checked[1] > 0, "{checked:?}");
        // A packet of another stream is refused and nothing is carved.
        let audio = parts.iter().find(|p| p.track == 1).unwrap();
        assert!(audio.protect(&mut sender, &mut arena).is_err());
        assert!(arena.is_empty());
    }

    #[test]
    fn parts_join_into_the_packets() {
        let mut whole = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut split = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let packets = drain(&mut whole);
        let parts: Vec<PacketParts> =
            std::iter::from_fn(|| split.next_packet_parts().unwrap()).collect();
        assert_eq!(packets.len(), parts.len());
        // FU-A packets: RTP header and FU indicator and header, then media.
        assert!(parts
            .iter()
            .any(|p| p.kind == PacketKind::Rtp && p.head.len() == RTP_HEADER_LEN + 2));
        assert!(parts
            .iter()
            .all(|p| (p.kind == PacketKind::Rtp) != p.head.is_empty()));
        for (packet, parts) in packets.into_iter().zip(parts) {
            assert_eq!(packet, parts.join());
        }
    }
}
