//! Soak benchmark of `mediatool serve` (not a CI test): `--minutes` of
//! churn, `--sessions` client sessions alive at a time, each following a
//! random script, and the server's resources sampled every
//! `--sample-seconds`; at the end, whether anything grew.
//!
//! ```sh
//! cargo bench --bench serve_soak -- --minutes 30
//! cargo bench --bench serve_soak -- --minutes 2 --sessions 200 --sample-seconds 10 --seed 7
//! ```
//!
//! The server (this build) serves a directory of five files of different
//! formats: the 720p 1 Mbit/s H.264 stream of `serve_load` (60 s), and
//! fixtures looped without re-encoding to a minute or so (AAC in ADTS, a
//! 16-bit WAV, Matroska with H.264 and AAC, MP4 with H.264 and AAC). Its
//! per-client limits are lifted (every client is 127.0.0.1) and its
//! `reclaim` timeout is [`RECLAIM_SECONDS`], so that sessions their
//! clients abandon are reaped during the run.
//!
//! Each session: connect, DESCRIBE a random file, SETUP every track (over
//! UDP or interleaved in the RTSP connection, at random), PLAY, then for
//! 2 to 8 s random actions 0.3 to 1.5 s apart (PAUSE or PLAY, PLAY with a
//! Range seeking to a random point, GET_PARAMETER as a keep-alive), then
//! TEARDOWN (three sessions in four) or just closing the connection and
//! the UDP ports (the rest), and a new session starts in its place. The
//! scripts come from a seeded RNG (`--seed`, printed; a session's script
//! depends on the seed and its number only).
//!
//! Each sample: the server's `VmRSS` and `RssAnon` (`/proc/PID/status`),
//! open file descriptors (`/proc/PID/fd`), threads (`/proc/PID/task`),
//! the sessions and RTSP connections its `/metrics` counts, and the
//! client's counts so far: sessions started, torn down and abandoned,
//! requests sent, and requests failed (an answer other than 2xx, or no
//! answer: every request of the scripts is valid, so none is expected).
//!
//! After the load: the client waits until the server holds no session and
//! no connection (the abandoned ones reclaimed), then [`SETTLE_SECONDS`]
//! more, and takes the last sample. Verdict (no growth when all hold):
//! under load, the last sample's `VmRSS` and `RssAnon` within 10 % of the
//! sample after the first minute; after the load, the same; and the
//! settled server's file descriptors and threads equal to those it had at
//! start-up, before any client (under load they follow the connections
//! open at that instant, so only idle counts compare exactly).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

mod support;
use support::process::{self, Memory};
use support::serve::{media_dir, stream_file, udp_pair, Reply, Rtsp, NO_CLIENT_LIMITS};

/// The server's idle session timeout: abandoned sessions go within it.
const RECLAIM_SECONDS: u64 = 10;

/// How long the client waits after the server started before the first
/// sample (its start-up threads end 2 s after their work).
const START_SECONDS: u64 = 5;

/// How long the client waits, once the server holds nothing, before the
/// last sample: the server trims its memory after load and its blocking
/// threads exit after 10 s idle.
const SETTLE_SECONDS: u64 = 15;

/// The longest the server may take to drop every session and connection
/// once the load stops (the reclaim timeout, its reaper's granularity and
/// the slowest script's end, with room to spare).
const DRAIN_LIMIT: Duration = Duration::from_secs(RECLAIM_SECONDS + 60);

/// Bit rate of the H.264 stream.
const BIT_RATE: &str = "1M";

struct Options {
    minutes: f64,
    sessions: usize,
    sample_seconds: u64,
    seed: u64,
}

fn parse_options() -> Options {
    let mut options = Options {
        minutes: 30.0,
        sessions: 200,
        sample_seconds: 30,
        seed: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| panic!("{name} needs a value"))
        };
        match arg.as_str() {
            "--minutes" => options.minutes = value("--minutes").parse().expect("--minutes M"),
            "--sessions" => options.sessions = value("--sessions").parse().expect("--sessions N"),
            "--sample-seconds" => {
                options.sample_seconds = value("--sample-seconds")
                    .parse()
                    .expect("--sample-seconds S")
            }
            "--seed" => options.seed = value("--seed").parse().expect("--seed N"),
            // cargo bench passes --bench.
            _ => {}
        }
    }
    assert!(
        options.sample_seconds > 0,
        "--sample-seconds must be above 0"
    );
    assert!(options.sessions > 0, "--sessions must be above 0");
    options
}

/// The served directory, `target/bench-media/soak/`: the H.264 stream and
/// four fixtures, each looped to about a minute (sizes in MB).
fn media() -> PathBuf {
    let dir = media_dir().join("soak");
    std::fs::create_dir_all(&dir).unwrap();
    let stream = stream_file(&media_dir(), BIT_RATE);
    let served = dir.join(stream.file_name().unwrap());
    if !served.exists() {
        std::fs::hard_link(&stream, &served)
            .or_else(|_| std::fs::copy(&stream, &served).map(drop))
            .unwrap();
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for (name, mb) in [
        ("audio_44k_stereo.aac", 1),
        ("wav_s16_44k_stereo.wav", 11),
        ("mkv_h264_aac_bframes.mkv", 2),
        ("mp4_h264_aac_faststart.mp4", 1),
    ] {
        support::looped(&fixtures.join(name), dir.join(name), mb);
    }
    dir
}

/// The running server; killed when dropped.
struct Server {
    child: Child,
    /// `rtsp://127.0.0.1:PORT/`.
    base: String,
    /// The admin listener's address (for `/metrics`).
    admin: SocketAddr,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path) -> Server {
    let config = dir.with_extension("serve.yaml");
    std::fs::write(
        &config,
        format!("{NO_CLIENT_LIMITS}reclaim: {RECLAIM_SECONDS}\n"),
    )
    .unwrap();
    let log = dir.with_extension("serve.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .args([
            "serve",
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--http-port",
            "0",
        ])
        .args(["--admin", "127.0.0.1:0", "--config"])
        .arg(&config)
        .arg(dir)
        // Warnings and errors only, kept for reading after the run.
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("mediatool serve");
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let base = line.trim().to_owned();
    assert!(
        base.starts_with("rtsp://"),
        "server did not start: {line:?}"
    );
    let mut admin = String::new();
    while !admin.trim_end().ends_with("/metrics") {
        admin.clear();
        assert!(stdout.read_line(&mut admin).unwrap() > 0, "no admin line");
    }
    let admin = admin.trim()["http://".len()..]
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    // Keep reading (the file list follows) so the pipe stays open.
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Server {
        child,
        base,
        admin,
        log,
    }
}

/// The client's counts, shared by every session.
#[derive(Default)]
struct Counts {
    started: AtomicU64,
    torn_down: AtomicU64,
    abandoned: AtomicU64,
    requests: AtomicU64,
    failed: AtomicU64,
    /// Failures by kind (`PLAY 454`, `SETUP: connection closed`), for the
    /// end of the run.
    kinds: Mutex<BTreeMap<String, u64>>,
}

impl Counts {
    fn fail(&self, kind: String) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        *self.kinds.lock().unwrap().entry(kind).or_default() += 1;
    }
}

/// What a DESCRIBE tells a session: the aggregate URL, each track's URL,
/// and the file's duration in seconds.
struct Description {
    aggregate: String,
    tracks: Vec<String>,
    duration: f64,
}

fn description(url: &str, content_base: Option<&str>, sdp: &str) -> Result<Description, String> {
    let base = content_base.map_or(format!("{url}/"), str::to_owned);
    let aggregate = base.trim_end_matches('/').to_owned();
    let mut tracks = Vec::new();
    let mut in_media = false;
    for line in sdp.lines() {
        if line.starts_with("m=") {
            in_media = true;
        } else if let Some(control) = line.strip_prefix("a=control:").filter(|_| in_media) {
            tracks.push(match control.starts_with("rtsp") {
                true => control.to_owned(),
                false => format!("{aggregate}/{control}"),
            });
        }
    }
    let duration = sdp
        .lines()
        .find_map(|l| l.strip_prefix("a=range:npt=0-"))
        .and_then(|d| d.trim().parse().ok())
        .ok_or("no a=range:npt=0-END in the SDP")?;
    if tracks.is_empty() {
        return Err("no track in the SDP".into());
    }
    Ok(Description {
        aggregate,
        tracks,
        duration,
    })
}

/// A session's media: its UDP ports drained on tasks of their own (the
/// ports close when the tasks are aborted), or nothing (interleaved).
struct Media {
    drains: Vec<JoinHandle<()>>,
}

impl Drop for Media {
    fn drop(&mut self) {
        for drain in &self.drains {
            drain.abort();
        }
    }
}

/// Sends a request; an answer other than 2xx, or none, counts as failed.
async fn request(
    rtsp: &mut Rtsp,
    counts: &Counts,
    method: &str,
    url: &str,
    extra: &str,
) -> Result<Reply, ()> {
    counts.requests.fetch_add(1, Ordering::Relaxed);
    match rtsp.request(method, url, extra).await {
        Ok(reply) if (200..300).contains(&reply.status) => Ok(reply),
        Ok(reply) => {
            counts.fail(format!("{method} {}", reply.status));
            Err(())
        }
        Err(e) => {
            counts.fail(format!("{method}: {e}"));
            Err(())
        }
    }
}

/// Reads the connection until `until`, dropping interleaved frames (a
/// client that stops reading would be disconnected as stalled).
async fn read_interleaved(rtsp: &mut Rtsp, until: tokio::time::Instant) -> Result<(), String> {
    let mut chunk = vec![0u8; 65536];
    loop {
        while rtsp.buf.len() >= 4 && rtsp.buf[0] == b'$' {
            let len = 4 + usize::from(u16::from_be_bytes([rtsp.buf[2], rtsp.buf[3]]));
            if rtsp.buf.len() < len {
                break;
            }
            rtsp.buf.drain(..len);
        }
        tokio::select! {
            () = tokio::time::sleep_until(until) => return Ok(()),
            r = rtsp.stream.read(&mut chunk) => match r {
                Ok(0) => return Err("connection closed".into()),
                Ok(n) => rtsp.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(e.to_string()),
            },
        }
    }
}

/// One session's script, from `rng`.
async fn session(base: &str, files: &[String], rng: &mut fastrand::Rng, counts: &Counts) {
    let url = format!("{base}{}", files[rng.usize(..files.len())]);
    let udp = rng.bool();
    let life = Duration::from_millis(rng.u64(2000..=8000));
    let abandon = rng.u8(..4) == 0;
    counts.started.fetch_add(1, Ordering::Relaxed);
    let addr: SocketAddr = base["rtsp://".len()..]
        .trim_end_matches('/')
        .parse()
        .unwrap();
    let stream = match TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) => return counts.fail(format!("connect: {e}")),
    };
    let _ = stream.set_nodelay(true);
    let mut rtsp = Rtsp::new(Box::new(stream));
    let Ok(reply) = request(
        &mut rtsp,
        counts,
        "DESCRIBE",
        &url,
        "Accept: application/sdp\r\n",
    )
    .await
    else {
        return;
    };
    let described = match description(&url, reply.header("Content-Base"), &reply.body) {
        Ok(d) => d,
        Err(e) => return counts.fail(format!("DESCRIBE of {url}: {e}")),
    };
    let mut media = Media { drains: Vec::new() };
    for (i, track) in described.tracks.iter().enumerate() {
        let spec = if udp {
            let (rtp, rtcp) = match udp_pair().await {
                Ok(pair) => pair,
                Err(e) => return counts.fail(format!("client UDP ports: {e}")),
            };
            let port = rtp.local_addr().unwrap().port();
            for socket in [rtp, rtcp] {
                media.drains.push(tokio::spawn(async move {
                    let mut buf = vec![0u8; 2048];
                    while socket.recv(&mut buf).await.is_ok() {}
                }));
            }
            format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
        } else {
            format!("RTP/AVP/TCP;unicast;interleaved={}-{}", 2 * i, 2 * i + 1)
        };
        let Ok(reply) = request(
            &mut rtsp,
            counts,
            "SETUP",
            track,
            &format!("Transport: {spec}\r\n"),
        )
        .await
        else {
            return;
        };
        if rtsp.session.is_none() {
            rtsp.session = reply
                .header("Session")
                .map(|s| s.split(';').next().unwrap_or("").trim().to_owned());
        }
    }
    let aggregate = described.aggregate.clone();
    if request(
        &mut rtsp,
        counts,
        "PLAY",
        &aggregate,
        "Range: npt=0.000-\r\n",
    )
    .await
    .is_err()
    {
        return;
    }
    let mut playing = true;
    let end = tokio::time::Instant::now() + life;
    loop {
        let next = tokio::time::Instant::now() + Duration::from_millis(rng.u64(300..=1500));
        let pause = next.min(end);
        let idle = match udp {
            true => {
                tokio::time::sleep_until(pause).await;
                Ok(())
            }
            false => read_interleaved(&mut rtsp, pause).await,
        };
        if let Err(e) = idle {
            return counts.fail(format!("reading media: {e}"));
        }
        if pause >= end {
            break;
        }
        let done = match rng.u8(..3) {
            0 if playing => {
                playing = false;
                request(&mut rtsp, counts, "PAUSE", &aggregate, "").await
            }
            0 => {
                playing = true;
                request(&mut rtsp, counts, "PLAY", &aggregate, "").await
            }
            1 => {
                // Anywhere in the file but its last second.
                let to = rng.f64() * (described.duration - 1.0).max(0.0);
                playing = true;
                let range = format!("Range: npt={to:.3}-\r\n");
                request(&mut rtsp, counts, "PLAY", &aggregate, &range).await
            }
            _ => request(&mut rtsp, counts, "GET_PARAMETER", &aggregate, "").await,
        };
        if done.is_err() {
            return;
        }
    }
    if abandon {
        // The connection and the UDP ports close as they drop: the server
        // ends interleaved sessions with their connection and reclaims the
        // others.
        counts.abandoned.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if request(&mut rtsp, counts, "TEARDOWN", &aggregate, "")
        .await
        .is_ok()
    {
        counts.torn_down.fetch_add(1, Ordering::Relaxed);
    }
    drop(media);
    let _ = rtsp.stream.shutdown().await;
}

/// The sessions and RTSP connections the server's `/metrics` counts.
async fn server_counts(admin: SocketAddr) -> (u64, u64) {
    let mut stream = TcpStream::connect(admin).await.expect("admin listener");
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).await.unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "/metrics: {text:.80}");
    let sum = |name: &str| -> u64 {
        let lines: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with(name))
            .map(|l| {
                l.rsplit(' ')
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| panic!("/metrics: {l}"))
            })
            .collect();
        assert!(!lines.is_empty(), "no {name} in /metrics");
        lines.iter().sum()
    };
    (sum("mediatool_sessions{"), sum("mediatool_connections{"))
}

/// One sample of the server.
#[derive(Clone, Copy)]
struct Sample {
    seconds: u64,
    memory: Memory,
    fds: usize,
    threads: usize,
    sessions: u64,
    connections: u64,
    started: u64,
    torn_down: u64,
    abandoned: u64,
    requests: u64,
    failed: u64,
}

async fn sample(server: &Server, seconds: u64, counts: &Counts) -> Sample {
    let pid = server.child.id();
    // /proc first: the scrape's own connection is not counted.
    let (memory, fds, threads) = (
        process::memory(pid),
        process::open_fds(pid),
        process::threads(pid),
    );
    let (sessions, connections) = server_counts(server.admin).await;
    let count = |c: &AtomicU64| c.load(Ordering::Relaxed);
    Sample {
        seconds,
        memory,
        fds,
        threads,
        sessions,
        connections,
        started: count(&counts.started),
        torn_down: count(&counts.torn_down),
        abandoned: count(&counts.abandoned),
        requests: count(&counts.requests),
        failed: count(&counts.failed),
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn print_header() {
    println!(
        "| time | VmRSS MiB | RssAnon MiB | fds | threads | server sessions | server connections | started | torn down | abandoned | requests | failed |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
}

fn print_row(label: &str, s: &Sample) {
    println!(
        "| {label} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        mib(s.memory.rss),
        mib(s.memory.anon),
        s.fds,
        s.threads,
        s.sessions,
        s.connections,
        s.started,
        s.torn_down,
        s.abandoned,
        s.requests,
        s.failed
    );
}

fn clock(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Whether `last` is within 10 % of `reference`, and the ratio in percent.
fn within_10_percent(last: u64, reference: u64) -> (bool, f64) {
    assert!(reference > 0, "a reference of 0 KiB measures nothing");
    (
        last * 10 <= reference * 11,
        last as f64 * 100.0 / reference as f64,
    )
}

async fn soak(options: &Options, dir: &Path) {
    let server = start_server(dir);
    let files: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    };
    let counts = Arc::new(Counts::default());
    // The threads that read the directory at start-up end first.
    tokio::time::sleep(Duration::from_secs(START_SECONDS)).await;
    let pid = server.child.id();
    let start = Instant::now();
    let idle_start = sample(&server, 0, &counts).await;
    let open_at_start = (process::fd_targets(pid), process::thread_names(pid));
    println!(
        "seed {}; {} sessions at a time for {} min over {} files ({}), reclaim {RECLAIM_SECONDS} s; a sample every {} s",
        options.seed,
        options.sessions,
        options.minutes,
        files.len(),
        files.join(", "),
        options.sample_seconds
    );
    print_header();
    print_row("start, idle", &idle_start);
    let load_for = Duration::from_secs_f64(options.minutes * 60.0);
    let stop = Arc::new(AtomicBool::new(false));
    let numbers = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..options.sessions)
        .map(|i| {
            let (stop, numbers, counts) =
                (Arc::clone(&stop), Arc::clone(&numbers), Arc::clone(&counts));
            let (base, files, seed) = (server.base.clone(), files.clone(), options.seed);
            tokio::spawn(async move {
                // Arrivals spread over the first 2 s.
                tokio::time::sleep(Duration::from_millis(10 * i as u64)).await;
                while !stop.load(Ordering::Relaxed) {
                    let n = numbers.fetch_add(1, Ordering::Relaxed);
                    let mut rng =
                        fastrand::Rng::with_seed(seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15));
                    session(&base, &files, &mut rng, &counts).await;
                }
            })
        })
        .collect();
    let mut loaded = Vec::new();
    let every = Duration::from_secs(options.sample_seconds);
    let mut at = every;
    while at <= load_for {
        tokio::time::sleep_until(tokio::time::Instant::from_std(start + at)).await;
        let s = sample(&server, at.as_secs(), &counts).await;
        print_row(&clock(s.seconds), &s);
        loaded.push(s);
        at += every;
    }
    tokio::time::sleep_until(tokio::time::Instant::from_std(start + load_for)).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let load_ended = Instant::now();
    // Every session gone: those abandoned reclaimed.
    let drained = loop {
        let (sessions, connections) = server_counts(server.admin).await;
        if sessions == 0 && connections == 0 {
            break Some(load_ended.elapsed());
        }
        if load_ended.elapsed() > DRAIN_LIMIT {
            println!(
                "the server still holds {sessions} sessions and {connections} connections {} s after the load",
                load_ended.elapsed().as_secs()
            );
            break None;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    tokio::time::sleep(Duration::from_secs(SETTLE_SECONDS)).await;
    let idle_end = sample(&server, start.elapsed().as_secs(), &counts).await;
    print_row(&format!("{}, idle", clock(idle_end.seconds)), &idle_end);
    let open_at_end = (process::fd_targets(pid), process::thread_names(pid));
    verdict(options, &idle_start, &loaded, &idle_end, drained, &counts);
    if idle_end.fds != idle_start.fds || idle_end.threads != idle_start.threads {
        print_difference("file descriptor", &open_at_start.0, &open_at_end.0);
        println!(
            "threads at start-up: {:?}; after the load: {:?}",
            open_at_start.1, open_at_end.1
        );
    }
    report_log(&server.log);
}

fn verdict(
    options: &Options,
    idle_start: &Sample,
    loaded: &[Sample],
    idle_end: &Sample,
    drained: Option<Duration>,
    counts: &Counts,
) {
    let first_minute = loaded
        .iter()
        .find(|s| s.seconds >= 60)
        .expect("--minutes 1 or more, for a sample after the first minute");
    let last = loaded.last().unwrap();
    println!();
    match drained {
        Some(after) => println!(
            "load ended; the server held no session and no connection {:.1} s later; last sample {SETTLE_SECONDS} s after that",
            after.as_secs_f64()
        ),
        None => println!("load ended; the server did not let go of every session"),
    }
    println!("| sample | time | VmRSS MiB | RssAnon MiB | fds | threads |");
    println!("|---|---|---|---|---|---|");
    for (name, s) in [
        ("start-up, idle", idle_start),
        ("after the first minute", first_minute),
        ("last under load", last),
        ("after the load, idle", idle_end),
    ] {
        println!(
            "| {name} | {} | {:.1} | {:.1} | {} | {} |",
            clock(s.seconds),
            mib(s.memory.rss),
            mib(s.memory.anon),
            s.fds,
            s.threads
        );
    }
    let mut grew = Vec::new();
    let mut check = |what: &str, ok: bool, figure: String| {
        println!("{} {what}: {figure}", if ok { "ok  " } else { "GREW" });
        if !ok {
            grew.push(what.to_owned());
        }
    };
    check(
        "sessions after the load",
        drained.is_some(),
        format!(
            "none left within {} s of the load's end",
            DRAIN_LIMIT.as_secs()
        ),
    );
    for (label, s) in [("under load", last), ("after the load", idle_end)] {
        let (ok, pct) = within_10_percent(s.memory.rss, first_minute.memory.rss);
        check(
            &format!("VmRSS {label}"),
            ok,
            format!("{pct:.0} % of the first minute's (at most 110 %)"),
        );
        let (ok, pct) = within_10_percent(s.memory.anon, first_minute.memory.anon);
        check(
            &format!("RssAnon {label}"),
            ok,
            format!("{pct:.0} % of the first minute's (at most 110 %)"),
        );
    }
    check(
        "fds after the load",
        idle_end.fds == idle_start.fds,
        format!("{} against {} at start-up", idle_end.fds, idle_start.fds),
    );
    check(
        "threads after the load",
        idle_end.threads == idle_start.threads,
        format!(
            "{} against {} at start-up",
            idle_end.threads, idle_start.threads
        ),
    );
    println!(
        "RssAnon after the load: {:.0} % of start-up's ({:.1} MiB against {:.1} MiB; the issue's target is 110 %)",
        idle_end.memory.anon as f64 * 100.0 / idle_start.memory.anon as f64,
        mib(idle_end.memory.anon),
        mib(idle_start.memory.anon)
    );
    let kinds = counts.kinds.lock().unwrap();
    for (kind, n) in kinds.iter() {
        println!("failed: {n} x {kind}");
    }
    println!(
        "verdict ({} min, {} sessions at a time, seed {}): {}",
        options.minutes,
        options.sessions,
        options.seed,
        if grew.is_empty() {
            "nothing grew".to_owned()
        } else {
            format!("GREW: {}", grew.join(", "))
        }
    );
}

/// What `after` holds that `before` does not (`+`) and the reverse (`-`).
fn print_difference(what: &str, before: &[(u32, String)], after: &[(u32, String)]) {
    for item in after.iter().filter(|i| !before.contains(i)) {
        println!("+ {what} after the load: {item:?}");
    }
    for item in before.iter().filter(|i| !after.contains(i)) {
        println!("- {what} at start-up only: {item:?}");
    }
}

/// How many warning and error lines the server logged, and the first few.
fn report_log(log: &Path) {
    let text = std::fs::read_to_string(log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    println!("server log ({}): {} lines", log.display(), lines.len());
    for line in lines.iter().take(5) {
        println!("  {line}");
    }
}

fn main() {
    let options = parse_options();
    println!("seed {}", options.seed);
    let dir = media();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(soak(&options, &dir));
}
