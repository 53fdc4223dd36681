//! Where the packets of a playing session go: each track's [`Delivery`]
//! (UDP to the client or a multicast group, or interleaved on an RTSP
//! connection), and the sending of a batch of packets to them
//! ([`Destinations`]).
//!
//! Every packet of a session passes [`Destinations::send`], which is where
//! an SRTP session's packets are protected (RFC 3711): when they are sent,
//! in order, by their track's context ([`TrackSender`]), each copied into
//! an arena of the playback task whose storage is reused once the packets
//! carved from it are gone (UDP: sent at once; interleaved: once the
//! connection's writer took them), so protecting allocates nothing per
//! packet. An interleaved packet is protected only once the connection's
//! queue has room for it, so a stop while waiting spends no packet index.
//! A UDP run cut short by a stop may have spent the index of a packet the
//! socket had no room for: when playback resumes, that packet is not sent
//! again (its index may not be used twice), a loss UDP allows.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, Weak};

use bytes::BytesMut;

use super::activity::ClientActivity;
use super::keying::{lock, TrackSender};
use super::multicast::Lease;
use super::sink::{InterleavedSink, Outgoing, SendError};
use super::traffic::SessionTraffic;
use super::udp::{self, Segmentation, UdpPlane};
use crate::srtp::SrtpError;
use crate::stream::{PacketKind, PacketParts};

/// The initial room of a playback task's SRTP arena: a few full-size
/// packets. A batch that needs more takes a new buffer of what it needs,
/// at least this, the old one freed with its last packet. At 64 KiB
/// each playing RTSPS session held most of it: 500 SRTP sessions of
/// 1 Mbit/s (serve_load) held 142 KiB each, 90-93 at 16 KiB and 81-82 at
/// 8 KiB, CPU within the runs' spread (docs/benchmarks.md).
const ARENA: usize = 8 * 1024;

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

/// One track of a playing session: its file track index, where its packets
/// go, and for SRTP the context that protects them.
pub struct TrackOut {
    /// The file track index.
    pub index: usize,
    /// Where its packets go.
    pub delivery: Delivery,
    /// Its SRTP context; `None`: plain RTP.
    pub srtp: Option<TrackSender>,
}

/// What protecting a run of packets needs, reused from one run to the next.
#[derive(Default)]
struct Scratch {
    /// Where protected packets are carved from.
    arena: BytesMut,
    /// The protected packets of a UDP run (empty between runs).
    protected: Vec<PacketParts>,
}

/// Where a session's packets go: each track's delivery, by file track
/// index, and the server's UDP sockets.
pub struct Destinations {
    tracks: Box<[TrackOut]>,
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
    /// SRTP's buffers (locked only between awaits).
    scratch: Mutex<Scratch>,
    /// The session's counts of what went out.
    traffic: Arc<SessionTraffic>,
}

impl Destinations {
    /// Sends the packets of file track `i` to the track whose index is `i`,
    /// counting them in `traffic`.
    pub fn new(
        tracks: Vec<TrackOut>,
        udp: Option<Arc<UdpPlane>>,
        session: Weak<dyn ClientActivity>,
        traffic: Arc<SessionTraffic>,
    ) -> Destinations {
        let segmentation = tracks.iter().map(|_| Segmentation::default()).collect();
        let arena = if tracks.iter().any(|t| t.srtp.is_some()) {
            BytesMut::with_capacity(ARENA)
        } else {
            BytesMut::new()
        };
        Destinations {
            tracks: tracks.into(),
            segmentation,
            udp,
            session,
            scratch: Mutex::new(Scratch {
                arena,
                protected: Vec::new(),
            }),
            traffic,
        }
    }

    /// Sends `packets` in order: runs going to one UDP address in batches,
    /// interleaved ones through their connection's queue, SRTP ones
    /// protected on the way. `done` counts the packets handed over, so that
    /// a send abandoned midway (the queue of a client that reads nothing,
    /// and the session stops) knows which remain; those, and only those,
    /// are counted (once for the whole call).
    pub async fn send(&self, packets: &[PacketParts], done: &mut usize) -> Result<(), SendError> {
        let mut tally = self.traffic.tally();
        let mut rest = packets;
        let mut interleaved = false;
        while let Some(first) = rest.first() {
            *done = packets.len() - rest.len();
            let Some(at) = self.tracks.iter().position(|t| t.index == first.track) else {
                rest = &rest[1..];
                continue;
            };
            let track = &self.tracks[at];
            match &track.delivery {
                Delivery::Udp { rtp, rtcp, .. } => {
                    let rtp_kind = first.kind == PacketKind::Rtp;
                    let dest = if rtp_kind { rtp } else { rtcp };
                    let run = rest
                        .iter()
                        .take_while(|p| p.track == first.track && p.kind == first.kind)
                        .count();
                    if let Some(pair) = self.udp.as_deref().and_then(|u| u.pair_for(dest)) {
                        let socket = if rtp_kind { &pair.rtp } else { &pair.rtcp };
                        let segmentation = &self.segmentation[at];
                        match &track.srtp {
                            None => udp::send_many(socket, *dest, &rest[..run], segmentation).await,
                            Some(sender) => {
                                let protected = self.protect_run(sender, &rest[..run]);
                                udp::send_many(socket, *dest, &protected, segmentation).await;
                                self.give_back(protected);
                            }
                        }
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
                    let frame = |p: &PacketParts| Outgoing::Interleaved {
                        channel,
                        head: p.head.clone(),
                        body: p.body.clone(),
                    };
                    match &track.srtp {
                        None => sink.send_data(frame(first)).await?,
                        Some(sender) => {
                            let overhead = {
                                let policy = *lock(sender).policy();
                                match first.kind {
                                    PacketKind::Rtp => policy.rtp_overhead(),
                                    PacketKind::Rtcp => policy.rtcp_overhead(),
                                }
                            };
                            let permit = sink.reserve(frame(first).len() + overhead).await?;
                            if let Some(protected) = self.protect(sender, first) {
                                permit.send(frame(&protected));
                            }
                        }
                    }
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

    /// `packet` protected by `sender`; `None` (the packet is dropped) when
    /// it cannot be, as when its index was spent on a send cut short.
    fn protect(&self, sender: &TrackSender, packet: &PacketParts) -> Option<PacketParts> {
        let mut scratch = lock(&self.scratch);
        let mut sender = lock(sender);
        checked(packet.protect(&mut sender, &mut scratch.arena))
    }

    /// The packets of `run` protected by `sender`, in a vector to hand back
    /// with [`give_back`](Self::give_back).
    fn protect_run(&self, sender: &TrackSender, run: &[PacketParts]) -> Vec<PacketParts> {
        let mut scratch = lock(&self.scratch);
        let Scratch { arena, protected } = &mut *scratch;
        let mut sender = lock(sender);
        protected.extend(
            run.iter()
                .filter_map(|p| checked(p.protect(&mut sender, arena))),
        );
        std::mem::take(protected)
    }

    /// Takes back the vector of [`protect_run`](Self::protect_run), its
    /// packets dropped (their arena storage free again).
    fn give_back(&self, mut protected: Vec<PacketParts>) {
        protected.clear();
        lock(&self.scratch).protected = protected;
    }
}

/// The protected packet, or `None` with the reason logged.
fn checked(protected: Result<PacketParts, SrtpError>) -> Option<PacketParts> {
    protected
        .map_err(|e| tracing::debug!("SRTP: a packet not sent: {e}"))
        .ok()
}
