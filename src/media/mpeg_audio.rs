//! MPEG-1/2/2.5 audio layer I–III elementary streams (`.mp3`, `.mp2`):
//! ISO/IEC 11172-3 §2.4, ISO/IEC 13818-3 §2.4 and the MPEG-2.5 extension.
//!
//! Each unit is one whole frame, header included, as RFC 2250 §3 carries
//! it, timed in samples. The Xing/Info or VBRI frame that encoders put first
//! is metadata, not audio, and is not yielded (as FFmpeg skips it).
//!
//! **Frame count rule (matches `ffprobe -count_frames`).** ffprobe counts
//! *decoded* frames, not packets. When the Xing/Info frame has a LAME
//! extension written by LAME or FFmpeg, FFmpeg trims `delay + 529` samples
//! (encoder delay plus the decoder's 528 + 1) from the start, and, when the
//! tag states a frame count `F`, the samples from `F × spf + 529 − padding`
//! to `F × spf` at the end. A frame whose every sample is trimmed yields no
//! decoded frame. With 576-sample frames (MPEG-2/2.5 layer III) and LAME's
//! usual delay of 576, the first audio frame disappears (1105 ≥ 576): so
//! `audio_22k_mono_vbr.mp3` has 117 audio packets, ffprobe reports
//! `nb_read_frames=116` and a duration of 117 × 576 samples, the Xing count.
//! This reader drops exactly the frames FFmpeg's decoder drops
//! (`DecoderTrim`, including FFmpeg's rule that ignores the count of an
//! apparently concatenated file), so `frames` equals `nb_read_frames`
//! (checked on 56 LAME files, 8–48 kHz, 1–9999 samples). The duration is
//! then within one frame of ffprobe's unless the padding also empties whole
//! frames at the end (padding ≥ 529 + spf, only in very short files), where
//! it is shorter by those frames too. The dropped frames are encoder
//! priming/padding, whose output every gapless decoder discards; a decoder
//! that starts at the first kept frame only lacks its bit reservoir for that
//! frame's priming part.

use std::time::Duration;

use crate::codec::mpeg_audio::{FrameHeader, HeaderError, VbrTag, VbrTagKind};

use super::audio_frames::{Frame, FrameScanner, FrameSyntax};
use super::clock::{sample_at, time_of};
use super::{AccessUnit, BytesReader, Codec, Demuxer, Format, Result, Track};

/// The MPEG audio frame header syntax for [`FrameScanner`].
struct MpegSyntax;

impl FrameSyntax for MpegSyntax {
    type Header = FrameHeader;
    const NAME: &'static str = "MPEG audio";
    const HEADER_LEN: usize = 4;

    fn parse(bytes: &[u8]) -> Option<FrameHeader> {
        FrameHeader::parse(bytes).ok()
    }

    fn unsupported(bytes: &[u8]) -> Option<String> {
        (FrameHeader::parse(bytes) == Err(HeaderError::FreeFormat)).then(|| {
            "free-format MPEG audio (bit rate index 0): the frame length is not in the header"
                .to_owned()
        })
    }

    fn frame_len(header: &FrameHeader) -> usize {
        header.frame_len
    }

    fn samples(header: &FrameHeader) -> u32 {
        header.samples
    }

    fn sample_rate(header: &FrameHeader) -> u32 {
        header.sample_rate
    }

    fn same_stream(a: &FrameHeader, b: &FrameHeader) -> bool {
        a.same_stream(b)
    }
}

/// The frames FFmpeg's decoder yields no output for, given a LAME
/// extension's encoder delay and padding (FFmpeg 5.1 `mp3dec.c`
/// `mp3_parse_info_tag`, `demux.c` skip-samples side data and `decode.c`
/// `discard_samples`).
#[derive(Default)]
struct DecoderTrim {
    /// Samples per frame.
    spf: u64,
    /// Samples skipped at the start: `delay + 529`.
    start_skip: u64,
    /// Whole frames the start skip swallows.
    lead: u64,
    /// Frames (after `lead`) emptied by the end discard, ascending.
    tail: Vec<u64>,
}

impl DecoderTrim {
    fn new(spf: u64, tag: Option<&VbrTag>) -> DecoderTrim {
        let Some((delay, padding)) = tag.and_then(|t| t.encoder_delay) else {
            return DecoderTrim {
                spf,
                ..DecoderTrim::default()
            };
        };
        let start_skip = u64::from(delay) + 529;
        let mut trim = DecoderTrim {
            spf,
            start_skip,
            lead: start_skip / spf,
            tail: Vec::new(),
        };
        let frames = tag.map_or(0, |t| u64::from(t.frames));
        if frames > 0 {
            // Samples from first_discard_sample to last_discard_sample go.
            let last = frames * spf;
            let first = (last + 529).saturating_sub(u64::from(padding));
            let from = (first / spf).saturating_sub(1).max(trim.lead);
            trim.tail = (from..frames)
                .filter(|&k| trim.discards_at_end(k, first, last))
                .collect();
        }
        trim
    }

    /// Whether frame `k` decodes to nothing after the end discard: its
    /// discard_padding (`min(end − first, spf)` for frames overlapping
    /// `first..last`) equals what the start skip left of it.
    fn discards_at_end(&self, k: u64, first: u64, last: u64) -> bool {
        let (start, end) = (k * self.spf, (k + 1) * self.spf);
        if end < first || start >= last {
            return false;
        }
        let discard = (end - first).min(self.spf);
        let left = if k == self.lead {
            self.spf - self.start_skip % self.spf
        } else {
            self.spf
        };
        discard > 0 && discard == left
    }

    /// Whether frame `k` (counted from the first audio frame) yields output.
    fn keeps(&self, k: u64) -> bool {
        k >= self.lead && self.tail.binary_search(&k).is_err()
    }

    /// Kept frames before frame `k`: the output index of frame `k`.
    fn output_index(&self, k: u64) -> u64 {
        let dropped = self.tail.partition_point(|&d| d < k) as u64;
        k.saturating_sub(self.lead).saturating_sub(dropped)
    }

    /// The frame whose output index is `n`.
    fn frame_of_output(&self, n: u64) -> u64 {
        let mut k = n.saturating_add(self.lead);
        for &d in &self.tail {
            if d <= k {
                k = k.saturating_add(1);
            }
        }
        k
    }
}

/// Reads an MPEG audio elementary stream frame by frame.
pub struct MpegAudioReader {
    frames: FrameScanner<MpegSyntax>,
    tracks: Vec<Track>,
    trim: DecoderTrim,
}

impl MpegAudioReader {
    /// Opens an MPEG audio stream: skips tags, finds the first frame that
    /// the next ones confirm, and reads a Xing/Info/VBRI header if present.
    pub fn new(input: BytesReader) -> Result<MpegAudioReader> {
        let mut frames = FrameScanner::<MpegSyntax>::open(input)?;
        let first = *frames.first();
        let mut tag = None;
        if let Some(frame) = frames.next_frame()? {
            tag = VbrTag::parse(&frame.data, &frame.header);
            match &mut tag {
                // FFmpeg skips the tag frame only when it states a size or count.
                Some(t) if t.frames != 0 || t.bytes != 0 => {
                    let after_header = frames.file_size().saturating_sub(frame.offset + 4);
                    ignore_count_of_concatenated_file(t, after_header);
                    frames.restart_here();
                }
                _ => frames.unread(frame),
            }
        }
        let spf = u64::from(first.samples);
        let rate = first.sample_rate;
        let bit_rate = match tag {
            // FFmpeg's average: stated bytes over stated duration, rounded.
            Some(t) if t.kind != VbrTagKind::Info => (t.bytes > 0 && t.frames > 0).then(|| {
                let samples = u64::from(t.frames) * spf;
                (u64::from(t.bytes) * 8 * u64::from(rate) + samples / 2) / samples
            }),
            // Nominal: the first audio frame's (a LAME Info frame may use a
            // higher rate than the audio to fit its tag).
            _ => Some(u64::from(first_audio_header(&mut frames)?.bit_rate)),
        };
        let codec = match first.layer {
            1 => Codec::Mp1,
            2 => Codec::Mp2,
            _ => Codec::Mp3,
        };
        let mut track = Track::new(0, codec, rate);
        track.sample_rate = Some(rate);
        track.channels = Some(first.channels);
        track.bit_rate = bit_rate;
        Ok(MpegAudioReader {
            frames,
            tracks: vec![track],
            trim: DecoderTrim::new(spf, tag.as_ref()),
        })
    }

    /// The next frame that yields decoded output, with its output time.
    fn next_kept(&mut self) -> Result<Option<(u64, Frame<FrameHeader>)>> {
        while let Some(frame) = self.frames.next_frame()? {
            let k = frame.sample / self.trim.spf;
            if self.trim.keeps(k) {
                return Ok(Some((self.trim.output_index(k) * self.trim.spf, frame)));
            }
        }
        Ok(None)
    }

    /// Samples of all output frames (the end of the stream must be known).
    fn output_end(&self) -> u64 {
        let frames = self.frames.end_sample().unwrap_or(0) / self.trim.spf;
        self.trim.output_index(frames) * self.trim.spf
    }
}

/// The header of the next audio frame, left unread; the stream's first
/// header when the stream ends (or is cut) before one.
fn first_audio_header(frames: &mut FrameScanner<MpegSyntax>) -> Result<FrameHeader> {
    match frames.next_frame() {
        Ok(Some(frame)) => {
            let header = frame.header;
            frames.unread(frame);
            Ok(header)
        }
        // Reading on reports the cut again.
        Ok(None) | Err(super::MediaError::Truncated { .. }) => Ok(*frames.first()),
        Err(e) => Err(e),
    }
}

/// FFmpeg ignores the Xing frame count when the rest of the file, from the
/// end of the tag frame's 4-byte header, is more than 1/16 larger than the
/// size the tag states (concatenated files).
fn ignore_count_of_concatenated_file(tag: &mut VbrTag, rest_of_file: u64) {
    let stated = u64::from(tag.bytes);
    if stated > 0 && rest_of_file > stated && rest_of_file - stated > stated >> 4 {
        tag.frames = 0;
    }
}

impl Demuxer for MpegAudioReader {
    fn format(&self) -> Format {
        Format::MpegAudio
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        Ok(self.next_kept()?.map(|(pts, frame)| AccessUnit {
            track: 0,
            pts: pts as i64,
            dts: pts as i64,
            duration: frame.header.samples,
            keyframe: true,
            data: frame.data,
        }))
    }

    /// Positions at the frame containing `time`, scanning forward from the
    /// reader's index of frame offsets (one per second read so far).
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let rate = self.tracks[0].clock_rate;
        let output = sample_at(time, rate) / self.trim.spf;
        let target = self
            .trim
            .frame_of_output(output)
            .saturating_mul(self.trim.spf);
        if self.frames.seek_to_sample(target)?.is_some() {
            match self.next_kept() {
                Ok(Some((pts, frame))) => {
                    self.frames.unread(frame);
                    return Ok(time_of(pts, rate));
                }
                Ok(None) | Err(super::MediaError::Truncated { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(time_of(self.output_end(), rate))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::testing::{check_cuts_and_seeks, fixture, read_all, read_clean, Opener};
    use super::super::MediaError;
    use super::*;

    const OPEN: Opener = |input| Ok(Box::new(MpegAudioReader::new(input)?));

    fn read(data: Vec<u8>) -> (MpegAudioReader, Vec<AccessUnit>) {
        read_clean(MpegAudioReader::new, data)
    }

    /// Values from `ffprobe -v error -count_frames -show_streams` and
    /// `-show_packets` (ffmpeg 5.1).
    struct Expected {
        name: &'static str,
        codec: Codec,
        sample_rate: u32,
        channels: u16,
        bit_rate: u64,
        /// ffprobe `nb_read_frames`.
        frames: usize,
        /// ffprobe `duration_ts` converted to samples.
        ffprobe_samples: u64,
        /// ffprobe `-show_packets`: pos and size of the first and last
        /// packet that decodes to output.
        first_packet: (usize, usize),
        last_packet: (usize, usize),
    }

    const EXPECTED: [Expected; 3] = [
        Expected {
            name: "audio_44k_stereo.mp3",
            codec: Codec::Mp3,
            sample_rate: 44100,
            channels: 2,
            bit_rate: 128_000,
            frames: 116,
            ffprobe_samples: 116 * 1152,
            first_packet: (491, 417),
            last_packet: (48_556, 418),
        },
        Expected {
            name: "audio_22k_mono_vbr.mp3",
            codec: Codec::Mp3,
            sample_rate: 22050,
            channels: 1,
            bit_rate: 13410,
            frames: 116,
            ffprobe_samples: 117 * 576,
            // ffprobe's first packet (pos 227) is swallowed by the decoder skip.
            first_packet: (592, 182),
            last_packet: (5090, 78),
        },
        Expected {
            name: "audio_48k_stereo.mp2",
            codec: Codec::Mp2,
            sample_rate: 48000,
            channels: 2,
            bit_rate: 192_000,
            frames: 125,
            ffprobe_samples: 144_000,
            first_packet: (0, 576),
            last_packet: (71_424, 576),
        },
    ];

    #[test]
    fn fixtures_match_ffprobe() {
        for e in &EXPECTED {
            let data = fixture(e.name);
            let (reader, units) = read(data.clone());
            let track = &reader.tracks()[0];
            assert_eq!(reader.format(), Format::MpegAudio);
            assert_eq!(track.codec, e.codec, "{}", e.name);
            assert_eq!(track.clock_rate, e.sample_rate, "{}", e.name);
            assert_eq!(track.sample_rate, Some(e.sample_rate), "{}", e.name);
            assert_eq!(track.channels, Some(e.channels), "{}", e.name);
            assert_eq!(track.bit_rate, Some(e.bit_rate), "{}", e.name);
            assert_eq!(track.profile, None);
            assert_eq!(units.len(), e.frames, "{}", e.name);
            let spf = units[0].duration;
            for (i, unit) in units.iter().enumerate() {
                assert_eq!(unit.pts, i as i64 * i64::from(spf), "{}", e.name);
                assert_eq!((unit.dts, unit.keyframe), (unit.pts, true));
                assert_eq!(
                    FrameHeader::parse(&unit.data).unwrap().frame_len,
                    unit.data.len()
                );
            }
            let duration = units.len() as u64 * u64::from(spf);
            assert!(
                e.ffprobe_samples.abs_diff(duration) <= u64::from(spf),
                "{}",
                e.name
            );
            for (unit, (pos, size)) in [
                (&units[0], e.first_packet),
                (&units[units.len() - 1], e.last_packet),
            ] {
                assert_eq!(unit.data, data[pos..pos + size], "{}", e.name);
            }
        }
    }

    #[test]
    fn inspect_counts_like_ffprobe() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/audio_22k_mono_vbr.mp3");
        let info = crate::media::inspect(&path).unwrap();
        assert_eq!(info.format, Format::MpegAudio);
        assert_eq!(
            (info.stats[0].frames, info.stats[0].duration),
            (116, 116 * 576)
        );
    }

    #[test]
    fn reads_the_xing_and_lame_tags() {
        let data = fixture("audio_22k_mono_vbr.mp3");
        let header = FrameHeader::parse(&data[45..]).unwrap();
        let tag = VbrTag::parse(&data[45..45 + header.frame_len], &header).unwrap();
        assert_eq!(
            tag,
            VbrTag {
                kind: VbrTagKind::Xing,
                frames: 117,
                bytes: 5123,
                encoder_delay: Some((576, 666)),
            }
        );
        let data = fixture("audio_44k_stereo.mp3");
        let header = FrameHeader::parse(&data[74..]).unwrap();
        let tag = VbrTag::parse(&data[74..74 + header.frame_len], &header).unwrap();
        assert_eq!(
            (tag.kind, tag.frames, tag.bytes, tag.encoder_delay),
            (VbrTagKind::Info, 116, 48_900, Some((576, 756)))
        );
        let data = fixture("audio_48k_stereo.mp2");
        assert_eq!(
            VbrTag::parse(&data[..576], &FrameHeader::parse(&data).unwrap()),
            None
        );
    }

    #[test]
    fn decoder_trim_follows_ffmpeg() {
        // 22 kHz fixture: delay 576 + 529 swallows frame 0; the padding
        // (666 − 529 = 137 samples) only shortens the last frame.
        let tag = VbrTag {
            kind: VbrTagKind::Xing,
            frames: 117,
            bytes: 0,
            encoder_delay: Some((576, 666)),
        };
        let trim = DecoderTrim::new(576, Some(&tag));
        assert_eq!((trim.lead, trim.tail.as_slice()), (1, &[][..]));
        // Padding of 1800 − 529 = 1271 samples empties the last two frames
        // (576 each) and shortens the one before.
        let tag = VbrTag {
            encoder_delay: Some((576, 1800)),
            frames: 10,
            ..tag
        };
        let trim = DecoderTrim::new(576, Some(&tag));
        assert_eq!(trim.tail, [8, 9]);
        assert!(!trim.keeps(0) && trim.keeps(1) && trim.keeps(7) && !trim.keeps(8));
        assert!(
            trim.keeps(10),
            "frames beyond the tag's count are not trimmed"
        );
        assert_eq!(trim.output_index(10), 7);
        assert_eq!(trim.frame_of_output(7), 10);
        assert_eq!(trim.frame_of_output(6), 7);
        // MPEG-1 layer III: 1105 < 1152, nothing is swallowed.
        let trim = DecoderTrim::new(1152, Some(&VbrTag { frames: 116, ..tag }));
        assert_eq!(trim.lead, 0);
    }

    /// An MPEG-2 layer III 16 kHz mono stream as LAME writes short files:
    /// a 300-byte ID3v2 tag, an Info frame at 40 kb/s (its tag needs the
    /// room), ten audio frames at 32 kb/s, encoder delay 576 and padding
    /// 1800. Real files of this shape (`-b:a 8k`, 581 samples at 8 kHz)
    /// give ffprobe `nb_read_frames` = frames − 2.
    fn lame_short_file() -> Vec<u8> {
        let frame = |b2: u8, len: usize| {
            let mut f = vec![0xff, 0xf3, b2, 0xc4];
            f.resize(len, 0);
            f
        };
        let mut data = b"ID3\x04\0\0\0\0\x02\x22".to_vec(); // 290-byte body
        data.resize(300, 0);
        let mut info = frame(0x58, 180);
        let mut tag = b"Info\0\0\0\x03".to_vec();
        tag.extend_from_slice(&10u32.to_be_bytes());
        tag.extend_from_slice(&(180u32 + 10 * 144).to_be_bytes());
        tag.extend_from_slice(b"LAME3.100");
        tag.extend_from_slice(&[0; 12]);
        tag.extend_from_slice(&((576u32 << 12) | 1800).to_be_bytes()[1..]);
        info[13..13 + tag.len()].copy_from_slice(&tag);
        data.extend_from_slice(&info);
        for i in 0..10 {
            let mut f = frame(0x48, 144);
            f[100] = i;
            data.extend_from_slice(&f);
        }
        data
    }

    #[test]
    fn lame_padding_can_empty_the_last_frames() {
        let data = lame_short_file();
        let (reader, units) = read(data.clone());
        // Nominal rate of the audio frames, not of the Info frame.
        assert_eq!(reader.tracks()[0].bit_rate, Some(32_000));
        // Frame 0 goes to the start skip (576 + 529), frames 8 and 9 to the
        // end discard (1800 − 529 = 1271 samples); frame 7 is only shortened.
        assert_eq!(units.len(), 7);
        for (i, unit) in units.iter().enumerate() {
            assert_eq!((unit.pts, unit.data[100]), (i as i64 * 576, i as u8 + 1));
        }
        check_cuts_and_seeks(&data, OPEN);
    }

    #[test]
    fn frame_cut_short_is_truncated_after_the_complete_frames() {
        let mut reader =
            MpegAudioReader::new(BytesReader::from_bytes(fixture("broken/frame_cut.mp2"))).unwrap();
        let (units, err) = read_all(&mut reader);
        assert_eq!(units.len(), 2);
        let err = err.unwrap();
        assert!(
            matches!(err, MediaError::Truncated { offset: 1152, .. }),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "truncated at byte 1152: MPEG audio frame needs 576 bytes, 100 remain"
        );
        // Reading on reports it again rather than inventing an end.
        assert!(reader.read_unit().is_err());
    }

    #[test]
    fn non_mpeg_input_is_a_clear_error() {
        for name in ["broken/empty.h264", "broken/random.bin", "broken/text.mp3"] {
            let err = MpegAudioReader::new(BytesReader::from_bytes(fixture(name)))
                .err()
                .unwrap();
            match name {
                "broken/empty.h264" => assert!(matches!(err, MediaError::Empty)),
                _ => assert_eq!(
                    err.to_string(),
                    format!(
                        "invalid data at byte 0: no MPEG audio frames found in the {} bytes \
                         from here",
                        fixture(name).len()
                    )
                ),
            }
        }
        let err = MpegAudioReader::new(BytesReader::from_bytes(fixture("audio_48k_mono.aac")))
            .err()
            .unwrap();
        assert!(matches!(err, MediaError::Invalid { .. }), "{err}");
    }

    #[test]
    fn layer_one_is_mp1_with_384_sample_frames() {
        // MPEG-1 layer I, 32 kb/s, 32 kHz, mono: 48-byte frames.
        let mut frame = vec![0xff, 0xff, 0x18, 0xc0];
        frame.resize(48, 0x11);
        let (reader, units) = read(frame.repeat(5));
        let track = &reader.tracks()[0];
        assert_eq!((track.codec.name(), track.clock_rate), ("mp1", 32000));
        assert_eq!((track.channels, track.bit_rate), (Some(1), Some(32_000)));
        assert_eq!(units.len(), 5);
        assert_eq!((units[4].pts, units[4].duration), (4 * 384, 384));
    }

    #[test]
    fn free_format_is_unsupported() {
        let mut data = vec![0xff, 0xfb, 0x00, 0x64];
        data.resize(2000, 0x55);
        let err = MpegAudioReader::new(BytesReader::from_bytes(data))
            .err()
            .unwrap();
        assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
        assert!(err.to_string().contains("free-format"), "{err}");
    }

    #[test]
    fn skips_tags_and_resyncs_after_junk() {
        let clean = fixture("audio_48k_stereo.mp2");
        let (_, want) = read(clean.clone());
        // Two ID3v2 tags (the second with a footer), junk holding a lone
        // valid-looking header between frames 3 and 4, an ID3v2 tag after
        // frame 5, an APEv2 tag and an ID3v1 tag at the end.
        let mut data = b"ID3\x03\0\0\0\0\0\x04abcd".to_vec();
        data.extend_from_slice(b"ID3\x04\0\x10\0\0\0\x02xy3DI\x04\0\x10\0\0\0\x02");
        data.extend_from_slice(&clean[..3 * 576]);
        data.extend_from_slice(&[0x12, 0xff, 0xfd, 0x94, 0x00, 0x77, 0xff, 0xff, 0x00]);
        data.extend_from_slice(&clean[3 * 576..5 * 576]);
        // A tag between frames (concatenated files) whose body holds three
        // frames: skipped as a tag, they must not surface as audio.
        data.extend_from_slice(b"ID3\x04\0\0\0\0\x0d\x40");
        data.extend_from_slice(&clean[..3 * 576]);
        data.extend_from_slice(&clean[5 * 576..]);
        let mut ape = b"APETAGEX".to_vec();
        for v in [2000u32, 32, 0, 0, 0, 0] {
            ape.extend_from_slice(&v.to_le_bytes());
        }
        data.extend_from_slice(&ape);
        let mut id3v1 = b"TAG".to_vec();
        id3v1.resize(128, b' ');
        data.extend_from_slice(&id3v1);
        let (_, got) = read(data);
        assert_eq!(got, want);
    }

    #[test]
    fn truncations_and_seeks_agree_with_a_straight_read() {
        for e in &EXPECTED {
            check_cuts_and_seeks(&fixture(e.name), OPEN);
        }
        // A file cut inside a frame: seeking past the end lands at the end
        // of the complete frames, and reading on reports the cut.
        let data = fixture("broken/frame_cut.mp2");
        let mut reader = MpegAudioReader::new(BytesReader::from_bytes(data)).unwrap();
        assert_eq!(
            reader.seek(Duration::from_secs(5)).unwrap(),
            Duration::from_millis(48)
        );
        assert!(matches!(
            reader.read_unit(),
            Err(MediaError::Truncated { .. })
        ));
        assert_eq!(
            reader.seek(Duration::from_millis(30)).unwrap(),
            Duration::from_millis(24)
        );
        assert_eq!(reader.read_unit().unwrap().unwrap().pts, 1152);
    }
}
