//! Recoverable oddities of an H.264 or H.265 elementary stream (junk between
//! NAL units, broken parameter sets or slice headers), logged once per kind
//! and reader: reading resynchronises and goes on.

use std::fmt;

/// A kind of recoverable problem in a NAL unit stream.
#[derive(Clone, Copy, Debug)]
pub(super) enum Warning {
    /// Bytes that are not part of any NAL unit.
    LeadingJunk,
    /// A NAL unit header with `forbidden_zero_bit` set (or, in H.265,
    /// TemporalId −1).
    BadNalHeader,
    /// A parameter set that does not parse.
    BadParameterSet,
    /// Pictures before the first random access point: not decodable.
    BeforeRandomAccess,
    /// A slice header that does not parse or lacks its parameter sets.
    BadSlice,
    /// Slice segments without the first slice segment of their picture.
    OrphanSlices,
    /// A last access unit cut short by the end of the file (in a header, or
    /// before its first slice), dropped.
    LastUnitCut,
    /// A frame rate the 90 kHz clock cannot time (too fast or too slow).
    FrameRate,
    /// A new sequence with another frame rate than the one before.
    FrameRateChange,
    /// A new sequence with another picture size than the first.
    SizeChange,
}

/// Which [`Warning`]s a reader already logged.
#[derive(Clone, Copy, Debug)]
pub(super) struct Warnings {
    /// The kind of stream, as messages name it ("H.264").
    stream: &'static str,
    logged: u16,
}

impl Warnings {
    /// No warning logged yet about a `stream` stream.
    pub fn new(stream: &'static str) -> Warnings {
        Warnings { stream, logged: 0 }
    }

    /// The kind of stream, as messages name it ("H.264").
    pub fn stream(&self) -> &'static str {
        self.stream
    }

    /// Logs `message` about the data at file offset `offset`, unless a
    /// warning of this kind was logged before.
    pub fn warn(&mut self, kind: Warning, offset: u64, message: fmt::Arguments) {
        let bit = 1 << kind as u16;
        if self.logged & bit == 0 {
            self.logged |= bit;
            tracing::warn!("{} stream, byte {offset}: {message}", self.stream);
        }
    }
}
