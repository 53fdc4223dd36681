//! The queue in front of one RTSP connection's writer: responses and
//! interleaved RTP/RTCP frames (RFC 2326 §10.12) go in through an
//! [`InterleavedSink`]; the connection that created it writes what comes
//! out. Playback and sessions hold sinks without knowing connections.
//!
//! The queue is bounded in bytes ([`QUEUE_BYTES`], counting what the
//! writer holds until the kernel has taken it) and in frames
//! ([`QUEUE_FRAMES`]): a playback task waits for room, so TCP back-pressure
//! paces a slow client without loss and without touching any other
//! session; a queue that stays full for the stall timeout closes the
//! connection. Room is taken per frame without a lock (an atomic, as the
//! channel's), given back per write.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::rtp::PacketHead;

/// Frames queued for one connection's writer.
pub const QUEUE_FRAMES: usize = 256;

/// Bytes queued for one connection's writer, or held by it until written:
/// what a client that reads nothing can make the server hold for it
/// (besides the kernel's socket buffers).
pub const QUEUE_BYTES: usize = 256 * 1024;

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
    /// The frame's length on the wire.
    pub fn len(&self) -> usize {
        match self {
            Outgoing::Response(bytes) => bytes.len(),
            Outgoing::Interleaved { head, body, .. } => 4 + head.len() + body.len(),
        }
    }

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
    /// Room in bytes ([`QUEUE_BYTES`]): taken per frame queued, given back
    /// by the writer once written ([`Room`]).
    room: Arc<Semaphore>,
    closed: CancellationToken,
    /// How long a full queue may stay full before the connection closes.
    stall_timeout: Duration,
    /// Counts the connections closed for stalling.
    stalls: Counter,
}

impl InterleavedSink {
    /// A queue, the receiving end for the writer and its room to give
    /// back; `closed` is cancelled (and `stalls` counts one) when the queue
    /// stalls.
    pub fn channel(
        closed: CancellationToken,
        stall_timeout: Duration,
        stalls: Counter,
    ) -> (InterleavedSink, mpsc::Receiver<Outgoing>, Room) {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        let room = Arc::new(Semaphore::new(QUEUE_BYTES));
        let sink = InterleavedSink {
            tx,
            room: Arc::clone(&room),
            closed,
            stall_timeout,
            stalls,
        };
        (sink, rx, Room(room))
    }

    /// Queues a frame, waiting for room; a connection that stays full for
    /// the stall timeout is closed.
    pub async fn send_data(&self, frame: Outgoing) -> Result<(), SendError> {
        self.reserve(frame.len()).await?.send(frame);
        Ok(())
    }

    /// Waits for room for one frame of at most `bytes` bytes, as
    /// [`send_data`](Self::send_data) does, so that the frame is made only
    /// once it can be queued: an SRTP packet is protected only when it
    /// surely goes out (a stop while waiting here spends no packet index).
    pub async fn reserve(&self, bytes: usize) -> Result<Reserved<'_>, SendError> {
        // A frame larger than the whole queue takes all of it.
        let bytes = bytes.min(QUEUE_BYTES);
        let wanted = u32::try_from(bytes).unwrap_or(u32::MAX);
        let reserved = async {
            let room = match self.room.try_acquire_many(wanted) {
                Ok(room) => room,
                Err(_) => self
                    .room
                    .acquire_many(wanted)
                    .await
                    .map_err(|_| SendError::Closed)?,
            };
            let slot = self.tx.reserve().await.map_err(|_| SendError::Closed)?;
            // Given back by the writer once written, or by `Reserved` if
            // it goes unused.
            room.forget();
            Ok(Reserved {
                slot: Some(slot),
                bytes,
                room: &self.room,
            })
        };
        match tokio::time::timeout(self.stall_timeout, reserved).await {
            Ok(result) => result,
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

/// Room in a connection's queue for one frame (see
/// [`InterleavedSink::reserve`]); dropped unused, it is given back.
pub struct Reserved<'a> {
    slot: Option<mpsc::Permit<'a, Outgoing>>,
    /// Bytes of [`QUEUE_BYTES`] held.
    bytes: usize,
    room: &'a Semaphore,
}

impl Reserved<'_> {
    /// Queues `frame`, no longer than the room reserved; the bytes not
    /// needed are given back (the writer gives back the frame's).
    pub fn send(mut self, frame: Outgoing) {
        let used = frame.len().min(QUEUE_BYTES);
        debug_assert!(
            used <= self.bytes,
            "{used} bytes in room for {}",
            self.bytes
        );
        self.room.add_permits(self.bytes.saturating_sub(used));
        self.bytes = 0;
        if let Some(slot) = self.slot.take() {
            slot.send(frame);
        }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if self.slot.is_some() {
            self.room.add_permits(self.bytes);
        }
    }
}

/// The writer's end of a queue's room: gives back the bytes written.
pub struct Room(Arc<Semaphore>);

impl Room {
    /// `bytes` of queued frames have been written (or dropped).
    pub fn written(&self, bytes: usize) {
        self.0.add_permits(bytes.min(QUEUE_BYTES));
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

    /// Room reserved and not used comes back; a frame shorter than its
    /// reservation holds only its own length until written.
    #[tokio::test]
    async fn reserved_room_is_given_back_to_what_is_sent() {
        let (sink, mut rx, room) = InterleavedSink::channel(
            CancellationToken::new(),
            Duration::from_secs(1),
            Counter::default(),
        );
        drop(sink.reserve(1000).await.unwrap());
        assert_eq!(sink.room.available_permits(), QUEUE_BYTES);
        let frame = Outgoing::Response(Bytes::from_static(b"RTSP/1.0 200 OK\r\n\r\n"));
        let len = frame.len();
        sink.reserve(1000).await.unwrap().send(frame);
        assert_eq!(sink.room.available_permits(), QUEUE_BYTES - len);
        let written = rx.recv().await.unwrap();
        room.written(written.len());
        assert_eq!(sink.room.available_permits(), QUEUE_BYTES);
    }

    #[tokio::test]
    async fn a_queue_that_stays_full_closes_the_connection() {
        let closed = CancellationToken::new();
        let stalls = Counter::default();
        let (sink, mut rx, _room) =
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

    /// The queue holds at most [`QUEUE_BYTES`] until the writer says they
    /// were written, however few the frames.
    #[tokio::test]
    async fn the_queue_is_bounded_in_bytes() {
        let closed = CancellationToken::new();
        let (sink, mut rx, room) = InterleavedSink::channel(
            closed.clone(),
            Duration::from_millis(20),
            Counter::default(),
        );
        let frame = || Outgoing::Response(Bytes::from(vec![b'x'; 64 * 1024]));
        for _ in 0..QUEUE_BYTES / (64 * 1024) {
            sink.send_data(frame()).await.unwrap();
        }
        // Taken by the writer but not written: still counted.
        let taken = rx.recv().await.unwrap();
        assert_eq!(sink.send_data(frame()).await, Err(SendError::Closed));
        assert!(closed.is_cancelled());
        // Once written, its room is free again.
        let closed = CancellationToken::new();
        let (sink, mut rx, room2) = InterleavedSink::channel(
            closed.clone(),
            Duration::from_millis(20),
            Counter::default(),
        );
        for _ in 0..QUEUE_BYTES / (64 * 1024) {
            sink.send_data(frame()).await.unwrap();
        }
        let written = rx.recv().await.unwrap();
        room2.written(written.len());
        sink.send_data(frame()).await.unwrap();
        assert!(!closed.is_cancelled());
        drop((taken, room));
    }
}
