//! Binding the RTSP port (with live555MediaServer's 554 -> 8554 fallback),
//! accepting connections, and the start-up lines naming what is served.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::TcpListener;

use super::paths;

/// The default RTSP port (RFC 2326 §3.2) and the fallback when it cannot
/// be bound (no root), as live555MediaServer does.
pub const DEFAULT_PORTS: [u16; 2] = [554, 8554];

/// The default RTSPS port (IANA's `rtsps`, RFC 7826 §19.2) and its
/// fallback, on the pattern of the RTSP port's.
pub const TLS_PORTS: [u16; 2] = [322, 8322];

/// The RTSP-over-HTTP ports tried in turn, as live555MediaServer does.
pub const HTTP_PORTS: [u16; 3] = [80, 8000, 8080];

/// Binds a listener on every address in `addrs`, all on one port: `port`
/// if given (0 picks a free one), else 554 or, failing that, 8554.
pub fn bind(addrs: &[IpAddr], port: Option<u16>) -> anyhow::Result<Vec<TcpListener>> {
    match port {
        Some(port) => {
            bind_all(addrs, port).map_err(|e| anyhow::anyhow!("cannot listen on port {port}: {e}"))
        }
        None => bind_first(addrs, &DEFAULT_PORTS),
    }
}

/// Binds every address in `addrs` on the first of `ports` where all bind.
pub fn bind_first(addrs: &[IpAddr], ports: &[u16]) -> anyhow::Result<Vec<TcpListener>> {
    let mut failures = Vec::new();
    for &port in ports {
        match bind_all(addrs, port) {
            Ok(listeners) => return Ok(listeners),
            Err(e) => {
                tracing::info!("port {port} unavailable ({e})");
                failures.push(format!("{port} ({e})"));
            }
        }
    }
    anyhow::bail!("cannot listen on port {}", failures.join(" nor "))
}

/// Binds every address on `port`; with port 0 the first address picks the
/// port and the others follow (retrying if that port is taken for them).
fn bind_all(addrs: &[IpAddr], port: u16) -> io::Result<Vec<TcpListener>> {
    let mut attempts = 0;
    loop {
        let mut listeners = Vec::new();
        let mut chosen = port;
        let mut failure = None;
        for ip in addrs {
            match bind_one(SocketAddr::new(*ip, chosen)) {
                Ok(listener) => {
                    chosen = listener.local_addr()?.port();
                    listeners.push(listener);
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match failure {
            None => return Ok(listeners),
            Some(e) if port == 0 && attempts < 20 && e.kind() == io::ErrorKind::AddrInUse => {
                attempts += 1;
            }
            Some(e) => return Err(e),
        }
    }
}

fn bind_one(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    TcpListener::from_std(socket.into())
}

/// The address a listener's URLs show: a wildcard address as the loopback
/// address of its family (reachable from this machine; other machines use
/// this one's name or address instead).
pub fn shown_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

/// Most file URLs printed at start-up.
pub const LISTED_FILES: usize = 50;
/// Most directory entries looked at for that list.
const SCANNED_ENTRIES: usize = 20_000;

/// Whether `path` opens, in a format read here, with a track RTP carries.
/// Quietly: what its reader finds odd is logged when a client asks for it
/// (DESCRIBE), not over the start-up list.
fn servable(path: &Path) -> bool {
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        crate::media::open(path)
            .is_ok_and(|d| d.tracks().iter().any(|t| crate::rtp::packetizer(t).is_ok()))
    })
}

/// The URL paths of the media files under `root` (sorted, depth first; at
/// most `limit`), and how many more there are (a lower bound when the
/// scan stopped early, flagged by the third value).
pub fn media_files(root: &Path, limit: usize) -> (Vec<String>, usize, bool) {
    let mut listed = Vec::new();
    let mut more = 0;
    let mut scanned = 0;
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        entries.sort();
        let mut subdirs = Vec::new();
        for path in entries {
            scanned += 1;
            if scanned > SCANNED_ENTRIES {
                return (listed, more, true);
            }
            let Ok(canonical) = std::fs::canonicalize(&path) else {
                continue;
            };
            if !canonical.starts_with(root) {
                continue;
            }
            if canonical.is_dir() {
                // Only real subdirectories: a link back up would loop.
                if path.symlink_metadata().is_ok_and(|m| m.is_dir()) {
                    subdirs.push(path);
                }
            } else if servable(&path) {
                // Opened, not only recognized, with a track RTP carries:
                // what DESCRIBE serves (a format recognized but not read
                // yet, or a codec without a payload format, is not offered).
                if listed.len() < limit {
                    listed.extend(paths::url_path(root, &path));
                } else {
                    more += 1;
                }
            }
        }
        stack.extend(subdirs.into_iter().rev());
    }
    (listed, more, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_show_a_reachable_host() {
        let shown = |addr: &str| shown_addr(addr.parse().unwrap()).to_string();
        assert_eq!(shown("0.0.0.0:8554"), "127.0.0.1:8554");
        assert_eq!(shown("[::]:554"), "[::1]:554");
        assert_eq!(shown("10.1.2.3:99"), "10.1.2.3:99");
    }

    #[tokio::test]
    async fn port_zero_binds_every_family_on_one_port() {
        let listeners = bind(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], Some(0)).unwrap();
        let port = listeners[0].local_addr().unwrap().port();
        assert_ne!(port, 0);
        // The port is taken now: asking for it again is an error.
        let again = bind(&[IpAddr::V4(Ipv4Addr::LOCALHOST)], Some(port));
        assert!(again.is_err());
    }

    #[tokio::test]
    async fn without_a_port_554_is_tried_then_8554() {
        let loopback = [IpAddr::V4(Ipv4Addr::LOCALHOST)];
        // Hold 554 (as root), or find it unbindable (not root): either way
        // it cannot be had, and the server falls back.
        let _held = std::net::TcpListener::bind(("127.0.0.1", DEFAULT_PORTS[0]));
        if std::net::TcpListener::bind(("127.0.0.1", DEFAULT_PORTS[1])).is_err() {
            eprintln!("port 8554 is in use here: the fallback cannot be checked");
            return;
        }
        let listeners = bind(&loopback, None).unwrap();
        assert_eq!(listeners[0].local_addr().unwrap().port(), DEFAULT_PORTS[1]);
    }

    #[test]
    fn media_files_are_listed_sorted_and_capped() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        std::fs::create_dir(root.join("sub")).unwrap();
        for (name, fixture) in [
            ("b.mp3", "audio_44k_stereo.mp3"),
            ("a b.wav", "wav_u8_8k_mono.wav"),
            ("sub/c.aac", "audio_48k_mono.aac"),
        ] {
            std::fs::copy(fixtures.join(fixture), root.join(name)).unwrap();
        }
        std::fs::write(root.join("notes.txt"), "not media").unwrap();
        // Recognized (an MP4 `ftyp` box) but not a format read here.
        std::fs::write(
            root.join("clip.mp4"),
            b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2",
        )
        .unwrap();
        let (listed, more, _) = media_files(&root, 10);
        assert_eq!(listed, ["/a%20b.wav", "/b.mp3", "/sub/c.aac"]);
        assert_eq!(more, 0);
        let (listed, more, _) = media_files(&root, 1);
        assert_eq!((listed.len(), more), (1, 2));
    }
}
