//! Audio elementary streams cut into frames: MPEG audio (ISO/IEC 11172-3
//! §2.4.1.3), AAC in ADTS (ISO/IEC 14496-3 §1.A.2.2) and in LOAS/LATM
//! (§1.7), AC-3 and E-AC-3 (ATSC A/52 §5.3, Annex E).
//!
//! A frame is trusted at the start of the data when its header parses and
//! belongs to the stream (the first header fixes the stream's parameters);
//! elsewhere (junk, or the tail of a frame that began before a restart)
//! the next sync word is trusted only when the header its length points to
//! follows, or the data ends exactly there. Units: whole MPEG audio and
//! AC-3 frames, header included (RFC 2250 §3, RFC 4184 carry them so); the
//! raw data blocks of an ADTS frame and the payloads of a LATM element
//! (RFC 3640 carries bare access units). An E-AC-3 unit is an independent
//! substream frame with the dependent and further substream frames that
//! follow it (one audio block set, as FFmpeg's parser groups them).

use std::ops::Range;

use crate::codec::ac3::{StreamKind, SyncFrame};
use crate::codec::adts::{self, AdtsHeader, BlockError};
use crate::codec::latm::{self, Latm};
use crate::codec::mpeg_audio::FrameHeader;
use crate::media::{AudioParams, Track, TrackParams};
use crate::vocab::{Codec, TrackKind};

/// The frame syntax of an audio stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AudioSyntax {
    /// MPEG-1/2 audio layers I–III.
    MpegAudio,
    /// AAC in ADTS frames.
    Adts,
    /// AAC in LOAS/LATM.
    Latm,
    /// AC-3 or E-AC-3 sync frames.
    Ac3,
}

/// One frame's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Header {
    Mpeg(FrameHeader),
    Adts(AdtsHeader),
    Ac3(SyncFrame),
    Loas(usize),
}

impl Header {
    /// The header at the start of `data`, if one is there whole.
    fn parse(syntax: AudioSyntax, data: &[u8]) -> Option<Header> {
        match syntax {
            AudioSyntax::MpegAudio => FrameHeader::parse(data).ok().map(Header::Mpeg),
            AudioSyntax::Adts => AdtsHeader::parse(data).map(Header::Adts),
            AudioSyntax::Ac3 => SyncFrame::parse(data).ok().map(Header::Ac3),
            AudioSyntax::Latm => latm::loas_frame_len(data).map(Header::Loas),
        }
    }

    /// The whole frame in bytes, header included.
    fn frame_len(&self) -> usize {
        match self {
            Header::Mpeg(h) => h.frame_len,
            Header::Adts(h) => h.frame_len,
            Header::Ac3(h) => h.frame_len,
            Header::Loas(len) => *len,
        }
    }

    /// Whether `other` can belong to the stream whose first header this is.
    fn same_stream(&self, other: &Header) -> bool {
        match (self, other) {
            (Header::Mpeg(a), Header::Mpeg(b)) => a.same_stream(b),
            (Header::Adts(a), Header::Adts(b)) => a.same_stream(b),
            (Header::Ac3(a), Header::Ac3(b)) => {
                a.sample_rate == b.sample_rate
                    && matches!(a.kind, StreamKind::Ac3) == matches!(b.kind, StreamKind::Ac3)
            }
            (Header::Loas(_), Header::Loas(_)) => true,
            _ => false,
        }
    }
}

/// Where a unit's bytes are in its frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Parts {
    /// The whole frame.
    Whole,
    /// Ranges of the frame (ADTS raw data blocks), each a unit.
    Ranges(Vec<Range<usize>>),
    /// Bytes copied out of the frame (LATM payloads), each a unit.
    Owned(Vec<Vec<u8>>),
}

/// A frame found at the start of the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct AudioFrame {
    /// Its length in the data.
    pub len: usize,
    /// Samples per channel of each unit it makes.
    pub samples: u32,
    /// The units it makes.
    pub parts: Parts,
}

/// What the start of the data holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum AudioStep {
    /// A whole frame.
    Frame(AudioFrame),
    /// Bytes that are no frame of the stream, to drop.
    Junk(usize),
    /// A frame that the end of the data cuts short, to drop.
    Cut(usize),
}

/// Cuts an audio elementary stream into frames and describes it.
pub(super) struct AudioSplitter {
    syntax: AudioSyntax,
    /// The first frame's header: the stream's parameters.
    reference: Option<Header>,
    latm: Latm,
    track: Option<Track>,
    /// The data starts where the last frame ended: a header there is
    /// trusted without its follower.
    synced: bool,
}

/// Bytes that hold any of the headers: a sync word found closer to the
/// end of the data may belong to a header cut there.
const MAX_HEADER: usize = 16;

impl AudioSplitter {
    /// A splitter for `syntax`.
    pub fn new(syntax: AudioSyntax) -> AudioSplitter {
        AudioSplitter {
            syntax,
            reference: None,
            latm: Latm::default(),
            track: None,
            synced: false,
        }
    }

    /// The track, once the stream described itself.
    pub fn track(&self) -> Option<&Track> {
        self.track.as_ref()
    }

    /// Forgets where frames are (the data was emptied): the next frame
    /// must be confirmed again.
    pub fn reset(&mut self) {
        self.synced = false;
    }

    /// What the start of `data` holds; `None` until more bytes come (and
    /// for empty data).
    pub fn next(&mut self, data: &[u8], eof: bool) -> Option<AudioStep> {
        if data.is_empty() {
            return None;
        }
        let Some(header) = self.frame_at(data, 0) else {
            return self.resync(data, eof);
        };
        let len = header.frame_len();
        if data.len() < len {
            return eof.then_some(AudioStep::Cut(data.len()));
        }
        if !self.synced {
            match self.confirmed(data, 0, header, eof) {
                None => return None,
                Some(false) => return self.resync(data, eof),
                Some(true) => {}
            }
        }
        let len = self.grouped_len(data, header, eof)?;
        match self.frame(&data[..len], header) {
            Some(frame) => {
                self.synced = true;
                Some(AudioStep::Frame(frame))
            }
            None => {
                self.synced = false;
                Some(AudioStep::Junk(len))
            }
        }
    }

    /// The header at `at` in `data`, if it parses and fits the stream.
    fn frame_at(&self, data: &[u8], at: usize) -> Option<Header> {
        let header = Header::parse(self.syntax, data.get(at..)?)?;
        self.reference
            .is_none_or(|r| r.same_stream(&header))
            .then_some(header)
    }

    /// Whether the frame `header` at `at` is confirmed by what follows it:
    /// another frame's header, or the end of the stream (`None`: not
    /// known until more bytes come).
    fn confirmed(&self, data: &[u8], at: usize, header: Header, eof: bool) -> Option<bool> {
        let next = at + header.frame_len();
        if next + MAX_HEADER > data.len() {
            // The end of the stream confirms; else wait for the follower.
            return eof.then_some(true);
        }
        Some(self.frame_at(data, next).is_some())
    }

    /// Skips to the next frame the stream's syntax confirms: `Junk` up to
    /// it, or up to the end of the data when there is none (keeping the
    /// last bytes, where a header may be cut, until the end).
    fn resync(&mut self, data: &[u8], eof: bool) -> Option<AudioStep> {
        self.synced = false;
        let sync = |b: &[u8]| match self.syntax {
            AudioSyntax::MpegAudio | AudioSyntax::Adts => b[0] == 0xff && b[1] & 0xe0 == 0xe0,
            AudioSyntax::Ac3 => b[..2] == [0x0b, 0x77],
            AudioSyntax::Latm => b[0] == 0x56 && b[1] & 0xe0 == 0xe0,
        };
        for at in 1..data.len().saturating_sub(1) {
            if !sync(&data[at..]) {
                continue;
            }
            let confirmed = match self.frame_at(data, at) {
                Some(header) => self.confirmed(data, at, header, eof),
                // A header cut by the end of what arrived so far.
                None if at + MAX_HEADER > data.len() && !eof => None,
                None => Some(false),
            };
            if confirmed != Some(false) {
                return Some(AudioStep::Junk(at));
            }
        }
        if eof {
            Some(AudioStep::Junk(data.len()))
        } else {
            (data.len() > MAX_HEADER).then(|| AudioStep::Junk(data.len() - MAX_HEADER))
        }
    }

    /// The bytes of the frame at the start of `data`: for E-AC-3, with the
    /// dependent substream frames after it; `None` until the next frame's
    /// header shows whether it belongs.
    fn grouped_len(&self, data: &[u8], header: Header, eof: bool) -> Option<usize> {
        let mut len = header.frame_len();
        if !matches!(
            header,
            Header::Ac3(SyncFrame {
                kind: StreamKind::Eac3 { .. },
                ..
            })
        ) {
            return Some(len);
        }
        loop {
            if data.len() < len + crate::codec::ac3::HEADER_LEN {
                return eof.then_some(len);
            }
            match SyncFrame::parse(&data[len..]) {
                Ok(next) if !starts_block_set(&next) && data.len() >= len + next.frame_len => {
                    len += next.frame_len;
                }
                // A dependent frame cut by the end: the set ends before it.
                Ok(next) if !starts_block_set(&next) => return eof.then_some(len),
                _ => return Some(len),
            }
        }
    }

    /// The frame `data` (whole, `header` at its start) as units; `None`
    /// for a frame whose content cannot be read (it is skipped).
    fn frame(&mut self, data: &[u8], header: Header) -> Option<AudioFrame> {
        let (samples, parts) = match header {
            Header::Mpeg(h) => (h.samples, Parts::Whole),
            Header::Ac3(h) => (h.samples, Parts::Whole),
            Header::Adts(h) => match h.raw_data_blocks(data) {
                Ok(blocks) => (1024, Parts::Ranges(blocks)),
                Err(BlockError::NoPositions | BlockError::InvalidPositions) => return None,
            },
            Header::Loas(_) => {
                let units = self.latm.element(&data[latm::LOAS_HEADER_LEN..]).ok()?;
                let config = self.latm.config()?;
                (config.samples_per_frame, Parts::Owned(units))
            }
        };
        if self.reference.is_none() {
            self.track = self.describe(data, header);
            self.reference = self.track.is_some().then_some(header);
        }
        Some(AudioFrame {
            len: data.len(),
            samples,
            parts,
        })
    }

    /// The track the first frame describes.
    fn describe(&self, data: &[u8], header: Header) -> Option<Track> {
        let (codec, rate, channels, bit_rate, profile, config) = match header {
            Header::Mpeg(h) => {
                let codec = match h.layer {
                    1 => Codec::Mp1,
                    2 => Codec::Mp2,
                    _ => Codec::Mp3,
                };
                (
                    codec,
                    h.sample_rate,
                    h.channels,
                    Some(h.bit_rate),
                    None,
                    Vec::new(),
                )
            }
            Header::Ac3(h) => {
                let codec = match h.kind {
                    StreamKind::Ac3 => Codec::Ac3,
                    StreamKind::Eac3 { .. } => Codec::Other(TrackKind::Audio, "eac3".into()),
                };
                (
                    codec,
                    h.sample_rate,
                    h.channels(),
                    Some(h.bit_rate),
                    None,
                    Vec::new(),
                )
            }
            Header::Adts(h) => {
                let (channels, config) = match h.channels() {
                    Some(channels) => (channels, h.audio_specific_config().to_vec()),
                    None => {
                        let first = h.raw_data_blocks(data).ok()?.into_iter().next()?;
                        h.config_from_pce(&data[first])?
                    }
                };
                let profile = adts::profile_name(h.object_type);
                (
                    Codec::Aac,
                    h.sample_rate,
                    channels,
                    None,
                    Some(profile),
                    config,
                )
            }
            Header::Loas(_) => {
                let c = self.latm.config()?;
                let profile = c.profile();
                (
                    Codec::Aac,
                    c.sample_rate,
                    c.channels,
                    None,
                    Some(profile),
                    c.bytes.clone(),
                )
            }
        };
        let mut track = Track::new(0, codec, rate);
        track.bit_rate = bit_rate.map(u64::from);
        track.profile = profile.map(str::to_owned);
        track.config.extradata = config.into();
        track.params = TrackParams::Audio(AudioParams::new(rate, channels));
        Some(track)
    }
}

/// Whether an AC-3 or E-AC-3 sync frame starts a new set of audio blocks:
/// AC-3, or an independent E-AC-3 substream 0.
fn starts_block_set(frame: &SyncFrame) -> bool {
    match frame.kind {
        StreamKind::Ac3 => true,
        StreamKind::Eac3 {
            stream_type,
            substream_id,
        } => stream_type != 1 && substream_id == 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::testing::fixture;

    /// Every step over `data`, fed whole.
    fn steps(syntax: AudioSyntax, data: &[u8]) -> (Vec<AudioStep>, AudioSplitter) {
        let mut s = AudioSplitter::new(syntax);
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(step) = s.next(&data[at..], true) {
            at += match &step {
                AudioStep::Frame(f) => f.len,
                AudioStep::Junk(n) | AudioStep::Cut(n) => *n,
            };
            out.push(step);
        }
        assert_eq!(at, data.len());
        (out, s)
    }

    #[test]
    fn fixtures_split_into_their_frames() {
        let (frames, s) = steps(AudioSyntax::MpegAudio, &fixture("audio_48k_stereo.mp2"));
        assert_eq!(frames.len(), 125);
        assert_eq!(s.track().unwrap().codec, Codec::Mp2);
        let (frames, s) = steps(AudioSyntax::Adts, &fixture("audio_48k_mono.aac"));
        assert_eq!(frames.len(), 142);
        let track = s.track().unwrap();
        assert_eq!(
            (track.codec.clone(), &track.config.extradata[..]),
            (Codec::Aac, &[0x11, 0x88][..])
        );
        assert!(
            matches!(&frames[0], AudioStep::Frame(AudioFrame { parts: Parts::Ranges(r), .. }) if r[0].start == 7)
        );
    }

    #[test]
    fn junk_and_cut_frames() {
        let data = fixture("audio_48k_stereo.mp2");
        let mut junky = b"junk".to_vec();
        junky.extend_from_slice(&data[..576 * 3 + 100]);
        let (steps, _) = steps(AudioSyntax::MpegAudio, &junky);
        assert_eq!(steps[0], AudioStep::Junk(4));
        assert!(matches!(steps[1], AudioStep::Frame(_)));
        assert_eq!(steps.last(), Some(&AudioStep::Cut(100)));
    }
}
