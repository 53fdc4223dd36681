//! The packetizing thread: runs a stream and hands its packets over in
//! batches to the thread that writes them.

use std::sync::mpsc::{Receiver, Sender};

use bytes::Bytes;
use mediatool::stream::{MediaStream, PacketParts, StreamError};

/// Packets handed from the packetizing thread to the writing one at a time.
const BATCH: usize = 512;

/// A batch of packets and the input bytes read so far, or the error that
/// ended the stream.
pub type Batch = Result<(Vec<PacketParts>, u64), StreamError>;

/// The packetizing thread's ends of the two channels: the batches come from
/// it; the emptied batches and the payloads written go back to it, to be
/// freed there (see `CaptureWriter::keep_written`).
pub struct Producer {
    /// The batches, in order; an error is the last.
    pub batches: Receiver<Batch>,
    returns: Sender<(Vec<PacketParts>, Vec<Bytes>)>,
}

impl Producer {
    /// Starts the thread; it ends when the stream does, fails, or the
    /// receiver is dropped.
    pub fn spawn(mut stream: MediaStream) -> Producer {
        let (tx, batches) = std::sync::mpsc::sync_channel::<Batch>(8);
        let (returns, returned) = std::sync::mpsc::channel::<(Vec<PacketParts>, Vec<Bytes>)>();
        std::thread::spawn(move || {
            let next_batch = || {
                let mut batch = None;
                // Frees what came back, keeping one batch's vector.
                while let Ok((vec, payloads)) = returned.try_recv() {
                    drop(payloads);
                    batch = Some(vec);
                }
                batch.unwrap_or_else(|| Vec::with_capacity(BATCH))
            };
            let mut batch = next_batch();
            loop {
                match stream.next_packet_parts() {
                    Ok(Some(packet)) => {
                        batch.push(packet);
                        if batch.len() < BATCH {
                            continue;
                        }
                        let full = std::mem::replace(&mut batch, next_batch());
                        if tx.send(Ok((full, stream.bytes_read()))).is_err() {
                            return;
                        }
                    }
                    Ok(None) => {
                        let _ = tx.send(Ok((batch, stream.bytes_read())));
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Ok((batch, stream.bytes_read())));
                        let _ = tx.send(Err(e));
                        return;
                    }
                }
            }
        });
        Producer { batches, returns }
    }

    /// Hands an emptied batch and the payloads written back to the thread.
    pub fn give_back(&self, batch: Vec<PacketParts>, payloads: Vec<Bytes>) {
        // Once the thread has ended, this thread frees them.
        let _ = self.returns.send((batch, payloads));
    }
}
