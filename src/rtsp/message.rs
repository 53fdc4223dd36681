//! RTSP 1.0 messages as the server sees them (RFC 2326 §6, §7): requests
//! parsed by [`super::framing`], responses built by the server's handlers
//! (and by the capture writer's synthetic exchange).

use std::fmt::{self, Write as _};

use bytes::{BufMut, Bytes, BytesMut};

/// The product token of `Server` and `User-Agent` (RFC 2326 §12.36, §12.41).
pub const PRODUCT: &str = concat!("mediatool/", env!("CARGO_PKG_VERSION"));

/// A request method (RFC 2326 §10). Unknown methods are kept by name so the
/// server can answer 501 Not Implemented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Method {
    /// §10.1
    Options,
    /// §10.2
    Describe,
    /// §10.3
    Announce,
    /// §10.4
    Setup,
    /// §10.5
    Play,
    /// §10.6
    Pause,
    /// §10.7
    Teardown,
    /// §10.8
    GetParameter,
    /// §10.9
    SetParameter,
    /// §10.10 (sent by servers, never accepted from clients)
    Redirect,
    /// §10.11
    Record,
    /// Anything else.
    Other(String),
}

impl Method {
    /// The methods this server implements, as listed in `Public` (§12.28).
    pub const PUBLIC: &'static str =
        "OPTIONS, DESCRIBE, SETUP, PLAY, PAUSE, TEARDOWN, GET_PARAMETER, SET_PARAMETER";

    /// Parses a method token (case-sensitive, §6.1).
    pub fn parse(token: &str) -> Method {
        match token {
            "OPTIONS" => Method::Options,
            "DESCRIBE" => Method::Describe,
            "ANNOUNCE" => Method::Announce,
            "SETUP" => Method::Setup,
            "PLAY" => Method::Play,
            "PAUSE" => Method::Pause,
            "TEARDOWN" => Method::Teardown,
            "GET_PARAMETER" => Method::GetParameter,
            "SET_PARAMETER" => Method::SetParameter,
            "REDIRECT" => Method::Redirect,
            "RECORD" => Method::Record,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The method's name.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Options => "OPTIONS",
            Method::Describe => "DESCRIBE",
            Method::Announce => "ANNOUNCE",
            Method::Setup => "SETUP",
            Method::Play => "PLAY",
            Method::Pause => "PAUSE",
            Method::Teardown => "TEARDOWN",
            Method::GetParameter => "GET_PARAMETER",
            Method::SetParameter => "SET_PARAMETER",
            Method::Redirect => "REDIRECT",
            Method::Record => "RECORD",
            Method::Other(name) => name,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed request (RFC 2326 §6).
#[derive(Clone, Debug)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The Request-URI as sent (`*`, an absolute `rtsp://` URL, or a path).
    pub uri: String,
    /// Header fields in order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body (`Content-Length` bytes).
    pub body: Bytes,
}

impl Request {
    /// A request for `uri` with no headers and no body.
    pub fn new(method: Method, uri: impl Into<String>) -> Request {
        Request {
            method,
            uri: uri.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Request {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    /// Serializes the request: the request line, the headers in order,
    /// `Content-Length` when there is a body, and the body (§6).
    pub fn encode(&self, dst: &mut BytesMut) {
        let mut head = format!("{} {} RTSP/1.0\r\n", self.method, self.uri);
        for (name, value) in &self.headers {
            write_header(&mut head, name, value);
        }
        write_length(&mut head, &self.body);
        write_message(head, &self.body, dst);
    }

    /// The first header named `name` (case-insensitive, §4.2 via RFC 2616 §4.2).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `CSeq` value (§12.17), if present and a number.
    pub fn cseq(&self) -> Option<u32> {
        self.header("CSeq").and_then(|v| v.trim().parse().ok())
    }

    /// The session id of the `Session` header (§12.37), without parameters.
    pub fn session_id(&self) -> Option<&str> {
        self.header("Session")
            .map(|v| v.split(';').next().unwrap_or("").trim())
            .filter(|id| !id.is_empty())
    }
}

/// A status code and its reason phrase (RFC 2326 §7.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status(pub u16);

impl Status {
    /// 200 OK
    pub const OK: Status = Status(200);
    /// 400 Bad Request
    pub const BAD_REQUEST: Status = Status(400);
    /// 401 Unauthorized
    pub const UNAUTHORIZED: Status = Status(401);
    /// 403 Forbidden
    pub const FORBIDDEN: Status = Status(403);
    /// 404 Not Found
    pub const NOT_FOUND: Status = Status(404);
    /// 405 Method Not Allowed
    pub const METHOD_NOT_ALLOWED: Status = Status(405);
    /// 413 Request Entity Too Large
    pub const ENTITY_TOO_LARGE: Status = Status(413);
    /// 415 Unsupported Media Type
    pub const UNSUPPORTED_MEDIA: Status = Status(415);
    /// 451 Parameter Not Understood
    pub const PARAMETER_NOT_UNDERSTOOD: Status = Status(451);
    /// 453 Not Enough Bandwidth
    pub const NOT_ENOUGH_BANDWIDTH: Status = Status(453);
    /// 454 Session Not Found
    pub const SESSION_NOT_FOUND: Status = Status(454);
    /// 455 Method Not Valid in This State
    pub const INVALID_STATE: Status = Status(455);
    /// 457 Invalid Range
    pub const INVALID_RANGE: Status = Status(457);
    /// 459 Aggregate Operation Not Allowed
    pub const AGGREGATE_NOT_ALLOWED: Status = Status(459);
    /// 460 Only Aggregate Operation Allowed
    pub const ONLY_AGGREGATE: Status = Status(460);
    /// 461 Unsupported Transport
    pub const UNSUPPORTED_TRANSPORT: Status = Status(461);
    /// 463 Key Management Failure (RFC 4567 §3.3: no usable key for the
    /// SRTP media asked for).
    pub const KEY_MANAGEMENT_FAILURE: Status = Status(463);
    /// 500 Internal Server Error
    pub const INTERNAL_ERROR: Status = Status(500);
    /// 501 Not Implemented
    pub const NOT_IMPLEMENTED: Status = Status(501);
    /// 503 Service Unavailable
    pub const UNAVAILABLE: Status = Status(503);
    /// 505 RTSP Version Not Supported
    pub const VERSION_NOT_SUPPORTED: Status = Status(505);
    /// 551 Option not supported
    pub const OPTION_NOT_SUPPORTED: Status = Status(551);

    /// The reason phrase of RFC 2326 §7.1.1.
    pub fn reason(self) -> &'static str {
        match self.0 {
            200 => "OK",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            413 => "Request Entity Too Large",
            415 => "Unsupported Media Type",
            451 => "Parameter Not Understood",
            453 => "Not Enough Bandwidth",
            454 => "Session Not Found",
            455 => "Method Not Valid in This State",
            457 => "Invalid Range",
            459 => "Aggregate Operation Not Allowed",
            460 => "Only Aggregate Operation Allowed",
            461 => "Unsupported Transport",
            463 => "Key Management Failure",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "RTSP Version Not Supported",
            551 => "Option not supported",
            _ => "Unknown",
        }
    }
}

/// A response under construction (RFC 2326 §7).
#[derive(Clone, Debug)]
pub struct Response {
    /// The status.
    pub status: Status,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
    /// Close the connection after sending (malformed or oversized input).
    pub close: bool,
}

impl Response {
    /// A response with `status`, no headers and no body.
    pub fn new(status: Status) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
            close: false,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Response {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body and its `Content-Type`.
    pub fn body(mut self, content_type: &'static str, body: impl Into<Bytes>) -> Response {
        self.headers.push(("Content-Type", content_type.to_owned()));
        self.body = body.into();
        self
    }

    /// Marks the connection for closing after this response.
    pub fn closing(mut self) -> Response {
        self.close = true;
        self
    }

    /// Serializes the response with `CSeq` first (when the request had one),
    /// then `Server`, the headers, `Content-Length` and the body.
    pub fn encode(&self, cseq: Option<u32>, dst: &mut BytesMut) {
        let mut head = String::with_capacity(256);
        let _ = write!(
            head,
            "RTSP/1.0 {} {}\r\n",
            self.status.0,
            self.status.reason()
        );
        if let Some(cseq) = cseq {
            let _ = write!(head, "CSeq: {cseq}\r\n");
        }
        write_header(&mut head, "Server", PRODUCT);
        for (name, value) in &self.headers {
            write_header(&mut head, name, value);
        }
        write_length(&mut head, &self.body);
        if self.close {
            head.push_str("Connection: close\r\n");
        }
        write_message(head, &self.body, dst);
    }
}

/// Writes `name: value` and its line end; a value never carries a line
/// break into the header section.
fn write_header(head: &mut String, name: &str, value: &str) {
    let value = value.replace(['\r', '\n'], " ");
    let _ = write!(head, "{name}: {value}\r\n");
}

/// Writes `Content-Length` when there is a body.
fn write_length(head: &mut String, body: &Bytes) {
    if !body.is_empty() {
        let _ = write!(head, "Content-Length: {}\r\n", body.len());
    }
}

/// Ends the header section and writes it and the body to `dst`.
fn write_message(mut head: String, body: &Bytes, dst: &mut BytesMut) {
    head.push_str("\r\n");
    dst.reserve(head.len() + body.len());
    dst.put_slice(head.as_bytes());
    dst.put_slice(body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_serialization_puts_cseq_first_and_counts_the_body() {
        let mut out = BytesMut::new();
        Response::new(Status::OK)
            .header("Session", "abc;timeout=65")
            .body("application/sdp", "v=0\r\n")
            .encode(Some(7), &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(text.starts_with("RTSP/1.0 200 OK\r\nCSeq: 7\r\n"), "{text}");
        assert!(text.contains("Session: abc;timeout=65\r\n"));
        assert!(text.contains("Content-Type: application/sdp\r\n"));
        assert!(text.ends_with("Content-Length: 5\r\n\r\nv=0\r\n"), "{text}");
    }

    #[test]
    fn header_values_cannot_inject_lines() {
        let mut out = BytesMut::new();
        Response::new(Status::NOT_FOUND)
            .header("X", "a\r\nInjected: 1")
            .encode(None, &mut out);
        let text = std::str::from_utf8(&out).unwrap();
        assert!(!text.contains("\r\nInjected"), "{text}");
    }

    #[test]
    fn session_id_drops_parameters_and_blanks() {
        let request = Request {
            method: Method::Play,
            uri: "*".into(),
            headers: vec![("session".into(), " 12ab ;timeout=60".into())],
            body: Bytes::new(),
        };
        assert_eq!(request.session_id(), Some("12ab"));
        let blank = Request {
            headers: vec![("Session".into(), " ;x".into())],
            ..request
        };
        assert_eq!(blank.session_id(), None);
    }
}
