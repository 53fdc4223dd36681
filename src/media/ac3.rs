//! AC-3 and E-AC-3 elementary streams (`.ac3`, `.eac3`): ATSC A/52 sync
//! frames back to back (§5.3.1; Annex E for E-AC-3), as FFmpeg's `ac3` and
//! `eac3` muxers write them.
//!
//! Partner files: `codec/ac3.rs` (the `syncinfo`/`bsi` syntax) and
//! `rtp/ac3.rs` (RFC 4184, the payload format that carries AC-3). E-AC-3 has
//! no payload format here (RFC 4598 is not implemented, and no peer here
//! speaks it): its track is described, and left out of the SDP.
//!
//! Each AC-3 unit is one sync frame, 1536 samples. An E-AC-3 unit is one
//! set of audio blocks: an independent substream 0 frame with the
//! dependent and further substream frames that follow it (as FFmpeg's
//! parser groups them), 256 samples per block. Frames are found, checked
//! and indexed for seeking as MPEG audio and ADTS frames are
//! (`audio_frames`): junk is skipped to the next frame that its follower
//! confirms, a last frame cut short is dropped.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::codec::ac3::{self, StreamKind, SyncFrame};
use crate::vocab::clock::{sample_at, time_of};
use crate::vocab::{Codec, TrackKind};

use super::audio_frames::{Frame, FrameScanner, FrameSyntax};
use super::{
    sniff, AccessUnit, AudioParams, BytesReader, Demuxer, ReaderFormat, Result, Track, TrackParams,
};

/// The registry entry: AC-3 elementary streams.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "ac3",
    long_name: "AC-3 elementary stream",
    extensions: &["ac3", "a52"],
    sniff: |head| sniff::audio_frames_from(head, ac3::SYNC_WORD[0], ac3::starts_with_ac3_frames),
    open: |input| Ok(Box::new(Ac3Reader::new(input)?)),
};

/// The registry entry: E-AC-3 elementary streams.
pub static EAC3_FORMAT: ReaderFormat = ReaderFormat {
    name: "eac3",
    long_name: "E-AC-3 elementary stream",
    extensions: &["eac3", "ec3"],
    sniff: |head| sniff::audio_frames_from(head, ac3::SYNC_WORD[0], ac3::starts_with_eac3_frames),
    open: |input| Ok(Box::new(Ac3Reader::new(input)?)),
};

/// The sync frame syntax for [`FrameScanner`].
struct Ac3Syntax;

impl FrameSyntax for Ac3Syntax {
    type Header = SyncFrame;
    const NAME: &'static str = "AC-3";
    const HEADER_LEN: usize = ac3::HEADER_LEN;
    const SYNC_BYTE: u8 = ac3::SYNC_WORD[0];

    fn parse(bytes: &[u8]) -> Option<SyncFrame> {
        SyncFrame::parse(bytes).ok()
    }

    fn frame_len(header: &SyncFrame) -> usize {
        header.frame_len
    }

    /// A frame that continues a set of audio blocks (a dependent or
    /// further substream) adds no time.
    fn samples(header: &SyncFrame) -> u32 {
        if starts_block_set(header) {
            header.samples
        } else {
            0
        }
    }

    fn sample_rate(header: &SyncFrame) -> u32 {
        header.sample_rate
    }

    fn same_stream(a: &SyncFrame, b: &SyncFrame) -> bool {
        a.sample_rate == b.sample_rate
            && matches!(a.kind, StreamKind::Ac3) == matches!(b.kind, StreamKind::Ac3)
    }
}

/// Whether a sync frame starts a set of audio blocks: AC-3, or an
/// independent E-AC-3 substream 0.
fn starts_block_set(frame: &SyncFrame) -> bool {
    match frame.kind {
        StreamKind::Ac3 => true,
        StreamKind::Eac3 {
            stream_type,
            substream_id,
        } => stream_type != 1 && substream_id == 0,
    }
}

/// Reads an AC-3 or E-AC-3 elementary stream, one set of audio blocks per
/// unit.
pub struct Ac3Reader {
    frames: FrameScanner<Ac3Syntax>,
    tracks: Vec<Track>,
    format: &'static ReaderFormat,
}

impl Ac3Reader {
    /// Opens a stream at its first confirmed sync frame, which describes it.
    pub fn new(input: BytesReader) -> Result<Ac3Reader> {
        let frames = FrameScanner::<Ac3Syntax>::open(input)?;
        let first = *frames.first();
        let (codec, format) = match first.kind {
            StreamKind::Ac3 => (Codec::Ac3, &FORMAT),
            StreamKind::Eac3 { .. } => {
                (Codec::Other(TrackKind::Audio, "eac3".into()), &EAC3_FORMAT)
            }
        };
        let mut track = Track::new(0, codec, first.sample_rate);
        track.bit_rate = Some(u64::from(first.bit_rate));
        track.params = TrackParams::Audio(AudioParams::new(first.sample_rate, first.channels()));
        Ok(Ac3Reader {
            frames,
            tracks: vec![track],
            format,
        })
    }

    /// The unit starting with `frame`: it and the frames that continue its
    /// set of audio blocks.
    fn unit(&mut self, frame: Frame<SyncFrame>) -> Result<AccessUnit> {
        let samples = frame.header.samples;
        let pts = frame.sample as i64;
        let mut data = frame.data;
        let mut joined: Option<BytesMut> = None;
        loop {
            match self.frames.next_frame() {
                Ok(Some(next)) if !starts_block_set(&next.header) => {
                    joined
                        .get_or_insert_with(|| BytesMut::from(&data[..]))
                        .extend_from_slice(&next.data);
                }
                Ok(Some(next)) => {
                    self.frames.unread(next);
                    break;
                }
                // The end (or a cut frame, reported by the next read).
                Ok(None) | Err(_) => break,
            }
        }
        if let Some(joined) = joined {
            data = Bytes::from(joined);
        }
        Ok(AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: samples,
            keyframe: true,
            data,
        })
    }
}

impl Demuxer for Ac3Reader {
    fn format(&self) -> &'static ReaderFormat {
        self.format
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        loop {
            let Some(frame) = self.frames.next_frame()? else {
                return Ok(None);
            };
            // A continuation frame without its set (after junk): no unit.
            if starts_block_set(&frame.header) {
                return self.unit(frame).map(Some);
            }
        }
    }

    /// Positions at the unit containing `time`, from the index of frame
    /// offsets (one per second read so far).
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let target = sample_at(time, rate);
        let at = match self.frames.seek_to_sample(target)? {
            Some(sample) => sample,
            None => self.frames.end_sample().unwrap_or(0),
        };
        Ok(time_of(at, rate))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{check_cuts_and_seeks, read_clean, Opener};
    use super::*;
    use crate::vocab::testing::fixture;

    const OPEN: Opener = |input| Ok(Box::new(Ac3Reader::new(input)?));

    /// ffprobe (FFmpeg 5.1): codec, rate, channels, bit rate and
    /// `nb_read_frames` of the fixtures.
    #[test]
    fn fixtures_match_ffprobe() {
        for (name, codec, rate, channels, bit_rate, frames, samples) in [
            ("audio_48k_stereo.ac3", "ac3", 48000, 2, 96000, 32, 1536),
            ("audio_44k_5.1.eac3", "eac3", 44100, 6, 0, 29, 1536),
        ] {
            let (reader, units) = read_clean(Ac3Reader::new, fixture(name));
            let track = &reader.tracks()[0];
            assert_eq!(reader.format().name, codec, "{name}");
            assert_eq!(track.codec.name(), codec);
            let audio = track.audio().unwrap();
            assert_eq!((audio.sample_rate, audio.channels), (rate, channels));
            if bit_rate > 0 {
                assert_eq!(track.bit_rate, Some(bit_rate));
            }
            assert_eq!(units.len(), frames, "{name}");
            for (i, unit) in units.iter().enumerate() {
                assert_eq!(unit.pts, i as i64 * samples, "{name}");
                assert_eq!(unit.duration, samples as u32);
                assert_eq!(&unit.data[..2], &ac3::SYNC_WORD);
            }
            check_cuts_and_seeks(&fixture(name), OPEN);
        }
    }

    #[test]
    fn junk_is_skipped_and_detection_tells_the_kinds_apart() {
        let data = fixture("audio_48k_stereo.ac3");
        let mut junky = b"junk\x0b\x77junk".to_vec();
        junky.extend_from_slice(&data);
        let (_, units) = read_clean(Ac3Reader::new, junky);
        assert_eq!(units.len(), 32);
        let head = &data[..data.len().min(64 << 10)];
        assert_eq!((FORMAT.sniff)(head), Some(super::super::Evidence::Frames));
        assert_eq!((EAC3_FORMAT.sniff)(head), None);
        let eac3 = fixture("audio_44k_5.1.eac3");
        assert_eq!((FORMAT.sniff)(&eac3), None);
        assert!((EAC3_FORMAT.sniff)(&eac3).is_some());
    }
}
