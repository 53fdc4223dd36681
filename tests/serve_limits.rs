//! What one client may hold: sessions per client address, per connection
//! and per user, SETUPs per second, connections per address and in all,
//! and idle connections closed or shed, so that one client cannot deny
//! service to the others (503 with `Retry-After` past a limit).

mod common;
mod serve_common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use serve_common::{digest_authorization, Reply, Rtsp, TestServer};

const AAC: (&str, &str) = ("clip.aac", "audio_48k_mono.aac");
const ELSEWHERE: [u8; 4] = [127, 0, 0, 2];

fn udp_transport(port: u16) -> String {
    format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
}

/// Pipelines `n` SETUPs of new sessions on `c`, then reads their answers.
fn pipelined_setups(c: &mut Rtsp, url: &str, n: u16) -> Vec<Reply> {
    for i in 0..n {
        c.send_request(
            "SETUP",
            url,
            &[("Transport", &udp_transport(20_000 + 2 * i))],
        );
    }
    (0..n).map(|_| c.read_reply().expect("an answer")).collect()
}

fn ok_and_refused(replies: &[Reply], retry_after: &str) -> (usize, usize) {
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let refused: Vec<&Reply> = replies.iter().filter(|r| r.status == 503).collect();
    for reply in &refused {
        assert_eq!(reply.header("Retry-After"), Some(retry_after), "{reply:?}");
    }
    assert_eq!(ok + refused.len(), replies.len(), "{replies:?}");
    (ok, refused.len())
}

#[test]
fn one_client_cannot_fill_the_session_table() {
    let server = TestServer::with_config(
        &[AAC],
        "max_sessions: 200\nmax_setups_per_second_per_client: 0\n",
    );
    let url = server.url(AAC.0);
    // 300 pipelined SETUPs on 10 connections from one address: 16 a
    // connection at most, 64 in all.
    let mut taken = 0;
    let mut per_connection = Vec::new();
    let mut connections: Vec<Rtsp> = (0..10).map(|_| server.connect()).collect();
    for c in &mut connections {
        let (ok, _) = ok_and_refused(&pipelined_setups(c, &url, 30), "5");
        per_connection.push(ok);
        taken += ok;
    }
    assert_eq!(taken, 64, "{per_connection:?}");
    assert!(
        per_connection.iter().all(|&n| n <= 16),
        "{per_connection:?}"
    );
    // Another client still gets sessions.
    let mut other = Rtsp::connect_from(server.port, IpAddr::from(ELSEWHERE));
    let setup = other.request("SETUP", &url, &[("Transport", &udp_transport(9000))]);
    assert_eq!(setup.status, 200, "{setup:?}");
    // The first address still gets none.
    let mut c = server.connect();
    let refused = c.request("SETUP", &url, &[("Transport", &udp_transport(9002))]);
    assert_eq!(refused.status, 503);
    drop(connections);
}

#[test]
fn sessions_per_connection_and_per_user() {
    let server = TestServer::with_config(
        &[AAC],
        "users: [alice:pw, bob:pw]\nmax_sessions_per_user: 3\nmax_sessions_per_connection: 2\n",
    );
    let url = server.url(AAC.0);
    let setup = |c: &mut Rtsp, user: &str, port: u16| {
        let challenge = c.request("SETUP", &url, &[]);
        let offer = challenge.all("WWW-Authenticate")[1].to_owned();
        let auth = digest_authorization(&offer, user, "pw", "SETUP", &url);
        c.request(
            "SETUP",
            &url,
            &[
                ("Authorization", &auth),
                ("Transport", &udp_transport(port)),
            ],
        )
    };
    let mut here = server.connect();
    assert_eq!(setup(&mut here, "alice", 9000).status, 200);
    assert_eq!(setup(&mut here, "alice", 9002).status, 200);
    let third = setup(&mut here, "alice", 9004);
    assert_eq!(third.status, 503, "the connection's third");
    assert_eq!(third.header("Retry-After"), Some("5"));
    // Alice from another address: her third session, then none.
    let mut there = Rtsp::connect_from(server.port, IpAddr::from(ELSEWHERE));
    assert_eq!(setup(&mut there, "alice", 9006).status, 200);
    let fourth = setup(&mut there, "alice", 9008);
    assert_eq!(fourth.status, 503, "alice's fourth");
    // Bob is counted apart.
    assert_eq!(setup(&mut there, "bob", 9010).status, 200);
}

#[test]
fn setups_per_second_are_limited_per_client() {
    let server = TestServer::with_config(
        &[AAC],
        "max_setups_per_second_per_client: 5\nmax_sessions_per_connection: 0\n",
    );
    let url = server.url(AAC.0);
    let mut c = server.connect();
    let (ok, refused) = ok_and_refused(&pipelined_setups(&mut c, &url, 10), "1");
    assert_eq!((ok, refused), (5, 5));
    let mut other = Rtsp::connect_from(server.port, IpAddr::from(ELSEWHERE));
    let setup = other.request("SETUP", &url, &[("Transport", &udp_transport(9000))]);
    assert_eq!(setup.status, 200, "another client has its own rate");
    std::thread::sleep(Duration::from_millis(1100));
    let (ok, _) = ok_and_refused(&pipelined_setups(&mut c, &url, 5), "1");
    assert_eq!(ok, 5, "a second later");
}

/// The answer of a connection refused at once: 503, then the end.
fn refused_at_once(c: &mut Rtsp) {
    let reply = c.read_reply().expect("a 503");
    assert_eq!(reply.status, 503, "{reply:?}");
    assert!(reply.header("Retry-After").is_some(), "{reply:?}");
    assert!(c.is_closed(Duration::from_secs(2)));
}

#[test]
fn connections_per_client_are_capped() {
    let server = TestServer::with_config(&[AAC], "max_connections_per_client: 4\n");
    let url = server.url(AAC.0);
    let mut held: Vec<Rtsp> = (0..4).map(|_| server.connect()).collect();
    for c in &mut held {
        assert_eq!(c.request("OPTIONS", &url, &[]).status, 200);
    }
    refused_at_once(&mut server.connect());
    let mut other = Rtsp::connect_from(server.port, IpAddr::from(ELSEWHERE));
    assert_eq!(other.request("OPTIONS", &url, &[]).status, 200);
    drop(held.pop());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(server.connect().request("OPTIONS", &url, &[]).status, 200);
}

#[test]
fn at_the_connection_cap_the_quietest_idle_connection_is_shed() {
    let server = TestServer::with_config(
        &[AAC],
        "max_connections: 4\nmax_connections_per_client: 0\n",
    );
    let url = server.url(AAC.0);
    // One connection holds a session and has been quiet longest; three
    // hold none, the first of them quiet the longest.
    let mut busy = server.connect();
    let setup = busy.request("SETUP", &url, &[("Transport", &udp_transport(9000))]);
    assert_eq!(setup.status, 200);
    std::thread::sleep(Duration::from_millis(50));
    let mut idle: Vec<Rtsp> = (0..3)
        .map(|_| {
            let mut c = server.connect();
            assert_eq!(c.request("OPTIONS", &url, &[]).status, 200);
            std::thread::sleep(Duration::from_millis(50));
            c
        })
        .collect();
    // A fifth client is served; the quietest idle connection is closed.
    let mut fifth = server.connect();
    assert_eq!(fifth.request("OPTIONS", &url, &[]).status, 200);
    assert!(idle[0].is_closed(Duration::from_secs(2)), "not shed");
    for c in &mut idle[1..] {
        assert_eq!(c.request("OPTIONS", &url, &[]).status, 200);
    }
    let alive = busy.request("GET_PARAMETER", &url, &[("Session", &setup.session())]);
    assert_eq!(alive.status, 200, "the connection with a session was shed");
    // Every connection holding a session: a new one is refused.
    let mut all: Vec<Rtsp> = idle.drain(1..).collect();
    all.push(fifth);
    for (i, c) in all.iter_mut().enumerate() {
        let port = 9002 + 2 * i as u16;
        let setup = c.request("SETUP", &url, &[("Transport", &udp_transport(port))]);
        assert_eq!(setup.status, 200);
    }
    refused_at_once(&mut server.connect());
}

#[test]
fn idle_connections_without_a_session_are_closed() {
    let server = TestServer::with_config(&[AAC], "idle_connection_timeout: 1\n");
    let url = server.url(AAC.0);
    let mut idle = server.connect();
    assert_eq!(idle.request("DESCRIBE", &url, &[]).status, 200);
    let mut busy = server.connect();
    let setup = busy.request("SETUP", &url, &[("Transport", &udp_transport(9000))]);
    assert_eq!(setup.status, 200);
    let started = Instant::now();
    assert!(
        idle.is_closed(Duration::from_secs(4)),
        "idle connection kept"
    );
    // Within a tick (the shorter of the idle timeout and half the request
    // timeout) of the timeout.
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );
    std::thread::sleep(Duration::from_millis(1500));
    let alive = busy.request("GET_PARAMETER", &url, &[("Session", &setup.session())]);
    assert_eq!(
        alive.status, 200,
        "a connection holding a session was closed"
    );
}
