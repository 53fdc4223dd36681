//! Edit lists (ISO/IEC 14496-12 §8.6.6) as FFmpeg applies them to a
//! track's timeline: empty edits at the start delay the track, the first
//! media edit's `media_time` is the media time presented first (the
//! B-frame delay of a video track, the encoder delay of an AAC track), and
//! its duration ends the presentation. Later edits (repeats, cuts) and
//! rates other than 1 are not applied; a warning says so.

use super::movie::{Edit, Trak};
use crate::vocab::clock::rescale;

/// A track's presentation window, in its media timescale.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct EditWindow {
    /// Media time presented first (`media_time` of the first media edit).
    pub start: i64,
    /// Media time where presentation ends, when an edit's duration says.
    pub end: Option<i64>,
    /// Delay of the track from the empty edits before its media edit.
    pub delay: i64,
    /// The list has a media edit: presentation starts at `delay`, whatever
    /// the first sample (which may start before the edit) says.
    pub edited: bool,
}

impl EditWindow {
    /// The window of `trak`'s edit list; `movie_timescale` is the unit of
    /// edit durations. The end is left open for fragmented movies, whose
    /// edit durations writers leave at 0 or at the first fragment's.
    pub fn of(trak: &Trak, movie_timescale: u32, fragmented: bool) -> EditWindow {
        let to_media = |duration: u64| {
            rescale(
                i64::try_from(duration).unwrap_or(i64::MAX),
                movie_timescale,
                trak.timescale,
            )
        };
        let mut window = EditWindow::default();
        let mut media_edits = trak.edits.iter().filter(|e| e.media_time >= 0);
        let media: Option<&Edit> = media_edits.next();
        let ignored = media_edits.count() > 0 || trak.more_edits;
        for edit in trak.edits.iter().take_while(|e| e.media_time < 0) {
            window.delay = window.delay.saturating_add(to_media(edit.duration));
        }
        if let Some(edit) = media {
            window.edited = true;
            window.start = edit.media_time;
            if edit.duration > 0 && !fragmented {
                window.end = Some(edit.media_time.saturating_add(to_media(edit.duration)));
            }
            if edit.rate != 0x1_0000 {
                tracing::warn!(
                    "MP4 track {}: edit list rate {:.3} is not applied",
                    trak.track_id,
                    f64::from(edit.rate) / 65536.0
                );
            }
        }
        if ignored {
            tracing::warn!(
                "MP4 track {}: only the first media edit of its edit list is applied",
                trak.track_id
            );
        }
        window
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trak(edits: &[(u64, i64)]) -> Trak {
        Trak {
            track_id: 1,
            timescale: 44100,
            edits: edits
                .iter()
                .map(|&(duration, media_time)| Edit {
                    duration,
                    media_time,
                    rate: 0x1_0000,
                })
                .collect(),
            ..Trak::default()
        }
    }

    #[test]
    fn delays_start_and_end() {
        // FFmpeg's AAC: the encoder delay skipped, 2 s presented.
        let window = EditWindow::of(&trak(&[(2000, 1024)]), 1000, false);
        assert_eq!(
            window,
            EditWindow {
                start: 1024,
                end: Some(89224),
                delay: 0,
                edited: true
            }
        );
        // An empty edit of 0.5 s, then the media from its start.
        let window = EditWindow::of(&trak(&[(500, -1), (2000, 0)]), 1000, false);
        assert_eq!(
            window,
            EditWindow {
                start: 0,
                end: Some(88200),
                delay: 22050,
                edited: true
            }
        );
        assert_eq!(EditWindow::of(&trak(&[(0, 1024)]), 1000, true).end, None);
        assert_eq!(
            EditWindow::of(&trak(&[]), 1000, false),
            EditWindow::default()
        );
    }
}
