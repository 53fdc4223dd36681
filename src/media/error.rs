//! Errors of the media core: each says what is wrong and where.

use std::io;

/// Why a file cannot be read, or why reading stopped.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// The operating system refused or failed a read.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The path names a directory, pipe, device or socket (which one is
    /// said): readers need a regular file, which they can seek in.
    #[error("{0}, not a regular file (a seekable file is needed)")]
    NotRegularFile(&'static str),
    /// The file holds no bytes at all.
    #[error("file is empty")]
    Empty,
    /// Neither the content nor the extension names a format we read.
    #[error("unrecognized format: {0}")]
    UnknownFormat(String),
    /// A format or codec we recognise but cannot handle.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The bytes at `offset` break the format's rules.
    #[error("invalid data at byte {offset}: {reason}")]
    Invalid {
        /// Byte offset in the file of the offending structure.
        offset: u64,
        /// What rule the data breaks.
        reason: String,
    },
    /// The file ends inside a structure whose header promised more bytes.
    #[error("truncated at byte {offset}: {reason}")]
    Truncated {
        /// Byte offset in the file where the incomplete structure starts.
        offset: u64,
        /// What was cut short.
        reason: String,
    },
    /// A seek target beyond what the reader can reach, or a reader without
    /// random access.
    #[error("cannot seek: {0}")]
    Seek(String),
}

impl MediaError {
    /// An [`MediaError::Invalid`] at `offset`.
    pub fn invalid(offset: u64, reason: impl Into<String>) -> MediaError {
        MediaError::Invalid {
            offset,
            reason: reason.into(),
        }
    }

    /// A [`MediaError::Truncated`] at `offset`.
    pub fn truncated(offset: u64, reason: impl Into<String>) -> MediaError {
        MediaError::Truncated {
            offset,
            reason: reason.into(),
        }
    }
}
