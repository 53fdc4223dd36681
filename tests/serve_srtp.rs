//! SRTP on RTSPS sessions, from a raw client and our own receiver: the
//! DESCRIBE answer's keys (SDES and MIKEY, one key), each profile a client
//! may name in SETUP, the media over TCP and UDP decrypting to exactly the
//! plain stream, live555's MKI, authentication without encryption,
//! `--no-srtp`, SETUP without a key, and a stream whose rollover counter
//! steps past a sequence number wrap. The real clients are in
//! `serve_ffmpeg.rs` and `serve_gstreamer.rs`.

mod common;
mod serve_common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::Bounded;
use mediatool::srtp::mikey::MikeyMessage;
use mediatool::srtp::sdes::CryptoAttribute;
use mediatool::srtp::{Mki, Policy, Suite};
use serve_common::{
    media_keys, rtcp_packet_types, write_cert, Item, KeyKind, Reply, Rtsp, TestServer, TlsConn,
    Unprotect, Version,
};

const CLIP: (&str, &str) = ("clip.aac", "audio_48k_mono.aac");

/// A server with RTSPS (and `yaml`, `args`) serving `files`.
fn secure_server(files: &[(&str, &str)], yaml: &str, args: &[&str]) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in files {
        std::fs::copy(common::fixtures().join(fixture), dir.path().join(name)).unwrap();
    }
    secure_server_in(dir, yaml, args)
}

/// A server with RTSPS (and `yaml`, `args`) serving `dir`; the certificate
/// is written beside it.
fn secure_server_in(dir: tempfile::TempDir, yaml: &str, args: &[&str]) -> TestServer {
    let certs = dir.path().with_extension("certs");
    std::fs::create_dir_all(&certs).unwrap();
    let cert = write_cert(&certs, "server", KeyKind::EcdsaP256);
    let tls = cert.args();
    let all: Vec<&str> = tls
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    TestServer::start_in_with_config(dir, yaml, &all)
}

fn rtsps(server: &TestServer) -> Rtsp {
    Rtsp::over(Box::new(
        TlsConn::connect(server.port_of("rtsps"), Version::Tls13).expect("a TLS handshake"),
    ))
}

fn rtsps_url(server: &TestServer, path: &str) -> String {
    format!("rtsps://127.0.0.1:{}/{path}", server.port_of("rtsps"))
}

fn describe(client: &mut Rtsp, url: &str, headers: &[(&str, &str)]) -> Reply {
    let reply = client.request("DESCRIBE", url, headers);
    assert_eq!(reply.status, 200, "{reply:?}");
    reply
}

/// The value of every `a=NAME:` line of `sdp`.
fn attributes<'a>(sdp: &'a str, name: &str) -> Vec<&'a str> {
    let prefix = format!("a={name}:");
    sdp.lines()
        .filter_map(|l| l.strip_prefix(prefix.as_str()))
        .collect()
}

/// The `ssrc` parameter of a `Transport` answer.
fn answered_ssrc(setup: &Reply) -> u32 {
    let transport = setup.header("Transport").unwrap();
    let hex = transport
        .split(';')
        .find_map(|p| p.strip_prefix("ssrc="))
        .unwrap();
    u32::from_str_radix(hex, 16).unwrap()
}

#[test]
fn rtsps_describe_hands_out_one_fresh_key_both_ways() {
    let server = secure_server(&[CLIP], "", &[]);
    let url = rtsps_url(&server, "clip.aac");
    let mut client = rtsps(&server);
    let sdp = describe(&mut client, &url, &[]).body;
    assert!(sdp.contains("m=audio 0 RTP/SAVP 96\r\n"), "{sdp}");
    let crypto = attributes(&sdp, "crypto");
    let key_mgmt = attributes(&sdp, "key-mgmt");
    assert_eq!((crypto.len(), key_mgmt.len()), (1, 1), "{sdp}");
    // Media level: after the m= line.
    assert!(sdp.find("a=key-mgmt").unwrap() > sdp.find("m=audio").unwrap());
    // ffmpeg's form: tag, suite, bare 40-character inline key.
    let sdes = CryptoAttribute::parse(crypto[0]).unwrap();
    let inline = crypto[0].split("inline:").nth(1).unwrap();
    assert_eq!(inline.len(), 40, "{inline}");
    let mikey = MikeyMessage::parse_sdp_value(key_mgmt[0]).unwrap();
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    assert_eq!((sdes.policy, mikey.policy), (policy, policy));
    assert_eq!(sdes.key, mikey.key);
    // The crypto session map names the stream SETUP then sends.
    let setup = client.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    assert!(
        setup
            .header("Transport")
            .unwrap()
            .starts_with("RTP/SAVP/TCP;"),
        "{setup:?}"
    );
    assert_eq!(mikey.sessions.len(), 1);
    assert_eq!(mikey.sessions[0].ssrc, answered_ssrc(&setup));
    assert_eq!(mikey.sessions[0].roc, 0);
    // Every DESCRIBE makes a new key.
    let again = describe(&mut rtsps(&server), &url, &[]).body;
    let other = CryptoAttribute::parse(attributes(&again, "crypto")[0]).unwrap();
    assert_ne!(other.key, sdes.key);
    // Plain RTSP beside it: plain RTP, no key.
    let plain = describe(&mut server.connect(), &server.url("clip.aac"), &[]).body;
    assert!(
        plain.contains("RTP/AVP 96")
            && !plain.contains("a=crypto")
            && !plain.contains("a=key-mgmt")
    );
}

/// A session read to its end: the RTP packets and RTCP packets, made
/// plain by `keys`.
#[derive(Debug, Default)]
struct Received {
    rtp: Vec<Vec<u8>>,
    rtcp: Vec<Vec<u8>>,
    /// Whether every RTP payload on the wire differed from the plain one.
    encrypted: bool,
}

impl Received {
    fn payloads(&self) -> Vec<&[u8]> {
        self.rtp.iter().map(|p| &p[12..]).collect()
    }

    /// Checks the sequence numbers follow each other and the stream ended
    /// with BYE.
    fn assert_whole(&self, what: &str) {
        assert!(self.rtp.len() > 100, "{what}: {} packets", self.rtp.len());
        for pair in self.rtp.windows(2) {
            let seq = |p: &[u8]| u16::from_be_bytes([p[2], p[3]]);
            assert_eq!(seq(&pair[1]), seq(&pair[0]).wrapping_add(1), "{what}");
        }
        let last = self.rtcp.last().expect("RTCP");
        assert!(rtcp_packet_types(last).contains(&203), "{what}: no BYE");
        assert!(self.rtcp.iter().all(|p| p[1] == 200), "{what}: SR first");
    }
}

/// Reads a session playing interleaved on channels 0-1 to its BYE.
fn read_tcp(client: &mut Rtsp, mut keys: Unprotect) -> Received {
    let mut received = Received {
        encrypted: keys.is_srtp(),
        ..Received::default()
    };
    loop {
        match client.read_item().expect("the stream to end with BYE") {
            Item::Frame(0, wire) => {
                let plain = keys.rtp(wire.clone()).expect("an authentic packet");
                received.encrypted &= wire[12..plain.len()] != plain[12..];
                received.rtp.push(plain);
            }
            Item::Frame(1, wire) => {
                let plain = keys.rtcp(wire).expect("an authentic report");
                let bye = rtcp_packet_types(&plain).contains(&203);
                received.rtcp.push(plain);
                if bye {
                    return received;
                }
            }
            _ => {}
        }
    }
}

/// Sets up and plays `url` on `client` with `transport`; the SETUP answer.
fn setup_and_play(client: &mut Rtsp, url: &str, transport: &str) -> Reply {
    let setup = client.request("SETUP", url, &[("Transport", transport)]);
    assert_eq!(setup.status, 200, "{setup:?}");
    let play = client.request("PLAY", url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200, "{play:?}");
    setup
}

/// A client's RTP/RTCP port pair ([`serve_common::udp_pair`]) whose
/// reads give up after 20 ms.
fn udp_pair() -> (UdpSocket, UdpSocket) {
    let (rtp, rtcp) = serve_common::udp_pair();
    for s in [&rtp, &rtcp] {
        s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    }
    (rtp, rtcp)
}

/// Reads a session playing over UDP to `sockets` to its BYE.
fn read_udp(sockets: &(UdpSocket, UdpSocket), mut keys: Unprotect) -> Received {
    let mut received = Received {
        encrypted: keys.is_srtp(),
        ..Received::default()
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 2048];
    while Instant::now() < deadline {
        while let Ok(n) = sockets.0.recv(&mut buf) {
            let wire = buf[..n].to_vec();
            let plain = keys.rtp(wire.clone()).expect("an authentic packet");
            received.encrypted &= wire[12..plain.len()] != plain[12..];
            received.rtp.push(plain);
        }
        if let Ok(n) = sockets.1.recv(&mut buf) {
            let plain = keys.rtcp(buf[..n].to_vec()).expect("an authentic report");
            let bye = rtcp_packet_types(&plain).contains(&203);
            received.rtcp.push(plain);
            if bye {
                // The last RTP packets left before the BYE.
                while let Ok(n) = sockets.0.recv(&mut buf) {
                    let plain = keys.rtp(buf[..n].to_vec()).expect("an authentic packet");
                    received.rtp.push(plain);
                }
                return received;
            }
        }
    }
    panic!("no BYE within 20 s: {} packets", received.rtp.len());
}

/// The same file as plain RTP, as SRTP interleaved in TLS and as SRTP over
/// UDP: our receiver authenticates and decrypts every packet and report,
/// and the media is the plain stream's, byte for byte.
#[test]
fn srtp_over_tcp_and_udp_is_the_plain_stream_encrypted() {
    let server = secure_server(&[CLIP], "", &[]);
    let url = rtsps_url(&server, "clip.aac");
    let (plain, tcp, udp) = std::thread::scope(|s| {
        let plain = s.spawn(|| {
            let mut client = server.connect();
            let sdp = describe(&mut client, &server.url("clip.aac"), &[]).body;
            let keys = Unprotect::first_track(&sdp);
            assert!(!keys.is_srtp());
            setup_and_play(
                &mut client,
                &server.url("clip.aac"),
                "RTP/AVP/TCP;interleaved=0-1",
            );
            read_tcp(&mut client, keys)
        });
        let tcp = s.spawn(|| {
            let mut client = rtsps(&server);
            let keys = Unprotect::first_track(&describe(&mut client, &url, &[]).body);
            assert!(keys.is_srtp());
            setup_and_play(&mut client, &url, "RTP/SAVP/TCP;unicast;interleaved=0-1");
            read_tcp(&mut client, keys)
        });
        let udp = s.spawn(|| {
            let mut client = rtsps(&server);
            let keys = Unprotect::first_track(&describe(&mut client, &url, &[]).body);
            let sockets = udp_pair();
            let port = sockets.0.local_addr().unwrap().port();
            let transport = format!("RTP/SAVP;unicast;client_port={port}-{}", port + 1);
            let setup = setup_and_play(&mut client, &url, &transport);
            assert!(setup
                .header("Transport")
                .unwrap()
                .starts_with("RTP/SAVP;unicast;"));
            read_udp(&sockets, keys)
        });
        (
            plain.join().unwrap(),
            tcp.join().unwrap(),
            udp.join().unwrap(),
        )
    });
    plain.assert_whole("plain");
    tcp.assert_whole("SRTP over TCP");
    udp.assert_whole("SRTP over UDP");
    assert!(tcp.encrypted && udp.encrypted);
    assert_eq!(tcp.payloads(), plain.payloads());
    assert_eq!(udp.payloads(), plain.payloads());
}

/// ffmpeg names `RTP/AVP` in every SETUP, SRTP or not: over RTSPS it gets
/// SRTP (it reads the key from the SDP), told `RTP/SAVP`; GStreamer may
/// name `RTP/SAVPF`; AVPF alone is not served.
#[test]
fn every_profile_a_client_names_gets_srtp() {
    let server = secure_server(&[CLIP], "", &[]);
    let url = rtsps_url(&server, "clip.aac");
    for (asked, answered) in [
        ("RTP/AVP/TCP;unicast;interleaved=0-1", "RTP/SAVP/TCP;"),
        ("RTP/SAVPF/TCP;unicast;interleaved=0-1", "RTP/SAVPF/TCP;"),
    ] {
        let mut client = rtsps(&server);
        let keys = Unprotect::first_track(&describe(&mut client, &url, &[]).body);
        let setup = setup_and_play(&mut client, &url, asked);
        assert!(
            setup.header("Transport").unwrap().starts_with(answered),
            "{setup:?}"
        );
        let received = read_tcp(&mut client, keys);
        received.assert_whole(asked);
        assert!(received.encrypted);
    }
    let mut client = rtsps(&server);
    describe(&mut client, &url, &[]);
    let avpf = client.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVPF/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(avpf.status, 461, "{avpf:?}");
}

/// The key exists from the DESCRIBE answer on: a SETUP on a connection
/// that described nothing gets 463 Key Management Failure; a client
/// setting up twice with one description gets the key again, under new
/// SSRCs.
#[test]
fn a_session_takes_the_key_its_connection_was_given() {
    let server = secure_server(&[CLIP, ("other.aac", "audio_48k_mono.aac")], "", &[]);
    let url = rtsps_url(&server, "clip.aac");
    let tcp = [("Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1")];
    let mut client = rtsps(&server);
    let refused = client.request("SETUP", &url, &tcp);
    assert_eq!(refused.status, 463, "{refused:?}");
    // A description of another file is not one of this file.
    describe(&mut client, &rtsps_url(&server, "other.aac"), &[]);
    assert_eq!(client.request("SETUP", &url, &tcp).status, 463);
    let sdp = describe(&mut client, &url, &[]).body;
    let first = client.request("SETUP", &url, &tcp);
    assert_eq!(first.status, 200, "{first:?}");
    let second = client.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/SAVP/TCP;unicast;interleaved=2-3")],
    );
    assert_eq!(second.status, 200, "{second:?}");
    assert_ne!(second.session(), first.session());
    assert_ne!(answered_ssrc(&second), answered_ssrc(&first));
    // The second session is under the described key all the same.
    client.request("PLAY", &url, &[("Session", &second.session())]);
    let mut keys = Unprotect::first_track(&sdp);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no packet on channel 2");
        if let Some(Item::Frame(2, packet)) = client.read_item() {
            keys.rtp(packet).expect("the described key");
            break;
        }
    }
    assert!(server.log().contains("no SRTP key"), "{}", server.log());
}

/// live555 clients need a 4-byte MKI in every packet, announced in both
/// key exchanges; nobody else gets one.
#[test]
fn a_live555_client_gets_an_mki() {
    let server = secure_server(&[CLIP], "", &[]);
    let url = rtsps_url(&server, "clip.aac");
    let mut client = rtsps(&server);
    let ua = [(
        "User-Agent",
        "LibVLC/3.0.18 (LIVE555 Streaming Media v2022.07.14)",
    )];
    let sdp = describe(&mut client, &url, &ua).body;
    let sdes = CryptoAttribute::parse(attributes(&sdp, "crypto")[0]).unwrap();
    let mki: Mki = sdes.policy.mki.expect("an MKI");
    let mikey = MikeyMessage::parse_sdp_value(attributes(&sdp, "key-mgmt")[0]).unwrap();
    assert_eq!(mikey.policy.mki, Some(mki));
    setup_and_play(&mut client, &url, "RTP/SAVP/TCP;unicast;interleaved=0-1");
    let mut packets = 0;
    while packets < 20 {
        if let Some(Item::Frame(0, wire)) = client.read_item() {
            let tag_at = wire.len() - 10;
            assert_eq!(wire[tag_at - 4..tag_at], mki.0);
            let mut keys = Unprotect::new(Some(&sdes));
            // A fresh receiver at each packet: the MKI and tag check alone.
            if packets == 0 {
                keys.rtp(wire).expect("authentic with its MKI");
            }
            packets += 1;
        }
    }
    let other = describe(
        &mut rtsps(&server),
        &url,
        &[("User-Agent", "Lavf59.27.100")],
    )
    .body;
    assert!(media_keys(&other)[0].as_ref().unwrap().policy.mki.is_none());
}

/// `srtp_encrypt: false`: payloads in the clear, every packet still
/// authenticated (the NULL cipher, live555's weEncryptSRTP). No client here
/// reads that (ffmpeg ignores UNENCRYPTED_SRTP, GStreamer's srtpdec takes no
/// key with the NULL cipher): our receiver does.
#[test]
fn authentication_without_encryption() {
    let server = secure_server(&[CLIP], "srtp_encrypt: false\n", &[]);
    let url = rtsps_url(&server, "clip.aac");
    let mut client = rtsps(&server);
    let sdp = describe(&mut client, &url, &[]).body;
    let crypto = attributes(&sdp, "crypto")[0];
    assert!(
        crypto.ends_with(" UNENCRYPTED_SRTP UNENCRYPTED_SRTCP"),
        "{crypto}"
    );
    let mikey = MikeyMessage::parse_sdp_value(attributes(&sdp, "key-mgmt")[0]).unwrap();
    assert!(!mikey.policy.encrypt_rtp && !mikey.policy.encrypt_rtcp);
    setup_and_play(&mut client, &url, "RTP/SAVP/TCP;unicast;interleaved=0-1");
    let mut keys = Unprotect::first_track(&sdp);
    let mut checked = 0;
    while checked < 20 {
        if let Some(Item::Frame(0, wire)) = client.read_item() {
            let plain = keys.rtp(wire.clone()).expect("authentic");
            assert_eq!(wire[..plain.len()], plain[..], "sent in the clear");
            assert_eq!(wire.len(), plain.len() + 10, "with its tag");
            let mut forged = wire;
            forged[20] ^= 1;
            assert!(keys.rtp(forged).is_err(), "the tag covers the payload");
            checked += 1;
        }
    }
}

/// `--no-srtp`: RTSPS carries plain RTP; SRTP profiles are not served.
#[test]
fn no_srtp_serves_plain_rtp_over_rtsps() {
    let server = secure_server(&[CLIP], "", &["--no-srtp"]);
    let url = rtsps_url(&server, "clip.aac");
    let mut client = rtsps(&server);
    let sdp = describe(&mut client, &url, &[]).body;
    assert!(sdp.contains("RTP/AVP 96") && !sdp.contains("a=crypto") && !sdp.contains("a=key-mgmt"));
    let savp = client.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/SAVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(savp.status, 461, "{savp:?}");
    let setup = setup_and_play(&mut client, &url, "RTP/AVP/TCP;unicast;interleaved=0-1");
    assert!(setup
        .header("Transport")
        .unwrap()
        .starts_with("RTP/AVP/TCP;"));
    let received = read_tcp(&mut client, Unprotect::first_track(&sdp));
    received.assert_whole("--no-srtp");
}

/// More than 65,536 packets through the server: the sequence number wraps
/// (at least once, wherever its random start), the rollover counter steps,
/// and our receiver authenticates and decrypts every packet across it.
/// An 8000 fps H.264 stream of 16x16 black frames, one small packet each,
/// looped, keeps this to about 10 s of playing (20 s in a debug build,
/// whose server falls behind).
#[test]
fn the_rollover_counter_steps_past_a_sequence_number_wrap() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let video = dir.path().join("fast.264");
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-f", "lavfi", "-i"])
        .arg("color=c=black:s=16x16:r=8000:d=1")
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-bf",
            "0",
            "-g",
            "8000",
        ])
        .args(["-f", "h264"])
        .arg(&video)
        .status_bounded();
    assert!(status.success());
    let server = secure_server_in(dir, "", &["--loop"]);
    let url = rtsps_url(&server, "fast.264");
    let mut client = rtsps(&server);
    let mut keys = Unprotect::first_track(&describe(&mut client, &url, &[]).body);
    setup_and_play(&mut client, &url, "RTP/SAVP/TCP;unicast;interleaved=0-1");
    // 65,536 steps from any start cross 65535 -> 0.
    const PACKETS: u32 = 66_000;
    let (mut packets, mut wraps, mut reports) = (0u32, 0u32, 0u32);
    let mut last: Option<u16> = None;
    while packets < PACKETS {
        match client
            .read_item()
            .expect("packets until the test has enough")
        {
            Item::Frame(0, wire) => {
                let plain = keys.rtp(wire).expect("an authentic packet");
                let seq = u16::from_be_bytes([plain[2], plain[3]]);
                if let Some(last) = last {
                    assert_eq!(seq, last.wrapping_add(1), "after {packets} packets");
                    wraps += u32::from(seq == 0);
                }
                last = Some(seq);
                packets += 1;
            }
            Item::Frame(1, wire) => {
                keys.rtcp(wire).expect("an authentic report");
                reports += 1;
            }
            _ => {}
        }
    }
    assert!(wraps >= 1, "{packets} packets and no wrap");
    assert_eq!(keys.roc(), wraps);
    assert!(reports >= 2, "{reports} sender reports");
}
