//! MPEG-1/2/2.5 audio layer I–III elementary streams (`.mp3`, `.mp2`):
//! ISO/IEC 11172-3 §2.4, ISO/IEC 13818-3 §2.4 and the MPEG-2.5 extension.
//!
//! Partner files in the other layers: `codec/mpeg_audio.rs` (the header and
//! Xing/VBRI tag syntax) and `rtp/mpa.rs` (RFC 2250, the payload format that
//! carries these frames).
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

mod decoder_trim;
#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::codec::mpeg_audio::{self, FrameHeader, HeaderError, VbrTag, VbrTagKind};
use crate::vocab::clock::{sample_at, time_of};
use crate::vocab::Codec;

use self::decoder_trim::DecoderTrim;
use super::audio_frames::{Frame, FrameScanner, FrameSyntax};
use super::{
    sniff, AccessUnit, AudioParams, BytesReader, Demuxer, MediaError, ReaderFormat, Result, Track,
    TrackParams,
};

/// The registry entry: MPEG audio layer I–III (ffprobe calls the format
/// `mp3` whatever the layer).
pub static FORMAT: ReaderFormat = ReaderFormat {
    name: "mp3",
    long_name: "MPEG audio",
    extensions: &["mp3", "mp2", "mp1", "mpa"],
    sniff: |head| sniff::audio_frames(head, mpeg_audio::starts_with_frames),
    open: |input| Ok(Box::new(MpegAudioReader::new(input)?)),
};

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
        let trim = DecoderTrim::new(spf, tag.as_ref());
        frames.set_priming(trim.lead_samples());
        // The first audio frame, left unread: a stream with none whole (a
        // tag frame, then the end or a frame cut short) is refused here.
        let Some(audio) = frames.next_frame()? else {
            return Err(MediaError::invalid(
                frames.data_start(),
                "no MPEG audio frame after the Xing/Info/VBRI header frame",
            ));
        };
        let audio_header = audio.header;
        frames.unread(audio);
        let bit_rate = match tag {
            // FFmpeg's average: stated bytes over stated duration, rounded.
            Some(t) if t.kind != VbrTagKind::Info => (t.bytes > 0 && t.frames > 0).then(|| {
                let samples = u64::from(t.frames) * spf;
                (u64::from(t.bytes) * 8 * u64::from(rate) + samples / 2) / samples
            }),
            // Nominal: the first audio frame's (a LAME Info frame may use a
            // higher rate than the audio to fit its tag).
            _ => Some(u64::from(audio_header.bit_rate)),
        };
        let codec = match first.layer {
            1 => Codec::Mp1,
            2 => Codec::Mp2,
            _ => Codec::Mp3,
        };
        let mut track = Track::new(0, codec, rate);
        track.bit_rate = bit_rate;
        track.params = TrackParams::Audio(AudioParams {
            gapless_duration: tag.as_ref().and_then(|t| gapless_samples(t, spf)),
            ..AudioParams::new(rate, first.channels)
        });
        let mut reader = MpegAudioReader {
            frames,
            tracks: vec![track],
            trim,
        };
        // A stream whose whole frames all decode to nothing (the encoder
        // delay, or padding at the end, swallows them) has nothing to play.
        match reader.next_kept()? {
            Some((_, frame)) => reader.frames.unread(frame),
            None => {
                return Err(MediaError::invalid(
                    reader.frames.data_start(),
                    "no MPEG audio frame decodes to output: the encoder delay and padding of \
                     the LAME tag cover them all",
                ))
            }
        }
        Ok(reader)
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

/// The samples a gapless decoder plays: the tag's frame count times the
/// samples per frame, less the encoder delay and padding of its LAME
/// extension (the LAME "Mp3 info tag" rev. 1); `None` unless the tag states
/// all three.
fn gapless_samples(tag: &VbrTag, spf: u64) -> Option<u64> {
    let (delay, padding) = tag.encoder_delay?;
    (tag.frames > 0).then(|| {
        (u64::from(tag.frames) * spf).saturating_sub(u64::from(delay) + u64::from(padding))
    })
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
    fn format(&self) -> &'static ReaderFormat {
        &FORMAT
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

    /// Parks the input (see [`Demuxer::park`]).
    fn park(&mut self) {
        self.frames.park();
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
                Ok(None) | Err(MediaError::Truncated { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(time_of(self.output_end(), rate))
    }
}
