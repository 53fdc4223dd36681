//! The NAL units of an H.264 Annex B byte stream (ITU-T H.264 §B.1, §B.2),
//! found one after the other in a [`BytesReader`]'s buffer with memchr's
//! `memmem`; the reader takes each access unit from the front of the buffer.

use bytes::Bytes;
use memchr::memmem;

use crate::codec::nal::trim_trailing_zeros;
use crate::media::warnings::{Warning, Warnings};
use crate::media::{BytesReader, MediaError, Result};

/// Largest access unit accepted: bounds memory when start codes are missing.
pub(super) const MAX_ACCESS_UNIT: usize = 32 << 20;

/// Where one NAL unit lies in the read buffer.
#[derive(Clone, Copy, Debug)]
pub(super) struct NalSpan {
    /// First byte of its start code, including a `zero_byte` (§B.1.2).
    pub unit_start: usize,
    /// Its NAL unit header byte.
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

/// Splits the input into NAL units.
pub(super) struct Scanner {
    input: BytesReader,
    start_code: memmem::Finder<'static>,
    /// Buffer position of the start code of the next NAL unit, once found.
    next_start: Option<usize>,
    /// Buffer position where the next start code search resumes.
    search_from: usize,
}

impl Scanner {
    /// A scanner at the start of `input`.
    pub fn new(input: BytesReader) -> Scanner {
        Scanner {
            input,
            start_code: memmem::Finder::new(&[0, 0, 1]).into_owned(),
            next_start: None,
            search_from: 0,
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
        Ok(())
    }

    /// Finds the next NAL unit, reading more input as needed; `None` at the
    /// end of the input. `unit_open`: the buffer holds NAL units of an access
    /// unit being assembled, which the end of the input must leave alone.
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
}
