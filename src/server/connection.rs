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
//! Slow readers: the queue is bounded in bytes (see [`super::sink`]), and
//! every write has a deadline: a client that takes nothing for
//! `stall_timeout` (10 s), whether the queue is full or not, is
//! disconnected, which ends its interleaved sessions.
//!
//! The connection holds its place in the per-client counts
//! ([`ConnectionGuard`]) until it ends; it closes when the limits shed it
//! to make room for a new one (it was idle, holding no session) or the
//! server shuts down.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use futures_util::StreamExt;
use prometheus_client::metrics::counter::Counter;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::activity::ClientActivity as _;
use super::handlers::{self, ConnCtx};
use super::limits::ConnectionGuard;
use super::shared::Shared;
use super::sink::{Frames, InterleavedSink, Outgoing, Room};
use crate::rtsp::framing::{Incoming, RtspDecoder};
use crate::rtsp::message::Response;

/// The read buffer's first size: two or three of the usual requests (a
/// SETUP is 200 to 400 bytes). It grows for a longer one, up to the 8 KiB
/// header limit and the 64 KiB body limit, and stays as it is for the
/// connection's life: a connection that went quiet after its PLAY holds it.
const READ_BUFFER: usize = 1024;
/// Bytes gathered into one write.
const WRITE_BATCH: usize = 64 * 1024;
/// Why a connection ends when its writer stopped: a write failed (the
/// client is gone) or the queue stayed full for the stall timeout.
const WRITER_CLOSED: &str = "writer closed (client gone, or stalled)";
/// How long the writer may take to flush the last response.
const FLUSH_WAIT: Duration = Duration::from_secs(2);

/// Serves one plain TCP connection until the client leaves, it misbehaves
/// beyond repair, or the server shuts down.
pub async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    id: u64,
    guard: ConnectionGuard,
) {
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
    serve_stream(reader, writer, ends, shared, id, guard).await;
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
/// responses and interleaved frames go to `writer`, as [`serve`] does,
/// holding `guard`'s place in the per-client counts until it ends.
pub async fn serve_stream<R, W>(
    reader: R,
    writer: W,
    ends: Ends,
    shared: Arc<Shared>,
    id: u64,
    guard: ConnectionGuard,
) where
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
    let stall_timeout = shared.config.stall_timeout;
    let (sink, queue, room) = InterleavedSink::channel(
        closed.clone(),
        stall_timeout,
        shared.metrics.stalled.clone(),
    );
    let writer_task = tokio::spawn(write_loop(
        writer,
        queue,
        room,
        closed.clone(),
        (stall_timeout, shared.metrics.stalled.clone()),
    ));
    let mut ctx = ConnCtx::new(
        peer,
        local,
        secure,
        sink.clone(),
        Arc::clone(guard.connection()),
    );
    let frames = FramedRead::with_capacity(reader, RtspDecoder::default(), READ_BUFFER);
    let reason = read_loop(&shared, &mut ctx, &sink, &closed, frames, id).await;
    tracing::info!("connection {id} from {peer} ends: {reason}");
    // What a connection's end leaves running (tests count the server's
    // tasks with it: an idle session has none).
    tracing::debug!(
        "{} tasks alive",
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    );
    for session in ctx.close() {
        handlers::end_session(&shared, &session, false).await;
    }
    drop(sink);
    // Let the writer flush the last response, then close.
    if tokio::time::timeout(FLUSH_WAIT, writer_task).await.is_err() {
        closed.cancel();
    }
    drop(guard);
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
    let idle_limit = shared.limits.settings().idle_connection_timeout;
    let mut quiet = Quiet::new(idle_limit, shared.config.request_timeout);
    let closing = ctx.connection.closing().clone();
    loop {
        let item = tokio::select! {
            () = closed.cancelled() => return WRITER_CLOSED,
            () = shared.shutdown.cancelled() => return "server shutting down",
            () = closing.cancelled() => return "closed to make room (idle, no session)",
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
        ctx.connection.touch();
        let incoming = match item {
            None => return "closed by client",
            Some(Err(e)) => {
                tracing::info!("connection {id}: {e}");
                return "read error";
            }
            Some(Ok(incoming)) => incoming,
        };
        // Boxed: a request's handling needs more state than the rest of
        // the loop, and a connection holds its loop's state for its whole
        // life, idle or not.
        let Some((response, cseq)) = Box::pin(answer(shared, ctx, incoming, id)).await else {
            continue;
        };
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
/// disconnected after the request timeout; a connection holding no live
/// session of its own after `idle_connection_timeout` without a request.
/// Both are checked every tick (half the request timeout, or the idle
/// limit if shorter), so they act within a tick of their time. A
/// connection with a live session stays however quiet (its client may
/// keep the session alive with RTCP alone, or take interleaved packets).
struct Quiet {
    idle_limit: Duration,
    request_timeout: Duration,
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

    /// A tick passed with nothing read whole (`partial`: part of a message
    /// is waiting); returns why to close, if it is time.
    fn check(&mut self, partial: bool, has_live_session: bool) -> Option<&'static str> {
        let now = Instant::now();
        if !partial {
            self.partial_since = None;
        } else if now - *self.partial_since.get_or_insert(now) >= self.request_timeout {
            return Some("request not finished in time");
        }
        if has_live_session || now - self.quiet_since < self.idle_limit {
            return None;
        }
        Some("idle, holding no session")
    }
}

/// Writes what the queue holds, in batches of up to [`WRITE_BATCH`] bytes,
/// until the queue closes or `closed` is cancelled, giving the queue's
/// room back as frames are written; cancels `closed` when a write fails
/// or takes nothing for `stall_timeout` (a client that reads nothing,
/// whether or not the queue is full). Each batch is flushed: TLS holds
/// back what the socket did not take until then (plain TCP's flush does
/// nothing).
///
/// A batch is written from the frames' own bytes, gathered (writev; TLS
/// gathers them into its records): no copy, and no write buffer, which
/// would grow to the largest burst (a key frame's packets, tens of KiB)
/// and cost every TCP session that much for its whole life.
async fn write_loop<W: AsyncWrite + Unpin>(
    mut writer: W,
    mut rx: Frames,
    room: Room,
    closed: CancellationToken,
    (stall_timeout, stalls): (Duration, Counter),
) {
    loop {
        let first = tokio::select! {
            () = closed.cancelled() => break,
            frame = rx.recv() => match frame {
                Some(frame) => frame,
                None => break,
            },
        };
        let mut bytes = first.len();
        let mut batch = vec![first];
        while bytes < WRITE_BATCH {
            let Some(frame) = rx.try_recv() else {
                break;
            };
            bytes += frame.len();
            batch.push(frame);
        }
        let mut prefixes = vec![[0; 4]; batch.len()];
        let mut slices: Vec<IoSlice<'_>> = batch
            .iter()
            .zip(&mut prefixes)
            .flat_map(|(frame, prefix)| frame.slices(prefix))
            .filter(|part| !part.is_empty())
            .map(IoSlice::new)
            .collect();
        let written = tokio::select! {
            () = closed.cancelled() => break,
            written = write_in_time(&mut writer, &mut slices, stall_timeout) => written,
        };
        room.written(batch.iter().map(Outgoing::room).sum());
        if let Err(why) = written {
            if why.stalled {
                stalls.inc();
            }
            tracing::info!("closing a connection: {}", why.text);
            closed.cancel();
            break;
        }
    }
    let _ = writer.shutdown().await;
}

/// Writes `slices` whole and flushes, each write taking some of them
/// within `stall_timeout`.
async fn write_in_time<W: AsyncWrite + Unpin>(
    writer: &mut W,
    mut slices: &mut [IoSlice<'_>],
    stall_timeout: Duration,
) -> Result<(), WriteEnd> {
    let stalled = || WriteEnd {
        stalled: true,
        text: format!("it read nothing for {stall_timeout:?}"),
    };
    let failed = |e: std::io::Error| WriteEnd {
        stalled: false,
        text: format!("write failed: {e}"),
    };
    while !slices.is_empty() {
        match tokio::time::timeout(stall_timeout, writer.write_vectored(slices)).await {
            Err(_) => return Err(stalled()),
            Ok(Err(e)) => return Err(failed(e)),
            Ok(Ok(0)) => return Err(failed(std::io::ErrorKind::WriteZero.into())),
            Ok(Ok(n)) => IoSlice::advance_slices(&mut slices, n),
        }
    }
    match tokio::time::timeout(stall_timeout, writer.flush()).await {
        Err(_) => Err(stalled()),
        Ok(Err(e)) => Err(failed(e)),
        Ok(Ok(())) => Ok(()),
    }
}

/// Why the writer stopped.
struct WriteEnd {
    /// The client took nothing for the stall timeout.
    stalled: bool,
    /// What to log.
    text: String,
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use bytes::Bytes;

    use super::*;
    use crate::rtp::PacketHead;

    /// A client's socket that takes at most 5 bytes per write.
    #[derive(Default)]
    struct Trickle {
        taken: Vec<u8>,
        shut_down: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let n = buf.len().min(5);
            self.taken.extend_from_slice(&buf[..n]);
            Poll::Ready(Ok(n))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            let mut n = 0;
            for buf in bufs {
                let part = &buf[..buf.len().min(5 - n)];
                self.taken.extend_from_slice(part);
                n += part.len();
            }
            Poll::Ready(Ok(n))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            self.shut_down = true;
            Poll::Ready(Ok(()))
        }
    }

    /// The frames of a batch go out gathered from their parts: a write
    /// that takes part of one, or ends inside a frame's prefix, goes on
    /// where it stopped.
    #[tokio::test]
    async fn frames_are_written_whole_and_in_order_however_little_each_write_takes() {
        let (sink, frames, room) = InterleavedSink::unwatched(Duration::from_secs(5));
        let mut head = PacketHead::new();
        head.extend_from_slice(b"ab");
        let queued = [
            Outgoing::Response(Bytes::from_static(b"RTSP/1.0 200 OK\r\n\r\n")),
            Outgoing::Interleaved {
                channel: 0,
                head,
                body: Bytes::from_static(b"cdefgh"),
            },
            Outgoing::Interleaved {
                channel: 1,
                head: PacketHead::new(),
                body: Bytes::from_static(b"xyz"),
            },
        ];
        for frame in queued {
            sink.send_data(frame).await.unwrap();
        }
        drop(sink);
        let mut client = Trickle::default();
        let stall = (Duration::from_secs(5), Counter::default());
        write_loop(&mut client, frames, room, CancellationToken::new(), stall).await;
        assert_eq!(
            client.taken,
            b"RTSP/1.0 200 OK\r\n\r\n$\x00\x00\x08abcdefgh$\x01\x00\x03xyz"
        );
        assert!(client.shut_down);
    }
}
