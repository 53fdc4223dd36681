//! A TCP client that stops reading its interleaved connection: the server
//! disconnects it after `stall_timeout`, which ends its session, while
//! another client's session plays on undisturbed.

mod common;
mod serve_common;

use std::time::{Duration, Instant};

use serve_common::{loud_wav, Item, Rtsp, TestServer};

fn play_tcp(server: &TestServer, c: &mut Rtsp, url: &str) -> String {
    let setup = c.request(
        "SETUP",
        url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    let id = setup.session();
    let play = c.request("PLAY", url, &[("Session", &id)]);
    assert_eq!(play.status, 200, "{play:?}\n{}", server.log());
    id
}

#[test]
fn a_client_that_stops_reading_is_disconnected_without_harm_to_others() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loud.wav"), loud_wav(1)).unwrap();
    let server = TestServer::start_in_with_config(dir, "stall_timeout: 1\n", &["--loop"]);
    let url = server.url("loud.wav");

    // Plays, then reads nothing more.
    let mut stalled = Rtsp::connect_with_receive_buffer(server.port, 4096);
    let stalled_id = play_tcp(&server, &mut stalled, &url);

    // Plays and reads on: 96 kHz in packets of 1440 bytes (90 samples of 8
    // channels), each due at its timestamp.
    let mut reader = server.connect();
    let reader_id = play_tcp(&server, &mut reader, &url);
    let started = Instant::now();
    let mut first: Option<(Instant, u32)> = None;
    let mut last_seq: Option<u16> = None;
    let mut packets = 0u64;
    let mut worst = Duration::ZERO;
    let stalled_gone = loop {
        let Some(item) = reader.read_item() else {
            panic!("the reading client's connection closed:\n{}", server.log())
        };
        let Item::Frame(0, p) = item else { continue };
        let seq = u16::from_be_bytes([p[2], p[3]]);
        let ts = u32::from_be_bytes([p[4], p[5], p[6], p[7]]);
        if let Some(last) = last_seq {
            assert_eq!(seq, last.wrapping_add(1), "a packet lost");
        }
        last_seq = Some(seq);
        packets += 1;
        let now = Instant::now();
        let (t0, ts0) = *first.get_or_insert((now, ts));
        let media = Duration::from_secs_f64(f64::from(ts.wrapping_sub(ts0)) / 96_000.0);
        worst = worst.max(now.duration_since(t0).abs_diff(media));
        // Read on until the stalled client has been dealt with, and a
        // second more.
        if started.elapsed() > Duration::from_secs(30) {
            panic!("the stalled client is still connected:\n{}", server.log());
        }
        if packets.is_multiple_of(100) && server.log().contains("read nothing for 1s") {
            break Instant::now();
        }
    };
    while stalled_gone.elapsed() < Duration::from_secs(1) {
        if let Some(Item::Frame(0, p)) = reader.read_item() {
            let seq = u16::from_be_bytes([p[2], p[3]]);
            assert_eq!(
                Some(seq),
                last_seq.map(|s| s.wrapping_add(1)),
                "a packet lost"
            );
            last_seq = Some(seq);
            packets += 1;
        }
    }
    eprintln!(
        "stalled client cut after {:?}; {packets} packets read, up to {worst:?} off time",
        stalled_gone.duration_since(started)
    );
    assert!(packets > 1000, "{packets} packets");
    assert!(
        worst < Duration::from_millis(100),
        "the reading client's packets were up to {worst:?} off their time"
    );

    // The stalled client's connection is closed (once what the kernel
    // holds is read) and its session ended; the other session lives.
    assert!(stalled.is_closed(Duration::from_secs(5)));
    let mut other = server.connect();
    let gone = other.request("GET_PARAMETER", &url, &[("Session", &stalled_id)]);
    assert_eq!(gone.status, 454);
    let alive = other.request("GET_PARAMETER", &url, &[("Session", &reader_id)]);
    assert_eq!(alive.status, 200);
}

/// TEARDOWN of a session whose client reads nothing answers at once: the
/// playback does not wait for room in the full connection queue (up to
/// `stall_timeout`) before it stops.
#[test]
fn teardown_does_not_wait_for_a_stalled_client() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("loud.wav"), loud_wav(1)).unwrap();
    let server = TestServer::start_in_with_config(dir, "stall_timeout: 60\n", &["--loop"]);
    let url = server.url("loud.wav");
    let mut stalled = Rtsp::connect_with_receive_buffer(server.port, 4096);
    let id = play_tcp(&server, &mut stalled, &url);
    // Long enough for the kernel buffers (a few MB on loopback) and the
    // connection's queue to fill at 1.5 MB/s.
    std::thread::sleep(Duration::from_secs(6));
    let mut other = server.connect();
    let asked = Instant::now();
    let teardown = other.request("TEARDOWN", &url, &[("Session", &id)]);
    assert_eq!(teardown.status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "TEARDOWN took {:?}:\n{}",
        asked.elapsed(),
        server.log()
    );
    let gone = other.request("GET_PARAMETER", &url, &[("Session", &id)]);
    assert_eq!(gone.status, 454);
}
