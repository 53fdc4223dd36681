//! H.265 reader (placeholder until its reader lands).

use std::time::Duration;

use super::{AccessUnit, BytesReader, Demuxer, Format, MediaError, Result, Track};

/// H.265 reader.
pub struct HevcReader {
    tracks: Vec<Track>,
}

impl HevcReader {
    /// Opens a H.265 stream.
    pub fn new(_input: BytesReader) -> Result<HevcReader> {
        Err(MediaError::Unsupported(
            "H.265 reader not implemented yet".into(),
        ))
    }
}

impl Demuxer for HevcReader {
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
