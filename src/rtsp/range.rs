//! The `Range` header of PLAY (RFC 2326 §12.29) in normal play time (§3.6)
//! or SMPTE relative timecodes (§3.5), parsed with `rtsp_types`' grammars
//! and checked against the file.

use std::time::Duration;

use rtsp_types::headers::{NptRange, NptTime, SmpteTime, SmpteType};

/// The part of the presentation a PLAY asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PlayRange {
    /// Where to start; `None`: from the current position (`now`, or no start).
    pub start: Option<Duration>,
    /// Where to stop; `None`: at the end.
    pub end: Option<Duration>,
}

/// Why a `Range` is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    /// Malformed or out of bounds: 457 Invalid Range (§11.3.7).
    #[error("{0}")]
    Invalid(String),
    /// A time format the server does not understand (absolute `clock=`
    /// times, which schedule a live event, or an unknown unit): §12.29 asks
    /// for 501 Not Implemented.
    #[error("{0}")]
    Unsupported(String),
}

/// Parses a `Range` value in `npt` or `smpte` (`smpte`, `smpte-30-drop`,
/// `smpte-25`) units. `;time=` (scheduled start) is ignored: playback
/// starts at once.
pub fn parse(value: &str) -> Result<PlayRange, RangeError> {
    let range = value.split(';').next().unwrap_or("").trim();
    let range: String = range.chars().filter(|c| !c.is_whitespace()).collect();
    let malformed = || RangeError::Invalid(format!("malformed range {value:?}"));
    let (start, end) = if range.starts_with("npt") {
        match range.parse::<NptRange>().map_err(|_| malformed())? {
            NptRange::Empty => (None, None),
            NptRange::From(from) => (time(from)?, None),
            NptRange::FromTo(from, to) => (time(from)?, time(to)?),
            NptRange::To(to) => (None, time(to)?),
        }
    } else if range.starts_with("smpte") {
        let fps = |ty: &SmpteType| match ty {
            SmpteType::Smpte => Ok(Rate::Thirty),
            SmpteType::Smpte30Drop => Ok(Rate::ThirtyDrop),
            SmpteType::Smpte25 => Ok(Rate::TwentyFive),
            SmpteType::Other(other) => Err(RangeError::Unsupported(format!(
                "SMPTE timecode smpte{other} is not known"
            ))),
        };
        // By hand around rtsp_types' timecode and type grammars: its
        // SmpteRange parser wants a second `=` after the unit.
        let (unit, times) = range.split_once('=').unwrap_or((&range, ""));
        let rate = fps(&unit.parse::<SmpteType>().map_err(|_| malformed())?)?;
        let at = |text: &str| -> Result<Option<Duration>, RangeError> {
            if text.is_empty() {
                return Ok(None);
            }
            let t = text.parse::<SmpteTime>().map_err(|_| malformed())?;
            smpte(t, rate).map(Some)
        };
        match times.split_once('-') {
            Some((from, to)) if !(from.is_empty() && to.is_empty()) => (at(from)?, at(to)?),
            None if times.is_empty() => (None, None),
            _ => return Err(malformed()),
        }
    } else if range.is_empty() {
        return Err(malformed());
    } else {
        return Err(RangeError::Unsupported(format!(
            "range {value:?} is in a time format not served (npt and smpte are)"
        )));
    };
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            return Err(RangeError::Invalid(format!(
                "range {value:?} ends before it starts"
            )));
        }
    }
    Ok(PlayRange { start, end })
}

/// The frame rates of SMPTE timecodes (§3.5).
#[derive(Clone, Copy)]
enum Rate {
    /// `smpte`: 30 frames a second.
    Thirty,
    /// `smpte-30-drop`: 29.97 frames a second, frame numbers 0 and 1
    /// skipped at each minute but every tenth (SMPTE 12M drop-frame).
    ThirtyDrop,
    /// `smpte-25`: 25 frames a second.
    TwentyFive,
}

/// An SMPTE relative timecode as the time from the start of the clip.
fn smpte(t: SmpteTime, rate: Rate) -> Result<Duration, RangeError> {
    let (frames, subframes) = t.frames.unwrap_or((0, None));
    let nominal = match rate {
        Rate::Thirty | Rate::ThirtyDrop => 30,
        Rate::TwentyFive => 25,
    };
    if t.minutes >= 60 || t.seconds >= 60 || frames >= nominal {
        return Err(RangeError::Invalid(format!(
            "SMPTE timecode {t} out of bounds"
        )));
    }
    let minutes = u64::from(t.hours) * 60 + u64::from(t.minutes);
    let seconds = minutes * 60 + u64::from(t.seconds);
    // Frames counted from the start, in hundredths (subframes).
    let mut count = (seconds * u64::from(nominal) + u64::from(frames)) * 100
        + u64::from(subframes.unwrap_or(0));
    // Nanoseconds per hundredth of a frame, as a fraction.
    let (num, den): (u128, u128) = match rate {
        Rate::Thirty => (1_000_000_000, 30 * 100),
        Rate::TwentyFive => (1_000_000_000, 25 * 100),
        Rate::ThirtyDrop => {
            if t.seconds == 0 && frames < 2 && !t.minutes.is_multiple_of(10) {
                return Err(RangeError::Invalid(format!(
                    "drop-frame timecode {t} does not exist"
                )));
            }
            count -= 2 * (minutes - minutes / 10) * 100;
            // A frame lasts 1001/30000 s.
            (1_001_000_000_000, 30_000 * 100)
        }
    };
    let nanos = u128::from(count) * num / den;
    Ok(Duration::from_nanos(
        u64::try_from(nanos).unwrap_or(u64::MAX),
    ))
}

/// An NPT time as a duration; `now` is `None`.
fn time(t: NptTime) -> Result<Option<Duration>, RangeError> {
    let too_big = || RangeError::Invalid("range time out of bounds".to_owned());
    Ok(match t {
        NptTime::Now => None,
        NptTime::Seconds(s, nanos) => Some(Duration::new(s, nanos.unwrap_or(0))),
        NptTime::Hms(h, m, s, nanos) => {
            if m >= 60 || s >= 60 {
                return Err(RangeError::Invalid(
                    "range minutes or seconds over 59".into(),
                ));
            }
            let seconds = h
                .checked_mul(3600)
                .and_then(|x| x.checked_add(u64::from(m) * 60 + u64::from(s)))
                .ok_or_else(too_big)?;
            Some(Duration::new(seconds, nanos.unwrap_or(0)))
        }
    })
}

/// A `Range` of normal play time from `start`, to `end` or open-ended
/// (§12.29), in seconds with millisecond precision (§3.6).
pub fn npt_range(start: Duration, end: Option<Duration>) -> String {
    format!("npt={}-{}", npt(start), end.map(npt).unwrap_or_default())
}

fn npt(t: Duration) -> String {
    format!("{}.{:03}", t.as_secs(), t.subsec_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Option<Duration> {
        Some(Duration::from_secs_f64(s))
    }

    #[test]
    fn ranges_real_clients_send() {
        assert_eq!(
            parse("npt=0.000-").unwrap(),
            PlayRange {
                start: secs(0.0),
                end: None
            }
        );
        assert_eq!(parse("npt=1.5-").unwrap().start, secs(1.5));
        assert_eq!(parse("npt=now-").unwrap(), PlayRange::default());
        assert_eq!(parse("npt=0-2.25").unwrap().end, secs(2.25));
        assert_eq!(
            parse("npt=-3").unwrap(),
            PlayRange {
                start: None,
                end: secs(3.0)
            }
        );
        assert_eq!(parse("npt = 10 - ").unwrap().start, secs(10.0));
        assert_eq!(parse("npt=00:01:02.5-").unwrap().start, secs(62.5));
        assert_eq!(
            parse("npt=1-;time=19970123T143720Z").unwrap().start,
            secs(1.0)
        );
        assert_eq!(parse("npt").unwrap(), PlayRange::default());
    }

    #[test]
    fn smpte_timecodes_are_times_from_the_start() {
        assert_eq!(parse("smpte=0:00:10-").unwrap().start, secs(10.0));
        assert_eq!(
            parse("smpte=0:10:20-0:10:21:15").unwrap(),
            PlayRange {
                start: secs(620.0),
                end: secs(621.5)
            }
        );
        assert_eq!(parse("smpte-25=00:00:01:05-").unwrap().start, secs(1.2));
        assert_eq!(
            parse("smpte=00:00:00:15.50-").unwrap().start,
            Some(Duration::from_nanos(516_666_666))
        );
        // Drop frame: 00:01:00;02 is frame 1800 (two numbers skipped), at
        // 1800 × 1001/30000 s = 60.06 s; 00:10:00;00 is frame 17982.
        assert_eq!(
            parse("smpte-30-drop=00:01:00:02-").unwrap().start,
            secs(60.06)
        );
        assert_eq!(
            parse("smpte-30-drop=00:10:00:00-").unwrap().start,
            Some(Duration::from_nanos(17_982 * 1_001_000_000_000 / 30_000))
        );
        assert_eq!(parse("smpte").unwrap(), PlayRange::default());
    }

    #[test]
    fn time_formats_not_served_are_told_apart_from_bad_ranges() {
        for value in [
            "clock=19961108T143720.25Z-",
            "smpte-24=0:00:01-",
            "bytes=0-100",
            "\u{0}npt=0-",
        ] {
            assert!(
                matches!(parse(value), Err(RangeError::Unsupported(_))),
                "{value:?}"
            );
        }
    }

    #[test]
    fn hostile_ranges_are_errors() {
        for value in [
            "",
            "smpte=0:10:20-0:10:19",
            "smpte=0:60:00-",
            "smpte=0:00:00:30-",
            "smpte-25=0:00:00:25-",
            "smpte-30-drop=00:01:00:00-",
            "smpte=a:b:c-",
            "npt=",
            "npt=-",
            "npt=abc-",
            "npt=5-2",
            "npt=1.-",
            "npt=1.0000000001-",
            "npt=99999999999999999999-",
            "npt=18446744073709551615:00:00-",
            "npt=1:60:00-",
            "npt=1:00:61-",
            "npt=0-1-2",
            "smpte=-",
            "smpte=0:00:01-0:00:02-0:00:03",
        ] {
            assert!(
                matches!(parse(value), Err(RangeError::Invalid(_))),
                "{value:?} should be rejected as invalid"
            );
        }
    }

    #[test]
    fn npt_ranges_have_millisecond_precision() {
        assert_eq!(npt_range(Duration::ZERO, None), "npt=0.000-");
        assert_eq!(
            npt_range(
                Duration::from_millis(2040),
                Some(Duration::from_micros(3_000_999))
            ),
            "npt=2.040-3.000"
        );
        let written = npt_range(Duration::from_millis(1500), Some(Duration::from_secs(4)));
        assert_eq!(
            parse(&written).unwrap(),
            PlayRange {
                start: secs(1.5),
                end: secs(4.0)
            }
        );
    }
}
