//! Evidence that several readers' registry entries share: signatures,
//! chains of audio frames (ADTS, MPEG audio) and Annex B byte streams
//! (H.264, H.265).

use crate::codec::{nal, FrameChain};
use crate::vocab::Codec;

use super::Evidence;

/// Whether `head` holds the signature `sig` at `offset`.
pub(super) fn at(head: &[u8], offset: usize, sig: &[u8]) -> bool {
    head.get(offset..offset + sig.len()) == Some(sig)
}

/// Whether `data` starts with `count` frames of one stream, ending as a
/// [`FrameChain`] allows: a codec's `starts_with_frames`.
pub(super) type FrameCheck = fn(&[u8], usize, FrameChain) -> bool;

/// What `head` shows of an audio stream whose frames `starts_with_frames`
/// recognises: three frames from the first byte (the last possibly cut by
/// the end of `head`), or else four whole frames after junk (padding after
/// an ID3v2 tag, a damaged first frame) at the first offset where they
/// chain, which random bytes practically never produce.
pub(super) fn audio_frames(head: &[u8], starts_with_frames: FrameCheck) -> Option<Evidence> {
    audio_frames_from(head, 0xff, starts_with_frames)
}

/// [`audio_frames`] of a syntax whose sync words start with `sync`.
pub(super) fn audio_frames_from(
    head: &[u8],
    sync: u8,
    starts_with_frames: FrameCheck,
) -> Option<Evidence> {
    if starts_with_frames(head, 3, FrameChain::MayBeCut) {
        return Some(Evidence::Frames);
    }
    memchr::memchr_iter(sync, head)
        .find(|&offset| starts_with_frames(&head[offset..], 4, FrameChain::Whole))
        .map(|offset| Evidence::AudioAfterJunk { offset })
}

/// Bytes an Annex B stream may have before its first start code and still
/// count as starting with one: `leading_zero_8bits` and a `zero_byte`
/// (H.264 §B.1.1), give or take.
const ANNEXB_ZERO_PREFIX: usize = 8;

/// What `head` shows of an Annex B stream of `codec` (H.264 or H.265):
/// start codes from the first bytes; or else, after junk (a stream cut
/// inside a NAL unit), its parameter sets, or failing them a sane run of
/// NAL unit headers. Nothing when its NAL headers read better as the
/// other codec.
pub(super) fn annexb(head: &[u8], codec: Codec) -> Option<Evidence> {
    let reading = annexb_codec(head).filter(|a| a.codec == codec)?;
    if reading.start <= ANNEXB_ZERO_PREFIX {
        Some(Evidence::Frames)
    } else if reading.parameter_set {
        Some(Evidence::AnnexBAfterJunk)
    } else if reading.sane {
        Some(Evidence::NalUnitsAfterJunk)
    } else {
        None
    }
}

/// An Annex B reading of the head of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
struct AnnexB {
    /// H.264 or H.265.
    codec: Codec,
    /// Offset of the first start code.
    start: usize,
    /// A sequence parameter set (H.265: or a VPS) is among the NAL units.
    parameter_set: bool,
    /// At least [`SANE_UNITS`] NAL units, none of whose headers breaks
    /// the codec's rules.
    sane: bool,
}

/// NAL units after junk that make a sane sequence without a parameter set.
const SANE_UNITS: usize = 4;

/// How well the NAL unit headers of a head of file read as one codec.
#[derive(Clone, Copy, Debug, Default)]
struct Score {
    points: i32,
    /// Headers that break the codec's rules or are reserved.
    faults: u32,
    parameter_set: bool,
}

impl Score {
    fn add(&mut self, points: i32) {
        self.points += points;
        self.faults += u32::from(points < 0);
    }
}

/// Whether an Annex B byte stream's NAL headers read as H.264 or H.265,
/// from its first start code within `head` on (the bytes before it: a
/// stream cut inside a NAL unit).
///
/// Both start with start codes; the first NAL units tell them apart: H.265
/// headers are two bytes with `nuh_temporal_id_plus1 != 0` and parameter sets
/// of types 32–34 (H.265 §7.4.2.2, Table 7-1), H.264 headers one byte with
/// SPS/PPS types 7/8 (H.264 §7.4.1, Table 7-1).
fn annexb_codec(head: &[u8]) -> Option<AnnexB> {
    let start = nal::find_start_code(head, 0)?;
    let (mut h264, mut hevc, mut units) = (Score::default(), Score::default(), 0);
    for range in nal::annexb_ranges(head).take(32) {
        let nal = &head[range];
        units += 1;
        let Some(&b0) = nal.first() else { continue };
        if b0 & 0x80 != 0 {
            return None; // forbidden_zero_bit set in either syntax
        }
        match b0 & 0x1f {
            7 => {
                h264.add(3);
                h264.parameter_set = true;
            }
            8 => h264.add(3),
            1 | 5 | 6 | 9 => h264.add(1),
            0 | 24..=31 => h264.add(-3),
            _ => {}
        }
        if let Some(&b1) = nal.get(1) {
            let layer_id = (u16::from(b0 & 1) << 5) | u16::from(b1 >> 3);
            if b1 & 7 == 0 || layer_id > 0 {
                hevc.add(-3);
            } else {
                match (b0 >> 1) & 0x3f {
                    32 | 33 => {
                        hevc.add(3);
                        hevc.parameter_set = true;
                    }
                    34 => hevc.add(3),
                    0..=9 | 16..=21 | 35 | 39 | 40 => hevc.add(1),
                    36..=38 => {} // end of sequence or bitstream, filler data
                    _ => hevc.add(-1),
                }
            }
        }
    }
    let (codec, score) = match h264.points.cmp(&hevc.points) {
        std::cmp::Ordering::Greater if h264.points > 0 => (Codec::H264, h264),
        std::cmp::Ordering::Less if hevc.points > 0 => (Codec::Hevc, hevc),
        _ => return None,
    };
    Some(AnnexB {
        codec,
        start,
        parameter_set: score.parameter_set && score.faults == 0,
        sane: units >= SANE_UNITS && score.faults == 0,
    })
}
