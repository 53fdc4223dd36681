//! AC-3 over RTP, RFC 4184: a 2-byte payload header (§4.1.1: 6 bits MBZ,
//! `FT` frame type, `NF` count), then whole sync frames back to back
//! (`FT` 0, `NF` frames) or one fragment of a frame (`FT` 1 or 2 for the
//! first, with or without 5/8 of the frame, 3 for the others; `NF` the
//! number of fragments). The clock is the sampling rate (§3).
//!
//! E-AC-3 (RFC 4598) is not implemented: its frame sets of several
//! substreams need their own packing rules, and no peer here (FFmpeg,
//! GStreamer) speaks it to check against.

use bytes::{BufMut, Bytes, BytesMut};

use super::aggregate::{Aggregation, Limits};
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::ac3::{StreamKind, SyncFrame};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `AC3/<rate>/<channels>`.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["AC3"],
    packetizer: |track, _| (track.codec == Codec::Ac3).then(|| boxed(Ac3Packetizer::new(track))),
    depacketizer: |description| {
        Ok(Box::new(Ac3Depacketizer {
            clock_rate: description.clock_rate,
            partial: None,
            expected_sequence: None,
        }))
    },
};

/// `MBZ`/`FT` and `NF`.
const HEADER_LEN: usize = 2;

/// `FT` values (§4.1.1).
const WHOLE_FRAMES: u8 = 0;
const FIRST_WITH_FIVE_EIGHTHS: u8 = 1;
const FIRST_WITHOUT_FIVE_EIGHTHS: u8 = 2;
const LATER_FRAGMENT: u8 = 3;

/// The largest sync frame: A/52's largest AC-3 frame is 3840 bytes (1920
/// words, Table 5.18), an E-AC-3 one 4096 (`frmsiz` of 11 bits).
const MAX_FRAME_BYTES: usize = 4096;

/// Most media one payload of several frames spans, in milliseconds: what
/// packing may delay a frame by.
const MAX_SPAN_MS: i64 = 100;

/// RFC 4184 packetizer.
pub struct Ac3Packetizer {
    /// The track's clock, of the units' timestamps.
    clock_rate: u32,
    sample_rate: u32,
    channels: Option<u16>,
    pending: Aggregation,
}

impl Ac3Packetizer {
    /// A packetizer for an AC-3 track of known sample rate.
    pub fn new(track: &Track) -> Result<Ac3Packetizer, RtpError> {
        let audio = track
            .audio()
            .filter(|a| a.sample_rate > 0)
            .ok_or_else(|| RtpError::MissingConfig("AC-3 track has no sample rate".into()))?;
        let sample_rate = audio.sample_rate;
        Ok(Ac3Packetizer {
            clock_rate: track.clock_rate,
            sample_rate,
            channels: Some(audio.channels),
            pending: Aggregation::new(Limits {
                header: HEADER_LEN,
                per_unit: 0,
                max_units: usize::from(u8::MAX),
                max_span: rescale(MAX_SPAN_MS, 1000, sample_rate) as u32,
            }),
        })
    }
}

/// The duration of one whole AC-3 sync frame `data` in a clock of `rate`
/// Hz, or `None` when `data` is not exactly one (a receiver can only split
/// packed frames at the lengths their headers give).
fn frame_step(data: &[u8], rate: u32) -> Option<u32> {
    let frame = SyncFrame::parse(data).ok()?;
    (frame.kind == StreamKind::Ac3 && frame.frame_len == data.len())
        .then(|| rescale(i64::from(frame.samples), frame.sample_rate, rate) as u32)
}

impl Packetizer for Ac3Packetizer {
    /// RFC 4184 §4.1.2/§6: `AC3/<sampling rate>`, with the channel count
    /// when known; no parameters.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Audio,
            static_payload_type: None,
            encoding: "AC3",
            clock_rate: self.sample_rate,
            channels: self.channels,
            fmtp: None,
        }
    }

    fn min_payload(&self) -> usize {
        HEADER_LEN + 1
    }

    /// §4.2: whole frames are held and packed together while they fit,
    /// number at most 255 and span at most [`MAX_SPAN_MS`]; a frame larger
    /// than a payload goes in equal fragments. The timestamp is the first
    /// sample of the first frame (§3); the marker bit is set on payloads
    /// of whole frames and on a frame's last fragment (§3, §4.1.1). A unit
    /// that is not exactly one AC-3 frame goes alone, never packed.
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        let len = unit.data.len();
        let chunk = max_payload - HEADER_LEN;
        let fragments = len.div_ceil(chunk);
        if len == 0 || len > MAX_FRAME_BYTES || fragments > usize::from(u8::MAX) {
            return Err(RtpError::BadUnit(format!(
                "AC-3 frame of {len} bytes (at most {MAX_FRAME_BYTES}, in at most 255 fragments of {chunk})"
            )));
        }
        let timestamp = rescale(unit.pts, self.clock_rate, self.sample_rate) as u32;
        let step = frame_step(&unit.data, self.sample_rate);
        if let Some(step) = step {
            if self
                .pending
                .try_add(&unit.data, timestamp, step, max_payload)
            {
                return Ok(());
            }
        }
        self.flush(out);
        if let Some(step) = step {
            if self
                .pending
                .try_add(&unit.data, timestamp, step, max_payload)
            {
                return Ok(());
            }
        }
        if fragments == 1 {
            out.push(RtpPayload {
                header: PayloadHeader::from_slice(&[WHOLE_FRAMES, 1]),
                data: unit.data.clone(),
                marker: true,
                timestamp,
            });
            return Ok(());
        }
        let first_type = if chunk * 8 >= len * 5 {
            FIRST_WITH_FIVE_EIGHTHS
        } else {
            FIRST_WITHOUT_FIVE_EIGHTHS
        };
        for (i, start) in (0..len).step_by(chunk).enumerate() {
            let end = (start + chunk).min(len);
            let frame_type = if i == 0 { first_type } else { LATER_FRAGMENT };
            out.push(RtpPayload {
                header: PayloadHeader::from_slice(&[frame_type, fragments as u8]),
                data: unit.data.slice(start..end),
                marker: end == len,
                timestamp,
            });
        }
        Ok(())
    }

    fn flush(&mut self, out: &mut Vec<RtpPayload>) {
        self.pending.flush(out, |timestamp, frames| RtpPayload {
            header: PayloadHeader::from_slice(&[WHOLE_FRAMES, frames.len() as u8]),
            data: match frames {
                [only] => only.clone(),
                _ => frames.concat().into(),
            },
            marker: true,
            timestamp,
        });
    }
}

/// A frame being reassembled from fragments.
struct Partial {
    timestamp: u32,
    /// `NF`: the fragments of the frame.
    fragments: u8,
    received: u8,
    data: BytesMut,
}

/// RFC 4184 depacketizer: sync frames, one unit each.
pub struct Ac3Depacketizer {
    clock_rate: u32,
    partial: Option<Partial>,
    expected_sequence: Option<u16>,
}

impl Ac3Depacketizer {
    /// The frames of a payload of `count` whole frames: one frame is the
    /// whole payload; several are split at the lengths their headers give,
    /// which must end exactly at the payload's end. Each frame after the
    /// first is timed one frame duration after the one before.
    fn split(
        &self,
        data: &Bytes,
        count: usize,
        timestamp: u32,
    ) -> Result<Vec<ReceivedUnit>, RtpError> {
        if count == 1 {
            return Ok(vec![ReceivedUnit {
                timestamp,
                data: data.clone(),
            }]);
        }
        let mut units = Vec::new();
        let (mut pos, mut timestamp) = (0, timestamp);
        for _ in 0..count {
            let frame = SyncFrame::parse(&data[pos..])
                .map_err(|e| RtpError::Malformed(format!("AC3: frame {}: {e}", units.len())))?;
            let end = pos + frame.frame_len;
            if end > data.len() {
                return Err(RtpError::Malformed(
                    "AC3: a frame overruns the payload".into(),
                ));
            }
            units.push(ReceivedUnit {
                timestamp,
                data: data.slice(pos..end),
            });
            timestamp = timestamp.wrapping_add(rescale(
                i64::from(frame.samples),
                frame.sample_rate,
                self.clock_rate,
            ) as u32);
            pos = end;
        }
        if pos != data.len() {
            return Err(RtpError::Malformed(
                "AC3: bytes after the frames the header counts".into(),
            ));
        }
        Ok(units)
    }
}

impl Depacketizer for Ac3Depacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if self.expected_sequence.is_some_and(|s| s != packet.sequence) {
            self.partial = None;
        }
        self.expected_sequence = Some(packet.sequence.wrapping_add(1));
        let p = &packet.payload;
        if p.len() <= HEADER_LEN {
            return Err(RtpError::Malformed(
                "AC3: no frame after the payload header".into(),
            ));
        }
        let (frame_type, count) = (p[0] & 3, p[1]);
        if count == 0 {
            return Err(RtpError::Malformed("AC3: NF of 0".into()));
        }
        let data = p.slice(HEADER_LEN..);
        match frame_type {
            WHOLE_FRAMES => {
                let units = self.split(&data, usize::from(count), packet.timestamp)?;
                self.partial = None;
                out.extend(units);
            }
            FIRST_WITH_FIVE_EIGHTHS | FIRST_WITHOUT_FIVE_EIGHTHS => {
                if count < 2 || data.len() > MAX_FRAME_BYTES {
                    return Err(RtpError::Malformed(
                        "AC3: a first fragment of a frame in fewer than 2, or too large".into(),
                    ));
                }
                let mut buf = BytesMut::with_capacity(data.len());
                buf.put_slice(&data);
                self.partial = Some(Partial {
                    timestamp: packet.timestamp,
                    fragments: count,
                    received: 1,
                    data: buf,
                });
            }
            _ => {
                let Some(partial) = self.partial.as_mut() else {
                    // A fragment whose start was lost.
                    return Ok(());
                };
                let fits = partial.data.len() + data.len() <= MAX_FRAME_BYTES;
                if partial.timestamp != packet.timestamp || partial.fragments != count || !fits {
                    self.partial = None;
                    return Ok(());
                }
                partial.data.put_slice(&data);
                partial.received += 1;
                if partial.received == partial.fragments {
                    if let Some(done) = self.partial.take() {
                        out.push(ReceivedUnit {
                            timestamp: done.timestamp,
                            data: done.data.freeze(),
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        self.partial = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ac3::tests::ac3_frame;
    use crate::media::{AudioParams, TrackParams};
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use proptest::prelude::*;

    fn track() -> Track {
        let mut t = Track::new(0, Codec::Ac3, 48000);
        t.params = TrackParams::Audio(AudioParams::new(48000, 6));
        t
    }

    /// A 48 kHz AC-3 frame of frame size code `code` (128 to 2560 bytes).
    fn frame(code: u8, fill: u8) -> Vec<u8> {
        let mut f = ac3_frame(fill);
        f[4] = code;
        f.resize(SyncFrame::parse(&f).unwrap().frame_len, fill);
        f
    }

    #[test]
    fn description() {
        let d = Ac3Packetizer::new(&track()).unwrap().description();
        assert_eq!((d.rtpmap(), d.fmtp), ("AC3/48000/6".to_owned(), None));
        assert!(Ac3Packetizer::new(&Track::new(0, Codec::Ac3, 48000)).is_err());
    }

    #[test]
    fn frames_are_packed_and_fragmented() {
        let mut p = Ac3Packetizer::new(&track()).unwrap();
        let mut payloads = Vec::new();
        // Three 256-byte frames, then a 512-byte one, in 600-byte payloads.
        for (i, code) in [8, 8, 8, 16].into_iter().enumerate() {
            p.packetize(
                &unit(1536 * i as i64, frame(code, i as u8)),
                600,
                &mut payloads,
            )
            .unwrap();
        }
        // The third frame does not fit with the first two: they go. The
        // 512-byte frame does not fit with the third: it goes, and it waits.
        assert_eq!(payloads.len(), 2);
        p.packetize(&unit(1536 * 4, frame(36, 9)), 600, &mut payloads)
            .unwrap();
        p.flush(&mut payloads);
        let shape: Vec<([u8; 2], usize, bool, u32)> = payloads
            .iter()
            .map(|p| ([p.header[0], p.header[1]], p.len(), p.marker, p.timestamp))
            .collect();
        assert_eq!(
            shape,
            [
                ([0, 2], 514, true, 0),
                ([0, 1], 258, true, 3072),
                ([0, 1], 514, true, 4608),
                // 2560 bytes in 598-byte pieces: the first under 5/8.
                ([2, 5], 600, false, 6144),
                ([3, 5], 600, false, 6144),
                ([3, 5], 600, false, 6144),
                ([3, 5], 600, false, 6144),
                ([3, 5], 170, true, 6144),
            ]
        );
        let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
        let out = depacketize(d.as_mut(), &receive(&payloads));
        assert_eq!(out.len(), 5);
        assert_eq!(out[1].timestamp, 1536);
        assert_eq!(out[4].data, Bytes::from(frame(36, 9)));
        // The first fragment holds 5/8 of the frame when payloads are larger.
        let mut big = Vec::new();
        p.packetize(&unit(0, frame(16, 1)), 400, &mut big).unwrap();
        assert_eq!([big[0].header[0], big[0].header[1]], [1, 2]);
        assert!(matches!(
            p.packetize(&unit(0, vec![0; 5000]), 1500, &mut Vec::new()),
            Err(RtpError::BadUnit(_))
        ));
        assert!(
            p.packetize(&unit(0, frame(36, 1)), 10, &mut Vec::new())
                .is_err(),
            "256 fragments"
        );
    }

    #[test]
    fn hostile_payloads() {
        let mut d =
            (FORMAT.depacketizer)(&Ac3Packetizer::new(&track()).unwrap().description()).unwrap();
        let mut out = Vec::new();
        let two = [&[0, 2][..], &frame(8, 0), &frame(8, 1)[..255]].concat();
        for bad in [
            vec![0, 1],
            vec![0, 0, 1],
            two,
            [&[0, 2][..], &frame(8, 0), &frame(8, 1), &[0]].concat(),
            [&[0, 2][..], &[0; 300]].concat(),
            vec![1, 1, 0x0b, 0x77],
            [&[1, 2][..], &[0; 5000]].concat(),
        ] {
            assert!(
                matches!(
                    d.push(&packet(0, 0, &bad), &mut out),
                    Err(RtpError::Malformed(_))
                ),
                "{bad:?}"
            );
        }
        // Later fragments without a first one, or of another frame: dropped.
        let f = frame(36, 3);
        for (i, (header, piece)) in [
            ([3u8, 2u8], &f[..100]),
            ([1, 2], &f[..2000]),
            ([3, 3], &f[2000..]),
        ]
        .into_iter()
        .enumerate()
        {
            d.push(
                &packet(i as u16, 0, &[&header[..], piece].concat()),
                &mut out,
            )
            .unwrap();
        }
        assert!(out.is_empty());
    }

    /// Frame size codes (or 255: a unit that is not one frame) and
    /// whether each follows the one before in time.
    fn stream() -> impl Strategy<Value = Vec<(u8, bool)>> {
        prop::collection::vec(
            (prop_oneof![0u8..38, Just(255u8)], prop::bool::weighted(0.9)),
            1..40,
        )
    }

    proptest! {
        #[test]
        fn round_trip(units in stream(), max in 3usize..1500) {
            let mut p = Ac3Packetizer::new(&track()).unwrap();
            let mut payloads = Vec::new();
            let mut sent = Vec::new();
            let mut pts = 0i64;
            for (i, (code, follows)) in units.into_iter().enumerate() {
                pts += if follows { 1536 } else { 1000 };
                let data = if code == 255 { vec![i as u8; 100 + i] } else { frame(code, i as u8) };
                let u = unit(pts, data);
                if p.packetize(&u, max, &mut payloads).is_ok() {
                    sent.push((pts as u32, u.data));
                } else {
                    prop_assert!(u.data.len().div_ceil(max - 2) > 255);
                }
            }
            p.flush(&mut payloads);
            prop_assert!(payloads.iter().all(|pl| pl.len() <= max));
            let mut d = (FORMAT.depacketizer)(&p.description()).unwrap();
            let out = depacketize(d.as_mut(), &receive(&payloads));
            let got: Vec<(u32, Bytes)> = out.into_iter().map(|u| (u.timestamp, u.data)).collect();
            prop_assert_eq!(got, sent);
        }

        #[test]
        fn hostile_packets(packets in prop::collection::vec((0u16..6, prop::collection::vec(any::<u8>(), 0..64)), 1..40)) {
            let mut d = (FORMAT.depacketizer)(&Ac3Packetizer::new(&track()).unwrap().description()).unwrap();
            let mut out = Vec::new();
            let mut input = 0;
            for (sequence, payload) in packets {
                input += payload.len();
                let _ = d.push(&packet(sequence, 0, &payload), &mut out);
            }
            d.finish(&mut out);
            prop_assert!(out.iter().map(|u| u.data.len()).sum::<usize>() <= input);
        }
    }
}
