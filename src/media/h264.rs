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
//! with the stream's reorder depth R ([`OutputOrder`]): a unit with decode
//! index d and output index o gets PTS = ts(o) and DTS = ts(d − R), where
//! ts(i) = ⌊i · 90000 · den / num⌋, exactly, from the indexes.
//!
//! Key frames are IDR pictures and I pictures with a recovery point SEI
//! (§D.2.8). Reading records, for each key frame, the state that timing
//! depends on (POC decoder, output order, parameter sets) so that `seek`
//! resumes there with exactly the timestamps of a reading from the start.
//!
//! A file cut inside a slice header ends with [`MediaError::Truncated`]; one
//! cut inside slice data cannot be told from a complete one (the syntax has
//! no lengths), so its last unit is yielded short.

use std::collections::VecDeque;
use std::fmt::Display;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use h264_reader::nal::pps::PicParamSetId;
use h264_reader::nal::sps::SeqParameterSet;
use h264_reader::Context;
use memchr::memmem;

use super::{
    AccessUnit, BytesReader, Codec, Demuxer, Format, MediaError, NalFraming, Rational, Result,
    Track,
};
use crate::codec::h264::{
    first_mb_in_slice, has_slice_header, nal_type, nal_unit_type, parse_pps, parse_sps,
    recovery_point, starts_access_unit, OutputOrder, PocDecoder, SliceInfo, SpsInfo, SyntaxError,
    DEFAULT_FRAME_RATE,
};
use crate::codec::nal::trim_trailing_zeros;

/// RTP clock rate of video (RFC 6184 §8.2.1) and our timestamp unit.
const CLOCK_RATE: u32 = 90_000;

/// Largest access unit accepted: bounds memory when start codes are missing.
const MAX_ACCESS_UNIT: usize = 32 << 20;

/// How far into the input [`H264Reader::new`] looks for its first picture.
const PROBE_LIMIT: u64 = 64 << 20;

/// The SPS and PPS NAL units in force, by id, as coded: what a seek restores.
#[derive(Clone, Debug, Default)]
struct RawParameterSets {
    sps: Vec<Option<Bytes>>,
    pps: Vec<Option<Bytes>>,
}

fn store(sets: &mut Vec<Option<Bytes>>, id: usize, nal: &[u8]) {
    if sets.len() <= id {
        sets.resize(id + 1, None);
    }
    // A copy: a slice would pin a whole read buffer for as long as it lives.
    sets[id] = Some(Bytes::copy_from_slice(nal));
}

/// Parameter sets parsed (for slice headers) and as coded (for the track
/// configuration and for seeking).
#[derive(Default)]
struct ParameterSets {
    ctx: Context,
    raw: Arc<RawParameterSets>,
}

impl ParameterSets {
    fn add_sps(&mut self, nal: &[u8]) -> Result<(), SyntaxError> {
        if self.raw.sps.iter().flatten().any(|s| s[..] == *nal) {
            return Ok(());
        }
        let sps = parse_sps(nal)?;
        store(
            &mut Arc::make_mut(&mut self.raw).sps,
            usize::from(sps.id().id()),
            nal,
        );
        self.ctx.put_seq_param_set(sps);
        // A PPS is parsed against its SPS: parse the stored ones again.
        self.parse_stored_pps();
        Ok(())
    }

    fn parse_stored_pps(&mut self) {
        for pps in self.raw.pps.iter().flatten() {
            if let Ok(pps) = parse_pps(&self.ctx, pps) {
                self.ctx.put_pic_param_set(pps);
            }
        }
    }

    fn add_pps(&mut self, nal: &[u8]) -> Result<(), SyntaxError> {
        if self.raw.pps.iter().flatten().any(|p| p[..] == *nal) {
            return Ok(());
        }
        let pps = parse_pps(&self.ctx, nal)?;
        store(
            &mut Arc::make_mut(&mut self.raw).pps,
            usize::from(pps.pic_parameter_set_id.id()),
            nal,
        );
        self.ctx.put_pic_param_set(pps);
        Ok(())
    }

    /// The SPS that PPS `pps_id` refers to.
    fn sps_of_pps(&self, pps_id: u8) -> Option<&SeqParameterSet> {
        let pps = self
            .ctx
            .pps_by_id(PicParamSetId::from_u32(pps_id.into()).ok()?)?;
        self.ctx.sps_by_id(pps.seq_parameter_set_id)
    }

    /// The coded SPS of PPS `pps_id`, then every coded PPS referring to it.
    fn config_for(&self, pps_id: u8) -> Vec<Bytes> {
        let Some(sps) = self.sps_of_pps(pps_id) else {
            return Vec::new();
        };
        let sps_id = sps.id();
        let coded = |sets: &[Option<Bytes>], id: u8| sets.get(usize::from(id)).cloned().flatten();
        let mut sets: Vec<Bytes> = coded(&self.raw.sps, sps_id.id()).into_iter().collect();
        sets.extend(
            self.ctx
                .pps()
                .filter(|pps| pps.seq_parameter_set_id == sps_id)
                .filter_map(|pps| coded(&self.raw.pps, pps.pic_parameter_set_id.id())),
        );
        sets
    }

    /// Makes `raw` the parameter sets in force, reparsing them if they differ.
    fn restore(&mut self, raw: &Arc<RawParameterSets>) {
        if Arc::ptr_eq(&self.raw, raw) {
            return;
        }
        self.ctx = Context::new();
        self.raw = Arc::clone(raw);
        for sps in raw.sps.iter().flatten() {
            if let Ok(sps) = parse_sps(sps) {
                self.ctx.put_seq_param_set(sps);
            }
        }
        self.parse_stored_pps();
    }
}

/// Everything reading needs to continue from the start of an access unit
/// exactly as a reading from the start of the file would.
#[derive(Clone, Debug)]
struct ResumePoint {
    /// File offset of the access unit's first byte.
    offset: u64,
    poc: PocDecoder,
    order: OutputOrder,
    params: Arc<RawParameterSets>,
}

/// A key frame (or the first unit of the file) that `seek` can start from.
#[derive(Debug)]
struct IndexEntry {
    output_index: u64,
    decode_index: u64,
    resume: Box<ResumePoint>,
}

/// The primary coded picture of the access unit being assembled.
#[derive(Debug)]
struct Picture {
    poc: i64,
    idr: bool,
    /// Where to resume for a seek to this picture, for candidate key frames.
    resume: Option<Box<ResumePoint>>,
}

/// The access unit being assembled; it starts at buffer position 0.
#[derive(Debug, Default)]
struct AccessUnitBuilder {
    nal_units: usize,
    picture: Option<Picture>,
    /// The last slice of the primary picture.
    last_slice: SliceInfo,
    /// Colour planes that had a slice with `first_mb_in_slice` 0.
    mb0_planes: u8,
    all_intra: bool,
    recovery_point: bool,
    /// Start of a prefix NAL unit (type 14) after the picture: the start of
    /// the next access unit if the slice it prefixes begins a new picture.
    prefix_start: Option<usize>,
}

/// An access unit waiting for its output index.
#[derive(Debug)]
struct PendingUnit {
    data: Bytes,
    decode_index: u64,
    output_index: Option<u64>,
    keyframe: bool,
    resume: Option<Box<ResumePoint>>,
}

/// Where one NAL unit lies in the read buffer.
#[derive(Clone, Copy, Debug)]
struct NalSpan {
    /// First byte of its start code, including a `zero_byte` (§B.1.2).
    unit_start: usize,
    /// Its NAL unit header byte.
    header: usize,
    /// End of its bytes, trailing zero bytes excluded.
    end: usize,
    /// It runs to the end of the input.
    at_eof: bool,
}

impl NalSpan {
    fn shifted(self, by: usize) -> NalSpan {
        NalSpan {
            unit_start: self.unit_start - by,
            header: self.header - by,
            end: self.end - by,
            at_eof: self.at_eof,
        }
    }
}

/// Kinds of recoverable damage, each reported once per reader.
#[derive(Clone, Copy)]
enum Damage {
    LeadingJunk = 1,
    ForbiddenBit = 2,
    BadSlice = 4,
    NoPicture = 8,
    BadParameterSet = 16,
}

/// What [`H264Reader::new`] saw, to say why a stream has no picture.
#[derive(Clone, Copy, Debug, Default)]
struct Seen {
    nal_units: bool,
    sps: bool,
    pps: bool,
    slices: bool,
}

/// Reader of H.264 Annex B elementary streams: one video track, one access
/// unit (all NAL units of one primary coded picture, start codes included)
/// per [`AccessUnit`], in decoding order.
pub struct H264Reader {
    input: BytesReader,
    tracks: Vec<Track>,
    start_code: memmem::Finder<'static>,
    frame_rate: Rational,
    reorder_depth: u32,
    params: ParameterSets,
    poc: PocDecoder,
    order: OutputOrder,
    /// Buffer position of the start code of the next NAL unit, once found.
    next_start: Option<usize>,
    /// Buffer position where the next start code search resumes.
    search_from: usize,
    au: AccessUnitBuilder,
    pending: VecDeque<PendingUnit>,
    index: Vec<IndexEntry>,
    /// Reading reached the end of the input (or a fatal error).
    ended: bool,
    /// The error that ended reading, reported after the pending units.
    error: Option<MediaError>,
    /// Frames in the file, once a reading has reached its end.
    total_frames: Option<u64>,
    reported: u8,
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
            input,
            tracks: Vec::new(),
            start_code: memmem::Finder::new(&[0, 0, 1]).into_owned(),
            frame_rate: DEFAULT_FRAME_RATE,
            reorder_depth: 0,
            params: ParameterSets::default(),
            poc: PocDecoder::new(),
            order: OutputOrder::new(0),
            next_start: None,
            search_from: 0,
            au: AccessUnitBuilder::default(),
            pending: VecDeque::new(),
            index: Vec::new(),
            ended: false,
            error: None,
            total_frames: None,
            reported: 0,
            seen: Seen::default(),
        };
        while reader.au.picture.is_none() {
            if reader.input.position() > PROBE_LIMIT {
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
        let mut track = Track::new(0, Codec::H264, CLOCK_RATE);
        track.framing = NalFraming::AnnexB;
        track.config.parameter_sets = reader.params.config_for(pps_id);
        track.profile = Some(info.profile().into_owned());
        track.level = Some(u32::from(info.level_idc));
        track.width = Some(info.width);
        track.height = Some(info.height);
        track.frame_rate = Some(info.frame_rate);
        reader.tracks.push(track);
        Ok(reader)
    }

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

    fn report(&mut self, damage: Damage, message: impl Display) {
        if self.reported & damage as u8 == 0 {
            self.reported |= damage as u8;
            tracing::warn!("{message}");
        }
    }

    /// Timestamp of frame slot `index`: ⌊index · 90000 · den / num⌋.
    fn ticks(&self, index: i64) -> i64 {
        let ticks = (i128::from(index) * i128::from(CLOCK_RATE) * i128::from(self.frame_rate.den))
            .div_euclid(i128::from(self.frame_rate.num));
        i64::try_from(ticks).unwrap_or(if ticks < 0 { i64::MIN } else { i64::MAX })
    }

    /// Finds the next NAL unit, reading more input as needed; `None` at the
    /// end of the input.
    fn next_nal(&mut self) -> Result<Option<NalSpan>> {
        let start = loop {
            if let Some(start) = self.next_start {
                break start;
            }
            if self.input.at_eof() && self.au.nal_units > 0 {
                return Ok(None);
            }
            let from = self.search_from;
            let buffered = self.input.buffered();
            let found = self.start_code.find(&buffered[from..]);
            // Before the first NAL unit (of the file, or after a seek): what
            // precedes a start code is junk or leading_zero_8bits (§B.2).
            // Without a start code, keep two bytes that may begin one.
            let junk = match found {
                Some(i) => {
                    let start = from + i;
                    start - usize::from(start > 0 && buffered[start - 1] == 0)
                }
                None => buffered.len().saturating_sub(2),
            };
            if buffered[..junk].iter().any(|&b| b != 0) {
                let at = self.input.position();
                self.report(
                    Damage::LeadingJunk,
                    format!("skipping bytes without a start code at byte {at}"),
                );
            }
            self.input.take(junk);
            self.search_from = 0;
            if let Some(i) = found {
                break from + i - junk;
            }
            if self.input.at_eof() || self.input.fill_more()? == 0 {
                return Ok(None);
            }
        };
        let header = start + 3;
        let mut from = self.search_from.max(header);
        let (end, at_eof) = loop {
            let buffered = self.input.buffered();
            if let Some(i) = self.start_code.find(&buffered[from.min(buffered.len())..]) {
                let next = from + i;
                self.next_start = Some(next);
                self.search_from = next + 3;
                break (next, false);
            }
            if self.input.at_eof() {
                self.next_start = None;
                self.search_from = buffered.len();
                break (buffered.len(), true);
            }
            if buffered.len() > MAX_ACCESS_UNIT {
                return Err(MediaError::invalid(
                    self.input.position(),
                    format!(
                        "access unit larger than {} MiB (no start code ends it)",
                        MAX_ACCESS_UNIT >> 20
                    ),
                ));
            }
            from = header.max(buffered.len().saturating_sub(2));
            self.input.fill_more()?;
        };
        let buffered = self.input.buffered();
        let end = header + trim_trailing_zeros(&buffered[header.min(end)..end]);
        let unit_start = if start > 0 && buffered[start - 1] == 0 {
            start - 1
        } else {
            start
        };
        Ok(Some(NalSpan {
            unit_start,
            header,
            end,
            at_eof,
        }))
    }

    /// Handles the next NAL unit; at the end of the input completes the last
    /// access unit and outputs every waiting picture. Returns false when
    /// there is nothing more to read.
    fn step(&mut self) -> Result<bool> {
        match self.next_nal()? {
            Some(nal) => {
                if nal.end > nal.header {
                    self.seen.nal_units = true;
                    self.handle_nal(nal)?;
                }
                Ok(true)
            }
            None => {
                if self.au.picture.is_some() {
                    self.finish_access_unit(self.input.buffered().len());
                } else if self.au.nal_units > 0 {
                    self.report(
                        Damage::NoPicture,
                        "ignoring NAL units without a picture at the end of the stream",
                    );
                }
                self.end_of_stream();
                Ok(false)
            }
        }
    }

    fn handle_nal(&mut self, nal: NalSpan) -> Result<()> {
        let header_byte = self.input.buffered()[nal.header];
        let kept = if header_byte & 0x80 != 0 {
            let at = self.input.position() + nal.header as u64;
            self.report(
                Damage::ForbiddenBit,
                format!("NAL unit with forbidden_zero_bit set at byte {at}, kept as is"),
            );
            true
        } else {
            match nal_unit_type(header_byte) {
                t if has_slice_header(t) => self.handle_slice(nal)?,
                nal_type::PREFIX => {
                    if self.au.picture.is_some() && self.au.prefix_start.is_none() {
                        self.au.prefix_start = Some(nal.unit_start);
                    }
                    true
                }
                t if starts_access_unit(t) => {
                    let nal = if self.au.picture.is_some() {
                        let boundary = self.au.prefix_start.unwrap_or(nal.unit_start);
                        self.finish_access_unit(boundary);
                        nal.shifted(boundary)
                    } else {
                        nal
                    };
                    self.handle_non_vcl(t, nal);
                    true
                }
                _ => true,
            }
        };
        if kept {
            self.au.nal_units += 1;
        }
        Ok(())
    }

    /// SPS, PPS and SEI at the start of an access unit.
    fn handle_non_vcl(&mut self, nal_unit_type: u8, nal: NalSpan) {
        let bytes = &self.input.buffered()[nal.header..nal.end];
        let result = match nal_unit_type {
            nal_type::SPS => {
                self.seen.sps = true;
                self.params.add_sps(bytes)
            }
            nal_type::PPS => {
                let result = self.params.add_pps(bytes);
                self.seen.pps |= result.is_ok();
                result
            }
            nal_type::SEI => {
                self.au.recovery_point |= recovery_point(bytes).is_some();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            let at = self.input.position() + nal.header as u64;
            self.report(
                Damage::BadParameterSet,
                format!("ignoring parameter set at byte {at}: {e}"),
            );
        }
    }

    /// A slice or partition A: part of the current picture, or the first
    /// slice of the next one. Returns false when it was dropped.
    fn handle_slice(&mut self, nal: NalSpan) -> Result<bool> {
        self.seen.slices = true;
        let bytes = &self.input.buffered()[nal.header..nal.end];
        let slice = match SliceInfo::parse(&self.params.ctx, bytes) {
            Ok((slice, _)) => slice,
            Err(SyntaxError::CutShort(what)) if nal.at_eof => {
                return Err(self.truncated_slice(nal, what));
            }
            Err(e) => return Ok(self.undecodable_slice(nal, &e)),
        };
        if slice.redundant_pic_cnt > 0 {
            return Ok(true);
        }
        let plane = 1u8 << slice.colour_plane;
        let new_picture = self.au.picture.is_none()
            || slice.first_vcl_of_new_picture(&self.au.last_slice)
            || (slice.first_mb_in_slice == 0 && self.au.mb0_planes & plane != 0);
        if !new_picture {
            let au = &mut self.au;
            au.all_intra &= slice.intra;
            au.last_slice = slice;
            au.prefix_start = None;
            if slice.first_mb_in_slice == 0 {
                au.mb0_planes |= plane;
            }
            return Ok(true);
        }
        if self.au.picture.is_some() {
            self.finish_access_unit(self.au.prefix_start.unwrap_or(nal.unit_start));
        }
        self.start_picture(slice);
        Ok(true)
    }

    /// Starts the primary picture of the current access unit.
    fn start_picture(&mut self, slice: SliceInfo) {
        let Some(sps) = self.params.sps_of_pps(slice.pps_id) else {
            return;
        };
        if self.tracks.is_empty() && self.order.decoded() == 0 {
            // The stream's timing comes from the SPS of its first picture.
            if let Ok(info) = SpsInfo::new(sps) {
                self.frame_rate = info.frame_rate;
                self.reorder_depth = info.reorder_depth;
                self.order = OutputOrder::new(info.reorder_depth);
            }
        }
        if slice.is_idr() || slice.mmco5 {
            // Every earlier picture is output before this one (§C.4.4);
            // done first, so that resume points of IDR pictures are small.
            let pending = &mut self.pending;
            self.order.flush(|out| assign_output(pending, out));
        }
        let candidate_key =
            slice.is_idr() || (slice.intra && self.au.recovery_point) || self.order.decoded() == 0;
        let resume = candidate_key.then(|| {
            Box::new(ResumePoint {
                offset: self.input.position(),
                poc: self.poc.clone(),
                order: self.order.clone(),
                params: Arc::clone(&self.params.raw),
            })
        });
        let poc = self.poc.decode(sps, &slice);
        let au = &mut self.au;
        au.picture = Some(Picture {
            poc,
            idr: slice.is_idr(),
            resume,
        });
        au.last_slice = slice;
        au.all_intra = slice.intra;
        au.mb0_planes = if slice.first_mb_in_slice == 0 {
            1 << slice.colour_plane
        } else {
            0
        };
        au.prefix_start = None;
    }

    /// A slice header that cannot be parsed: part of the current picture if
    /// there is one, else dropped with what precedes it (slices before the
    /// parameter sets they need, or junk).
    fn undecodable_slice(&mut self, nal: NalSpan, error: &SyntaxError) -> bool {
        let at = self.input.position() + nal.header as u64;
        if self.au.picture.is_some() {
            self.report(
                Damage::BadSlice,
                format!("slice at byte {at} kept in the current access unit: {error}"),
            );
            return true;
        }
        self.report(
            Damage::BadSlice,
            format!("dropping undecodable slices from byte {at}: {error}"),
        );
        self.input.take(nal.end);
        self.au = AccessUnitBuilder::default();
        self.next_start = self.next_start.map(|s| s - nal.end);
        self.search_from = self.search_from.saturating_sub(nal.end);
        false
    }

    /// A slice header cut short by the end of the file: the current access
    /// unit is complete only if the cut slice starts the next picture.
    fn truncated_slice(&mut self, nal: NalSpan, what: &str) -> MediaError {
        let at = self.input.position() + nal.header as u64;
        let bytes = &self.input.buffered()[nal.header..nal.end];
        let reason = format!(
            "{what} of NAL unit type {} ends with the file ({} bytes)",
            nal_unit_type(bytes[0]),
            bytes.len()
        );
        let starts_picture = self.au.prefix_start.is_some() || first_mb_in_slice(bytes) == Some(0);
        if self.au.picture.is_some() && starts_picture {
            self.finish_access_unit(self.au.prefix_start.unwrap_or(nal.unit_start));
        }
        MediaError::truncated(at, reason)
    }

    /// Takes the access unit that ends at buffer position `boundary` out of
    /// the buffer and gives its picture to the output order emulation.
    fn finish_access_unit(&mut self, boundary: usize) {
        let data = self.input.take(boundary);
        self.next_start = self.next_start.map(|s| s - boundary);
        self.search_from = self.search_from.saturating_sub(boundary);
        let au = std::mem::take(&mut self.au);
        let Some(picture) = au.picture else {
            return;
        };
        let keyframe = picture.idr || (au.recovery_point && au.all_intra);
        let first = self.order.decoded() == 0;
        self.pending.push_back(PendingUnit {
            data,
            decode_index: self.order.decoded(),
            output_index: None,
            keyframe,
            resume: picture.resume.filter(|_| keyframe || first),
        });
        let pending = &mut self.pending;
        self.order
            .push(picture.poc, |out| assign_output(pending, out));
    }

    /// Outputs every waiting picture: reading is over.
    fn end_of_stream(&mut self) {
        let pending = &mut self.pending;
        self.order.flush(|out| assign_output(pending, out));
        self.ended = true;
        self.total_frames = Some(self.order.output());
    }

    /// The next unit in decoding order, if its output index is known;
    /// indexes it when it is a key frame.
    fn pop_ready(&mut self) -> Option<AccessUnit> {
        let output_index = self.pending.front()?.output_index?;
        let unit = self.pending.pop_front()?;
        if let Some(resume) = unit.resume {
            if self
                .index
                .last()
                .is_none_or(|last| last.decode_index < unit.decode_index)
            {
                self.index.push(IndexEntry {
                    output_index,
                    decode_index: unit.decode_index,
                    resume,
                });
            }
        }
        let output = i64::try_from(output_index).unwrap_or(i64::MAX);
        let decode = i64::try_from(unit.decode_index).unwrap_or(i64::MAX);
        let pts = self.ticks(output);
        let duration = self.ticks(output.saturating_add(1)) - pts;
        Some(AccessUnit {
            track: 0,
            pts,
            dts: self.ticks(decode - i64::from(self.reorder_depth)),
            duration: u32::try_from(duration).unwrap_or(u32::MAX),
            keyframe: unit.keyframe,
            data: unit.data,
        })
    }

    /// Continues reading from `resume` (the start of an indexed access unit).
    fn restore(&mut self, resume: &ResumePoint) -> Result<()> {
        self.input.seek(resume.offset)?;
        self.next_start = None;
        self.search_from = 0;
        self.au = AccessUnitBuilder::default();
        self.poc = resume.poc.clone();
        self.order = resume.order.clone();
        self.params.restore(&resume.params);
        self.pending.clear();
        self.ended = false;
        self.error = None;
        Ok(())
    }

    /// Reads on until the index holds a key frame presented after `target`
    /// or the file has been read to its end.
    fn index_up_to(&mut self, target: i64) -> Result<()> {
        loop {
            let beyond = self
                .index
                .last()
                .is_some_and(|entry| self.ticks(entry.output_index as i64) > target);
            if beyond || self.total_frames.is_some() {
                return Ok(());
            }
            // Continue where reading stands if it is past the last key frame,
            // else from the last key frame.
            let next_decode = self
                .pending
                .front()
                .map_or(self.order.decoded(), |unit| unit.decode_index);
            if let Some(last) = self.index.last() {
                if next_decode < last.decode_index {
                    let resume = last.resume.clone();
                    self.restore(&resume)?;
                }
            }
            let indexed = self.index.len();
            while self.index.len() == indexed {
                match self.read_unit() {
                    Ok(Some(_)) => {}
                    // The end, or damage that ends the file early: the index
                    // covers what can be read.
                    Ok(None) | Err(_) => {
                        self.total_frames.get_or_insert(self.order.output());
                        break;
                    }
                }
            }
        }
    }
}

/// Records the output index of a picture that left the output order
/// emulation, if its unit is still pending.
fn assign_output(pending: &mut VecDeque<PendingUnit>, out: crate::codec::h264::Output) {
    let Some(first) = pending.front().map(|unit| unit.decode_index) else {
        return;
    };
    if let Some(unit) = out
        .decode_index
        .checked_sub(first)
        .and_then(|i| usize::try_from(i).ok())
        .and_then(|i| pending.get_mut(i))
    {
        unit.output_index = Some(out.output_index);
    }
}

/// 90 kHz ticks of `time`, rounded up (so that a time converted from ticks by
/// [`duration_of`] gives the same ticks back).
fn ticks_of(time: Duration) -> i64 {
    let ticks = (time.as_nanos() * u128::from(CLOCK_RATE)).div_ceil(1_000_000_000);
    i64::try_from(ticks).unwrap_or(i64::MAX)
}

/// `ticks` of the 90 kHz clock as a duration, rounded down to nanoseconds.
fn duration_of(ticks: i64) -> Duration {
    let ticks = u64::try_from(ticks).unwrap_or(0);
    let rate = u64::from(CLOCK_RATE);
    Duration::new(ticks / rate, ((ticks % rate) * 1_000_000_000 / rate) as u32)
}

impl Demuxer for H264Reader {
    fn format(&self) -> Format {
        Format::H264
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

    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let target = ticks_of(time);
        self.index_up_to(target)?;
        if let Some(total) = self.total_frames {
            let duration = self.ticks(total as i64);
            if target >= duration || self.index.is_empty() {
                // Past the end: nothing more to read until the next seek.
                self.pending.clear();
                self.au = AccessUnitBuilder::default();
                self.ended = true;
                self.error = None;
                return Ok(duration_of(duration));
            }
        }
        let Some(entry) = self
            .index
            .iter()
            .rev()
            .find(|entry| self.ticks(entry.output_index as i64) <= target)
            .or(self.index.first())
        else {
            return Ok(Duration::ZERO);
        };
        let pts = self.ticks(entry.output_index as i64);
        let resume = entry.resume.clone();
        self.restore(&resume)?;
        Ok(duration_of(pts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::inspect;
    use crate::media::inspect::count_units;

    fn fixture(name: &str) -> String {
        format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn open_bytes(data: &[u8]) -> Result<H264Reader> {
        H264Reader::new(BytesReader::from_bytes(data.to_vec()))
    }

    fn read_all(reader: &mut H264Reader) -> (Vec<AccessUnit>, Option<MediaError>) {
        let mut units = Vec::new();
        loop {
            match reader.read_unit() {
                Ok(Some(unit)) => units.push(unit),
                Ok(None) => return (units, None),
                Err(e) => {
                    // After the error, reading stays at the end.
                    assert!(matches!(reader.read_unit(), Ok(None)));
                    return (units, Some(e));
                }
            }
        }
    }

    fn fixture_units(name: &str) -> Vec<AccessUnit> {
        let mut reader =
            H264Reader::new(BytesReader::open(fixture(name).as_ref()).unwrap()).unwrap();
        let (units, error) = read_all(&mut reader);
        assert!(error.is_none(), "{name}: {error:?}");
        units
    }

    /// Output index of each picture in decoding order, from
    /// `ffprobe -show_entries frame=coded_picture_number` (frames listed in
    /// output order).
    const BFRAMES_OUTPUT_ORDER: [u64; 50] = [
        0, 4, 2, 1, 3, 8, 6, 5, 7, 12, 10, 9, 11, 16, 14, 13, 15, 20, 18, 17, 19, 24, 22, 21, 23,
        25, 29, 27, 26, 28, 33, 31, 30, 32, 37, 35, 34, 36, 39, 38, 43, 41, 40, 42, 47, 45, 44, 46,
        49, 48,
    ];
    const SLICES_OUTPUT_ORDER: [u64; 60] = [
        0, 3, 1, 2, 5, 4, 8, 6, 7, 11, 9, 10, 14, 12, 13, 17, 15, 16, 20, 18, 19, 23, 21, 22, 25,
        24, 28, 26, 27, 29, 30, 33, 31, 32, 36, 34, 35, 38, 37, 41, 39, 40, 43, 42, 46, 44, 45, 48,
        47, 51, 49, 50, 53, 52, 56, 54, 55, 59, 57, 58,
    ];

    struct Expected {
        name: &'static str,
        profile: &'static str,
        level: u32,
        size: (u32, u32),
        rate: (u32, u32),
        frames: usize,
        reorder: i64,
        keyframes: &'static [usize],
        slices_per_unit: usize,
    }

    const EXPECTED: [Expected; 3] = [
        Expected {
            name: "h264_bframes.264",
            profile: "High",
            level: 13,
            size: (320, 240),
            rate: (25, 1),
            frames: 50,
            reorder: 2,
            keyframes: &[0, 25],
            slices_per_unit: 1,
        },
        Expected {
            name: "h264_baseline.h264",
            profile: "Constrained Baseline",
            level: 13,
            size: (320, 240),
            rate: (25, 1),
            frames: 50,
            reorder: 0,
            keyframes: &[0, 25],
            slices_per_unit: 1,
        },
        Expected {
            name: "h264_odd_ntsc_slices.264",
            profile: "Main",
            level: 12,
            size: (250, 142),
            rate: (30000, 1001),
            frames: 60,
            reorder: 2,
            keyframes: &[0, 30],
            slices_per_unit: 4,
        },
    ];

    fn frame_ticks(rate: (u32, u32), i: i64) -> i64 {
        (i128::from(i) * 90_000 * i128::from(rate.1)).div_euclid(i128::from(rate.0)) as i64
    }

    #[test]
    fn tracks_match_ffprobe() {
        for e in &EXPECTED {
            let reader =
                H264Reader::new(BytesReader::open(fixture(e.name).as_ref()).unwrap()).unwrap();
            assert_eq!(reader.format(), Format::H264);
            let [track] = reader.tracks() else {
                panic!("{}: one track expected", e.name);
            };
            assert_eq!(track.codec, Codec::H264);
            assert_eq!(track.clock_rate, 90_000);
            assert_eq!(track.framing, NalFraming::AnnexB);
            assert_eq!(track.profile.as_deref(), Some(e.profile), "{}", e.name);
            assert_eq!(track.level, Some(e.level), "{}", e.name);
            assert_eq!(
                (track.width, track.height),
                (Some(e.size.0), Some(e.size.1))
            );
            assert_eq!(track.frame_rate, Rational::new(e.rate.0, e.rate.1));
            let types: Vec<u8> = track
                .config
                .parameter_sets
                .iter()
                .map(|nal| nal_unit_type(nal[0]))
                .collect();
            assert_eq!(types, [nal_type::SPS, nal_type::PPS], "{}", e.name);
            assert!(track
                .config
                .parameter_sets
                .iter()
                .all(|nal| nal[nal.len() - 1] != 0));
        }
    }

    #[test]
    fn timestamps_are_exact_frame_slots() {
        for e in &EXPECTED {
            let units = fixture_units(e.name);
            assert_eq!(units.len(), e.frames, "{}", e.name);
            let dur = frame_ticks(e.rate, 1);
            let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
            pts.sort_unstable();
            let slots: Vec<i64> = (0..e.frames as i64)
                .map(|i| frame_ticks(e.rate, i))
                .collect();
            assert_eq!(pts, slots, "{}", e.name);
            for (i, unit) in units.iter().enumerate() {
                assert!(unit.pts >= unit.dts, "{} unit {i}", e.name);
                assert_eq!(unit.dts, frame_ticks(e.rate, i as i64 - e.reorder));
                // 3600 and 3003 ticks: whole numbers, so every frame lasts one.
                assert_eq!(i64::from(unit.duration), dur, "{} unit {i}", e.name);
            }
            assert!(units.windows(2).all(|w| w[0].dts < w[1].dts), "{}", e.name);
            let keyframes: Vec<usize> = (0..units.len()).filter(|&i| units[i].keyframe).collect();
            assert_eq!(keyframes, e.keyframes, "{}", e.name);
        }
    }

    /// The output order in decoding order matches ffmpeg's decoder.
    #[test]
    fn presentation_order_matches_ffmpeg() {
        let cases: [(&str, &[u64], (u32, u32)); 3] = [
            ("h264_bframes.264", &BFRAMES_OUTPUT_ORDER, (25, 1)),
            ("h264_baseline.h264", &[], (25, 1)),
            (
                "h264_odd_ntsc_slices.264",
                &SLICES_OUTPUT_ORDER,
                (30000, 1001),
            ),
        ];
        for (name, order, rate) in cases {
            let units = fixture_units(name);
            let expected: Vec<i64> = if order.is_empty() {
                (0..units.len() as i64)
                    .map(|i| frame_ticks(rate, i))
                    .collect()
            } else {
                order.iter().map(|&o| frame_ticks(rate, o as i64)).collect()
            };
            let pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
            assert_eq!(pts, expected, "{name}");
        }
    }

    #[test]
    fn units_are_whole_access_units() {
        for e in &EXPECTED {
            let file = std::fs::read(fixture(e.name)).unwrap();
            let units = fixture_units(e.name);
            // Every byte of the file is in exactly one unit, in order.
            let joined: Vec<u8> = units.iter().flat_map(|u| u.data.iter().copied()).collect();
            assert_eq!(joined, file, "{}", e.name);
            // The file fits one read buffer: units are adjacent slices of it.
            for pair in units.windows(2) {
                let end = pair[0].data.as_ptr().wrapping_add(pair[0].data.len());
                assert_eq!(end, pair[1].data.as_ptr(), "{}: a unit was copied", e.name);
            }
            for (i, unit) in units.iter().enumerate() {
                assert!(unit.data.starts_with(&[0, 0, 1]) || unit.data.starts_with(&[0, 0, 0, 1]));
                let types: Vec<u8> = crate::codec::nal::annexb_ranges(&unit.data)
                    .map(|r| nal_unit_type(unit.data[r.start]))
                    .collect();
                let slices = types.iter().filter(|&&t| t == 1 || t == 5).count();
                assert_eq!(slices, e.slices_per_unit, "{} unit {i}: {types:?}", e.name);
                let last_slice = types.iter().rposition(|&t| t == 1 || t == 5).unwrap();
                assert!(
                    types[..last_slice]
                        .iter()
                        .all(|&t| matches!(t, 1 | 5 | 6..=9)),
                    "{} unit {i}: {types:?}",
                    e.name
                );
                if e.name == "h264_baseline.h264" {
                    assert_eq!(types[0], nal_type::AUD, "unit {i}");
                    assert_eq!(types.iter().filter(|&&t| t == nal_type::AUD).count(), 1);
                }
            }
        }
    }

    #[test]
    fn inspect_counts_frames_and_duration() {
        for e in &EXPECTED {
            let info = inspect(fixture(e.name).as_ref()).unwrap();
            assert_eq!(info.format, Format::H264);
            assert_eq!(info.stats[0].frames, e.frames as u64, "{}", e.name);
            assert_eq!(
                info.stats[0].duration,
                frame_ticks(e.rate, e.frames as i64) as u64,
                "{}",
                e.name
            );
            assert_eq!(info.stats[0].bytes, info.size, "{}", e.name);
        }
    }

    fn assert_same(a: &AccessUnit, b: &AccessUnit, what: &str) {
        assert_eq!(
            (a.pts, a.dts, a.duration, a.keyframe, &a.data),
            (b.pts, b.dts, b.duration, b.keyframe, &b.data),
            "{what}"
        );
    }

    #[test]
    fn seek_reproduces_a_straight_reading() {
        for e in &EXPECTED {
            let straight = fixture_units(e.name);
            let duration = frame_ticks(e.rate, e.frames as i64);
            let key_pts: Vec<i64> = e.keyframes.iter().map(|&k| straight[k].pts).collect();
            let open =
                || H264Reader::new(BytesReader::open(fixture(e.name).as_ref()).unwrap()).unwrap();
            // A fresh reader must scan forward; a used one reuses its index.
            let mut used = open();
            read_all(&mut used);
            for reader in [&mut open(), &mut used] {
                for ms in [1900u64, 0, 999, 1000, 1001, 1500, 40, 1200, 5000, 0] {
                    let time = Duration::from_millis(ms);
                    let got = reader.seek(time).unwrap();
                    let target = ticks_of(time);
                    if target >= duration {
                        assert_eq!(got, duration_of(duration), "{} {ms} ms", e.name);
                        assert!(reader.read_unit().unwrap().is_none());
                        continue;
                    }
                    let k = key_pts.iter().rposition(|&p| p <= target).unwrap();
                    let first = e.keyframes[k];
                    assert_eq!(got, duration_of(straight[first].pts), "{} {ms} ms", e.name);
                    assert_eq!(ticks_of(got), straight[first].pts);
                    let (rest, error) = read_all(reader);
                    assert!(error.is_none());
                    assert_eq!(rest.len(), straight.len() - first, "{} {ms} ms", e.name);
                    for (i, unit) in rest.iter().enumerate() {
                        assert_same(unit, &straight[first + i], e.name);
                    }
                }
            }
        }
    }

    #[test]
    fn seek_to_a_key_frame_time_lands_on_it() {
        let straight = fixture_units("h264_odd_ntsc_slices.264");
        let mut reader = H264Reader::new(
            BytesReader::open(fixture("h264_odd_ntsc_slices.264").as_ref()).unwrap(),
        )
        .unwrap();
        let key = &straight[30];
        let at = reader.seek(duration_of(key.pts)).unwrap();
        assert_eq!(ticks_of(at), key.pts);
        assert_same(&reader.read_unit().unwrap().unwrap(), key, "key frame");
        // Just before it: the previous key frame.
        reader.seek(duration_of(key.pts - 1)).unwrap();
        assert_same(&reader.read_unit().unwrap().unwrap(), &straight[0], "first");
    }

    #[test]
    fn concatenated_streams_continue_the_timeline() {
        let file = std::fs::read(fixture("h264_bframes.264")).unwrap();
        let twice = [&file[..], &file[..]].concat();
        let mut reader = open_bytes(&twice).unwrap();
        let (units, error) = read_all(&mut reader);
        assert!(error.is_none());
        assert_eq!(units.len(), 100);
        let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
        pts.sort_unstable();
        assert_eq!(pts, (0..100).map(|i| i * 3600).collect::<Vec<i64>>());
        let keys: Vec<usize> = (0..100).filter(|&i| units[i].keyframe).collect();
        assert_eq!(keys, [0, 25, 50, 75]);
        let second_half: Vec<i64> = units[50..].iter().map(|u| u.pts - 50 * 3600).collect();
        let first_half: Vec<i64> = units[..50].iter().map(|u| u.pts).collect();
        assert_eq!(second_half, first_half);
    }

    #[test]
    fn leading_junk_is_skipped() {
        let file = std::fs::read(fixture("h264_baseline.h264")).unwrap();
        let mut data = b"junk before the stream".to_vec();
        data.extend_from_slice(&file);
        let mut reader = open_bytes(&data).unwrap();
        let (units, error) = read_all(&mut reader);
        assert!(error.is_none());
        assert_eq!(units.len(), 50);
        assert_eq!(units[0].data, file[..units[0].data.len()]);
    }

    #[test]
    fn slices_without_parameter_sets_are_dropped() {
        // Units 10 to 24 of the stream (no SPS/PPS: they come with the IDR
        // pictures), then the whole stream: the leading slices cannot be
        // decoded.
        let file = std::fs::read(fixture("h264_bframes.264")).unwrap();
        let units = fixture_units("h264_bframes.264");
        let offset = |n: usize| -> usize { units[..n].iter().map(|u| u.data.len()).sum() };
        let data = [&file[offset(10)..offset(25)], &file[..]].concat();
        let mut reader = open_bytes(&data).unwrap();
        let (got, error) = read_all(&mut reader);
        assert!(error.is_none());
        assert_eq!(got.len(), 50);
        assert_eq!(got[0].data, units[0].data);
    }

    #[test]
    fn truncated_files_yield_complete_units_then_stop() {
        for e in &EXPECTED {
            let file = std::fs::read(fixture(e.name)).unwrap();
            let full = fixture_units(e.name);
            for tenth in 1..10 {
                let cut = file.len() * tenth / 10;
                let Ok(mut reader) = open_bytes(&file[..cut]) else {
                    continue;
                };
                let (units, error) = read_all(&mut reader);
                if let Some(error) = &error {
                    assert!(matches!(error, MediaError::Truncated { .. }), "{error}");
                }
                assert!(units.len() <= full.len());
                // All but the last unit are the ones of the whole file.
                for (i, unit) in units.iter().enumerate().rev().skip(1) {
                    assert_eq!(
                        unit.data, full[i].data,
                        "{} cut {tenth}/10 unit {i}",
                        e.name
                    );
                    assert_eq!(unit.dts, full[i].dts);
                }
                let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
                pts.sort_unstable();
                let slots: Vec<i64> = (0..units.len() as i64)
                    .map(|i| frame_ticks(e.rate, i))
                    .collect();
                assert_eq!(pts, slots, "{} cut {tenth}/10", e.name);
                assert!(units.len() >= full.len() * (tenth - 1) / 10);
            }
        }
    }

    #[test]
    fn truncated_slice_header_is_reported() {
        let file = std::fs::read(fixture("h264_bframes.264")).unwrap();
        let units = fixture_units("h264_bframes.264");
        // Cut 2 bytes into the slice NAL unit of unit 10: first_mb_in_slice
        // (0) is readable, the rest of the header is not.
        let start: usize = units[..10].iter().map(|u| u.data.len()).sum();
        let nal = crate::codec::nal::annexb_ranges(&units[10].data)
            .find(|r| has_slice_header(nal_unit_type(units[10].data[r.start])))
            .unwrap();
        let cut = start + nal.start + 2;
        let mut reader = open_bytes(&file[..cut]).unwrap();
        let (got, error) = read_all(&mut reader);
        assert_eq!(got.len(), 10);
        let error = error.unwrap().to_string();
        assert!(
            error.starts_with(&format!("truncated at byte {}: slice header", cut - 2)),
            "{error}"
        );
    }

    #[test]
    fn broken_inputs_give_clear_errors() {
        let empty = std::fs::read(fixture("broken/empty.h264")).unwrap();
        assert!(matches!(open_bytes(&empty), Err(MediaError::Empty)));
        for (name, needle) in [
            ("broken/random.bin", "no Annex B start code"),
            ("broken/text.mp3", "no Annex B start code"),
            ("audio_44k_stereo.aac", "not an H.264 stream"),
        ] {
            let data = std::fs::read(fixture(name)).unwrap();
            match open_bytes(&data) {
                Err(e @ MediaError::Invalid { .. }) => {
                    assert!(e.to_string().contains(needle), "{name}: {e}")
                }
                other => panic!("{name}: {:?}", other.err()),
            }
        }
        // Every other fixture (H.265, audio, WAV) read as H.264: a clear
        // error, or whatever units its bytes happen to make, never a panic.
        for entry in std::fs::read_dir(fixture("")).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_file() && !name.starts_with("h264_") && name != "generate.sh" {
                let data = std::fs::read(&path).unwrap();
                if let Ok(mut reader) = open_bytes(&data) {
                    read_all(&mut reader);
                }
            }
        }
        // Parameter sets only, no picture.
        let file = std::fs::read(fixture("h264_bframes.264")).unwrap();
        let units = fixture_units("h264_bframes.264");
        let ranges: Vec<_> = crate::codec::nal::annexb_ranges(&units[0].data).collect();
        let before_slice = ranges
            .iter()
            .find(|r| has_slice_header(nal_unit_type(units[0].data[r.start])))
            .unwrap()
            .start
            - 4;
        let e = open_bytes(&file[..before_slice]).err().unwrap();
        assert!(e.to_string().contains("no coded slice"), "{e}");
    }

    /// Deterministic corruption: overwrite bytes at pseudo-random places.
    #[test]
    fn corrupted_streams_never_panic_or_hang() {
        for e in &EXPECTED {
            let file = std::fs::read(fixture(e.name)).unwrap();
            let mut seed = 0x2545_f491_4f6c_dd1du64;
            for round in 0..40 {
                let mut data = file.clone();
                for _ in 0..1 + round % 8 {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let at = (seed % data.len() as u64) as usize;
                    // Mostly the first bytes (parameter sets, headers).
                    let at = if round % 2 == 0 { at % 200 } else { at };
                    data[at] = (seed >> 32) as u8;
                }
                let Ok(mut reader) = open_bytes(&data) else {
                    continue;
                };
                let (units, _) = read_all(&mut reader);
                assert!(units.windows(2).all(|w| w[0].dts < w[1].dts));
                assert!(units.iter().all(|u| u.pts >= u.dts));
                let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
                pts.sort_unstable();
                pts.dedup();
                assert_eq!(pts.len(), units.len(), "{} round {round}", e.name);
                let _ = reader.seek(Duration::from_millis(1500));
                let _ = read_all(&mut reader);
            }
        }
    }

    #[test]
    fn a_huge_nal_unit_is_refused_without_reading_it_whole() {
        let file = std::fs::read(fixture("h264_baseline.h264")).unwrap();
        let mut data = file.clone();
        data.extend(std::iter::repeat_n(0xffu8, MAX_ACCESS_UNIT + (2 << 20)));
        let mut reader = open_bytes(&data).unwrap();
        let (units, error) = read_all(&mut reader);
        assert_eq!(units.len(), 49);
        let error = error.unwrap().to_string();
        assert!(error.contains("access unit larger than 32 MiB"), "{error}");
    }

    #[test]
    fn count_units_reads_everything() {
        let mut reader =
            H264Reader::new(BytesReader::open(fixture("h264_bframes.264").as_ref()).unwrap())
                .unwrap();
        let stats = count_units(&mut reader).unwrap();
        assert_eq!(stats[0].frames, 50);
        assert_eq!(stats[0].duration, 50 * 3600);
    }
}
