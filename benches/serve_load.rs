//! Load benchmark of `mediatool serve`: N concurrent sessions of a 720p
//! H.264 stream (2 Mbit/s unless `--bit-rate` says otherwise) over UDP or
//! TCP for a fixed time, measuring the server's CPU time and memory and, on
//! the client side, packets delivered, loss and lateness; the same load
//! against GStreamer's gst-rtsp-server, side by side. (live555MediaServer
//! is not packaged in Debian and cannot be installed here.) The secure
//! transports set the sessions up over RTSPS with SRTP (`srtp-udp`: SRTP
//! over UDP; `srtp-tcp`: SRTP interleaved inside TLS), each session
//! checking that its first packet authenticates under the key of its
//! DESCRIBE answer (mediatool only: the GStreamer peer serves no RTSPS).
//! `--setup-rate N` measures instead how many new connections a second
//! complete a DESCRIBE, over plain RTSP and over RTSPS (TCP and TLS
//! handshakes, a fresh SRTP key in the answer), and the server's CPU time
//! for each.
//!
//! ```sh
//! cargo bench --bench serve_load -- --sessions 100,250,500,1000 --seconds 30
//! cargo bench --bench serve_load -- --sessions 500 --transports udp --servers mediatool
//! cargo bench --bench serve_load -- --sessions 500 --transports udp,srtp-udp,tcp,srtp-tcp --servers mediatool
//! cargo bench --bench serve_load -- --setup-rate 5000
//! cargo bench --bench serve_load -- --sessions 200 --bit-rate 1M --seconds 10
//! # the cost of metrics: this build never scraped, this build scraped every
//! # second, and another build (one without metrics) side by side
//! # (a build with per-client limits needs them lifted: --baseline-config,
//! # a YAML file of 0 limits, given to it as --config)
//! cargo bench --bench serve_load -- --sessions 500 \
//!     --servers mediatool,scraped,baseline --baseline /tmp/mediatool-before \
//!     --baseline-config /tmp/no-limits.yaml
//! # the servers at their default log level (info) instead of -q
//! cargo bench --bench serve_load -- --sessions 300 --server-log default
//! ```
//!
//! Memory: the server's resident size while every session plays, and its
//! anonymous resident memory (`RssAnon`: what it allocated, without the
//! program's and libraries' pages, which are shared and faulted in as code
//! runs) before any session, per set-up and per playing session (the
//! growth over the start, divided by the sessions), and 10 s after the last
//! session was torn down (every client sends TEARDOWN when the measured
//! window ends), also as a percentage of the start, and so the resident
//! size 10 s after (issue 12's target: within 10% of the start, the
//! program's pages that ran meanwhile included). mediatool runs with its
//! per-client limits lifted (every client is 127.0.0.1).
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

use mediatool::srtp::sdes::CryptoAttribute;
use mediatool::srtp::SrtpReceiver;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Barrier;

mod support;
use support::process::{self, Memory};
use support::serve::{media_dir, stream_file, udp_pair, Io, Rtsp, NO_CLIENT_LIMITS};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Udp,
    Tcp,
    /// RTSPS, SRTP over UDP.
    SrtpUdp,
    /// RTSPS, SRTP interleaved in TLS.
    SrtpTcp,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::SrtpUdp => "srtp-udp",
            Transport::SrtpTcp => "srtp-tcp",
        }
    }

    fn udp(self) -> bool {
        matches!(self, Transport::Udp | Transport::SrtpUdp)
    }

    fn secure(self) -> bool {
        matches!(self, Transport::SrtpUdp | Transport::SrtpTcp)
    }
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
    /// Bit rate of the generated stream, as ffmpeg writes it (`2M`).
    bit_rate: String,
    transports: Vec<Transport>,
    peers: Vec<Peer>,
    file: Option<PathBuf>,
    /// `--setup-rate N`: measure N new connections instead.
    setup_rate: Option<usize>,
    /// `--baseline PATH`: the other mediatool binary of `--servers baseline`.
    baseline: Option<PathBuf>,
    /// `--baseline-config FILE`: a YAML file for it (`--config`), e.g. to
    /// lift the per-client limits of a build that has them.
    baseline_config: Option<PathBuf>,
    /// `--server-log default`: the mediatool servers log at their own
    /// default level (info: a line per connection, a log span per file
    /// played) to /dev/null, instead of errors only (`-q`, `--server-log
    /// quiet`, the default).
    default_log: bool,
}

fn parse_options() -> Options {
    let mut options = Options {
        sessions: vec![100, 250, 500, 1000],
        seconds: 30,
        bit_rate: "2M".to_owned(),
        transports: vec![Transport::Udp, Transport::Tcp],
        peers: vec![Peer::Mediatool, Peer::Gstreamer],
        file: None,
        setup_rate: None,
        baseline: None,
        baseline_config: None,
        default_log: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_default();
        match arg.as_str() {
            "--sessions" => {
                options.sessions = value().split(',').filter_map(|n| n.parse().ok()).collect()
            }
            "--seconds" => options.seconds = value().parse().unwrap_or(30),
            "--bit-rate" => options.bit_rate = value(),
            "--transports" => {
                options.transports = value()
                    .split(',')
                    .filter_map(|t| match t {
                        "udp" => Some(Transport::Udp),
                        "tcp" => Some(Transport::Tcp),
                        "srtp-udp" => Some(Transport::SrtpUdp),
                        "srtp-tcp" => Some(Transport::SrtpTcp),
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
            "--setup-rate" => options.setup_rate = value().parse().ok(),
            "--baseline" => options.baseline = Some(PathBuf::from(value())),
            "--baseline-config" => options.baseline_config = Some(PathBuf::from(value())),
            "--server-log" => {
                options.default_log = match value().as_str() {
                    "default" => true,
                    "quiet" => false,
                    other => panic!("--server-log takes default or quiet, not {other:?}"),
                }
            }
            // cargo bench passes --bench.
            _ => {}
        }
    }
    options
}
/// (mediatool only).
struct Server {
    child: Child,
    url: String,
    secure_url: Option<String>,
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
/// A self-signed ECDSA P-256 certificate for `localhost`, made once: the
/// certificate and key files.
fn certificate() -> (PathBuf, PathBuf) {
    let dir = media_dir();
    let (cert, key) = (dir.join("bench.crt"), dir.join("bench.key"));
    if !cert.exists() || !key.exists() {
        let pair = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
        let params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        std::fs::write(&cert, params.self_signed(&pair).unwrap().pem()).unwrap();
        std::fs::write(&key, pair.serialize_pem()).unwrap();
    }
    (cert, key)
}

/// How the mediatool servers start: the other build of `--servers
/// baseline` and its configuration file, and `--server-log`.
#[derive(Clone, Copy, Default)]
struct Launch<'a> {
    baseline: Option<&'a Path>,
    baseline_config: Option<&'a Path>,
    default_log: bool,
}

impl Launch<'_> {
    /// `-q` unless the servers log at their default level.
    fn quiet(&self) -> &'static [&'static str] {
        if self.default_log {
            &[]
        } else {
            &["-q"]
        }
    }

    /// A server's stderr: /dev/null when it logs at its default level (a
    /// line per connection), else the benchmark's (errors only).
    fn log(&self) -> Stdio {
        if self.default_log {
            Stdio::null()
        } else {
            Stdio::inherit()
        }
    }
}

fn start_server(peer: Peer, file: &Path, launch: Launch<'_>) -> Server {
    let (cert, key) = certificate();
    // This build: no per-client limits (the benchmark's clients all come
    // from 127.0.0.1), RTSPS beside plain RTSP, the admin listener `admin`.
    let this_build = |admin: &str| {
        let config = file.with_extension("serve.yaml");
        std::fs::write(&config, NO_CLIENT_LIMITS).unwrap();
        Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .args([
                "serve",
                "--port",
                "0",
                "--bind",
                "127.0.0.1",
                "--http-port",
                "0",
                "--tls-port",
                "0",
                "--admin",
                admin,
            ])
            .args(launch.quiet())
            .arg("--config")
            .arg(&config)
            .arg("--tls-cert")
            .arg(&cert)
            .arg("--tls-key")
            .arg(&key)
            .arg(file.parent().unwrap())
            .stdout(Stdio::piped())
            .stderr(launch.log())
            .spawn()
            .unwrap()
    };
    let mut child = match peer {
        Peer::Mediatool => this_build("off"),
        Peer::Scraped => this_build("127.0.0.1:0"),
        // Another build may know none of the newer flags: plain RTSP only.
        Peer::Baseline => {
            let binary = launch.baseline;
            let mut command =
                Command::new(binary.expect("--servers baseline needs --baseline PATH"));
            command.args(["serve", "--port", "0", "--bind", "127.0.0.1"]);
            command.args(launch.quiet());
            if let Some(config) = launch.baseline_config {
                command.arg("--config").arg(config);
            }
            command
                .arg(file.parent().unwrap())
                .stdout(Stdio::piped())
                .stderr(launch.log())
                .spawn()
                .unwrap()
        }
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
    let base = line.trim().to_owned();
    assert!(
        base.starts_with("rtsp://"),
        "server did not start: {line:?}"
    );
    let name = file.file_name().unwrap().to_str().unwrap();
    let (url, secure_url) = match peer {
        Peer::Mediatool | Peer::Scraped => {
            let mut tls = String::new();
            stdout.read_line(&mut tls).unwrap();
            let tls = tls.trim();
            assert!(tls.starts_with("rtsps://"), "no RTSPS listener: {tls:?}");
            (format!("{base}{name}"), Some(format!("{tls}{name}")))
        }
        Peer::Baseline => (format!("{base}{name}"), None),
        Peer::Gstreamer => (base, None),
    };
    let scraping = (peer == Peer::Scraped).then(|| {
        // The admin listener's line follows the RTSP and RTSPS ones.
        let mut admin = String::new();
        while !admin.trim_end().ends_with("/metrics") {
            admin.clear();
            assert!(stdout.read_line(&mut admin).unwrap() > 0, "no admin line");
        }
        scrape_every_second(admin.trim()["http://".len()..].split('/').next().unwrap())
    });
    // Keep reading (the file list follows) so the pipe stays open.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Server {
        child,
        url,
        secure_url,
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

/// Any certificate, any handshake signature: the benchmark's TLS client
/// spends its CPU on the handshake's key exchange only (the server's work
/// is what is measured).
#[derive(Debug)]
struct Trusting;

impl rustls::client::danger::ServerCertVerifier for Trusting {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        vec![
            rustls::SignatureScheme::ECDSA_NISTP256_SHA256,
            rustls::SignatureScheme::ED25519,
            rustls::SignatureScheme::RSA_PSS_SHA256,
        ]
    }
}

/// The TLS client of the RTSPS sessions (TLS 1.3, the server's default).
fn tls_connector() -> tokio_rustls::TlsConnector {
    static CONFIG: std::sync::OnceLock<Arc<rustls::ClientConfig>> = std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        #[allow(deprecated)] // the server's provider, as src/server/tls.rs says
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Trusting))
            .with_no_client_auth();
        Arc::new(config)
    });
    tokio_rustls::TlsConnector::from(Arc::clone(config))
}

/// Connects to the server of `url` (`rtsp://` or `rtsps://`).
async fn connect(url: &str) -> Result<Box<dyn Io>, String> {
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    let addr: SocketAddr = rest
        .split('/')
        .next()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("{url}: {e}"))?;
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let _ = tcp.set_nodelay(true);
    if scheme != "rtsps" {
        return Ok(Box::new(tcp));
    }
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tls_connector()
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS: {e}"))?;
    Ok(Box::new(tls))
}

/// Tracks one session's packets.
struct Meter {
    /// The SRTP context of the session's key, until its first packet
    /// authenticated.
    unverified: Option<SrtpReceiver>,
    play_at: Instant,
    rtptime: u32,
    window: (Instant, Instant),
    last_seq: Option<u64>,
    first_seq: Option<u64>,
    stats: Stats,
}

impl Meter {
    fn packet(&mut self, data: &[u8], now: Instant) {
        if let Some(mut receiver) = self.unverified.take() {
            if receiver.unprotect_rtp(&mut data.to_vec()).is_err() {
                self.stats.error = Some("an SRTP packet did not authenticate".into());
            }
        }
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
    let stream = match connect(&url).await {
        Ok(s) => s,
        Err(e) => {
            ready.wait().await;
            start.wait().await;
            return fail(e);
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
        let track = if control.starts_with("rtsp") {
            control
        } else {
            format!("{}/{control}", base.trim_end_matches('/'))
        };
        let receiver = match describe
            .body
            .lines()
            .find_map(|l| l.strip_prefix("a=crypto:"))
        {
            Some(crypto) => {
                let crypto = CryptoAttribute::parse(crypto).map_err(|e| e.to_string())?;
                Some(SrtpReceiver::new(&crypto.key, crypto.policy, 0))
            }
            None if transport.secure() => return Err("no SRTP key in the SDP".into()),
            None => None,
        };
        let sockets = match transport.udp() {
            true => Some(udp_pair().await.map_err(|e| e.to_string())?),
            false => None,
        };
        let profile = if transport.secure() { "SAVP" } else { "AVP" };
        let spec = match &sockets {
            Some((rtp, _)) => {
                let port = rtp.local_addr().map_err(|e| e.to_string())?.port();
                format!("RTP/{profile};unicast;client_port={port}-{}", port + 1)
            }
            None => format!("RTP/{profile}/TCP;unicast;interleaved=0-1"),
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
        Ok((base, sockets, receiver))
    }
    .await;
    // Every session is set up before any plays, so setting up never
    // competes with streaming in what is measured.
    ready.wait().await;
    start.wait().await;
    let (base, sockets, receiver) = match prepared {
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
        unverified: receiver,
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
            // The TEARDOWN's answer follows what was read.
            rtsp.buf = pending;
        }
    }
    let stats = meter.finish();
    // Ended, so that the server's memory after the load can be measured.
    match rtsp
        .request("TEARDOWN", base.trim_end_matches('/'), "")
        .await
    {
        Ok(reply) if reply.status == 200 => stats,
        Ok(reply) => Stats {
            error: Some(format!("TEARDOWN {}", reply.status)),
            ..stats
        },
        Err(e) => Stats {
            error: Some(format!("TEARDOWN: {e}")),
            ..stats
        },
    }
}

/// Connections opened at once by `--setup-rate`.
const SETUP_CONCURRENCY: usize = 16;

/// `--setup-rate N`: N new connections, [`SETUP_CONCURRENCY`] at a time,
/// each answered one DESCRIBE and closed, over plain RTSP and over RTSPS
/// (TCP and TLS 1.3 handshakes, ECDSA P-256, a fresh SRTP key and MIKEY
/// message in every answer); prints the rate and the server's CPU time a
/// connection.
async fn setup_rate(connections: usize, file: &Path) {
    let server = start_server(Peer::Mediatool, file, Launch::default());
    let pid = server.child.id();
    let secure = server.secure_url.clone().expect("an RTSPS listener");
    println!(
        "{connections} new connections, {SETUP_CONCURRENCY} at a time, each with one DESCRIBE"
    );
    println!(
        "| via | connections | seconds | connections/s | server CPU ms a connection | errors |"
    );
    println!("|---|---|---|---|---|---|");
    for (via, url) in [("rtsp", server.url.clone()), ("rtsps + SRTP keys", secure)] {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let cpu0 = process::cpu_seconds(pid);
        let started = Instant::now();
        let workers: Vec<_> = (0..SETUP_CONCURRENCY)
            .map(|_| {
                let (next, url) = (Arc::clone(&next), url.clone());
                tokio::spawn(async move {
                    let mut errors = Vec::new();
                    while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < connections {
                        if let Err(e) = describe_once(&url).await {
                            errors.push(e);
                        }
                    }
                    errors
                })
            })
            .collect();
        let mut errors = Vec::new();
        for worker in workers {
            errors.extend(worker.await.unwrap());
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu1 = process::cpu_seconds(pid);
        println!(
            "| {via} | {connections} | {elapsed:.2} | {:.0} | {:.3} | {} |",
            connections as f64 / elapsed,
            (cpu1 - cpu0) * 1000.0 / connections as f64,
            errors
                .first()
                .map_or(String::new(), |e| format!("{}: {e}", errors.len()))
        );
    }
}

/// Connects, asks one DESCRIBE (an RTSPS answer must carry a key), closes.
async fn describe_once(url: &str) -> Result<(), String> {
    let mut rtsp = Rtsp {
        stream: connect(url).await?,
        buf: Vec::new(),
        cseq: 0,
        session: None,
    };
    let reply = rtsp
        .request("DESCRIBE", url, "Accept: application/sdp\r\n")
        .await?;
    if reply.status != 200 {
        return Err(format!("DESCRIBE {}", reply.status));
    }
    if url.starts_with("rtsps") && !reply.body.contains("a=crypto:") {
        return Err("no SRTP key".into());
    }
    let _ = rtsp.stream.shutdown().await;
    Ok(())
}

/// One measured run; prints a table row.
async fn run(
    peer: Peer,
    transport: Transport,
    sessions: usize,
    seconds: u64,
    file: &Path,
    launch: Launch<'_>,
) {
    let server = start_server(peer, file, launch);
    let url = match (transport.secure(), &server.secure_url) {
        (false, _) => server.url.clone(),
        (true, Some(url)) => url.clone(),
        (true, None) => return,
    };
    let pid = server.child.id();
    let rss_idle = process::memory(pid);
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
                url.clone(),
                transport,
                Arc::clone(&start),
                Arc::clone(&window),
                Arc::clone(&ready),
            ))
        })
        .collect();
    ready.wait().await;
    let rss_setup = process::memory(pid);
    // Measure from 3 s after the first PLAY (all are playing by then) for
    // `seconds`.
    let begin = Instant::now() + Duration::from_secs(3);
    let end = begin + Duration::from_secs(seconds);
    window.set((begin, end)).ok();
    start.wait().await;
    tokio::time::sleep_until(tokio::time::Instant::from_std(begin)).await;
    let cpu0 = process::cpu_seconds(pid);
    tokio::time::sleep_until(tokio::time::Instant::from_std(end)).await;
    let (cpu1, rss_playing) = (process::cpu_seconds(pid), process::memory(pid));
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
    // Every session torn down: what the server keeps 10 s later.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let rss_after = process::memory(pid);
    drop(server);
    all.lateness_us.sort_unstable();
    let pct = |p: f64| {
        all.lateness_us
            .get(((all.lateness_us.len() as f64 - 1.0) * p) as usize)
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    let cpu = cpu1 - cpu0;
    let lost = all.expected.saturating_sub(all.received);
    let per_session = |at: Memory| at.anon.saturating_sub(rss_idle.anon) as f64 / sessions as f64;
    println!(
        "| {:16} | {:8} | {:5} | {:6.1} | {:6.2} | {:7.1} | {:5.1} | {:5.1} | {:6.1} | {:5.1} ({:3.0}%) | {:5.1} ({:3.0}%) | {:9} | {:6} ({:.3}%) | {:6.1} | {:6.1} | {:6} | {}",
        peer.name(),
        transport.name(),
        sessions,
        cpu,
        cpu * 1000.0 / seconds as f64 / sessions as f64,
        rss_playing.rss as f64 / 1024.0,
        rss_idle.anon as f64 / 1024.0,
        per_session(rss_setup),
        per_session(rss_playing),
        rss_after.anon as f64 / 1024.0,
        rss_after.anon as f64 * 100.0 / rss_idle.anon.max(1) as f64,
        rss_after.rss as f64 / 1024.0,
        rss_after.rss as f64 * 100.0 / rss_idle.rss.max(1) as f64,
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
    let file = options
        .file
        .clone()
        .unwrap_or_else(|| stream_file(&media_dir(), &options.bit_rate));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Some(connections) = options.setup_rate {
        runtime.block_on(setup_rate(connections, &file));
        return;
    }
    println!(
        "{} sessions of {} ({}bit/s H.264), {} s measured once all play (PLAYs spread over 2 s)",
        options
            .sessions
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("/"),
        file.display(),
        options.bit_rate,
        options.seconds
    );
    println!(
        "| server    | via | sessions | CPU s | CPU ms/s per session | RSS MiB playing | anon MiB at start | anon KiB per set-up session | anon KiB per playing session | anon MiB 10 s after the last TEARDOWN (% of start) | RSS MiB 10 s after (% of start) | packets | lost | p99 late ms | max late ms | >50 ms | errors"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for &sessions in &options.sessions {
        for &transport in &options.transports {
            for &peer in &options.peers {
                runtime.block_on(run(
                    peer,
                    transport,
                    sessions,
                    options.seconds,
                    &file,
                    Launch {
                        baseline: options.baseline.as_deref(),
                        baseline_config: options.baseline_config.as_deref(),
                        default_log: options.default_log,
                    },
                ));
            }
        }
    }
}
