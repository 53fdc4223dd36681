//! What can go wrong protecting a packet, unprotecting one, or reading a
//! key exchange (MIKEY, SDES). Every error names the byte (or, for an SDP
//! attribute, the character) where the problem was found.

/// Why a packet could not be protected or unprotected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// The packet is shorter than its headers, MKI and tag need.
    #[error("packet truncated: {what} at byte {offset} needs {need} bytes, the packet has {len}")]
    Truncated {
        /// What did not fit.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes the packet needs up to its end.
        need: usize,
        /// Bytes the packet has.
        len: usize,
    },
    /// A header field that rules the packet out.
    #[error("malformed packet at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset of the field.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The packet belongs to another stream than the context's (RFC 3711
    /// §3.2.3: a cryptographic context is per SSRC).
    #[error("SSRC {found:#010x} at byte {offset} is not the context's {expected:#010x}")]
    SsrcMismatch {
        /// Byte offset of the SSRC field.
        offset: usize,
        /// The context's SSRC.
        expected: u32,
        /// The packet's SSRC.
        found: u32,
    },
    /// The sender was asked to protect a packet index it already used (or
    /// one before it): the keystream would repeat (RFC 3711 §9.1).
    #[error("packet index {index} does not follow the last one protected, {last}")]
    IndexReused {
        /// The index the packet would get.
        index: u64,
        /// The highest index protected so far.
        last: u64,
    },
    /// The 48-bit SRTP or 31-bit SRTCP index space is used up: the master
    /// key must be replaced (RFC 3711 §9.2).
    #[error("the {what} index space is exhausted: a new master key is needed")]
    IndexExhausted {
        /// `SRTP` or `SRTCP`.
        what: &'static str,
    },
    /// The MKI field does not name the context's master key.
    #[error("the MKI at byte {offset} does not name this context's master key")]
    MkiMismatch {
        /// Byte offset of the MKI.
        offset: usize,
    },
    /// The authentication tag does not match (RFC 3711 §3.3: the packet
    /// is discarded).
    #[error("authentication tag at byte {offset} does not match")]
    Authentication {
        /// Byte offset of the tag.
        offset: usize,
    },
    /// The packet index was received before, or is older than the replay
    /// window (RFC 3711 §3.3.2), or falls before the stream's first index.
    #[error("packet index {index} is a replay (or older than the replay window)")]
    Replayed {
        /// The packet's index (its sequence number when the index would
        /// fall before the stream's first).
        index: u64,
    },
    /// The operating system refused random bytes for a new key.
    #[error("no random bytes from the operating system: {0}")]
    Random(getrandom::Error),
}

/// Why a MIKEY message (RFC 3830) or an SDES `a=crypto` attribute
/// (RFC 4568) was refused. For MIKEY the offset counts bytes of the decoded
/// message; for SDES it counts characters of the attribute value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyExchangeError {
    /// The input ends inside a field.
    #[error("truncated at byte {offset}: {what} needs {need} bytes")]
    Truncated {
        /// Where the incomplete field starts.
        offset: usize,
        /// The field.
        what: &'static str,
        /// The bytes it needs from `offset`.
        need: usize,
    },
    /// Input that breaks the syntax.
    #[error("invalid at byte {offset}: {reason}")]
    Invalid {
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// Valid syntax asking for something this implementation does not do
    /// (another cipher, an encrypted KEMAC, a key derivation rate...).
    #[error("unsupported at byte {offset}: {reason}")]
    Unsupported {
        /// Where the request is.
        offset: usize,
        /// What is asked for.
        reason: String,
    },
}

impl KeyExchangeError {
    pub(crate) fn invalid(offset: usize, reason: impl Into<String>) -> KeyExchangeError {
        KeyExchangeError::Invalid {
            offset,
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(offset: usize, reason: impl Into<String>) -> KeyExchangeError {
        KeyExchangeError::Unsupported {
            offset,
            reason: reason.into(),
        }
    }
}
