//! The NAL units of an Annex B byte stream, found one after the other in a
//! [`BytesReader`]'s buffer with memchr's `memmem`; the H.264 and H.265
//! readers assemble access units from them and take each one from the front
//! of the buffer as a zero-copy slice.
//!
//! ITU-T H.264 Annex B and ITU-T H.265 Annex B define the same byte stream
//! syntax (`byte_stream_nal_unit()`, §B.2 of each), so both readers share
//! this scanner and its rules:
//! - **Zero bytes.** A NAL unit ends at its last non-zero byte (an RBSP ends
//!   in `rbsp_stop_one_bit`). Of the zero bytes before a start code, the one
//!   right before it is the next unit's `zero_byte` (a 4-byte start code);
//!   the others are the previous unit's `trailing_zero_8bits` and stay with
//!   it, so an access unit ends where its last unit's trailing zeros end.
//! - **Leading junk.** Bytes before the first start code (of the file, or
//!   after a seek) are `leading_zero_8bits` or junk: dropped as they are
//!   read, with one warning if any is not zero, and at most
//!   [`MAX_LEADING_JUNK`] of them before reading gives up.
//! - **Size.** An access unit larger than [`MAX_ACCESS_UNIT`] (a stream
//!   without start codes, or a corrupt one) is an error: memory stays
//!   bounded whatever the input. Trailing zero bytes do not count: once
//!   the buffer passes the limit, a run of them after a NAL unit is dropped
//!   (three kept), so a stream padded with megabytes of them reads as if
//!   they were not there, at the same file offsets.

use bytes::Bytes;
use memchr::memmem;

use crate::codec::nal::trim_trailing_zeros;
use crate::media::warnings::{Warning, Warnings};
use crate::media::{BytesReader, MediaError, Result};

/// Largest access unit accepted: 16 MiB.
///
/// The standards bound an access unit only by the coded picture buffer,
/// up to 800 Mbit × 1.1 ≈ 105 MiB for H.265 (level 6.2 High tier, Table A.8
/// with CpbNalFactor) and 480 Mbit × 1.5 ≈ 86 MiB for H.264 High up to
/// level 6.1 (Table A-1 with cpbBrNalFactor); no encoder comes near that.
/// The largest pictures in practice are intra pictures of 8K video at a few
/// hundred Mbit/s, a few MiB each; 16 MiB is 128 Mbit in one picture, more
/// than a whole second of 8K broadcast. A unit is held whole while it is
/// assembled (it is handed out as one slice of the read buffer), so this
/// bounds memory on a stream without start codes: the buffer grows to
/// about this size, and `probe` of a hostile 300 MB NAL unit peaks under
/// 32 MB of RSS instead of 150 MB or more with the coded picture buffer's
/// bound.
pub(super) const MAX_ACCESS_UNIT: usize = 16 << 20;

/// How far into the input a reader looks for its first decodable picture
/// before it gives up on the stream.
pub(super) const PROBE_LIMIT: u64 = 64 << 20;

/// Bytes tolerated before the first start code (of the file, or after a
/// seek): an Annex B stream starts with one, give or take a few zero bytes.
pub(super) const MAX_LEADING_JUNK: u64 = 1 << 20;

/// Where one NAL unit lies in the read buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct NalSpan {
    /// First byte of its start code, including a `zero_byte` (§B.1.2).
    pub unit_start: usize,
    /// Its NAL unit header's first byte.
    pub header: usize,
    /// End of its bytes, trailing zero bytes excluded.
    pub end: usize,
    /// It runs to the end of the input.
    pub at_eof: bool,
}

impl NalSpan {
    /// The span after the first `by` bytes of the buffer were taken.
    pub fn shifted(self, by: usize) -> NalSpan {
        NalSpan {
            unit_start: self.unit_start - by,
            header: self.header - by,
            end: self.end - by,
            at_eof: self.at_eof,
        }
    }
}

/// Splits an Annex B byte stream into NAL units.
pub(super) struct NalScanner {
    input: BytesReader,
    start_code: memmem::Finder<'static>,
    /// Buffer position of the start code of the next NAL unit, once found.
    next_start: Option<usize>,
    /// Buffer position where the next start code search resumes.
    search_from: usize,
    /// Bytes dropped before the first NAL unit since the start or a seek.
    skipped: u64,
    /// [`MAX_ACCESS_UNIT`], lowered by tests.
    pub max_access_unit: usize,
}

impl NalScanner {
    /// Parks the input (see [`BytesReader::park`]).
    pub fn park(&mut self) {
        self.input.park();
    }

    /// A scanner at the start of `input`.
    pub fn new(input: BytesReader) -> NalScanner {
        NalScanner {
            input,
            start_code: memmem::Finder::new(&[0, 0, 1]).into_owned(),
            next_start: None,
            search_from: 0,
            skipped: 0,
            max_access_unit: MAX_ACCESS_UNIT,
        }
    }

    /// The bytes read and not taken yet.
    pub fn buffered(&self) -> &[u8] {
        self.input.buffered()
    }

    /// File offset of the first buffered byte.
    pub fn position(&self) -> u64 {
        self.input.position()
    }

    /// File offset of the buffered byte at buffer position `index`.
    pub fn offset_of(&self, index: usize) -> u64 {
        self.input.offset_of(index)
    }

    /// Takes the first `len` buffered bytes (an access unit, or bytes to
    /// drop) out of the buffer; buffer positions found so far move with it.
    pub fn take(&mut self, len: usize) -> Bytes {
        self.next_start = self.next_start.map(|s| s - len);
        self.search_from = self.search_from.saturating_sub(len);
        self.input.take(len)
    }

    /// Continues at file offset `offset`, the start of an access unit.
    pub fn seek(&mut self, offset: u64) -> Result<()> {
        self.input.seek(offset)?;
        self.next_start = None;
        self.search_from = 0;
        self.skipped = 0;
        Ok(())
    }

    /// Finds the next NAL unit, reading more input as needed; `None` at the
    /// end of the input. `unit_open`: the buffer holds NAL units of an access
    /// unit being assembled, which the end of the input must leave alone.
    ///
    /// Errors: more than [`MAX_LEADING_JUNK`] bytes before the first start
    /// code, an access unit over `max_access_unit` bytes, or a read error.
    pub fn next_nal(
        &mut self,
        unit_open: bool,
        warnings: &mut Warnings,
    ) -> Result<Option<NalSpan>> {
        let start = loop {
            if let Some(start) = self.next_start {
                break start;
            }
            if self.input.at_eof() && unit_open {
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
                warnings.warn(
                    Warning::LeadingJunk,
                    self.input.position(),
                    format_args!("skipping bytes without a start code"),
                );
            }
            self.skipped += junk as u64;
            if self.skipped > MAX_LEADING_JUNK {
                let junk_start = self.input.position() + junk as u64 - self.skipped;
                return Err(MediaError::invalid(
                    junk_start,
                    format!(
                        "not an {} stream: no Annex B start code in the first {} MiB",
                        warnings.stream(),
                        MAX_LEADING_JUNK >> 20
                    ),
                ));
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
            if buffered.len() > self.max_access_unit {
                // trailing_zero_8bits (§B.1.1) carry nothing: a run of them
                // is dropped but for three zero bytes (a zero_byte and the
                // first two of a start code may be among them).
                let kept = header + trim_trailing_zeros(&buffered[header..]) + 3;
                if kept > self.max_access_unit {
                    return Err(MediaError::invalid(
                        self.input.position(),
                        format!(
                            "access unit larger than {} MiB (no start code ends it)",
                            self.max_access_unit >> 20
                        ),
                    ));
                }
                self.input.drop_tail(kept);
            }
            // A start code may straddle the refill: look again at the last 2 bytes.
            from = header.max(self.input.buffered().len().saturating_sub(2));
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::testing::fixture;

    /// Every NAL unit of `data` as (unit_start, header, end) file offsets,
    /// taking each unit out of the buffer as a reader takes access units.
    fn spans(data: Vec<u8>, max_access_unit: usize) -> Result<Vec<(u64, u64, u64)>> {
        let mut scanner = NalScanner::new(BytesReader::from_bytes(data));
        scanner.max_access_unit = max_access_unit;
        let mut warnings = Warnings::new("H.265");
        let mut out = Vec::new();
        while let Some(nal) = scanner.next_nal(false, &mut warnings)? {
            out.push((
                scanner.offset_of(nal.unit_start),
                scanner.offset_of(nal.header),
                scanner.offset_of(nal.end),
            ));
            scanner.take(nal.unit_start);
        }
        Ok(out)
    }

    #[test]
    fn zero_bytes_follow_annex_b() {
        // leading_zero_8bits, a 4-byte start code, trailing_zero_8bits, and
        // a 3-byte start code after a unit without trailing zeros.
        let data = vec![
            0, 0, 0, 0, 0, 1, 0x40, 1, 0, 0, 0, 0, 0, 1, 0x42, 1, 0, 0, 1, 0x44, 1, 0, 0,
        ];
        let found = spans(data, MAX_ACCESS_UNIT).unwrap();
        // Of the zeros at 8..=10, the one before the start code at 11 is the
        // next unit's zero_byte; the others trail the first unit.
        assert_eq!(found, [(2, 6, 8), (10, 14, 16), (16, 19, 21)]);
    }

    /// The H.265 fixture with a filler-data NAL unit after the first NAL
    /// unit, sized so that the next start code starts `before` bytes ahead
    /// of the end of the first 1 MiB read.
    fn with_filler(before: usize) -> Vec<u8> {
        let data = fixture("hevc_odd_ntsc.h265");
        let mut stream = data[..4].to_vec();
        stream.extend([0x40, 1, 0, 0, 1, 38 << 1, 1]);
        let fill = (1 << 20) - before - stream.len() - 1;
        stream.extend(std::iter::repeat_n(0xff, fill));
        stream.push(0x80);
        assert_eq!(stream.len(), (1 << 20) - before);
        stream.extend(&data);
        stream
    }

    #[test]
    fn start_codes_straddling_a_refill_are_found() {
        let whole = spans(fixture("hevc_odd_ntsc.h265"), MAX_ACCESS_UNIT).unwrap();
        for before in 0..6 {
            let found = spans(with_filler(before), MAX_ACCESS_UNIT).unwrap();
            assert_eq!(found.len(), whole.len() + 2, "{before} bytes before 1 MiB");
            assert_eq!(found[2].0, ((1 << 20) - before) as u64);
        }
    }

    #[test]
    fn an_access_unit_without_end_is_bounded() {
        let error = spans(with_filler(0), 1 << 19).unwrap_err();
        assert!(
            matches!(error, MediaError::Invalid { offset: 0, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("access unit larger than"),
            "{error}"
        );
    }

    /// A hostile NAL unit far larger than the limit (no start code in
    /// 40 MiB) is refused once the buffer passes the limit: it never holds
    /// more than the limit and the last refill, and the limit keeps that
    /// under 32 MiB.
    #[test]
    fn a_hostile_nal_unit_is_refused_at_the_limit() {
        const { assert!(MAX_ACCESS_UNIT + (1 << 20) < 32 << 20) };
        let mut data = vec![0, 0, 0, 1, 0x65, 0x88];
        data.resize(40 << 20, 0xff);
        let mut scanner = NalScanner::new(BytesReader::from_bytes(data));
        let error = scanner
            .next_nal(false, &mut Warnings::new("H.264"))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid data at byte 0: access unit larger than 16 MiB (no start code ends it)"
        );
        let held = scanner.buffered().len();
        assert!(
            (MAX_ACCESS_UNIT..=MAX_ACCESS_UNIT + (1 << 20)).contains(&held),
            "{held} bytes buffered"
        );
    }

    /// Zero padding longer than the limit between NAL units is not held:
    /// the units after it are found at their file offsets, and the padding
    /// stays with the unit before it only up to three bytes.
    #[test]
    fn long_zero_padding_is_dropped_not_held() {
        let mut data = vec![0, 0, 0, 1, 0x65, 0x88, 0x84];
        data.resize(40 << 20, 0);
        let second = data.len() as u64;
        data.extend_from_slice(&[0, 0, 1, 0x41, 0x9a, 0, 0, 0, 0, 1, 0x41, 0x9b]);
        let found = spans(data, MAX_ACCESS_UNIT).unwrap();
        assert_eq!(
            found,
            [
                (0, 4, 7),
                (second - 1, second + 3, second + 5),
                (second + 6, second + 10, second + 12)
            ]
        );
    }

    #[test]
    fn leading_junk_is_bounded() {
        let mut data = vec![0xffu8; (1 << 20) + 10];
        data.extend(fixture("hevc_odd_ntsc.h265"));
        let error = spans(data, MAX_ACCESS_UNIT).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid data at byte 0: not an H.265 stream: no Annex B start code in the first 1 MiB"
        );
        let mut data = vec![0xffu8; 1000];
        data.extend(fixture("hevc_odd_ntsc.h265"));
        assert_eq!(spans(data, MAX_ACCESS_UNIT).unwrap()[0].0, 1000);
    }
}
