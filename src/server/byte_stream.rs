//! The byte stream of a connection on the TLS or HTTP-tunneling port:
//! plain TCP or TLS, chosen once per connection (an enum, so reads and
//! writes dispatch with a branch, not through a pointer). Plain RTSP
//! connections skip it: they use the TCP stream's own halves.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// A TCP connection, in the clear or under TLS.
pub enum ByteStream {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP, the handshake done (boxed: the TLS state is large).
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ByteStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ByteStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ByteStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ByteStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            ByteStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            ByteStream::Tcp(s) => s.is_write_vectored(),
            ByteStream::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ByteStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ByteStream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            ByteStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl ByteStream {
    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        matches!(self, ByteStream::Tls(_))
    }
}
