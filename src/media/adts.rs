//! AAC ADTS reader (placeholder until its reader lands).

use std::time::Duration;

use super::{AccessUnit, BytesReader, Demuxer, Format, MediaError, Result, Track};

/// AAC ADTS reader.
pub struct AdtsReader {
    tracks: Vec<Track>,
}

impl AdtsReader {
    /// Opens a AAC ADTS stream.
    pub fn new(_input: BytesReader) -> Result<AdtsReader> {
        Err(MediaError::Unsupported(
            "AAC ADTS reader not implemented yet".into(),
        ))
    }
}

impl Demuxer for AdtsReader {
    fn format(&self) -> Format {
        unreachable!()
    }
    fn tracks(&self) -> &[Track] {
        &self.tracks
    }
    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        Ok(None)
    }
    fn seek(&mut self, _time: Duration) -> Result<Duration> {
        Ok(Duration::ZERO)
    }
}
