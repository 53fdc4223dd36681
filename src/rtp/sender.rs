//! The sending side of one RTP stream: SSRC, sequence numbers, timestamp
//! offset and the counts RTCP sender reports carry (RFC 3550 §5.1, §6.4.1).

use rtp_types::RtpPacketBuilder;
use smallvec::SmallVec;

use super::RtpPayload;

/// Length of the fixed RTP header without CSRCs (RFC 3550 §5.1).
pub const RTP_HEADER_LEN: usize = 12;

/// Header fields to use instead of random ones; `None` draws a random value
/// (RFC 3550 §5.1: the initial sequence number and timestamp SHOULD be
/// random, §8.1: so should the SSRC).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderOptions {
    /// Synchronization source identifier.
    pub ssrc: Option<u32>,
    /// Sequence number of the first packet.
    pub sequence: Option<u16>,
    /// The timestamp base: the RTP time of the stream's send time zero
    /// (media time zero unless B-frames delay the presentation, see
    /// `stream`'s timelines).
    pub timestamp: Option<u32>,
    /// Payload type instead of the format's (0..=127).
    pub payload_type: Option<u8>,
}

/// State of one RTP sender (RFC 3550 §6.4.1 fields kept per SSRC).
#[derive(Clone, Debug)]
pub struct RtpSender {
    ssrc: u32,
    payload_type: u8,
    clock_rate: u32,
    next_sequence: u16,
    timestamp_base: u32,
    packet_count: u32,
    octet_count: u32,
}

impl RtpSender {
    /// A sender of `payload_type` packets with a `clock_rate` Hz timestamp
    /// clock; fields `options` leaves `None` are random.
    pub fn new(payload_type: u8, clock_rate: u32, options: SenderOptions) -> RtpSender {
        RtpSender {
            ssrc: options.ssrc.unwrap_or_else(random_u32),
            payload_type: options.payload_type.unwrap_or(payload_type) & 0x7f,
            clock_rate,
            next_sequence: options.sequence.unwrap_or_else(|| random_u32() as u16),
            timestamp_base: options.timestamp.unwrap_or_else(random_u32),
            packet_count: 0,
            octet_count: 0,
        }
    }

    /// The SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The payload type in the header.
    pub fn payload_type(&self) -> u8 {
        self.payload_type
    }

    /// The RTP clock rate in Hz.
    pub fn clock_rate(&self) -> u32 {
        self.clock_rate
    }

    /// Sequence number the next packet will carry.
    pub fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// Packets sent so far (RFC 3550 §6.4.1 sender's packet count, mod 2^32).
    pub fn packet_count(&self) -> u32 {
        self.packet_count
    }

    /// Payload octets sent so far (RFC 3550 §6.4.1 sender's octet count:
    /// headers and padding excluded, mod 2^32).
    pub fn octet_count(&self) -> u32 {
        self.octet_count
    }

    /// The RTP timestamp of media time `ticks` (in this sender's clock):
    /// the random base plus `ticks`, modulo 2^32.
    pub fn rtp_timestamp(&self, ticks: i64) -> u32 {
        self.timestamp_base.wrapping_add(ticks as u32)
    }

    /// Takes back the latest packet written (its payload was
    /// `payload_len` bytes) when it was never sent, so that numbering
    /// continues without a gap (a seek dropped queued packets).
    pub fn unsend(&mut self, payload_len: usize) {
        self.next_sequence = self.next_sequence.wrapping_sub(1);
        self.packet_count = self.packet_count.wrapping_sub(1);
        self.octet_count = self.octet_count.wrapping_sub(payload_len as u32);
    }

    /// Appends one RTP packet carrying `payload` to `out`: the 12-byte
    /// header of RFC 3550 §5.1 (V=2, no padding, extension or CSRC) with the
    /// next sequence number and the timestamp `payload.timestamp + offset`
    /// past the base, then the payload. Returns the packet's length.
    pub fn write(&mut self, payload: &RtpPayload, offset: i64, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        // Cannot fail: no CSRCs, no extension, payload type masked to 7 bits.
        self.builder(payload, offset)
            .payload(&payload.data[..])
            .write_into_vec_unchecked(out);
        self.count(payload);
        out.len() - start
    }

    /// Like [`write`](Self::write) without the media: replaces `out` with
    /// the RTP header and the payload format header (`payload.header`),
    /// which `payload.data` follows on the wire, for senders that write
    /// the parts of a packet without joining them.
    pub fn write_head(&mut self, payload: &RtpPayload, offset: i64, out: &mut PacketHead) {
        out.clear();
        out.resize(RTP_HEADER_LEN + payload.header.len(), 0);
        self.builder(payload, offset).write_into_unchecked(out);
        self.count(payload);
    }

    /// The header of the next packet, with the payload format header.
    fn builder<'a>(
        &self,
        payload: &'a RtpPayload,
        offset: i64,
    ) -> RtpPacketBuilder<&'a [u8], &'a [u8]> {
        RtpPacketBuilder::new()
            .payload_type(self.payload_type)
            .marker_bit(payload.marker)
            .sequence_number(self.next_sequence)
            .timestamp(self.rtp_timestamp(offset.wrapping_add(i64::from(payload.timestamp))))
            .ssrc(self.ssrc)
            .payload(&payload.header[..])
    }

    /// Counts a packet carrying `payload` as sent.
    fn count(&mut self, payload: &RtpPayload) {
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.packet_count = self.packet_count.wrapping_add(1);
        self.octet_count = self.octet_count.wrapping_add(payload.len() as u32);
    }
}

/// The bytes of a packet before its media: the RTP header (RFC 3550 §5.1)
/// and the payload format header, inline up to 32 bytes (no heap
/// allocation for the few bytes these are).
pub type PacketHead = SmallVec<[u8; 32]>;

/// A random 32-bit value from the operating system (RFC 3550 §8.1 asks for
/// a good random source; getrandom is the OS generator). Falls back to
/// time-derived bits if the OS refuses, which never happens on Linux.
fn random_u32() -> u32 {
    getrandom::u32().unwrap_or_else(|_| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        now.subsec_nanos() ^ (now.as_secs() as u32).rotate_left(16)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rtp_types::RtpPacket;

    fn payload(ts: u32, marker: bool, data: &'static [u8]) -> RtpPayload {
        RtpPayload {
            header: [0x7c, 0x85].into_iter().collect(),
            data: Bytes::from_static(data),
            marker,
            timestamp: ts,
        }
    }

    #[test]
    fn writes_rfc3550_header_and_counts() {
        let options = SenderOptions {
            ssrc: Some(0xdead_beef),
            sequence: Some(65535),
            timestamp: Some(0xffff_fff0),
            payload_type: None,
        };
        let mut sender = RtpSender::new(96, 90000, options);
        let mut out = Vec::new();
        let n = sender.write(&payload(0x20, true, b"abc"), 0, &mut out);
        assert_eq!(n, 17);
        assert_eq!(
            out,
            [
                0x80, 0xe0, 0xff, 0xff, 0, 0, 0, 0x10, 0xde, 0xad, 0xbe, 0xef, 0x7c, 0x85, b'a',
                b'b', b'c'
            ]
        );
        sender.write(&payload(0, false, b"x"), 3000, &mut out);
        let second = RtpPacket::parse(&out[17..]).unwrap();
        assert_eq!(second.sequence_number(), 0);
        assert!(!second.marker_bit());
        assert_eq!(second.timestamp(), 0xffff_fff0u32.wrapping_add(3000));
        assert_eq!(second.payload(), &[0x7c, 0x85, b'x']);
        assert_eq!((sender.packet_count(), sender.octet_count()), (2, 8));
    }

    #[test]
    fn head_is_the_packet_without_its_media() {
        let options = SenderOptions {
            ssrc: Some(7),
            sequence: Some(10),
            timestamp: Some(100),
            payload_type: None,
        };
        let (mut a, mut b) = (
            RtpSender::new(96, 90000, options),
            RtpSender::new(96, 90000, options),
        );
        let mut whole = Vec::new();
        let mut head = PacketHead::new();
        for ts in [0, 3600] {
            whole.clear();
            a.write(&payload(ts, true, b"abc"), 5, &mut whole);
            b.write_head(&payload(ts, true, b"abc"), 5, &mut head);
            assert_eq!(&whole[..whole.len() - 3], &head[..]);
        }
        assert_eq!((b.packet_count(), b.octet_count()), (2, 10));
        assert_eq!(b.next_sequence(), a.next_sequence());
    }

    #[test]
    fn random_fields_differ_between_senders() {
        let a = RtpSender::new(0, 8000, SenderOptions::default());
        let b = RtpSender::new(0, 8000, SenderOptions::default());
        assert_ne!(
            (a.ssrc(), a.timestamp_base, a.next_sequence()),
            (b.ssrc(), b.timestamp_base, b.next_sequence())
        );
    }

    #[test]
    fn payload_type_option_overrides_format() {
        let options = SenderOptions {
            payload_type: Some(101),
            ..SenderOptions::default()
        };
        assert_eq!(RtpSender::new(14, 90000, options).payload_type(), 101);
    }
}
