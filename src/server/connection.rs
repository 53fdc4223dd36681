//! One task per RTSP connection: reads requests in order (pipelined
//! requests are answered in order), hands them to the handlers, and owns a
//! writer task that serializes responses and interleaved `$` frames from
//! the connection's [`InterleavedSink`] queue.
//!
//! Generic over the byte stream (one copy of the code per kind, so the
//! plain TCP path pays nothing for the others): plain TCP, TLS, and the
//! two legs of an HTTP tunnel (requests read from the POST leg, everything
//! written to the GET leg).
//!
//! Slow readers: the queue is bounded (see [`super::sink`]); a client that
//! takes nothing for `stall_timeout` (10 s) is disconnected, which ends its
//! interleaved sessions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::activity::ClientActivity as _;
use super::handlers::{self, ConnCtx};
use super::shared::Shared;
use super::sink::{InterleavedSink, Outgoing};
use crate::rtsp::framing::{Incoming, RtspDecoder};
use crate::rtsp::message::Response;

/// Bytes gathered into one write.
const WRITE_BATCH: usize = 256 * 1024;
/// Why a connection ends when its writer stopped: a write failed (the
/// client is gone) or the queue stayed full for the stall timeout.
const WRITER_CLOSED: &str = "writer closed (client gone, or stalled)";
/// How long the writer may take to flush the last response.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Serves one plain TCP connection until the client leaves, it misbehaves
/// beyond repair, or the server shuts down.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, id: u64) {
    let _ = stream.set_nodelay(true);
    let Ok(local) = stream.local_addr() else {
        return;
    };
    let (reader, writer) = stream.into_split();
    let ends = Ends {
        peer,
        local,
        secure: false,
    };
    serve_stream(reader, writer, ends, shared, id).await;
}

/// Who a connection joins, and whether it is encrypted.
#[derive(Clone, Copy, Debug)]
pub struct Ends {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address.
    pub local: SocketAddr,
    /// Whether the connection is under TLS (RTSPS, HTTPS tunneling).
    pub secure: bool,
}

/// Serves one connection whose requests come from `reader` and whose
/// responses and interleaved frames go to `writer`, as [`serve`] does.
pub async fn serve_stream<R, W>(reader: R, writer: W, ends: Ends, shared: Arc<Shared>, id: u64)
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let Ends {
        peer,
        local,
        secure,
    } = ends;
    tracing::info!(
        "connection {id} from {peer}{}",
        if secure { " (TLS)" } else { "" }
    );
    let closed = CancellationToken::new();
    let (sink, queue) = InterleavedSink::channel(
        closed.clone(),
        shared.config.stall_timeout,
        shared.metrics.stalled.clone(),
    );
    let writer_task = tokio::spawn(write_loop(writer, queue, closed.clone()));
    let mut ctx = ConnCtx::new(peer, local, secure, sink.clone());
    let frames = FramedRead::new(reader, RtspDecoder::default());
    let reason = read_loop(&shared, &mut ctx, &sink, &closed, frames, id).await;
    tracing::info!("connection {id} from {peer} ends: {reason}");
    for session in ctx.close() {
        handlers::end_session(&shared, &session, false).await;
    }
    drop(sink);
    // Let the writer flush the last response, then close.
    if tokio::time::timeout(FLUSH_WAIT, writer_task).await.is_err() {
        closed.cancel();
    }
}

/// Reads and answers until the connection ends; returns why it ended.
async fn read_loop<R: AsyncRead + Unpin>(
    shared: &Shared,
    ctx: &mut ConnCtx,
    sink: &InterleavedSink,
    closed: &CancellationToken,
    mut frames: FramedRead<R, RtspDecoder>,
    id: u64,
) -> &'static str {
    let idle_limit = shared.sessions.timeout().unwrap_or(Duration::from_secs(65));
    let mut quiet = Quiet::new(idle_limit, shared.config.request_timeout);
    loop {
        let item = tokio::select! {
            () = closed.cancelled() => return WRITER_CLOSED,
            () = shared.shutdown.cancelled() => return "server shutting down",
            item = tokio::time::timeout(quiet.tick(), frames.next()) => item,
        };
        let Ok(item) = item else {
            let partial = !frames.read_buffer().is_empty();
            match quiet.check(partial, ctx.has_live_session()) {
                Some(reason) => return reason,
                None => continue,
            }
        };
        quiet.heard();
        let incoming = match item {
            None => return "closed by client",
            Some(Err(e)) => {
                tracing::info!("connection {id}: {e}");
                return "read error";
            }
            Some(Ok(incoming)) => incoming,
        };
        let Some((response, cseq)) = answer(shared, ctx, incoming, id).await else {
            continue;
        };
        quiet.answered(ctx.has_live_session());
        let mut encoded = BytesMut::new();
        response.encode(cseq, &mut encoded);
        let queued = sink.send_data(Outgoing::Response(encoded.freeze())).await;
        if queued.is_err() {
            return WRITER_CLOSED;
        }
        if response.close {
            return "bad request";
        }
    }
}

/// The response to what the client sent, and the CSeq to answer with;
/// `None` for what needs no answer (the client's RTCP over TCP, a response
/// from the client). Also the offline server's (see [`super::offline`]).
pub(super) async fn answer(
    shared: &Shared,
    ctx: &mut ConnCtx,
    incoming: Incoming,
    id: u64,
) -> Option<(Response, Option<u32>)> {
    match incoming {
        Incoming::Response => None,
        Incoming::Data { channel, payload } => {
            // The client's RTCP over TCP: a sign of life.
            if let Some(session) = ctx.channel_session(channel) {
                session.client_packet(&payload);
            }
            None
        }
        Incoming::Invalid {
            status,
            cseq,
            reason,
            close,
        } => {
            tracing::info!("connection {id}: {} {reason}", status.0);
            shared.metrics.request(None, status.0);
            let response = Response::new(status);
            Some((if close { response.closing() } else { response }, cseq))
        }
        Incoming::Request(request) => {
            let cseq = request.cseq();
            let method = request.method.clone();
            let uri = request.uri.clone();
            let response = handlers::handle(shared, ctx, request).await;
            shared
                .metrics
                .request(Some(method.as_str()), response.status.0);
            tracing::debug!(
                "connection {id}: {method} {uri} -> {} {}",
                response.status.0,
                response.status.reason()
            );
            Some((response, cseq))
        }
    }
}

/// When a connection that sends nothing is closed.
///
/// A client that sends part of a request and then nothing (a slowloris) is
/// disconnected after the request timeout, not the idle timeout; checked
/// every half of it, so it acts within 1.5 times that. A connection idle
/// for a whole idle limit without a live session of its own is closed
/// after the second such period once its last session has ended (a client
/// may still ask about it), after the first if it never had one.
struct Quiet {
    idle_limit: Duration,
    request_timeout: Duration,
    /// No live session of its own over the last idle period (or ever).
    idle_without_session: bool,
    /// Since when nothing has been read whole.
    quiet_since: Instant,
    /// Since when part of a request has been waiting for the rest.
    partial_since: Option<Instant>,
}

impl Quiet {
    fn new(idle_limit: Duration, request_timeout: Duration) -> Quiet {
        Quiet {
            idle_limit,
            request_timeout,
            idle_without_session: true,
            quiet_since: Instant::now(),
            partial_since: None,
        }
    }

    /// How long to wait for input before [`check`](Self::check).
    fn tick(&self) -> Duration {
        self.idle_limit.min(self.request_timeout / 2)
    }

    /// Something was read whole.
    fn heard(&mut self) {
        self.quiet_since = Instant::now();
        self.partial_since = None;
    }

    /// A request was answered: a session of its own may have appeared.
    fn answered(&mut self, has_live_session: bool) {
        self.idle_without_session &= !has_live_session;
    }

    /// A tick passed with nothing read whole (`partial`: part of a message
    /// is waiting); returns why to close, if it is time.
    fn check(&mut self, partial: bool, has_live_session: bool) -> Option<&'static str> {
        let now = Instant::now();
        if !partial {
            self.partial_since = None;
        } else if now - *self.partial_since.get_or_insert(now) >= self.request_timeout {
            return Some("request not finished in time");
        }
        if now - self.quiet_since < self.idle_limit {
            return None;
        }
        self.quiet_since = now;
        if !has_live_session && self.idle_without_session {
            return Some("idle");
        }
        self.idle_without_session = !has_live_session;
        None
    }
}

/// Writes what the queue holds, in batches of up to [`WRITE_BATCH`] bytes,
/// until the queue closes or `closed` is cancelled; cancels `closed` when a
/// write fails. Each batch is flushed: TLS holds back what the socket did
/// not take until then (plain TCP's flush does nothing).
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: mpsc::Receiver<Outgoing>,
    closed: CancellationToken,
) {
    let mut buf = BytesMut::with_capacity(WRITE_BATCH);
    loop {
        let first = tokio::select! {
            () = closed.cancelled() => break,
            frame = rx.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        first.encode(&mut buf);
        while buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(frame) => frame.encode(&mut buf),
                Err(_) => break,
            }
        }
        let written = tokio::select! {
            () = closed.cancelled() => break,
            written = write_batch(&mut writer, &buf) => written,
        };
        if written.is_err() {
            closed.cancel();
            break;
        }
        buf.clear();
    }
    let _ = writer.shutdown().await;
}

async fn write_batch<W: AsyncWrite + Unpin>(writer: &mut W, buf: &[u8]) -> std::io::Result<()> {
    writer.write_all(buf).await?;
    writer.flush().await
}
