//! Which MPEG audio frames FFmpeg's decoder yields no output for: the
//! gapless trimming of a LAME extension's encoder delay and padding, which
//! `ffprobe -count_frames` counts by (see the module above).

use crate::codec::mpeg_audio::VbrTag;

/// The frames FFmpeg's decoder yields no output for, given a LAME
/// extension's encoder delay and padding (FFmpeg 5.1 `mp3dec.c`
/// `mp3_parse_info_tag`, `demux.c` skip-samples side data and `decode.c`
/// `discard_samples`).
#[derive(Default)]
pub(super) struct DecoderTrim {
    /// Samples per frame.
    pub spf: u64,
    /// Samples skipped at the start: `delay + 529`.
    start_skip: u64,
    /// Whole frames the start skip swallows.
    lead: u64,
    /// Frames (after `lead`) emptied by the end discard, ascending.
    tail: Vec<u64>,
}

impl DecoderTrim {
    pub fn new(spf: u64, tag: Option<&VbrTag>) -> DecoderTrim {
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

    /// Samples of the whole frames the start skip swallows.
    pub fn lead_samples(&self) -> u64 {
        self.lead * self.spf
    }

    /// Whether frame `k` (counted from the first audio frame) yields output.
    pub fn keeps(&self, k: u64) -> bool {
        k >= self.lead && self.tail.binary_search(&k).is_err()
    }

    /// Kept frames before frame `k`: the output index of frame `k`.
    pub fn output_index(&self, k: u64) -> u64 {
        let dropped = self.tail.partition_point(|&d| d < k) as u64;
        k.saturating_sub(self.lead).saturating_sub(dropped)
    }

    /// The frame whose output index is `n`.
    pub fn frame_of_output(&self, n: u64) -> u64 {
        let mut k = n.saturating_add(self.lead);
        for &d in &self.tail {
            if d <= k {
                k = k.saturating_add(1);
            }
        }
        k
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::mpeg_audio::VbrTagKind;

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
}
