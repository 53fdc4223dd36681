//! A synthetic RTSP session (RFC 2326) on TCP port 554 for the start of a
//! capture: DESCRIBE answered with the SDP, one SETUP per stream answered
//! with its ports, and PLAY answered with `Range` and `RTP-Info`.
//!
//! Wireshark decodes RTP on arbitrary UDP ports only when something in the
//! capture announced them: its RTSP dissector turns each SETUP reply's
//! `Transport` header into an RTP and RTCP conversation, and its SDP
//! dissector maps the dynamic payload types of the DESCRIBE reply to their
//! encodings. With this exchange at its head a capture decodes in Wireshark
//! and tshark with no "Decode As" and no `-d` option.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use super::{CaptureWriter, TcpFlags};

/// The RTSP server port (RFC 2326 §3.2).
pub const RTSP_PORT: u16 = 554;

/// The client's ephemeral TCP port in the exchange.
const CLIENT_PORT: u16 = 49152;

/// Initial sequence numbers of the two TCP ends (any value is valid).
const CLIENT_ISN: u32 = 0x1000_0000;
const SERVER_ISN: u32 = 0x2000_0000;

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
    /// The RTSP client: the media receiver's address.
    pub client: SocketAddr,
    /// The path of the presentation URL (the file name).
    pub path: String,
    /// The session description sent in the DESCRIBE reply.
    pub sdp: String,
    /// The `Range` of the PLAY reply (`npt=0.000-`).
    pub range: String,
    /// The streams, in SETUP order.
    pub streams: Vec<RtspStream>,
}

impl RtspSession {
    /// The presentation URL (`rtsp://host:554/path`).
    pub fn url(&self) -> String {
        let host = match self.server {
            SocketAddr::V4(a) => a.ip().to_string(),
            SocketAddr::V6(a) => format!("[{}]", a.ip()),
        };
        format!(
            "rtsp://{host}:{}/{}",
            self.server.port(),
            percent_encode(&self.path)
        )
    }

    /// The requests and replies in order: `(from_client, message)`.
    pub fn messages(&self) -> Vec<(bool, Vec<u8>)> {
        let url = self.url();
        let agent = concat!("mediatool/", env!("CARGO_PKG_VERSION"));
        let session = "6d6564696174";
        let mut messages = Vec::new();
        let mut cseq = 1;
        let mut exchange = |request: String, reply: String| {
            messages.push((true, request.into_bytes()));
            messages.push((false, reply.into_bytes()));
        };
        exchange(
            format!(
                "DESCRIBE {url} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {agent}\r\nAccept: application/sdp\r\n\r\n"
            ),
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: {agent}\r\nContent-Base: {url}/\r\nContent-Type: application/sdp\r\nContent-Length: {}\r\n\r\n{}",
                self.sdp.len(),
                self.sdp
            ),
        );
        for stream in &self.streams {
            cseq += 1;
            let ports = format!(
                "client_port={}-{}",
                stream.client_port,
                stream.client_port + 1
            );
            let session_header = if cseq > 2 {
                format!("Session: {session}\r\n")
            } else {
                String::new()
            };
            exchange(
                format!(
                    "SETUP {url}/{} RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {agent}\r\n{session_header}Transport: RTP/AVP;unicast;{ports}\r\n\r\n",
                    stream.control
                ),
                format!(
                    "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: {agent}\r\nSession: {session};timeout=65\r\nTransport: RTP/AVP;unicast;destination={};source={};{ports};server_port={}-{};ssrc={:08X}\r\n\r\n",
                    self.client.ip(),
                    self.server.ip(),
                    stream.server_port,
                    stream.server_port + 1,
                    stream.ssrc
                ),
            );
        }
        cseq += 1;
        let rtp_info: Vec<String> = self
            .streams
            .iter()
            .map(|s| {
                format!(
                    "url={url}/{};seq={};rtptime={}",
                    s.control, s.sequence, s.rtptime
                )
            })
            .collect();
        exchange(
            format!(
                "PLAY {url}/ RTSP/1.0\r\nCSeq: {cseq}\r\nUser-Agent: {agent}\r\nSession: {session}\r\nRange: {}\r\n\r\n",
                self.range
            ),
            format!(
                "RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\nServer: {agent}\r\nSession: {session}\r\nRange: {}\r\nRTP-Info: {}\r\n\r\n",
                self.range,
                rtp_info.join(",")
            ),
        );
        messages
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
        let client = SocketAddr::new(self.client.ip(), CLIENT_PORT);
        let server = self.server;
        let mut time = start;
        let mut client_seq = CLIENT_ISN;
        let mut server_seq = SERVER_ISN;
        let next = |t: &mut SystemTime| {
            let now = *t;
            *t += SEGMENT_GAP;
            now
        };
        let syn = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        let ack = TcpFlags {
            ack: true,
            ..TcpFlags::default()
        };
        capture.write_tcp(next(&mut time), client, server, client_seq, 0, syn, b"")?;
        client_seq = client_seq.wrapping_add(1);
        let syn_ack = TcpFlags { ack: true, ..syn };
        capture.write_tcp(
            next(&mut time),
            server,
            client,
            server_seq,
            client_seq,
            syn_ack,
            b"",
        )?;
        server_seq = server_seq.wrapping_add(1);
        capture.write_tcp(
            next(&mut time),
            client,
            server,
            client_seq,
            server_seq,
            ack,
            b"",
        )?;
        let data = TcpFlags { psh: true, ..ack };
        for (from_client, message) in self.messages() {
            for segment in message.chunks(mss.max(1)) {
                let (src, dst, seq, peer_seq) = if from_client {
                    (client, server, &mut client_seq, server_seq)
                } else {
                    (server, client, &mut server_seq, client_seq)
                };
                capture.write_tcp(next(&mut time), src, dst, *seq, peer_seq, data, segment)?;
                *seq = seq.wrapping_add(segment.len() as u32);
            }
        }
        // The client acknowledges the PLAY reply.
        capture.write_tcp(
            next(&mut time),
            client,
            server,
            client_seq,
            server_seq,
            ack,
            b"",
        )?;
        Ok(time)
    }
}

/// Percent-encodes a URL path (RFC 3986 §2.1), keeping unreserved
/// characters and `/`.
fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcap::CaptureFormat;

    fn session() -> RtspSession {
        RtspSession {
            server: "127.0.0.1:554".parse().unwrap(),
            client: "127.0.0.2:5004".parse().unwrap(),
            path: "my clip.264".into(),
            sdp: "v=0\r\n".into(),
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
        assert!(messages[3].1.contains(
            "Transport: RTP/AVP;unicast;destination=127.0.0.2;source=127.0.0.1;client_port=5004-5005;server_port=6970-6971;ssrc=00000ABC\r\n"
        ));
        assert!(messages[5].1.contains(
            "RTP-Info: url=rtsp://127.0.0.1:554/my%20clip.264/track0;seq=9;rtptime=1234\r\n"
        ));
        assert!(messages.iter().step_by(2).all(|(c, _)| *c));
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
    }
}
