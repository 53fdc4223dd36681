//! `mediatool serve` speaking RTSP with a raw client: statuses, sessions,
//! authentication, path safety and resilience to broken clients.

mod common;
mod serve_common;

use std::time::Duration;

use common::Bounded;
use serve_common::{digest_authorization, TestServer};

const MP3: (&str, &str) = ("music/song one.mp3", "audio_44k_stereo.mp3");
const AAC: (&str, &str) = ("clip.aac", "audio_48k_mono.aac");

fn udp_transport(port: u16) -> String {
    format!("RTP/AVP;unicast;client_port={port}-{}", port + 1)
}

#[test]
fn options_describe_and_setup_answers() {
    let server = TestServer::start(&[MP3, AAC], &[]);
    let mut c = server.connect();
    let options = c.request("OPTIONS", "*", &[]);
    assert_eq!(options.status, 200);
    let public = options.header("Public").unwrap();
    for method in [
        "OPTIONS",
        "DESCRIBE",
        "SETUP",
        "PLAY",
        "PAUSE",
        "TEARDOWN",
        "GET_PARAMETER",
        "SET_PARAMETER",
    ] {
        assert!(public.contains(method), "{public}");
    }

    let url = server.url("music/song%20one.mp3");
    let describe = c.request("DESCRIBE", &url, &[("Accept", "application/sdp")]);
    assert_eq!(describe.status, 200, "{describe:?}");
    assert_eq!(describe.header("Content-Type"), Some("application/sdp"));
    assert_eq!(
        describe.header("Content-Base"),
        Some(format!("{url}/").as_str())
    );
    assert!(
        describe.body.contains("a=control:track0\r\n"),
        "{}",
        describe.body
    );
    assert!(describe.body.contains("a=control:*\r\n"));
    // The exact duration, as probe computes it.
    let probe = std::process::Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .args(["probe", "--sdp"])
        .arg(server.dir.path().join(MP3.0))
        .output_bounded();
    let probe_sdp = String::from_utf8(probe.stdout).unwrap();
    let range = probe_sdp
        .lines()
        .find(|l| l.starts_with("a=range:npt=0-"))
        .unwrap();
    assert!(
        describe.body.contains(range),
        "{range} in {}",
        describe.body
    );

    let setup = c.request(
        "SETUP",
        &format!("{url}/track0"),
        &[("Transport", &udp_transport(40000))],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    let session = setup.header("Session").unwrap();
    let (id, timeout) = session.split_once(';').unwrap();
    assert_eq!(timeout, "timeout=65");
    assert!(
        id.len() >= 32,
        "session id {id} is too short to be unguessable"
    );
    let transport = setup.header("Transport").unwrap();
    assert!(
        transport.starts_with("RTP/AVP;unicast;client_port=40000-40001;server_port="),
        "{transport}"
    );
    // A second session gets another id.
    let other = c.request(
        "SETUP",
        &server.url("clip.aac"),
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=4-5")],
    );
    assert_eq!(other.status, 200);
    assert_ne!(other.session(), id);
    assert!(other
        .header("Transport")
        .unwrap()
        .starts_with("RTP/AVP/TCP;unicast;interleaved=4-5;ssrc="));
    assert_eq!(c.request("TEARDOWN", &url, &[("Session", id)]).status, 200);
    assert_eq!(
        c.request("GET_PARAMETER", &url, &[("Session", id)]).status,
        454
    );
}

#[test]
fn error_statuses() {
    let server = TestServer::start(&[MP3, AAC, ("notes.mp3", "generate.sh")], &[]);
    let mut c = server.connect();
    let url = server.url("clip.aac");
    let status = |c: &mut serve_common::Rtsp, method: &str, url: &str, headers: &[(&str, &str)]| {
        c.request(method, url, headers).status
    };
    assert_eq!(
        status(&mut c, "DESCRIBE", &server.url("missing.mp3"), &[]),
        404
    );
    assert_eq!(
        status(&mut c, "DESCRIBE", &server.url("notes.mp3"), &[]),
        415
    );
    assert_eq!(
        status(&mut c, "DESCRIBE", &format!("{url}/track0"), &[]),
        404
    );
    assert_eq!(status(&mut c, "BREW", &url, &[]), 501);
    assert_eq!(status(&mut c, "ANNOUNCE", &url, &[]), 405);
    assert_eq!(status(&mut c, "RECORD", &url, &[("Session", "x")]), 405);
    assert_eq!(status(&mut c, "PLAY", &url, &[]), 454);
    assert_eq!(status(&mut c, "PLAY", &url, &[("Session", "nosuch")]), 454);
    assert_eq!(status(&mut c, "PAUSE", &url, &[("Session", "nosuch")]), 454);
    assert_eq!(
        status(
            &mut c,
            "SETUP",
            &url,
            &[("Transport", "RTP/AVP;multicast;port=5000-5001")]
        ),
        461
    );
    assert_eq!(
        status(
            &mut c,
            "SETUP",
            &url,
            &[("Transport", "RTP/SAVP;unicast;client_port=5000-5001")]
        ),
        461
    );
    assert_eq!(status(&mut c, "SETUP", &url, &[]), 461);
    assert_eq!(
        status(
            &mut c,
            "SETUP",
            &format!("{url}/track7"),
            &[("Transport", &udp_transport(5000))]
        ),
        404
    );
    let setup = c.request("SETUP", &url, &[("Transport", &udp_transport(5000))]);
    assert_eq!(setup.status, 200);
    let id = setup.session();
    let session = [("Session", id.as_str())];
    // PAUSE before PLAY: not valid in the Ready state (RFC 2326 A.2).
    assert_eq!(status(&mut c, "PAUSE", &url, &session), 455);
    for range in ["npt=99999-", "npt=5-1", "smpte=0:00:99-", "npt=abc-"] {
        assert_eq!(
            status(&mut c, "PLAY", &url, &[session[0], ("Range", range)]),
            457,
            "{range}"
        );
    }
    // A time format not served: 501 (RFC 2326 §12.29).
    for range in ["clock=19961108T143720.25Z-", "frames=1-"] {
        assert_eq!(
            status(&mut c, "PLAY", &url, &[session[0], ("Range", range)]),
            501,
            "{range}"
        );
    }
    // SMPTE timecodes are served, answered in npt; another Scale is told
    // the one it gets.
    let smpte = c.request(
        "PLAY",
        &url,
        &[
            session[0],
            ("Range", "smpte-25=0:00:01:00-"),
            ("Scale", "2.0"),
        ],
    );
    assert_eq!(smpte.status, 200);
    assert!(
        smpte.header("Range").unwrap().starts_with("npt=0.9"),
        "{smpte:?}"
    );
    assert_eq!(smpte.header("Scale"), Some("1"));
    assert_eq!(status(&mut c, "PAUSE", &url, &session), 200);
    // Another file in the same session: no aggregate of unrelated files.
    assert_eq!(
        status(
            &mut c,
            "SETUP",
            &server.url("music/song%20one.mp3"),
            &[session[0], ("Transport", &udp_transport(5002))]
        ),
        459
    );
    assert_eq!(status(&mut c, "GET_PARAMETER", &url, &session), 200);
    let require = c.request("OPTIONS", &url, &[("Require", "implicit-play")]);
    assert_eq!(require.status, 551);
    assert_eq!(require.header("Unsupported"), Some("implicit-play"));
    assert_eq!(status(&mut c, "SET_PARAMETER", &url, &session), 200);

    // Requests the codec must refuse.
    c.send(b"OPTIONS * RTSP/1.0\r\n\r\n");
    assert_eq!(c.read_reply().unwrap().status, 400, "no CSeq");
    c.send(b"OPTIONS * RTSP/2.0\r\nCSeq: 77\r\n\r\n");
    let reply = c.read_reply().unwrap();
    assert_eq!((reply.status, reply.header("CSeq")), (505, Some("77")));
    // The connection still works after both.
    assert_eq!(status(&mut c, "OPTIONS", "*", &[]), 200);
}

#[test]
fn request_uris_are_checked_and_never_echo_credentials() {
    let server = TestServer::start(&[MP3, AAC], &[]);
    let mut c = server.connect();
    let url = server.url("clip.aac");
    // A bare relative path: the Content-Base still names the file.
    let relative = c.request("DESCRIBE", "clip.aac", &[]);
    assert_eq!(relative.status, 200);
    let base = format!("{url}/");
    assert_eq!(relative.header("Content-Base"), Some(base.as_str()));
    // Credentials in the URL are not repeated in what the server sends.
    let with_user = url.replace("rtsp://", "rtsp://alice:secret@");
    let describe = c.request("DESCRIBE", &with_user, &[]);
    assert_eq!(describe.header("Content-Base"), Some(base.as_str()));
    let setup = c.request("SETUP", &with_user, &[("Transport", &udp_transport(9300))]);
    let play = c.request("PLAY", &with_user, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200);
    assert!(
        !play.header("RTP-Info").unwrap().contains("secret"),
        "{play:?}"
    );
    // Another scheme is not ours.
    assert_eq!(
        c.request("DESCRIBE", &url.replace("rtsp://", "http://"), &[])
            .status,
        400
    );
    // A session is driven by its own file's URL only.
    let other = server.url("music/song%20one.mp3");
    for method in ["PLAY", "PAUSE", "TEARDOWN"] {
        assert_eq!(
            c.request(method, &other, &[("Session", &setup.session())])
                .status,
            454,
            "{method}"
        );
    }
    assert_eq!(
        c.request("TEARDOWN", &url, &[("Session", &setup.session())])
            .status,
        200
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(&[AAC], &[]);
    let mut c = server.connect();
    let url = server.url("clip.aac");
    let mut batch = String::new();
    for (cseq, method) in ["OPTIONS", "DESCRIBE", "GET_PARAMETER", "OPTIONS"]
        .iter()
        .enumerate()
    {
        batch.push_str(&format!(
            "{method} {url} RTSP/1.0\r\nCSeq: {}\r\n\r\n",
            cseq + 10
        ));
    }
    c.send(batch.as_bytes());
    for cseq in 10..14 {
        let reply = c.read_reply().unwrap();
        assert_eq!(reply.header("CSeq"), Some(cseq.to_string().as_str()));
        assert_eq!(reply.status, 200);
    }
}

#[test]
fn nothing_outside_the_directory_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir(&media).unwrap();
    std::fs::copy(serve_common::fixtures().join(AAC.1), media.join("ok.aac")).unwrap();
    let secret = dir.path().join("secret.aac");
    std::fs::copy(serve_common::fixtures().join(AAC.1), &secret).unwrap();
    std::os::unix::fs::symlink(&secret, media.join("link.aac")).unwrap();
    std::os::unix::fs::symlink(dir.path(), media.join("up")).unwrap();
    // Serve the "media" subdirectory: "secret.aac" is one level up.
    let server = TestServer::start_sub(dir, "media", &[]);
    let mut c = server.connect();
    assert_eq!(
        c.request("DESCRIBE", &server.url("ok.aac"), &[]).status,
        200
    );
    let secret_path = secret.to_str().unwrap().to_owned();
    for path in [
        "../secret.aac".to_owned(),
        "%2e%2e/secret.aac".into(),
        "%2E%2E%2Fsecret.aac".into(),
        "..%2f..%2fsecret.aac".into(),
        "ok.aac/../../secret.aac".into(),
        "link.aac".into(),
        "up/secret.aac".into(),
        secret_path.clone(),
        format!("/{secret_path}"),
        "ok.aac%00".into(),
        "..\\secret.aac".into(),
    ] {
        let url = format!("rtsp://127.0.0.1:{}/{path}", server.port);
        for method in ["DESCRIBE", "SETUP"] {
            let reply = c.request(method, &url, &[("Transport", &udp_transport(6000))]);
            assert!(
                reply.status == 404 || reply.status == 400,
                "{method} {url} -> {}",
                reply.status
            );
        }
    }
}

#[test]
fn broken_clients_do_not_affect_others() {
    let server = TestServer::start(&[AAC], &[]);
    let mut good = server.connect();
    let setup = good.request(
        "SETUP",
        &server.url("clip.aac"),
        &[("Transport", &udp_transport(7000))],
    );
    let id = setup.session();

    let mut garbage = server.connect();
    garbage.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n");
    assert_eq!(garbage.read_reply().unwrap().status, 400);
    assert!(garbage.is_closed(Duration::from_secs(5)));

    // An `rtsps://` client on the plain port: answered and closed at once,
    // although its ClientHello holds no line end.
    let mut tls = server.connect();
    tls.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03");
    assert_eq!(tls.read_reply().unwrap().status, 400);
    assert!(tls.is_closed(Duration::from_secs(2)));

    let mut huge = server.connect();
    let mut request = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".to_vec();
    request.extend(std::iter::repeat_n(b"X-Junk: aaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 300).flatten());
    request.extend(b"\r\n");
    huge.send(&request);
    assert_eq!(huge.read_reply().unwrap().status, 400);
    assert!(huge.is_closed(Duration::from_secs(5)));

    let mut big_body = server.connect();
    big_body.send(b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 1\r\nContent-Length: 100000\r\n\r\n");
    assert_eq!(big_body.read_reply().unwrap().status, 413);
    assert!(big_body.is_closed(Duration::from_secs(5)));

    // A client that vanishes mid-request.
    let mut half = server.connect();
    half.send(b"DESCRIBE rtsp://127.0.0.1/clip.aac RTSP/1.0\r\nCSe");
    drop(half);

    // The first client and a new one are unaffected.
    let keepalive = good.request(
        "GET_PARAMETER",
        &server.url("clip.aac"),
        &[("Session", &id)],
    );
    assert_eq!(keepalive.status, 200);
    let mut fresh = server.connect();
    assert_eq!(
        fresh
            .request("DESCRIBE", &server.url("clip.aac"), &[])
            .status,
        200
    );
}

#[test]
fn a_request_left_unfinished_is_dropped_after_the_request_timeout() {
    let server = TestServer::with_config(&[AAC], "request_timeout: 1\n");
    let url = server.url(AAC.0);
    let mut slow = server.connect();
    slow.send(format!("DESCRIBE {url} RTSP/1.0\r\nCSe").as_bytes());
    // An idle connection with nothing pending stays (the idle timeout is
    // 65 s), and requests sent in time are answered.
    let mut idle = server.connect();
    let started = std::time::Instant::now();
    assert!(
        slow.is_closed(Duration::from_secs(5)),
        "the half request held its connection"
    );
    // Well before the 65 s idle timeout (the request timeout is 1 s,
    // checked every 0.5 s).
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(idle.request("DESCRIBE", &url, &[]).status, 200);
}

#[test]
fn past_max_sessions_setup_gets_503_until_one_ends() {
    let server = TestServer::with_config(&[AAC], "max_sessions: 1\n");
    let url = server.url(AAC.0);
    let mut c = server.connect();
    let first = c.request("SETUP", &url, &[("Transport", &udp_transport(9200))]);
    assert_eq!(first.status, 200);
    let refused = c.request("SETUP", &url, &[("Transport", &udp_transport(9202))]);
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("Retry-After"), Some("5"));
    let teardown = c.request("TEARDOWN", &url, &[("Session", &first.session())]);
    assert_eq!(teardown.status, 200);
    let again = c.request("SETUP", &url, &[("Transport", &udp_transport(9204))]);
    assert_eq!(again.status, 200);
}

#[test]
fn digest_authentication() {
    let server = TestServer::start(
        &[AAC, ("other.aac", "audio_44k_stereo.aac")],
        &["--user", "alice:wonder land", "--user", "bob:pw"],
    );
    let url = server.url("clip.aac");
    let mut c = server.connect();
    // OPTIONS is open; everything else asks for credentials.
    assert_eq!(c.request("OPTIONS", &url, &[]).status, 200);
    let challenge = c.request("DESCRIBE", &url, &[]);
    assert_eq!(challenge.status, 401);
    let offers = challenge.all("WWW-Authenticate");
    assert_eq!(
        offers.len(),
        2,
        "{offers:?}: digest SHA-256 and MD5, no Basic"
    );
    assert!(offers[0].contains("algorithm=SHA-256"));
    assert!(offers[1].contains("algorithm=MD5"));
    assert!(offers
        .iter()
        .all(|o| o.starts_with("Digest realm=\"mediatool\"")));

    let auth = |method: &str, user: &str, password: &str| {
        digest_authorization(offers[1], user, password, method, &url)
    };
    let wrong = auth("DESCRIBE", "alice", "guess");
    assert_eq!(
        c.request("DESCRIBE", &url, &[("Authorization", &wrong)])
            .status,
        401
    );
    let right = auth("DESCRIBE", "alice", "wonder land");
    let describe = c.request("DESCRIBE", &url, &[("Authorization", &right)]);
    assert_eq!(describe.status, 200);
    // A captured response opens nothing else: computed for clip.aac, it is
    // refused for another file, even on the connection it was sent on
    // (RFC 7616 §3.4.6).
    let other = server.url("other.aac");
    let replayed = c.request("DESCRIBE", &other, &[("Authorization", &right)]);
    assert_eq!(replayed.status, 400);
    let basic = "Basic YWxpY2U6d29uZGVyIGxhbmQ="; // alice:wonder land
    assert_eq!(
        c.request("DESCRIBE", &url, &[("Authorization", basic)])
            .status,
        401
    );

    // A session belongs to its user: bob can't use alice's, even knowing its id.
    let setup = c.request(
        "SETUP",
        &url,
        &[
            ("Authorization", &auth("SETUP", "alice", "wonder land")),
            ("Transport", &udp_transport(8000)),
        ],
    );
    assert_eq!(setup.status, 200);
    let id = setup.session();
    let mut bob = server.connect();
    let as_bob = bob.request(
        "GET_PARAMETER",
        &url,
        &[
            ("Session", &id),
            ("Authorization", &auth("GET_PARAMETER", "bob", "pw")),
        ],
    );
    assert_eq!(as_bob.status, 454);
    let anonymous = bob.request("TEARDOWN", &url, &[("Session", &id)]);
    assert_eq!(anonymous.status, 401);
    // Alice from another connection may.
    let mut alice2 = server.connect();
    let again = alice2.request(
        "GET_PARAMETER",
        &url,
        &[
            ("Session", &id),
            (
                "Authorization",
                &auth("GET_PARAMETER", "alice", "wonder land"),
            ),
        ],
    );
    assert_eq!(again.status, 200);
}

#[test]
fn basic_authentication_only_when_configured() {
    let server = TestServer::with_config(
        &[AAC],
        "users:\n  - {name: alice, password: wonder land}\nbasic_auth: true\nrealm: home\n",
    );
    let url = server.url("clip.aac");
    let mut c = server.connect();
    let challenge = c.request("DESCRIBE", &url, &[]);
    let offers = challenge.all("WWW-Authenticate");
    assert_eq!(offers.len(), 3);
    assert_eq!(offers[2], "Basic realm=\"home\"");
    let basic = "Basic YWxpY2U6d29uZGVyIGxhbmQ=";
    assert_eq!(
        c.request("DESCRIBE", &url, &[("Authorization", basic)])
            .status,
        200
    );
}

#[test]
fn sessions_time_out_and_keepalives_extend_them() {
    let server = TestServer::start(&[AAC], &["--reclaim", "2"]);
    let url = server.url("clip.aac");
    let mut c = server.connect();
    let kept = c.request("SETUP", &url, &[("Transport", &udp_transport(9000))]);
    assert_eq!(
        kept.header("Session").unwrap(),
        format!("{};timeout=2", kept.session())
    );
    let dropped = c.request("SETUP", &url, &[("Transport", &udp_transport(9002))]);
    for _ in 0..6 {
        std::thread::sleep(Duration::from_millis(500));
        let keepalive = c.request("GET_PARAMETER", &url, &[("Session", &kept.session())]);
        assert_eq!(keepalive.status, 200);
    }
    assert_eq!(
        c.request("OPTIONS", &url, &[("Session", &kept.session())])
            .status,
        200
    );
    assert_eq!(
        c.request("GET_PARAMETER", &url, &[("Session", &dropped.session())])
            .status,
        454,
        "an idle session outlived --reclaim"
    );
}

#[test]
fn closing_the_connection_ends_its_interleaved_sessions() {
    let server = TestServer::start(&[AAC], &[]);
    let url = server.url("clip.aac");
    let mut first = server.connect();
    let tcp = first.request(
        "SETUP",
        &url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    let udp = first.request("SETUP", &url, &[("Transport", &udp_transport(9100))]);
    // Sessions of an open server may be used from another connection.
    let mut second = server.connect();
    let header = [("Session", tcp.session())];
    let header: Vec<(&str, &str)> = header.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(second.request("GET_PARAMETER", &url, &header).status, 200);
    drop(first);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(second.request("GET_PARAMETER", &url, &header).status, 454);
    // A UDP session outlives its connection (until --reclaim).
    assert_eq!(
        second
            .request("GET_PARAMETER", &url, &[("Session", &udp.session())])
            .status,
        200
    );
}

#[test]
fn many_sessions_leave_no_file_descriptors_or_threads_behind() {
    let server = TestServer::start(&[AAC], &[]);
    let url = server.url("clip.aac");
    // Warm up: the first DESCRIBE inspects the file, the first SETUP
    // starts the blocking pool.
    let mut c = server.connect();
    c.request("DESCRIBE", &url, &[]);
    drop(c);
    std::thread::sleep(Duration::from_millis(300));
    let fds = server.open_fds();
    for round in 0..40 {
        let mut c = server.connect();
        let transport = if round % 2 == 0 {
            udp_transport(10000 + round * 2)
        } else {
            "RTP/AVP/TCP;unicast".to_owned()
        };
        let setup = c.request("SETUP", &url, &[("Transport", &transport)]);
        assert_eq!(setup.status, 200);
        if round % 4 == 0 {
            let teardown = c.request("TEARDOWN", &url, &[("Session", &setup.session())]);
            assert_eq!(teardown.status, 200);
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(server.open_fds(), fds, "file descriptors leaked");
}

#[test]
fn configuration_errors_are_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "port: 8554\nrelam: typo\n").unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .arg("serve")
            .arg(dir.path())
            .args(args)
            .output_bounded()
    };
    let out = run(&["--config", config.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.starts_with("error: ") && stderr.contains("relam"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    for (args, named) in [
        (&["--tls-cert", "a.pem", "--tls-key", "b.pem"][..], "a.pem"),
        (&["--tls-port", "0"], "tls_cert"),
        (&["--srtp"], "srtp needs tls_cert and tls_key"),
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(named),
            "{args:?}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = run(&["--user", "nocolon", "--port", "0"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("NAME:PASSWORD"));
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .args(["serve", "/nonexistent/dir", "--port", "0"])
        .output_bounded();
    assert!(!missing.status.success());
}

#[test]
fn start_up_lines_and_clean_shutdown() {
    let mut server = TestServer::start(&[MP3, AAC, ("readme.txt", "generate.sh")], &[]);
    assert_eq!(
        server.lines,
        [
            server.url(""),
            server.url("clip.aac"),
            server.url("music/song%20one.mp3")
        ]
    );
    let mut c = server.connect();
    let setup = c.request(
        "SETUP",
        &server.url("clip.aac"),
        &[("Transport", &udp_transport(11000))],
    );
    assert_eq!(setup.status, 200);
    let status = server.terminate();
    assert!(status.success(), "{status:?}: {}", server.log());
    assert!(
        server.log().contains("ended 1 sessions"),
        "{}",
        server.log()
    );
}

#[test]
fn a_changed_file_is_described_afresh() {
    let server = TestServer::start(&[("clip", "audio_48k_mono.aac")], &[]);
    let url = server.url("clip");
    let mut c = server.connect();
    let before = c.request("DESCRIBE", &url, &[]);
    assert!(
        before.body.contains("mpeg4-generic/48000/1"),
        "{}",
        before.body
    );
    // Replaced by an MP3 of another length: a new description, not the
    // cached one.
    let path = server.dir.path().join("clip");
    std::fs::copy(serve_common::fixtures().join("audio_44k_stereo.mp3"), &path).unwrap();
    let after = c.request("DESCRIBE", &url, &[]);
    assert_eq!(after.status, 200);
    assert!(after.body.contains("MPA/90000"), "{}", after.body);
    assert_ne!(
        before.body.lines().find(|l| l.starts_with("a=range")),
        after.body.lines().find(|l| l.starts_with("a=range"))
    );
    // Broken now: 415, and fine again once repaired.
    std::fs::write(&path, b"not media at all").unwrap();
    assert_eq!(c.request("DESCRIBE", &url, &[]).status, 415);
    std::fs::copy(serve_common::fixtures().join("audio_48k_mono.aac"), &path).unwrap();
    // The same description again, but for its version (o=), the file's time.
    let without_origin = |sdp: &str| -> Vec<String> {
        sdp.lines()
            .filter(|l| !l.starts_with("o="))
            .map(str::to_owned)
            .collect()
    };
    let repaired = c.request("DESCRIBE", &url, &[]);
    assert_eq!(without_origin(&repaired.body), without_origin(&before.body));
}

/// A rewrite that keeps the size and sets the modification time back (as
/// `cp -p`, `rsync -t` and `tar` do) is a change too.
#[test]
fn a_same_size_rewrite_with_its_old_time_is_described_afresh() {
    let server = TestServer::start(&[("w.wav", "wav_s16_44k_stereo.wav")], &[]);
    let url = server.url("w.wav");
    let mut c = server.connect();
    let before = c.request("DESCRIBE", &url, &[]);
    assert!(before.body.contains("/44100/2"), "{}", before.body);
    let path = server.dir.path().join("w.wav");
    let old_time = std::fs::metadata(&path).unwrap().modified().unwrap();
    // The same bytes but for the sample rate and byte rate of the `fmt `
    // chunk (bytes 24-31): 48 kHz.
    let mut bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[12..16], b"fmt ");
    bytes[24..28].copy_from_slice(&48_000u32.to_le_bytes());
    bytes[28..32].copy_from_slice(&(48_000u32 * 4).to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    file.set_modified(old_time).unwrap();
    drop(file);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        old_time
    );
    let after = c.request("DESCRIBE", &url, &[]);
    assert!(after.body.contains("/48000/2"), "{}", after.body);
}

/// A parameter of a `Transport` header (`name=value`).
fn transport_param<'a>(transport: &'a str, name: &str) -> Option<&'a str> {
    transport
        .split(';')
        .find_map(|field| field.strip_prefix(name)?.strip_prefix('='))
}

#[test]
fn multicast_leases_a_group_of_the_range_per_track_and_sends_there() {
    let server = TestServer::start(
        &[AAC],
        &["--multicast", "239.255.77.0/30", "--multicast-ttl", "2"],
    );
    let url = server.url("clip.aac");
    let mut c = server.connect();
    // The server decides where media goes: a requested destination, port
    // and TTL are not followed.
    let ask = [(
        "Transport",
        "RTP/AVP;multicast;destination=192.0.2.99;port=9000-9001;ttl=200",
    )];
    let mut leased = Vec::new();
    for _ in 0..4 {
        let setup = c.request("SETUP", &url, &ask);
        assert_eq!(setup.status, 200, "{setup:?}");
        let transport = setup.header("Transport").unwrap().to_owned();
        assert!(transport.starts_with("RTP/AVP;multicast;"), "{transport}");
        assert_eq!(transport_param(&transport, "ttl"), Some("2"), "{transport}");
        let group: std::net::Ipv4Addr = transport_param(&transport, "destination")
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(group.octets()[..3], [239, 255, 77], "{transport}");
        let (rtp, rtcp) = transport_param(&transport, "port")
            .unwrap()
            .split_once('-')
            .unwrap();
        let (rtp, rtcp): (u16, u16) = (rtp.parse().unwrap(), rtcp.parse().unwrap());
        assert!(rtp % 2 == 0 && rtcp == rtp + 1, "{transport}");
        let ssrc = u32::from_str_radix(transport_param(&transport, "ssrc").unwrap(), 16).unwrap();
        leased.push((setup.session(), group, rtp, ssrc));
    }
    let groups: std::collections::HashSet<_> = leased.iter().map(|l| l.1).collect();
    let ports: std::collections::HashSet<_> = leased.iter().map(|l| l.2).collect();
    assert_eq!((groups.len(), ports.len()), (4, 4), "{leased:?}");
    // The range is used up; unicast still works.
    assert_eq!(c.request("SETUP", &url, &ask).status, 453);
    let unicast = c.request("SETUP", &url, &[("Transport", &udp_transport(12000))]);
    assert_eq!(unicast.status, 200);
    // A torn-down track gives its group back.
    let (first, ..) = &leased[0];
    assert_eq!(
        c.request("TEARDOWN", &url, &[("Session", first)]).status,
        200
    );
    let again = c.request("SETUP", &url, &ask);
    assert_eq!(again.status, 200);
    let transport = again.header("Transport").unwrap().to_owned();
    let group: std::net::Ipv4Addr = transport_param(&transport, "destination")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(group, leased[0].1, "the only free group");

    // The media goes to the group: the server is bound to 127.0.0.1, so
    // it leaves by the loopback interface, where this receiver joins.
    let (session, group, port, ssrc) = &leased[3];
    let receiver = std::net::UdpSocket::bind((*group, *port)).unwrap();
    receiver
        .join_multicast_v4(group, &std::net::Ipv4Addr::LOCALHOST)
        .unwrap();
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let play = c.request("PLAY", &url, &[("Session", session)]);
    assert_eq!(play.status, 200);
    let mut packet = [0u8; 2048];
    for _ in 0..5 {
        let len = receiver.recv(&mut packet).expect("no RTP on the group");
        assert!(len > 12 && packet[0] >> 6 == 2, "not RTP");
        assert_eq!(u32::from_be_bytes(packet[8..12].try_into().unwrap()), *ssrc);
    }
}

/// 8-bit WAV is described and sent as L16 by default (each sample
/// widened, `(u8 - 128) << 8`: ffmpeg has no L8 depacketizer), as L8 (the
/// file's bytes) with `pcm8: l8`; `probe --sdp` (`--pcm8 l8`) shows the
/// same `a=rtpmap`.
#[test]
fn eight_bit_pcm_is_sent_as_l16_unless_pcm8_is_l8() {
    const U8: (&str, &str) = ("u8.wav", "wav_u8_8k_mono.wav");
    let mut demuxer = mediatool::media::open(&common::fixtures().join(U8.1)).unwrap();
    let first_unit = demuxer.read_unit().unwrap().unwrap().data;
    // 20 ms packets at 8 kHz: 160 samples.
    let first_samples = &first_unit[..first_unit.len().min(160)];
    let widened: Vec<u8> = first_samples
        .iter()
        .flat_map(|&s| ((i16::from(s) - 128) << 8).to_be_bytes())
        .collect();
    for (yaml, probe_args, rtpmap, first_payload) in [
        ("", &[][..], "L16/8000/1", widened),
        (
            "pcm8: l8\n",
            &["--pcm8", "l8"][..],
            "L8/8000/1",
            first_samples.to_vec(),
        ),
    ] {
        let server = TestServer::with_config(&[U8], yaml);
        let mut c = server.connect();
        let url = server.url(U8.0);
        let describe = c.request("DESCRIBE", &url, &[]);
        assert_eq!(describe.status, 200, "{describe:?}");
        let line = describe
            .body
            .lines()
            .find(|l| l.starts_with("a=rtpmap:"))
            .unwrap();
        assert!(line.ends_with(rtpmap), "{yaml:?}: {line}");
        let probe = std::process::Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .args(["probe", "--sdp"])
            .args(probe_args)
            .arg(server.dir.path().join(U8.0))
            .output_bounded();
        let probe_sdp = String::from_utf8(probe.stdout).unwrap();
        assert!(
            probe_sdp.lines().any(|l| l == line),
            "{probe_args:?}: {probe_sdp}"
        );
        let setup = c.request(
            "SETUP",
            &format!("{url}/track0"),
            &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
        );
        assert_eq!(setup.status, 200, "{setup:?}");
        let id = setup.session();
        c.send_request("PLAY", &url, &[("Session", &id)]);
        // The PLAY answer, then the first packet on channel 0.
        let packet = std::iter::from_fn(|| c.read_item())
            .find_map(|item| match item {
                serve_common::Item::Frame(0, packet) => Some(packet),
                _ => None,
            })
            .expect("an RTP packet");
        assert_eq!(&packet[12..], &first_payload[..], "{yaml:?}");
    }
}
