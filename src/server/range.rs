//! The `Range` header of PLAY (RFC 2326 §12.29) in normal play time (§3.6),
//! parsed with `rtsp_types`' NPT grammar and checked against the file.

use std::time::Duration;

use rtsp_types::headers::{NptRange, NptTime};

/// The part of the presentation a PLAY asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct PlayRange {
    /// Where to start; `None`: from the current position (`now`, or no start).
    pub start: Option<Duration>,
    /// Where to stop; `None`: at the end.
    pub end: Option<Duration>,
}

/// Parses a `Range` value. Only `npt` is served; `;time=` (scheduled
/// start) is ignored: playback starts at once.
pub fn parse(value: &str) -> Result<PlayRange, String> {
    let range = value.split(';').next().unwrap_or("").trim();
    let range: String = range.chars().filter(|c| !c.is_whitespace()).collect();
    if !range.starts_with("npt") {
        return Err(format!("range {value:?} is not in npt units"));
    }
    let parsed: NptRange = range
        .parse()
        .map_err(|_| format!("malformed range {value:?}"))?;
    let (start, end) = match parsed {
        NptRange::Empty => (None, None),
        NptRange::From(from) => (time(from)?, None),
        NptRange::FromTo(from, to) => (time(from)?, time(to)?),
        NptRange::To(to) => (None, time(to)?),
    };
    if let (Some(start), Some(end)) = (start, end) {
        if end < start {
            return Err(format!("range {value:?} ends before it starts"));
        }
    }
    Ok(PlayRange { start, end })
}

/// An NPT time as a duration; `now` is `None`.
fn time(t: NptTime) -> Result<Option<Duration>, String> {
    let too_big = || "range time out of bounds".to_owned();
    Ok(match t {
        NptTime::Now => None,
        NptTime::Seconds(s, nanos) => Some(Duration::new(s, nanos.unwrap_or(0))),
        NptTime::Hms(h, m, s, nanos) => {
            if m >= 60 || s >= 60 {
                return Err("range minutes or seconds over 59".into());
            }
            let seconds = h
                .checked_mul(3600)
                .and_then(|x| x.checked_add(u64::from(m) * 60 + u64::from(s)))
                .ok_or_else(too_big)?;
            Some(Duration::new(seconds, nanos.unwrap_or(0)))
        }
    })
}

/// Formats a time as NPT seconds with millisecond precision (§3.6).
pub fn npt(t: Duration) -> String {
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
    fn hostile_ranges_are_errors() {
        for value in [
            "",
            "smpte=0:10:20-",
            "clock=19961108T143720.25Z-",
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
            "\u{0}npt=0-",
        ] {
            assert!(parse(value).is_err(), "{value:?} should be rejected");
        }
    }

    #[test]
    fn npt_format_has_millisecond_precision() {
        assert_eq!(npt(Duration::from_millis(2040)), "2.040");
        assert_eq!(npt(Duration::ZERO), "0.000");
    }
}
