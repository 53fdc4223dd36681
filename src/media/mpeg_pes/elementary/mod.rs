//! One elementary stream of a program: the payload bytes of its PES
//! packets, gathered and cut into access units ([`video`], [`audio`], DVD
//! LPCM), each timed by the PES packet that governs it.
//!
//! **Timing** (ISO/IEC 13818-1 §2.4.3.7): a PES packet's PTS and DTS belong
//! to the first access unit that starts in it (for AC-3 and LPCM in DVD
//! program streams, at the first access unit pointer; for MPEG video, the
//! unit's picture start code). A unit that no timestamp names is timed from
//! the last one that was: audio counts the samples since then (the engine
//! adds them on its sampling clock); video decodes one frame duration after
//! the unit before, and is presented where its display order puts it in
//! its group (MPEG `temporal_reference` in a group of pictures, H.264 and
//! H.265 picture order counts since an IDR picture), as a decoder's
//! reordering would (a group none of whose pictures is named starts one
//! frame after the last picture of the group before). So a unit's time depends only on the PES packets from the last
//! timed one on, and reading restarted at a PES packet times the units after
//! it exactly as a reading from the start.
//!
//! **Restarts.** After a restart (a seek), the stream's first bytes may be
//! the tail of a unit that began before: audio resynchronises on a frame its
//! follower confirms, video drops a first unit that does not start as one,
//! LPCM starts at the first access unit pointer; none of them is timed by a
//! PES before the restart.

mod audio;
mod video;

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::lpcm::LpcmFormat;
use crate::media::{AudioParams, Track, TrackParams};
use crate::vocab::clock::rescale;
use crate::vocab::Codec;

pub(crate) use audio::AudioSyntax;
pub(crate) use video::VideoCodec;

use audio::{AudioSplitter, AudioStep, Parts};
use video::VideoSplitter;

/// Most bytes held for one unit: a video access unit (16 MiB, as the
/// elementary stream readers allow) or a run of junk. A stream that goes
/// past it without a unit boundary loses what it holds, with a warning.
pub(crate) const MAX_BUFFERED: usize = 16 << 20;

/// How far an LPCM timestamp may stray from the sample count before the
/// count restarts from it: 0.1 s.
const LPCM_DRIFT: i64 = 9000;

/// Most PES packets remembered between units: more start in one unit only
/// in a broken stream (a 16 MiB unit in 184-byte pieces has no more than
/// this many timestamps worth keeping).
const MAX_ENTRIES: usize = 4096;

/// What a stream carries, as its container says or its bytes show.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EsKind {
    /// Video of a known coding, or `None`: told by its first start code.
    Video(Option<VideoCodec>),
    /// Audio frames.
    Audio(AudioSyntax),
    /// DVD LPCM (its format comes with each PES packet).
    Lpcm,
}

/// The timestamps of a PES packet, on the continuous 90 kHz timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// Presentation time.
    pub pts: i64,
    /// Decoding time (the PTS when the packet has no DTS).
    pub dts: i64,
}

/// The start of a PES packet, as the system layer found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PesStart {
    /// File offset of the packet (TS: of the TS packet it starts in):
    /// where reading restarts to get it whole.
    pub offset: u64,
    /// Its timestamps, if it has them.
    pub stamp: Option<Stamp>,
    /// Bytes of the payload before the first access unit that starts in
    /// it (DVD first access unit pointer), 0 when not stated.
    pub first_unit: usize,
    /// The LPCM format its header states (DVD LPCM substreams).
    pub lpcm: Option<LpcmFormat>,
}

/// A PES packet start the units are timed by, at an offset of the stream.
#[derive(Clone, Copy, Debug)]
struct Entry {
    /// Where its payload starts, counted in stream bytes since the last
    /// reset.
    payload: u64,
    /// Where its first unit starts.
    at: u64,
    start: PesStart,
    /// A unit took its timestamps.
    used: bool,
}

/// A unit cut from the stream, timed relative to its governing PES packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawUnit {
    /// The coded bytes.
    pub data: Bytes,
    /// Video: its timestamps. Audio: those of the last PES packet that
    /// named a unit up to this one.
    pub stamp: Stamp,
    /// Audio: samples from the unit `stamp` named to this one (0 for video).
    pub since: u64,
    /// Samples per channel (audio); 0 for video.
    pub samples: u32,
    /// A random access point.
    pub keyframe: bool,
    /// File offset of the PES packet this unit's first byte is in.
    pub offset: u64,
}

/// How the stream is cut.
enum Splitter {
    Video(Box<VideoSplitter>),
    Audio(Box<AudioSplitter>),
    Lpcm(Option<LpcmFormat>),
}

/// What makes a run of units after a reset noteworthy.
#[derive(Clone, Copy, Debug, Default)]
struct Noted {
    /// Junk was reported (once per stream).
    junk: bool,
    /// An oversized unit was reported (once per stream).
    oversized: bool,
}

/// One elementary stream's bytes and their cutting into units.
pub(crate) struct Elementary {
    splitter: Splitter,
    buf: BytesMut,
    /// Stream bytes before `buf[0]`, since the last reset.
    taken: u64,
    entries: VecDeque<Entry>,
    /// The last timestamps that named a unit, and the count since.
    timing: Option<(Stamp, u64)>,
    /// Video: how the last unit was timed.
    video: VideoTiming,
    /// Since the last reset, no unit was cut yet: the data may start with
    /// a tail.
    fresh: bool,
    noted: Noted,
    /// Warnings are held back (the open scan reads what reading reads
    /// again).
    pub quiet: bool,
    /// Video, after a seek: the key frame whose PES packet starts at this
    /// offset has these timestamps, whether or not the packet states them.
    expected_key: Option<(u64, Stamp)>,
}

impl Elementary {
    /// A stream of `kind`.
    pub fn new(kind: EsKind) -> Elementary {
        Elementary {
            splitter: match kind {
                EsKind::Video(codec) => Splitter::Video(Box::new(VideoSplitter::new(codec))),
                EsKind::Audio(syntax) => Splitter::Audio(Box::new(AudioSplitter::new(syntax))),
                EsKind::Lpcm => Splitter::Lpcm(None),
            },
            buf: BytesMut::new(),
            taken: 0,
            entries: VecDeque::new(),
            timing: None,
            video: VideoTiming::default(),
            fresh: true,
            noted: Noted::default(),
            quiet: false,
            expected_key: None,
        }
    }

    /// Whether it is video.
    pub fn is_video(&self) -> bool {
        matches!(self.splitter, Splitter::Video(_))
    }

    /// The track the stream describes, once it has.
    pub fn track(&self) -> Option<Track> {
        match &self.splitter {
            Splitter::Video(v) => v.track().cloned(),
            Splitter::Audio(a) => a.track().cloned(),
            Splitter::Lpcm(format) => format.map(|f| {
                let mut track = Track::new(0, Codec::Pcm(f.served()), f.sample_rate);
                track.bit_rate =
                    Some(u64::from(f.sample_rate) * u64::from(f.channels) * u64::from(f.bits));
                track.params = TrackParams::Audio(AudioParams {
                    bits_per_sample: Some(f.served().bits()),
                    block_align: Some(f.served().bits() / 8 * f.channels),
                    ..AudioParams::new(f.sample_rate, f.channels)
                });
                track
            }),
        }
    }

    /// Drops everything buffered: reading restarts elsewhere.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.taken = 0;
        self.entries.clear();
        self.timing = None;
        self.video = VideoTiming::default();
        self.expected_key = None;
        self.fresh = true;
        match &mut self.splitter {
            Splitter::Video(v) => v.reset(),
            Splitter::Audio(a) => a.reset(),
            Splitter::Lpcm(_) => {}
        }
    }

    /// After a reset for a seek: the key frame starting in the PES packet
    /// at file offset `offset` has the timestamps `stamp` (found by reading
    /// from before it), which its PES packet may not state.
    pub fn expect_key(&mut self, offset: u64, stamp: Stamp) {
        self.expected_key = Some((offset, stamp));
    }

    /// A PES packet starts; its payload comes next.
    pub fn start_pes(&mut self, start: PesStart) {
        if let (Splitter::Lpcm(format), Some(lpcm)) = (&mut self.splitter, start.lpcm) {
            format.get_or_insert(lpcm);
        }
        let payload = self.taken + self.buf.len() as u64;
        if self.entries.len() >= MAX_ENTRIES {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry {
            payload,
            at: payload + start.first_unit as u64,
            start,
            used: false,
        });
    }

    /// Payload bytes of the PES packet in progress.
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes buffered.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Cuts the units whose end has arrived into `out`; with `eof`,
    /// nothing more comes and the last unit ends where the data does
    /// (with `cut`, the data was cut short: a unit that ends there is
    /// dropped with a warning). `name` names the stream in warnings.
    pub fn split(&mut self, eof: bool, cut: bool, name: &str, out: &mut Vec<RawUnit>) {
        if let Splitter::Lpcm(_) = self.splitter {
            return self.split_lpcm(eof, cut, name, out);
        }
        loop {
            let step = match &mut self.splitter {
                Splitter::Video(v) => match v.next(&self.buf, eof) {
                    Some(Ok(unit)) => Step::Video(unit),
                    Some(Err(junk)) => Step::Junk(junk),
                    None => Step::Wait,
                },
                Splitter::Audio(a) => match a.next(&self.buf, eof) {
                    Some(AudioStep::Frame(frame)) => Step::Audio(frame),
                    Some(AudioStep::Junk(n)) => Step::Junk(n),
                    Some(AudioStep::Cut(n)) => Step::Cut(n),
                    None => Step::Wait,
                },
                Splitter::Lpcm(_) => Step::Wait,
            };
            match step {
                Step::Wait => break,
                Step::Junk(n) => {
                    if !self.fresh && !self.quiet && !self.noted.junk {
                        self.noted.junk = true;
                        tracing::warn!("{name}: skipped {n} bytes that are no unit of the stream");
                    }
                    self.take(n);
                }
                Step::Cut(n) => {
                    if !self.quiet {
                        tracing::warn!(
                            "{name}: last frame cut short by the end of the data: dropped"
                        );
                    }
                    self.take(n);
                }
                Step::Video(unit) => {
                    let last = eof && unit.len == self.buf.len();
                    if !unit.whole || (last && cut) {
                        if last && cut && unit.whole && !self.quiet {
                            tracing::warn!(
                                "{name}: last access unit cut short by the end of the data: \
                                 dropped"
                            );
                        }
                        self.take(unit.len);
                        continue;
                    }
                    let named =
                        self.stamp_for(unit.anchor as u64).map(|(named, offset)| {
                            match self.expected_key {
                                Some((at, stamp)) if at == offset && unit.keyframe => {
                                    self.expected_key = None;
                                    (Some(stamp), offset)
                                }
                                _ => (named, offset),
                            }
                        });
                    let frame = self.frame_ticks();
                    let stamp = named.and_then(|(stamp, offset)| {
                        self.video.time(stamp, &unit, frame).map(|s| (s, offset))
                    });
                    let Some((stamp, offset)) = stamp else {
                        self.take(unit.len);
                        continue;
                    };
                    out.push(RawUnit {
                        data: self.take(unit.len),
                        stamp,
                        since: 0,
                        samples: 0,
                        keyframe: unit.keyframe,
                        offset,
                    });
                }
                Step::Audio(frame) => {
                    let units = match &frame.parts {
                        Parts::Whole => 1,
                        Parts::Ranges(r) => r.len(),
                        Parts::Owned(o) => o.len(),
                    } as u64;
                    let advance = units * u64::from(frame.samples);
                    let timing = self.stamp_for(0).and_then(|(named, offset)| {
                        if let Some(stamp) = named {
                            self.timing = Some((stamp, 0));
                        }
                        let (stamp, since) = self.timing?;
                        self.timing = Some((stamp, since + advance));
                        Some((stamp, since, offset))
                    });
                    let data = self.take(frame.len);
                    let Some((stamp, since, offset)) = timing else {
                        continue;
                    };
                    let pieces: Vec<Bytes> = match frame.parts {
                        Parts::Whole => vec![data],
                        Parts::Ranges(ranges) => {
                            ranges.into_iter().map(|r| data.slice(r)).collect()
                        }
                        Parts::Owned(owned) => owned.into_iter().map(Bytes::from).collect(),
                    };
                    for (i, piece) in pieces.into_iter().enumerate() {
                        out.push(RawUnit {
                            data: piece,
                            stamp,
                            since: since + i as u64 * u64::from(frame.samples),
                            samples: frame.samples,
                            keyframe: true,
                            offset,
                        });
                    }
                }
            }
        }
        if self.buf.len() > MAX_BUFFERED {
            if !self.noted.oversized && !self.quiet {
                self.noted.oversized = true;
                tracing::warn!(
                    "{name}: more than {} MiB without a unit boundary: dropped",
                    MAX_BUFFERED >> 20
                );
            }
            let n = self.buf.len();
            self.take(n);
            self.timing = None;
            // What follows is junk up to the next unit's start.
            match &mut self.splitter {
                Splitter::Video(v) => v.reset(),
                Splitter::Audio(a) => a.reset(),
                Splitter::Lpcm(_) => {}
            }
        }
    }

    /// LPCM: a unit is the whole sample blocks of one PES packet's payload
    /// (a partial block waits for the next), timed by sample count from
    /// the first timestamp after a reset: FFmpeg's `vob` muxer writes a
    /// fixed first access unit pointer, so its timestamps name a sample up
    /// to one of its audio frames into the payload, not the first; the
    /// count restarts from a timestamp that strays from it by more than
    /// [`LPCM_DRIFT`] (a gap, a new time base).
    fn split_lpcm(&mut self, eof: bool, cut: bool, name: &str, out: &mut Vec<RawUnit>) {
        let Splitter::Lpcm(Some(format)) = self.splitter else {
            let n = self.buf.len();
            self.take(n);
            return;
        };
        loop {
            let Some(first) = self.entries.front().copied() else {
                let n = self.buf.len();
                self.take(n);
                return;
            };
            let end = match self.entries.get(1) {
                Some(next) => next.payload,
                None if eof => self.taken + self.buf.len() as u64,
                None => return,
            };
            if self.fresh {
                // After a reset: from the first access unit, where the
                // timestamp points.
                let lead = first.at.saturating_sub(self.taken) as usize;
                self.take(lead.min(self.buf.len()));
            }
            self.entries.pop_front();
            let last = eof && self.entries.is_empty();
            if last && cut {
                if !self.quiet {
                    tracing::warn!(
                        "{name}: last LPCM packet cut short by the end of the data: dropped"
                    );
                }
                let n = self.buf.len();
                self.take(n);
                return;
            }
            let available = (end.saturating_sub(self.taken) as usize).min(self.buf.len());
            let block = format.block_len();
            let len = available / block * block;
            let samples = (len / block) as u32 * format.block_frames();
            if let Some(stamp) = first.start.stamp {
                let expected = self
                    .timing
                    .map(|(t, since)| t.pts + rescale(since as i64, format.sample_rate, 90_000));
                if expected.is_none_or(|e| (stamp.pts - e).abs() > LPCM_DRIFT) {
                    self.timing = Some((stamp, 0));
                }
            }
            let data = self.take(len);
            if last {
                // A partial block at the very end is no sample frame.
                let n = self.buf.len();
                self.take(n);
            }
            let Some((stamp, since)) = self.timing.filter(|_| samples > 0) else {
                continue;
            };
            self.timing = Some((stamp, since + u64::from(samples)));
            out.push(RawUnit {
                data: if format.bits == 16 {
                    data
                } else {
                    Bytes::from(format.decode(&data))
                },
                stamp,
                since,
                samples,
                keyframe: true,
                offset: first.start.offset,
            });
        }
    }

    /// Removes the first `n` buffered bytes.
    fn take(&mut self, n: usize) -> Bytes {
        let n = n.min(self.buf.len());
        match &mut self.splitter {
            Splitter::Video(v) => v.consumed(n),
            Splitter::Audio(_) | Splitter::Lpcm(_) => {}
        }
        self.taken += n as u64;
        if n > 0 {
            self.fresh = false;
        }
        self.buf.split_to(n).freeze()
    }

    /// For a unit at the buffer's start whose timestamps are those of the
    /// PES packet that `anchor` (bytes in) lies in: those timestamps when
    /// that packet has them and no unit took them yet, and the file offset
    /// of the PES packet the unit's first byte is in; `None` when no PES
    /// packet start precedes the unit (a tail after a restart).
    fn stamp_for(&mut self, anchor: u64) -> Option<(Option<Stamp>, u64)> {
        let start = self.taken;
        let anchor = start + anchor;
        // The packet the unit starts in: the last one starting at or
        // before it; older ones are done with.
        let first = self.entries.partition_point(|e| e.at <= start);
        let offset = self.entries.get(first.checked_sub(1)?)?.start.offset;
        self.entries.drain(..first - 1);
        let governing = self.entries.partition_point(|e| e.at <= anchor) - 1;
        let entry = &mut self.entries[governing];
        let named = match (entry.used, entry.start.stamp) {
            (false, Some(stamp)) => {
                entry.used = true;
                Some(stamp)
            }
            _ => None,
        };
        Some((named, offset))
    }

    /// 90 kHz ticks of one video frame, from the stream's description
    /// (25 fps until it has one).
    fn frame_ticks(&self) -> i64 {
        self.track()
            .and_then(|t| t.video().and_then(|v| v.frame_rate))
            .map_or(3600, |r| rescale(i64::from(r.den), r.num, 90_000))
            .max(1)
    }
}

/// How a video stream's last unit was timed, for the next ones that no
/// PES timestamp names.
#[derive(Clone, Copy, Debug, Default)]
struct VideoTiming {
    /// The last unit's decoding time.
    dts: Option<i64>,
    /// Where the group in progress presents its display order 0, when
    /// known.
    group_base: Option<i64>,
    /// The latest presentation time in the group of pictures in progress.
    group_end: Option<i64>,
}

impl VideoTiming {
    /// The timestamps of `unit`, named (`stamp`) or derived; `None` for a
    /// unit nothing times (no named unit before it since the reset).
    fn time(&mut self, stamp: Option<Stamp>, unit: &video::VideoUnit, frame: i64) -> Option<Stamp> {
        if unit.new_group {
            // A group none of whose pictures is named follows the last.
            self.group_base = self.group_end.map(|end| end + frame);
            self.group_end = None;
        }
        let stamp = match stamp {
            Some(stamp) => {
                if let Some(order) = unit.order {
                    self.group_base = Some(stamp.pts - order * frame);
                }
                stamp
            }
            None => {
                let dts = self.dts? + frame;
                let pts = match (unit.order, self.group_base) {
                    (Some(order), Some(base)) => base + order * frame,
                    _ => dts,
                };
                Stamp { pts, dts }
            }
        };
        self.dts = Some(stamp.dts);
        self.group_end = Some(self.group_end.map_or(stamp.pts, |end| end.max(stamp.pts)));
        Some(stamp)
    }
}

/// One step of cutting.
enum Step {
    Wait,
    Junk(usize),
    Cut(usize),
    Video(video::VideoUnit),
    Audio(audio::AudioFrame),
}
