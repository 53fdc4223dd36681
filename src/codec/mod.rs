//! Bitstream syntax shared by demuxers and RTP payload formats: NAL unit
//! delimiting, parameter sets and audio frame headers.

pub mod adts;
pub mod h264;
pub mod hevc;
pub mod mpeg_audio;
pub mod nal;

use crate::media::Rational;

/// The frame rate assumed for an H.264 or H.265 stream without timing
/// information (H.264 §E.2.1, H.265 §E.3.1 leave it unspecified): 25/1, as
/// FFmpeg assumes for raw streams.
pub const DEFAULT_FRAME_RATE: Rational = Rational { num: 25, den: 1 };

/// Whether `data` starts with `count` consecutive frames of one stream, each
/// found where the previous one's length says (the last may be cut off by the
/// end of `data`): the check that makes a frame sync word trustworthy.
fn starts_with_frames<H>(
    data: &[u8],
    count: usize,
    parse: impl Fn(&[u8]) -> Option<H>,
    frame_len: impl Fn(&H) -> usize,
    same_stream: impl Fn(&H, &H) -> bool,
) -> bool {
    let Some(first) = parse(data) else {
        return false;
    };
    let mut pos = 0;
    for _ in 0..count {
        match parse(&data[pos..]) {
            Some(h) if same_stream(&h, &first) => pos += frame_len(&h),
            _ => return false,
        }
        if pos >= data.len() {
            return true;
        }
    }
    true
}
