//! A synthetic RTSP session (RFC 2326) on TCP port 554 for the start of a
//! capture: DESCRIBE answered with the SDP, one SETUP per stream answered
//! with its ports, and PLAY answered with `Range` and `RTP-Info`.
//!
//! Wireshark decodes RTP on arbitrary UDP ports only when something in the
//! capture announced them: its RTSP dissector turns each SETUP reply's
//! `Transport` header into an RTP and RTCP conversation, and its SDP
//! dissector turns each `m=` section with an address and a port into one
//! that also maps the dynamic payload types to their encodings. With this
//! exchange at its head a capture decodes in Wireshark and tshark with no
//! "Decode As" and no `-d` option.
//!
//! Wireshark 4.0 (Debian 12) keys a SETUP reply's conversation on the RTSP
//! client's address, its `client_port` and the `server_port`, without the
//! payload types, and prefers it to the SDP's (address and port only) for
//! the packets it matches. So that the SDP's applies and the payloads are
//! dissected (H.264 NAL units, H.265...), the exchange can come from a
//! controller at another address than the media's destination, which it
//! names with the `destination` parameter of `Transport` (RFC 2326 §12.39),
//! with the destination also in the SDP's `c=` and `m=` lines (a fixed
//! destination, RFC 2326 §C.1.7). Wireshark 4.2 and later also map the
//! payload types of SETUP conversations, by the `a=control` URL.
//!
//! A multicast group is set up with `multicast`, the group's `port` pair
//! and `ttl` (RFC 2326 §12.39): those replies name no client or server
//! port, so Wireshark makes no conversation of them and the SDP's applies;
//! the controller is then a host next to the server.

use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime};

use bytes::BytesMut;

use super::{CaptureWriter, TcpFlags};
use crate::rtsp::headers::{self, RtpInfo};
use crate::rtsp::message::{Method, Request, Response, Status, PRODUCT};
use crate::rtsp::{transport, url};

/// The RTSP server port (RFC 2326 §3.2).
pub const RTSP_PORT: u16 = 554;

/// The client's ephemeral TCP port in the exchange.
const CLIENT_PORT: u16 = 49152;

/// Initial sequence numbers of the two TCP ends (any value is valid).
const CLIENT_ISN: u32 = 0x1000_0000;
const SERVER_ISN: u32 = 0x2000_0000;

/// The exchange's session id (`media` in hex), and the timeout its SETUP
/// replies announce (the server's default, `serve --reclaim`).
const SESSION_ID: &str = "6d6564696174";
const SESSION_TIMEOUT: Duration = Duration::from_secs(65);

/// Time between consecutive segments of the exchange.
pub const SEGMENT_GAP: Duration = Duration::from_micros(100);

/// One stream set up by the exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtspStream {
    /// The `a=control` URL of the stream, relative to the content base.
    pub control: String,
    /// The receiver's RTP port (RTCP on the next one).
    pub client_port: u16,
    /// The sender's RTP port (RTCP on the next one).
    pub server_port: u16,
    /// The stream's SSRC.
    pub ssrc: u32,
    /// Sequence number of its first RTP packet.
    pub sequence: u16,
    /// RTP timestamp of the start of playback.
    pub rtptime: u32,
}

/// What the exchange describes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtspSession {
    /// The RTSP server: the media sender's address, port [`RTSP_PORT`].
    pub server: SocketAddr,
    /// The RTSP client's address.
    pub client: IpAddr,
    /// The media receiver's address: asked for with `destination` in the
    /// SETUP requests when it is not the client's. A multicast group is
    /// set up with `multicast`, `port` and `ttl` instead of `unicast` and
    /// `client_port` (RFC 2326 §12.39).
    pub destination: IpAddr,
    /// The TTL of a multicast `destination`.
    pub ttl: u8,
    /// The path of the presentation URL as text: the file name (or
    /// segments joined with `/`), percent-encoded by [`url`](Self::url).
    pub path: String,
    /// The session description sent in the DESCRIBE reply.
    pub sdp: String,
    /// The RTP profile of every stream: `SAVP` when the description hands
    /// out SRTP keys.
    pub profile: transport::Profile,
    /// The `Range` of the PLAY reply (`npt=0.000-`).
    pub range: String,
    /// The streams, in SETUP order.
    pub streams: Vec<RtspStream>,
}

impl RtspSession {
    /// The presentation URL (`rtsp://host:554/path`), spelled as the
    /// server spells the file's URL ([`url::path`]).
    pub fn url(&self) -> String {
        let segments = self.path.split('/').filter(|s| !s.is_empty());
        url::absolute(self.server, &url::path(segments))
    }

    /// The requests and replies in order: `(from_client, message)`.
    pub fn messages(&self) -> Vec<(bool, Vec<u8>)> {
        let url = self.url();
        let base = headers::content_base(&url);
        let mut exchange = Exchange::default();
        let describe = exchange
            .request(Method::Describe, &url)
            .with_header("Accept", "application/sdp");
        let described = Response::new(Status::OK)
            .header("Content-Base", base.as_str())
            .body("application/sdp", self.sdp.clone());
        exchange.push(&describe, described);
        for (i, stream) in self.streams.iter().enumerate() {
            let (asked, given) = self.transport(stream);
            let mut setup =
                exchange.request(Method::Setup, &headers::control_url(&url, &stream.control));
            if i > 0 {
                setup = setup.with_header("Session", SESSION_ID);
            }
            let set_up = Response::new(Status::OK)
                .header(
                    "Session",
                    headers::session(SESSION_ID, Some(SESSION_TIMEOUT)),
                )
                .header("Transport", given.to_string());
            exchange.push(&setup.with_header("Transport", asked.to_string()), set_up);
        }
        let play = exchange
            .request(Method::Play, &base)
            .with_header("Session", SESSION_ID)
            .with_header("Range", self.range.as_str());
        let mut playing = Response::new(Status::OK)
            .header("Session", SESSION_ID)
            .header("Range", self.range.as_str());
        let rtp_info = headers::rtp_info(self.streams.iter().map(|s| RtpInfo {
            url: headers::control_url(&url, &s.control),
            seq: s.sequence,
            rtptime: s.rtptime,
        }));
        if let Some(rtp_info) = rtp_info {
            playing = playing.header("RTP-Info", rtp_info);
        }
        exchange.push(&play, playing);
        exchange.messages
    }

    /// The `Transport` of a stream's SETUP request and of its reply (RFC
    /// 2326 §12.39): unicast with the client's ports (and the destination
    /// when it is not the client), or multicast with the group's ports and
    /// TTL.
    fn transport(&self, stream: &RtspStream) -> (transport::Header, transport::Header) {
        let destination = self.destination;
        let ports = Some(transport::port_pair(stream.client_port));
        if destination.is_multicast() {
            let group = transport::Header {
                profile: self.profile,
                multicast: true,
                destination: Some(destination),
                port: ports,
                ttl: Some(self.ttl),
                ..transport::Header::default()
            };
            let reply = transport::Header {
                source: Some(self.server.ip()),
                ssrc: Some(stream.ssrc),
                ..group.clone()
            };
            return (group, reply);
        }
        let asked = transport::Header {
            profile: self.profile,
            destination: (destination != self.client).then_some(destination),
            client_port: ports,
            ..transport::Header::default()
        };
        let reply = transport::Header {
            destination: Some(destination),
            source: Some(self.server.ip()),
            server_port: Some(transport::port_pair(stream.server_port)),
            ssrc: Some(stream.ssrc),
            ..asked.clone()
        };
        (asked, reply)
    }

    /// Writes the TCP handshake and the exchange (each message split into
    /// segments of at most `mss` bytes) from `start`, one segment every
    /// [`SEGMENT_GAP`]; returns the time after the last segment.
    pub fn write<W: Write>(
        &self,
        capture: &mut CaptureWriter<W>,
        start: SystemTime,
        mss: usize,
    ) -> io::Result<SystemTime> {
        let mut tcp = Connection {
            client: SocketAddr::new(self.client, CLIENT_PORT),
            server: self.server,
            client_seq: CLIENT_ISN,
            server_seq: SERVER_ISN,
            time: start,
        };
        let syn = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        let ack = TcpFlags {
            ack: true,
            ..TcpFlags::default()
        };
        let data = TcpFlags { psh: true, ..ack };
        tcp.send(capture, true, syn, b"")?;
        tcp.send(capture, false, TcpFlags { ack: true, ..syn }, b"")?;
        tcp.send(capture, true, ack, b"")?;
        for (from_client, message) in self.messages() {
            for segment in message.chunks(mss.max(1)) {
                tcp.send(capture, from_client, data, segment)?;
            }
        }
        // The client acknowledges the PLAY reply.
        tcp.send(capture, true, ack, b"")?;
        Ok(tcp.time)
    }
}

/// The messages of the exchange so far, and the `CSeq` of the last request
/// (§12.17).
#[derive(Default)]
struct Exchange {
    cseq: u32,
    messages: Vec<(bool, Vec<u8>)>,
}

impl Exchange {
    /// The next request, with its `CSeq` and `User-Agent`.
    fn request(&mut self, method: Method, uri: &str) -> Request {
        self.cseq += 1;
        Request::new(method, uri)
            .with_header("CSeq", self.cseq.to_string())
            .with_header("User-Agent", PRODUCT)
    }

    /// Records `request` and its reply.
    fn push(&mut self, request: &Request, reply: Response) {
        let mut bytes = BytesMut::new();
        request.encode(&mut bytes);
        self.messages.push((true, bytes.to_vec()));
        bytes.clear();
        reply.encode(Some(self.cseq), &mut bytes);
        self.messages.push((false, bytes.to_vec()));
    }
}

/// The exchange's TCP connection (RFC 9293 §3.4): each end's next sequence
/// number, and the capture time of the next segment.
struct Connection {
    client: SocketAddr,
    server: SocketAddr,
    client_seq: u32,
    server_seq: u32,
    time: SystemTime,
}

impl Connection {
    /// Records a segment from the client (or the server) carrying
    /// `payload`, acknowledging everything the other end sent; SYN and FIN
    /// take one sequence number each.
    fn send<W: Write>(
        &mut self,
        capture: &mut CaptureWriter<W>,
        from_client: bool,
        flags: TcpFlags,
        payload: &[u8],
    ) -> io::Result<()> {
        let (src, dst, seq, peer_seq) = if from_client {
            (
                self.client,
                self.server,
                &mut self.client_seq,
                self.server_seq,
            )
        } else {
            (
                self.server,
                self.client,
                &mut self.server_seq,
                self.client_seq,
            )
        };
        capture.write_tcp(self.time, src, dst, *seq, peer_seq, flags, payload)?;
        let used = payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin);
        *seq = seq.wrapping_add(used);
        self.time += SEGMENT_GAP;
        Ok(())
    }
}

/// The address of a controller that sets up streams from `server` to
/// `destination`: the next address after the destination (wrapping), so
/// that the exchange's SETUP conversations do not match the media (see
/// the module docs); for a multicast group, whose SETUP replies name no
/// client port to match, the next one after the server (an RTSP client is
/// a unicast host).
pub fn controller_address(destination: IpAddr, server: IpAddr) -> IpAddr {
    let before = if destination.is_multicast() {
        server
    } else {
        destination
    };
    match before {
        IpAddr::V4(v4) => IpAddr::V4(u32::from(v4).wrapping_add(1).into()),
        IpAddr::V6(v6) => IpAddr::V6(u128::from(v6).wrapping_add(1).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::CaptureFormat;

    fn session() -> RtspSession {
        RtspSession {
            server: "127.0.0.1:554".parse().unwrap(),
            client: "127.0.0.3".parse().unwrap(),
            destination: "127.0.0.2".parse().unwrap(),
            ttl: 1,
            path: "my clip.264".into(),
            sdp: "v=0\r\n".into(),
            profile: transport::Profile::Avp,
            range: "npt=0.000-".into(),
            streams: vec![RtspStream {
                control: "track0".into(),
                client_port: 5004,
                server_port: 6970,
                ssrc: 0xabc,
                sequence: 9,
                rtptime: 1234,
            }],
        }
    }

    #[test]
    fn messages_announce_ports_and_rtp_info() {
        let s = session();
        assert_eq!(s.url(), "rtsp://127.0.0.1:554/my%20clip.264");
        let messages: Vec<(bool, String)> = s
            .messages()
            .into_iter()
            .map(|(c, m)| (c, String::from_utf8(m).unwrap()))
            .collect();
        assert_eq!(messages.len(), 6);
        assert!(messages[1].1.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"));
        assert!(messages[2].1.contains(
            "Transport: RTP/AVP;unicast;destination=127.0.0.2;client_port=5004-5005\r\n"
        ));
        assert!(messages[3].1.contains(
            "Transport: RTP/AVP;unicast;destination=127.0.0.2;source=127.0.0.1;client_port=5004-5005;server_port=6970-6971;ssrc=00000ABC\r\n"
        ));
        assert!(messages[5].1.contains(
            "RTP-Info: url=rtsp://127.0.0.1:554/my%20clip.264/track0;seq=9;rtptime=1234\r\n"
        ));
        assert!(messages.iter().step_by(2).all(|(c, _)| *c));
        // A client receiving the media itself asks for no destination.
        let own = RtspSession {
            destination: "127.0.0.3".parse().unwrap(),
            ..s
        };
        let setup = String::from_utf8(own.messages()[2].1.clone()).unwrap();
        assert!(setup.contains("Transport: RTP/AVP;unicast;client_port=5004-5005\r\n"));
        // A multicast group: its ports and TTL, no client or server port.
        let group = RtspSession {
            destination: "239.1.1.1".parse().unwrap(),
            ttl: 16,
            ..own
        };
        let messages = group.messages();
        let text = |i: usize| String::from_utf8(messages[i].1.clone()).unwrap();
        assert!(text(2).contains(
            "Transport: RTP/AVP;multicast;destination=239.1.1.1;port=5004-5005;ttl=16\r\n"
        ));
        assert!(text(3).contains(
            "Transport: RTP/AVP;multicast;destination=239.1.1.1;source=127.0.0.1;port=5004-5005;ttl=16;ssrc=00000ABC\r\n"
        ));
    }

    /// The server's own reading of the requests: the framing decodes each
    /// whole, CSeq counts up, and each SETUP offers a transport the server
    /// would take.
    #[test]
    fn requests_read_back_with_the_servers_framing() {
        use crate::rtsp::framing::{Incoming, RtspDecoder};
        use crate::rtsp::transport;
        use tokio_util::codec::Decoder;
        let unicast = session();
        let multicast = RtspSession {
            destination: "239.1.1.1".parse().unwrap(),
            ..session()
        };
        let srtp = RtspSession {
            profile: transport::Profile::Savp,
            ..session()
        };
        for s in [unicast, multicast, srtp] {
            let mut requests = BytesMut::new();
            for (_, message) in s.messages().iter().filter(|(c, _)| *c) {
                requests.extend_from_slice(message);
            }
            let mut decoder = RtspDecoder::default();
            let mut methods = Vec::new();
            while let Some(item) = decoder.decode(&mut requests).unwrap() {
                let Incoming::Request(request) = item else {
                    panic!("{item:?}")
                };
                assert_eq!(request.cseq(), Some(methods.len() as u32 + 1));
                if request.method == Method::Setup {
                    let offer = request.header("Transport").unwrap();
                    assert!(offer.starts_with(&format!("RTP/{}", s.profile.name())));
                    assert!(
                        transport::choose(offer, true, &[s.profile]).is_some(),
                        "{offer}"
                    );
                    assert_eq!(request.uri, format!("{}/track0", s.url()));
                }
                methods.push(request.method);
            }
            assert_eq!(methods, [Method::Describe, Method::Setup, Method::Play]);
        }
    }

    #[test]
    fn controllers_are_next_to_the_destination() {
        let next = |a: &str, server: &str| {
            controller_address(a.parse().unwrap(), server.parse().unwrap()).to_string()
        };
        assert_eq!(next("127.0.0.1", "127.0.0.1"), "127.0.0.2");
        assert_eq!(next("10.0.0.255", "10.0.0.1"), "10.0.1.0");
        assert_eq!(next("::1", "::1"), "::2");
        // A group's controller is a host: the one after the server.
        assert_eq!(next("239.1.1.1", "10.0.0.1"), "10.0.0.2");
        assert_eq!(next("ff15::1", "fd00::9"), "fd00::a");
    }

    #[test]
    fn segments_follow_the_mss() {
        let mut capture = CaptureWriter::new(
            Vec::new(),
            CaptureFormat::Pcap,
            "127.0.0.1".parse().unwrap(),
        )
        .unwrap();
        let start = SystemTime::UNIX_EPOCH;
        let end = session().write(&mut capture, start, 100).unwrap();
        let total: usize = session()
            .messages()
            .iter()
            .map(|(_, m)| m.len().div_ceil(100))
            .sum();
        // Handshake, segments, final ACK.
        assert_eq!(capture.packets(), 3 + total as u64 + 1);
        assert_eq!(end, start + SEGMENT_GAP * (4 + total as u32));
        // Each end's sequence numbers run on without gaps (SYN counting
        // one), and every segment after the SYN acknowledges all the other
        // end sent.
        let bytes = capture.finish().unwrap();
        let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        let mut next = std::collections::HashMap::new();
        while let Some(packet) = reader.next_packet() {
            let packet = packet.unwrap();
            let sliced = etherparse::SlicedPacket::from_ethernet(&packet.data).unwrap();
            let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
                panic!("not TCP")
            };
            let (from, to) = (tcp.source_port(), tcp.destination_port());
            if let Some(&expected) = next.get(&from) {
                assert_eq!(tcp.sequence_number(), expected);
            }
            if tcp.ack() {
                assert_eq!(Some(&tcp.acknowledgment_number()), next.get(&to));
            }
            let used = tcp.payload().len() as u32 + u32::from(tcp.syn());
            next.insert(from, tcp.sequence_number().wrapping_add(used));
        }
    }
}
