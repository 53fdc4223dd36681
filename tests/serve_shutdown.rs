//! Shutting down with sessions playing: on SIGTERM and on SIGINT every
//! client, over UDP and over TCP, gets its RTCP BYE (RFC 3550 §6.6) and the
//! process exits with status 0 within a deadline.

mod common;
mod serve_common;

use std::net::UdpSocket;
use std::time::Duration;

use serve_common::{rtcp_packet_types, udp_pair, Item, Rtsp, TestServer};

const VIDEO: (&str, &str) = ("v.h264", "h264_baseline.h264");
const AUDIO: (&str, &str) = ("a.aac", "audio_48k_mono.aac");

/// How long the server may take from the signal to its exit.
const EXIT_DEADLINE: Duration = Duration::from_secs(2);

/// A playing client.
enum Client {
    Udp {
        /// Kept open so the server's packets have somewhere to go.
        _control: Rtsp,
        _rtp: UdpSocket,
        rtcp: UdpSocket,
    },
    Tcp(Rtsp),
}

impl Client {
    /// Whether an RTCP BYE arrives (reads what was sent until then; the
    /// server is gone, so what is there is all there is).
    fn got_bye(&mut self) -> bool {
        match self {
            Client::Udp { rtcp, .. } => {
                rtcp.set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
                let mut buf = [0u8; 2048];
                while let Ok(n) = rtcp.recv(&mut buf) {
                    if rtcp_packet_types(&buf[..n]).contains(&203) {
                        return true;
                    }
                }
                false
            }
            Client::Tcp(c) => {
                while let Some(item) = c.read_item() {
                    if let Item::Frame(1, p) = item {
                        if rtcp_packet_types(&p).contains(&203) {
                            return true;
                        }
                    }
                }
                false
            }
        }
    }
}

fn play(server: &TestServer, path: &str, tcp: bool) -> Client {
    let url = server.url(path);
    let mut c = server.connect();
    let ports = (!tcp).then(udp_pair);
    let transport = match &ports {
        Some((rtp, _)) => {
            let port = rtp.local_addr().unwrap().port();
            format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
        }
        None => "RTP/AVP/TCP;unicast;interleaved=0-1".to_owned(),
    };
    let setup = c.request("SETUP", &url, &[("Transport", &transport)]);
    assert_eq!(setup.status, 200, "{setup:?}");
    let play = c.request("PLAY", &url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200, "{play:?}");
    match ports {
        Some((rtp, rtcp)) => Client::Udp {
            _control: c,
            _rtp: rtp,
            rtcp,
        },
        None => Client::Tcp(c),
    }
}

fn every_client_gets_bye_on(signal: &str) {
    let mut server = TestServer::start(&[VIDEO, AUDIO], &["--loop"]);
    let mut clients: Vec<(String, Client)> = Vec::new();
    for path in [VIDEO.0, AUDIO.0] {
        for tcp in [false, true] {
            let name = format!("{path} over {}", if tcp { "TCP" } else { "UDP" });
            clients.push((name, play(&server, path, tcp)));
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let (status, took) = server.signal(signal);
    let log = server.log();
    assert!(status.success(), "SIG{signal}: {status:?}\n{log}");
    assert!(
        took < EXIT_DEADLINE,
        "SIG{signal}: exit after {took:?}\n{log}"
    );
    let missing: Vec<String> = clients
        .iter_mut()
        .filter_map(|(name, client)| (!client.got_bye()).then(|| name.clone()))
        .collect();
    assert!(
        missing.is_empty(),
        "SIG{signal}: no RTCP BYE for {missing:?}\n{log}"
    );
    assert!(log.contains("ended 4 sessions"), "{log}");
}

#[test]
fn sigterm_sends_bye_to_every_client_and_exits_0() {
    every_client_gets_bye_on("TERM");
}

#[test]
fn sigint_sends_bye_to_every_client_and_exits_0() {
    every_client_gets_bye_on("INT");
}
