//! Recoverable oddities of a stream, logged once per kind and reader.

use std::fmt;

/// A kind of recoverable problem in an H.265 stream.
#[derive(Clone, Copy, Debug)]
pub(super) enum Warning {
    /// Bytes that are not part of any NAL unit.
    LeadingJunk,
    /// A NAL unit header with `forbidden_zero_bit` set or TemporalId −1.
    BadNalHeader,
    /// A VPS/SPS/PPS that does not parse.
    BadParameterSet,
    /// Pictures before the first IRAP picture: not decodable.
    BeforeRandomAccess,
    /// A slice header that does not parse or lacks its parameter sets.
    BadSlice,
    /// Slice segments without the first slice segment of their picture.
    OrphanSlices,
    /// A frame rate too high for the 90 kHz clock.
    FrameRate,
}

/// Which [`Warning`]s were already logged.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Warnings(u16);

impl Warnings {
    /// Logs `message` about the data at `offset`, unless a warning of this
    /// kind was logged before.
    pub fn warn(&mut self, kind: Warning, offset: u64, message: fmt::Arguments) {
        let bit = 1 << kind as u16;
        if self.0 & bit == 0 {
            self.0 |= bit;
            tracing::warn!("H.265 stream, byte {offset}: {message}");
        }
    }
}
