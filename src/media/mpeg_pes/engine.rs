//! The demultiplexer of MPEG system streams, over a system layer (program
//! stream packs or transport stream packets) that reports what it finds
//! ([`Event`]s): the elementary streams become tracks, their PES payloads
//! access units, timed on one continuous timeline.
//!
//! **Opening** scans the head of the file (up to [`SCAN_LIMIT`]) until
//! every elementary stream has described itself and yielded its first
//! decodable unit (video: its first key frame), then rewinds. A stream
//! that does neither in the scan is left out with a warning. The earliest
//! first presentation time of the tracks is presentation time 0.
//!
//! **Timestamps.** Video on the 90 kHz clock, straight from the PES
//! timestamps (a unit without one follows the last timed one by frame
//! durations). Audio on its sampling clock: counted from the track's
//! first PES timestamp, so that the frames of a packet, and the packets
//! that the muxer timed from the same sample count, follow each other
//! without rounding gaps. Video units before the first key frame, and the
//! leading pictures presented before it, are dropped (no decoder can show
//! them).
//!
//! **Seeking** bisects the file on its clock references (PCR, SCR) to a
//! little before the target, reads on to find the primary track's (the
//! first video track, else the first track) last key frame at or before
//! the target, widening the window back while it finds none, and notes
//! where the PES packet of that key frame, and those of the other tracks'
//! units containing its time, start. Reading restarts at the earliest of
//! those, each track dropping what comes before its part: every track
//! starts aligned on the key frame's time, exactly as a straight read
//! times those units.

use std::collections::VecDeque;
use std::time::Duration;

use super::elementary::{Elementary, EsKind, PesStart, RawUnit, Stamp};
use super::lpcm::LpcmFormat;
use super::timeline::Timeline;
use crate::media::frame_clock::{ticks_at, time_of_ticks, CLOCK_RATE};
use crate::media::{AccessUnit, MediaError, Result, Track};
use crate::vocab::clock::{rescale, time_of};
use crate::vocab::TrackKind;

/// How much of the head of a file opening reads to find its streams.
pub(crate) const SCAN_LIMIT: u64 = 16 << 20;

/// A program stream's streams appear as their packets come: opening reads
/// at least this much (or to the end) before it trusts it has seen them
/// all.
pub(crate) const SCAN_MIN_UNDECLARED: u64 = 1 << 20;

/// How far before the target a seek's first window starts: 2 s (muxers
/// keep each stream within 0.7 s of the clock, ISO/IEC 13818-1 §2.4.2.6).
const SEEK_WINDOW: i64 = 2 * 90_000;

/// A bisection stops once the interval is this small: what is left is
/// read through.
const BISECT_STOP: u64 = 64 << 10;

/// How far a bisection probe reads for a clock reference.
const PROBE_LIMIT: u64 = 4 << 20;

/// The timestamps and payload of a PES packet as the layer found them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PesInfo {
    /// File offset where reading restarts to get the packet whole.
    pub offset: u64,
    /// The raw 33-bit PTS.
    pub pts: Option<u64>,
    /// The raw 33-bit DTS.
    pub dts: Option<u64>,
    /// Payload bytes before the first access unit that starts in it.
    pub first_unit: usize,
    /// The LPCM format its header states.
    pub lpcm: Option<LpcmFormat>,
}

/// What a system layer reports.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// The elementary streams of the program, by key, in order (TS: the
    /// program map; PS: the program stream map).
    Streams(Vec<(u16, EsKind)>),
    /// Payload bytes of stream `key`: the start of a PES packet (`pes`)
    /// or more of the one in progress. `kind` says what an undeclared
    /// stream carries (PS streams are found as their packets come).
    Payload {
        key: u16,
        kind: Option<EsKind>,
        pes: Option<PesInfo>,
        data: &'a [u8],
        /// The PES packet is complete with these bytes.
        ends: bool,
    },
    /// A clock reference (PCR, SCR base) at file offset `offset`.
    Clock {
        offset: u64,
        raw: u64,
        discontinuity: bool,
    },
    /// The file ends inside the PES packet of stream `key`.
    Cut { key: u16 },
}

/// A system layer: the packet syntax of program or transport streams.
pub(crate) trait SystemLayer: Send {
    /// The next event, `None` at the end of the file.
    fn next_event(&mut self) -> Result<Option<Event<'_>>>;
    /// Repositions at the first packet at or after file offset `offset`,
    /// with no PES packet in progress.
    fn restart(&mut self, offset: u64) -> Result<()>;
    /// The first clock reference at or after file offset `offset` (within
    /// `limit` bytes): its file offset and raw 90 kHz value. Leaves the
    /// position anywhere: a restart follows.
    fn clock_after(&mut self, offset: u64, limit: u64) -> Result<Option<(u64, u64)>>;
    /// Where the stream's packets start (after leading junk).
    fn data_start(&self) -> u64;
    /// The size of the file.
    fn size(&self) -> u64;
    /// File offset of the next byte read.
    fn position(&self) -> u64;
    /// Whether the program's streams are declared up front (a program
    /// map) rather than found as their packets come.
    fn declares_streams(&self) -> bool;
    /// What the file lacked for the layer to find its streams (a transport
    /// stream's PAT or PMT), if that is why it has none.
    fn missing(&self) -> Option<String> {
        None
    }
    /// The stream `key` as warnings name it (`PID 0x100`).
    fn stream_name(key: u16) -> String
    where
        Self: Sized;
}

/// How a track's units are timed.
#[derive(Clone, Copy, Debug)]
enum Clock {
    /// 90 kHz, one frame lasting `frame` ticks.
    Video { frame: i64 },
    /// The sampling clock: PES timestamps counted from `anchor` (90 kHz,
    /// continuous), which is sample `first`.
    Audio { rate: u32, anchor: i64, first: i64 },
}

/// Which of a track's units reading keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Gate {
    /// All.
    Open,
    /// Waiting for a key frame (with this PTS, when given): nothing before.
    Key(Option<i64>),
    /// After the key frame with this PTS: its leading pictures (presented
    /// before it) are dropped, until the next key frame.
    Leading(i64),
    /// Dropping units that end at or before this time.
    After(i64),
}

/// One elementary stream of the program.
struct Slot {
    key: u16,
    es: Elementary,
    /// Its track index, once it is one.
    track: Option<usize>,
    clock: Option<Clock>,
    gate: Gate,
    /// The file ends inside its PES packet in progress.
    cut: bool,
    /// The first unit the open scan kept.
    first: Option<RawUnit>,
    name: String,
}

/// A unit seen while locating a seek target, on the continuous timeline.
#[derive(Clone, Copy, Debug)]
struct Seen {
    pts: i64,
    dts: i64,
    end: i64,
    offset: u64,
}

/// Where a seek restarts reading.
struct Located {
    restart: u64,
    /// The primary track's key frame: its slot, its timestamps and the
    /// file offset of its PES packet, and the time the other tracks start
    /// at (continuous).
    key: Option<(usize, Stamp, u64, i64)>,
    /// The end of the presentation, when the target is past it.
    end: Option<i64>,
}

/// The demultiplexer over system layer `L`.
pub(crate) struct Engine<L> {
    layer: L,
    slots: Vec<Slot>,
    tracks: Vec<Track>,
    timeline: Timeline,
    /// The continuous time of presentation time 0.
    origin: i64,
    /// Units ready, with the file offset of the PES packet each starts in.
    queue: VecDeque<(AccessUnit, u64)>,
    scratch: Vec<RawUnit>,
    ended: bool,
    /// The open scan is running (streams may be added).
    scanning: bool,
}

impl<L: SystemLayer> Engine<L> {
    /// Opens the streams of `layer`: scans its head, describes the tracks,
    /// rewinds. `what` names the format in errors.
    pub fn open(layer: L, what: &str) -> Result<Engine<L>> {
        let mut engine = Engine {
            layer,
            slots: Vec::new(),
            tracks: Vec::new(),
            timeline: Timeline::default(),
            origin: 0,
            queue: VecDeque::new(),
            scratch: Vec::new(),
            ended: false,
            scanning: true,
        };
        engine.scan()?;
        engine.scanning = false;
        engine.adopt_tracks(what)?;
        engine.restart_at(engine.layer.data_start())?;
        Ok(engine)
    }

    /// The tracks.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// The system layer.
    pub fn layer_mut(&mut self) -> &mut L {
        &mut self.layer
    }

    /// The continuous time of presentation time 0.
    pub fn origin(&self) -> i64 {
        self.origin
    }

    /// Reads the head of the file until every stream described itself and
    /// yielded its first unit.
    fn scan(&mut self) -> Result<()> {
        let start = self.layer.data_start();
        loop {
            let position = self.layer.position();
            let enough = if self.layer.declares_streams() {
                true
            } else {
                position >= start + SCAN_MIN_UNDECLARED
            };
            let complete = !self.slots.is_empty()
                && self
                    .slots
                    .iter()
                    .all(|s| s.first.is_some() && s.es.track().is_some());
            if (enough && complete) || position > start + SCAN_LIMIT {
                return Ok(());
            }
            if !self.step()? {
                return Ok(());
            }
        }
    }

    /// Makes tracks of the streams the scan described, in order; the
    /// others are left out with a warning. Sets the origin and the clocks.
    fn adopt_tracks(&mut self, what: &str) -> Result<()> {
        let mut kept = Vec::new();
        for mut slot in std::mem::take(&mut self.slots) {
            let (Some(mut track), Some(first)) = (slot.es.track(), slot.first.take()) else {
                tracing::warn!(
                    "{}: no whole, decodable unit with its headers in the first {} MiB: left out",
                    slot.name,
                    SCAN_LIMIT >> 20
                );
                continue;
            };
            track.index = self.tracks.len();
            slot.track = Some(track.index);
            slot.clock = Some(match track.kind() {
                TrackKind::Video => {
                    // One frame in 90 kHz ticks (25 fps when not stated).
                    let frame = track
                        .video()
                        .and_then(|v| v.frame_rate)
                        .map_or(3600, |r| rescale(i64::from(r.den), r.num, CLOCK_RATE))
                        .max(1);
                    Clock::Video { frame }
                }
                _ => Clock::Audio {
                    rate: track.clock_rate,
                    anchor: first.stamp.pts,
                    first: 0,
                },
            });
            slot.first = Some(first);
            self.tracks.push(track);
            kept.push(slot);
        }
        if kept.is_empty() {
            let why = self.layer.missing().unwrap_or_else(|| {
                format!(
                    "no elementary stream with a whole, decodable unit in the first {} MiB",
                    SCAN_LIMIT >> 20
                )
            });
            return Err(MediaError::invalid(
                self.layer.data_start(),
                format!("{what}: {why}"),
            ));
        }
        self.origin = kept
            .iter()
            .filter_map(|s| Some(continuous_pts(s.clock?, s.first.as_ref()?)))
            .min()
            .unwrap_or(0);
        for slot in &mut kept {
            if let Some(Clock::Audio {
                rate,
                anchor,
                first,
            }) = &mut slot.clock
            {
                *first = rescale(*anchor - self.origin, CLOCK_RATE, *rate);
            }
            slot.first = None;
            slot.es.quiet = false;
        }
        self.slots = kept;
        Ok(())
    }

    /// Handles the next event of the layer; `false` at the end of the file
    /// (after the last units were cut).
    fn step(&mut self) -> Result<bool> {
        let Some(event) = self.layer.next_event()? else {
            for i in 0..self.slots.len() {
                let slot = &mut self.slots[i];
                slot.es.split(true, slot.cut, &slot.name, &mut self.scratch);
                self.take_units(i);
            }
            return Ok(false);
        };
        match event {
            Event::Streams(streams) => {
                if self.scanning && self.slots.is_empty() {
                    for (key, kind) in streams {
                        let name = L::stream_name(key);
                        self.slots.push(new_slot(key, kind, name));
                    }
                }
            }
            Event::Clock {
                offset,
                raw,
                discontinuity,
            } => {
                self.timeline.clock(raw, offset, discontinuity);
            }
            Event::Cut { key } => {
                if let Some(slot) = self.slots.iter_mut().find(|s| s.key == key) {
                    slot.cut = true;
                }
            }
            Event::Payload {
                key,
                kind,
                pes,
                data,
                ends,
            } => {
                let index = match self.slots.iter().position(|s| s.key == key) {
                    Some(i) => i,
                    None => match kind.filter(|_| self.scanning) {
                        Some(kind) => {
                            // Only streams found in the scan become tracks.
                            let name = L::stream_name(key);
                            self.slots.push(new_slot(key, kind, name));
                            self.slots.len() - 1
                        }
                        None => return Ok(true),
                    },
                };
                let slot = &mut self.slots[index];
                if let Some(pes) = pes {
                    let stamp = pes.pts.map(|pts| {
                        let pts = self.timeline.timestamp(pts);
                        let dts = pes.dts.map_or(pts, |dts| self.timeline.timestamp(dts));
                        Stamp { pts, dts }
                    });
                    slot.es.start_pes(PesStart {
                        offset: pes.offset,
                        stamp,
                        first_unit: pes.first_unit,
                        lpcm: pes.lpcm,
                    });
                }
                slot.es.push(data);
                if pes.is_some() || ends || slot.es.buffered() > (1 << 20) {
                    slot.es.split(false, false, &slot.name, &mut self.scratch);
                    self.take_units(index);
                }
            }
        }
        Ok(true)
    }

    /// Moves the units slot `index` cut into the queue (or, scanning, keeps
    /// its first decodable one).
    fn take_units(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        for raw in self.scratch.drain(..) {
            if self.scanning {
                if slot.first.is_none() && (raw.keyframe || !slot.es.is_video()) {
                    slot.first = Some(raw);
                }
                continue;
            }
            let (Some(track), Some(clock)) = (slot.track, slot.clock) else {
                continue;
            };
            let offset = raw.offset;
            let unit = finalize(track, clock, self.origin, raw);
            if admit(&mut slot.gate, &unit) {
                self.queue.push_back((unit, offset));
            }
        }
    }

    /// The next access unit in file order.
    pub fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        loop {
            if let Some((unit, _)) = self.queue.pop_front() {
                return Ok(Some(unit));
            }
            if self.ended {
                return Ok(None);
            }
            if !self.step()? {
                self.ended = true;
            }
        }
    }

    /// Repositions reading at file offset `offset`: nothing buffered,
    /// video waiting for a key frame.
    fn restart_at(&mut self, offset: u64) -> Result<()> {
        if offset <= self.layer.data_start() {
            self.timeline.rewind();
        } else {
            let raw = self
                .layer
                .clock_after(offset, PROBE_LIMIT)?
                .map(|(_, raw)| raw);
            self.timeline.restart(offset, raw);
        }
        self.layer.restart(offset)?;
        for slot in &mut self.slots {
            slot.es.reset();
            slot.cut = false;
            slot.gate = if slot.es.is_video() {
                Gate::Key(None)
            } else {
                Gate::Open
            };
        }
        self.queue.clear();
        self.ended = false;
        Ok(())
    }

    /// Seeks to the key frame of the primary track at or before `time`,
    /// the other tracks aligned on it; returns its presentation time.
    pub fn seek(&mut self, time: Duration) -> Result<Duration> {
        let target = self.origin.saturating_add(ticks_at(time));
        let located = self.locate(target)?;
        let primary = self.primary();
        let Some(primary_clock) = self.slots.get(primary).and_then(|s| s.clock) else {
            return Ok(Duration::ZERO);
        };
        if let Some(end) = located.end {
            self.restart_at(self.layer.size())?;
            self.ended = true;
            return Ok(time_in(
                primary_clock,
                clock_time(primary_clock, end, self.origin),
            ));
        }
        self.restart_at(located.restart)?;
        let Some((primary, key, offset, align)) = located.key else {
            return Ok(Duration::ZERO);
        };
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let Some(clock) = slot.clock else {
                continue;
            };
            slot.gate = if i == primary {
                // Its PES packet may not time it: it is timed as found.
                slot.es.expect_key(offset, key);
                Gate::Key(Some(clock_time(clock, key.pts, self.origin)))
            } else {
                Gate::After(clock_time(clock, align, self.origin))
            };
        }
        Ok(time_in(
            primary_clock,
            clock_time(primary_clock, align, self.origin),
        ))
    }

    /// The slot whose track leads seeking: the first video track, else the
    /// first track.
    fn primary(&self) -> usize {
        self.slots.iter().position(|s| s.es.is_video()).unwrap_or(0)
    }

    /// Finds where reading must restart for `target` (see the module
    /// documentation).
    fn locate(&mut self, target: i64) -> Result<Located> {
        let start = self.layer.data_start();
        let primary = self.primary();
        let mut window = SEEK_WINDOW;
        loop {
            let from = match self.timeline.first_clock() {
                Some(first) if target - window > first => self.bisect(target - window)?,
                _ => start,
            };
            self.restart_at(from)?;
            for slot in &mut self.slots {
                slot.gate = Gate::Open;
            }
            let scan = self.scan_window(primary, target)?;
            let key = scan.best.or(scan.first_key.filter(|_| from <= start));
            if scan.reached_end && scan.last_end.is_some_and(|end| target >= end) {
                return Ok(Located {
                    restart: self.layer.size(),
                    key: None,
                    end: scan.last_end,
                });
            }
            let Some(key) = key else {
                if from > start {
                    window = window.saturating_mul(4);
                    continue;
                }
                return Ok(Located {
                    restart: start,
                    key: None,
                    end: scan.last_end.filter(|_| scan.reached_end),
                });
            };
            // The other tracks start at the key frame's time, or at the
            // target when the first key frame comes after it.
            let align = key.pts.min(target);
            let mut restart = key.offset;
            let mut late = false;
            for (i, seen) in scan.others.iter().enumerate() {
                if i == primary {
                    continue;
                }
                if let Some(unit) = seen.units.iter().find(|u| u.end > align) {
                    restart = restart.min(unit.offset);
                }
                late |= seen.first_pts.is_some_and(|p| p > align);
            }
            if late && from > start {
                window = window.saturating_mul(4);
                continue;
            }
            return Ok(Located {
                restart,
                key: Some((
                    primary,
                    Stamp {
                        pts: key.pts,
                        dts: key.dts,
                    },
                    key.offset,
                    align,
                )),
                end: None,
            });
        }
    }

    /// Reads from where reading was restarted until the primary track has
    /// passed `target` and every other track the best key frame's time.
    fn scan_window(&mut self, primary: usize, target: i64) -> Result<WindowScan> {
        let mut scan = WindowScan {
            best: None,
            first_key: None,
            others: (0..self.slots.len())
                .map(|_| OtherSeen::default())
                .collect(),
            reached_end: false,
            last_end: None,
        };
        let mut primary_done = false;
        loop {
            let more = self.step_raw(&mut scan, primary, target, &mut primary_done)?;
            let key_time = scan.best.map_or(target, |b| b.pts);
            let others_done =
                scan.others.iter().enumerate().all(|(i, o)| {
                    i == primary || o.done || o.last_pts.is_some_and(|p| p > key_time)
                });
            if primary_done && others_done {
                return Ok(scan);
            }
            if !more {
                scan.reached_end = true;
                return Ok(scan);
            }
        }
    }

    /// One event while locating: the units it completes are noted, not
    /// queued.
    fn step_raw(
        &mut self,
        scan: &mut WindowScan,
        primary: usize,
        target: i64,
        primary_done: &mut bool,
    ) -> Result<bool> {
        let more = self.step()?;
        // `step` queued the units (gates open); turn them into notes.
        while let Some((unit, offset)) = self.queue.pop_front() {
            let Some(index) = self.slots.iter().position(|s| s.track == Some(unit.track)) else {
                continue;
            };
            let Some(clock) = self.slots[index].clock else {
                continue;
            };
            let pts = continuous_of(clock, self.origin, unit.pts);
            let end = continuous_of(clock, self.origin, unit.pts + i64::from(unit.duration));
            scan.last_end = Some(scan.last_end.map_or(end, |e: i64| e.max(end)));
            if index == primary {
                if unit.keyframe {
                    let dts = continuous_of(clock, self.origin, unit.dts);
                    let seen = Seen {
                        pts,
                        dts,
                        end,
                        offset,
                    };
                    if pts <= target {
                        if scan.best.is_none_or(|b| pts >= b.pts) {
                            scan.best = Some(seen);
                        }
                    } else if scan.first_key.is_none() {
                        scan.first_key = Some(seen);
                    }
                }
                let decode = continuous_of(clock, self.origin, unit.dts);
                if decode > target || (scan.best.is_none() && scan.first_key.is_some()) {
                    *primary_done = true;
                }
            } else {
                let other = &mut scan.others[index];
                other.first_pts.get_or_insert(pts);
                other.last_pts = Some(pts);
                let floor = scan.best.map_or(i64::MIN, |b| b.pts);
                other.units.retain(|u| u.end > floor);
                if end > floor {
                    other.units.push(Seen {
                        pts,
                        dts: pts,
                        end,
                        offset,
                    });
                }
            }
        }
        if !more {
            for other in &mut scan.others {
                other.done = true;
            }
        }
        Ok(more)
    }

    /// The largest probe offset whose next clock reference is at or before
    /// `target`.
    fn bisect(&mut self, target: i64) -> Result<u64> {
        let (mut lo, mut hi) = (self.layer.data_start(), self.layer.size());
        while hi - lo > BISECT_STOP {
            let mid = lo + (hi - lo) / 2;
            match self.layer.clock_after(mid, (hi - mid).min(PROBE_LIMIT))? {
                Some((at, raw)) if self.timeline.clock_at(raw, at) <= target => lo = mid,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }
}

/// What a seek window's reading found.
struct WindowScan {
    /// The primary track's last key frame at or before the target.
    best: Option<Seen>,
    /// Its first key frame after the target, when none is before.
    first_key: Option<Seen>,
    /// Per slot (the primary's unused): what the other tracks showed.
    others: Vec<OtherSeen>,
    /// The scan read to the end of the file.
    reached_end: bool,
    /// The latest end of a unit seen.
    last_end: Option<i64>,
}

/// What one other track showed in a seek window.
#[derive(Default)]
struct OtherSeen {
    first_pts: Option<i64>,
    last_pts: Option<i64>,
    /// Its units that end after the best key frame so far.
    units: Vec<Seen>,
    done: bool,
}

/// A slot for stream `key` of `kind`, found by the open scan (which says
/// nothing about what reading will say again).
fn new_slot(key: u16, kind: EsKind, name: String) -> Slot {
    let mut es = Elementary::new(kind);
    es.quiet = true;
    Slot {
        key,
        es,
        track: None,
        clock: None,
        gate: Gate::Open,
        cut: false,
        first: None,
        name,
    }
}

/// The continuous 90 kHz presentation time of a raw unit.
fn continuous_pts(clock: Clock, raw: &RawUnit) -> i64 {
    match clock {
        Clock::Video { .. } => raw.stamp.pts,
        Clock::Audio { rate, .. } => raw.stamp.pts + rescale(raw.since as i64, rate, CLOCK_RATE),
    }
}

/// The continuous 90 kHz time of track time `ts`.
fn continuous_of(clock: Clock, origin: i64, ts: i64) -> i64 {
    match clock {
        Clock::Video { .. } => ts + origin,
        Clock::Audio {
            rate,
            anchor,
            first,
        } => anchor + rescale(ts - first, rate, CLOCK_RATE),
    }
}

/// Continuous 90 kHz time `at` in a track's clock.
fn clock_time(clock: Clock, at: i64, origin: i64) -> i64 {
    match clock {
        Clock::Video { .. } => at - origin,
        Clock::Audio {
            rate,
            anchor,
            first,
        } => first + rescale(at - anchor, CLOCK_RATE, rate),
    }
}

/// Track time `ts` of a track of `clock` as a time.
fn time_in(clock: Clock, ts: i64) -> Duration {
    match clock {
        Clock::Video { .. } => time_of_ticks(ts),
        Clock::Audio { rate, .. } => time_of(u64::try_from(ts).unwrap_or(0), rate),
    }
}

/// The access unit of track `track` that `raw` is.
fn finalize(track: usize, clock: Clock, origin: i64, raw: RawUnit) -> AccessUnit {
    let (pts, dts, duration) = match clock {
        Clock::Video { frame } => (raw.stamp.pts - origin, raw.stamp.dts - origin, frame as u32),
        Clock::Audio {
            rate,
            anchor,
            first,
        } => {
            let pts = first + rescale(raw.stamp.pts - anchor, CLOCK_RATE, rate) + raw.since as i64;
            (pts, pts, raw.samples)
        }
    };
    AccessUnit {
        track,
        pts,
        dts: dts.min(pts),
        duration,
        keyframe: raw.keyframe,
        data: raw.data,
    }
}

/// Whether `gate` lets `unit` through, updating it.
fn admit(gate: &mut Gate, unit: &AccessUnit) -> bool {
    match *gate {
        Gate::Open => true,
        Gate::Key(want) => {
            let pass = unit.keyframe && want.is_none_or(|pts| pts == unit.pts);
            if pass {
                *gate = Gate::Leading(unit.pts);
            }
            pass
        }
        Gate::Leading(key) => {
            if unit.keyframe && unit.pts > key {
                *gate = Gate::Open;
                true
            } else {
                unit.pts >= key
            }
        }
        Gate::After(at) => {
            let pass = unit.pts + i64::from(unit.duration) > at;
            if pass {
                *gate = Gate::Open;
            }
            pass
        }
    }
}
