//! The little HTTP/1.1 the admin listener speaks (RFC 9112): one request
//! per connection, its head parsed with httparse, a body only as long as
//! `Content-Length` says and small, and an answer with `Content-Length`
//! and `Connection: close`. Prometheus, kubelet probes and curl need no
//! more, and a web framework would bring its own HTTP stack beside the
//! server's (see /work/shared/dependencies.md).
//!
//! Bounds: a head of at most [`MAX_HEAD_BYTES`] and [`MAX_HEADERS`]
//! headers (431 otherwise), a body of at most [`MAX_BODY_BYTES`] (413),
//! read in the request timeout; anything malformed is a 400. Each of
//! those closes the connection, as every answer does.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head read.
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Most headers in a head.
const MAX_HEADERS: usize = 32;
/// Largest request body read (and thrown away: no endpoint takes one).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A request head.
#[derive(Debug, PartialEq, Eq)]
pub struct Head {
    /// The method, as sent.
    pub method: String,
    /// The request target, as sent (path and query).
    pub target: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
}

/// Why no request was read.
#[derive(Debug, PartialEq, Eq)]
pub enum ReadError {
    /// Answer this and close.
    Refuse(Answer),
    /// Just close: the client left, or took too long.
    Gone,
}

/// Reads one request (head and body) from `stream` within `timeout`.
pub async fn read_request<S: AsyncRead + Unpin>(
    stream: &mut S,
    timeout: Duration,
) -> Result<Head, ReadError> {
    tokio::time::timeout(timeout, read(stream))
        .await
        .unwrap_or(Err(ReadError::Gone))
}

async fn read<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Head, ReadError> {
    let mut buf = BytesMut::with_capacity(1024);
    let (head, head_len, body_len) = loop {
        if stream
            .read_buf(&mut buf)
            .await
            .map_err(|_| ReadError::Gone)?
            == 0
        {
            return Err(ReadError::Gone);
        }
        match parse(&buf)? {
            Some(parsed) => break parsed,
            None if buf.len() >= MAX_HEAD_BYTES => {
                return Err(ReadError::Refuse(Answer::error(
                    431,
                    "request head too large",
                )))
            }
            None => {
                // Never read far past the limit.
                buf.reserve(1024.min(MAX_HEAD_BYTES + 1 - buf.len()));
            }
        }
    };
    // The body is read to its end, so that closing does not reset the
    // connection under the answer (RFC 9112 §9.6).
    let mut left = (head_len + body_len).saturating_sub(buf.len());
    let mut sink = [0u8; 4096];
    while left > 0 {
        let n = stream
            .read(&mut sink[..left.min(4096)])
            .await
            .map_err(|_| ReadError::Gone)?;
        if n == 0 {
            return Err(ReadError::Gone);
        }
        left -= n;
    }
    Ok(head)
}

/// Parses a complete head from `buf`: the head, its length and the body's
/// length; `None` while incomplete.
fn parse(buf: &[u8]) -> Result<Option<(Head, usize, usize)>, ReadError> {
    let bad = |why| ReadError::Refuse(Answer::error(400, why));
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    let head_len = match request.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(ReadError::Refuse(Answer::error(431, "too many headers")))
        }
        Err(_) => return Err(bad("malformed request")),
    };
    let (Some(method), Some(target)) = (request.method, request.path) else {
        return Err(bad("malformed request"));
    };
    let mut authorization = None;
    let mut body_len = 0;
    for header in request.headers.iter() {
        let value = || std::str::from_utf8(header.value).map_err(|_| bad("header is not UTF-8"));
        if header.name.eq_ignore_ascii_case("Transfer-Encoding") {
            return Err(bad("Transfer-Encoding is not accepted"));
        } else if header.name.eq_ignore_ascii_case("Content-Length") {
            body_len = value()?
                .trim()
                .parse::<usize>()
                .map_err(|_| bad("bad Content-Length"))?;
            if body_len > MAX_BODY_BYTES {
                return Err(ReadError::Refuse(Answer::error(413, "body too large")));
            }
        } else if header.name.eq_ignore_ascii_case("Authorization") {
            authorization = Some(value()?.to_owned());
        }
    }
    Ok(Some((
        Head {
            method: method.to_owned(),
            target: target.to_owned(),
            authorization,
        },
        head_len,
        body_len,
    )))
}

/// An answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(&'static str, String)>,
    /// The content type of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

impl Answer {
    /// `status` with a JSON body.
    pub fn json(status: u16, body: String) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            content_type: "application/json",
            body,
        }
    }

    /// `status` with `{"error": why}`.
    pub fn error(status: u16, why: &str) -> Answer {
        Answer::json(status, serde_json::json!({ "error": why }).to_string())
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Answer {
        self.headers.push((name, value.into()));
        self
    }

    /// Writes the answer (its head only for `HEAD`) and closes, within
    /// `timeout`.
    pub async fn write<S: AsyncWrite + Unpin>(
        &self,
        stream: &mut S,
        head_only: bool,
        timeout: Duration,
    ) {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        // A 204 has no content, not even its length (RFC 9110 §8.6).
        if self.status != 204 {
            out.push_str(&format!(
                "Content-Type: {}\r\nContent-Length: {}\r\n",
                self.content_type,
                self.body.len()
            ));
        }
        out.push_str("Cache-Control: no-store\r\nConnection: close\r\n");
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        if !head_only {
            out.push_str(&self.body);
        }
        let _ = tokio::time::timeout(timeout, async {
            stream.write_all(out.as_bytes()).await?;
            stream.shutdown().await
        })
        .await;
    }
}

/// The reason phrases of the statuses answered (RFC 9110 §15).
fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        422 => "Unprocessable Content",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_from(input: &[u8]) -> Result<Head, ReadError> {
        let (mut client, mut server) = tokio::io::duplex(1 << 20);
        client.write_all(input).await.unwrap();
        drop(client);
        read_request(&mut server, Duration::from_secs(1)).await
    }

    fn status(result: Result<Head, ReadError>) -> Option<u16> {
        match result {
            Err(ReadError::Refuse(answer)) => Some(answer.status),
            _ => None,
        }
    }

    #[tokio::test]
    async fn heads_and_bodies() {
        let head =
            read_from(b"GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization: Basic eA==\r\n\r\n")
                .await
                .unwrap();
        assert_eq!(
            head,
            Head {
                method: "GET".into(),
                target: "/metrics?x=1".into(),
                authorization: Some("Basic eA==".into())
            }
        );
        let post = read_from(b"POST /api/v1/reload HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello")
            .await
            .unwrap();
        assert_eq!(post.method, "POST");
        // A body cut short: the client left.
        let cut = read_from(b"POST / HTTP/1.1\r\nContent-Length: 50\r\n\r\nhello").await;
        assert_eq!(cut, Err(ReadError::Gone));
    }

    #[tokio::test]
    async fn hostile_heads_are_refused() {
        let huge = format!(
            "GET / HTTP/1.1\r\nX: {}\r\n\r\n",
            "a".repeat(MAX_HEAD_BYTES)
        );
        assert_eq!(status(read_from(huge.as_bytes()).await), Some(431));
        let endless = format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(10 * MAX_HEAD_BYTES));
        assert_eq!(status(read_from(endless.as_bytes()).await), Some(431));
        let many: String = (0..40).map(|i| format!("X{i}: y\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(status(read_from(many.as_bytes()).await), Some(431));
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"\x00\x01\x02 / HTTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"GET / HTTP/1.1\r\nAuthorization: \xff\r\n\r\n",
        ] {
            assert_eq!(status(read_from(bad).await), Some(400), "{bad:?}");
        }
        let big_body = b"POST / HTTP/1.1\r\nContent-Length: 9999999\r\n\r\n";
        assert_eq!(status(read_from(big_body).await), Some(413));
        assert_eq!(read_from(b"GET / HT").await, Err(ReadError::Gone));
    }

    #[tokio::test]
    async fn a_silent_client_times_out() {
        let (_client, mut server) = tokio::io::duplex(1024);
        let started = std::time::Instant::now();
        let result = read_request(&mut server, Duration::from_millis(50)).await;
        assert_eq!(result, Err(ReadError::Gone));
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn answers_carry_length_and_close() {
        let (mut client, mut server) = tokio::io::duplex(4096);
        Answer::error(405, "no")
            .header("Allow", "GET")
            .write(&mut server, false, Duration::from_secs(1))
            .await;
        drop(server);
        let mut text = String::new();
        client.read_to_string(&mut text).await.unwrap();
        assert!(
            text.starts_with("HTTP/1.1 405 Method Not Allowed\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nAllow: GET\r\n") && text.contains("Connection: close"));
        assert!(text.ends_with("\r\n\r\n{\"error\":\"no\"}"), "{text}");
    }
}
