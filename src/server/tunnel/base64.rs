//! The POST leg's body: RTSP requests in base64 (RFC 4648 §4), decoded as
//! the bytes arrive.
//!
//! Clients encode each request on its own (ffmpeg, GStreamer), so the body
//! is a run of padded segments (`...==` then the next request), and a
//! write may end anywhere, even inside a 4-character quantum. The decoder
//! keeps an incomplete quantum for the next read, ends a segment at each
//! padded quantum, and skips line breaks and spaces (some clients wrap
//! lines). The base64 crate decodes whole segments; only the splitting into
//! quanta is ours.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, ReadBuf};

/// Standard alphabet; padding optional, stray low bits tolerated: what
/// matters is that each request decodes, not that its encoder was strict.
const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Characters read from the client per poll, at most.
const READ_CHUNK: usize = 4096;

/// Base64 that does not decode, at an offset of the POST body.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("base64 that does not decode at character {offset} of the POST body")]
pub struct BadBase64 {
    /// Offset of the character at fault (or of its quantum's start) among
    /// the body's base64 characters (whitespace not counted).
    pub offset: u64,
}

/// Decodes a stream of base64 characters: fed text, it yields bytes.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Characters not decoded yet, whitespace removed: less than a
    /// quantum after each [`feed`](Self::feed).
    pending: Vec<u8>,
    /// Characters decoded before `pending`.
    decoded: u64,
}

impl Decoder {
    /// Decodes what `text` completes, appending the bytes to `out`.
    pub fn feed(&mut self, text: &[u8], out: &mut BytesMut) -> Result<(), BadBase64> {
        self.pending
            .extend(text.iter().filter(|c| !c.is_ascii_whitespace()));
        let whole = self.pending.len() / 4 * 4;
        let mut start = 0;
        while start < whole {
            // A segment: whole quanta up to the first padded one.
            let end = self.pending[start..whole]
                .chunks(4)
                .position(|q| q.contains(&b'='))
                .map_or(whole, |i| start + (i + 1) * 4);
            let segment = &self.pending[start..end];
            let at = out.len();
            out.resize(at + segment.len() / 4 * 3, 0);
            match ENGINE.decode_slice(segment, &mut out[at..]) {
                Ok(n) => out.truncate(at + n),
                Err(e) => {
                    out.truncate(at);
                    let within = match e {
                        base64::DecodeSliceError::DecodeError(
                            base64::DecodeError::InvalidByte(at, _)
                            | base64::DecodeError::InvalidLastSymbol { offset: at, .. },
                        ) => at,
                        // A bad length or padding: the last quantum.
                        _ => segment.len() - 4,
                    };
                    return Err(BadBase64 {
                        offset: self.decoded + (start + within) as u64,
                    });
                }
            }
            start = end;
        }
        self.pending.drain(..whole);
        self.decoded += whole as u64;
        Ok(())
    }

    /// Whether the text ended mid-quantum: an incomplete request.
    pub fn has_partial(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// An [`AsyncRead`] of the decoded bytes of `R`'s base64.
pub struct Base64Reader<R> {
    inner: R,
    decoder: Decoder,
    /// Characters read before the reader was made, not fed yet.
    first: Vec<u8>,
    /// Decoded bytes not taken yet.
    decoded: BytesMut,
}

impl<R: AsyncRead + Unpin> Base64Reader<R> {
    /// Decodes `inner`, after the characters `first` already read from it.
    pub fn new(inner: R, first: &[u8]) -> Base64Reader<R> {
        Base64Reader {
            inner,
            decoder: Decoder::default(),
            first: first.to_vec(),
            decoded: BytesMut::new(),
        }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for Base64Reader<R> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let bad = |e: BadBase64| io::Error::new(io::ErrorKind::InvalidData, e);
        if !this.first.is_empty() {
            let first = std::mem::take(&mut this.first);
            this.decoder.feed(&first, &mut this.decoded).map_err(bad)?;
        }
        let mut chunk = [0u8; READ_CHUNK];
        loop {
            if !this.decoded.is_empty() {
                let n = this.decoded.len().min(buf.remaining());
                buf.put_slice(&this.decoded[..n]);
                this.decoded.advance(n);
                return Poll::Ready(Ok(()));
            }
            let mut text = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut text))?;
            if text.filled().is_empty() {
                if this.decoder.has_partial() {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the POST body ends inside a base64 quantum",
                    )));
                }
                return Poll::Ready(Ok(()));
            }
            this.decoder
                .feed(text.filled(), &mut this.decoded)
                .map_err(bad)?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt as _;

    fn encode(text: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    /// Feeds `body` in pieces of `step` characters and returns the output.
    fn decode_in_steps(body: &[u8], step: usize) -> Result<Vec<u8>, BadBase64> {
        let mut decoder = Decoder::default();
        let mut out = BytesMut::new();
        for piece in body.chunks(step) {
            decoder.feed(piece, &mut out)?;
        }
        assert!(!decoder.has_partial());
        Ok(out.to_vec())
    }

    #[test]
    fn padded_segments_split_anywhere_decode_whole() {
        let requests: [&[u8]; 3] = [
            b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n",
            b"DESCRIBE rtsp://h/a RTSP/1.0\r\nCSeq: 2\r\n\r\n",
            b"$\x00\x00\x02\xff\x00",
        ];
        let body: String = requests.iter().map(|r| encode(r)).collect();
        assert!(body.trim_end_matches('=').contains('='), "{body}");
        let whole: Vec<u8> = requests.concat();
        for step in 1..=body.len() {
            assert_eq!(
                decode_in_steps(body.as_bytes(), step).unwrap(),
                whole,
                "{step}"
            );
        }
        // Line breaks as some clients wrap.
        let wrapped = format!("{}\r\n{}\n", &body[..10], &body[10..]);
        assert_eq!(decode_in_steps(wrapped.as_bytes(), 3).unwrap(), whole);
    }

    #[test]
    fn bad_base64_names_its_offset() {
        let good = encode(b"OPTIONS * RTSP/1.0\r\n");
        let n = good.len() as u64;
        for (body, offsets) in [
            (format!("{good}!!!!"), n..n + 1),
            (format!("{good}\r\nab*d"), n + 2..n + 3),
            (format!("{good}A==="), n..n + 4),
            (format!("AB=C{good}"), 0..4),
        ] {
            let error = decode_in_steps(body.as_bytes(), 7).unwrap_err();
            assert!(offsets.contains(&error.offset), "{body}: {error}");
        }
    }

    #[tokio::test]
    async fn the_reader_decodes_and_refuses() {
        let body = format!("{}{}", encode(b"hello "), encode(b"world"));
        let (first, rest) = body.as_bytes().split_at(5);
        let mut reader = Base64Reader::new(rest, first);
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        assert_eq!(out, b"hello world");
        let mut bad = Base64Reader::new(&b"aGVsbG8g%%%%"[..], b"");
        let error = bad.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("character 8"), "{error}");
        let mut cut = Base64Reader::new(&b"aGVsbG"[..], b"");
        let error = cut.read_to_end(&mut Vec::new()).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    }
}
