//! Access-unit splitting of an H.265 Annex B byte stream (ITU-T H.265
//! Annex B.2 and §7.4.2.4.4), incremental over a [`BytesReader`]: start
//! codes are found with memchr's `memmem`, only NAL unit headers, parameter
//! sets and the first slice header of each picture are parsed, and each
//! access unit is handed out as a zero-copy slice of the read buffer.

use bytes::Bytes;
use memchr::memmem;

use crate::codec::hevc::{
    first_slice_segment_in_pic, nal_type, NalHeader, ParameterSets, SliceHeader, SyntaxError,
};
use crate::codec::nal::trim_trailing_zeros;
use crate::media::warnings::{Warning, Warnings};
use crate::media::{BytesReader, MediaError, Result};

/// Largest access unit accepted: the coded picture buffer of level 6.2 High
/// tier is 800 Mbit × 1.1 (Table A.8, CpbNalFactor) ≈ 105 MiB, and an access
/// unit must fit in it. Bounds memory on streams without start codes.
const MAX_ACCESS_UNIT: usize = 128 << 20;

/// Bytes of non-stream data tolerated before a start code.
const MAX_LEADING_JUNK: u64 = 1 << 20;

/// Bytes buffered past a start code before its NAL unit is looked at: the
/// two-byte header and the byte holding `first_slice_segment_in_pic_flag`.
const NAL_LOOKAHEAD: usize = 3;

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
}

/// What is known about the access unit being delimited.
#[derive(Default)]
struct Pending {
    /// Buffer index of the payload (header) of the NAL unit being read.
    nal_start: Option<usize>,
    /// That NAL unit's header.
    nal_header: Option<NalHeader>,
    /// A base-layer VCL NAL unit has been seen.
    has_vcl: bool,
    /// The first slice of the picture, once its NAL unit has ended.
    picture: Option<PictureStart>,
    /// The NAL unit being read is the first slice of the picture.
    in_first_slice: bool,
    end_of_sequence: bool,
    /// Bytes dropped before the first NAL unit.
    skipped: u64,
}

/// Splits an Annex B stream into access units, keeping the parameter sets
/// it passes in [`Scanner::sets`].
pub(super) struct Scanner {
    input: BytesReader,
    start_code: memmem::Finder<'static>,
    /// [`MAX_ACCESS_UNIT`], lowered by tests.
    max_access_unit: usize,
    /// The VPS/SPS/PPS seen so far.
    pub sets: ParameterSets,
}

impl Scanner {
    /// A scanner at the start of `input`.
    pub fn new(input: BytesReader) -> Scanner {
        Scanner {
            input,
            start_code: memmem::Finder::new(&[0, 0, 1]),
            max_access_unit: MAX_ACCESS_UNIT,
            sets: ParameterSets::new(),
        }
    }

    /// Continues at file offset `offset`, which must be the start of an
    /// access unit (or 0). Parameter sets seen so far are kept.
    pub fn seek(&mut self, offset: u64) -> Result<()> {
        Ok(self.input.seek(offset)?)
    }

    /// Moves to the end of the input: the next access unit is `None`.
    pub fn seek_to_end(&mut self) -> Result<()> {
        self.seek(self.input.size())?;
        while self.input.fill_more()? > 0 {}
        let len = self.input.buffered().len();
        self.input.take(len);
        Ok(())
    }

    /// The next access unit, `None` at the end of the stream.
    ///
    /// Errors: a run of more than 1 MiB without a start code before the first
    /// NAL unit, an access unit over 128 MiB, or a file ending inside a NAL
    /// unit header or in an access unit without a coded picture.
    pub fn next(&mut self, warnings: &mut Warnings) -> Result<Option<RawAccessUnit>> {
        let mut pending = Pending::default();
        let mut search = 0;
        loop {
            let buf = self.input.buffered();
            let Some(start_code) = self.start_code.find(&buf[search..]).map(|i| search + i) else {
                if self.input.at_eof() {
                    return self.finish_at_eof(pending, warnings);
                }
                search = self.refill(&mut pending, search, warnings)?;
                continue;
            };
            let payload = start_code + 3;
            if buf.len() < payload + NAL_LOOKAHEAD && !self.input.at_eof() {
                self.input.fill_more()?;
                continue;
            }
            // The NAL unit before this start code ends at its last non-zero
            // byte: trailing_zero_8bits and a zero_byte go to the next one.
            let floor = pending.nal_start.map_or(0, |s| (s + 2).min(start_code));
            let nal_end = floor + trim_trailing_zeros(&buf[floor..start_code]);
            match pending.nal_start {
                Some(start) => self.end_nal(start, nal_end, &mut pending, warnings),
                None if nal_end > 0 => {
                    // Bytes before the first start code of the unit.
                    warnings.warn(
                        Warning::LeadingJunk,
                        self.input.position(),
                        format_args!("skipped {nal_end} bytes before the first start code"),
                    );
                    self.input.take(nal_end);
                    search = 0;
                    continue;
                }
                None => {}
            }
            let buf = self.input.buffered();
            let Some(header) = NalHeader::parse(&buf[payload..]) else {
                if buf.len() < payload + 2 {
                    // Only at the end of the file: a cut NAL unit header.
                    if pending.has_vcl {
                        return Ok(Some(self.take_unit(nal_end, pending, false)));
                    }
                    return Err(
                        self.cut_short(start_code, "the file ends inside a NAL unit header")
                    );
                }
                warnings.warn(
                    Warning::BadNalHeader,
                    self.input.position() + start_code as u64,
                    format_args!("NAL unit with forbidden_zero_bit set or TemporalId -1, ignored"),
                );
                pending.nal_start = Some(payload);
                pending.nal_header = None;
                pending.in_first_slice = false;
                search = payload;
                continue;
            };
            let first_slice = first_slice_segment_in_pic(&buf[payload..]).unwrap_or(false);
            if pending.has_vcl && header.starts_access_unit(first_slice) {
                return Ok(Some(self.take_unit(nal_end, pending, false)));
            }
            pending.in_first_slice = false;
            if header.is_vcl() && header.layer_id == 0 {
                pending.in_first_slice = !pending.has_vcl && header.is_picture() && first_slice;
                pending.has_vcl = true;
            }
            pending.nal_start = Some(payload);
            pending.nal_header = Some(header);
            search = payload;
        }
    }

    /// Reads more input while no start code ends the current NAL unit;
    /// returns where to resume the search. Leading junk is dropped as it is
    /// read so that it never accumulates.
    fn refill(
        &mut self,
        pending: &mut Pending,
        search: usize,
        warnings: &mut Warnings,
    ) -> Result<usize> {
        let len = self.input.buffered().len();
        // A start code may straddle the refill: look again at the last 2 bytes.
        let resume = len.saturating_sub(2).max(search);
        if pending.nal_start.is_none() {
            let junk = &self.input.buffered()[..resume];
            if junk.iter().any(|&b| b != 0) {
                warnings.warn(
                    Warning::LeadingJunk,
                    self.input.position(),
                    format_args!("skipping bytes that are not an H.265 byte stream"),
                );
            }
            pending.skipped += resume as u64;
            if pending.skipped > MAX_LEADING_JUNK {
                return Err(MediaError::invalid(
                    self.input.position(),
                    format!("no H.265 start code (00 00 01) in {MAX_LEADING_JUNK} bytes"),
                ));
            }
            self.input.take(resume);
            self.input.fill_more()?;
            return Ok(0);
        }
        if len > self.max_access_unit {
            return Err(MediaError::invalid(
                self.input.position(),
                format!(
                    "no access unit boundary in {} bytes: not an H.265 stream, or a corrupt one",
                    self.max_access_unit
                ),
            ));
        }
        self.input.fill_more()?;
        Ok(resume)
    }

    /// Takes in the NAL unit at `start..end` of the buffer: parameter sets
    /// go to the table, the first slice of the picture is parsed.
    fn end_nal(
        &mut self,
        start: usize,
        end: usize,
        pending: &mut Pending,
        warnings: &mut Warnings,
    ) {
        let nal = &self.input.buffered()[start..end];
        let Some(header) = pending.nal_header else {
            return;
        };
        match header.nal_type {
            nal_type::VPS | nal_type::SPS | nal_type::PPS => {
                if let Err(e) = self.sets.update(nal) {
                    warnings.warn(
                        Warning::BadParameterSet,
                        self.input.position() + start as u64,
                        format_args!("parameter set ignored: {e}"),
                    );
                }
            }
            nal_type::EOS => pending.end_of_sequence = true,
            _ if pending.in_first_slice => {
                pending.picture = Some(PictureStart {
                    header,
                    slice: SliceHeader::parse(nal, &self.sets),
                });
            }
            _ => {}
        }
    }

    /// Splits off the first `end` buffered bytes as the access unit.
    fn take_unit(&mut self, end: usize, pending: Pending, at_eof: bool) -> RawAccessUnit {
        RawAccessUnit {
            offset: self.input.position(),
            data: self.input.take(end),
            picture: pending.picture,
            end_of_sequence: pending.end_of_sequence,
            at_eof,
        }
    }

    /// The end of the input: the last NAL unit ends with the file.
    fn finish_at_eof(
        &mut self,
        mut pending: Pending,
        warnings: &mut Warnings,
    ) -> Result<Option<RawAccessUnit>> {
        let len = self.input.buffered().len();
        let Some(start) = pending.nal_start else {
            if self.input.buffered().iter().any(|&b| b != 0) {
                warnings.warn(
                    Warning::LeadingJunk,
                    self.input.position(),
                    format_args!("skipped {len} bytes at the end that hold no NAL unit"),
                );
            }
            self.input.take(len);
            return Ok(None);
        };
        let end = (start + 2)
            .max(start + trim_trailing_zeros(&self.input.buffered()[start..len]))
            .min(len);
        self.end_nal(start, end, &mut pending, warnings);
        if pending.has_vcl {
            return Ok(Some(self.take_unit(end, pending, true)));
        }
        Err(self.cut_short(0, "the file ends in an access unit without a coded picture"))
    }

    /// A truncation error for the unit starting at buffer index `at`; the
    /// rest of the buffer is dropped so that reading ends there.
    fn cut_short(&mut self, at: usize, what: &str) -> MediaError {
        let offset = self.input.position() + at as u64;
        let len = self.input.buffered().len();
        self.input.take(len);
        MediaError::truncated(offset, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Vec<u8> {
        let path = format!("{}/fixtures/hevc_odd_ntsc.h265", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    fn units(scanner: &mut Scanner) -> Result<Vec<RawAccessUnit>> {
        let mut warnings = Warnings::new("H.265");
        std::iter::from_fn(|| scanner.next(&mut warnings).transpose()).collect()
    }

    /// The fixture with a filler-data NAL unit after the first picture,
    /// sized so that the next start code starts `before` bytes ahead of the
    /// end of the first 1 MiB read.
    fn with_filler(before: usize) -> (Vec<u8>, usize) {
        let data = fixture();
        let second = {
            let mut scanner = Scanner::new(BytesReader::from_bytes(data.clone()));
            units(&mut scanner).unwrap()[1].offset as usize
        };
        let mut stream = data[..second].to_vec();
        stream.extend([0, 0, 1, nal_type::FD << 1, 1]);
        let fill = (1 << 20) - before - stream.len() - 1;
        stream.extend(std::iter::repeat_n(0xff, fill));
        stream.push(0x80);
        assert_eq!(stream.len(), (1 << 20) - before);
        stream.extend(&data[second..]);
        (stream, second)
    }

    #[test]
    fn start_codes_straddling_a_refill_are_found() {
        for before in 0..6 {
            let (stream, _) = with_filler(before);
            let mut scanner = Scanner::new(BytesReader::from_bytes(stream.clone()));
            let units = units(&mut scanner).unwrap();
            assert_eq!(units.len(), 60, "start code {before} bytes before 1 MiB");
            assert_eq!(units[1].offset, ((1 << 20) - before) as u64);
            let joined: Vec<u8> = units.iter().flat_map(|u| u.data.to_vec()).collect();
            assert!(joined == stream);
            assert!(units
                .iter()
                .all(|u| u.picture.as_ref().is_some_and(|p| p.slice.is_ok())));
        }
    }

    #[test]
    fn an_access_unit_without_end_is_bounded() {
        let (stream, second) = with_filler(0);
        let mut scanner = Scanner::new(BytesReader::from_bytes(stream));
        scanner.max_access_unit = 512 << 10;
        let error = units(&mut scanner).unwrap_err();
        assert!(
            matches!(error, MediaError::Invalid { offset: 0, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("boundary in 524288 bytes"),
            "{error}"
        );
        assert!(second < 512 << 10);
    }
}
