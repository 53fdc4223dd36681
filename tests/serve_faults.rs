//! `mediatool serve` when things go wrong under it: files changed while
//! they play, a UDP client that vanishes, the wall clock jumping, and
//! SIGTERM under hundreds of sessions. (A read failing mid-file is a
//! library-level test of the playback path: `server::playback`'s tests.)

mod common;
mod serve_common;

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};

use serve_common::{fixtures, rtcp_packet_types, udp_pair_on, Item, Rtsp, TestServer};

/// RTCP BYE (RFC 3550 §6.6).
const BYE: u8 = 203;

/// What one interleaved session received, with arrival times.
#[derive(Default)]
struct Received {
    /// RTP sequence numbers and arrival times.
    rtp: Vec<(u16, Instant)>,
    /// When the first RTCP BYE arrived.
    bye_at: Option<Instant>,
    /// The wall-clock seconds (NTP) of each sender report.
    report_seconds: Vec<u32>,
}

impl Received {
    /// The longest wait between two RTP packets.
    fn longest_gap(&self) -> Duration {
        self.rtp
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .max()
            .unwrap_or_default()
    }

    /// Whether sequence numbers follow each other without a gap.
    fn contiguous(&self) -> bool {
        self.rtp
            .windows(2)
            .all(|w| w[1].0 == w[0].0.wrapping_add(1))
    }
}

/// Sets up `path` interleaved on a new connection and plays it; a thread
/// then reads until the first RTCP BYE, the end of the connection or
/// `limit`.
fn play_tcp(
    server: &TestServer,
    path: &str,
    limit: Duration,
) -> (Instant, std::thread::JoinHandle<Received>) {
    let mut c = server.connect();
    let url = server.url(path);
    let setup = c.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "SETUP {path}");
    let play = c.request("PLAY", &url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200, "PLAY {path}");
    let started = Instant::now();
    let reader = std::thread::spawn(move || read_until_bye(c, started + limit));
    (started, reader)
}

fn read_until_bye(mut c: Rtsp, deadline: Instant) -> Received {
    let mut got = Received::default();
    while Instant::now() < deadline {
        match c.read_item() {
            Some(Item::Frame(0, rtp)) if rtp.len() >= 12 => {
                got.rtp
                    .push((u16::from_be_bytes([rtp[2], rtp[3]]), Instant::now()));
            }
            Some(Item::Frame(1, rtcp)) => {
                // A compound packet starts with a sender report (RFC 3550
                // §6.4.1): NTP seconds at bytes 8..12.
                if rtcp.len() >= 12 && rtcp[1] == 200 {
                    let seconds = u32::from_be_bytes([rtcp[8], rtcp[9], rtcp[10], rtcp[11]]);
                    got.report_seconds.push(seconds);
                }
                if rtcp_packet_types(&rtcp).contains(&BYE) {
                    got.bye_at = Some(Instant::now());
                    break;
                }
            }
            Some(_) => {}
            None => break,
        }
    }
    got
}

/// `times` copies of the fixture `name` one after the other: a longer
/// elementary stream (each copy starts with its parameter sets and an IDR).
fn repeated(name: &str, times: usize) -> Vec<u8> {
    std::fs::read(fixtures().join(name)).unwrap().repeat(times)
}

/// A 16-bit mono WAV file of `seconds` of a ramp at 16 kHz.
fn wav(seconds: u32) -> Vec<u8> {
    let rate = 16_000u32;
    let data: Vec<u8> = (0..rate * seconds)
        .flat_map(|i| ((i % 2000) as i16 * 8).to_le_bytes())
        .collect();
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(36 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt \x10\0\0\0\x01\0\x01\0");
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * 2).to_le_bytes());
    out.extend_from_slice(b"\x02\0\x10\0data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

fn truncate(path: &Path, fraction: f64) {
    let file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let len = file.metadata().unwrap().len();
    file.set_len((len as f64 * fraction) as u64).unwrap();
}

/// Files cut short in place, replaced by rename, or deleted while
/// sessions play them: every such session ends with RTCP BYE within a
/// bound, a session of another file plays on untouched, and the catalog
/// describes the replaced file afresh.
#[test]
fn files_truncated_replaced_or_deleted_while_playing_end_with_bye() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| std::fs::write(dir.path().join(name), bytes).unwrap();
    // 16 s of H.264 and 10 s of PCM: cut at a quarter, well ahead of what
    // a session has read 1 s in.
    write("cut.264", &repeated("h264_bframes.264", 8));
    write("cut.wav", &wav(10));
    // 4 s each: they play the content they opened to its end.
    write("replaced.264", &repeated("h264_bframes.264", 2));
    write("deleted.264", &repeated("h264_bframes.264", 2));
    write(
        "other.aac",
        &std::fs::read(fixtures().join("audio_44k_stereo.aac")).unwrap(),
    );
    let server = TestServer::start_in(dir, &[]);
    let root = server.dir.path().to_path_buf();
    let described_before = server
        .connect()
        .request("DESCRIBE", &server.url("replaced.264"), &[])
        .body;
    let limit = Duration::from_secs(12);
    let sessions: Vec<(&str, (Instant, _))> = [
        "cut.264",
        "cut.wav",
        "replaced.264",
        "deleted.264",
        "other.aac",
    ]
    .into_iter()
    .map(|name| (name, play_tcp(&server, name, limit)))
    .collect();
    std::thread::sleep(Duration::from_secs(1));
    truncate(&root.join("cut.264"), 0.25);
    truncate(&root.join("cut.wav"), 0.25);
    let new = root.join("new.264");
    std::fs::copy(fixtures().join("h264_odd_ntsc_slices.264"), &new).unwrap();
    std::fs::rename(&new, root.join("replaced.264")).unwrap();
    std::fs::remove_file(root.join("deleted.264")).unwrap();

    let mut c = server.connect();
    let described = c.request("DESCRIBE", &server.url("replaced.264"), &[]);
    assert_eq!(described.status, 200);
    assert_ne!(
        described.body, described_before,
        "the replaced file is described from its old content"
    );
    assert_eq!(
        c.request("DESCRIBE", &server.url("deleted.264"), &[])
            .status,
        404
    );

    let mut failures = Vec::new();
    for (name, (started, reader)) in sessions {
        let got = reader.join().unwrap();
        let Some(bye_at) = got.bye_at else {
            failures.push(format!(
                "{name}: no RTCP BYE within {limit:?} ({} RTP packets)",
                got.rtp.len()
            ));
            continue;
        };
        let lasted = bye_at - started;
        // The cut files end at a quarter of their length (4 s, 2.5 s),
        // the others at their whole (4 s, 3 s); BYE follows within a
        // second of the end.
        let most = match name {
            "cut.264" | "replaced.264" | "deleted.264" => 5.5,
            _ => 4.5,
        };
        if lasted.as_secs_f64() > most {
            failures.push(format!("{name}: BYE after {lasted:?}, over {most} s"));
        }
        if name == "other.aac"
            && (!got.contiguous() || got.longest_gap() > Duration::from_millis(500))
        {
            failures.push(format!(
                "other.aac was disturbed: contiguous {}, longest gap {:?}",
                got.contiguous(),
                got.longest_gap()
            ));
        }
    }
    server.assert_no_failures(&failures);
}

/// Sets up `url` over UDP to `rtp`'s port pair on `c` and plays it;
/// returns the session id.
fn play_udp(c: &mut Rtsp, url: &str, rtp: &UdpSocket) -> String {
    let port = rtp.local_addr().unwrap().port();
    let transport = format!("RTP/AVP;unicast;client_port={port}-{}", port + 1);
    let setup = c.request("SETUP", url, &[("Transport", &transport)]);
    assert_eq!(setup.status, 200, "{setup:?}");
    let id = setup.session();
    assert_eq!(c.request("PLAY", url, &[("Session", &id)]).status, 200);
    id
}

/// CPU time (user + system) the process `pid` has used.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields 14 and 15 (utime, stime), counted after the command name's
    // closing parenthesis.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / per_second)
}

/// A UDP client whose sockets close mid-stream (the kernel answers its
/// packets with ICMP port unreachable): the server stops sending to it
/// within a bound, does not spin meanwhile, and ends the session, though
/// its idle timeout (the default 65 s) is far off.
#[test]
fn a_vanished_udp_client_is_dropped_without_spinning() {
    let server = TestServer::start(&[("long.264", "h264_bframes.264")], &["--loop"]);
    let mut c = server.connect();
    let url = server.url("long.264");
    let (rtp, rtcp) = udp_pair_on(Ipv4Addr::LOCALHOST);
    let client: SocketAddr = rtp.local_addr().unwrap();
    let id = play_udp(&mut c, &url, &rtp);
    rtp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 2048];
    assert!(rtp.recv(&mut buf).unwrap() > 12, "no RTP before vanishing");
    drop((rtp, rtcp));
    let cpu_before = cpu_time(server.pid());
    let vanished = Instant::now();
    std::thread::sleep(Duration::from_secs(3));
    let cpu = cpu_time(server.pid()) - cpu_before;
    // Playing one 35 kbit/s stream costs a few milliseconds a second.
    assert!(
        cpu < Duration::from_millis(600),
        "the server used {cpu:?} of CPU in the 3 s after its client vanished"
    );
    // Listening on the same port again: nothing comes any more.
    let back = UdpSocket::bind(client).unwrap();
    back.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let after = back.recv(&mut buf);
    assert!(
        after.is_err(),
        "still sending {:?} after the client vanished",
        vanished.elapsed()
    );
    let status = c.request("GET_PARAMETER", &url, &[("Session", &id)]).status;
    assert_eq!(status, 454, "the session of a vanished client lives on");
}

/// A client whose RTP port refuses packets but who sends RTCP receiver
/// reports is alive: the port unreachable alone does not end its session.
#[test]
fn a_client_that_reports_keeps_its_session_though_its_rtp_port_refuses() {
    let server = TestServer::start(&[("long.264", "h264_bframes.264")], &["--loop"]);
    let mut c = server.connect();
    let url = server.url("long.264");
    let (rtp, rtcp) = udp_pair_on(Ipv4Addr::LOCALHOST);
    let port = rtp.local_addr().unwrap().port();
    let transport = format!("RTP/AVP;unicast;client_port={port}-{}", port + 1);
    let setup = c.request("SETUP", &url, &[("Transport", &transport)]);
    let id = setup.session();
    let server_rtcp: u16 = setup
        .header("Transport")
        .unwrap()
        .split(';')
        .find_map(|f| f.strip_prefix("server_port="))
        .and_then(|p| p.split('-').nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(c.request("PLAY", &url, &[("Session", &id)]).status, 200);
    drop(rtp);
    // A receiver report (RFC 3550 §6.4.2, no report blocks) every 0.5 s,
    // for twice the grace an unreachable client gets.
    let report = [0x80, 201, 0, 1, 0, 0, 0, 1];
    for _ in 0..8 {
        rtcp.send_to(&report, ("127.0.0.1", server_rtcp)).unwrap();
        std::thread::sleep(Duration::from_millis(500));
    }
    let status = c.request("GET_PARAMETER", &url, &[("Session", &id)]).status;
    assert_eq!(status, 200, "a client sending reports lost its session");
    assert!(
        server.log().contains("RTP port is unreachable"),
        "the refused port went unnoticed"
    );
}

/// The wall clock jumping back a day and forward again mid-stream (the
/// server runs under libfaketime with only the real-time clock faked):
/// pacing follows the monotonic clock, so the stream neither stalls nor
/// bursts, and ends on time.
#[test]
fn a_wall_clock_jump_does_not_disturb_pacing() {
    const FAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if !Path::new(FAKETIME).exists() {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v == "true"),
            "{FAKETIME} is required when CI=true (Debian package faketime)"
        );
        eprintln!("skipping: {FAKETIME} not found (Debian package faketime)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("audio_44k_stereo.aac"),
        dir.path().join("a.aac"),
    )
    .unwrap();
    let offset = dir.path().with_extension("faketime");
    std::fs::write(&offset, "+0\n").unwrap();
    let offset_path = offset.to_str().unwrap().to_owned();
    let server = TestServer::start_with_env(
        dir,
        "",
        &[],
        &[
            ("LD_PRELOAD", FAKETIME),
            ("FAKETIME_TIMESTAMP_FILE", &offset_path),
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let (started, reader) = play_tcp(&server, "a.aac", Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(&offset, "-1d\n").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    std::fs::write(&offset, "+1d\n").unwrap();
    // A session started now reads the server's wall clock a day ahead.
    let (_, later) = play_tcp(&server, "a.aac", Duration::from_secs(10));
    let got = reader.join().unwrap();
    let later = later.join().unwrap();
    let _ = std::fs::remove_file(&offset);
    let bye_at = got.bye_at.expect("no BYE: the stream stalled");
    // 3 s of audio; BYE a grace period after its end.
    let lasted = bye_at - started;
    assert!(
        lasted > Duration::from_millis(2800) && lasted < Duration::from_millis(4500),
        "the stream lasted {lasted:?}"
    );
    // Not vacuous: the second session's first sender report is stamped a
    // day (and 1.6 s) after the first one's. (Reports carry the wall clock
    // read at PLAY plus the media time sent since, so the first session's
    // own reports do not jump.)
    let (Some(first), Some(second)) = (got.report_seconds.first(), later.report_seconds.first())
    else {
        panic!("sender reports missing");
    };
    let moved = i64::from(second.wrapping_sub(*first));
    assert!(
        (86_400..86_405).contains(&moved),
        "the server's wall clock moved {moved} s, not a day: is libfaketime loaded?"
    );
    assert!(got.contiguous());
    assert!(
        got.longest_gap() < Duration::from_millis(400),
        "a {:?} pause",
        got.longest_gap()
    );
}

/// SIGTERM with 500 sessions playing over UDP, from 19 loopback addresses
/// (under any per-address limit): every client gets RTCP BYE, and the
/// process exits with status 0 within 2 s.
#[test]
fn sigterm_under_500_sessions_sends_every_bye_and_exits_in_time() {
    const SESSIONS: usize = 500;
    let mut server = TestServer::start(&[("a.mp3", "audio_22k_mono_vbr.mp3")], &["--loop"]);
    let url = server.url("a.mp3");
    let mut clients = Vec::new();
    for i in 0..SESSIONS {
        let ip = Ipv4Addr::new(127, 0, 0, 2 + (i % 19) as u8);
        let mut c = Rtsp::connect_from(server.port, ip.into());
        let (rtp, rtcp) = udp_pair_on(ip);
        play_udp(&mut c, &url, &rtp);
        rtcp.set_nonblocking(true).unwrap();
        // RTP is never read: its buffer fills and the rest is dropped.
        clients.push((c, rtp, rtcp));
    }
    let signalled = Instant::now();
    let status = server.terminate();
    let took = signalled.elapsed();
    eprintln!("{SESSIONS} sessions: exited {took:?} after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        took < Duration::from_secs(2),
        "exited {took:?} after SIGTERM"
    );
    let mut buf = [0u8; 2048];
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut without_bye = Vec::new();
    for (i, (_, _, rtcp)) in clients.iter().enumerate() {
        let mut bye = false;
        loop {
            match rtcp.recv(&mut buf) {
                Ok(n) if rtcp_packet_types(&buf[..n]).contains(&BYE) => {
                    bye = true;
                    break;
                }
                Ok(_) => {}
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Err(_) => break,
            }
        }
        if !bye {
            without_bye.push(i);
        }
    }
    assert!(
        without_bye.is_empty(),
        "{} of {SESSIONS} clients got no BYE (first: {:?})",
        without_bye.len(),
        &without_bye[..without_bye.len().min(10)]
    );
}
