//! What every video depacketizer target does with its input: cut it into
//! RTP packets, depacketize them (no panic, output bounded by the input),
//! then send each unit it made through our packetizer and depacketizer
//! again, which must give it back byte for byte: a depacketizer's output
//! is in the form the packetizer takes whole.

use bytes::Bytes;
use mediatool::codec::av1::{obu_type, obus};
use mediatool::media::{AccessUnit, Codec, Track, TrackKind};
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket, ReceivedUnit};

/// Packets of the input: each a control byte (bit 0 marker, bit 1 a
/// sequence gap, bit 2 a new timestamp), a length byte, then the payload.
fn packets(mut data: &[u8]) -> Vec<ReceivedPacket> {
    let mut packets = Vec::new();
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    while let [control, len, rest @ ..] = data {
        let len = usize::from(*len).min(rest.len());
        sequence = sequence.wrapping_add(1 + u16::from(control & 2 != 0));
        timestamp = timestamp.wrapping_add(3000 * u32::from(control & 4 != 0));
        packets.push(ReceivedPacket {
            sequence,
            timestamp,
            marker: control & 1 != 0,
            payload: Bytes::copy_from_slice(&rest[..len]),
        });
        data = &rest[len..];
    }
    packets
}

fn depacketize(encoding: &str, packets: &[ReceivedPacket]) -> Vec<ReceivedUnit> {
    let description =
        PayloadDescription::parse(TrackKind::Video, &format!("{encoding}/90000"), None).unwrap();
    let mut depacketizer = rtp::depacketizer(&description).unwrap();
    let mut out = Vec::new();
    for packet in packets {
        let _ = depacketizer.push(packet, &mut out);
    }
    depacketizer.finish(&mut out);
    out
}

/// Runs the checks for `encoding`, whose packetizer takes `codec`.
pub fn run(encoding: &str, codec: Codec, data: &[u8]) {
    let Some((&size, data)) = data.split_first() else {
        return;
    };
    let packets = packets(data);
    let input: usize = packets.iter().map(|p| p.payload.len()).sum();
    let units = depacketize(encoding, &packets);
    let output: usize = units.iter().map(|u| u.data.len()).sum();
    assert!(
        output <= 2 * input + 2 * units.len(),
        "{encoding}: {output} bytes out of {input}"
    );
    for unit in units {
        // AV1 tile list OBUs are not sent (§5 of the payload format).
        if codec == Codec::Av1
            && obus(&unit.data).any(|o| o.is_ok_and(|o| o.header.obu_type == obu_type::TILE_LIST))
        {
            continue;
        }
        let mut packetizer = rtp::packetizer(&Track::new(0, codec.clone(), 90000)).unwrap();
        let max_payload = packetizer.min_payload() + usize::from(size);
        let access_unit = AccessUnit {
            track: 0,
            pts: i64::from(unit.timestamp),
            dts: i64::from(unit.timestamp),
            duration: 0,
            keyframe: false,
            data: unit.data.clone(),
        };
        let mut payloads = Vec::new();
        packetizer
            .packetize(&access_unit, max_payload, &mut payloads)
            .unwrap_or_else(|e| panic!("{encoding}: our own unit refused: {e}"));
        let again: Vec<ReceivedPacket> = payloads
            .iter()
            .enumerate()
            .map(|(i, p)| ReceivedPacket {
                sequence: i as u16,
                timestamp: p.timestamp,
                marker: p.marker,
                payload: [&p.header[..], &p.data[..]].concat().into(),
            })
            .collect();
        assert!(payloads.iter().all(|p| p.len() <= max_payload));
        assert_eq!(depacketize(encoding, &again), [unit], "{encoding}");
    }
}
