//! What each listener's connections are: plain RTSP on the RTSP port; on
//! the TLS port a TLS handshake, then RTSPS or an HTTPS tunnel leg; on the
//! HTTP port an HTTP tunnel leg (or plain RTSP, as live555 allows). Which
//! of RTSP and HTTP a stream carries is told by its first bytes
//! ([`tunnel::http::opening`]), after decryption on the TLS port.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::BytesMut;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use super::byte_stream::ByteStream;
use super::connection::{self, Ends};
use super::limits::ConnectionGuard;
use super::metrics::Transport;
use super::shared::Shared;
use super::tls::Tls;
use super::tunnel::{self, http::Opening, Tunnels};

/// The kind of a listener.
#[derive(Clone)]
pub enum Door {
    /// Plain RTSP.
    Rtsp,
    /// RTSPS, and RTSP over HTTPS.
    Tls(Arc<Tls>, Arc<Tunnels>),
    /// RTSP over HTTP.
    Http(Arc<Tunnels>),
}

impl Door {
    /// The URL scheme of the start-up line naming a listener of this kind.
    pub fn scheme(&self) -> &'static str {
        match self {
            Door::Rtsp => "rtsp",
            Door::Tls(..) => "rtsps",
            Door::Http(_) => "http",
        }
    }

    /// Serves a connection accepted on a listener of this kind, holding
    /// `guard`'s place in the per-client counts until it ends.
    ///
    /// Only plain RTSP is served in this task's own state: TLS and HTTP
    /// tunnels need several times its size, and are boxed, so that each
    /// plain connection holds a few KiB less for its whole life.
    pub async fn serve(
        self,
        tcp: TcpStream,
        peer: SocketAddr,
        shared: Arc<Shared>,
        (id, guard): (u64, ConnectionGuard),
    ) {
        let (tls, tunnels) = match self {
            Door::Rtsp => {
                let _open = shared.metrics.connection(Transport::Rtsp);
                return connection::serve(tcp, peer, shared, id, guard).await;
            }
            Door::Tls(tls, tunnels) => (Some(tls), tunnels),
            Door::Http(tunnels) => (None, tunnels),
        };
        Box::pin(serve_tls_or_http(
            tcp,
            peer,
            tls,
            tunnels,
            shared,
            (id, guard),
        ))
        .await;
    }
}

/// Serves a connection accepted on an RTSPS or HTTP listener: after the
/// TLS handshake if `tls`, as what its first bytes start.
async fn serve_tls_or_http(
    tcp: TcpStream,
    peer: SocketAddr,
    tls: Option<Arc<Tls>>,
    tunnels: Arc<Tunnels>,
    shared: Arc<Shared>,
    (id, guard): (u64, ConnectionGuard),
) {
    let _ = tcp.set_nodelay(true);
    let Ok(local) = tcp.local_addr() else {
        return;
    };
    let stream = match tls {
        None => ByteStream::Tcp(tcp),
        Some(tls) => match tls.accept(tcp, shared.config.request_timeout).await {
            Ok(stream) => ByteStream::Tls(Box::new(stream)),
            Err(e) => {
                tracing::info!("connection {id} from {peer}: TLS handshake failed: {e}");
                return;
            }
        },
    };
    let ends = Ends {
        peer,
        local,
        secure: stream.is_tls(),
    };
    serve_opened(stream, ends, shared, tunnels, (id, guard)).await;
}

/// Reads the first bytes of `stream` and serves it as what they start.
async fn serve_opened(
    mut stream: ByteStream,
    ends: Ends,
    shared: Arc<Shared>,
    tunnels: Arc<Tunnels>,
    (id, guard): (u64, ConnectionGuard),
) {
    let mut first = BytesMut::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + shared.config.request_timeout;
    let opening = loop {
        if let Some(opening) = tunnel::http::opening(&first) {
            break opening;
        }
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut first)).await {
            Ok(Ok(n)) if n > 0 => {}
            Ok(_) => return,
            Err(_) => {
                tracing::info!("connection {id} from {}: sent nothing", ends.peer);
                return;
            }
        }
    };
    match opening {
        Opening::Http => tunnel::serve(stream, first, ends, shared, tunnels, id, guard).await,
        Opening::Rtsp => {
            let transport = if ends.secure {
                Transport::Rtsps
            } else {
                Transport::Rtsp
            };
            let _open = shared.metrics.connection(transport);
            let (reader, writer) = tokio::io::split(stream);
            let reader = std::io::Cursor::new(first.freeze()).chain(reader);
            connection::serve_stream(reader, writer, ends, shared, id, guard).await;
        }
    }
}
