//! Helpers for the `serve` tests: a server process on a free port over a
//! temporary directory of fixtures (here), a minimal RTSP client speaking
//! raw requests so tests control every byte (`client`), what ffprobe
//! says each fixture holds (`reference`), certificates, TLS and HTTP
//! tunnels for the secure paths (`secure`), and a session read on a thread
//! of its own while a test does hostile things beside it (`playing`). Test crates using it declare
//! `mod common;` too.
#![allow(dead_code, unused_imports)] // each test crate uses a different subset

mod client;
pub mod gstreamer;
mod playing;
mod reference;
mod secure;
mod srtp_keys;

use crate::common::Bounded;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::fixtures;
pub use client::{digest_authorization, rtcp_packet_types, Conn, Item, Reply, Rtsp};
pub use playing::{play_interleaved, play_to_bye, Played, Playing};
pub use reference::{framecrc_count, references, Reference, Stream};
pub use secure::{
    free_port, get_head, post_head, read_http_head, write_cert, CertFiles, KeyKind, TlsConn,
    TunnelConn, Version,
};
pub use srtp_keys::{media_keys, Unprotect};

/// YAML lifting the per-client limits, for tests that make many sessions
/// or connections from one address (every test client is 127.0.0.1).
pub const NO_CLIENT_LIMITS: &str = "max_connections_per_client: 0\nmax_sessions_per_client: 0\n\
    max_sessions_per_connection: 0\nmax_setups_per_second_per_client: 0\n";

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

    /// Serves copies of the fixtures `names` with the per-client limits
    /// lifted ([`NO_CLIENT_LIMITS`]): the clients of every fixture, all at
    /// 127.0.0.1, run side by side.
    pub fn with_fixtures(names: &[String], args: &[&str]) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        for name in names {
            let dest = dir.path().join(name);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent).unwrap();
            }
            std::fs::copy(fixtures().join(name), dest).unwrap();
        }
        TestServer::start_in_with_config(dir, NO_CLIENT_LIMITS, args)
    }

    /// Serves one fixture per payload format family with multicast on
    /// (`range`), listening on all interfaces so the groups go out by the
    /// routing table's interface, where clients join them; with ffprobe's
    /// references of those fixtures.
    pub fn multicast(range: &str) -> (TestServer, Vec<Reference>) {
        let refs = one_per_family();
        let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
        let server =
            TestServer::with_fixtures(&names, &["--bind", "0.0.0.0", "--multicast", range]);
        (server, refs)
    }

    /// Serves one fixture per payload format family over RTSPS (with a
    /// certificate in the returned directory) and HTTP tunneling, with
    /// extra `args` (`--no-srtp`); with ffprobe's references of those
    /// fixtures.
    pub fn secure(extra: &[&str]) -> (TestServer, Vec<Reference>, tempfile::TempDir) {
        let refs = one_per_family();
        let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
        let certs = tempfile::tempdir().unwrap();
        let cert = write_cert(certs.path(), "server", KeyKind::EcdsaP256);
        let http = free_port().to_string();
        let mut args = cert.args();
        args.extend(["--http-port".to_owned(), http]);
        args.extend(extra.iter().map(|a| a.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        (TestServer::with_fixtures(&names, &args), refs, certs)
    }

    /// Serves `dir` as is with the YAML configuration `yaml` (written
    /// beside the directory, removed with the server) and extra `args`.
    pub fn start_in_with_config(dir: tempfile::TempDir, yaml: &str, args: &[&str]) -> TestServer {
        let config = dir.path().with_extension("yaml");
        std::fs::write(&config, yaml).unwrap();
        let config = config.to_str().unwrap().to_owned();
        let args: Vec<&str> = ["--config", config.as_str()]
            .into_iter()
            .chain(args.iter().copied())
            .collect();
        TestServer::start_in(dir, &args)
    }

    /// Serves copies of `files` (as [`start`](Self::start)) with the YAML
    /// configuration `yaml`.
    pub fn with_config(files: &[(&str, &str)], yaml: &str) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        for (name, fixture) in files {
            std::fs::copy(fixtures().join(fixture), dir.path().join(name)).unwrap();
        }
        TestServer::start_in_with_config(dir, yaml, &[])
    }

    /// Serves `dir` as is.
    pub fn start_in(dir: tempfile::TempDir, args: &[&str]) -> TestServer {
        TestServer::start_sub(dir, "", args)
    }

    /// Serves the subdirectory `sub` of `dir`, on 127.0.0.1 unless `args`
    /// say `--bind`, without HTTP tunneling unless they say `--http-port`.
    pub fn start_sub(dir: tempfile::TempDir, sub: &str, args: &[&str]) -> TestServer {
        TestServer::spawn(dir, sub, args, &[], None)
    }

    /// [`start_sub`](Self::start_sub) with environment variables `env`
    /// added to the server's.
    pub fn start_with_env(
        dir: tempfile::TempDir,
        sub: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> TestServer {
        TestServer::spawn(dir, sub, args, env, None)
    }

    /// Serves copies of `files` with the YAML configuration `yaml` in a
    /// process that may open at most `nofile` files (soft and hard limit:
    /// the server cannot raise it).
    pub fn with_fd_limit(files: &[(&str, &str)], yaml: &str, nofile: u64) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        for (name, fixture) in files {
            std::fs::copy(fixtures().join(fixture), dir.path().join(name)).unwrap();
        }
        let config = dir.path().with_extension("yaml");
        std::fs::write(&config, yaml).unwrap();
        let config = config.to_str().unwrap().to_owned();
        TestServer::spawn(dir, "", &["--config", &config], &[], Some(nofile))
    }

    fn spawn(
        dir: tempfile::TempDir,
        sub: &str,
        args: &[&str],
        env: &[(&str, &str)],
        nofile: Option<u64>,
    ) -> TestServer {
        let stderr = dir.path().with_extension("stderr.log");
        let bind: &[&str] = if args.contains(&"--bind") {
            &[]
        } else {
            &["--bind", "127.0.0.1"]
        };
        // No HTTP tunneling unless asked for: the default ports (80, 8000,
        // 8080) are shared with everything else on the machine.
        let http: &[&str] = if args.contains(&"--http-port") {
            &[]
        } else {
            &["--http-port", "0"]
        };
        // No admin listener unless asked for: its default port is shared too.
        let admin: &[&str] = if args.contains(&"--admin") {
            &[]
        } else {
            &["--admin", "off"]
        };
        let mut command = Command::new(env!("CARGO_BIN_EXE_mediatool"));
        command
            .arg("serve")
            .arg(dir.path().join(sub))
            .args(["--port", "0", "-v"])
            .args(bind)
            .args(http)
            .args(admin)
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        if let Some(nofile) = nofile {
            use std::os::unix::process::CommandExt as _;
            let limit = libc::rlimit {
                rlim_cur: nofile,
                rlim_max: nofile,
            };
            // SAFETY: setrlimit is async-signal-safe (POSIX.1-2017
            // §2.4.3), as code between fork and exec must be, and only
            // reads `limit`, copied into the closure.
            unsafe {
                command.pre_exec(move || {
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) == 0 {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let mut child = command.spawn().unwrap();
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

    /// Open file descriptors of the server process. Panics when they
    /// cannot be counted: a leak check must never pass for want of a count.
    pub fn open_fds(&self) -> usize {
        proc_entries(self.pid(), "fd")
    }

    /// Threads (Linux tasks) of the server process; panics when they
    /// cannot be counted.
    pub fn threads(&self) -> usize {
        proc_entries(self.pid(), "task")
    }

    /// CPU time (user and system) the server process has used, in clock
    /// ticks (USER_HZ, 100 a second on Linux); panics when it cannot be
    /// read.
    pub fn cpu_ticks(&self) -> u64 {
        let path = format!("/proc/{}/stat", self.pid());
        let stat =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        // utime and stime are fields 14 and 15, after the parenthesized name.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .unwrap_or_else(|| panic!("{path}: {stat}"))
            .1
            .split_whitespace()
            .collect();
        fields[11..13]
            .iter()
            .map(|f| {
                f.parse::<u64>()
                    .unwrap_or_else(|e| panic!("{path}: {f}: {e}"))
            })
            .sum()
    }

    /// Resident memory of the server process in KiB; panics when it cannot
    /// be read.
    pub fn rss_kib(&self) -> u64 {
        status_kib(self.pid(), "VmRSS")
    }

    /// Anonymous resident memory (what the process allocated, without its
    /// program's pages) in KiB; panics when it cannot be read.
    pub fn anon_kib(&self) -> u64 {
        status_kib(self.pid(), "RssAnon")
    }

    /// The server's tokio tasks once a new connection has come and gone
    /// (at `-v` the server logs how many are alive when a connection
    /// ends); panics when none is logged within 5 s.
    pub fn tasks(&self) -> usize {
        let count = |log: &str| log.matches("tasks alive").count();
        let before = count(&self.log());
        drop(self.connect());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let log = self.log();
            if count(&log) > before {
                let line = log.lines().rfind(|l| l.contains("tasks alive")).unwrap();
                return line
                    .split_whitespace()
                    .rev()
                    .nth(2)
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("no task count in {line:?}"));
            }
            assert!(Instant::now() < deadline, "no task count logged:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Fails the test with every line of `failures` and the server's log,
    /// unless there are none.
    pub fn assert_no_failures(&self, failures: &[String]) {
        assert!(
            failures.is_empty(),
            "{}\nserver log:\n{}",
            failures.join("\n"),
            self.log()
        );
    }

    /// Waits up to `limit` for the server to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.signal("TERM").0
    }

    /// Sends the signal `name` (`TERM`, `INT`) and waits (at most 10 s) for
    /// the exit status; returns it and how long the exit took.
    pub fn signal(&mut self, name: &str) -> (std::process::ExitStatus, Duration) {
        let sent = Instant::now();
        let kill = Command::new("kill")
            .args([&format!("-{name}"), &self.pid().to_string()])
            .status_bounded();
        assert!(kill.success(), "kill -{name} failed");
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, sent.elapsed());
            }
            assert!(
                sent.elapsed() < Duration::from_secs(10),
                "server did not stop on SIG{name}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

/// ffprobe's references of one fixture per payload format family.
fn one_per_family() -> Vec<Reference> {
    const FIXTURES: [&str; 5] = [
        "h264_bframes.264",
        "hevc_bframes.265",
        "audio_48k_mono.aac",
        "audio_44k_stereo.mp3",
        "wav_s16_44k_stereo.wav",
    ];
    let refs: Vec<Reference> = references()
        .into_iter()
        .filter(|r| FIXTURES.contains(&r.name.as_str()))
        .collect();
    assert_eq!(refs.len(), FIXTURES.len());
    refs
}

/// The entries of `/proc/PID/DIR` (`fd`, `task`), counted; panics when
/// the directory cannot be read (no /proc, the process gone, no permission).
pub fn proc_entries(pid: u32, dir: &str) -> usize {
    let path = format!("/proc/{pid}/{dir}");
    let entries = std::fs::read_dir(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    let mut count = 0;
    for entry in entries {
        entry.unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        count += 1;
    }
    assert!(count > 0, "{path} is empty: not a live process");
    count
}

/// The field `name` (`VmRSS`, `RssAnon`) of process `pid`'s status, in
/// KiB; panics when it cannot be read.
pub fn status_kib(pid: u32, name: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {path}"))
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = self.log();
        let _ = std::fs::remove_file(&self.stderr);
        let _ = std::fs::remove_file(self.dir.path().with_extension("yaml"));
        // Whatever the test checked, the server must never have panicked.
        if !std::thread::panicking() {
            assert!(!log.contains("panicked"), "the server panicked:\n{log}");
        }
    }
}

/// A WAV file of `seconds` of 16-bit PCM, 8 channels at 96 kHz (12 Mbit/s:
/// a stalled connection's buffers fill within seconds), a quiet ramp.
pub fn loud_wav(seconds: u32) -> Vec<u8> {
    const CHANNELS: u16 = 8;
    const RATE: u32 = 96_000;
    let block = u32::from(CHANNELS) * 2;
    let data_len = RATE * seconds * block;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&CHANNELS.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&(RATE * block).to_le_bytes());
    wav.extend_from_slice(&(block as u16).to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend((0..data_len / 2).flat_map(|i| ((i % 512) as i16).to_le_bytes()));
    wav
}

/// A client's RTP/RTCP port pair on `ip`: consecutive ports, RTP's even
/// (tried until one is free).
pub fn udp_pair_on(ip: std::net::Ipv4Addr) -> (std::net::UdpSocket, std::net::UdpSocket) {
    loop {
        let rtp = std::net::UdpSocket::bind((ip, 0)).unwrap();
        let port = rtp.local_addr().unwrap().port();
        if port.is_multiple_of(2) {
            if let Ok(rtcp) = std::net::UdpSocket::bind((ip, port + 1)) {
                return (rtp, rtcp);
            }
        }
    }
}

/// [`udp_pair_on`] 127.0.0.1.
pub fn udp_pair() -> (std::net::UdpSocket, std::net::UdpSocket) {
    udp_pair_on(std::net::Ipv4Addr::LOCALHOST)
}
