//! Helpers for the `serve` tests: a server process on a free port over a
//! temporary directory of fixtures, and a minimal RTSP client speaking raw
//! requests (so tests control every byte).
#![allow(dead_code)] // each test crate uses a different subset

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A running `mediatool serve`.
pub struct TestServer {
    child: Child,
    /// The RTSP port.
    pub port: u16,
    /// The served directory.
    pub dir: tempfile::TempDir,
    /// The start-up lines printed on stdout.
    pub lines: Vec<String>,
    stderr: PathBuf,
}

impl TestServer {
    /// Serves copies of `files` (name in the directory, fixture name) with
    /// extra `args`, on a free port.
    pub fn start(files: &[(&str, &str)], args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        for (name, fixture) in files {
            let dest = dir.path().join(name);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::copy(fixtures().join(fixture), dest).unwrap();
        }
        TestServer::start_in(dir, args)
    }

    /// Serves copies of the fixtures `names`.
    pub fn with_fixtures(names: &[String], args: &[&str]) -> TestServer {
        let files: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), n.as_str())).collect();
        TestServer::start(&files, args)
    }

    /// Serves `dir` as is.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> TestServer {
        TestServer::start_sub(dir, "", args)
    }

    /// Serves the subdirectory `sub` of `dir`.
    pub fn start_sub(dir: tempfile::TempDir, sub: &str, args: &[&str]) -> TestServer {
        let stderr = dir.path().with_extension("stderr.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .arg("serve")
            .arg(dir.path().join(sub))
            .args(["--port", "0", "--bind", "127.0.0.1", "-v"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut reader = BufReader::new(stdout);
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let port = first
            .trim()
            .trim_end_matches('/')
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "no start-up line (got {first:?}); stderr: {}",
                    std::fs::read_to_string(&stderr).unwrap_or_default()
                )
            });
        let mut lines = vec![first.trim().to_owned()];
        // The file list follows at once: gather it, then keep the pipe drained.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in reader.lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(300)) {
            lines.push(line);
        }
        TestServer {
            child,
            port,
            dir,
            lines,
            stderr,
        }
    }

    /// `rtsp://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!(
            "rtsp://127.0.0.1:{}/{}",
            self.port,
            path.trim_start_matches('/')
        )
    }

    /// A new client connection.
    pub fn connect(&self) -> Rtsp {
        Rtsp::connect(self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Open file descriptors of the server process.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Threads of the server process.
    pub fn threads(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/task", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log();
        let _ = std::fs::remove_file(&self.stderr);
        // Whatever the test checked, the server must never have panicked.
        if !std::thread::panicking() {
            assert!(!log.contains("panicked"), "the server panicked:\n{log}");
        }
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
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    cseq: u32,
    /// Interleaved frames received while waiting for responses.
    pub frames: Vec<(u8, Vec<u8>)>,
}

impl Rtsp {
    /// Connects to 127.0.0.1:`port`.
    pub fn connect(port: u16) -> Rtsp {
        Rtsp::from_stream(TcpStream::connect(("127.0.0.1", port)).unwrap())
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
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Rtsp {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            cseq: 0,
            frames: Vec::new(),
        }
    }

    /// Sends a request with a fresh CSeq and reads its response.
    pub fn request(&mut self, method: &str, url: &str, headers: &[(&str, &str)]) -> Reply {
        self.cseq += 1;
        let mut text = format!("{method} {url} RTSP/1.0\r\nCSeq: {}\r\n", self.cseq);
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        self.send(text.as_bytes());
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
        self.writer.write_all(bytes).unwrap();
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
            if self.reader.read_exact(&mut first).is_err() {
                return None;
            }
            if first[0] == b'$' {
                let mut head = [0u8; 3];
                self.reader.read_exact(&mut head).ok()?;
                let len = usize::from(u16::from_be_bytes([head[1], head[2]]));
                let mut payload = vec![0u8; len];
                self.reader.read_exact(&mut payload).ok()?;
                return Some(Item::Frame(head[0], payload));
            }
            let mut line = String::from(char::from(first[0]));
            self.reader.read_line(&mut line).ok()?;
            let status = line.split_whitespace().nth(1)?.parse().ok()?;
            let mut reply = Reply {
                status,
                ..Reply::default()
            };
            loop {
                let mut line = String::new();
                self.reader.read_line(&mut line).ok()?;
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
            self.reader.read_exact(&mut body).ok()?;
            reply.body = String::from_utf8_lossy(&body).into_owned();
            Some(Item::Reply(reply))
        }
    }

    /// Whether the server has closed the connection (reads until EOF or
    /// `timeout`).
    pub fn is_closed(&mut self, timeout: Duration) -> bool {
        self.writer.set_read_timeout(Some(timeout)).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match self.reader.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
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

/// What ffprobe says a fixture holds: the reference the clients' decoded
/// output is checked against.
#[derive(Clone, Debug)]
pub struct Reference {
    /// File name in `fixtures/`.
    pub name: String,
    /// `video` or `audio`.
    pub kind: String,
    /// ffprobe's `codec_name`.
    pub codec: String,
    /// Decoded frames (video, compressed audio) or sample frames (PCM).
    pub count: u64,
    /// Audio channels.
    pub channels: u64,
    /// Samples in each decoded frame of compressed audio (0 otherwise).
    pub frame_samples: u64,
}

impl Reference {
    /// The decoded size: frames of video, sample frames of audio.
    pub fn samples_or_frames(&self) -> u64 {
        match self.frame_samples {
            0 => self.count,
            n => self.count * n,
        }
    }

    /// PCM audio is counted in samples, everything else in frames.
    pub fn is_pcm(&self) -> bool {
        self.codec.starts_with("pcm_")
    }
}

/// Every fixture that `mediatool probe` reads (so `serve` streams it), with
/// ffprobe's exact counts: `nb_read_frames` for video and compressed audio,
/// `duration_ts` (sample frames) for PCM.
pub fn references() -> Vec<Reference> {
    let mut out = Vec::new();
    let mut names: Vec<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "sh" && e != "md"))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = fixtures().join(&name);
        let probe = Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .args(["probe", "-q"])
            .arg(&path)
            .output()
            .unwrap();
        if !probe.status.success() {
            continue;
        }
        let ff = Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "0"])
            .args([
                "-show_entries",
                "stream=codec_type,codec_name,nb_read_frames,duration_ts,channels",
            ])
            .args(["-of", "default=noprint_wrappers=1"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&ff.stdout).into_owned();
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{key}=")))
                .unwrap_or("")
                .to_owned()
        };
        let codec = field("codec_name");
        let count = if codec.starts_with("pcm_") {
            field("duration_ts")
        } else {
            field("nb_read_frames")
        };
        let kind = field("codec_type");
        let frame_samples = if kind == "audio" && !codec.starts_with("pcm_") {
            let first = Command::new("ffprobe")
                .args([
                    "-v",
                    "error",
                    "-select_streams",
                    "0",
                    "-read_intervals",
                    "%+#4",
                ])
                .args(["-show_entries", "frame=nb_samples", "-of", "csv=p=0"])
                .arg(&path)
                .output()
                .unwrap();
            // The largest of the first frames: the first may be trimmed
            // of encoder delay (gapless MP3).
            String::from_utf8_lossy(&first.stdout)
                .lines()
                .filter_map(|l| l.trim().parse().ok())
                .max()
                .unwrap_or(0)
        } else {
            0
        };
        out.push(Reference {
            name,
            kind,
            codec,
            count: count.parse().unwrap_or(0),
            channels: field("channels").parse().unwrap_or(0),
            frame_samples,
        });
    }
    out
}

/// The decoded count in ffmpeg `-f framecrc` output: frames, or for PCM
/// sample frames (framecrc carries audio as 16-bit samples).
pub fn framecrc_count(output: &str, reference: &Reference) -> u64 {
    let lines = output
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    if reference.is_pcm() {
        let bytes: u64 = lines
            .filter_map(|l| l.split(',').nth(4))
            .map(|s| s.trim().parse::<u64>().unwrap_or(0))
            .sum();
        bytes / (2 * reference.channels.max(1))
    } else {
        lines.count() as u64
    }
}
