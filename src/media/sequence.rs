//! Where a new coded video sequence starts in an H.264 or H.265 stream (an
//! IDR picture, H.264 §7.4.1.2.1; an IRAP picture with NoRaslOutputFlag,
//! H.265 §7.4.2.4.2), a new sequence parameter set may take effect: its
//! frame rate re-bases the stream's clock there, and a new picture size is
//! reported (the track describes the first sequence).

use super::frame_clock::{fits_clock, FrameClock};
use super::warnings::{Warning, Warnings};
use super::Track;
use crate::vocab::Rational;

/// What the active SPS of a new coded video sequence says.
#[derive(Clone, Copy, Debug)]
pub(super) struct Sequence {
    /// Its frame rate (the VUI's, or the reader's default).
    pub rate: Rational,
    /// Its displayed picture size.
    pub size: (u32, u32),
}

/// Takes in a sequence starting at file offset `offset` in a stream whose
/// `track` describes the first one; `first_output` is the output index of
/// its first picture in output order (`None` when not known yet, after a
/// seek, where reading from the start already took it in).
pub(super) fn start(
    clock: &mut FrameClock,
    warnings: &mut Warnings,
    track: &Track,
    first_output: Option<i64>,
    sequence: Sequence,
    offset: u64,
) {
    let Some(index) = first_output else {
        return;
    };
    let old = clock.rate_at(index);
    if fits_clock(sequence.rate) && clock.rebase(index, sequence.rate) {
        tracing::debug!(
            "{} stream, byte {offset}: frame rate {} from output frame {index} on (was {old})",
            warnings.stream(),
            sequence.rate
        );
        warnings.warn(
            Warning::FrameRateChange,
            offset,
            format_args!(
                "the frame rate changes from {old} to {} fps: timestamps follow it, the \
                 track reports the first",
                sequence.rate
            ),
        );
    }
    let first = track.video().map_or((0, 0), |v| (v.width, v.height));
    if sequence.size != first {
        // Each new SPS is logged (at debug level) with its size as it comes.
        let (w, h) = sequence.size;
        warnings.warn(
            Warning::SizeChange,
            offset,
            format_args!(
                "the picture size changes from {}x{} to {w}x{h}: the track reports the first",
                first.0, first.1
            ),
        );
    }
}
