//! Timestamps of a track's frames in its own clock: Matroska stores one
//! presentation timestamp per block, usually in milliseconds; RTP needs
//! exact sample counts for audio and a decoding order for video.
//!
//! - Audio: each frame's duration is counted from its bytes (AAC, AC-3,
//!   MPEG audio, Opus TOC, Vorbis block sizes, PCM sizes); a frame starts
//!   where the one before ended while the block timestamps agree within
//!   their rounding, and at its block timestamp after a gap.
//! - Video: DTS is derived from the PTS in decoding order, with the
//!   reorder depth `d` of the stream (H.264 VUI `max_num_reorder_frames`,
//!   H.265 `sps_max_num_reorder_pics`): the DTS of frame `i` is the
//!   `(i - d)`-th smallest PTS, which a picture `d` frames ahead of its
//!   output always reaches; the first `d` frames extrapolate back by a
//!   frame duration. Without reordering, DTS = PTS.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::tracks::{FrameSamples, TrackInfo};
use crate::codec::mpeg_audio::FrameHeader;
use crate::codec::opus::packet_samples;
use crate::codec::vorbis::samples_between;
use crate::vocab::clock::rescale;
use crate::vocab::TrackKind;

/// Nanoseconds per second, the unit timestamps are scaled to first.
const NS: u32 = 1_000_000_000;

/// A track's timing state between blocks.
#[derive(Debug, Default)]
pub(super) struct TrackClock {
    /// Audio: where the next frame starts, in ticks.
    expected: Option<i64>,
    /// Video: PTS seen and not yet used as a DTS.
    pending: BinaryHeap<Reverse<i64>>,
    /// Video: frames since the start or the last seek.
    count: u32,
    /// Video: the PTS of the first of them.
    first_pts: i64,
}

impl TrackClock {
    /// Forgets the state (a seek).
    pub fn reset(&mut self) {
        *self = TrackClock::default();
    }
}

/// A frame's timing: PTS, DTS and duration in the track's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct FrameTime {
    pub pts: i64,
    pub dts: i64,
    pub duration: u32,
}

/// The timing of one frame of `info`'s track, whose block says `ts_ns`
/// (its own time for the first frame of a lace, the block's for later
/// ones: `laced` is then true) and `block_duration_ns`.
pub(super) fn frame_time(
    info: &mut TrackInfo,
    clock: &mut TrackClock,
    frame: &[u8],
    ts_ns: i64,
    laced: bool,
    block_duration_ns: Option<u64>,
    scale_ns: u64,
) -> FrameTime {
    let rate = info.track.clock_rate.max(1);
    let ticks = |ns: i64| rescale(ns, NS, rate);
    let container_duration = info
        .default_duration
        .or(block_duration_ns)
        .map_or(0, |ns| ticks(ns as i64));
    let from_block = ticks(ts_ns);
    match info.track.kind() {
        TrackKind::Audio => {
            let duration =
                audio_samples(&mut info.samples, frame, rate).map_or(container_duration, i64::from);
            // Block timestamps are rounded to the TimestampScale.
            let tolerance = ticks(scale_ns as i64) + 1;
            let pts = match clock.expected {
                Some(expected) if laced || (from_block - expected).abs() <= tolerance => expected,
                _ => from_block,
            };
            clock.expected = Some(pts + duration);
            FrameTime {
                pts,
                dts: pts,
                duration: clamp_duration(duration),
            }
        }
        TrackKind::Video => {
            let duration = if container_duration > 0 {
                container_duration
            } else {
                info.track
                    .video()
                    .and_then(|v| v.frame_rate)
                    .map_or(0, |r| rescale(i64::from(r.den), r.num, rate))
            };
            let dts = clock.dts(info.reorder_depth, from_block, duration);
            FrameTime {
                pts: from_block,
                dts,
                duration: clamp_duration(duration),
            }
        }
        TrackKind::Subtitle | TrackKind::Data => FrameTime {
            pts: from_block,
            dts: from_block,
            duration: clamp_duration(container_duration),
        },
    }
}

fn clamp_duration(ticks: i64) -> u32 {
    u32::try_from(ticks.max(0)).unwrap_or(u32::MAX)
}

impl TrackClock {
    /// The DTS of the next frame in decoding order, presented at `pts`,
    /// for a reorder depth `depth` (see the module docs).
    fn dts(&mut self, depth: u32, pts: i64, frame_duration: i64) -> i64 {
        if depth == 0 {
            return pts;
        }
        if self.count == 0 {
            self.first_pts = pts;
            self.pending.clear();
        }
        self.pending.push(Reverse(pts));
        let dts = if self.count < depth {
            self.first_pts - i64::from(depth - self.count) * frame_duration.max(1)
        } else {
            self.pending.pop().map_or(pts, |Reverse(p)| p)
        };
        self.count = self.count.saturating_add(1);
        dts.min(pts)
    }
}

/// The samples of one audio frame, when its bytes say (in `rate` Hz).
fn audio_samples(samples: &mut FrameSamples, frame: &[u8], rate: u32) -> Option<u32> {
    match samples {
        FrameSamples::Fixed(n) => Some(*n),
        FrameSamples::MpegAudio => FrameHeader::parse(frame).ok().map(|h| h.samples),
        FrameSamples::Opus => packet_samples(frame)
            .ok()
            .map(|n| rescale(i64::from(n), 48_000, rate) as u32),
        FrameSamples::Vorbis { timing, previous } => {
            let current = timing.blocksize(frame).ok()?;
            // The first packet returns no audio (Vorbis I §1.3.2), but
            // muxers (FFmpeg's parser) time it as if a packet of its own
            // block size came before: the block timestamps follow that.
            let samples = samples_between(previous.unwrap_or(current), current);
            *previous = Some(current);
            Some(samples)
        }
        FrameSamples::Pcm(bytes) => Some((frame.len() / (*bytes).max(1)) as u32),
        FrameSamples::FromContainer => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dts_trails_pts_by_the_reorder_depth() {
        // I P B B P B B in decoding order, 1 tick a frame, depth 2.
        let mut clock = TrackClock::default();
        let pts = [0, 3, 1, 2, 6, 4, 5];
        let dts: Vec<i64> = pts.iter().map(|&p| clock.dts(2, p, 1)).collect();
        assert_eq!(dts, [-2, -1, 0, 1, 2, 3, 4]);
        assert!(dts.iter().zip(pts).all(|(d, p)| *d <= p));
        let mut plain = TrackClock::default();
        assert_eq!(plain.dts(0, 7, 1), 7);
    }
}
