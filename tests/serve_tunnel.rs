//! RTSP over HTTP and HTTPS tunnels, from raw sockets: whole sessions,
//! base64 split anywhere, both legs on one connection, and every hostile
//! request (live555's CVE-2018-4013 and CVE-2019-6256 among them) refused
//! cleanly while another tunnelled session plays on.

mod common;
mod serve_common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serve_common::{
    free_port, get_head, loud_wav, play_interleaved, play_to_bye, post_head, read_http_head,
    write_cert, CertFiles, KeyKind, Rtsp, TestServer, TlsConn, TunnelConn, Version,
};

const CLIP: &str = "audio_48k_mono.aac";

/// A server of `files` (written as they are) with HTTP tunneling on a
/// free port, RTSPS from `cert`, request and stall timeouts of 2 s and
/// `args`.
fn tunnel_server(files: &[(&str, Vec<u8>)], cert: &CertFiles, args: &[&str]) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let http = free_port().to_string();
    let tls = cert.args();
    let all: Vec<&str> = ["--http-port", http.as_str()]
        .into_iter()
        .chain(tls.iter().map(String::as_str))
        .chain(args.iter().copied())
        .collect();
    TestServer::start_in_with_config(dir, "request_timeout: 2\nstall_timeout: 2\n", &all)
}

fn clip() -> Vec<u8> {
    std::fs::read(common::fixtures().join(CLIP)).unwrap()
}

/// A cookie no other test tunnel uses.
fn cookie() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!("test{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn http_conn(server: &TestServer) -> TcpStream {
    let tcp = TcpStream::connect(("127.0.0.1", server.port_of("http"))).unwrap();
    tcp.set_nodelay(true).unwrap();
    tcp
}

/// A client tunnelled over HTTP (two connections), and its cookie.
fn http_tunnel(server: &TestServer) -> (Rtsp, String) {
    let cookie = cookie();
    let conn = TunnelConn::open(
        Box::new(http_conn(server)),
        Box::new(http_conn(server)),
        &cookie,
    );
    (Rtsp::over(Box::new(conn)), cookie)
}

/// A client tunnelled over HTTPS (two TLS connections to the TLS port).
fn https_tunnel(server: &TestServer) -> Rtsp {
    let leg = || Box::new(TlsConn::connect(server.port_of("rtsps"), Version::Tls13).unwrap());
    Rtsp::over(Box::new(TunnelConn::open(leg(), leg(), &cookie())))
}

fn url(port: u16) -> String {
    format!("rtsp://127.0.0.1:{port}/clip.aac")
}

/// Reads until the server closes `conn` (failing after 5 s); what came.
fn read_to_close(conn: &mut TcpStream) -> String {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return String::from_utf8_lossy(&got).into_owned(),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return String::from_utf8_lossy(&got).into_owned()
            }
            Err(e) => panic!("not closed ({e}); got {:?}", String::from_utf8_lossy(&got)),
        }
    }
}

/// Sends `bytes` on a new HTTP-port connection: what came back before the
/// server closed it.
fn answer_to(server: &TestServer, bytes: &[u8]) -> String {
    let mut conn = http_conn(server);
    conn.write_all(bytes).unwrap();
    read_to_close(&mut conn)
}

#[test]
fn tunnelled_sessions_play_whole_over_http_and_https() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tunnel_server(&[("clip.aac", clip())], &cert, &[]);
    let (http_port, tls_port) = (server.port_of("http"), server.port_of("rtsps"));
    let (plain, http, https) = std::thread::scope(|s| {
        let plain = s.spawn(|| play_to_bye(&mut server.connect(), &server.url("clip.aac")));
        let http = s.spawn(|| play_to_bye(&mut http_tunnel(&server).0, &url(http_port)));
        let https = s.spawn(|| play_to_bye(&mut https_tunnel(&server), &url(tls_port)));
        (plain.join(), http.join(), https.join())
    });
    let plain = plain.unwrap();
    assert!(plain > 100, "{plain} packets");
    assert_eq!(http.unwrap(), plain);
    assert_eq!(https.unwrap(), plain);
    // Plain RTSP on the HTTP port is served too, as live555 does.
    let mut direct = Rtsp::connect(http_port);
    assert_eq!(direct.request("OPTIONS", "*", &[]).status, 200);
}

/// Requests encoded one by one (each padded) and written in pieces that
/// end anywhere, some inside a 4-character quantum, the first piece in
/// the POST head's own write.
#[test]
fn base64_split_anywhere_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::Ed25519);
    let server = tunnel_server(&[("clip.aac", clip())], &cert, &[]);
    let cookie = cookie();
    let mut get = http_conn(&server);
    get.write_all(get_head("clip.aac", &cookie).as_bytes())
        .unwrap();
    let mut get = BufReader::new(get);
    assert_eq!(read_http_head(&mut get).unwrap()[0], "HTTP/1.0 200 OK");
    let url = url(server.port_of("http"));
    let body: String = [
        "OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n".to_owned(),
        format!("DESCRIBE {url} RTSP/1.0\r\nCSeq: 2\r\n\r\n"),
        format!("OPTIONS {url} RTSP/1.0\r\nCSeq: 3\r\n\r\n"),
    ]
    .iter()
    .map(|r| base64::engine::general_purpose::STANDARD.encode(r))
    .collect();
    assert!(body.trim_end_matches('=').contains('='), "{body}");
    let mut post = http_conn(&server);
    let head = post_head("clip.aac", &cookie);
    post.write_all(format!("{head}{}", &body[..5]).as_bytes())
        .unwrap();
    let mut at = 5;
    for step in [1, 2, 3, 5, 7, 11].iter().cycle() {
        if at >= body.len() {
            break;
        }
        let end = (at + step).min(body.len());
        post.write_all(&body.as_bytes()[at..end]).unwrap();
        std::thread::sleep(Duration::from_millis(2));
        at = end;
    }
    let mut answers = Rtsp::over(Box::new(get.into_inner()));
    for cseq in ["1", "2", "3"] {
        let reply = answers.read_reply().expect("an answer on the GET leg");
        assert_eq!((reply.status, reply.header("CSeq")), (200, Some(cseq)));
    }
}

/// GET, then POST with the same cookie, on one connection (as some clients
/// do, and as crashed live555: CVE-2019-6256): a tunnel like any other.
#[test]
fn both_legs_on_one_connection() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tunnel_server(&[("clip.aac", clip())], &cert, &[]);
    let tcp = http_conn(&server);
    let conn = TunnelConn::open(Box::new(tcp.try_clone().unwrap()), Box::new(tcp), &cookie());
    let packets = play_to_bye(
        &mut Rtsp::over(Box::new(conn)),
        &url(server.port_of("http")),
    );
    let plain = play_to_bye(&mut server.connect(), &server.url("clip.aac"));
    assert_eq!(packets, plain);
    assert!(server.log().contains("both legs on one connection"));
}

#[test]
fn hostile_tunnel_requests_are_refused_while_a_tunnel_plays() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tunnel_server(&[("clip.aac", clip())], &cert, &["--loop"]);
    let http_port = server.port_of("http");
    let (client, healthy_cookie) = http_tunnel(&server);
    let healthy = play_interleaved(client, &url(http_port));

    // Oversized x-sessioncookie and Accept (CVE-2018-4013), no cookie, a
    // head that never ends within 8 KiB: 400 and closed.
    let long_cookie = get_head("", &"c".repeat(5000));
    let long_accept = format!(
        "GET / HTTP/1.0\r\nx-sessioncookie: {}\r\nAccept: {}\r\n\r\n",
        cookie(),
        "a/b,".repeat(2000)
    );
    let endless = format!("GET / HTTP/1.0\r\nX-Pad: {}", "p".repeat(9000));
    for request in [
        long_cookie.as_str(),
        &long_accept,
        "GET / HTTP/1.0\r\nAccept: application/x-rtsp-tunnelled\r\n\r\n",
        &endless,
    ] {
        let answer = answer_to(&server, request.as_bytes());
        assert!(answer.starts_with("HTTP/1.0 400 "), "{answer}");
    }

    // Duplicate cookies: a second GET for a cookie waiting, or for the
    // playing tunnel's; a second POST for the playing tunnel.
    let waiting = cookie();
    let mut first = http_conn(&server);
    first.write_all(get_head("", &waiting).as_bytes()).unwrap();
    let started = Instant::now();
    let head = read_http_head(&mut BufReader::new(&first)).unwrap();
    assert_eq!(head[0], "HTTP/1.0 200 OK");
    for request in [
        get_head("", &waiting),
        get_head("", &healthy_cookie),
        post_head("", &healthy_cookie),
    ] {
        let answer = answer_to(&server, request.as_bytes());
        assert!(answer.starts_with("HTTP/1.0 400 "), "{request}: {answer}");
    }
    // The GET never joined is closed after the request timeout (2 s).
    assert_eq!(read_to_close(&mut first), "");
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // A POST with no GET: 404 after a short wait.
    let started = Instant::now();
    let answer = answer_to(&server, post_head("", &cookie()).as_bytes());
    assert!(answer.starts_with("HTTP/1.0 404 "), "{answer}");
    assert!(started.elapsed() >= Duration::from_millis(1500));

    // Base64 that does not decode: the tunnel closes and its session ends
    // as with a closed connection.
    let cookie = cookie();
    let post = http_conn(&server);
    let mut raw_post = post.try_clone().unwrap();
    let conn = TunnelConn::open(Box::new(http_conn(&server)), Box::new(post), &cookie);
    let mut victim = Rtsp::over(Box::new(conn));
    let url = url(http_port);
    let setup = victim.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    let session = setup.session();
    assert_eq!(
        victim
            .request("PLAY", &url, &[("Session", &session)])
            .status,
        200
    );
    raw_post.write_all(b"T1BU%%%%SU9OUw==").unwrap();
    assert!(victim.is_closed(Duration::from_secs(5)));
    let mut other = server.connect();
    let gone = other.request(
        "GET_PARAMETER",
        &server.url("clip.aac"),
        &[("Session", &session)],
    );
    assert_eq!(gone.status, 454);
    assert!(server
        .log()
        .contains("base64 that does not decode at character "));

    healthy
        .finish()
        .assert_healthy(100, Duration::from_secs(1), &server.log());
}

/// A tunnel whose client stops reading the GET leg is dropped after the
/// stall timeout, ending its session; another tunnel plays on.
#[test]
fn a_stalled_tunnel_is_dropped_after_the_stall_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let cert = write_cert(dir.path(), "server", KeyKind::EcdsaP256);
    let server = tunnel_server(&[("loud.wav", loud_wav(1))], &cert, &["--loop"]);
    let http_port = server.port_of("http");
    let url = format!("rtsp://127.0.0.1:{http_port}/loud.wav");
    let small = {
        let socket =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], http_port));
        socket.connect(&addr.into()).unwrap();
        TcpStream::from(socket)
    };
    let conn = TunnelConn::open(Box::new(small), Box::new(http_conn(&server)), &cookie());
    let mut stalled = Rtsp::over(Box::new(conn));
    let setup = stalled.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    let session = setup.session();
    assert_eq!(
        stalled
            .request("PLAY", &url, &[("Session", &session)])
            .status,
        200
    );
    let healthy = play_interleaved(http_tunnel(&server).0, &url);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log().contains("read nothing for 2s") {
        assert!(Instant::now() < deadline, "not dropped:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(stalled.is_closed(Duration::from_secs(10)));
    let mut other = server.connect();
    let gone = other.request(
        "GET_PARAMETER",
        &server.url("loud.wav"),
        &[("Session", &session)],
    );
    assert_eq!(gone.status, 454);
    healthy
        .finish()
        .assert_healthy(1000, Duration::from_secs(1), &server.log());
}
