//! WAV reader (placeholder until its reader lands).

use std::time::Duration;

use super::{AccessUnit, BytesReader, Demuxer, Format, MediaError, Result, Track};

/// WAV reader.
pub struct WavReader {
    tracks: Vec<Track>,
}

impl WavReader {
    /// Opens a WAV stream.
    pub fn new(_input: BytesReader) -> Result<WavReader> {
        Err(MediaError::Unsupported(
            "WAV reader not implemented yet".into(),
        ))
    }
}

impl Demuxer for WavReader {
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
