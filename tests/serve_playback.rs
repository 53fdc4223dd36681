//! `mediatool serve` media delivery seen packet by packet: RTP-Info, pacing,
//! seeking, PAUSE/PLAY, loops, RTCP, PLAY after the end, and what sessions
//! cost (memory, file descriptors).

mod common;
mod serve_common;

use std::time::{Duration, Instant};

use serve_common::{rtcp_packet_types, udp_pair, Item, Rtsp, TestServer};

const VIDEO: (&str, &str) = ("v.h264", "h264_baseline.h264");
const AUDIO: (&str, &str) = ("a.aac", "audio_48k_mono.aac");

/// One received RTP packet.
#[derive(Clone, Copy, Debug)]
struct Rtp {
    seq: u16,
    ts: u32,
    /// When it arrived.
    at: Instant,
}

/// Everything a TCP session delivered until BYE (or a response).
#[derive(Default)]
struct Capture {
    rtp: Vec<Rtp>,
    sender_reports: Vec<Instant>,
    bye: bool,
    /// When the first BYE arrived.
    bye_at: Option<Instant>,
}

/// Reads interleaved frames (RTP on channel 0, RTCP on 1) until a BYE or
/// until `stop` says so; returns the response that interrupted, if any.
fn capture(
    c: &mut Rtsp,
    into: &mut Capture,
    stop: impl Fn(&Capture) -> bool,
) -> Option<serve_common::Reply> {
    while !into.bye && !stop(into) {
        match c.read_item().expect("connection open") {
            Item::Frame(0, p) => into.rtp.push(Rtp {
                seq: u16::from_be_bytes([p[2], p[3]]),
                ts: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
                at: Instant::now(),
            }),
            Item::Frame(1, p) => {
                let types = rtcp_packet_types(&p);
                if types.first() == Some(&200) {
                    into.sender_reports.push(Instant::now());
                }
                if types.contains(&203) {
                    into.bye = true;
                    into.bye_at.get_or_insert_with(Instant::now);
                }
            }
            Item::Frame(channel, _) => panic!("frame on unexpected channel {channel}"),
            Item::Reply(reply) => return Some(reply),
        }
    }
    None
}

fn rtp_info(reply: &serve_common::Reply) -> (u16, u32) {
    let info = reply.header("RTP-Info").expect("RTP-Info");
    let field = |name: &str| {
        info.split(';')
            .find_map(|f| f.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("{name} in {info}"))
            .to_owned()
    };
    (
        field("seq=").parse().unwrap(),
        field("rtptime=").parse().unwrap(),
    )
}

fn setup_tcp(server: &TestServer, c: &mut Rtsp, path: &str) -> String {
    let setup = c.request(
        "SETUP",
        &format!("{}/track0", server.url(path)),
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    setup.session()
}

fn assert_contiguous(packets: &[Rtp]) {
    for pair in packets.windows(2) {
        assert_eq!(
            pair[1].seq,
            pair[0].seq.wrapping_add(1),
            "sequence gap: {pair:?}"
        );
    }
}

#[test]
fn rtp_info_pacing_rtcp_and_play_after_the_end() {
    let server = TestServer::start(&[VIDEO], &[]);
    let mut c = server.connect();
    let id = setup_tcp(&server, &mut c, VIDEO.0);
    let url = server.url(VIDEO.0);
    let play = c.request("PLAY", &url, &[("Session", &id)]);
    assert_eq!(play.status, 200);
    assert_eq!(play.header("Range"), Some("npt=0.000-"));
    let (seq, rtptime) = rtp_info(&play);
    let started = Instant::now();
    let mut got = Capture::default();
    capture(&mut c, &mut got, |_| false);
    assert!(got.bye, "no RTCP BYE at the end");
    let first = got.rtp[0];
    assert_eq!(
        (first.seq, first.ts),
        (seq, rtptime),
        "RTP-Info is not the first packet"
    );
    assert_contiguous(&got.rtp);
    assert!(!got.sender_reports.is_empty(), "no RTCP sender report");
    // Real time: 50 frames at 25 fps arrive over 2 s, each near its
    // timestamp (no burst, no drift; the margin allows for a loaded CI
    // machine running a debug build); the file has no B-frames.
    let elapsed = started.elapsed();
    assert!(
        elapsed > Duration::from_millis(1900),
        "{elapsed:?}: a burst"
    );
    for p in &got.rtp {
        let media = Duration::from_secs_f64(f64::from(p.ts.wrapping_sub(rtptime)) / 90000.0);
        let arrival = p.at.duration_since(first.at);
        let skew = arrival.abs_diff(media);
        assert!(
            skew < Duration::from_millis(50),
            "packet {p:?} off by {skew:?}"
        );
    }

    // PLAY after the end starts over, numbering on.
    let again = c.request("PLAY", &url, &[("Session", &id)]);
    assert_eq!(again.status, 200);
    assert_eq!(again.header("Range"), Some("npt=0.000-"));
    let (seq2, _) = rtp_info(&again);
    let last = got.rtp.last().unwrap().seq;
    assert_eq!(
        seq2,
        last.wrapping_add(1),
        "sequence numbers restart after the end"
    );
    let mut more = Capture::default();
    capture(&mut c, &mut more, |c| c.rtp.len() >= 20);
    assert_eq!(more.rtp[0].seq, seq2);
    assert_eq!(c.request("TEARDOWN", &url, &[("Session", &id)]).status, 200);
}

#[test]
fn range_seeks_to_the_key_frame_before() {
    let server = TestServer::start(&[VIDEO], &[]);
    let mut c = server.connect();
    let id = setup_tcp(&server, &mut c, VIDEO.0);
    let url = server.url(VIDEO.0);
    // Key frames every 25 frames (1 s): 1.5 s starts at 1.0 s.
    let play = c.request("PLAY", &url, &[("Session", &id), ("Range", "npt=1.5-")]);
    assert_eq!(play.status, 200);
    assert_eq!(play.header("Range"), Some("npt=1.000-"));
    let (seq, rtptime) = rtp_info(&play);
    let mut got = Capture::default();
    capture(&mut c, &mut got, |_| false);
    assert_eq!((got.rtp[0].seq, got.rtp[0].ts), (seq, rtptime));
    let frames: std::collections::BTreeSet<u32> = got.rtp.iter().map(|p| p.ts).collect();
    assert_eq!(frames.len(), 25, "frames from 1.0 s to the end");
    // A seek back while playing, with an end: npt=0-0.5 is 13 frames (the
    // last starting before 0.5 s... 0.48 s).
    let play = c.request("PLAY", &url, &[("Session", &id), ("Range", "npt=0-0.5")]);
    assert_eq!(play.header("Range"), Some("npt=0.000-0.500"));
    let mut part = Capture::default();
    capture(&mut c, &mut part, |_| false);
    let frames: std::collections::BTreeSet<u32> = part.rtp.iter().map(|p| p.ts).collect();
    assert_eq!(frames.len(), 13);
    assert_eq!(part.rtp[0].seq, got.rtp.last().unwrap().seq.wrapping_add(1));
    // The BYE comes a grace period after the range's presentation ends
    // (0.5 s), not with the last frame (0.48 s). Arrivals are put on the media clock by the
    // most punctual packet (packets and the BYE can only be late).
    let media = |p: &Rtp| f64::from(p.ts.wrapping_sub(part.rtp[0].ts)) / 90_000.0;
    let first = part.rtp[0].at;
    let offset = part
        .rtp
        .iter()
        .map(|p| p.at.duration_since(first).as_secs_f64() - media(p))
        .fold(f64::INFINITY, f64::min);
    let bye = part
        .bye_at
        .expect("BYE")
        .duration_since(first)
        .as_secs_f64()
        - offset;
    let due = 0.5 + mediatool::stream::BYE_GRACE.as_secs_f64();
    assert!(
        bye >= due - 0.01,
        "BYE at {bye:.3} s of media, before the range's end and its grace ({due:.3} s)"
    );
}

#[test]
fn pause_keeps_the_position_and_play_resumes() {
    let server = TestServer::start(&[VIDEO], &[]);
    // The uninterrupted stream, as reference.
    let mut reference = server.connect();
    let id = setup_tcp(&server, &mut reference, VIDEO.0);
    let url = server.url(VIDEO.0);
    reference.request("PLAY", &url, &[("Session", &id)]);
    let mut full = Capture::default();
    capture(&mut reference, &mut full, |_| false);

    let mut c = server.connect();
    let id = setup_tcp(&server, &mut c, VIDEO.0);
    c.request("PLAY", &url, &[("Session", &id)]);
    let mut got = Capture::default();
    capture(&mut c, &mut got, |c| c.rtp.len() >= 60);
    c.send_request("PAUSE", &url, &[("Session", &id)]);
    let paused = capture(&mut c, &mut got, |_| false).expect("PAUSE response");
    assert_eq!(paused.status, 200);
    // Nothing arrives while paused.
    let before = got.rtp.len();
    c.send_request("GET_PARAMETER", &url, &[("Session", &id)]);
    std::thread::sleep(Duration::from_millis(700));
    let keepalive = capture(&mut c, &mut got, |_| false).expect("GET_PARAMETER response");
    assert_eq!(keepalive.status, 200);
    assert_eq!(got.rtp.len(), before, "packets sent while paused");
    let resume = c.request("PLAY", &url, &[("Session", &id)]);
    assert_eq!(resume.status, 200);
    let (seq, _) = rtp_info(&resume);
    assert_eq!(seq, got.rtp.last().unwrap().seq.wrapping_add(1));
    let npt: f64 = resume.header("Range").unwrap()["npt=".len()..]
        .trim_end_matches('-')
        .parse()
        .unwrap();
    assert!((0.3..1.8).contains(&npt), "resumed at {npt}");
    capture(&mut c, &mut got, |_| false);
    assert_contiguous(&got.rtp);
    assert_eq!(
        got.rtp.len(),
        full.rtp.len(),
        "packets lost or repeated across PAUSE"
    );
    // Timestamps go on from the pause: the same spacing as the full run.
    let spacing = |cap: &Capture| -> Vec<u32> {
        cap.rtp
            .windows(2)
            .map(|w| w[1].ts.wrapping_sub(w[0].ts))
            .collect()
    };
    assert_eq!(spacing(&got), spacing(&full));
}

#[test]
fn loop_mode_is_seamless_with_sender_reports() {
    let server = TestServer::start(&[AUDIO], &["--loop"]);
    let mut c = server.connect();
    let id = setup_tcp(&server, &mut c, AUDIO.0);
    let url = server.url(AUDIO.0);
    c.request("PLAY", &url, &[("Session", &id)]);
    let started = Instant::now();
    let mut got = Capture::default();
    // 3.03 s a loop: 6 s is the second time round, past two report intervals.
    capture(&mut c, &mut got, |_| {
        started.elapsed() > Duration::from_millis(6000)
    });
    assert!(!got.bye, "BYE in loop mode");
    assert_contiguous(&got.rtp);
    // AAC frames of 1024 samples, one per packet, across the loop.
    for pair in got.rtp.windows(2) {
        assert_eq!(pair[1].ts.wrapping_sub(pair[0].ts), 1024, "{pair:?}");
    }
    assert!(
        got.rtp.len() > 142 + 100,
        "{} packets in 6 s",
        got.rtp.len()
    );
    assert!(
        got.sender_reports.len() >= 2,
        "{} sender reports in 6 s",
        got.sender_reports.len()
    );
    assert_eq!(c.request("TEARDOWN", &url, &[("Session", &id)]).status, 200);
}

#[test]
fn udp_delivery_and_rtcp_keepalive() {
    let server = TestServer::start(&[AUDIO], &["--reclaim", "2", "--loop"]);
    let (rtp, rtcp) = udp_pair();
    let port = rtp.local_addr().unwrap().port();
    let mut c = server.connect();
    let url = server.url(AUDIO.0);
    let setup = c.request(
        "SETUP",
        &url,
        &[(
            "Transport",
            &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
        )],
    );
    let id = setup.session();
    let transport = setup.header("Transport").unwrap().to_owned();
    let server_rtcp: u16 = transport
        .split(';')
        .find_map(|f| f.strip_prefix("server_port="))
        .and_then(|p| p.split('-').nth(1))
        .unwrap()
        .parse()
        .unwrap();
    let play = c.request("PLAY", &url, &[("Session", &id)]);
    let (seq, rtptime) = rtp_info(&play);
    rtp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = [0u8; 2048];
    let n = rtp.recv(&mut buf).unwrap();
    assert!(n > 12);
    let first = (
        u16::from_be_bytes([buf[2], buf[3]]),
        u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
    );
    assert_eq!(first, (seq, rtptime));
    // Only RTCP receiver reports for 4 s (twice --reclaim): the session lives.
    let report = [0x80, 201, 0, 1, 0, 0, 0, 1];
    rtp.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4) {
        rtcp.send_to(&report, ("127.0.0.1", server_rtcp)).unwrap();
        let sent = Instant::now();
        while sent.elapsed() < Duration::from_millis(500) {
            let _ = rtp.recv(&mut buf);
        }
    }
    let alive = c.request("GET_PARAMETER", &url, &[("Session", &id)]);
    assert_eq!(alive.status, 200, "RTCP did not keep the session alive");
    // Silence: it times out, and stops sending.
    std::thread::sleep(Duration::from_millis(3200));
    let gone = c.request("GET_PARAMETER", &url, &[("Session", &id)]);
    assert_eq!(gone.status, 454);
    while rtp.recv(&mut buf).is_ok() {}
    rtp.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert!(
        rtp.recv(&mut buf).is_err(),
        "packets after the session ended"
    );
}

/// What the docs claim of an idle session: about 1.2 KiB of memory
/// (measured 1,216-1,228 bytes a session over 1,000), and no file
/// descriptor, thread or task.
#[test]
fn idle_sessions_are_cheap_and_played_sessions_leave_nothing_behind() {
    let server = TestServer::with_config(&[VIDEO, AUDIO], serve_common::NO_CLIENT_LIMITS);
    let url = server.url(AUDIO.0);
    let mut c = server.connect();
    // Warm up (catalog, runtime, blocking pool).
    for _ in 0..20 {
        let s = c.request(
            "SETUP",
            &url,
            &[("Transport", "RTP/AVP;unicast;client_port=9000-9001")],
        );
        c.request("TEARDOWN", &url, &[("Session", &s.session())]);
    }
    let tasks = server.tasks();
    let threads = server.threads();
    let fds = server.open_fds();
    let before = server.rss_kib();
    const IDLE: u64 = 1000;
    let mut ids = Vec::new();
    for i in 0..IDLE {
        let port = 10000 + 2 * i;
        let s = c.request(
            "SETUP",
            &url,
            &[(
                "Transport",
                &format!("RTP/AVP;unicast;client_port={port}-{}", port + 1),
            )],
        );
        assert_eq!(s.status, 200);
        ids.push(s.session());
    }
    let per_session = (server.rss_kib() - before) * 1024 / IDLE;
    eprintln!("{per_session} bytes of RSS per idle session");
    assert!(
        per_session < 2048,
        "{per_session} bytes per idle session (the docs say about 1.7 KiB)"
    );
    assert_eq!(
        server.open_fds(),
        fds,
        "idle sessions hold file descriptors"
    );
    // Each request resolves its path on the blocking pool, which may add a
    // thread for a while under load (serve keeps idle ones 2 s): once they
    // have gone, idle sessions hold none.
    std::thread::sleep(Duration::from_millis(2500));
    assert!(server.threads() <= threads, "idle sessions hold threads");
    assert_eq!(server.tasks(), tasks, "idle sessions hold tasks");
    for id in &ids {
        c.request("TEARDOWN", &url, &[("Session", id)]);
    }

    // Sessions that played (and one cut off mid-stream) free everything.
    let mut clients: Vec<(Rtsp, String)> = (0..10)
        .map(|i| {
            let mut c = server.connect();
            let path = if i % 2 == 0 { VIDEO.0 } else { AUDIO.0 };
            let id = setup_tcp(&server, &mut c, path);
            let play = c.request("PLAY", &server.url(path), &[("Session", &id)]);
            assert_eq!(play.status, 200);
            (c, id)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    assert!(server.open_fds() > fds);
    let (mut cut, _) = clients.pop().unwrap();
    cut.send(b"");
    drop(cut);
    for (mut c, id) in clients {
        c.request("TEARDOWN", &server.url(VIDEO.0), &[("Session", &id)]);
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.open_fds(), fds, "file descriptors leaked");
}

/// A client taking interleaved packets is alive: its session plays to the
/// end although `--reclaim` is shorter than the file and the client sends
/// no RTCP and no keep-alive request (ffmpeg over TCP sends none).
#[test]
fn an_interleaved_session_is_not_reclaimed_while_it_plays() {
    let server = TestServer::start(&[VIDEO], &["--reclaim", "1"]);
    let mut c = server.connect();
    let id = setup_tcp(&server, &mut c, VIDEO.0);
    let play = c.request("PLAY", &server.url(VIDEO.0), &[("Session", &id)]);
    assert_eq!(play.status, 200);
    let mut got = Capture::default();
    capture(&mut c, &mut got, |_| false);
    let frames: std::collections::BTreeSet<u32> = got.rtp.iter().map(|p| p.ts).collect();
    assert_eq!(frames.len(), 50, "the session ended before its 2 s file");
    assert!(!server.log().contains("timed out"), "{}", server.log());
}
