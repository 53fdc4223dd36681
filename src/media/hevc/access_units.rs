//! Access units of an H.265 byte stream (ITU-T H.265 §7.4.2.4.4), assembled
//! from the NAL units the shared Annex B scanner finds: only NAL unit
//! headers, parameter sets and the first slice header of each picture are
//! parsed, and each access unit is handed out as a zero-copy slice of the
//! read buffer.

use std::sync::Arc;

use bytes::Bytes;

use crate::codec::hevc::{
    first_slice_segment_in_pic, nal_type, NalHeader, ParameterSets, SliceHeader, StreamParams,
    SyntaxError,
};
use crate::media::annexb::{NalScanner, NalSpan};
use crate::media::warnings::{Warning, Warnings};
use crate::media::{BytesReader, MediaError, Result};

/// The first slice of the picture in an access unit.
#[derive(Debug)]
pub(super) struct PictureStart {
    /// Its NAL unit header: the picture type.
    pub header: NalHeader,
    /// Its slice segment header, or why it could not be parsed.
    pub slice: Result<SliceHeader, SyntaxError>,
}

/// One access unit as found in the file.
#[derive(Debug)]
pub(super) struct RawAccessUnit {
    /// File offset of `data`.
    pub offset: u64,
    /// Its NAL units with their start codes (Annex B), a slice of the buffer.
    pub data: Bytes,
    /// The picture; `None` when its slices lack the first slice segment.
    pub picture: Option<PictureStart>,
    /// It contains an end of sequence NAL unit: the next picture starts a
    /// new coded video sequence.
    pub end_of_sequence: bool,
    /// It runs to the end of the file.
    pub at_eof: bool,
    /// The parameter sets in force where it starts: what a seek to it
    /// restores.
    pub sets_before: Arc<ParameterSets>,
}

/// What is known about the access unit being assembled (buffer position 0
/// up to the last NAL unit taken in).
#[derive(Default)]
struct Pending {
    /// NAL units taken in.
    nal_units: usize,
    /// A base-layer VCL NAL unit has been seen.
    has_vcl: bool,
    /// The first slice of the picture.
    picture: Option<PictureStart>,
    end_of_sequence: bool,
}

/// Splits an Annex B stream into access units, keeping the parameter sets
/// it passes in [`AccessUnits::sets`].
pub(super) struct AccessUnits {
    scanner: NalScanner,
    /// A NAL unit found while assembling the previous access unit, which
    /// starts the next one.
    carried: Option<NalSpan>,
    /// The VPS/SPS/PPS in force; shared with the seek index (copied on the
    /// first change after a key frame).
    sets: Arc<ParameterSets>,
    /// File offset up to which new SPSs were logged: reading again from
    /// the start (the reader rewinds after describing the stream) or after
    /// a seek logs none twice.
    logged_until: u64,
}

impl AccessUnits {
    /// Parks the input (see [`BytesReader::park`](crate::media::BytesReader::park)).
    pub fn park(&mut self) {
        self.scanner.park();
    }

    /// A splitter at the start of `input`.
    pub fn new(input: BytesReader) -> AccessUnits {
        AccessUnits {
            scanner: NalScanner::new(input),
            carried: None,
            sets: Arc::default(),
            logged_until: 0,
        }
    }

    /// The VPS/SPS/PPS seen so far.
    pub fn sets(&self) -> &ParameterSets {
        &self.sets
    }

    /// Continues at file offset `offset`, the start of an access unit, with
    /// `sets` the parameter sets in force there.
    pub fn seek(&mut self, offset: u64, sets: Arc<ParameterSets>) -> Result<()> {
        self.scanner.seek(offset)?;
        self.carried = None;
        self.sets = sets;
        Ok(())
    }

    /// The next access unit, `None` at the end of the stream.
    ///
    /// Errors: those of [`NalScanner::next_nal`], and a file ending inside
    /// a NAL unit header or in an access unit without a coded picture.
    pub fn next(&mut self, warnings: &mut Warnings) -> Result<Option<RawAccessUnit>> {
        let mut pending = Pending::default();
        let sets_before = Arc::clone(&self.sets);
        loop {
            let nal = match self.carried.take() {
                Some(nal) => nal,
                None => match self.scanner.next_nal(pending.nal_units > 0, warnings)? {
                    Some(nal) => nal,
                    None => return self.finish_at_eof(pending, sets_before),
                },
            };
            let bytes = &self.scanner.buffered()[nal.header..nal.end];
            if bytes.is_empty() {
                // A start code right after another: no NAL unit.
                continue;
            }
            let Some(header) = NalHeader::parse(bytes) else {
                if bytes.len() < 2 && nal.at_eof {
                    if pending.has_vcl {
                        self.carried = Some(nal.shifted(nal.unit_start));
                        return Ok(Some(self.take_unit(nal.unit_start, pending, sets_before)));
                    }
                    return Err(self.cut_short(0, "the file ends inside a NAL unit header"));
                }
                warnings.warn(
                    Warning::BadNalHeader,
                    self.scanner.offset_of(nal.header),
                    format_args!("NAL unit with forbidden_zero_bit set or TemporalId -1, ignored"),
                );
                pending.nal_units += 1;
                continue;
            };
            let first_slice = first_slice_segment_in_pic(bytes).unwrap_or(false);
            if pending.has_vcl && header.starts_access_unit(first_slice) {
                self.carried = Some(nal.shifted(nal.unit_start));
                return Ok(Some(self.take_unit(nal.unit_start, pending, sets_before)));
            }
            self.take_in(nal, header, first_slice, &mut pending, warnings);
        }
    }

    /// Takes the NAL unit `nal` into the access unit: parameter sets go to
    /// the table, the first slice of the picture is parsed.
    fn take_in(
        &mut self,
        nal: NalSpan,
        header: NalHeader,
        first_slice: bool,
        pending: &mut Pending,
        warnings: &mut Warnings,
    ) {
        pending.nal_units += 1;
        let bytes = &self.scanner.buffered()[nal.header..nal.end];
        match header.nal_type {
            nal_type::VPS | nal_type::SPS | nal_type::PPS if !self.sets.contains(bytes) => {
                let offset = self.scanner.offset_of(nal.header);
                match Arc::make_mut(&mut self.sets).update(bytes) {
                    Ok(Some(id)) if header.nal_type == nal_type::SPS => self.log_sps(id, offset),
                    Ok(_) => {}
                    Err(e) => warnings.warn(
                        Warning::BadParameterSet,
                        offset,
                        format_args!("parameter set ignored: {e}"),
                    ),
                }
            }
            nal_type::EOS => pending.end_of_sequence = true,
            _ if header.is_vcl() && header.layer_id == 0 => {
                if !pending.has_vcl && header.is_picture() && first_slice {
                    pending.picture = Some(PictureStart {
                        header,
                        slice: SliceHeader::parse(bytes, &self.sets),
                    });
                }
                pending.has_vcl = true;
            }
            _ => {}
        }
    }

    /// Logs (at debug level) an SPS that is new or changed, once per place
    /// in the file.
    fn log_sps(&mut self, id: u8, offset: u64) {
        if offset < self.logged_until {
            return;
        }
        self.logged_until = offset + 1;
        if let Some(sps) = self.sets.sps(id) {
            let params = StreamParams::new(sps, self.sets.vps(sps.vps_id));
            tracing::debug!(
                "H.265 SPS {id} at byte {offset}: {} level {}, {}x{}, {} fps{}",
                params.profile.unwrap_or("unknown profile"),
                params.level_idc,
                params.width,
                params.height,
                params.frame_rate,
                if params.frame_rate_signalled {
                    ""
                } else {
                    " (not signalled)"
                }
            );
        }
    }

    /// Splits off the first `end` buffered bytes as the access unit.
    fn take_unit(
        &mut self,
        end: usize,
        pending: Pending,
        sets_before: Arc<ParameterSets>,
    ) -> RawAccessUnit {
        RawAccessUnit {
            offset: self.scanner.position(),
            data: self.scanner.take(end),
            picture: pending.picture,
            end_of_sequence: pending.end_of_sequence,
            at_eof: false,
            sets_before,
        }
    }

    /// The end of the input: the access unit being assembled runs to it.
    fn finish_at_eof(
        &mut self,
        pending: Pending,
        sets_before: Arc<ParameterSets>,
    ) -> Result<Option<RawAccessUnit>> {
        if pending.nal_units == 0 {
            return Ok(None);
        }
        if !pending.has_vcl {
            return Err(
                self.cut_short(0, "the file ends in an access unit without a coded picture")
            );
        }
        let end = self.scanner.buffered().len();
        let mut unit = self.take_unit(end, pending, sets_before);
        unit.at_eof = true;
        Ok(Some(unit))
    }

    /// A truncation error for what starts at buffer position `at`; the rest
    /// of the buffer is dropped so that reading ends there.
    fn cut_short(&mut self, at: usize, what: &str) -> MediaError {
        let offset = self.scanner.offset_of(at);
        let len = self.scanner.buffered().len();
        self.scanner.take(len);
        self.carried = None;
        MediaError::truncated(offset, what)
    }
}
