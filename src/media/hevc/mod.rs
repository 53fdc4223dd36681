//! H.265/HEVC elementary streams (`.265`, `.h265`, `.hevc`): ITU-T H.265
//! Annex B byte streams.
//!
//! Access units are delimited by §7.4.2.4.4, key frames are IRAP pictures,
//! and timestamps come from emulating the decoder's output process on
//! picture order counts (§8.3.1, §C.5.2): each unit, yielded in decoding
//! order, gets PTS = output_index × frame duration and DTS = (decode_index −
//! sps_max_num_reorder_pics) × frame duration, from integer frame indexes.
//! RASL pictures that cannot be decoded (after the first CRA of the stream,
//! after an end of sequence, or after seeking to a CRA) are skipped, as a
//! decoder skips them (§8.1.3).

mod access_units;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use self::access_units::{AccessUnits, RawAccessUnit};
use super::annexb::PROBE_LIMIT;
use super::frame_clock::{fits_clock, ticks_at, time_of_ticks, FrameClock, CLOCK_RATE};
use super::output_order::{Anchor, OutputOrder};
use super::seek_index::{SeekIndex, SeekPoint};
use super::sequence::{self, Sequence};
use super::warnings::{Warning, Warnings};
use super::{
    sniff, AccessUnit, BytesReader, Demuxer, Level, MediaError, ReaderFormat, Result, Track,
    TrackParams, VideoParams,
};
use crate::codec::hevc::{level_name, ParameterSets, PocDecoder, StreamParams, SyntaxError};
use crate::codec::DEFAULT_FRAME_RATE;
use crate::vocab::{Codec, NalFraming, Rational};

/// The registry entry: an H.265 Annex B elementary stream.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "hevc",
    long_name: "H.265 elementary stream",
    extensions: &["265", "h265", "hevc"],
    sniff: |head| sniff::annexb(head, Codec::Hevc),
    open: |input| Ok(Box::new(HevcReader::new(input)?)),
};

/// What restarting at an IRAP picture needs besides its indexes.
#[derive(Clone, Debug)]
struct Resume {
    /// File offset of the IRAP picture's access unit.
    offset: u64,
    /// Its NoRaslOutputFlag in a read from the start: whether its RASL
    /// pictures were skipped there too.
    no_rasl_output: bool,
    /// The parameter sets in force where its access unit starts.
    sets: Arc<ParameterSets>,
}

/// A random access point found while reading.
type IndexEntry = SeekPoint<Resume>;

/// State of the decoding process between pictures, reset where reading
/// (re)starts.
#[derive(Debug, Default)]
struct DecodeState {
    poc: PocDecoder,
    /// An IRAP picture has been decoded since the (re)start.
    started: bool,
    /// The previous access unit ended a coded video sequence.
    after_end_of_sequence: bool,
    /// The RASL pictures of the current IRAP picture are skipped...
    skip_rasl: bool,
    /// ...but still counted in decoding and output order (a seek to a CRA
    /// picture whose RASL pictures a read from the start decodes).
    count_skipped_rasl: bool,
    /// Decode index of the next picture.
    decode_index: i64,
    /// The random access point a seek restarted at, until it is decoded.
    seek_entry: Option<IndexEntry>,
}

/// A decoded picture awaiting its place in output order.
#[derive(Debug)]
struct Decoded {
    /// File offset of its access unit.
    offset: u64,
    /// The access unit bytes.
    data: Bytes,
    /// A RASL picture skipped after a seek to its CRA picture, which a read
    /// from the start decodes: it keeps its decoding and output slots, so
    /// that every other picture is timed as in that read (even where a
    /// corrupt stream puts it after the CRA picture in output order), but
    /// is not yielded.
    skipped: bool,
    /// Position in decoding order from the start of the stream.
    decode_index: i64,
    /// An IRAP picture.
    keyframe: bool,
    /// NoRaslOutputFlag of the picture in a read from the start of the file.
    no_rasl_output: bool,
    /// For an IRAP picture, the parameter sets in force where its access
    /// unit starts.
    sets_before: Option<Arc<ParameterSets>>,
}

/// Reader of H.265 Annex B elementary streams.
pub struct HevcReader {
    access_units: AccessUnits,
    tracks: Vec<Track>,
    /// Frame rate, and `sps_max_num_reorder_pics` of the first SPS as the
    /// DTS delay in frames.
    clock: FrameClock,
    state: DecodeState,
    output: OutputOrder<Decoded>,
    /// The IRAP pictures `seek` can start from.
    index: SeekIndex<Resume>,
    /// Reading reached the end of the stream (or an error).
    finished: bool,
    /// An error to report once the units before it have been yielded.
    pending_error: Option<MediaError>,
    warnings: Warnings,
}

/// The description of an H.265 track in Annex B framing of `params` (its
/// active SPS and VPS), timed at `rate`, with its coded parameter sets
/// (VPS, SPS, PPS): what this reader and the MPEG system stream readers
/// report.
pub(crate) fn video_track(
    params: &StreamParams,
    rate: Rational,
    parameter_sets: Vec<Bytes>,
) -> Track {
    let mut track = Track::new(0, Codec::Hevc, CLOCK_RATE);
    track.framing = NalFraming::AnnexB;
    track.config.parameter_sets = parameter_sets;
    track.profile = params.profile.map(str::to_owned);
    let level = u32::from(params.level_idc);
    track.params = TrackParams::Video(VideoParams {
        frame_rate: Some(rate),
        sample_aspect_ratio: params.sample_aspect_ratio,
        pix_fmt: params.pix_fmt,
        level: Some(Level {
            idc: level,
            name: level_name(level),
        }),
        tier: Some(params.tier),
        ..VideoParams::new(params.width, params.height)
    });
    track
}

impl HevcReader {
    /// Opens an H.265 byte stream: finds its first decodable IRAP picture,
    /// whose VPS/SPS/PPS describe the track, then rewinds.
    pub fn new(input: BytesReader) -> Result<HevcReader> {
        if input.size() == 0 {
            return Err(MediaError::Empty);
        }
        let mut access_units = AccessUnits::new(input);
        let mut warnings = Warnings::new("H.265");
        let slice = loop {
            let Some(unit) = access_units.next(&mut warnings)? else {
                return Err(MediaError::invalid(
                    0,
                    "no H.265 random access picture with its parameter sets in the stream",
                ));
            };
            if unit.offset > PROBE_LIMIT {
                return Err(MediaError::invalid(
                    0,
                    format!(
                        "no H.265 random access picture with its parameter sets in the first {} MiB",
                        PROBE_LIMIT >> 20
                    ),
                ));
            }
            if let Some(picture) = unit.picture.filter(|p| p.header.is_irap()) {
                match picture.slice {
                    Ok(slice) => break slice,
                    Err(SyntaxError::Truncated(what)) if unit.at_eof => {
                        return Err(MediaError::truncated(
                            unit.offset,
                            format!("the file ends inside the {what} of the first picture"),
                        ))
                    }
                    Err(_) => {}
                }
            }
        };
        let sets = access_units.sets();
        let sps = sets.sps(slice.sps_id).ok_or_else(|| {
            MediaError::invalid(0, "the first picture's sequence parameter set vanished")
        })?;
        let params = StreamParams::new(sps, sets.vps(sps.vps_id));
        let rate = if fits_clock(params.frame_rate) {
            params.frame_rate
        } else {
            warnings.warn(
                Warning::FrameRate,
                0,
                format_args!(
                    "frame rate {} cannot be timed on the 90 kHz clock; assuming 25/1",
                    params.frame_rate
                ),
            );
            DEFAULT_FRAME_RATE
        };
        let track = video_track(
            &params,
            rate,
            sets.active_nal_units(slice.pps_id)
                .into_iter()
                .map(Bytes::copy_from_slice)
                .collect(),
        );
        access_units.seek(0, Arc::default())?;
        Ok(HevcReader {
            access_units,
            tracks: vec![track],
            clock: FrameClock::new(rate, u32::from(params.max_num_reorder_pics)),
            state: DecodeState::default(),
            output: OutputOrder::new(u32::from(params.max_num_reorder_pics)),
            index: SeekIndex::default(),
            finished: false,
            pending_error: None,
            warnings,
        })
    }

    /// Runs the decoding process of one access unit: random access, RASL
    /// skipping, POC, then the output queue. Errors only for a picture cut
    /// by the end of the file.
    fn accept(&mut self, unit: RawAccessUnit) -> Result<()> {
        let offset = unit.offset;
        let after_eos =
            std::mem::replace(&mut self.state.after_end_of_sequence, unit.end_of_sequence);
        let Some(picture) = unit.picture else {
            self.warnings.warn(
                Warning::OrphanSlices,
                offset,
                format_args!("slice segments without the first slice of their picture, skipped"),
            );
            return Ok(());
        };
        let slice = match picture.slice {
            Ok(slice) => slice,
            Err(SyntaxError::Truncated(what)) if unit.at_eof => {
                return Err(MediaError::truncated(
                    offset,
                    format!("the file ends inside the {what} of the picture at byte {offset}"),
                ));
            }
            Err(e) => {
                self.warnings.warn(
                    Warning::BadSlice,
                    offset,
                    format_args!("picture skipped: {e}"),
                );
                return Ok(());
            }
        };
        let header = picture.header;
        let state = &mut self.state;
        if !state.started && !header.is_irap() {
            self.warnings.warn(
                Warning::BeforeRandomAccess,
                offset,
                format_args!("pictures before the first random access point skipped"),
            );
            return Ok(());
        }
        let no_rasl_output =
            header.is_irap() && (header.is_idr() || header.is_bla() || !state.started || after_eos);
        let mut straight_no_rasl_output = no_rasl_output;
        if header.is_irap() {
            state.started = true;
            state.skip_rasl = no_rasl_output;
            state.count_skipped_rasl = false;
            if let Some(entry) = state.seek_entry.take() {
                state.decode_index = entry.decode_index;
                state.count_skipped_rasl = !entry.resume.no_rasl_output;
                straight_no_rasl_output = entry.resume.no_rasl_output;
            }
        }
        let skipped = header.is_rasl() && state.skip_rasl;
        if skipped && !state.count_skipped_rasl {
            return Ok(());
        }
        let poc = state.poc.decode(header, &slice, no_rasl_output);
        if no_rasl_output {
            // Every earlier picture is output before it (§C.5.2.2).
            self.output.flush();
            // It starts a coded video sequence, activating its SPS.
            let sets = self.access_units.sets();
            if let Some(sps) = sets.sps(slice.sps_id) {
                let params = StreamParams::new(sps, sets.vps(sps.vps_id));
                let new = Sequence {
                    rate: params.frame_rate,
                    size: (params.width, params.height),
                };
                sequence::start(
                    &mut self.clock,
                    &mut self.warnings,
                    &self.tracks[0],
                    self.output.end(),
                    new,
                    offset,
                );
            }
        }
        self.output.push(
            poc,
            Decoded {
                offset,
                data: if skipped { Bytes::new() } else { unit.data },
                skipped,
                decode_index: state.decode_index,
                keyframe: header.is_irap(),
                no_rasl_output: straight_no_rasl_output,
                sets_before: header.is_irap().then_some(unit.sets_before),
            },
        );
        state.decode_index += 1;
        Ok(())
    }

    /// Ends reading: every waiting picture is output; `error` is reported
    /// after them, except a last access unit cut short by the end of the
    /// file after whole ones, which is dropped with a warning. Reaching the
    /// end (or bad data) completes the index.
    fn finish(&mut self, error: Option<MediaError>) {
        let error = match error {
            Some(MediaError::Truncated { offset, reason }) if self.state.decode_index > 0 => {
                self.warnings.warn(
                    Warning::LastUnitCut,
                    offset,
                    format_args!("last access unit cut short ({reason}): dropped"),
                );
                None
            }
            other => other,
        };
        self.output.flush();
        self.finished = true;
        if !matches!(error, Some(MediaError::Io(_))) {
            self.index.set_end(self.output.end());
        }
        self.pending_error = error;
    }

    /// The access unit for a picture with output index `output_index`.
    fn timed_unit(&mut self, picture: Decoded, output_index: i64) -> AccessUnit {
        if let Some(sets) = picture.sets_before.filter(|_| self.output.is_clean_cut()) {
            self.index.record(SeekPoint {
                decode_index: picture.decode_index,
                output_index,
                resume: Resume {
                    offset: picture.offset,
                    no_rasl_output: picture.no_rasl_output,
                    sets,
                },
            });
        }
        self.clock.unit(
            picture.decode_index,
            output_index,
            picture.keyframe,
            picture.data,
        )
    }

    /// Restarts reading at `entry` (`None`: the start of the file), with the
    /// parameter sets in force there.
    fn restart_at(&mut self, entry: Option<IndexEntry>) -> Result<()> {
        let (offset, sets) = entry.as_ref().map_or((0, Arc::default()), |e| {
            (e.resume.offset, Arc::clone(&e.resume.sets))
        });
        self.access_units.seek(offset, sets)?;
        self.output.restart(entry.as_ref().map(|e| Anchor {
            output_index: e.output_index,
            decode_index: e.decode_index,
        }));
        self.state = DecodeState {
            seek_entry: entry,
            ..DecodeState::default()
        };
        self.finished = false;
        self.pending_error = None;
        Ok(())
    }

    /// Reads on from the last known random access point until the index
    /// holds one presented after `target` ticks, or the end of the file.
    fn extend_index(&mut self, target: i64) -> Result<()> {
        if self.index.covers(target, &self.clock) {
            return Ok(());
        }
        self.restart_at(self.index.last().cloned())?;
        loop {
            match self.read_unit() {
                Ok(Some(unit)) if unit.keyframe && unit.pts > target => return Ok(()),
                Ok(Some(_)) => {}
                Ok(None) | Err(MediaError::Truncated { .. } | MediaError::Invalid { .. }) => {
                    return Ok(())
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Demuxer for HevcReader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        loop {
            if let Some((picture, output_index)) = self.output.pop() {
                if picture.skipped {
                    continue;
                }
                return Ok(Some(self.timed_unit(picture, output_index)));
            }
            if self.finished {
                return self.pending_error.take().map_or(Ok(None), Err);
            }
            match self.access_units.next(&mut self.warnings) {
                Ok(Some(unit)) => {
                    if let Err(e) = self.accept(unit) {
                        self.finish(Some(e));
                    }
                }
                Ok(None) => self.finish(None),
                Err(e) => self.finish(Some(e)),
            }
        }
    }

    /// Parks the input (see [`Demuxer::park`]).
    fn park(&mut self) {
        self.access_units.park();
        super::compact(self.output.units_mut().map(|u| &mut u.data).collect());
    }

    /// Seeks to the IRAP picture presented at or before `time`, reading
    /// ahead to index random access points where needed.
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let target = ticks_at(time);
        self.extend_index(target)?;
        if let Some(end) = self.index.end().map(|end| self.clock.ticks(end)) {
            if target >= end {
                // Nothing more to read until the next seek.
                self.output.restart(None);
                self.finished = true;
                self.pending_error = None;
                return Ok(time_of_ticks(end));
            }
        }
        let entry = self
            .index
            .point_for(target, &self.clock)
            .cloned()
            .ok_or_else(|| MediaError::Seek("the stream has no random access point".into()))?;
        let pts = self.clock.ticks(entry.output_index);
        self.restart_at(Some(entry))?;
        Ok(time_of_ticks(pts))
    }
}
