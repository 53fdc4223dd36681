//! H.264 reader (placeholder until its reader lands).

use std::time::Duration;

use super::{AccessUnit, BytesReader, Demuxer, Format, MediaError, Result, Track};

/// H.264 reader.
pub struct H264Reader {
    tracks: Vec<Track>,
}

impl H264Reader {
    /// Opens a H.264 stream.
    pub fn new(_input: BytesReader) -> Result<H264Reader> {
        Err(MediaError::Unsupported(
            "H.264 reader not implemented yet".into(),
        ))
    }
}

impl Demuxer for H264Reader {
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
