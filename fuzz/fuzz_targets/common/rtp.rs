//! The RTP depacketizers: every payload format of `rtp::FORMATS`, so a
//! format registered there is fuzzed with no change here.

use bytes::Bytes;
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket};
use mediatool::vocab::TrackKind;

/// A stream of RTP packets through a registered depacketizer. The input:
///
/// - a line up to `\n`: an `a=rtpmap` value and an optional `a=fmtp` value
///   after a space (`mpeg4-generic/48000/2 mode=AAC-hbr;sizelength=13`);
///   an encoding name no format registers stands for a registered one
///   picked by the name's bytes, so every format is reached whatever the
///   seeds name,
/// - then packets: a 2-byte big-endian payload length, a flags byte (bit
///   0: the marker; bits 1-3: sequence numbers skipped before it; bit 4:
///   the timestamp moves on by 3000), and the payload.
///
/// No panic, and what comes out stays within a few times what went in
/// (start codes before NAL units of one byte).
pub fn depacketize(data: &[u8]) {
    let line_end = data.iter().position(|&b| b == b'\n').unwrap_or(data.len());
    let line = String::from_utf8_lossy(&data[..line_end]);
    let (rtpmap, fmtp) = match line.trim().split_once(' ') {
        Some((rtpmap, fmtp)) => (rtpmap, Some(fmtp)),
        None => (line.trim(), None),
    };
    let (name, params) = rtpmap.split_once('/').unwrap_or((rtpmap, "90000"));
    let encodings: Vec<&str> = rtp::FORMATS
        .iter()
        .flat_map(|f| f.encodings.iter().copied())
        .collect();
    let encoding = encodings
        .iter()
        .find(|e| e.eq_ignore_ascii_case(name))
        .unwrap_or_else(|| {
            let picked = name.bytes().map(usize::from).sum::<usize>();
            &encodings[picked % encodings.len()]
        });
    let media = if params.starts_with("90000") {
        TrackKind::Video
    } else {
        TrackKind::Audio
    };
    let Ok(description) = PayloadDescription::parse(media, &format!("{encoding}/{params}"), fmtp)
    else {
        return;
    };
    let Ok(mut depacketizer) = rtp::depacketizer(&description) else {
        return;
    };
    let mut packets = data.get(line_end + 1..).unwrap_or_default();
    let (mut sequence, mut timestamp) = (0u16, 0u32);
    let mut out = Vec::new();
    while let [hi, lo, flags, tail @ ..] = packets {
        let len = usize::from(u16::from_be_bytes([*hi, *lo])).min(tail.len());
        let (payload, next) = tail.split_at(len);
        sequence = sequence.wrapping_add(1 + u16::from((flags >> 1) & 7));
        if flags & 0x10 != 0 {
            timestamp = timestamp.wrapping_add(3000);
        }
        let packet = ReceivedPacket {
            sequence,
            timestamp,
            marker: flags & 1 != 0,
            payload: Bytes::copy_from_slice(payload),
        };
        let _ = depacketizer.push(&packet, &mut out);
        packets = next;
    }
    depacketizer.finish(&mut out);
    let output: usize = out.iter().map(|u| u.data.len()).sum();
    assert!(
        output <= 5 * data.len(),
        "{encoding}: {output} bytes out of {} in",
        data.len()
    );
}
