//! One file, one URL: the server's start-up list and a capture's synthetic
//! RTSP exchange spell a file's URL alike, whatever its name holds.

use std::path::Path;

use mediatool::pcap::rtsp::RtspSession;
use mediatool::server::{paths, Server, ServerConfig, Settings};

/// The URL a capture of `name` announces, from a server at `server`.
fn capture_url(server: &str, name: &str) -> String {
    RtspSession {
        server: server.parse().unwrap(),
        client: "127.0.0.2".parse().unwrap(),
        destination: "127.0.0.2".parse().unwrap(),
        ttl: 1,
        path: name.into(),
        sdp: String::new(),
        profile: Default::default(),
        range: "npt=0.000-".into(),
        streams: Vec::new(),
    }
    .url()
}

#[test]
fn the_server_and_captures_spell_a_file_alike() {
    let root = Path::new("/srv/media");
    for name in [
        "plain.264",
        "two words.mp3",
        "100%.aac",
        "#1.wav",
        "what?.264",
        "é café 日本.mp3",
        "a;b,c=d.h265",
        "it's (new) [x] {y} & +1 !$*@:.aac",
        "~_-.264",
    ] {
        let listed = paths::url_path(root, &root.join(name)).unwrap();
        for server in ["127.0.0.1:554", "[::1]:8554"] {
            assert_eq!(
                format!("rtsp://{server}{listed}"),
                capture_url(server, name),
                "{name:?}"
            );
        }
        // Only unreserved characters appear unencoded (RFC 3986 §2.3).
        assert!(
            listed[1..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{listed}"
        );
    }
    assert_eq!(
        capture_url("10.0.0.1:554", "a b%#?é;.264"),
        "rtsp://10.0.0.1:554/a%20b%25%23%3F%C3%A9%3B.264"
    );
}

/// The URLs `serve` prints at start-up are those a capture announces.
#[tokio::test]
async fn the_servers_start_up_list_names_files_as_captures_do() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audio_48k_mono.aac");
    let names = ["a b%#?é;.aac", "(1) it's+1,2=3@x.aac", "plain.aac"];
    for name in names {
        std::fs::copy(&fixture, dir.path().join(name)).unwrap();
    }
    let settings = Settings {
        dir: Some(dir.path().to_path_buf()),
        port: Some(0),
        bind: Some("127.0.0.1".parse().unwrap()),
        http_port: Some(0),
        // Its default port is shared with the rest of the machine.
        admin: Some("off".into()),
        ..Settings::default()
    };
    let server = Server::bind(ServerConfig::try_from(settings).unwrap())
        .await
        .unwrap();
    let at = server.local_addrs()[0].to_string();
    let lines = server.startup_lines();
    assert_eq!(lines[0], format!("rtsp://{at}/"));
    let mut listed: Vec<&str> = lines[1..].iter().map(String::as_str).collect();
    let mut expected: Vec<String> = names.iter().map(|n| capture_url(&at, n)).collect();
    listed.sort_unstable();
    expected.sort_unstable();
    assert_eq!(listed, expected);
}
