//! Bitstream syntax shared by demuxers and RTP payload formats: NAL unit
//! delimiting, parameter sets and audio frame headers.

pub mod aac;
pub mod ac3;
pub mod adts;
pub mod av1;
pub mod bits;
pub mod flac;
pub mod h264;
pub mod header;
pub mod hevc;
pub mod latm;
pub mod mpeg_audio;
pub mod mpeg_video;
pub mod nal;
pub mod opus;
pub mod picture;
pub mod speex;
pub mod theora;
pub mod vorbis;
pub mod vp8;
pub mod vp9;
pub mod xiph;

use crate::vocab::Rational;

/// The frame rate assumed for an H.264 or H.265 stream without timing
/// information (H.264 §E.2.1, H.265 §E.3.1 leave it unspecified): 25/1, as
/// FFmpeg assumes for raw streams.
pub const DEFAULT_FRAME_RATE: Rational = Rational { num: 25, den: 1 };

/// A level number as the standards write it: at most three decimals,
/// trailing zeros dropped (`1.3`, `2`).
fn level_number(level: f64) -> String {
    let s = format!("{level:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Where a chain of frames checked by `starts_with_frames` may end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameChain {
    /// The last frame may be cut off by the end of the bytes checked: the
    /// head of a file, which ends where the file does.
    MayBeCut,
    /// Every frame lies wholly within the bytes checked: a chain found at
    /// an arbitrary offset, where a false sync near the end of the bytes
    /// must not pass by claiming a length beyond them.
    Whole,
}

/// Whether `data` starts with `count` consecutive frames of one stream, each
/// found where the previous one's length says, ending as `chain` allows:
/// the check that makes a frame sync word trustworthy.
fn starts_with_frames<H>(
    data: &[u8],
    count: usize,
    chain: FrameChain,
    parse: impl Fn(&[u8]) -> Option<H>,
    frame_len: impl Fn(&H) -> usize,
    same_stream: impl Fn(&H, &H) -> bool,
) -> bool {
    let Some(first) = parse(data) else {
        return false;
    };
    let mut pos = 0;
    for found in 1..=count {
        match parse(&data[pos..]) {
            Some(h) if same_stream(&h, &first) => pos += frame_len(&h),
            _ => return false,
        }
        if pos >= data.len() {
            return chain == FrameChain::MayBeCut || (pos == data.len() && found == count);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of one byte giving their own length.
    fn chain(data: &[u8], count: usize, chain: FrameChain) -> bool {
        starts_with_frames(
            data,
            count,
            chain,
            |b| b.first().filter(|&&len| len > 0).copied(),
            |&len| usize::from(len),
            |_, _| true,
        )
    }

    #[test]
    fn whole_chains_end_within_the_data() {
        let data = [2, 0, 3, 0, 0, 9];
        // Two frames, then a third claiming 9 bytes where 1 remains.
        assert!(chain(&data, 3, FrameChain::MayBeCut));
        assert!(!chain(&data, 3, FrameChain::Whole));
        assert!(chain(&data, 2, FrameChain::Whole));
        // Exactly three frames in five bytes.
        assert!(chain(&data[..5], 2, FrameChain::Whole));
        assert!(!chain(&data[..5], 3, FrameChain::Whole));
        assert!(!chain(&[0, 1], 1, FrameChain::MayBeCut));
    }
}
