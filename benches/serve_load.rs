//! Load benchmark of `mediatool serve`: N concurrent sessions of a 2 Mbit/s
//! H.264 stream over UDP or TCP for a fixed time, measuring the server's
//! CPU time and memory and, on the client side, packets delivered, loss and
//! lateness; the same load against GStreamer's gst-rtsp-server, side by
//! side.
//!
//! ```sh
//! cargo bench --bench serve_load -- --sessions 100,250,500,1000 --seconds 30
//! cargo bench --bench serve_load -- --sessions 500 --transports udp --servers mediatool
//! # the cost of metrics: this build never scraped, this build scraped every
//! # second, and another build (one without metrics) side by side
//! cargo bench --bench serve_load -- --sessions 500 \
//!     --servers mediatool,scraped,baseline --baseline /tmp/mediatool-before
//! ```
//!
//! Needs ffmpeg (to make the test stream once) and, for the GStreamer
//! peer, Debian's gir1.2-gst-rtsp-server-1.0 and python3-gi.
//!
//! Lateness: how much later than its session's most punctual packet a
//! packet arrives, relative to its RTP timestamp (the stream has no
//! B-frames, so timestamps grow with send order): a drift, a stall or a
//! late burst shows; a constant offset does not. Loss: gaps in each
//! session's sequence numbers.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::Barrier;

/// Bit rate and length of the generated stream.
const BIT_RATE: &str = "2M";
const STREAM_SECONDS: u64 = 60;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Peer {
    /// This build, its admin listener off: the packet path counts, nothing
    /// scrapes.
    Mediatool,
    /// This build with `/metrics` scraped every second.
    Scraped,
    /// Another mediatool binary (`--baseline PATH`), e.g. one from before
    /// the metrics.
    Baseline,
    Gstreamer,
}

impl Peer {
    fn name(self) -> &'static str {
        match self {
            Peer::Mediatool => "mediatool",
            Peer::Scraped => "mediatool+scrape",
            Peer::Baseline => "baseline",
            Peer::Gstreamer => "gst",
        }
    }
}

/// What one session saw in the measured window.
#[derive(Default, Clone)]
struct Stats {
    received: u64,
    /// Sequence-number span of what was received (extended, wraps handled).
    expected: u64,
    late_50ms: u64,
    /// Lateness of every packet in microseconds (for percentiles).
    lateness_us: Vec<i64>,
    error: Option<String>,
}

struct Options {
    sessions: Vec<usize>,
    seconds: u64,
    transports: Vec<Transport>,
    peers: Vec<Peer>,
    file: Option<PathBuf>,
    baseline: Option<PathBuf>,
}

fn parse_options() -> Options {
    let mut options = Options {
        sessions: vec![100, 250, 500, 1000],
        seconds: 30,
        transports: vec![Transport::Udp, Transport::Tcp],
        peers: vec![Peer::Mediatool, Peer::Gstreamer],
        file: None,
        baseline: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--sessions" => {
                options.sessions = value().split(',').filter_map(|n| n.parse().ok()).collect()
            }
            "--seconds" => options.seconds = value().parse().unwrap_or(30),
            "--transports" => {
                options.transports = value()
                    .split(',')
                    .filter_map(|t| match t {
                        "udp" => Some(Transport::Udp),
                        "tcp" => Some(Transport::Tcp),
                        _ => None,
                    })
                    .collect()
            }
            "--servers" => {
                options.peers = value()
                    .split(',')
                    .filter_map(|t| match t {
                        "mediatool" => Some(Peer::Mediatool),
                        "scraped" => Some(Peer::Scraped),
                        "baseline" => Some(Peer::Baseline),
                        "gst" | "gstreamer" => Some(Peer::Gstreamer),
                        _ => None,
                    })
                    .collect()
            }
            "--file" => options.file = Some(PathBuf::from(value())),
            "--baseline" => options.baseline = Some(PathBuf::from(value())),
            // cargo bench passes --bench.
            _ => {}
        }
    }
    options
}

/// The test stream: 720p H.264 at 2 Mbit/s CBR, no B-frames, made once.
fn stream_file(dir: &Path) -> PathBuf {
    let path = dir.join(format!("bench_{BIT_RATE}_{STREAM_SECONDS}s.h264"));
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
        .args(["-b:v", BIT_RATE, "-maxrate", BIT_RATE, "-bufsize", "1M"])
        .args(["-x264-params", "nal-hrd=cbr:aud=1"])
        .arg(&path)
        .status()
        .expect("ffmpeg is needed to make the test stream");
    assert!(status.success(), "ffmpeg failed");
    path
}

/// A running server and the URL of the stream.
struct Server {
    child: Child,
    url: String,
    /// Stops the scraper thread, if one runs.
    scraping: Option<Arc<std::sync::atomic::AtomicBool>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = &self.scraping {
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(peer: Peer, file: &Path, baseline: Option<&Path>) -> Server {
    let mediatool = |binary: &Path, admin: Option<&str>| {
        let mut command = Command::new(binary);
        command
            .args([
                "serve",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--http-port",
                "0",
                "-q",
            ])
            .arg(file.parent().unwrap());
        if let Some(admin) = admin {
            command.args(["--admin", admin]);
        }
        command.stdout(Stdio::piped()).spawn().unwrap()
    };
    let this_build = Path::new(env!("CARGO_BIN_EXE_mediatool"));
    let mut child = match peer {
        Peer::Mediatool => mediatool(this_build, Some("off")),
        Peer::Scraped => mediatool(this_build, Some("127.0.0.1:0")),
        Peer::Baseline => mediatool(
            baseline.expect("--servers baseline needs --baseline PATH"),
            None,
        ),
        Peer::Gstreamer => {
            // h264parse gives an elementary stream's frames DTS but no PTS,
            // and rtph264pay stamps every packet alike without PTS: the
            // peer reads the same stream from an MP4 copy instead.
            let mp4 = file.with_extension("mp4");
            if !mp4.exists() {
                let status = Command::new("ffmpeg")
                    .args(["-v", "error", "-y", "-i"])
                    .arg(file)
                    .args(["-c", "copy"])
                    .arg(&mp4)
                    .status()
                    .unwrap();
                assert!(status.success(), "ffmpeg could not make {}", mp4.display());
            }
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            Command::new("/usr/bin/python3")
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gst_rtsp_server.py"))
                .arg(&mp4)
                .arg(port.to_string())
                .stdout(Stdio::piped())
                .spawn()
                .expect("/usr/bin/python3 with gir1.2-gst-rtsp-server-1.0 and python3-gi")
        }
    };
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    let scraping = (peer == Peer::Scraped).then(|| {
        // The admin listener's line follows the RTSP one.
        let mut admin = String::new();
        while !admin.trim_end().ends_with("/metrics") {
            admin.clear();
            assert!(stdout.read_line(&mut admin).unwrap() > 0, "no admin line");
        }
        scrape_every_second(admin.trim()["http://".len()..].split('/').next().unwrap())
    });
    // Keep reading (the file list follows) so the pipe stays open.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    let base = line.trim().to_owned();
    assert!(
        base.starts_with("rtsp://"),
        "server did not start: {line:?}"
    );
    let url = match peer {
        Peer::Gstreamer => base,
        _ => format!("{base}{}", file.file_name().unwrap().to_str().unwrap()),
    };
    Server {
        child,
        url,
        scraping,
    }
}

/// Scrapes `http://ADDR/metrics` every second on a thread of its own (as
/// Prometheus would, if more often) until told to stop.
fn scrape_every_second(addr: &str) -> Arc<std::sync::atomic::AtomicBool> {
    use std::io::{Read, Write};
    use std::sync::atomic::{AtomicBool, Ordering};
    let stop = Arc::new(AtomicBool::new(false));
    let addr: SocketAddr = addr.parse().unwrap();
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let (mut scrapes, mut bytes) = (0, 0);
        while !flag.load(Ordering::Relaxed) {
            if let Ok(mut stream) = std::net::TcpStream::connect(addr) {
                let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n");
                let mut body = Vec::new();
                if stream.read_to_end(&mut body).is_ok() && body.starts_with(b"HTTP/1.1 200") {
                    scrapes += 1;
                    bytes += body.len();
                }
            }
            std::thread::sleep(Duration::from_secs(1));
        }
        eprintln!(
            "scraped /metrics {scrapes} times, {} bytes each",
            bytes / scrapes.max(1)
        );
    });
    stop
}

/// CPU seconds (user + system) and resident memory (KiB) of a process.
fn usage(pid: u32) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    // utime and stime are fields 14 and 15 (1-based), in USER_HZ (100/s).
    let ticks: u64 = fields
        .get(11..13)
        .map_or(0, |f| f.iter().filter_map(|v| v.parse::<u64>().ok()).sum());
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    (ticks as f64 / 100.0, rss)
}

/// A minimal RTSP client connection.
struct Rtsp {
    stream: TcpStream,
    buf: Vec<u8>,
    cseq: u32,
    session: Option<String>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Rtsp {
    /// Sends a request and waits (at most 90 s) for its response.
    async fn request(&mut self, method: &str, url: &str, extra: &str) -> Result<Reply, String> {
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Tracks one session's packets.
struct Meter {
    play_at: Instant,
    rtptime: u32,
    window: (Instant, Instant),
    last_seq: Option<u64>,
    first_seq: Option<u64>,
    stats: Stats,
}

impl Meter {
    fn packet(&mut self, data: &[u8], now: Instant) {
        if data.len() < 12 || now < self.window.0 || now > self.window.1 {
            return;
        }
        let seq = u16::from_be_bytes([data[2], data[3]]);
        let ts = u32::from_be_bytes([data[4], data[5], data[6], data[7]]);
        // Extend the sequence number across wraps.
        let extended = match self.last_seq {
            None => u64::from(seq) + (1 << 32),
            Some(last) => {
                let delta = i64::from(seq.wrapping_sub(last as u16) as i16);
                (last as i64 + delta) as u64
            }
        };
        self.last_seq = Some(self.last_seq.map_or(extended, |l| l.max(extended)));
        self.first_seq = Some(self.first_seq.map_or(extended, |f| f.min(extended)));
        self.stats.received += 1;
        // Arrival minus media time (RTP timestamp distance from RTP-Info's
        // rtptime), both from PLAY; lateness is measured against the
        // session's most punctual packet, so a server's constant offset
        // between RTP-Info and its first packet does not count.
        let media = i64::from(ts.wrapping_sub(self.rtptime).cast_signed()) * 1_000_000 / 90_000;
        let arrival =
            i64::try_from(now.duration_since(self.play_at).as_micros()).unwrap_or(i64::MAX);
        self.stats.lateness_us.push(arrival - media);
    }

    fn finish(mut self) -> Stats {
        if let (Some(first), Some(last)) = (self.first_seq, self.last_seq) {
            self.stats.expected = last - first + 1;
        }
        let best = self.stats.lateness_us.iter().copied().min().unwrap_or(0);
        for late in &mut self.stats.lateness_us {
            *late -= best;
        }
        self.stats.late_50ms = self
            .stats
            .lateness_us
            .iter()
            .filter(|&&l| l > 50_000)
            .count() as u64;
        self.stats
    }
}

/// One client session: DESCRIBE, SETUP, PLAY, receive, TEARDOWN.
async fn session(
    delay: Duration,
    play_delay: Duration,
    url: String,
    transport: Transport,
    start: Arc<Barrier>,
    window: Arc<std::sync::OnceLock<(Instant, Instant)>>,
    ready: Arc<Barrier>,
) -> Stats {
    let fail = |e: String| Stats {
        error: Some(e),
        ..Stats::default()
    };
    tokio::time::sleep(delay).await;
    let addr: SocketAddr = url["rtsp://".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => {
            ready.wait().await;
            start.wait().await;
            return fail(e.to_string());
        }
    };
    let mut rtsp = Rtsp {
        stream,
        buf: Vec::new(),
        cseq: 0,
        session: None,
    };
    let prepared = async {
        let describe = rtsp
            .request("DESCRIBE", &url, "Accept: application/sdp\r\n")
            .await?;
        if describe.status != 200 {
            return Err(format!("DESCRIBE {}", describe.status));
        }
        let control = describe
            .body
            .lines()
            .filter_map(|l| l.strip_prefix("a=control:"))
            .find(|c| *c != "*")
            .unwrap_or("")
            .to_owned();
        let base = describe
            .header("Content-Base")
            .map_or(format!("{url}/"), str::to_owned);
        let track = if control.starts_with("rtsp://") {
            control
        } else {
            format!("{}/{control}", base.trim_end_matches('/'))
        };
        let sockets = match transport {
            Transport::Udp => Some(udp_pair().await.map_err(|e| e.to_string())?),
            Transport::Tcp => None,
        };
        let spec = match &sockets {
            Some((rtp, _)) => {
                let port = rtp.local_addr().map_err(|e| e.to_string())?.port();
                format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
            }
            None => "RTP/AVP/TCP;unicast;interleaved=0-1".to_owned(),
        };
        let setup = rtsp
            .request("SETUP", &track, &format!("Transport: {spec}\r\n"))
            .await?;
        if setup.status != 200 {
            return Err(format!("SETUP {}", setup.status));
        }
        rtsp.session = setup
            .header("Session")
            .map(|s| s.split(';').next().unwrap_or("").trim().to_owned());
        Ok((base, sockets))
    }
    .await;
    // Every session is set up before any plays, so setting up never
    // competes with streaming in what is measured.
    ready.wait().await;
    start.wait().await;
    let (base, sockets) = match prepared {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    tokio::time::sleep(play_delay).await;
    let play = match rtsp
        .request("PLAY", base.trim_end_matches('/'), "Range: npt=0.000-\r\n")
        .await
    {
        Ok(play) if play.status == 200 => play,
        Ok(play) => return fail(format!("PLAY {}", play.status)),
        Err(e) => return fail(e),
    };
    let play_at = Instant::now();
    let rtptime = play
        .header("RTP-Info")
        .and_then(|i| i.split(';').find_map(|f| f.trim().strip_prefix("rtptime=")))
        .and_then(|t| t.trim_end_matches(',').parse().ok())
        .unwrap_or(0);
    let window = *window.get().expect("window set before PLAY");
    let mut meter = Meter {
        play_at,
        rtptime,
        window,
        last_seq: None,
        first_seq: None,
        stats: Stats::default(),
    };
    let deadline = tokio::time::Instant::from_std(window.1);
    match sockets {
        Some((rtp, rtcp)) => {
            let mut buf = vec![0u8; 2048];
            let mut rtcp_buf = vec![0u8; 2048];
            loop {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    r = rtp.recv(&mut buf) => match r {
                        Ok(n) => meter.packet(&buf[..n], Instant::now()),
                        Err(_) => break,
                    },
                    _ = rtcp.recv(&mut rtcp_buf) => {}
                }
            }
        }
        None => {
            let mut pending = std::mem::take(&mut rtsp.buf);
            let mut chunk = vec![0u8; 65536];
            loop {
                while pending.len() >= 4 && pending[0] == b'$' {
                    let len = 4 + usize::from(u16::from_be_bytes([pending[2], pending[3]]));
                    if pending.len() < len {
                        break;
                    }
                    if pending[1] == 0 {
                        meter.packet(&pending[4..len], Instant::now());
                    }
                    pending.drain(..len);
                }
                if !pending.is_empty() && pending[0] != b'$' {
                    return fail("unexpected data on the connection".into());
                }
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => break,
                    r = rtsp.stream.read(&mut chunk) => match r {
                        Ok(0) | Err(_) => break,
                        Ok(n) => pending.extend_from_slice(&chunk[..n]),
                    },
                }
            }
        }
    }
    meter.finish()
}

async fn udp_pair() -> std::io::Result<(UdpSocket, UdpSocket)> {
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

fn bind_udp(port: u16) -> std::io::Result<UdpSocket> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None)?;
    let _ = socket.set_recv_buffer_size(2 << 20);
    socket.set_nonblocking(true)?;
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], port)).into())?;
    UdpSocket::from_std(socket.into())
}

/// One measured run; prints a table row.
async fn run(
    peer: Peer,
    transport: Transport,
    sessions: usize,
    seconds: u64,
    file: &Path,
    baseline: Option<&Path>,
) {
    let server = start_server(peer, file, baseline);
    let pid = server.child.id();
    let (_, rss_idle) = usage(pid);
    let ready = Arc::new(Barrier::new(sessions + 1));
    let start = Arc::new(Barrier::new(sessions + 1));
    let window = Arc::new(std::sync::OnceLock::new());
    let tasks: Vec<_> = (0..sessions)
        .map(|i| {
            tokio::spawn(session(
                // Connections arrive 200 a second, not all at once, and
                // PLAYs spread over one GOP (2 s), as independent viewers'
                // would: key frames of all sessions don't coincide.
                Duration::from_millis(5 * i as u64),
                Duration::from_millis((2000 * i / sessions) as u64),
                server.url.clone(),
                transport,
                Arc::clone(&start),
                Arc::clone(&window),
                Arc::clone(&ready),
            ))
        })
        .collect();
    ready.wait().await;
    let (_, rss_setup) = usage(pid);
    // Measure from 3 s after the first PLAY (all are playing by then) for
    // `seconds`.
    let begin = Instant::now() + Duration::from_secs(3);
    let end = begin + Duration::from_secs(seconds);
    window.set((begin, end)).ok();
    start.wait().await;
    tokio::time::sleep_until(tokio::time::Instant::from_std(begin)).await;
    let (cpu0, _) = usage(pid);
    tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
    let (cpu1, rss) = usage(pid);
    let mut all = Stats::default();
    let mut errors = Vec::new();
    for task in tasks {
        let s = task.await.unwrap();
        if let Some(e) = s.error {
            errors.push(e);
        }
        all.received += s.received;
        all.expected += s.expected;
        all.late_50ms += s.late_50ms;
        all.lateness_us.extend(s.lateness_us);
    }
    drop(server);
    all.lateness_us.sort_unstable();
    let pct = |p: f64| {
        all.lateness_us
            .get(((all.lateness_us.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let cpu = cpu1 - cpu0;
    let lost = all.expected.saturating_sub(all.received);
    println!(
        "| {:16} | {:3} | {:5} | {:6.1} | {:6.2} | {:7.1} | {:5.1} | {:9} | {:6} ({:.3}%) | {:6.1} | {:6.1} | {:6} | {}",
        peer.name(),
        match transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
        },
        sessions,
        cpu,
        cpu * 1000.0 / seconds as f64 / sessions as f64,
        rss as f64 / 1024.0,
        rss_setup.saturating_sub(rss_idle) as f64 / sessions as f64,
        all.received,
        lost,
        if all.expected > 0 {
            lost as f64 * 100.0 / all.expected as f64
        } else {
            0.0
        },
        pct(0.99),
        pct(1.0),
        all.late_50ms,
        if errors.is_empty() {
            String::new()
        } else {
            format!("{} failed: {}", errors.len(), errors[0])
        }
    );
}

fn main() {
    let options = parse_options();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-media");
    std::fs::create_dir_all(&dir).unwrap();
    let file = options.file.clone().unwrap_or_else(|| stream_file(&dir));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!(
        "{} sessions of {} ({BIT_RATE}bit/s H.264), {} s measured once all play (PLAYs spread over 2 s)",
        options
            .sessions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        file.display(),
        options.seconds
    );
    println!(
        "| server    | via | sessions | CPU s | CPU ms/s per session | RSS MiB | KiB per set-up session | packets | lost | p99 late ms | max late ms | >50 ms | errors"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &sessions in &options.sessions {
        for &transport in &options.transports {
            for &peer in &options.peers {
                runtime.block_on(run(
                    peer,
                    transport,
                    sessions,
                    options.seconds,
                    &file,
                    options.baseline.as_deref(),
                ));
            }
        }
    }
}
