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
//! connection. Room is taken per frame without a lock (a semaphore's
//! atomic), given back per write.
//!
//! The queue itself is written here rather than taken from tokio: its
//! channel sets aside room for 32 frames in one block as it is made (2.6
//! KiB with frames of 80 bytes), which every connection would hold for its
//! whole life, while most hold a response or two at a time (a client
//! taking its media over UDP). This one holds what is queued and no more
//! than it has ever held, and its one lock is held only to push or pop.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use prometheus_client::metrics::counter::Counter;
use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::rtp::PacketHead;

/// Frames queued for one connection's writer, at most: each frame takes
/// at least [`QUEUE_BYTES`] / `QUEUE_FRAMES` of the room.
pub const QUEUE_FRAMES: usize = 256;

/// Bytes queued for one connection's writer, or held by it until written:
/// what a client that reads nothing can make the server hold for it
/// (besides the kernel's socket buffers).
pub const QUEUE_BYTES: usize = 256 * 1024;

/// The least room a frame takes, whatever its length.
const FRAME_ROOM: usize = QUEUE_BYTES / QUEUE_FRAMES;

/// The room in a queue a frame of `len` bytes takes: its length, at least
/// [`FRAME_ROOM`] (so that at most [`QUEUE_FRAMES`] are queued), at most
/// the whole room.
fn room_for(len: usize) -> usize {
    len.clamp(FRAME_ROOM, QUEUE_BYTES)
}

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

    /// The room the frame takes in a queue until written (see
    /// [`Room::written`]).
    pub fn room(&self) -> usize {
        room_for(self.len())
    }

    /// The frame's bytes in order, as written (gathered, without a
    /// copy): a response as it is; a packet after its `$`, channel and
    /// 16-bit length (§10.12), put in `prefix`. A packet too long for that
    /// length cannot be framed: no bytes (it is dropped).
    pub fn slices<'a>(&'a self, prefix: &'a mut [u8; 4]) -> [&'a [u8]; 3] {
        match self {
            Outgoing::Response(bytes) => [bytes, &[], &[]],
            Outgoing::Interleaved {
                channel,
                head,
                body,
            } => {
                let Ok(len) = u16::try_from(head.len() + body.len()) else {
                    return [&[], &[], &[]];
                };
                let [high, low] = len.to_be_bytes();
                *prefix = [b'$', *channel, high, low];
                [prefix, head, body]
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

/// What a connection's sinks and its writer share.
struct Queue {
    /// Queued, oldest first.
    frames: Mutex<VecDeque<Outgoing>>,
    /// Room in bytes ([`QUEUE_BYTES`]): taken per frame queued
    /// ([`room_for`]), given back by the writer once written ([`Room`]);
    /// closed when the writer's end is dropped.
    room: Semaphore,
    /// Wakes the writer: a frame was queued, or the last sink dropped.
    ready: Notify,
    /// Sinks alive: none, and the writer's [`Frames::recv`] ends.
    sinks: AtomicUsize,
}

impl Queue {
    fn frames(&self) -> std::sync::MutexGuard<'_, VecDeque<Outgoing>> {
        // A panic while pushing or popping leaves the queue whole.
        self.frames.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A handle to a connection's writer queue, held by the connection and by
/// the interleaved tracks of its sessions.
pub struct InterleavedSink {
    queue: Arc<Queue>,
    closed: CancellationToken,
    /// How long a full queue may stay full before the connection closes.
    stall_timeout: Duration,
    /// Counts the connections closed for stalling.
    stalls: Counter,
}

impl Clone for InterleavedSink {
    fn clone(&self) -> InterleavedSink {
        self.queue.sinks.fetch_add(1, Ordering::Relaxed);
        InterleavedSink {
            queue: Arc::clone(&self.queue),
            closed: self.closed.clone(),
            stall_timeout: self.stall_timeout,
            stalls: self.stalls.clone(),
        }
    }
}

impl Drop for InterleavedSink {
    fn drop(&mut self) {
        if self.queue.sinks.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.queue.ready.notify_one();
        }
    }
}

impl InterleavedSink {
    /// A queue, the receiving end for the writer and its room to give
    /// back; `closed` is cancelled (and `stalls` counts one) when the queue
    /// stalls.
    pub fn channel(
        closed: CancellationToken,
        stall_timeout: Duration,
        stalls: Counter,
    ) -> (InterleavedSink, Frames, Room) {
        let queue = Arc::new(Queue {
            frames: Mutex::new(VecDeque::new()),
            room: Semaphore::new(QUEUE_BYTES),
            ready: Notify::new(),
            sinks: AtomicUsize::new(1),
        });
        let sink = InterleavedSink {
            queue: Arc::clone(&queue),
            closed,
            stall_timeout,
            stalls,
        };
        (sink, Frames(Arc::clone(&queue)), Room(queue))
    }

    /// A queue whose stalls nothing watches (a fresh token and counter):
    /// what tests of the queue and its writer need.
    #[cfg(test)]
    pub(super) fn unwatched(stall_timeout: Duration) -> (InterleavedSink, Frames, Room) {
        InterleavedSink::channel(CancellationToken::new(), stall_timeout, Counter::default())
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
        let wanted = room_for(bytes);
        let room = &self.queue.room;
        let reserved = async {
            let taken = match room.try_acquire_many(wanted as u32) {
                Ok(taken) => taken,
                Err(_) => room
                    .acquire_many(wanted as u32)
                    .await
                    .map_err(|_| SendError::Closed)?,
            };
            // Given back by the writer once written, or by `Reserved` if
            // it goes unused.
            taken.forget();
            Ok(Reserved {
                queue: &self.queue,
                room: wanted,
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
    queue: &'a Queue,
    /// Room held.
    room: usize,
}

impl Reserved<'_> {
    /// Queues `frame`, no longer than the room reserved; the room it does
    /// not need is given back (the writer gives back the frame's).
    pub fn send(mut self, frame: Outgoing) {
        let used = frame.room();
        debug_assert!(used <= self.room, "{used} bytes in room for {}", self.room);
        self.queue.room.add_permits(self.room.saturating_sub(used));
        self.room = 0;
        // A writer gone meanwhile takes nothing more (checked under the
        // lock its end empties the queue with, once closed).
        let mut frames = self.queue.frames();
        if !self.queue.room.is_closed() {
            frames.push_back(frame);
            drop(frames);
            self.queue.ready.notify_one();
        }
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        self.queue.room.add_permits(self.room);
    }
}

/// The writer's end of a queue: the frames in order. Dropped, the queue
/// closes: every sink's wait for room fails, and what was queued is
/// dropped.
pub struct Frames(Arc<Queue>);

impl Frames {
    /// The next frame, waiting for one; `None` once no sink is left and
    /// the queue is empty.
    pub async fn recv(&mut self) -> Option<Outgoing> {
        loop {
            if let Some(frame) = self.try_recv() {
                return Some(frame);
            }
            if self.0.sinks.load(Ordering::Acquire) == 0 {
                // A frame queued just before the last sink went.
                return self.try_recv();
            }
            // A frame queued, or the last sink dropped, since the check
            // above left a permit: this returns at once.
            self.0.ready.notified().await;
        }
    }

    /// The next frame if one is queued.
    pub fn try_recv(&mut self) -> Option<Outgoing> {
        self.0.frames().pop_front()
    }

    /// Closes the queue, as dropping it does.
    pub fn close(&mut self) {
        self.0.room.close();
        // Dropped once the lock is let go.
        let dropped = std::mem::take(&mut *self.0.frames());
        drop(dropped);
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        self.close();
    }
}

/// The writer's end of a queue's room: gives back the room of the frames
/// written.
pub struct Room(Arc<Queue>);

impl Room {
    /// Frames taking `room` ([`Outgoing::room`]) have been written (or
    /// dropped).
    pub fn written(&self, room: usize) {
        self.0.room.add_permits(room.min(QUEUE_BYTES));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame's bytes, joined.
    fn joined(frame: &Outgoing) -> Vec<u8> {
        let mut prefix = [0; 4];
        frame.slices(&mut prefix).concat()
    }

    #[test]
    fn packets_are_framed_whole_or_not_at_all() {
        let mut head = PacketHead::new();
        head.extend_from_slice(b"ab");
        let packet = Outgoing::Interleaved {
            channel: 3,
            head: head.clone(),
            body: Bytes::from_static(b"cde"),
        };
        assert_eq!(joined(&packet), b"$\x03\x00\x05abcde");
        let response = Outgoing::Response(Bytes::from_static(b"RTSP/1.0 200 OK\r\n\r\n"));
        assert_eq!(joined(&response), b"RTSP/1.0 200 OK\r\n\r\n");
        let longest = Outgoing::Interleaved {
            channel: 0,
            head: head.clone(),
            body: Bytes::from(vec![0; 65_533]),
        };
        assert_eq!(joined(&longest).len(), 4 + 65_535);
        let too_long = Outgoing::Interleaved {
            channel: 0,
            head,
            body: Bytes::from(vec![0; 65_534]),
        };
        assert!(joined(&too_long).is_empty());
    }

    /// Room reserved and not used comes back; a frame shorter than its
    /// reservation holds only its own length until written.
    #[tokio::test]
    async fn reserved_room_is_given_back_to_what_is_sent() {
        let (sink, mut rx, room) = InterleavedSink::unwatched(Duration::from_secs(1));
        let available = || sink.queue.room.available_permits();
        drop(sink.reserve(3000).await.unwrap());
        assert_eq!(available(), QUEUE_BYTES);
        let frame = Outgoing::Response(Bytes::from(vec![b'x'; 2000]));
        sink.reserve(3000).await.unwrap().send(frame);
        assert_eq!(available(), QUEUE_BYTES - 2000);
        let written = rx.recv().await.unwrap();
        room.written(written.room());
        assert_eq!(available(), QUEUE_BYTES);
        // A short frame takes the least room a frame takes.
        sink.send_data(Outgoing::Response(Bytes::from_static(
            b"RTSP/1.0 200 OK\r\n\r\n",
        )))
        .await
        .unwrap();
        assert_eq!(available(), QUEUE_BYTES - FRAME_ROOM);
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
        room2.written(written.room());
        sink.send_data(frame()).await.unwrap();
        assert!(!closed.is_cancelled());
        drop((taken, room));
    }

    /// The writer takes the frames in order, is woken by one queued while
    /// it waits, and sees the end once the last sink is gone, after what
    /// was queued before.
    #[tokio::test]
    async fn the_writer_takes_every_frame_then_sees_the_end() {
        let (sink, mut rx, _room) = InterleavedSink::unwatched(Duration::from_secs(1));
        let frame = |text: &'static str| Outgoing::Response(Bytes::from_static(text.as_bytes()));
        let text = |frame: Option<Outgoing>| match frame {
            Some(Outgoing::Response(bytes)) => bytes,
            other => panic!("{other:?}"),
        };
        let other = sink.clone();
        sink.send_data(frame("a")).await.unwrap();
        other.send_data(frame("b")).await.unwrap();
        assert_eq!(text(rx.recv().await), "a");
        assert_eq!(text(rx.try_recv()), "b");
        assert!(rx.try_recv().is_none());
        let waiting = tokio::spawn(async move { (text(rx.recv().await), rx) });
        tokio::time::sleep(Duration::from_millis(20)).await;
        other.send_data(frame("c")).await.unwrap();
        let (c, mut rx) = waiting.await.unwrap();
        assert_eq!(c, "c");
        other.send_data(frame("d")).await.unwrap();
        drop((sink, other));
        assert_eq!(text(rx.recv().await), "d");
        assert!(rx.recv().await.is_none());
    }

    /// The last sink dropped while the writer waits ends its wait.
    #[tokio::test]
    async fn a_waiting_writer_sees_the_last_sink_go() {
        let (sink, mut rx, _room) = InterleavedSink::unwatched(Duration::from_secs(1));
        let waiting = tokio::spawn(async move { rx.recv().await.is_none() });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(sink);
        let ended = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(ended.unwrap().unwrap());
    }

    /// Once the writer's end is gone, what was queued is dropped, sinks
    /// are refused at once (even one waiting for room), and room reserved
    /// before queues nothing.
    #[tokio::test]
    async fn a_closed_queue_refuses_frames() {
        let (sink, rx, _room) = InterleavedSink::unwatched(Duration::from_secs(10));
        let frame = |len| Outgoing::Response(Bytes::from(vec![b'x'; len]));
        let early = sink.reserve(10).await.unwrap();
        sink.send_data(frame(QUEUE_BYTES - FRAME_ROOM))
            .await
            .unwrap();
        let waiting = {
            let sink = sink.clone();
            tokio::spawn(async move { sink.send_data(frame(10)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        drop(rx);
        assert!(sink.queue.frames().is_empty());
        let refused = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(refused.unwrap().unwrap(), Err(SendError::Closed));
        early.send(frame(10));
        assert!(sink.queue.frames().is_empty());
        assert_eq!(sink.send_data(frame(10)).await, Err(SendError::Closed));
    }
}
