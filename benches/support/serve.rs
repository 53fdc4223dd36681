//! What the `serve` benchmarks share: the server's configuration for a
//! load from one address, the generated H.264 stream, and a minimal RTSP
//! client (requests and responses, interleaved frames skipped, UDP port
//! pairs).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::UdpSocket;

/// Length of the generated stream.
pub const STREAM_SECONDS: u64 = 60;

/// mediatool's configuration: the per-client limits lifted, since every
/// client of the benchmark is 127.0.0.1.
pub const NO_CLIENT_LIMITS: &str = "max_connections_per_client: 0\nmax_sessions_per_client: 0\n\
    max_sessions_per_connection: 0\nmax_setups_per_second_per_client: 0\n";

/// `target/bench-media/`, created if needed: the stream and certificate.
pub fn media_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-media");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test stream: 720p H.264 at `bit_rate` CBR, no B-frames, made once.
pub fn stream_file(dir: &Path, bit_rate: &str) -> PathBuf {
    let path = dir.join(format!("bench_{bit_rate}_{STREAM_SECONDS}s.h264"));
    if path.exists() {
        return path;
    }
    eprintln!("making {} with ffmpeg...", path.display());
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!(
            "testsrc2=size=1280x720:rate=25:duration={STREAM_SECONDS}"
        ))
        .args([
            "-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", "50",
        ])
        .args(["-b:v", bit_rate, "-maxrate", bit_rate, "-bufsize", "1M"])
        .args(["-x264-params", "nal-hrd=cbr:aud=1"])
        .arg(&path)
        .status()
        .expect("ffmpeg is needed to make the test stream");
    assert!(status.success(), "ffmpeg failed");
    path
}

/// A byte stream to the server: TCP, or TLS over TCP.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A minimal RTSP client connection.
pub struct Rtsp {
    pub stream: Box<dyn Io>,
    /// Bytes read and not yet consumed (a response's, or interleaved
    /// frames').
    pub buf: Vec<u8>,
    pub cseq: u32,
    /// The session's identifier, sent with every request once set.
    pub session: Option<String>,
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Rtsp {
    pub fn new(stream: Box<dyn Io>) -> Rtsp {
        Rtsp {
            stream,
            buf: Vec::new(),
            cseq: 0,
            session: None,
        }
    }

    /// Sends a request and waits (at most 90 s) for its response.
    pub async fn request(&mut self, method: &str, url: &str, extra: &str) -> Result<Reply, String> {
        tokio::time::timeout(Duration::from_secs(90), self.exchange(method, url, extra))
            .await
            .map_err(|_| format!("{method}: no response in 90 s"))?
    }

    async fn exchange(&mut self, method: &str, url: &str, extra: &str) -> Result<Reply, String> {
        self.cseq += 1;
        let session = self
            .session
            .as_ref()
            .map_or(String::new(), |s| format!("Session: {s}\r\n"));
        let text = format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {}\r\n{session}{extra}\r\n",
            self.cseq
        );
        self.stream
            .write_all(text.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        loop {
            // Skip interleaved frames that precede the response.
            while self.buf.first() == Some(&b'$') && self.buf.len() >= 4 {
                let len = 4 + usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]]));
                if self.buf.len() < len {
                    break;
                }
                self.buf.drain(..len);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                if self.buf[0] != b'$' {
                    let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                    let mut lines = head.lines();
                    let status = lines
                        .next()
                        .and_then(|l| l.split_whitespace().nth(1))
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let headers: Vec<(String, String)> = lines
                        .filter_map(|l| l.split_once(':'))
                        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
                        .collect();
                    let length: usize = headers
                        .iter()
                        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
                        .and_then(|(_, v)| v.parse().ok())
                        .unwrap_or(0);
                    if self.buf.len() >= end + 4 + length {
                        let body = String::from_utf8_lossy(&self.buf[end + 4..end + 4 + length])
                            .into_owned();
                        self.buf.drain(..end + 4 + length);
                        return Ok(Reply {
                            status,
                            headers,
                            body,
                        });
                    }
                }
            }
            let mut chunk = [0u8; 16384];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Two UDP sockets on 127.0.0.1, an even port and the next one (RTP and
/// RTCP, RFC 3550 §11).
pub async fn udp_pair() -> std::io::Result<(UdpSocket, UdpSocket)> {
    loop {
        let rtp = bind_udp(0)?;
        let port = rtp.local_addr()?.port();
        if port % 2 == 0 && port < 65535 {
            if let Ok(rtcp) = bind_udp(port + 1) {
                return Ok((rtp, rtcp));
            }
        }
    }
}

pub fn bind_udp(port: u16) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let _ = socket.set_recv_buffer_size(2 << 20);
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    UdpSocket::from_std(socket.into())
}
