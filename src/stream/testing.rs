//! Test fixtures of the stream's unit tests: an in-memory demuxer of
//! video and audio, a configuration with fixed RTP header fields, and
//! readers of the packets.

use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::packet::rtp_sequence_and_timestamp;
use super::timeline::{duration_ns, ns, ns_duration, ticks};
use super::{MediaStream, OutgoingPacket, PacketKind, PacketParts, PlayStart, StreamConfig};
use crate::media::{
    AccessUnit, AudioParams, Demuxer, MediaError, ReaderFormat, Track, TrackParams,
};
use crate::rtp::rtcp::{self, RtcpMessage};
use crate::rtp::SenderOptions;
use crate::vocab::{Codec, PcmFormat};

/// An in-memory demuxer: units in file order, seeking to the last key
/// frame of track 0 at or before the target.
pub(super) struct FakeDemuxer {
    pub(super) tracks: Vec<Track>,
    pub(super) units: Vec<AccessUnit>,
    next: usize,
    /// Fails with a truncation error instead of reading this unit.
    pub(super) fail_at: Option<usize>,
}

impl Demuxer for FakeDemuxer {
    fn format(&self) -> &'static ReaderFormat {
        &crate::media::h264::FORMAT
    }
    fn tracks(&self) -> &[Track] {
        &self.tracks
    }
    fn read_unit(&mut self) -> crate::media::Result<Option<AccessUnit>> {
        if self.fail_at == Some(self.next) {
            self.next = usize::MAX;
            return Err(MediaError::truncated(1234, "frame cut short"));
        }
        let unit = self.units.get(self.next).cloned();
        self.next = self.next.saturating_add(1);
        Ok(unit)
    }
    fn seek(&mut self, time: Duration) -> crate::media::Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let target = ticks(duration_ns(time), rate);
        let key = self
            .units
            .iter()
            .filter(|u| u.track == 0 && u.keyframe && u.pts <= target)
            .map(|u| ns(u.pts, rate))
            .last()
            .expect("a key frame at 0");
        // Like a container reader: every track resumes with the unit
        // containing the key frame's time, wherever it sits in the file.
        self.next = self
            .units
            .iter()
            .position(|u| {
                ns(
                    u.pts + i64::from(u.duration),
                    self.tracks[u.track].clock_rate,
                ) > key
            })
            .unwrap_or(self.units.len());
        Ok(ns_duration(key))
    }
}

const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xd9];
const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

/// 10 s of 25 fps video (keyframe every second, 3000-byte frames) and
/// 8 kHz mu-law audio in 0.5 s blocks, muxed in 1 s chunks audio first,
/// the way containers interleave.
pub(super) fn av_demuxer() -> FakeDemuxer {
    let mut video = Track::new(0, Codec::H264, 90000);
    video.framing = crate::vocab::NalFraming::AnnexB;
    video.config.parameter_sets = vec![Bytes::from_static(SPS), Bytes::from_static(PPS)];
    let mut audio = Track::new(1, Codec::Pcm(PcmFormat::Mulaw), 8000);
    audio.params = TrackParams::Audio(AudioParams::new(8000, 1));
    let mut units = Vec::new();
    for second in 0..10i64 {
        for half in 0..2 {
            units.push(AccessUnit {
                track: 1,
                pts: second * 8000 + half * 4000,
                dts: second * 8000 + half * 4000,
                duration: 4000,
                keyframe: true,
                data: Bytes::from(vec![0x7f; 4000]),
            });
        }
        for frame in 0..25i64 {
            let key = frame == 0;
            let mut data = vec![0, 0, 0, 1];
            if key {
                data.extend_from_slice(&[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1]);
                data.extend_from_slice(&[0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1]);
            }
            data.push(if key { 0x65 } else { 0x41 });
            data.resize(data.len() + 2999, 0x11);
            let pts = (second * 25 + frame) * 3600;
            units.push(AccessUnit {
                track: 0,
                pts,
                dts: pts,
                duration: 3600,
                keyframe: key,
                data: data.into(),
            });
        }
    }
    FakeDemuxer {
        tracks: vec![video, audio],
        units,
        next: 0,
        fail_at: None,
    }
}

/// 10 s of 25 fps video with B-frames, closed GOPs of 25 frames in
/// decoding order `I0 P3 B1 B2 P6 B4 B5 ... P24 B22 B23`: the decoding
/// time of the `j`th frame in that order is `j - 2` frames, so every
/// key frame is decoded 80 ms before it is presented.
pub(super) fn bframe_demuxer() -> FakeDemuxer {
    let mut demuxer = av_demuxer();
    demuxer.tracks.truncate(1);
    let frames: Vec<AccessUnit> = demuxer.units.drain(..).filter(|u| u.track == 0).collect();
    let mut order = Vec::new();
    for gop in (0..250).step_by(25) {
        order.push(gop);
        for anchor in (gop + 3..gop + 25).step_by(3) {
            order.extend([anchor, anchor - 2, anchor - 1]);
        }
    }
    demuxer.units = order
        .iter()
        .enumerate()
        .map(|(j, &i)| AccessUnit {
            dts: (j as i64 - 2) * 3600,
            ..frames[i].clone()
        })
        .collect();
    demuxer
}

/// 2 s of 48 kHz AC-3: 63 frames of 512 bytes, 1536 samples each, key
/// frames all (a payload format that packs several units in one packet).
pub(super) fn ac3_demuxer() -> FakeDemuxer {
    let mut track = Track::new(0, Codec::Ac3, 48_000);
    track.params = TrackParams::Audio(AudioParams::new(48_000, 6));
    let units = (0..63)
        .map(|i| AccessUnit {
            track: 0,
            pts: i * 1536,
            dts: i * 1536,
            duration: 1536,
            keyframe: true,
            data: Bytes::from(crate::codec::ac3::tests::ac3_frame(i as u8)),
        })
        .collect();
    FakeDemuxer {
        tracks: vec![track],
        units,
        next: 0,
        fail_at: None,
    }
}

pub(super) fn config() -> StreamConfig {
    let mut c = StreamConfig {
        wallclock: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        ..StreamConfig::default()
    };
    for (track, ssrc, seq, ts) in [(0, 0xa, 65000, 0xffff_0000), (1, 0xb, 7, 1000)] {
        c.senders.insert(
            track,
            SenderOptions {
                ssrc: Some(ssrc),
                sequence: Some(seq),
                timestamp: Some(ts),
                payload_type: None,
            },
        );
    }
    c
}

pub(super) fn drain(stream: &mut MediaStream) -> Vec<OutgoingPacket> {
    std::iter::from_fn(|| stream.next_packet().unwrap()).collect()
}

pub(super) fn rtp(p: &OutgoingPacket) -> (u16, u32, bool) {
    let packet = rtp_types::RtpPacket::parse(&p.data).unwrap();
    (
        packet.sequence_number(),
        packet.timestamp(),
        packet.marker_bit(),
    )
}

/// The sequence number and timestamp of the first RTP packet of each
/// track in `packets`.
pub(super) fn firsts(packets: &[PacketParts]) -> Vec<(u16, u32)> {
    [0, 1]
        .iter()
        .map(|&track| {
            let p = packets
                .iter()
                .find(|p| p.track == track && p.kind == PacketKind::Rtp)
                .unwrap();
            rtp_sequence_and_timestamp(&p.head).unwrap()
        })
        .collect()
}

pub(super) fn info(play: &PlayStart) -> Vec<(u16, u32)> {
    play.rtp_info
        .iter()
        .map(|i| (i.sequence, i.rtptime))
        .collect()
}

pub(super) fn drain_parts(stream: &mut MediaStream) -> Vec<PacketParts> {
    std::iter::from_fn(|| stream.next_packet_parts().unwrap()).collect()
}

/// The wall-clock time a sender report maps its send time to, minus
/// that send time: the anchor it was made with.
pub(super) fn report_anchor(p: &PacketParts) -> Option<f64> {
    let Some(RtcpMessage::SenderReport { ntp, .. }) =
        rtcp::parse(&p.body).unwrap().first().cloned()
    else {
        return None;
    };
    Some(ntp as f64 / 2f64.powi(32) - p.send_time.as_secs_f64())
}
