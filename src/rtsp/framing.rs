//! RTSP framing on a TCP connection (RFC 2326 §4, §10.12): requests with
//! their bodies, and `$`-framed interleaved binary data, as a tokio-util
//! [`Decoder`].
//!
//! Written by hand rather than with `rtsp_types::Message::parse` because the
//! server must tell failures apart to answer them correctly (505 for another
//! version, 413 for an oversized body, 400 for a header section over 8 KiB)
//! and must accept what real clients send (bare LF line ends, leading blank
//! lines, relative Request-URIs), which that parser rejects wholesale.

use bytes::{Buf, Bytes, BytesMut};
use tokio_util::codec::Decoder;

use super::message::{Method, Request, Status};

/// Largest header section accepted (request line included).
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Bytes of a refused start line quoted in the reason.
const SHOWN_LINE: usize = 64;
/// Largest body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One message read from a client.
#[derive(Debug)]
pub enum Incoming {
    /// A well-formed request.
    Request(Request),
    /// An interleaved binary frame (§10.12): the client's RTCP over TCP.
    Data {
        /// The channel identifier.
        channel: u8,
        /// The frame's payload.
        payload: Bytes,
    },
    /// A response from the client (this server sends no requests): ignored.
    Response,
    /// Input that must be answered with an error status.
    Invalid {
        /// The status to answer.
        status: Status,
        /// The request's CSeq when it could be read.
        cseq: Option<u32>,
        /// What was wrong, for the log.
        reason: String,
        /// The stream cannot be resynchronized: close after answering.
        close: bool,
    },
}

/// The decoder of a connection's incoming byte stream.
#[derive(Debug, Default)]
pub struct RtspDecoder {
    /// Set after an unrecoverable error: the rest of the stream is dropped.
    poisoned: bool,
}

impl Decoder for RtspDecoder {
    type Item = Incoming;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, std::io::Error> {
        if self.poisoned {
            buf.clear();
            return Ok(None);
        }
        // Blank lines between messages are tolerated (RFC 2616 §4.1).
        let blank = buf
            .iter()
            .take_while(|b| matches!(b, b'\r' | b'\n'))
            .count();
        buf.advance(blank);
        if buf.is_empty() {
            return Ok(None);
        }
        if buf[0] == b'$' {
            if buf.len() < 4 {
                return Ok(None);
            }
            let len = usize::from(u16::from_be_bytes([buf[2], buf[3]]));
            if len > 0 && buf.len() > 4 && buf[4].is_ascii_uppercase() {
                // RTP and RTCP (version 2: RFC 3550 §5.1, §6.4.1) start
                // with a byte from 0x80 to 0xBF. A frame starting with a
                // letter is a frame header sent without its packet, a
                // request right behind it: GStreamer 1.22's rtspsrc over
                // TLS sends one now and then as it tears down, before its
                // PAUSE or TEARDOWN. Taken as the packet, the request's
                // start would be lost and the connection closed with 400.
                tracing::debug!(
                    "an interleaved frame header on channel {} without its packet: skipped",
                    buf[1]
                );
                buf.advance(4);
                return self.decode(buf);
            }
            if buf.len() < 4 + len {
                buf.reserve(4 + len - buf.len());
                return Ok(None);
            }
            let channel = buf[1];
            buf.advance(4);
            let payload = buf.split_to(len).freeze();
            return Ok(Some(Incoming::Data { channel, payload }));
        }
        let item = decode_message(buf);
        if let Some(Incoming::Invalid { close: true, .. }) = &item {
            self.poisoned = true;
            buf.clear();
        }
        Ok(item)
    }
}

fn invalid(status: Status, cseq: Option<u32>, reason: impl Into<String>, close: bool) -> Incoming {
    Incoming::Invalid {
        status,
        cseq,
        reason: reason.into(),
        close,
    }
}

/// Decodes one request or response starting at `buf[0]`, or returns `None`
/// until the whole message has arrived.
fn decode_message(buf: &mut BytesMut) -> Option<Incoming> {
    // A request line starts with a method token, a response with `RTSP/`:
    // anything else (a TLS ClientHello from an `rtsps://` client, binary
    // junk) is refused at its first byte, not after a line or 8 KiB.
    if !buf[0].is_ascii_graphic() {
        return Some(invalid(
            Status::BAD_REQUEST,
            None,
            "not an RTSP message",
            true,
        ));
    }
    // The first line is judged as soon as it is complete, so that garbage is
    // rejected at once instead of after 8 KiB.
    let Some(first_end) = memchr::memchr(b'\n', buf) else {
        return (buf.len() > MAX_HEADER_BYTES)
            .then(|| invalid(Status::BAD_REQUEST, None, "request line over 8 KiB", true));
    };
    let first_line = trim_cr(&buf[..first_end]);
    let start = match parse_start_line(first_line) {
        Ok(start) => start,
        Err(bad) => return Some(bad),
    };
    let Some((head_len, consumed)) = header_end(buf) else {
        return (buf.len() > MAX_HEADER_BYTES)
            .then(|| invalid(Status::BAD_REQUEST, None, "header section over 8 KiB", true));
    };
    if head_len > MAX_HEADER_BYTES {
        return Some(invalid(
            Status::BAD_REQUEST,
            None,
            "header section over 8 KiB",
            true,
        ));
    }
    let head = String::from_utf8_lossy(&buf[first_end + 1..head_len]).into_owned();
    let headers = match parse_headers(&head) {
        Ok(headers) => headers,
        Err(reason) => return Some(invalid(Status::BAD_REQUEST, None, reason, true)),
    };
    let cseq = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("CSeq"))
        .and_then(|(_, v)| v.trim().parse().ok());
    let length = match headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Content-Length"))
        .map(|(_, v)| v.trim().parse::<usize>())
    {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => {
            return Some(invalid(
                Status::BAD_REQUEST,
                cseq,
                "malformed Content-Length",
                true,
            ))
        }
    };
    if length > MAX_BODY_BYTES {
        return Some(invalid(
            Status::ENTITY_TOO_LARGE,
            cseq,
            format!("body of {length} bytes is over 64 KiB"),
            true,
        ));
    }
    if buf.len() < consumed + length {
        buf.reserve(consumed + length - buf.len());
        return None;
    }
    buf.advance(consumed);
    let body = buf.split_to(length).freeze();
    Some(match start {
        StartLine::Response => Incoming::Response,
        StartLine::Request { version_ok, .. } if !version_ok => {
            invalid(Status::VERSION_NOT_SUPPORTED, cseq, "not RTSP/1.0", false)
        }
        StartLine::Request { method, uri, .. } => Incoming::Request(Request {
            method,
            uri,
            headers,
            body,
        }),
    })
}

enum StartLine {
    Request {
        method: Method,
        uri: String,
        version_ok: bool,
    },
    Response,
}

/// Parses `Method SP Request-URI SP RTSP-Version` (§6.1) or a status line,
/// tolerating repeated spaces and tabs.
fn parse_start_line(line: &[u8]) -> Result<StartLine, Incoming> {
    // The reason quotes the line's start, escaped: enough to tell a
    // client's garbage from a framing fault of ours in the log.
    let shown = line[..line.len().min(SHOWN_LINE)].escape_ascii();
    let bad = |reason: &str| {
        invalid(
            Status::BAD_REQUEST,
            None,
            format!("{reason}: \"{shown}\""),
            true,
        )
    };
    let line = std::str::from_utf8(line).map_err(|_| bad("request line is not text"))?;
    let mut parts = line.split_ascii_whitespace();
    let (Some(first), Some(second), Some(third), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        if line.starts_with("RTSP/") {
            return Ok(StartLine::Response);
        }
        return Err(bad("malformed request line"));
    };
    if first.starts_with("RTSP/") {
        return Ok(StartLine::Response);
    }
    if !first.bytes().all(is_token_char) {
        return Err(bad("malformed method"));
    }
    if !second.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad("malformed Request-URI"));
    }
    let version_ok = third == "RTSP/1.0";
    if !version_ok && !is_version(third) {
        return Err(bad("malformed protocol version"));
    }
    Ok(StartLine::Request {
        method: Method::parse(first),
        uri: second.to_owned(),
        version_ok,
    })
}

/// `RTSP/d.d` or `HTTP/d.d`: another protocol version, answered with 505.
fn is_version(text: &str) -> bool {
    let Some(number) = text
        .strip_prefix("RTSP/")
        .or_else(|| text.strip_prefix("HTTP/"))
    else {
        return false;
    };
    let mut digits = number.split('.');
    matches!(
        (digits.next(), digits.next(), digits.next()),
        (Some(a), Some(b), None)
            if !a.is_empty() && !b.is_empty()
                && a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
    )
}

/// RFC 2616 §2.2 `token` characters.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The end of the header section: (offset of the blank line, offset after
/// it). Accepts CRLF and bare LF line ends.
fn header_end(buf: &[u8]) -> Option<(usize, usize)> {
    let mut line_start = 0;
    for newline in memchr::memchr_iter(b'\n', buf) {
        if trim_cr(&buf[line_start..newline]).is_empty() && line_start > 0 {
            return Some((line_start, newline + 1));
        }
        line_start = newline + 1;
    }
    None
}

fn trim_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Parses `name: value` lines with continuation lines (RFC 2616 §4.2).
/// A control character other than a tab (a bare CR above all, which other
/// parsers take for a line end) is refused: field values are TEXT (RFC
/// 2616 §2.2, §4.2), and no two readers may split a request differently.
fn parse_headers(head: &str) -> Result<Vec<(String, String)>, &'static str> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err("control character in a header line");
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = headers.last_mut() else {
                return Err("continuation line before any header");
            };
            // Joined by one space, and trimmed as every value is: a
            // continuation of an empty value, or a blank one, adds no
            // space at the edge.
            let more = line.trim();
            if !more.is_empty() {
                if !value.is_empty() {
                    value.push(' ');
                }
                value.push_str(more);
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            return Err("header line without a colon");
        };
        let name = name.trim_end();
        if name.is_empty() || !name.bytes().all(is_token_char) {
            return Err("malformed header name");
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Vec<Incoming> {
        decode_in_pieces(&[input]).0
    }

    /// What one decoder makes of `pieces` arriving one after the other,
    /// and what it left in its buffer.
    fn decode_in_pieces(pieces: &[&[u8]]) -> (Vec<Incoming>, BytesMut) {
        let mut decoder = RtspDecoder::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for piece in pieces {
            buf.extend_from_slice(piece);
            while let Some(item) = decoder.decode(&mut buf).unwrap() {
                out.push(item);
            }
        }
        (out, buf)
    }

    fn status_of(item: &Incoming) -> Option<(u16, bool)> {
        match item {
            Incoming::Invalid { status, close, .. } => Some((status.0, *close)),
            _ => None,
        }
    }

    #[test]
    fn pipelined_requests_bodies_and_data_frames() {
        let input = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n\
            SET_PARAMETER rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nContent-Length: 5\r\n\r\nx: 1\n\
            $\x01\x00\x03abc\
            \r\nGET_PARAMETER rtsp://h/a RTSP/1.0\nCSeq: 3\nSession: s\n\n";
        let items = decode_all(input);
        assert_eq!(items.len(), 4, "{items:?}");
        let Incoming::Request(first) = &items[0] else {
            panic!()
        };
        assert_eq!(
            (first.method.clone(), first.cseq()),
            (Method::Options, Some(1))
        );
        let Incoming::Request(second) = &items[1] else {
            panic!()
        };
        assert_eq!(&second.body[..], b"x: 1\n");
        let Incoming::Data { channel, payload } = &items[2] else {
            panic!()
        };
        assert_eq!((*channel, &payload[..]), (1, &b"abc"[..]));
        let Incoming::Request(third) = &items[3] else {
            panic!()
        };
        assert_eq!(third.session_id(), Some("s"));
    }

    #[test]
    fn waits_for_incomplete_messages_at_every_split() {
        // A request, the client's RTCP, and the request after it (as a
        // client tears down), cut in three at every pair of places.
        let input: &[u8] =
            b"DESCRIBE rtsp://h/a%20b.264 RTSP/1.0\r\nCSeq: 9\r\nAccept: application/sdp\r\n\r\n\
              $\x01\x00\x02hiPAUSE rtsp://h/a%20b.264/ RTSP/1.0\r\nCSeq: 10\r\n\r\n";
        for first in 0..input.len() {
            for second in first..input.len() {
                let (items, buf) =
                    decode_in_pieces(&[&input[..first], &input[first..second], &input[second..]]);
                let at = format!("cut at {first} and {second}: {items:?}");
                assert_eq!(items.len(), 3, "{at}");
                assert!(
                    matches!(&items[0], Incoming::Request(r) if r.method == Method::Describe),
                    "{at}"
                );
                assert!(
                    matches!(&items[1], Incoming::Data { channel: 1, payload } if payload.as_ref() == b"hi"),
                    "{at}"
                );
                assert!(
                    matches!(&items[2], Incoming::Request(r) if r.method == Method::Pause),
                    "{at}"
                );
                assert!(buf.is_empty(), "{at}");
            }
        }
    }

    #[test]
    fn a_frame_header_sent_without_its_packet_is_skipped() {
        // As GStreamer 1.22 sent it over TLS: a header announcing 98 bytes
        // on channel 1, then its PAUSE and TEARDOWN.
        let input: &[u8] = b"$\x01\x00bPAUSE rtsp://h/a.wav/ RTSP/1.0\r\nCSeq: 5\r\n\r\n\
              TEARDOWN rtsp://h/a.wav/ RTSP/1.0\r\nCSeq: 6\r\n\r\n\
              $\x01\x00\x02\x81\xc9";
        for split in 0..input.len() {
            let (items, _) = decode_in_pieces(&[&input[..split], &input[split..]]);
            let at = format!("cut at {split}: {items:?}");
            assert_eq!(items.len(), 3, "{at}");
            assert!(
                matches!(&items[0], Incoming::Request(r) if r.method == Method::Pause),
                "{at}"
            );
            assert!(
                matches!(&items[1], Incoming::Request(r) if r.method == Method::Teardown),
                "{at}"
            );
            // A packet, starting 0x80-0xBF, is a packet still.
            assert!(
                matches!(&items[2], Incoming::Data { payload, .. } if payload.as_ref() == b"\x81\xc9"),
                "{at}"
            );
        }
    }

    #[test]
    fn encoded_requests_decode_as_they_were() {
        let request = Request::new(Method::SetParameter, "rtsp://h/a%20b.264")
            .with_header("CSeq", "7")
            .with_header("Content-Type", "text/parameters")
            .with_header("X-Injected", "a\r\nCSeq: 8");
        let request = Request {
            body: Bytes::from_static(b"volume: 1\r\n"),
            ..request
        };
        let mut bytes = BytesMut::new();
        request.encode(&mut bytes);
        let items = decode_all(&bytes);
        let [Incoming::Request(decoded)] = &items[..] else {
            panic!("{items:?}")
        };
        assert_eq!(decoded.method, request.method);
        assert_eq!(decoded.uri, request.uri);
        assert_eq!(decoded.body, request.body);
        assert_eq!(decoded.cseq(), Some(7));
        assert_eq!(decoded.header("X-Injected"), Some("a  CSeq: 8"));
        assert_eq!(decoded.header("Content-Length"), Some("11"));
    }

    #[test]
    fn continuation_lines_join_the_previous_header() {
        let items = decode_all(
            b"SETUP rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\nTransport: RTP/AVP;\r\n unicast\r\n\r\n",
        );
        let Incoming::Request(request) = &items[0] else {
            panic!()
        };
        assert_eq!(request.header("transport"), Some("RTP/AVP; unicast"));
        // Found by the `rtsp_request` fuzz target: values stay trimmed when
        // the first line or a continuation is empty.
        let items = decode_all(b"PLAY * RTSP/1.0\r\nCSeq:\r\n 1\r\nX: a\r\n  \r\n\r\n");
        let Incoming::Request(request) = &items[0] else {
            panic!("{items:?}")
        };
        assert_eq!(
            (request.header("CSeq"), request.header("X")),
            (Some("1"), Some("a"))
        );
    }

    /// Found by the `rtsp_request` fuzz target: a bare CR inside a header
    /// value was kept, so the request read differently once written out
    /// again (and would to any parser that ends lines at CR).
    #[test]
    fn control_characters_in_headers_are_refused() {
        for header in [&b"CSeq: 6\rSession: x"[..], b"X: a\x00b", b"X: \x1b[31m"] {
            let mut input = b"PLAY * RTSP/1.0\r\n".to_vec();
            input.extend_from_slice(header);
            input.extend_from_slice(b"\r\n\r\n");
            let items = decode_all(&input);
            assert_eq!(status_of(&items[0]), Some((400, true)), "{header:?}");
        }
        let tab = decode_all(b"PLAY * RTSP/1.0\r\nCSeq:\t6\r\nX: a\tb\r\n\r\n");
        let Incoming::Request(request) = &tab[0] else {
            panic!("{tab:?}")
        };
        assert_eq!(
            (request.cseq(), request.header("x")),
            (Some(6), Some("a\tb"))
        );
    }

    #[test]
    fn other_versions_get_505_and_the_stream_goes_on() {
        let items = decode_all(
            b"OPTIONS * RTSP/2.0\r\nCSeq: 4\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 5\r\n\r\n",
        );
        assert_eq!(status_of(&items[0]), Some((505, false)));
        assert!(matches!(&items[1], Incoming::Request(r) if r.cseq() == Some(5)));
        let http = decode_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assert_eq!(status_of(&http[0]), Some((505, false)));
    }

    #[test]
    fn garbage_is_rejected_at_the_first_line_and_closes() {
        for garbage in [
            &b"\x00\x01\x02\x03\n"[..],
            b"hello\r\n",
            b"OPTIONS *\r\n",
            b"OPT IONS * RTSP/1.0\r\n",
            b"OPTIONS * RTSP/1.0 extra\r\n",
            b"OPTIONS * XYZ/1.0\r\n",
            b"\xff\xfe * RTSP/1.0\r\n",
        ] {
            let items = decode_all(garbage);
            assert_eq!(items.len(), 1, "{garbage:?}");
            assert_eq!(status_of(&items[0]), Some((400, true)), "{garbage:?}");
        }
    }

    #[test]
    fn a_refused_request_line_is_quoted_escaped_and_cut() {
        let mut line = b".0 \x01\"".to_vec();
        line.extend([b'x'; 100]);
        line.extend(b"\r\n");
        let items = decode_all(&line);
        let Incoming::Invalid { reason, .. } = &items[0] else {
            panic!("{items:?}");
        };
        let quoted = format!("\".0 \\x01\\\"{}\"", "x".repeat(SHOWN_LINE - 5));
        assert_eq!(reason, &format!("malformed request line: {quoted}"));
    }

    #[test]
    fn binary_input_is_rejected_at_its_first_byte() {
        // The start of a TLS ClientHello, with no line end in sight.
        for start in [&b"\x16\x03\x01\x02\x00\x01"[..], b"\x80", b" OPTIONS"] {
            let items = decode_all(start);
            assert_eq!(items.len(), 1, "{start:?}");
            assert_eq!(status_of(&items[0]), Some((400, true)), "{start:?}");
        }
    }

    #[test]
    fn oversized_headers_and_bodies_close() {
        let mut long = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n".to_vec();
        long.extend(std::iter::repeat_n(b"X-Pad: 0123456789\r\n", 500).flatten());
        let items = decode_all(&long);
        assert_eq!(status_of(&items[0]), Some((400, true)));
        let no_newline = vec![b'A'; MAX_HEADER_BYTES + 10];
        assert_eq!(status_of(&decode_all(&no_newline)[0]), Some((400, true)));
        let body = b"SET_PARAMETER * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 70000\r\n\r\n";
        let items = decode_all(body);
        assert_eq!(status_of(&items[0]), Some((413, true)));
        assert!(matches!(items[0], Incoming::Invalid { cseq: Some(3), .. }));
        for length in ["-1", "abc", "99999999999999999999999"] {
            let text = format!("PLAY * RTSP/1.0\r\nContent-Length: {length}\r\n\r\n");
            assert_eq!(
                status_of(&decode_all(text.as_bytes())[0]),
                Some((400, true))
            );
        }
    }

    #[test]
    fn after_an_unrecoverable_error_the_rest_is_dropped() {
        let items = decode_all(b"garbage here\r\nOPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n");
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn responses_from_the_client_are_skipped() {
        let items =
            decode_all(b"RTSP/1.0 200 OK\r\nCSeq: 1\r\n\r\nOPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n");
        assert!(matches!(items[0], Incoming::Response));
        assert!(matches!(&items[1], Incoming::Request(r) if r.cseq() == Some(2)));
    }

    #[test]
    fn random_input_never_panics() {
        let mut state = 0x2545_f491_u32;
        for _ in 0..2000 {
            let len = (state % 300) as usize;
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    // Bias toward the bytes the grammar cares about.
                    const ALPHABET: &[u8] = b"OPTIONS RTSP/1.0\r\n:$ \x00\xffCSeq Content-Length 9";
                    ALPHABET[state as usize % ALPHABET.len()]
                })
                .collect();
            decode_all(&bytes);
        }
    }
}
