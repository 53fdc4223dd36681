//! The capture file: its head (file header and RTSP exchange, written last
//! because the exchange's SDP states the duration), and its body of RTP and
//! RTCP datagrams framed from the stream's packets, protected as SRTP and
//! SRTCP with `--srtp`.

use std::fs::File;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::anyhow;
use bytes::BytesMut;
use mediatool::media::{MediaInfo, TrackStats};
use mediatool::pcap::output::HeadedCapture;
use mediatool::pcap::rtsp::RtspSession;
use mediatool::pcap::{CaptureFormat, CaptureWriter};
use mediatool::sdp::{self, Destination, SdpTrack, SrtpOffer, Target};
use mediatool::srtp::SrtpSender;
use mediatool::stream::{PacketKind, PacketParts};

/// What the head of the capture holds: the file header, then unless
/// `--no-rtsp` the RTSP exchange, whose DESCRIBE reply carries the SDP
/// with the file's duration.
pub struct Head {
    pub format: CaptureFormat,
    pub source: IpAddr,
    pub start: SystemTime,
    /// TCP maximum segment size of the exchange.
    pub mss: usize,
    /// The exchange, all but its SDP.
    pub rtsp: Option<RtspSession>,
    pub tracks: Vec<SdpTrack>,
    /// Where the media go (the SDP's connection address and ports).
    pub target: Target,
    /// With `--srtp`: the key and SSRCs the SDP announces.
    pub srtp: Option<SrtpOffer>,
}

impl Head {
    /// The head's bytes for a file described by `info`.
    pub fn render(&self, info: &MediaInfo) -> std::io::Result<Vec<u8>> {
        let mut capture = CaptureWriter::new(Vec::new(), self.format, self.source)?;
        if let Some(rtsp) = &self.rtsp {
            let session = RtspSession {
                sdp: sdp::session_description(
                    info,
                    &self.tracks,
                    self.source,
                    Destination::RtspTo(self.target),
                    self.srtp.as_ref(),
                ),
                ..rtsp.clone()
            };
            session.write(&mut capture, self.start, self.mss)?;
        }
        capture.finish()
    }
}

/// Frames packets into the capture: each track's UDP ports, and capture
/// times from the media's send times.
pub struct Framer {
    pub output: PathBuf,
    /// Per streamed track: sender and receiver RTP addresses.
    pub addresses: Vec<(SocketAddr, SocketAddr)>,
    /// File track index -> position in `addresses`.
    pub positions: Vec<usize>,
    /// Capture time of send time zero.
    pub media_start: SystemTime,
    /// The TTL of a multicast destination's packets.
    pub multicast_ttl: Option<u8>,
    /// With `--srtp`: what protects each packet.
    pub srtp: Option<Protection>,
}

/// Each track's SRTP context, and the arena protected packets are carved
/// from.
pub struct Protection {
    /// By position among the streamed tracks.
    senders: Vec<SrtpSender>,
    arena: BytesMut,
}

impl Protection {
    /// A context per track of `offer`, in its order (the streamed tracks').
    pub fn new(offer: &SrtpOffer) -> Protection {
        let senders = offer
            .tracks()
            .filter_map(|t| Some(SrtpSender::new(offer.key(), offer.policy(), offer.ssrc(t)?)))
            .collect();
        Protection {
            senders,
            arena: BytesMut::with_capacity(64 * 1024),
        }
    }
}

impl Framer {
    /// Records `packet` as a UDP datagram: RTP between the track's ports,
    /// RTCP between the next ones (RFC 3550 §11); protected first with
    /// `--srtp`.
    pub fn write(
        &mut self,
        capture: &mut CaptureWriter<File>,
        packet: PacketParts,
    ) -> anyhow::Result<()> {
        let position = self.positions[packet.track];
        let packet = match &mut self.srtp {
            None => packet,
            Some(Protection { senders, arena }) => packet
                .protect(&mut senders[position], arena)
                .map_err(|e| anyhow!("SRTP: {e}"))?,
        };
        let (server, client) = self.addresses[position];
        let (src, dst) = match packet.kind {
            PacketKind::Rtp => (server, client),
            PacketKind::Rtcp => (
                SocketAddr::new(server.ip(), server.port() + 1),
                SocketAddr::new(client.ip(), client.port() + 1),
            ),
        };
        capture
            .write_udp_parts(
                self.media_start + packet.send_time,
                src,
                dst,
                &packet.head,
                packet.body,
            )
            .map_err(|e| anyhow!("cannot write {}: {e}", self.output.display()))
    }
}

/// Where the packets go: held back until the size of the capture's head
/// is known or estimated, then written after the region reserved for it.
pub enum Body {
    /// Packets held back.
    Early(Vec<PacketParts>),
    /// The capture being written.
    Writing {
        capture: HeadedCapture,
        writer: CaptureWriter<File>,
    },
}

impl Body {
    /// Unless started already: creates the capture with room for the head
    /// `head` has for `info`, and writes the packets held back.
    pub fn start(
        &mut self,
        framer: &mut Framer,
        head: &Head,
        info: &MediaInfo,
    ) -> anyhow::Result<()> {
        let Body::Early(early) = self else {
            return Ok(());
        };
        let output = framer.output.clone();
        let write_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", output.display());
        let reserved = head.render(info).map_err(write_err)?.len() as u64;
        let capture = HeadedCapture::create(&output, reserved)
            .map_err(|e| anyhow!("cannot create {}: {e}", output.display()))?;
        let file = capture.body().map_err(write_err)?;
        let mut writer =
            CaptureWriter::records_only(file, head.format, head.source).map_err(write_err)?;
        writer.keep_written();
        if let Some(ttl) = framer.multicast_ttl {
            writer.set_multicast_ttl(ttl);
        }
        for packet in early.drain(..) {
            framer.write(&mut writer, packet)?;
        }
        *self = Body::Writing { capture, writer };
        Ok(())
    }
}

/// `info` with every track lasting `seconds`: for the size of the head
/// before the exact duration is known.
pub fn estimated(info: &MediaInfo, seconds: f64) -> MediaInfo {
    let stats = info
        .tracks
        .iter()
        .map(|t| TrackStats {
            duration: (seconds * f64::from(t.clock_rate)) as u64,
            ..TrackStats::default()
        })
        .collect();
    MediaInfo {
        stats,
        ..info.clone()
    }
}
