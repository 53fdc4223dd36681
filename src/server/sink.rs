//! The queue in front of one RTSP connection's writer: responses and
//! interleaved RTP/RTCP frames (RFC 2326 §10.12) go in through an
//! [`InterleavedSink`]; the connection that created it writes what comes
//! out. Playback and sessions hold sinks without knowing connections.
//!
//! The queue is bounded ([`QUEUE_FRAMES`]): a playback task waits for room,
//! so TCP back-pressure paces a slow client without loss and without
//! touching any other session; a queue that stays full for the stall
//! timeout closes the connection.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::rtp::PacketHead;

/// Frames queued for one connection's writer.
pub const QUEUE_FRAMES: usize = 256;

/// Something to write on a connection.
#[derive(Debug)]
pub enum Outgoing {
    /// An encoded response.
    Response(Bytes),
    /// An interleaved frame holding an RTP or RTCP packet in two parts
    /// (see [`crate::stream::PacketParts`]), joined only in the writer's
    /// buffer.
    Interleaved {
        /// Channel identifier.
        channel: u8,
        /// The packet's first bytes (RTP and payload headers).
        head: PacketHead,
        /// The rest of the packet.
        body: Bytes,
    },
}

impl Outgoing {
    /// Appends the frame's bytes: a response as it is, a packet after its
    /// `$`, channel and 16-bit length (§10.12). A packet too long for that
    /// length cannot be framed and is dropped.
    pub fn encode(self, buf: &mut BytesMut) {
        match self {
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
}

/// Why a frame could not be queued.
#[derive(Debug, PartialEq, Eq)]
pub enum SendError {
    /// The connection is closed (or was closed for stalling).
    Closed,
}

/// A handle to a connection's writer queue, held by the connection and by
/// the interleaved tracks of its sessions.
#[derive(Clone)]
pub struct InterleavedSink {
    tx: mpsc::Sender<Outgoing>,
    closed: CancellationToken,
    /// How long a full queue may stay full before the connection closes.
    stall_timeout: Duration,
    /// Counts the connections closed for stalling.
    stalls: Counter,
}

impl InterleavedSink {
    /// A queue, and its receiving end for the writer; `closed` is cancelled
    /// (and `stalls` counts one) when the queue stalls.
    pub fn channel(
        closed: CancellationToken,
        stall_timeout: Duration,
        stalls: Counter,
    ) -> (InterleavedSink, mpsc::Receiver<Outgoing>) {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        let sink = InterleavedSink {
            tx,
            closed,
            stall_timeout,
            stalls,
        };
        (sink, rx)
    }

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
                if !self.closed.is_cancelled() {
                    self.stalls.inc();
                }
                self.closed.cancel();
                Err(SendError::Closed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_are_framed_whole_or_not_at_all() {
        let mut buf = BytesMut::new();
        let mut head = PacketHead::new();
        head.extend_from_slice(b"ab");
        Outgoing::Interleaved {
            channel: 3,
            head: head.clone(),
            body: Bytes::from_static(b"cde"),
        }
        .encode(&mut buf);
        Outgoing::Response(Bytes::from_static(b"RTSP/1.0 200 OK\r\n\r\n")).encode(&mut buf);
        assert_eq!(&buf[..], b"$\x03\x00\x05abcdeRTSP/1.0 200 OK\r\n\r\n");
        buf.clear();
        Outgoing::Interleaved {
            channel: 0,
            head,
            body: Bytes::from(vec![0; 65_534]),
        }
        .encode(&mut buf);
        assert!(buf.is_empty());
    }

    #[tokio::test]
    async fn a_queue_that_stays_full_closes_the_connection() {
        let closed = CancellationToken::new();
        let stalls = Counter::default();
        let (sink, mut rx) =
            InterleavedSink::channel(closed.clone(), Duration::from_millis(20), stalls.clone());
        for _ in 0..QUEUE_FRAMES {
            sink.send_data(Outgoing::Response(Bytes::new()))
                .await
                .unwrap();
        }
        let full = sink.send_data(Outgoing::Response(Bytes::new())).await;
        assert_eq!(full, Err(SendError::Closed));
        assert!(closed.is_cancelled());
        assert_eq!(stalls.get(), 1);
        rx.close();
        assert_eq!(
            sink.send_data(Outgoing::Response(Bytes::new())).await,
            Err(SendError::Closed)
        );
    }
}
