//! Where the packets of a playing session go: each track's [`Delivery`]
//! (UDP to the client or a multicast group, or interleaved on an RTSP
//! connection), and the sending of a batch of packets to them
//! ([`Destinations`]).

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use super::activity::ClientActivity;
use super::multicast::Lease;
use super::sink::{InterleavedSink, Outgoing, SendError};
use super::traffic::SessionTraffic;
use super::udp::{self, Segmentation, UdpPlane};
use crate::stream::{PacketKind, PacketParts};

/// How media of one track reaches the client.
#[derive(Clone)]
pub enum Delivery {
    /// UDP from the server's shared socket pair to the client's ports, or
    /// to a multicast group leased for the track.
    Udp {
        /// The client's (or the group's) RTP address.
        rtp: SocketAddr,
        /// The client's (or the group's) RTCP address.
        rtcp: SocketAddr,
        /// The group's lease, held while the track is set up; `None` for
        /// unicast.
        multicast: Option<Arc<Lease>>,
    },
    /// Interleaved on an RTSP connection (RFC 2326 §10.12).
    Interleaved {
        /// The connection's writer queue.
        sink: InterleavedSink,
        /// Channel of RTP.
        rtp: u8,
        /// Channel of RTCP.
        rtcp: u8,
    },
}

impl Delivery {
    /// The client's RTP and RTCP addresses of unicast UDP: the sources
    /// whose packets (receiver reports) are routed to the session. A
    /// multicast group is never a source.
    pub fn unicast_udp(&self) -> Option<[SocketAddr; 2]> {
        match self {
            Delivery::Udp {
                rtp,
                rtcp,
                multicast: None,
            } => Some([*rtp, *rtcp]),
            _ => None,
        }
    }
}

/// Where a session's packets go: each track's delivery, by file track
/// index, and the server's UDP sockets.
pub struct Destinations {
    tracks: Arc<[(usize, Delivery)]>,
    /// Whether UDP GSO is used, for each of `tracks`.
    segmentation: Box<[Segmentation]>,
    udp: Option<Arc<UdpPlane>>,
    /// The session sent for, kept alive by its interleaved packets: a TCP
    /// connection that takes them is a client alive and reading (one that
    /// stops reading is disconnected after the stall timeout, which ends
    /// the session), so such a session is not reclaimed while it plays,
    /// whether or not the client also sends RTCP or keep-alive requests.
    /// Weak: the session owns the playback task.
    session: Weak<dyn ClientActivity>,
    /// The session's counts of what went out.
    traffic: Arc<SessionTraffic>,
}

impl Destinations {
    /// Sends the packets of file track `i` to the delivery paired with `i`,
    /// counting them in `traffic`.
    pub fn new(
        tracks: Arc<[(usize, Delivery)]>,
        udp: Option<Arc<UdpPlane>>,
        session: Weak<dyn ClientActivity>,
        traffic: Arc<SessionTraffic>,
    ) -> Destinations {
        let segmentation = tracks.iter().map(|_| Segmentation::default()).collect();
        Destinations {
            tracks,
            segmentation,
            udp,
            session,
            traffic,
        }
    }

    /// Sends `packets` in order: runs going to one UDP address in batches,
    /// interleaved ones through their connection's queue. `done` counts the
    /// packets handed over, so that a send abandoned midway (the queue of a
    /// client that reads nothing, and the session stops) knows which remain;
    /// those, and only those, are counted (once for the whole call).
    pub async fn send(&self, packets: &[PacketParts], done: &mut usize) -> Result<(), SendError> {
        let mut tally = self.traffic.tally();
        let mut rest = packets;
        let mut interleaved = false;
        while let Some(first) = rest.first() {
            *done = packets.len() - rest.len();
            let Some(at) = self.tracks.iter().position(|(i, _)| *i == first.track) else {
                rest = &rest[1..];
                continue;
            };
            match &self.tracks[at].1 {
                Delivery::Udp { rtp, rtcp, .. } => {
                    let rtp_kind = first.kind == PacketKind::Rtp;
                    let dest = if rtp_kind { rtp } else { rtcp };
                    let run = rest
                        .iter()
                        .take_while(|p| p.track == first.track && p.kind == first.kind)
                        .count();
                    if let Some(pair) = self.udp.as_deref().and_then(|u| u.pair_for(dest)) {
                        let socket = if rtp_kind { &pair.rtp } else { &pair.rtcp };
                        udp::send_many(socket, *dest, &rest[..run], &self.segmentation[at]).await;
                    }
                    tally.add(&rest[..run]);
                    rest = &rest[run..];
                }
                Delivery::Interleaved { sink, rtp, rtcp } => {
                    let channel = if first.kind == PacketKind::Rtp {
                        *rtp
                    } else {
                        *rtcp
                    };
                    sink.send_data(Outgoing::Interleaved {
                        channel,
                        head: first.head.clone(),
                        body: first.body.clone(),
                    })
                    .await?;
                    tally.add(&rest[..1]);
                    rest = &rest[1..];
                    interleaved = true;
                }
            }
        }
        *done = packets.len();
        if interleaved {
            if let Some(session) = self.session.upgrade() {
                session.touch();
            }
        }
        Ok(())
    }
}
