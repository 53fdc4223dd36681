//! A raw RTSP client for the tests: requests written byte for byte,
//! responses and interleaved frames read back (RFC 2326 §6, §7, §10.12),
//! over plain TCP or any other [`Conn`] (TLS, an HTTP tunnel).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A client's byte stream.
pub trait Conn: Read + Write + Send {
    /// Sets how long a read may wait (`None`: for ever).
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()>;
}

impl Conn for TcpStream {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> std::io::Result<()> {
        TcpStream::set_read_timeout(self, timeout)
    }
}

/// A response.
#[derive(Debug, Default)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: String,
}

impl Reply {
    /// The first header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The session id of the `Session` header.
    pub fn session(&self) -> String {
        self.header("Session")
            .expect("Session header")
            .split(';')
            .next()
            .unwrap()
            .to_owned()
    }
}

/// What a connection delivers: an interleaved frame or a response.
#[derive(Debug)]
pub enum Item {
    /// Channel and payload.
    Frame(u8, Vec<u8>),
    /// A response.
    Reply(Reply),
}

/// A raw RTSP client connection.
pub struct Rtsp {
    /// Reads through the buffer, writes straight to the stream.
    io: BufReader<Box<dyn Conn>>,
    cseq: u32,
    /// Interleaved frames received while waiting for responses.
    pub frames: Vec<(u8, Vec<u8>)>,
}

impl Rtsp {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Rtsp {
        Rtsp::from_stream(TcpStream::connect(("127.0.0.1", port)).unwrap())
    }

    /// Connects to 127.0.0.1:`port` from the loopback address `source`
    /// (127.0.0.0/8 is all local: a test can be many clients).
    pub fn connect_from(source: std::net::Ipv4Addr, port: u16) -> Rtsp {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket
            .bind(&std::net::SocketAddr::from((source, 0)).into())
            .unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        socket.connect(&addr.into()).unwrap();
        Rtsp::from_stream(socket.into())
    }

    /// Connects to 127.0.0.1:`port` with a receive buffer of about `bytes`
    /// (the kernel doubles it and has a minimum): a client that stops
    /// reading fills it soon.
    pub fn connect_with_receive_buffer(port: u16, bytes: usize) -> Rtsp {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(bytes).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        socket.connect(&addr.into()).unwrap();
        Rtsp::from_stream(socket.into())
    }

    fn from_stream(stream: TcpStream) -> Rtsp {
        Rtsp::over(Box::new(stream))
    }

    /// A client over `conn` (reads time out after 10 s).
    pub fn over(conn: Box<dyn Conn>) -> Rtsp {
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Rtsp {
            io: BufReader::new(conn),
            cseq: 0,
            frames: Vec::new(),
        }
    }

    /// Sends a request with a fresh CSeq and reads its response.
    pub fn request(&mut self, method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.send_request(method, url, headers);
        let reply = self.read_reply().expect("a response");
        assert_eq!(
            reply.header("CSeq"),
            Some(self.cseq.to_string().as_str()),
            "{reply:?}"
        );
        reply
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        let conn = self.io.get_mut();
        conn.write_all(bytes).unwrap();
        conn.flush().unwrap();
    }

    /// Reads the next response (skipping interleaved frames, which are kept
    /// in `frames`); `None` when the server closed the connection.
    pub fn read_reply(&mut self) -> Option<Reply> {
        loop {
            match self.read_item()? {
                Item::Frame(channel, payload) => self.frames.push((channel, payload)),
                Item::Reply(reply) => return Some(reply),
            }
        }
    }

    /// Sends a request without waiting for its response.
    pub fn send_request(&mut self, method: &str, url: &str, headers: &[(&str, &str)]) {
        self.cseq += 1;
        let mut text = format!("{method} {url} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        self.send(text.as_bytes());
    }

    /// Reads the next interleaved frame or response; `None` at EOF.
    pub fn read_item(&mut self) -> Option<Item> {
        {
            let mut first = [0u8; 1];
            if self.io.read_exact(&mut first).is_err() {
                return None;
            }
            if first[0] == b'$' {
                let mut head = [0u8; 3];
                self.io.read_exact(&mut head).ok()?;
                let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
                let mut payload = vec![0u8; len];
                self.io.read_exact(&mut payload).ok()?;
                return Some(Item::Frame(head[0], payload));
            }
            let mut line = String::from(char::from(first[0]));
            self.io.read_line(&mut line).ok()?;
            let status = line.split_whitespace().nth(1)?.parse().ok()?;
            let mut reply = Reply {
                status,
                ..Reply::default()
            };
            loop {
                let mut line = String::new();
                self.io.read_line(&mut line).ok()?;
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':')?;
                reply
                    .headers
                    .push((name.trim().into(), value.trim().into()));
            }
            let length: usize = reply
                .header("Content-Length")
                .map_or(0, |v| v.parse().unwrap());
            let mut body = vec![0u8; length];
            self.io.read_exact(&mut body).ok()?;
            reply.body = String::from_utf8_lossy(&body).into_owned();
            Some(Item::Reply(reply))
        }
    }

    /// Whether the server has closed the connection (reads until EOF, a
    /// reset, or `timeout`).
    pub fn is_closed(&mut self, timeout: Duration) -> bool {
        self.io.get_ref().set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match self.io.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) => {
                    use std::io::ErrorKind::{TimedOut, WouldBlock};
                    return !matches!(e.kind(), WouldBlock | TimedOut);
                }
            }
        }
    }
}

/// A digest `Authorization` value (RFC 2617, MD5, no qop) for a challenge.
pub fn digest_authorization(
    challenge: &str,
    user: &str,
    password: &str,
    method: &str,
    uri: &str,
) -> String {
    use md5::{Digest, Md5};
    let param = |name: &str| {
        let start = challenge.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let end = challenge[start..].find('"').unwrap() + start;
        challenge[start..end].to_owned()
    };
    let (realm, nonce) = (param("realm"), param("nonce"));
    let h = |s: String| hex::encode(Md5::digest(s.as_bytes()));
    let ha1 = h(format!("{user}:{realm}:{password}"));
    let ha2 = h(format!("{method}:{uri}"));
    let response = h(format!("{ha1}:{nonce}:{ha2}"));
    format!(
        "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\""
    )
}

/// The packet types of a compound RTCP packet (RFC 3550 §6.1, §12.1: 200
/// SR, 201 RR, 202 SDES, 203 BYE), read by hand, independently of the
/// server's own RTCP code.
pub fn rtcp_packet_types(mut data: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while data.len() >= 4 {
        types.push(data[1]);
        let words = usize::from(u16::from_be_bytes([data[2], data[3]])) + 1;
        data = data.get(words * 4..).unwrap_or(&[]);
    }
    types
}
