//! The error of the byte-oriented codec headers (Opus, Vorbis, Theora,
//! Xiph lacing, AC-3 and E-AC-3): what rule is broken, and where.

/// Why a codec header or packet cannot be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason} (byte {offset})")]
pub struct HeaderError {
    /// Offset of the offending field from the start of the bytes parsed.
    pub offset: usize,
    /// The rule broken, or the structure that ends early.
    pub reason: &'static str,
}

impl HeaderError {
    /// A [`HeaderError`] at `offset`.
    pub fn at(offset: usize, reason: &'static str) -> HeaderError {
        HeaderError { offset, reason }
    }
}
