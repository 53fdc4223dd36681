//! RTSP over HTTP: Apple's QuickTime tunneling, as live555's RTSPServer
//! serves it and ffmpeg (`-rtsp_transport http`/`https`), GStreamer
//! (`rtsph://`, `rtspsh://`) and VLC ask for it.
//!
//! A client opens two HTTP requests with the same `x-sessioncookie`: a GET,
//! answered `HTTP/1.0 200 OK` with `Content-Type:
//! application/x-rtsp-tunnelled` and no length, which carries every RTSP
//! response and interleaved `$` frame from then on; and a POST, never
//! answered, whose body is the client's RTSP requests in base64. The GET
//! leg's task waits for its POST leg (handed over through the cookie
//! table, or read on its own connection as some clients send it) and then
//! serves one RTSP connection reading the decoded POST body and writing
//! the GET leg: everything after that is an RTSP connection like any other
//! (sessions end with it, a client that stops reading the GET leg is
//! dropped after the stall timeout).
//!
//! Bounds: the head limits of [`http`], the table's caps (`cookies`), a GET
//! leg not joined within the request timeout is closed, a POST leg with no
//! GET leg within [`POST_WAIT`] is answered 404, base64 that does not
//! decode ends the tunnel as a closed connection would.

mod base64;
mod cookies;
pub mod http;

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use super::byte_stream::ByteStream;
use super::connection::{self, Ends};
use super::limits::ConnectionGuard;
use super::metrics::Transport;
use super::shared::Shared;
use base64::Base64Reader;
use cookies::Refused;
use http::{Head, HeadError, Leg};

/// A POST leg handed to its GET leg: its connection, the body characters
/// read with its head, and its place in the per-client counts (held as
/// long as the tunnel).
pub struct PostLeg {
    stream: ByteStream,
    first: BytesMut,
    guard: ConnectionGuard,
}

/// The tunnels by cookie, shared by the HTTP and TLS listeners.
pub type Tunnels = cookies::Tunnels<PostLeg>;

/// How long a POST leg waits for its GET leg.
pub const POST_WAIT: Duration = Duration::from_secs(2);

/// How long an error answer may take to write.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

/// Serves a connection whose first bytes, `buf`, start an HTTP request.
pub async fn serve(
    mut stream: ByteStream,
    mut buf: BytesMut,
    ends: Ends,
    shared: Arc<Shared>,
    tunnels: Arc<Tunnels>,
    id: u64,
    guard: ConnectionGuard,
) {
    let peer = ends.peer;
    match http::read_head(&mut stream, &mut buf, shared.config.request_timeout).await {
        Ok(Head {
            leg: Leg::Get,
            cookie,
        }) => get_leg(stream, buf, &cookie, ends, shared, &tunnels, (id, guard)).await,
        Ok(Head {
            leg: Leg::Post,
            cookie,
        }) => post_leg(stream, buf, &cookie, &tunnels, (id, guard)).await,
        Err(HeadError::Refuse(status, why)) => {
            tracing::info!("connection {id} from {peer}: HTTP {status}: {why}");
            answer(&mut stream, status).await;
        }
        Err(HeadError::Gone(why)) => tracing::info!("connection {id} from {peer}: {why}"),
        Err(HeadError::TimedOut) => {
            tracing::info!("connection {id} from {peer}: request head not finished in time");
        }
    }
}

/// What the GET leg's wait for its POST leg came to.
enum Joined {
    /// The POST leg came on another connection.
    Elsewhere(PostLeg),
    /// It came on this one: read the rest of it here.
    Here,
    /// No tunnel: why.
    Not(&'static str),
}

/// Opens the GET leg, waits for its POST leg, then serves the tunnel.
async fn get_leg(
    mut stream: ByteStream,
    mut buf: BytesMut,
    cookie: &str,
    ends: Ends,
    shared: Arc<Shared>,
    tunnels: &Tunnels,
    (id, guard): (u64, ConnectionGuard),
) {
    let mut registration = match tunnels.open(cookie) {
        Ok(registration) => registration,
        Err(refused) => {
            let (status, why) = match refused {
                Refused::Duplicate => (400, "x-sessioncookie already in use"),
                Refused::Full => (503, "too many tunnels"),
                Refused::NoGet => unreachable!("only a POST finds no GET"),
            };
            tracing::info!("connection {id}: HTTP {status}: {why}");
            answer(&mut stream, status).await;
            return;
        }
    };
    let opened = tokio::time::timeout(ANSWER_WAIT, async {
        stream.write_all(http::GET_ANSWER).await?;
        stream.flush().await
    })
    .await;
    if !matches!(opened, Ok(Ok(()))) {
        return;
    }
    let (mut reader, writer) = tokio::io::split(stream);
    let joined = tokio::select! {
        post = &mut registration.post => match post {
            Ok(leg) => Joined::Elsewhere(leg),
            Err(_) => Joined::Not("tunnel table dropped"),
        },
        head = http::read_head(&mut reader, &mut buf, shared.config.request_timeout) => match head {
            Ok(Head { leg: Leg::Post, cookie: c }) if c == cookie => Joined::Here,
            Ok(_) => Joined::Not("another request than its POST on a GET leg"),
            Err(HeadError::Refuse(_, why) | HeadError::Gone(why)) => Joined::Not(why),
            Err(HeadError::TimedOut) => Joined::Not("no POST leg joined in time"),
        },
        () = shared.shutdown.cancelled() => Joined::Not("server shutting down"),
    };
    let _open = matches!(joined, Joined::Elsewhere(_) | Joined::Here)
        .then(|| shared.metrics.connection(Transport::HttpTunnel));
    match joined {
        Joined::Elsewhere(leg) => {
            tracing::info!("connection {id}: HTTP tunnel joined by its POST leg");
            let input = Base64Reader::new(leg.stream, &leg.first);
            connection::serve_stream(input, writer, ends, shared, id, guard).await;
            drop(leg.guard);
        }
        Joined::Here => {
            registration.joined_here();
            tracing::info!("connection {id}: HTTP tunnel with both legs on one connection");
            let input = Base64Reader::new(reader, &buf);
            connection::serve_stream(input, writer, ends, shared, id, guard).await;
        }
        Joined::Not(why) => tracing::info!("connection {id}: HTTP tunnel closed: {why}"),
    }
    drop(registration);
}

/// Hands the POST leg to its GET leg, or answers that there is none.
async fn post_leg(
    stream: ByteStream,
    first: BytesMut,
    cookie: &str,
    tunnels: &Tunnels,
    (id, guard): (u64, ConnectionGuard),
) {
    let leg = PostLeg {
        stream,
        first,
        guard,
    };
    match tunnels.join(cookie, leg, POST_WAIT).await {
        Ok(()) => tracing::debug!("connection {id}: POST leg handed to its GET leg"),
        Err((mut leg, refused)) => {
            let (status, why) = match refused {
                Refused::NoGet => (404, "no GET leg has its x-sessioncookie"),
                _ => (400, "its x-sessioncookie's tunnel is joined already"),
            };
            tracing::info!("connection {id}: HTTP {status} to a POST: {why}");
            answer(&mut leg.stream, status).await;
        }
    }
}

/// Writes an error answer (best effort, briefly) and closes.
async fn answer<S: AsyncWrite + AsyncRead + Unpin>(stream: &mut S, status: u16) {
    let _ = tokio::time::timeout(ANSWER_WAIT, async {
        stream
            .write_all(http::error_answer(status).as_bytes())
            .await?;
        stream.shutdown().await
    })
    .await;
}
