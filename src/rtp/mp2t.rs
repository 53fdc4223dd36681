//! MPEG-2 transport streams over RTP, RFC 2250 §2 (`MP2T`, static payload
//! type 33, RFC 3551 §6): whole 188-byte TS packets, as many as fit in a
//! payload (7 in the 1460 bytes a 1500-byte MTU leaves), no payload
//! header, a 90 kHz timestamp of when the payload's first byte is due.
//!
//! The track is a [`Codec::Mp2t`] one: a reader of a `.ts` file serving it
//! whole gives units of whole 188-byte packets (192-byte M2TS packets
//! stripped of their 4-byte prefix), each unit's `pts` the time its first
//! byte is due (interpolated from the PCR) and its `duration` the time to
//! the next unit's first byte. Payloads cut from inside a unit get times
//! interpolated between the two, so a sender paces the packets as the PCR
//! does.

use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::media::AccessUnit;
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// The registry entry: `MP2T/90000`, payload type 33.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["MP2T"],
    packetizer: |track, _| {
        (track.codec == Codec::Mp2t).then(|| {
            boxed(Ok(Mp2tPacketizer {
                clock_rate: track.clock_rate,
                expected: None,
            }))
        })
    },
    depacketizer: |_| Ok(Box::new(Mp2tDepacketizer)),
};

/// The size of a TS packet (ISO/IEC 13818-1 §2.4.3.2).
const TS_PACKET: usize = 188;

/// The first byte of every TS packet.
const SYNC_BYTE: u8 = 0x47;

/// The RTP clock (RFC 2250 §2).
const CLOCK: u32 = 90000;

/// Where `data` breaks the TS packet structure: its length is not a
/// non-zero multiple of 188, or a packet does not start with the sync
/// byte.
fn ts_fault(data: &[u8]) -> Option<String> {
    if data.is_empty() || !data.len().is_multiple_of(TS_PACKET) {
        return Some(format!(
            "{} bytes are not whole 188-byte TS packets",
            data.len()
        ));
    }
    data.iter()
        .step_by(TS_PACKET)
        .position(|&b| b != SYNC_BYTE)
        .map(|i| format!("no TS sync byte at byte {}", i * TS_PACKET))
}

/// RFC 2250 §2 packetizer.
pub struct Mp2tPacketizer {
    /// The track's clock, of the units' timestamps.
    clock_rate: u32,
    /// When the next unit is due if the stream runs on: the end of the
    /// last unit that gave its duration.
    expected: Option<i64>,
}

impl Packetizer for Mp2tPacketizer {
    /// RFC 3551 Table 5: `MP2T/90000`, payload type 33, `m=video`.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: Some(33),
            encoding: "MP2T",
            clock_rate: CLOCK,
            channels: None,
            fmtp: None,
        }
    }

    /// One TS packet.
    fn min_payload(&self) -> usize {
        TS_PACKET
    }

    /// As many whole TS packets per payload as fit; the timestamp of each
    /// payload its first byte's due time (RFC 2250 §2), interpolated
    /// across the unit; the marker bit on the first payload of a unit that
    /// does not start where the one before ended (§2: "whenever the
    /// timestamp is discontinuous").
    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        if let Some(fault) = ts_fault(&unit.data) {
            return Err(RtpError::BadUnit(format!("MP2T: {fault}")));
        }
        let marker = self.expected.is_some_and(|end| end != unit.pts);
        self.expected = (unit.duration > 0).then(|| unit.pts + i64::from(unit.duration));
        let start = rescale(unit.pts, self.clock_rate, CLOCK);
        let span = i128::from(rescale(i64::from(unit.duration), self.clock_rate, CLOCK));
        let len = unit.data.len();
        let chunk = max_payload / TS_PACKET * TS_PACKET;
        for offset in (0..len).step_by(chunk) {
            let later = span * offset as i128 / len as i128;
            out.push(RtpPayload {
                header: PayloadHeader::new(),
                data: unit.data.slice(offset..(offset + chunk).min(len)),
                marker: marker && offset == 0,
                timestamp: start.wrapping_add(later as i64) as u32,
            });
        }
        Ok(())
    }
}

/// RFC 2250 §2 depacketizer: each payload's TS packets are one unit.
pub struct Mp2tDepacketizer;

impl Depacketizer for Mp2tDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        if let Some(fault) = ts_fault(&packet.payload) {
            return Err(RtpError::Malformed(format!("MP2T: {fault}")));
        }
        out.push(ReceivedUnit {
            timestamp: packet.timestamp,
            data: packet.payload.clone(),
        });
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::tests::{depacketize, packet, receive};
    use bytes::Bytes;
    use proptest::prelude::*;

    /// `count` TS packets, numbered in their second byte.
    fn ts(count: usize, first: u8) -> Vec<u8> {
        (0..count)
            .flat_map(|i| {
                let mut p = vec![SYNC_BYTE, first.wrapping_add(i as u8)];
                p.resize(TS_PACKET, 0xff);
                p
            })
            .collect()
    }

    fn unit(pts: i64, duration: u32, data: Vec<u8>) -> AccessUnit {
        AccessUnit {
            duration,
            ..crate::rtp::tests::unit(pts, data)
        }
    }

    fn packetizer() -> Mp2tPacketizer {
        Mp2tPacketizer {
            clock_rate: 27_000_000,
            expected: None,
        }
    }

    #[test]
    fn seven_packets_per_payload_paced_within_the_unit() {
        let mut p = packetizer();
        let d = p.description();
        assert_eq!(
            (d.rtpmap(), d.payload_type(3), d.media),
            ("MP2T/90000".to_owned(), 33, TrackKind::Video)
        );
        let mut payloads = Vec::new();
        // 14 packets due over 2 ms (27 MHz clock), then 7 on time, then 7
        // after a jump.
        p.packetize(&unit(270_000, 54_000, ts(14, 0)), 1460, &mut payloads)
            .unwrap();
        p.packetize(&unit(324_000, 27_000, ts(7, 14)), 1460, &mut payloads)
            .unwrap();
        p.packetize(&unit(999_000, 0, ts(7, 21)), 1460, &mut payloads)
            .unwrap();
        p.packetize(&unit(0, 0, ts(1, 28)), 1460, &mut payloads)
            .unwrap();
        assert_eq!(
            payloads
                .iter()
                .map(|p| (p.len(), p.timestamp, p.marker))
                .collect::<Vec<_>>(),
            [
                (1316, 900, false),
                (1316, 990, false),
                (1316, 1080, false),
                (1316, 3330, true),
                (188, 0, false)
            ]
        );
        let out = depacketize(&mut Mp2tDepacketizer, &receive(&payloads));
        let joined: Vec<u8> = out.iter().flat_map(|u| u.data.to_vec()).collect();
        assert_eq!(
            joined,
            [ts(14, 0), ts(7, 14), ts(7, 21), ts(1, 28)].concat()
        );
    }

    #[test]
    fn broken_packets_are_refused() {
        let mut p = packetizer();
        let (mut out, mut units) = (Vec::new(), Vec::new());
        let mut bad_sync = ts(3, 0);
        bad_sync[376] = 0x46;
        for bad in [Vec::new(), ts(2, 0)[..300].to_vec(), bad_sync.clone()] {
            assert!(matches!(
                p.packetize(&unit(0, 0, bad.clone()), 1460, &mut out),
                Err(RtpError::BadUnit(_))
            ));
            assert!(matches!(
                Mp2tDepacketizer.push(&packet(0, 0, &bad), &mut units),
                Err(RtpError::Malformed(_))
            ));
        }
        assert!(out.is_empty() && units.is_empty());
        assert!(matches!(
            p.packetize(&unit(0, 0, ts(1, 0)), 187, &mut out),
            Err(RtpError::PayloadTooSmall { needed: 188, .. })
        ));
    }

    proptest! {
        #[test]
        fn round_trip(units in prop::collection::vec((1usize..30, 0u32..100_000), 1..20), max in 188usize..3000) {
            let mut p = packetizer();
            let mut payloads = Vec::new();
            let mut sent = Vec::new();
            let mut pts = 0;
            for (i, (count, duration)) in units.into_iter().enumerate() {
                let data = ts(count, i as u8);
                p.packetize(&unit(pts, duration, data.clone()), max, &mut payloads).unwrap();
                sent.extend(data);
                pts += i64::from(duration);
            }
            prop_assert!(payloads.iter().all(|pl| pl.len() <= max && pl.len() % 188 == 0));
            prop_assert!(payloads.windows(2).all(|w| w[0].timestamp <= w[1].timestamp));
            let out = depacketize(&mut Mp2tDepacketizer, &receive(&payloads));
            let joined: Bytes = out.iter().flat_map(|u| u.data.to_vec()).collect::<Vec<u8>>().into();
            prop_assert_eq!(joined, Bytes::from(sent));
        }
    }
}
