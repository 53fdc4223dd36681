//! What the depacketizers of frame-based payload formats share (VP8, VP9,
//! AV1, MPEG-1/2 video): a frame is the payloads of a run of packets from
//! a start the format marks to an end it marks, all with one timestamp. A
//! lost or malformed packet drops the frame it falls in; the frames before
//! and after it are kept.

use bytes::{BufMut, Bytes, BytesMut};

use super::{ReceivedUnit, RtpError};

/// The most a depacketizer holds for one frame before it gives up on a
/// stream that never marks an end: more than any coded picture of these
/// codecs' highest levels (AV1 level 6.3 and VP9 level 6.2 bound a frame
/// by their 240–480 Mbit/s rates to well under 64 MiB; an MPEG-2 High
/// level picture by its 9781 kbit VBV buffer, ISO/IEC 13818-2 Table 8-13).
pub const MAX_FRAME_BYTES: usize = 64 << 20;

/// Reassembly state of one stream: the sequence number expected next, and
/// the frame being assembled.
pub struct FrameAssembler {
    /// The payload format, for messages.
    format: &'static str,
    expected_sequence: Option<u16>,
    /// Timestamp and bytes of the frame being assembled; `None` between
    /// frames, and after a loss until the next start.
    frame: Option<(u32, BytesMut)>,
}

impl FrameAssembler {
    /// Nothing received yet.
    pub fn new(format: &'static str) -> FrameAssembler {
        FrameAssembler {
            format,
            expected_sequence: None,
            frame: None,
        }
    }

    /// Notes the next packet's sequence number (the first step for every
    /// packet): after a gap, the frame being assembled is dropped. Returns
    /// whether packets were lost before this one.
    pub fn receive(&mut self, sequence: u16) -> bool {
        let lost = self.expected_sequence.is_some_and(|s| s != sequence);
        if lost {
            self.frame = None;
        }
        self.expected_sequence = Some(sequence.wrapping_add(1));
        lost
    }

    /// A [`RtpError::Malformed`] for a packet that breaks the format: the
    /// frame it belongs to is dropped, as if the packet were lost.
    pub fn malformed(&mut self, what: impl std::fmt::Display) -> RtpError {
        self.frame = None;
        RtpError::Malformed(format!("{}: {what}", self.format))
    }

    /// Starts a frame at `timestamp`; a frame still being assembled (its
    /// end was lost) is dropped.
    pub fn start(&mut self, timestamp: u32) {
        self.frame = Some((timestamp, BytesMut::new()));
    }

    /// Bytes of the frame being assembled, if one is.
    pub fn frame_len(&self) -> Option<usize> {
        self.frame.as_ref().map(|(_, data)| data.len())
    }

    /// The timestamp of the frame being assembled, if one is.
    pub fn frame_timestamp(&self) -> Option<u32> {
        self.frame.as_ref().map(|(ts, _)| *ts)
    }

    /// Appends `parts` to the frame being assembled, if there is one of
    /// `timestamp` (a packet of another picture, or one whose frame's start
    /// was lost, is dropped with that frame). A frame that would grow past
    /// [`MAX_FRAME_BYTES`] is dropped with an error.
    pub fn append(&mut self, timestamp: u32, parts: &[&[u8]]) -> Result<(), RtpError> {
        match &mut self.frame {
            Some((ts, data)) if *ts == timestamp => {
                let len: usize = parts.iter().map(|p| p.len()).sum();
                if data.len() + len > MAX_FRAME_BYTES {
                    return Err(self.malformed(format_args!(
                        "frame larger than {} MiB (its end never came): dropped",
                        MAX_FRAME_BYTES >> 20
                    )));
                }
                for part in parts {
                    data.put_slice(part);
                }
            }
            _ => self.frame = None,
        }
        Ok(())
    }

    /// Ends the frame being assembled, appending it to `out` unless empty.
    pub fn end(&mut self, out: &mut Vec<ReceivedUnit>) {
        if let Some((timestamp, data)) = self.frame.take() {
            if !data.is_empty() {
                out.push(ReceivedUnit {
                    timestamp,
                    data: data.freeze(),
                });
            }
        }
    }

    /// Drops the frame being assembled (at the end of a stream: a frame
    /// whose end never came is not a frame).
    pub fn drop_frame(&mut self) {
        self.frame = None;
    }
}

/// Splits `data` into pieces of at most `chunk` bytes (the last shorter),
/// as zero-copy slices; nothing for empty data.
pub fn chunks(data: &Bytes, chunk: usize) -> impl Iterator<Item = Bytes> + '_ {
    (0..data.len())
        .step_by(chunk.max(1))
        .map(move |at| data.slice(at..(at + chunk).min(data.len())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_or_a_malformed_packet_drops_the_frame() {
        let mut a = FrameAssembler::new("X");
        let mut out = Vec::new();
        a.receive(0);
        a.start(7);
        a.append(7, &[b"ab"]).unwrap();
        assert!(a.receive(2));
        assert_eq!(a.frame_timestamp(), None);
        a.append(7, &[b"cd"]).unwrap();
        a.end(&mut out);
        assert!(out.is_empty());
        a.receive(3);
        a.start(8);
        a.append(8, &[b"a", b"b"]).unwrap();
        assert_eq!(
            a.malformed("bad").to_string(),
            "malformed RTP payload: X: bad"
        );
        a.end(&mut out);
        assert!(out.is_empty());
        a.receive(4);
        a.start(9);
        a.append(9, &[b"a"]).unwrap();
        a.append(10, &[b"b"]).unwrap();
        assert_eq!(
            a.frame_timestamp(),
            None,
            "another timestamp ends the frame"
        );
        a.receive(5);
        a.start(9);
        a.append(9, &[b"xy"]).unwrap();
        a.end(&mut out);
        assert_eq!(out[0].data, Bytes::from_static(b"xy"));
    }

    #[test]
    fn chunks_are_slices_of_at_most_the_size() {
        let data = Bytes::from_static(b"abcdefg");
        let pieces: Vec<Bytes> = chunks(&data, 3).collect();
        assert_eq!(
            pieces,
            ["abc", "def", "g"].map(|s| Bytes::from(s.as_bytes()))
        );
        assert_eq!(chunks(&Bytes::new(), 3).count(), 0);
    }
}
