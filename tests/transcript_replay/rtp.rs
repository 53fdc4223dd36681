//! The first RTP packet after PLAY: it reaches the client's port or
//! channel, with the ssrc the SETUP answer gave and the seq and rtptime of
//! RTP-Info (the server sends exactly those first; RFC 3550 §5.1 header read
//! by hand, independently of the server's code).

use std::collections::HashMap;
use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use crate::serve_common::{Item, Rtsp};
use mediatool::vocab::clock::rescale;

use super::checks::RtpInfo;

/// How long the first packet may take.
const WAIT: Duration = Duration::from_secs(5);

/// The problems of the first packet of a track whose first unit is
/// `start` after the npt RTP-Info's rtptime stands for (RFC 2326 §12.33),
/// on its clock.
pub fn first_packet(packet: &[u8], ssrc: Option<u32>, info: &RtpInfo, start: u32) -> Vec<String> {
    if packet.len() < 12 || packet[0] >> 6 != 2 {
        return vec![format!("first packet is not RTP version 2: {packet:02x?}")];
    }
    let seq = u16::from_be_bytes([packet[2], packet[3]]);
    let timestamp = u32::from_be_bytes(packet[4..8].try_into().unwrap());
    let source = u32::from_be_bytes(packet[8..12].try_into().unwrap());
    let mut problems = Vec::new();
    if Some(source) != ssrc {
        problems.push(format!(
            "first packet's ssrc {source:08X}, SETUP said {ssrc:08X?}"
        ));
    }
    if seq != info.seq || timestamp != info.rtptime.wrapping_add(start) {
        problems.push(format!(
            "first packet seq {seq} rtptime {timestamp}, RTP-Info said {} {} (+{start}: the track's start)",
            info.seq, info.rtptime
        ));
    }
    problems
}

/// For each track `serve` streams of `file`, in SDP order, its first
/// unit's time on its RTP clock, modulo 2^32 (the file read by the library's reader; the
/// SDP's clocks from its payload formats).
pub fn start_offsets(file: &Path) -> Vec<u32> {
    let info = mediatool::media::inspect(file).unwrap();
    let (tracks, _) = mediatool::sdp::streamable_tracks(&info, &Default::default());
    let mut demuxer = mediatool::media::open(file).unwrap();
    let mut first: HashMap<usize, i64> = HashMap::new();
    while first.len() < tracks.len() {
        let Some(unit) = demuxer.read_unit().unwrap() else {
            break;
        };
        if tracks.iter().any(|t| t.index == unit.track) {
            first.entry(unit.track).or_insert(unit.pts);
        }
    }
    tracks
        .iter()
        .map(|t| {
            let clock = demuxer.tracks()[t.index].clock_rate;
            // Before zero (Opus's codec delay): a wrapping difference.
            let pts = first.get(&t.index).copied().unwrap_or(0);
            rescale(pts, clock, t.payload.clock_rate) as u32
        })
        .collect()
}

/// The first datagram on a client's RTP socket.
pub fn udp(socket: &UdpSocket) -> Result<Vec<u8>, String> {
    socket.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = vec![0u8; 65536];
    let n = socket.recv(&mut buf).map_err(|e| {
        format!(
            "no RTP on UDP port {} in {WAIT:?}: {e}",
            socket.local_addr().unwrap().port()
        )
    })?;
    buf.truncate(n);
    Ok(buf)
}

/// The first interleaved frame on `channel` (RFC 2326 §10.12); the other
/// channels' frames read on the way are kept for their own turn (another
/// track's first packet among them).
pub fn interleaved(connection: &mut Rtsp, channel: u8) -> Result<Vec<u8>, String> {
    if let Some(i) = connection.frames.iter().position(|(c, _)| *c == channel) {
        return Ok(connection.frames.remove(i).1);
    }
    for _ in 0..64 {
        match connection.read_item() {
            Some(Item::Frame(c, payload)) if c == channel => return Ok(payload),
            Some(Item::Frame(c, payload)) => connection.frames.push((c, payload)),
            Some(Item::Reply(reply)) => return Err(format!("an answer before any RTP: {reply:?}")),
            None => {
                return Err(format!(
                    "no frame on channel {channel}: connection closed or silent"
                ))
            }
        }
    }
    Err(format!("64 frames, none on channel {channel}"))
}

#[test]
fn the_first_packet_must_match_setup_and_rtp_info() {
    let info = RtpInfo {
        url: "rtsp://h/f/track0".into(),
        seq: 7,
        rtptime: 1000,
    };
    let mut packet = vec![0x80, 96, 0, 7, 0, 0, 0x03, 0xe8, 0xde, 0xad, 0xbe, 0xef, 1];
    assert!(first_packet(&packet, Some(0xdeadbeef), &info, 0).is_empty());
    assert_eq!(first_packet(&packet, Some(1), &info, 0).len(), 1);
    // A track starting 40 ticks after npt 0: its first packet is 40 later.
    assert_eq!(first_packet(&packet, Some(0xdeadbeef), &info, 40).len(), 1);
    packet[6..8].copy_from_slice(&1040u16.to_be_bytes());
    assert!(first_packet(&packet, Some(0xdeadbeef), &info, 40).is_empty());
    packet[6..8].copy_from_slice(&1000u16.to_be_bytes());
    packet[3] = 8;
    assert_eq!(first_packet(&packet, Some(0xdeadbeef), &info, 0).len(), 1);
    assert_eq!(
        first_packet(&packet[..11], Some(0xdeadbeef), &info, 0).len(),
        1
    );
    packet[0] = 0x40;
    assert_eq!(first_packet(&packet, Some(0xdeadbeef), &info, 0).len(), 1);
}
