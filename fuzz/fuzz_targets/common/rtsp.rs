//! The RTSP side of the server: the framing of a connection's bytes, the
//! headers it reads (`Transport`, `Range`, `Session`), Request-URIs mapped
//! to files, and whole connections through the server core.

use std::path::Path;
use std::sync::OnceLock;

use bytes::BytesMut;
use mediatool::rtsp::framing::{Incoming, RtspDecoder, MAX_HEADER_BYTES};
use mediatool::rtsp::message::{Method, Request};
use mediatool::rtsp::transport::{self, Header};
use mediatool::rtsp::{range, url};
use mediatool::server::offline::OfflineServer;
use mediatool::server::paths;
use tokio_util::codec::Decoder;

/// A connection's bytes through the framing: the messages do not depend on
/// how the bytes arrive (all at once, or in chunks of a size the input
/// picks), and every request read, written again, reads back the same.
pub fn request(data: &[u8]) {
    let whole = decode(data, data.len().max(1));
    // Past 8 KiB a line is judged on what has arrived: chunked input may be
    // refused for a long line before its end is seen.
    if data.len() <= MAX_HEADER_BYTES {
        let chunk = 1 + usize::from(data.first().copied().unwrap_or(0) % 16);
        let chunked = decode(data, chunk);
        assert_eq!(
            format!("{whole:?}"),
            format!("{chunked:?}"),
            "framing depends on chunking"
        );
    }
    for incoming in &whole {
        if let Incoming::Request(request) = incoming {
            let mut encoded = BytesMut::new();
            request.encode(&mut encoded);
            let again = decode(&encoded, encoded.len());
            let [Incoming::Request(again)] = &again[..] else {
                panic!("{request:?} encoded as {encoded:?} reads back as {again:?}");
            };
            assert_eq!(again.method, request.method);
            assert_eq!(again.uri, request.uri);
            assert_eq!(again.body, request.body);
            // The encoding adds Content-Length after the headers it had.
            assert_eq!(
                again.headers[..request.headers.len()],
                request.headers[..],
                "headers changed"
            );
            let _ = (request.cseq(), request.session_id());
        }
    }
}

/// The messages of `data` fed to a decoder `chunk` bytes at a time, as a
/// connection reads them, until the decoder waits for more at the end.
fn decode(data: &[u8], chunk: usize) -> Vec<Incoming> {
    let mut decoder = RtspDecoder::default();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for piece in data.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(incoming) = decoder.decode(&mut buf).expect("the decoder never fails") {
            out.push(incoming);
        }
    }
    out
}

/// Header values as a client writes them: `Transport` offers (the one
/// chosen is supported, and what the server writes reads back the same),
/// `Range` (a start never after its end), a `Session` id, a URL segment.
pub fn headers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    for offer in transport::parse_offers(&text).into_iter().flatten() {
        let written = Header {
            lower: offer.lower,
            multicast: offer.multicast,
            interleaved: offer.interleaved,
            client_port: offer.client_port,
            play: true,
            ..Header::default()
        }
        .to_string();
        let read = transport::parse_offers(&written);
        let [Ok(back)] = &read[..] else {
            panic!("{written:?} (from {offer:?}) reads back as {read:?}");
        };
        assert_eq!(
            (
                back.lower,
                back.multicast,
                back.interleaved,
                back.client_port
            ),
            (
                offer.lower,
                offer.multicast,
                offer.interleaved,
                offer.client_port
            ),
            "{written:?}"
        );
    }
    for multicast in [false, true] {
        if let Some(offer) = transport::choose(&text, multicast) {
            assert!(offer.is_supported(multicast), "{offer:?} chosen");
        }
    }
    if let Ok(range) = range::parse(&text) {
        if let (Some(start), Some(end)) = (range.start, range.end) {
            assert!(start <= end, "{text:?}: {range:?}");
        }
    }
    let request = Request::new(Method::Play, "*").with_header("Session", text.as_ref());
    if let Some(id) = request.session_id() {
        assert!(!id.is_empty() && !id.contains(';') && id.trim() == id);
    }
    let _ = url::decode_segment(&text);
}

/// A Request-URI resolved against the fixtures directory: a file found is
/// inside it, whatever `..`, encodings and links the URI holds.
pub fn url_path(data: &[u8]) {
    let root = fixtures();
    let uri = String::from_utf8_lossy(data);
    if let Ok(target) = paths::resolve(root, &uri) {
        assert!(
            target.file.starts_with(root),
            "{uri:?} resolved to {} outside {}",
            target.file.display(),
            root.display()
        );
    }
}

/// One connection's bytes through the server core without sockets
/// ([`OfflineServer`]): requests of every method, sessions over TCP and
/// multicast, playing, pausing, seeking and ending with the connection.
pub fn serve(data: &[u8]) {
    static SERVER: OnceLock<OfflineServer> = OnceLock::new();
    let server = SERVER.get_or_init(|| OfflineServer::new(fixtures()).expect("offline server"));
    let _ = server.exchange(data);
}

/// The repository's `fixtures/`, canonical, from the fuzz crate or the
/// main one.
fn fixtures() -> &'static Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        [manifest.join("fixtures"), manifest.join("../fixtures")]
            .into_iter()
            .find_map(|dir| std::fs::canonicalize(dir).ok())
            .expect("the fixtures directory")
    })
}
