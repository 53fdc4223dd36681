//! MPEG audio reader (placeholder until its reader lands).

use std::time::Duration;

use super::{AccessUnit, BytesReader, Demuxer, Format, MediaError, Result, Track};

/// MPEG audio reader.
pub struct MpegAudioReader {
    tracks: Vec<Track>,
}

impl MpegAudioReader {
    /// Opens a MPEG audio stream.
    pub fn new(_input: BytesReader) -> Result<MpegAudioReader> {
        Err(MediaError::Unsupported(
            "MPEG audio reader not implemented yet".into(),
        ))
    }
}

impl Demuxer for MpegAudioReader {
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
