//! One file, one URL: the server's start-up list and a capture's synthetic
//! RTSP exchange spell a file's URL alike, whatever its name holds.

use std::path::Path;

use mediatool::pcap::rtsp::RtspSession;
use mediatool::server::paths;

/// The URL a capture of `name` announces, from a server at `server`.
fn capture_url(server: &str, name: &str) -> String {
    RtspSession {
        server: server.parse().unwrap(),
        client: "127.0.0.2".parse().unwrap(),
        destination: "127.0.0.2".parse().unwrap(),
        ttl: 1,
        path: name.into(),
        sdp: String::new(),
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
