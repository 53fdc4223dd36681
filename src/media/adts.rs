//! AAC in ADTS frames (`.aac`): ISO/IEC 13818-7 §6.2, ISO/IEC 14496-3
//! §1.A.2.2.
//!
//! Partner files in the other layers: `codec/adts.rs` (the header syntax)
//! and `rtp/aac.rs` (RFC 3640, the payload format that carries these units).
//!
//! Each unit is one raw_data_block: the AAC access unit without the ADTS
//! header, CRC words and block positions, as RFC 3640 carries it, 1024
//! samples long. A frame with several blocks is split when its
//! `raw_data_block_position` fields delimit them (CRC-protected frames);
//! several blocks without CRC are refused with [`MediaError::Unsupported`],
//! since only a full decode of the AAC syntax could find their boundaries.
//! `channel_configuration` 0 takes its channel layout from the
//! program_config_element that opens the first frame, and the PCE goes into
//! the AudioSpecificConfig.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;

use crate::codec::adts::{self, AdtsHeader, BlockError};
use crate::vocab::clock::{sample_at, time_of};
use crate::vocab::Codec;

use super::audio_frames::{Frame, FrameScanner, FrameSyntax};
use super::{
    sniff, AccessUnit, AudioParams, BytesReader, Demuxer, MediaError, ReaderFormat, Result, Track,
    TrackParams,
};

/// The registry entry: AAC in ADTS frames.
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "aac",
    long_name: "AAC (ADTS)",
    extensions: &["aac", "adts"],
    sniff: |head| sniff::audio_frames(head, adts::starts_with_frames),
    open: |input| Ok(Box::new(AdtsReader::new(input)?)),
};

/// Samples per channel in one raw data block (ISO/IEC 14496-3 §4.5.1.1,
/// frameLengthFlag 0, which ADTS implies).
const BLOCK_SAMPLES: u32 = 1024;

/// The ADTS header syntax for [`FrameScanner`].
struct AdtsSyntax;

impl FrameSyntax for AdtsSyntax {
    type Header = AdtsHeader;
    const NAME: &'static str = "ADTS";
    const HEADER_LEN: usize = 7;

    fn parse(bytes: &[u8]) -> Option<AdtsHeader> {
        AdtsHeader::parse(bytes)
    }

    fn frame_len(header: &AdtsHeader) -> usize {
        header.frame_len
    }

    fn samples(header: &AdtsHeader) -> u32 {
        header.samples()
    }

    fn sample_rate(header: &AdtsHeader) -> u32 {
        header.sample_rate
    }

    fn same_stream(a: &AdtsHeader, b: &AdtsHeader) -> bool {
        a.same_stream(b)
    }
}

/// Reads an AAC ADTS stream, one raw data block per unit.
pub struct AdtsReader {
    frames: FrameScanner<AdtsSyntax>,
    tracks: Vec<Track>,
    /// Blocks of the current frame not yet returned.
    queued: VecDeque<AccessUnit>,
}

impl AdtsReader {
    /// Opens an ADTS stream: skips tags, finds the first confirmed frame and
    /// derives the AudioSpecificConfig from its header (and PCE).
    pub fn new(input: BytesReader) -> Result<AdtsReader> {
        let mut frames = FrameScanner::<AdtsSyntax>::open(input)?;
        let first = *frames.first();
        let (channels, config) = match first.channels() {
            Some(channels) => (
                channels,
                Bytes::copy_from_slice(&first.audio_specific_config()),
            ),
            None => {
                let frame = frames.next_frame()?.ok_or_else(|| {
                    MediaError::invalid(0, "ADTS stream ends before its first frame")
                })?;
                let blocks = split_blocks(&frame)?;
                let pce = blocks
                    .first()
                    .and_then(|block| first.config_from_pce(&frame.data[block.clone()]));
                let Some((channels, asc)) = pce else {
                    return Err(MediaError::Unsupported(format!(
                        "ADTS channel_configuration {} without a program_config_element \
                         at the start of the first frame (byte {})",
                        first.channel_config, frame.offset
                    )));
                };
                frames.unread(frame);
                (channels, Bytes::from(asc))
            }
        };
        let mut track = Track::new(0, Codec::Aac, first.sample_rate);
        track.config.extradata = config;
        track.profile = Some(adts::profile_name(first.object_type).to_owned());
        track.params = TrackParams::Audio(AudioParams::new(first.sample_rate, channels));
        Ok(AdtsReader {
            frames,
            tracks: vec![track],
            queued: VecDeque::new(),
        })
    }

    /// Queues the blocks of `frame` that end after sample `from`.
    fn queue_blocks(&mut self, frame: Frame<AdtsHeader>, from: u64) -> Result<()> {
        for (i, block) in split_blocks(&frame)?.into_iter().enumerate() {
            let pts = frame.sample + i as u64 * u64::from(BLOCK_SAMPLES);
            if pts + u64::from(BLOCK_SAMPLES) <= from {
                continue;
            }
            self.queued.push_back(AccessUnit {
                track: 0,
                pts: pts as i64,
                dts: pts as i64,
                duration: BLOCK_SAMPLES,
                keyframe: true,
                data: frame.data.slice(block),
            });
        }
        Ok(())
    }
}

/// The raw data blocks of `frame`, or why they cannot be delimited.
fn split_blocks(frame: &Frame<AdtsHeader>) -> Result<Vec<std::ops::Range<usize>>> {
    frame
        .header
        .raw_data_blocks(&frame.data)
        .map_err(|e| match e {
            BlockError::NoPositions => MediaError::Unsupported(format!(
                "the ADTS frame at byte {} packs {} raw data blocks without CRC, so their \
                 boundaries are not transmitted (only a full AAC decode could find them)",
                frame.offset, frame.header.blocks
            )),
            BlockError::InvalidPositions => MediaError::invalid(
                frame.offset,
                format!(
                    "ADTS raw_data_block_position values do not fit a {}-byte frame",
                    frame.header.frame_len
                ),
            ),
        })
}

impl Demuxer for AdtsReader {
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        if self.queued.is_empty() {
            if let Some(frame) = self.frames.next_frame()? {
                self.queue_blocks(frame, 0)?;
            }
        }
        Ok(self.queued.pop_front())
    }

    /// Parks the input (see [`Demuxer::park`]).
    fn park(&mut self) {
        self.frames.park();
        super::compact(self.queued.iter_mut().map(|u| &mut u.data).collect());
    }

    /// Positions at the raw data block containing `time`, scanning forward
    /// from the reader's index of frame offsets (one per second read so far).
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let target = sample_at(time, rate);
        self.queued.clear();
        if self.frames.seek_to_sample(target)?.is_some() {
            if let Some(frame) = self.frames.next_frame()? {
                self.queue_blocks(frame, target)?;
            }
        }
        let at = match self.queued.front() {
            Some(unit) => unit.pts as u64,
            None => self.frames.end_sample().unwrap_or(0),
        };
        Ok(time_of(at, rate))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::testing::{
        capture_warnings, check_cuts_and_seeks, read_all, read_clean, Opener,
    };
    use super::*;
    use crate::vocab::testing::fixture;

    const OPEN: Opener = |input| Ok(Box::new(AdtsReader::new(input)?));

    fn read(data: Vec<u8>) -> (AdtsReader, Vec<AccessUnit>) {
        read_clean(AdtsReader::new, data)
    }

    /// ADTS frames of `data` (a clean stream).
    fn frames(data: &[u8]) -> Vec<&[u8]> {
        let mut out = Vec::new();
        let mut pos = 0;
        while let Some(h) = AdtsHeader::parse(&data[pos..]) {
            out.push(&data[pos..pos + h.frame_len]);
            pos += h.frame_len;
        }
        out
    }

    /// One ADTS frame holding `blocks`, with `template`'s fixed header; with
    /// `crc`, the header CRC, block positions and per-block CRC words
    /// (zeros: nothing here checks them).
    fn adts_frame(template: &[u8], crc: bool, blocks: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        let mut starts = Vec::new();
        for block in blocks {
            starts.push(body.len() as u16);
            body.extend_from_slice(block);
            if crc {
                body.extend_from_slice(&[0, 0]);
            }
        }
        let mut header = template[..7].to_vec();
        header[1] = (header[1] & 0xfe) | u8::from(!crc);
        let mut extra = Vec::new();
        if crc && blocks.len() > 1 {
            starts[1..]
                .iter()
                .for_each(|s| extra.extend_from_slice(&s.to_be_bytes()));
        }
        if crc {
            extra.extend_from_slice(&[0, 0]);
        }
        if crc && blocks.len() == 1 {
            body.truncate(body.len() - 2);
        }
        let len = 7 + extra.len() + body.len();
        header[3] = (header[3] & 0xfc) | (len >> 11) as u8;
        header[4] = (len >> 3) as u8;
        header[5] = ((len & 7) << 5) as u8 | 0x1f;
        header[6] = 0xfc | (blocks.len() - 1) as u8;
        [header, extra, body].concat()
    }

    /// ffprobe (ffmpeg 5.1) values: profile, rate, channels,
    /// `nb_read_frames`, and pos/size of the first and last packet.
    /// ffprobe's *stream* duration for ADTS is an estimate from the bit rate
    /// (3.000696 s for the 48 kHz file); the exact duration is the packets'
    /// (last pts + duration: 3.029333 s = 142 × 1024 samples).
    #[test]
    fn fixtures_match_ffprobe() {
        let cases = [
            (
                "audio_44k_stereo.aac",
                44100,
                2,
                [0x12, 0x10],
                131,
                7,
                (49272, 14),
            ),
            (
                "audio_44k_stereo_crc.aac",
                44100,
                2,
                [0x12, 0x10],
                131,
                9,
                (49532, 16),
            ),
            (
                "audio_48k_mono.aac",
                48000,
                1,
                [0x11, 0x88],
                142,
                7,
                (25169, 164),
            ),
            (
                "adts_named.mp3",
                48000,
                1,
                [0x11, 0x88],
                142,
                7,
                (25169, 164),
            ),
        ];
        for (name, rate, channels, asc, count, header, last) in cases {
            let data = fixture(name);
            let (reader, units) = read(data.clone());
            let track = &reader.tracks()[0];
            assert_eq!(reader.format(), &FORMAT);
            assert_eq!(track.codec, Codec::Aac);
            assert_eq!(track.profile.as_deref(), Some("LC"));
            let audio = track.audio().unwrap();
            assert_eq!((track.clock_rate, audio.sample_rate), (rate, rate));
            assert_eq!(audio.channels, channels, "{name}");
            assert_eq!(track.config.extradata, asc[..], "{name}");
            assert_eq!(units.len(), count, "{name}");
            for (i, unit) in units.iter().enumerate() {
                assert_eq!((unit.pts, unit.dts), (i as i64 * 1024, i as i64 * 1024));
                assert_eq!((unit.duration, unit.keyframe), (1024, true));
            }
            let first_len = AdtsHeader::parse(&data).unwrap().frame_len;
            assert_eq!(units[0].data, data[header..first_len], "{name}");
            assert_eq!(
                units[count - 1].data,
                data[last.0 + header..last.0 + last.1]
            );
        }
        // The CRC file carries the same access units.
        let (_, plain) = read(fixture("audio_44k_stereo.aac"));
        let (_, crc) = read(fixture("audio_44k_stereo_crc.aac"));
        assert_eq!(plain, crc);
    }

    #[test]
    fn adts_named_mp3_is_detected_and_read_as_aac() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/adts_named.mp3");
        let info = crate::media::inspect(&path).unwrap();
        assert_eq!(info.format, &FORMAT);
        assert_eq!(
            (info.stats[0].frames, info.stats[0].duration),
            (142, 142 * 1024)
        );
    }

    #[test]
    fn resyncs_after_a_bad_header() {
        // Frames 0–2, 32 junk bytes, frames 3–5 of audio_48k_mono.aac.
        let (_, units) = read(fixture("bad/bad_sync.aac"));
        let (_, clean) = read(fixture("audio_48k_mono.aac"));
        assert_eq!(units.len(), 6); // ffprobe nb_read_frames=6
        for (i, unit) in units.iter().enumerate() {
            assert_eq!(unit.pts, i as i64 * 1024);
            assert_eq!(unit.data, clean[i].data);
        }
    }

    /// An APEv2 tag, a Lyrics3 v2.00 tag and an ID3v1 tag, as taggers
    /// append them.
    fn trailing_tags() -> Vec<u8> {
        let mut ape = Vec::new();
        for header in [true, false] {
            ape.extend_from_slice(b"APETAGEX");
            for v in [
                2000u32,
                32 + 17,
                1,
                if header { 0xa000_0000 } else { 0x8000_0000 },
            ] {
                ape.extend_from_slice(&v.to_le_bytes());
            }
            ape.extend_from_slice(&[0; 8]);
            if header {
                ape.extend_from_slice(b"\x03\0\0\0\0\0\0\0Title\0abc");
            }
        }
        let lyrics = b"LYRICSBEGININD0000210LYR00300[00:01]la la la la la la la la la la";
        let mut tags = ape;
        tags.extend_from_slice(&lyrics[..]);
        tags.extend_from_slice(&[b' '; 261]);
        let size = format!("{:06}", lyrics.len() + 261);
        tags.extend_from_slice(size.as_bytes());
        tags.extend_from_slice(b"LYRICS200");
        let mut id3v1 = b"TAG".to_vec();
        id3v1.resize(128, 0);
        tags.extend_from_slice(&id3v1);
        tags
    }

    /// The truncation policy: the frames before the cut are served, the
    /// cut one is dropped with one warning. Tagging the cut file after the
    /// fact changes nothing: the last frame's stated length used to run
    /// into the APE and Lyrics3 tags (Lyrics3 was not recognised, so the
    /// APE tag before it was not either) and it was counted as a frame,
    /// one above ffprobe, whose AAC decoder rejects it.
    #[test]
    fn a_last_frame_cut_short_is_dropped_with_a_warning() {
        let clean = fixture("audio_48k_mono.aac");
        let (_, want) = read(clean.clone());
        let frames = frames(&clean);
        let last = clean.len() - frames[frames.len() - 1].len();
        let cut = &clean[..last + 60];
        for data in [cut.to_vec(), [cut, &trailing_tags()].concat()] {
            let ((units, err), warnings) = capture_warnings(|| {
                read_all(&mut AdtsReader::new(BytesReader::from_bytes(data)).unwrap())
            });
            assert!(err.is_none(), "{err:?}");
            assert_eq!(units, want[..want.len() - 1]);
            assert_eq!(
                warnings,
                [format!(
                    "ADTS: last frame cut short at byte {last} (needs 164 bytes, 60 remain): \
                     dropped"
                )]
            );
        }
        // Whole frames before the same tags: no junk, nothing dropped.
        let ((units, err), warnings) = capture_warnings(|| {
            let data = [&clean[..], &trailing_tags()].concat();
            read_all(&mut AdtsReader::new(BytesReader::from_bytes(data)).unwrap())
        });
        assert_eq!((units, err.is_none(), warnings), (want, true, vec![]));
    }

    #[test]
    fn splits_crc_protected_frames_with_several_blocks() {
        let clean = fixture("audio_48k_mono.aac");
        let (_, want) = read(clean.clone());
        let frames = frames(&clean);
        let payloads: Vec<&[u8]> = frames.iter().map(|f| &f[7..]).collect();
        // Blocks 0–3 in one frame, 4 in a one-block CRC frame, the rest as is.
        let mut data = adts_frame(frames[0], true, &payloads[..4]);
        data.extend(adts_frame(frames[0], true, &payloads[4..5]));
        frames[5..].iter().for_each(|f| data.extend_from_slice(f));
        let (reader, got) = read(data.clone());
        assert_eq!(reader.tracks()[0].config.extradata, [0x11, 0x88][..]);
        assert_eq!(got, want);
        check_cuts_and_seeks(&data, OPEN);
    }

    #[test]
    fn several_blocks_without_crc_are_refused() {
        let clean = fixture("audio_48k_mono.aac");
        let frames = frames(&clean);
        let payloads: Vec<&[u8]> = frames.iter().map(|f| &f[7..]).collect();
        let mut data = frames[0].to_vec();
        data.extend(adts_frame(frames[0], false, &payloads[1..3]));
        frames[3..].iter().for_each(|f| data.extend_from_slice(f));
        let mut reader = AdtsReader::new(BytesReader::from_bytes(data)).unwrap();
        let (units, err) = read_all(&mut reader);
        assert_eq!(units.len(), 1);
        let err = err.unwrap();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
        assert!(
            err.to_string()
                .contains("at byte 266 packs 2 raw data blocks"),
            "{err}"
        );
    }

    #[test]
    fn bad_block_positions_are_invalid() {
        let clean = fixture("audio_48k_mono.aac");
        let frames = frames(&clean);
        let payloads: Vec<&[u8]> = frames.iter().map(|f| &f[7..]).collect();
        let mut data = adts_frame(frames[0], true, &payloads[..2]);
        data[7..9].copy_from_slice(&[0x7f, 0xff]); // block 1 starts past the frame
        frames[2..].iter().for_each(|f| data.extend_from_slice(f));
        let mut reader = AdtsReader::new(BytesReader::from_bytes(data)).unwrap();
        let err = reader.read_unit().unwrap_err();
        assert!(
            matches!(err, MediaError::Invalid { offset: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn channel_configuration_zero_uses_the_pce() {
        // First bytes of an ffmpeg `-aac_pce 1` stereo stream: the raw data
        // block opens with a PCE (one CPE, comment "Lavc59.37.100").
        let head = hex::decode(
            "fff14c00277ffca098800004000d4c61766335392e33372e313030de02004c6176\
             6335392e33372e3130300042551fff",
        )
        .unwrap();
        // Make it a 3-frame stream: the PCE frame padded to 64 bytes, then
        // two plain frames with the same fixed header.
        let mut first = head.clone();
        first.resize(64, 0);
        let frame = adts_frame(&head, false, &[&first[7..]]);
        let next = adts_frame(&head, false, &[&[0x01, 0x18, 0x20, 0x07]]);
        let data = [frame.clone(), next.clone(), next].concat();
        let (reader, units) = read(data);
        let track = &reader.tracks()[0];
        assert_eq!(track.audio().unwrap().channels, 2);
        // What ffmpeg's aac_adtstoasc writes for this stream.
        let mut asc = hex::decode("118004c40000200d").unwrap();
        asc.extend_from_slice(b"Lavc59.37.100");
        assert_eq!(track.config.extradata, asc);
        assert_eq!(units.len(), 3);
        assert_eq!(units[0].data, frame[7..]);
        // Without a PCE, channel configuration 0 is refused.
        let plain = adts_frame(&head, false, &[&[0x01, 0x18, 0x20, 0x07]]);
        let err = AdtsReader::new(BytesReader::from_bytes(plain.repeat(3)))
            .err()
            .unwrap();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
    }

    #[test]
    fn non_adts_input_is_a_clear_error() {
        for name in ["bad/empty.h264", "bad/random.bin", "bad/text.mp3"] {
            let err = AdtsReader::new(BytesReader::from_bytes(fixture(name)))
                .err()
                .unwrap();
            assert!(
                matches!(
                    err,
                    MediaError::Empty | MediaError::Invalid { offset: 0, .. }
                ),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn truncations_and_seeks_agree_with_a_straight_read() {
        for name in [
            "audio_44k_stereo.aac",
            "audio_44k_stereo_crc.aac",
            "audio_48k_mono.aac",
            "bad/bad_sync.aac",
        ] {
            check_cuts_and_seeks(&fixture(name), OPEN);
        }
    }
}
