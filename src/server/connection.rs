//! One task per RTSP connection: reads requests in order (pipelined
//! requests are answered in order), hands them to the handlers, and owns a
//! writer task that serializes responses and interleaved `$` frames.
//!
//! Slow readers: the writer queue is bounded (256 frames). A playback task
//! waits for room, so TCP back-pressure paces a slow client without loss
//! and without touching any other session; a client that takes nothing for
//! `stall_timeout` (10 s) is disconnected, which ends its interleaved
//! sessions.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::codec::FramedRead;
use tokio_util::sync::CancellationToken;

use super::handlers;
use super::session::Session;
use super::Shared;
use crate::rtp::PacketHead;
use crate::rtsp::framing::{Incoming, RtspDecoder};
use crate::rtsp::message::Response;

/// Frames queued for one connection's writer.
const QUEUE_FRAMES: usize = 256;
/// Bytes gathered into one write.
const WRITE_BATCH: usize = 256 * 1024;
/// Why a connection ends when its writer stopped: a write failed (the
/// client is gone) or the queue stayed full for the stall timeout.
const WRITER_CLOSED: &str = "writer closed (client gone, or stalled)";

/// Something to write on a connection.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded response.
    Response(Bytes),
    /// An interleaved frame (RFC 2326 §10.12) holding an RTP or RTCP packet
    /// in two parts (see [`crate::stream::PacketParts`]), joined only in
    /// the writer's buffer.
    Interleaved {
        /// Channel identifier.
        channel: u8,
        /// The packet's first bytes (RTP and payload headers).
        head: PacketHead,
        /// The rest of the packet.
        body: Bytes,
    },
}

/// Why a frame could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The connection is closed (or was closed for stalling).
    Closed,
}

/// A handle to a connection's writer, held by its interleaved sessions.
#[derive(Clone)]
pub struct ConnSink {
    tx: mpsc::Sender<Outgoing>,
    closed: CancellationToken,
    /// How long a full queue may stay full before the connection closes.
    stall_timeout: Duration,
}

impl ConnSink {
    /// Queues a frame, waiting for room; a connection that stays full for
    /// the stall timeout is closed.
    pub async fn send_data(&self, frame: Outgoing) -> Result<(), SendError> {
        match tokio::time::timeout(self.stall_timeout, self.tx.send(frame)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendError::Closed),
            Err(_) => {
                tracing::info!(
                    "closing a connection that read nothing for {:?}",
                    self.stall_timeout
                );
                self.closed.cancel();
                Err(SendError::Closed)
            }
        }
    }
}

/// What the handlers know and change about the connection.
pub struct ConnCtx {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address on this connection.
    pub local: SocketAddr,
    /// The writer handle.
    pub sink: ConnSink,
    /// Interleaved channels in use on this connection, and their session.
    pub channels: HashMap<u8, Weak<Session>>,
    /// Sessions with a track interleaved on this connection: they end with
    /// it (RFC 2326 §10.12).
    interleaved: Vec<Weak<Session>>,
    /// Sessions this connection created: while one lives, the connection
    /// stays open however idle (its client may keep the session alive with
    /// RTCP alone).
    created: Vec<Weak<Session>>,
}

impl ConnCtx {
    /// Records that `session` sends on `channels` of this connection.
    pub fn interleave(&mut self, channels: (u8, u8), session: &Arc<Session>) {
        self.channels.insert(channels.0, Arc::downgrade(session));
        self.channels.insert(channels.1, Arc::downgrade(session));
        add_session(&mut self.interleaved, session);
    }

    /// Records that this connection created `session`.
    pub fn created(&mut self, session: &Arc<Session>) {
        add_session(&mut self.created, session);
    }

    /// Whether a session this connection created still exists.
    fn has_live_session(&self) -> bool {
        self.created.iter().any(|w| w.strong_count() > 0)
    }
}

/// Adds `session` to `list` once, dropping sessions that have ended (a
/// long-lived connection setting sessions up and down stays small).
fn add_session(list: &mut Vec<Weak<Session>>, session: &Arc<Session>) {
    list.retain(|w| w.strong_count() > 0);
    if !list
        .iter()
        .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(session)))
    {
        list.push(Arc::downgrade(session));
    }
}

/// Serves one connection until the client leaves, it misbehaves beyond
/// repair, or the server shuts down.
pub async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, id: u64) {
    let _ = stream.set_nodelay(true);
    let local = match stream.local_addr() {
        Ok(local) => local,
        Err(_) => return,
    };
    tracing::info!("connection {id} from {peer}");
    let (reader, writer) = stream.into_split();
    let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
    let closed = CancellationToken::new();
    let writer_task = tokio::spawn(write_loop(writer, rx, closed.clone()));
    let mut ctx = ConnCtx {
        peer,
        local,
        sink: ConnSink {
            tx,
            closed: closed.clone(),
            stall_timeout: shared.config.stall_timeout,
        },
        channels: HashMap::new(),
        interleaved: Vec::new(),
        created: Vec::new(),
    };
    let mut frames = FramedRead::new(reader, RtspDecoder::default());
    let idle_limit = shared.sessions.timeout().unwrap_or(Duration::from_secs(65));
    // A client that sends part of a request and then nothing (a slowloris)
    // is disconnected after the request timeout, not the idle timeout.
    // Checked every half of it, so it acts within 1.5 times that.
    let request_timeout = shared.config.request_timeout;
    let tick = idle_limit.min(request_timeout / 2);
    // Idle for a whole `idle_limit` without a live session of its own: a
    // connection is closed after the second such period once its last
    // session has ended (a client may still ask about it), after the first
    // if it never had one.
    let mut idle_without_session = true;
    // Since when nothing has been read whole, and since when part of a
    // request has been waiting for the rest.
    let mut quiet_since = Instant::now();
    let mut partial_since: Option<Instant> = None;
    let reason = loop {
        let item = tokio::select! {
            () = closed.cancelled() => break WRITER_CLOSED,
            () = shared.shutdown.cancelled() => break "server shutting down",
            item = tokio::time::timeout(tick, frames.next()) => item,
        };
        if item.is_ok() {
            quiet_since = Instant::now();
            partial_since = None;
        }
        let response = match item {
            Err(_) => {
                let now = Instant::now();
                if frames.read_buffer().is_empty() {
                    partial_since = None;
                } else if now - *partial_since.get_or_insert(now) >= request_timeout {
                    break "request not finished in time";
                }
                if now - quiet_since < idle_limit {
                    continue;
                }
                quiet_since = now;
                let live = ctx.has_live_session();
                if !live && idle_without_session {
                    break "idle";
                }
                idle_without_session = !live;
                continue;
            }
            Ok(None) => break "closed by client",
            Ok(Some(Err(_))) => break "read error",
            Ok(Some(Ok(Incoming::Response))) => continue,
            Ok(Some(Ok(Incoming::Data { channel, payload }))) => {
                // The client's RTCP over TCP: a sign of life.
                if let Some(session) = ctx.channels.get(&channel).and_then(Weak::upgrade) {
                    shared.sessions.touch(&session);
                    session.client_rtcp(&payload);
                }
                continue;
            }
            Ok(Some(Ok(Incoming::Invalid {
                status,
                cseq,
                reason,
                close,
            }))) => {
                tracing::info!("connection {id}: {} {reason}", status.0);
                let response = Response::new(status);
                (if close { response.closing() } else { response }, cseq)
            }
            Ok(Some(Ok(Incoming::Request(request)))) => {
                let cseq = request.cseq();
                let method = request.method.clone();
                let uri = request.uri.clone();
                let response = handlers::handle(&shared, &mut ctx, request).await;
                idle_without_session &= !ctx.has_live_session();
                tracing::debug!(
                    "connection {id}: {method} {uri} -> {} {}",
                    response.status.0,
                    response.status.reason()
                );
                (response, cseq)
            }
        };
        let (response, cseq) = response;
        let mut encoded = BytesMut::new();
        response.encode(cseq, &mut encoded);
        if ctx
            .sink
            .send_data(Outgoing::Response(encoded.freeze()))
            .await
            .is_err()
        {
            break WRITER_CLOSED;
        }
        if response.close {
            break "bad request";
        }
    };
    tracing::info!("connection {id} from {peer} ends: {reason}");
    for session in ctx.interleaved.drain(..).filter_map(|w| w.upgrade()) {
        handlers::end_session(&shared, &session, false).await;
    }
    ctx.channels.clear();
    drop(ctx);
    // Let the writer flush the last response, then close.
    if tokio::time::timeout(Duration::from_secs(2), writer_task)
        .await
        .is_err()
    {
        closed.cancel();
    }
}

async fn write_loop(
    mut writer: OwnedWriteHalf,
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
        encode(first, &mut buf);
        while buf.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(frame) => encode(frame, &mut buf),
                Err(_) => break,
            }
        }
        let written = tokio::select! {
            () = closed.cancelled() => break,
            written = writer.write_all(&buf) => written,
        };
        if written.is_err() {
            closed.cancel();
            break;
        }
        buf.clear();
    }
    let _ = writer.shutdown().await;
}

fn encode(frame: Outgoing, buf: &mut BytesMut) {
    match frame {
        Outgoing::Response(bytes) => buf.put_slice(&bytes),
        Outgoing::Interleaved {
            channel,
            head,
            body,
        } => {
            let Ok(len) = u16::try_from(head.len() + body.len()) else {
                return;
            };
            buf.put_u8(b'$');
            buf.put_u8(channel);
            buf.put_u16(len);
            buf.put_slice(&head);
            buf.put_slice(&body);
        }
    }
}
