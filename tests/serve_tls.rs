//! RTSPS: the TLS listener with each kind of key, TLS 1.2 and 1.3,
//! interleaved RTP inside TLS, hostile handshakes, and the certificate
//! swapped on SIGHUP under a session that keeps playing.

mod common;
mod serve_common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Bounded;
use serve_common::{
    play_interleaved, play_to_bye, write_cert, CertFiles, KeyKind, Rtsp, TestServer, TlsConn,
    Version,
};

const CLIP: (&str, &str) = ("clip.aac", "audio_48k_mono.aac");

/// A server of `files` with RTSPS from `cert`, the YAML `yaml` and `args`.
fn tls_server(cert: &CertFiles, files: &[(&str, &str)], yaml: &str, args: &[&str]) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    for (name, fixture) in files {
        std::fs::copy(common::fixtures().join(fixture), dir.path().join(name)).unwrap();
    }
    let tls = cert.args();
    let all: Vec<&str> = tls
        .iter()
        .map(String::as_str)
        .chain(args.iter().copied())
        .collect();
    TestServer::start_in_with_config(dir, yaml, &all)
}

fn rtsps_url(server: &TestServer, path: &str) -> String {
    format!("rtsps://127.0.0.1:{}/{path}", server.port_of("rtsps"))
}

fn tls_client(server: &TestServer, version: Version) -> Rtsp {
    let conn = TlsConn::connect(server.port_of("rtsps"), version).expect("a TLS handshake");
    Rtsp::over(Box::new(conn))
}

#[test]
fn every_key_kind_serves_tls_1_2_and_1_3() {
    if !common::require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for kind in [
        KeyKind::Rsa,
        KeyKind::EcdsaP256,
        KeyKind::EcdsaP384,
        KeyKind::Ed25519,
    ] {
        let cert = write_cert(dir.path(), "server", kind);
        let server = tls_server(&cert, &[CLIP], "", &[]);
        for (version, agreed) in [
            (Version::Tls12, rustls::ProtocolVersion::TLSv1_2),
            (Version::Tls13, rustls::ProtocolVersion::TLSv1_3),
        ] {
            let conn = TlsConn::connect(server.port_of("rtsps"), version)
                .unwrap_or_else(|e| panic!("{kind:?} {version:?}: {e}\n{}", server.log()));
            assert_eq!(conn.certificate(), cert.der, "{kind:?}");
            assert_eq!(conn.version(), Some(agreed));
            let mut client = Rtsp::over(Box::new(conn));
            // A bare path is answered with the rtsps:// URL it came on.
            let describe = client.request("DESCRIBE", "/clip.aac", &[]);
            assert_eq!(describe.status, 200, "{kind:?} {version:?}");
            let base = describe.header("Content-Base").unwrap();
            assert!(base.starts_with("rtsps://"), "{base}");
        }
        // Plain RTSP goes on beside it.
        assert_eq!(server.connect().request("OPTIONS", "*", &[]).status, 200);
    }
}

/// TLS sessions resume from tickets that the server keeps nothing of
/// (RFC 5077, RFC 8446 §4.6.1), over TLS 1.2 and 1.3: the server holds
/// nothing for a client once its connection has gone (a cache of sessions
/// held memory after a load of RTSPS clients, docs/benchmarks.md). A TLS
/// 1.2 client that resumes by session ID only gets a full handshake.
#[test]
fn tls_sessions_resume_from_tickets_the_server_keeps_nothing_of() {
    if !common::require_tool("openssl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tls_server(&cert, &[CLIP], "", &[]);
    let port = server.port_of("rtsps");
    // Connects, asks OPTIONS (which reads the tickets a TLS 1.3 server
    // sends after the handshake), and says whether the handshake resumed.
    let session = |config: &Arc<rustls::ClientConfig>| {
        let conn = TlsConn::connect_with(port, config).expect("a TLS handshake");
        let resumed = conn.resumed();
        let mut client = Rtsp::over(Box::new(conn));
        assert_eq!(client.request("OPTIONS", "*", &[]).status, 200);
        resumed
    };
    for version in [Version::Tls12, Version::Tls13] {
        let config = Arc::new(TlsConn::config(version));
        assert!(!session(&config), "{version:?}: the first resumed");
        assert!(session(&config), "{version:?}: no resumption");
    }
    let mut ids_only = TlsConn::config(Version::Tls12);
    ids_only.resumption = rustls::client::Resumption::in_memory_sessions(16)
        .tls12_resumption(rustls::client::Tls12Resumption::SessionIdOnly);
    let ids_only = Arc::new(ids_only);
    assert!(!session(&ids_only));
    assert!(
        !session(&ids_only),
        "a session the server kept resumed by ID"
    );
}

/// The same file interleaved inside TLS and over plain TCP: every packet,
/// in order, the same count, at once.
#[test]
fn interleaved_rtp_inside_tls_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tls_server(&cert, &[CLIP], "", &[]);
    let (tls, plain) = std::thread::scope(|s| {
        let tls = s.spawn(|| {
            play_to_bye(
                &mut tls_client(&server, Version::Tls13),
                &rtsps_url(&server, "clip.aac"),
            )
        });
        let plain = s.spawn(|| play_to_bye(&mut server.connect(), &server.url("clip.aac")));
        (tls.join().unwrap(), plain.join().unwrap())
    });
    assert!(plain > 100, "{plain} packets");
    assert_eq!(tls, plain);
}

/// Connects to `port`, sends `bytes`, and reads until the server closes
/// (failing if it has not within 5 s); what it sent back.
fn closed_after(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    tcp.write_all(bytes).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("not closed after {bytes:?}: {e}"),
        }
    }
}

#[test]
fn hostile_handshakes_are_closed_while_a_tls_session_plays() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::Ed25519);
    let server = tls_server(&cert, &[CLIP], "request_timeout: 2\n", &["--loop"]);
    let url = rtsps_url(&server, "clip.aac");
    let healthy = play_interleaved(tls_client(&server, Version::Tls13), &url);
    let port = server.port_of("rtsps");
    // A record header announcing a ClientHello, then junk; binary junk;
    // plaintext RTSP: each closed, with at most a TLS alert, never RTSP.
    for bytes in [
        &b"\x16\x03\x01\x00\x30\x01\x00\x00\x2cgarbage garbage garbage garbage!!!!!!!"[..],
        b"\x00\xff\x13\x37 not tls at all\r\n\r\n",
        b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n",
        b"GET / HTTP/1.0\r\nx-sessioncookie: abc\r\n\r\n",
    ] {
        let answer = closed_after(port, bytes);
        assert!(
            !answer.starts_with(b"RTSP/") && !answer.starts_with(b"HTTP/"),
            "{answer:?}"
        );
        assert!(
            answer.is_empty() || answer[0] == 0x15,
            "not an alert: {answer:?}"
        );
    }
    // A client that opens the connection and says nothing: dropped after
    // the request timeout.
    let started = Instant::now();
    assert!(closed_after(port, b"").is_empty());
    assert!(started.elapsed() >= Duration::from_millis(1500));
    // A ClientHello on the plain RTSP port is still answered 400.
    let plain = closed_after(server.port, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    assert!(plain.starts_with(b"RTSP/1.0 400 "), "{plain:?}");
    let log = server.log();
    assert_eq!(log.matches("TLS handshake failed").count(), 5, "{log}");
    healthy
        .finish()
        .assert_healthy(60, Duration::from_secs(1), &server.log());
}

fn hang_up(server: &TestServer) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &server.pid().to_string()])
        .status_bounded();
    assert!(status.success());
}

/// Polls `check` for up to 5 s.
fn eventually(what: &str, server: &TestServer, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "{what}:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_swaps_the_certificate_under_a_playing_session() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tls_server(&first, &[CLIP], "", &["--loop"]);
    let url = rtsps_url(&server, "clip.aac");
    let served = || {
        TlsConn::connect(server.port_of("rtsps"), Version::Tls12)
            .unwrap()
            .certificate()
    };
    assert_eq!(served(), first.der);
    let healthy = play_interleaved(tls_client(&server, Version::Tls13), &url);
    std::thread::sleep(Duration::from_millis(500));

    // A new certificate and key (another kind) in the same files.
    let second = write_cert(dir.path(), "server", KeyKind::Ed25519);
    assert_eq!((&second.cert, &second.key), (&first.cert, &first.key));
    hang_up(&server);
    eventually("the new certificate served", &server, || {
        served() == second.der
    });

    // A certificate file that does not load: refused, the last one kept.
    std::fs::write(&second.cert, "-----BEGIN CERTIFICATE-----\nnot base64!\n").unwrap();
    hang_up(&server);
    eventually("the bad certificate refused", &server, || {
        server.log().contains("TLS certificate kept")
    });
    let log = server.log();
    assert_eq!(log.matches("ERROR").count(), 1, "{log}");
    assert!(log.contains("server.crt"), "{log}");
    assert_eq!(served(), second.der);

    std::thread::sleep(Duration::from_secs(1));
    // About 47 packets a second (48 kHz AAC) for 2 s and more.
    let played = healthy.finish();
    played.assert_healthy(60, Duration::from_secs(1), &server.log());
    // The session set up before the swap is still there.
    let mut client = tls_client(&server, Version::Tls13);
    assert_eq!(client.request("OPTIONS", "*", &[]).status, 200);
}
