//! The HTTP side of the tunnel: telling an HTTP request from an RTSP one by
//! its first bytes, reading the GET or POST head (RFC 9112 §2-§5, parsed
//! with httparse) with the limits live555 lacked, and the answers.
//!
//! Limits: a head of at most 8 KiB and 32 headers; an `x-sessioncookie` of
//! 1 to [`MAX_COOKIE_BYTES`] visible characters, given once; an `Accept`
//! of at most [`MAX_ACCEPT_BYTES`] (live555 copied both into fixed
//! buffers: CVE-2018-4013 and CVE-2019-6256's neighbours). Anything else
//! is a 400 and the connection closes.

use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Largest request head accepted.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most headers in a head.
const MAX_HEADERS: usize = 32;
/// Longest `x-sessioncookie` accepted (clients send 16 to 24 characters).
pub const MAX_COOKIE_BYTES: usize = 128;
/// Longest `Accept` accepted (clients send one media type).
pub const MAX_ACCEPT_BYTES: usize = 256;

/// What a connection's first bytes start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Opening {
    /// An HTTP GET or POST: a tunnel leg.
    Http,
    /// Anything else: RTSP (errors included, answered by the RTSP side).
    Rtsp,
}

/// What the first bytes `prefix` start, or `None` while they cannot tell
/// (`G` may be `GET ` or `GET_PARAMETER`).
pub fn opening(prefix: &[u8]) -> Option<Opening> {
    for method in [&b"GET "[..], b"POST "] {
        let n = prefix.len().min(method.len());
        if prefix[..n] == method[..n] {
            return (n == method.len()).then_some(Opening::Http);
        }
    }
    Some(Opening::Rtsp)
}

/// The two legs of a tunnel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leg {
    /// `GET`: the server-to-client leg.
    Get,
    /// `POST`: the client-to-server leg, carrying base64.
    Post,
}

/// A tunnel request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// Which leg.
    pub leg: Leg,
    /// The `x-sessioncookie` pairing the legs.
    pub cookie: String,
}

/// Why no head was read.
#[derive(Debug, PartialEq, Eq)]
pub enum HeadError {
    /// Answer this status and close.
    Refuse(u16, &'static str),
    /// Just close: the client left or the read failed.
    Gone(&'static str),
    /// Just close: the head did not come in time.
    TimedOut,
}

/// Reads a request head from `reader` into `buf` (which may hold its first
/// bytes already), in at most `timeout`; on success `buf` keeps what
/// follows the head (the start of a POST body).
pub async fn read_head<R: AsyncRead + Unpin>(
    reader: &mut R,
    buf: &mut BytesMut,
    timeout: Duration,
) -> Result<Head, HeadError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some((head, len)) = parse_head(buf)? {
            buf.advance(len);
            return Ok(head);
        }
        buf.reserve(1024);
        match tokio::time::timeout_at(deadline, reader.read_buf(buf)).await {
            Err(_) => return Err(HeadError::TimedOut),
            Ok(Ok(0)) => return Err(HeadError::Gone("closed by client")),
            Ok(Ok(_)) => {}
            Ok(Err(_)) => return Err(HeadError::Gone("read error")),
        }
    }
}

/// Parses the head at the start of `buf`: the head and its length, or
/// `None` until it is whole.
pub fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, HeadError> {
    let bad = |why| Err(HeadError::Refuse(400, why));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let len = match request.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => len,
        Ok(httparse::Status::Partial) if buf.len() <= MAX_HEAD_BYTES => return Ok(None),
        Ok(_) => return bad("request head over 8 KiB"),
        Err(httparse::Error::TooManyHeaders) => return bad("more than 32 headers"),
        Err(_) => return bad("malformed HTTP request"),
    };
    let leg = match request.method {
        Some("GET") => Leg::Get,
        Some("POST") => Leg::Post,
        _ => return Err(HeadError::Refuse(405, "only GET and POST open a tunnel")),
    };
    let mut cookie = None;
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("x-sessioncookie") {
            if cookie.is_some() {
                return bad("x-sessioncookie given twice");
            }
            let value = header.value.trim_ascii();
            if value.is_empty() || value.len() > MAX_COOKIE_BYTES {
                return bad("x-sessioncookie empty or over 128 bytes");
            }
            if !value.iter().all(u8::is_ascii_graphic) {
                return bad("x-sessioncookie with other than visible ASCII");
            }
            cookie = Some(String::from_utf8_lossy(value).into_owned());
        } else if header.name.eq_ignore_ascii_case("Accept")
            && header.value.len() > MAX_ACCEPT_BYTES
        {
            return bad("Accept over 256 bytes");
        }
    }
    match cookie {
        Some(cookie) => Ok(Some((Head { leg, cookie }, len))),
        None => bad("no x-sessioncookie: not an RTSP-over-HTTP request"),
    }
}

/// The answer opening the GET leg: no length, the connection stays open
/// for the responses and media to follow (as live555 and GStreamer's
/// server answer).
pub const GET_ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\n\
Server: mediatool\r\n\
Cache-Control: no-cache\r\n\
Pragma: no-cache\r\n\
Content-Type: application/x-rtsp-tunnelled\r\n\
\r\n";

/// An error answer, after which the connection closes.
pub fn error_answer(status: u16) -> String {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Service Unavailable",
    };
    format!(
        "HTTP/1.0 {status} {reason}\r\nServer: mediatool\r\nConnection: close\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_is_told_from_rtsp_by_its_first_bytes() {
        for (prefix, opening_) in [
            (&b"G"[..], None),
            (b"GET", None),
            (b"GET ", Some(Opening::Http)),
            (b"GET_PARAMETER", Some(Opening::Rtsp)),
            (b"PO", None),
            (b"POST /a HTTP/1.0", Some(Opening::Http)),
            (b"PLAY", Some(Opening::Rtsp)),
            (b"OPTIONS", Some(Opening::Rtsp)),
            (b"\x16\x03\x01", Some(Opening::Rtsp)),
        ] {
            assert_eq!(opening(prefix), opening_, "{prefix:?}");
        }
    }

    #[test]
    fn heads_of_real_clients_parse() {
        // ffmpeg's GET and POST (libavformat/rtsp.c), GStreamer's GET.
        let ffmpeg_get = b"GET /a.aac HTTP/1.1\r\nUser-Agent: Lavf59\r\nAccept: */*\r\n\
            Range: bytes=0-\r\nConnection: close\r\nHost: 127.0.0.1:8000\r\n\
            Icy-MetaData: 1\r\nx-sessioncookie: 1f2e3d4c5b6a7988\r\n\
            Accept: application/x-rtsp-tunnelled\r\nPragma: no-cache\r\n\
            Cache-Control: no-cache\r\n\r\n";
        let (head, len) = parse_head(ffmpeg_get).unwrap().unwrap();
        assert_eq!(len, ffmpeg_get.len());
        assert_eq!(
            head,
            Head {
                leg: Leg::Get,
                cookie: "1f2e3d4c5b6a7988".into()
            }
        );
        let post = b"POST /a.aac HTTP/1.0\r\nx-sessioncookie: 1f2e3d4c5b6a7988\r\n\
            Content-Type: application/x-rtsp-tunnelled\r\nContent-Length: 32767\r\n\
            Expires: Sun, 9 Jan 1972 00:00:00 GMT\r\n\r\nT1BUSU9OUyA";
        let (head, len) = parse_head(post).unwrap().unwrap();
        assert_eq!((head.leg, &post[len..]), (Leg::Post, &b"T1BUSU9OUyA"[..]));
        let gst = b"GET /a.aac HTTP/1.0\r\nx-sessioncookie: Qm9uam91cg\r\n\
            Accept: application/x-rtsp-tunnelled\r\n\r\n";
        assert!(parse_head(gst).unwrap().is_some());
        assert_eq!(parse_head(&gst[..20]), Ok(None));
    }

    #[test]
    fn hostile_heads_are_refused() {
        let long_cookie = format!(
            "GET / HTTP/1.0\r\nx-sessioncookie: {}\r\n\r\n",
            "a".repeat(MAX_COOKIE_BYTES + 1)
        );
        let long_accept = format!(
            "GET / HTTP/1.0\r\nx-sessioncookie: c\r\nAccept: {}\r\n\r\n",
            "x".repeat(MAX_ACCEPT_BYTES + 1)
        );
        let huge = format!("GET / HTTP/1.0\r\nX-Pad: {}", "p".repeat(MAX_HEAD_BYTES));
        let many: String = (0..40).map(|i| format!("H{i}: v\r\n")).collect();
        let many = format!("GET / HTTP/1.0\r\n{many}\r\n");
        for (head, status) in [
            (long_cookie.as_str(), 400),
            (long_accept.as_str(), 400),
            (huge.as_str(), 400),
            (many.as_str(), 400),
            ("GET / HTTP/1.0\r\n\r\n", 400),
            ("GET / HTTP/1.0\r\nx-sessioncookie:   \r\n\r\n", 400),
            (
                "GET / HTTP/1.0\r\nx-sessioncookie: a\r\nx-sessioncookie: b\r\n\r\n",
                400,
            ),
            ("PUT / HTTP/1.0\r\nx-sessioncookie: a\r\n\r\n", 405),
            ("GET / HTTP/1.0\r\nx-sessioncookie: a\x01b\r\n\r\n", 400),
            ("\x00\x01 garbage\r\n\r\n", 400),
        ] {
            match parse_head(head.as_bytes()) {
                Err(HeadError::Refuse(got, _)) => assert_eq!(got, status, "{head:?}"),
                other => panic!("{head:?}: {other:?}"),
            }
        }
        // The longest cookie and Accept allowed pass.
        let longest = format!(
            "GET / HTTP/1.0\r\nx-sessioncookie: {}\r\nAccept: {}\r\n\r\n",
            "a".repeat(MAX_COOKIE_BYTES),
            "x".repeat(MAX_ACCEPT_BYTES)
        );
        assert!(parse_head(longest.as_bytes()).unwrap().is_some());
    }
}
