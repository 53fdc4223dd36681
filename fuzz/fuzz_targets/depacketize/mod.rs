//! What the depacketizer targets share: arbitrary bytes as a run of RTP
//! packets into one depacketizer, checking the `Depacketizer` contract.

use bytes::Bytes;
use mediatool::rtp::{Depacketizer, ReceivedPacket};

/// Feeds `data` to `depacketizer` as packets: each packet is a length
/// byte, a sequence number step (0 repeats, 1 follows, more loses
/// packets), a byte whose top bit is the marker and whose rest steps the
/// timestamp, then that many payload bytes. Checks that what comes out is
/// bounded by what went in: a depacketizer only ever gives back bytes it
/// was given.
pub fn feed(depacketizer: &mut dyn Depacketizer, data: &[u8]) {
    let mut rest = data;
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    let mut out = Vec::new();
    while let [len, step, flags, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        sequence = sequence.wrapping_add(u16::from(*step));
        timestamp = timestamp.wrapping_add(u32::from(flags & 0x7f) * 960);
        let packet = ReceivedPacket {
            sequence,
            timestamp,
            marker: flags & 0x80 != 0,
            payload: Bytes::copy_from_slice(&tail[..len]),
        };
        let _ = depacketizer.push(&packet, &mut out);
        rest = &tail[len..];
    }
    depacketizer.finish(&mut out);
    let output: usize = out.iter().map(|u| u.data.len()).sum();
    assert!(
        output <= data.len(),
        "{output} bytes out of {} in",
        data.len()
    );
}
