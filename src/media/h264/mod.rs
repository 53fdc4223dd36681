//! H.264 Annex B elementary streams (`.264`, `.h264`): the byte stream of
//! ITU-T H.264 Annex B split into access units (§7.4.1.2.3, §7.4.1.2.4) and
//! timed from picture order counts.
//!
//! Only NAL unit headers, parameter sets, SEI and slice headers are parsed;
//! slice data is only searched for the next start code (memchr's `memmem`),
//! and each access unit is handed out as a zero-copy slice of the read buffer.
//!
//! An elementary stream has no timestamps. Frames are `1 / frame_rate` apart
//! (the SPS VUI timing, else 25 fps) and numbered in decoding order and in
//! output order, the latter found by emulating the decoder's output process
//! with the stream's reorder depth R (`OutputOrder`): a unit with decode
//! index d and output index o gets PTS = ts(o) and DTS = ts(d − R), where
//! ts(i) = ⌊i · 90000 · den / num⌋, exactly, from the indexes.
//!
//! Key frames are IDR pictures and I pictures with a recovery point SEI
//! (§D.2.8). Reading records, for each key frame, its decode and output
//! indexes and the state that decoding depends on (POC decoder, parameter
//! sets) so that `seek` resumes there with exactly the timestamps of a
//! reading from the start.
//!
//! A file cut inside a slice header ends with [`MediaError::Truncated`]; one
//! cut inside slice data cannot be told from a complete one (the syntax has
//! no lengths), so its last unit is yielded short.

mod assembly;
mod params;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use self::assembly::AccessUnitBuilder;
use self::params::{ParameterSets, RawParameterSets};
use super::annexb::{NalScanner, PROBE_LIMIT};
use super::frame_clock::{ticks_at, time_of_ticks, FrameClock, CLOCK_RATE};
use super::output_order::{Anchor, OutputOrder};
use super::seek_index::{SeekIndex, SeekPoint};
use super::warnings::Warnings;
use super::{
    sniff, AccessUnit, BytesReader, Demuxer, Level, MediaError, ReaderFormat, Result, Track,
    TrackParams, VideoParams,
};
use crate::codec::h264::{level_name, PocDecoder, SpsInfo};
use crate::codec::DEFAULT_FRAME_RATE;
use crate::vocab::{Codec, NalFraming};

/// The registry entry: an H.264 Annex B elementary stream.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "h264",
    long_name: "H.264 elementary stream",
    extensions: &["264", "h264", "avc", "jsv"],
    sniff: |head| sniff::annexb(head, Codec::H264),
    open: |input| Ok(Box::new(H264Reader::new(input)?)),
};

/// Everything reading needs to continue from the start of an access unit
/// exactly as a reading from the start of the file would.
#[derive(Clone, Debug)]
struct ResumePoint {
    /// File offset of the access unit's first byte.
    offset: u64,
    poc: PocDecoder,
    params: Arc<RawParameterSets>,
}

/// An access unit waiting for its output index.
#[derive(Debug)]
struct PendingUnit {
    data: Bytes,
    decode_index: i64,
    keyframe: bool,
    resume: Option<Box<ResumePoint>>,
}

/// What [`H264Reader::new`] saw, to say why a stream has no picture.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    nal_units: bool,
    sps: bool,
    pps: bool,
    slices: bool,
}

/// The description of an H.264 track in Annex B framing whose active SPS
/// `info` summarises, with its coded parameter sets (SPS, then PPS): what
/// this reader and the MPEG system stream readers report.
pub(crate) fn video_track(info: &SpsInfo, parameter_sets: Vec<Bytes>) -> Track {
    let mut track = Track::new(0, Codec::H264, CLOCK_RATE);
    track.framing = NalFraming::AnnexB;
    track.config.parameter_sets = parameter_sets;
    track.profile = Some(info.profile().into_owned());
    let level = u32::from(info.level_idc);
    track.params = TrackParams::Video(VideoParams {
        frame_rate: Some(info.frame_rate),
        sample_aspect_ratio: info.sample_aspect_ratio,
        pix_fmt: info.pix_fmt,
        bits_per_raw_sample: Some(info.bit_depth),
        level: Some(Level {
            idc: level,
            name: level_name(level),
        }),
        ..VideoParams::new(info.width, info.height)
    });
    track
}

/// Reader of H.264 Annex B elementary streams: one video track, one access
/// unit (all NAL units of one primary coded picture, start codes included)
/// per [`AccessUnit`], in decoding order.
pub struct H264Reader {
    scanner: NalScanner,
    tracks: Vec<Track>,
    /// Frame rate and reorder depth of the first picture's SPS.
    clock: FrameClock,
    params: ParameterSets,
    poc: PocDecoder,
    /// Decode index of the next picture.
    decode_index: i64,
    order: OutputOrder<PendingUnit>,
    au: AccessUnitBuilder,
    /// Key frames (and the first unit of the file) `seek` can start from.
    index: SeekIndex<Box<ResumePoint>>,
    /// Reading reached the end of the input (or a fatal error).
    ended: bool,
    /// The error that ended reading, reported after the pending units.
    error: Option<MediaError>,
    warnings: Warnings,
    seen: Seen,
}

impl H264Reader {
    /// Opens an Annex B byte stream and reads up to its first picture to
    /// describe the track (the SPS and PPS before it).
    pub fn new(input: BytesReader) -> Result<H264Reader> {
        if input.size() == 0 {
            return Err(MediaError::Empty);
        }
        let mut reader = H264Reader {
            scanner: NalScanner::new(input),
            tracks: Vec::new(),
            clock: FrameClock::new(DEFAULT_FRAME_RATE, 0),
            params: ParameterSets::default(),
            poc: PocDecoder::new(),
            decode_index: 0,
            order: OutputOrder::new(0),
            au: AccessUnitBuilder::default(),
            index: SeekIndex::default(),
            ended: false,
            error: None,
            warnings: Warnings::new("H.264"),
            seen: Seen::default(),
        };
        while reader.au.picture.is_none() {
            if reader.scanner.position() > PROBE_LIMIT {
                return Err(
                    reader.no_picture_error(&format!("in the first {} MiB", PROBE_LIMIT >> 20))
                );
            }
            if !reader.step()? {
                return Err(reader.no_picture_error("in the file"));
            }
        }
        let pps_id = reader.au.last_slice.pps_id;
        let sps = reader
            .params
            .sps_of_pps(pps_id)
            .ok_or_else(|| MediaError::invalid(0, "first slice lost its parameter sets"))?;
        let info = SpsInfo::new(sps).map_err(|e| MediaError::invalid(0, e.to_string()))?;
        reader
            .tracks
            .push(video_track(&info, reader.params.config_for(pps_id)));
        Ok(reader)
    }

    /// Why the first `place` of the input holds no decodable picture.
    fn no_picture_error(&self, place: &str) -> MediaError {
        let missing = match self.seen {
            Seen {
                nal_units: false, ..
            } => "no Annex B start code",
            Seen { sps: false, .. } => "no sequence parameter set",
            Seen { pps: false, .. } => "no usable picture parameter set",
            Seen { slices: false, .. } => "no coded slice",
            _ => "no slice whose parameter sets were seen",
        };
        MediaError::invalid(0, format!("not an H.264 stream: {missing} {place}"))
    }
    /// The next unit in decoding order, if its output index is known;
    /// indexes it when it is a key frame.
    fn pop_ready(&mut self) -> Option<AccessUnit> {
        let (unit, output_index) = self.order.pop()?;
        if let Some(resume) = unit.resume.filter(|_| self.order.is_clean_cut()) {
            self.index.record(SeekPoint {
                output_index,
                decode_index: unit.decode_index,
                resume,
            });
        }
        Some(
            self.clock
                .unit(unit.decode_index, output_index, unit.keyframe, unit.data),
        )
    }

    /// Continues reading from the indexed access unit `entry`.
    fn restore(&mut self, entry: &SeekPoint<Box<ResumePoint>>) -> Result<()> {
        let resume = &entry.resume;
        self.scanner.seek(resume.offset)?;
        self.au = AccessUnitBuilder::default();
        self.poc = resume.poc.clone();
        self.params.restore(&resume.params);
        self.decode_index = entry.decode_index;
        self.order.restart(Some(Anchor {
            output_index: entry.output_index,
            decode_index: entry.decode_index,
        }));
        self.ended = false;
        self.error = None;
        Ok(())
    }

    /// Reads on until the index holds a key frame presented after `target`
    /// or the file has been read to its end.
    fn index_up_to(&mut self, target: i64) -> Result<()> {
        loop {
            if self.index.covers(target, &self.clock) {
                return Ok(());
            }
            // Continue where reading stands if it is past the last key frame,
            // else from the last key frame.
            let next_decode = self
                .order
                .front()
                .map_or(self.decode_index, |unit| unit.decode_index);
            if let Some(last) = self.index.last() {
                if next_decode < last.decode_index {
                    let last = last.clone();
                    self.restore(&last)?;
                }
            }
            let indexed = self.index.last().map(|last| last.decode_index);
            while self.index.last().map(|last| last.decode_index) == indexed {
                match self.read_unit() {
                    Ok(Some(_)) => {}
                    // The end, or damage that ends the file early: the index
                    // covers what can be read.
                    Ok(None) | Err(_) => {
                        self.index.set_end(self.order.end());
                        return Ok(());
                    }
                }
            }
        }
    }
}

impl Demuxer for H264Reader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        loop {
            if let Some(unit) = self.pop_ready() {
                return Ok(Some(unit));
            }
            if self.ended {
                return self.error.take().map_or(Ok(None), Err);
            }
            if let Err(error) = self.step() {
                self.au = AccessUnitBuilder::default();
                self.end_of_stream();
                self.error = Some(error);
            }
        }
    }

    fn park(&mut self) {
        self.scanner.park();
        super::compact(self.order.units_mut().map(|u| &mut u.data).collect());
    }

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let target = ticks_at(time);
        self.index_up_to(target)?;
        if let Some(total) = self.index.end() {
            let duration = self.clock.ticks(total);
            if target >= duration || self.index.last().is_none() {
                // Past the end: nothing more to read until the next seek.
                self.order.restart(None);
                self.au = AccessUnitBuilder::default();
                self.ended = true;
                self.error = None;
                return Ok(time_of_ticks(duration));
            }
        }
        let Some(entry) = self.index.point_for(target, &self.clock).cloned() else {
            return Ok(Duration::ZERO);
        };
        self.restore(&entry)?;
        Ok(time_of_ticks(self.clock.ticks(entry.output_index)))
    }
}
