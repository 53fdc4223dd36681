//! Checks shared by the readers' tests: WAV files made on the fly, reading
//! everything, every tenth-of-the-file truncation, seeks
//! against a straight read (audio) and frame timing (elementary video).

use std::time::Duration;

use super::frame_clock::{ticks_at, time_of_ticks, FrameClock};
use super::{AccessUnit, BytesReader, Demuxer, MediaError, Result, Track};
use crate::vocab::clock::{rescale, sample_at, time_of};
use crate::vocab::Rational;

/// Opens a reader over bytes in memory.
pub type Opener = fn(BytesReader) -> Result<Box<dyn Demuxer>>;

/// A GSM 6.10 WAVE file (format tag 0x31) as ffmpeg's libgsm_ms writes it:
/// `blocks` blocks of 65 bytes, 320 sample frames each at 8 kHz mono, and
/// a `fact` chunk when `fact` is given. No RTP payload format carries it.
pub fn gsm_wav(blocks: usize, fact: Option<u32>) -> Vec<u8> {
    let mut fmt = vec![0x31, 0, 1, 0];
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&1625u32.to_le_bytes());
    // nBlockAlign 65, wBitsPerSample 0, cbSize 2, wSamplesPerBlock 320.
    fmt.extend_from_slice(&[65, 0, 0, 0, 2, 0, 0x40, 0x01]);
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(&fmt);
    if let Some(fact) = fact {
        body.extend_from_slice(b"fact\x04\0\0\0");
        body.extend_from_slice(&fact.to_le_bytes());
    }
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(blocks as u32 * 65).to_le_bytes());
    body.resize(body.len() + blocks * 65, 0x5a);
    [
        b"RIFF".to_vec(),
        (body.len() as u32).to_le_bytes().to_vec(),
        body,
    ]
    .concat()
}

/// What `f` returns, and the warnings it logged (one message per entry).
pub fn capture_warnings<T>(f: impl FnOnce() -> T) -> (T, Vec<String>) {
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    let sink = Sink::default();
    let writer = sink.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .without_time()
        .with_level(false)
        .with_target(false)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let value = tracing::subscriber::with_default(subscriber, || {
        // Callsites first hit by tests on other threads, with no
        // subscriber, may have cached "never": ask them again.
        tracing::callsite::rebuild_interest_cache();
        f()
    });
    let logged = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    (value, logged.lines().map(|l| l.trim().to_owned()).collect())
}

/// Every unit to the end, and the error that ended reading, if any.
pub fn read_all(demuxer: &mut dyn Demuxer) -> (Vec<AccessUnit>, Option<MediaError>) {
    let mut units = Vec::new();
    loop {
        match demuxer.read_unit() {
            Ok(Some(unit)) => units.push(unit),
            Ok(None) => return (units, None),
            Err(e) => return (units, Some(e)),
        }
        assert!(units.len() < 1_000_000, "runaway reader");
    }
}

/// Opens `data` with `open` and reads it to its end, which must come
/// without an error: the straight read that other checks compare with.
pub fn read_clean<D: Demuxer>(
    open: impl FnOnce(BytesReader) -> Result<D>,
    data: Vec<u8>,
) -> (D, Vec<AccessUnit>) {
    let mut demuxer = open(BytesReader::from_bytes(data)).unwrap();
    let (units, error) = read_all(&mut demuxer);
    assert!(error.is_none(), "{error:?}");
    (demuxer, units)
}

/// [`check_truncations`] and [`check_seeks`] of `data` (an audio stream)
/// against its straight read.
pub fn check_cuts_and_seeks(data: &[u8], open: Opener) {
    let mut demuxer = open(BytesReader::from_bytes(data)).unwrap();
    let (full, error) = read_all(demuxer.as_mut());
    assert!(error.is_none(), "{error:?}");
    check_truncations(data, open, &full);
    check_seeks(data, open, &full);
}

/// [`read_all`] for readers that stop at their first error: reading after
/// it finds the end.
pub fn read_all_and_stop(demuxer: &mut dyn Demuxer) -> (Vec<AccessUnit>, Option<MediaError>) {
    let (units, error) = read_all(demuxer);
    if let Some(e) = &error {
        let after = demuxer.read_unit();
        assert!(matches!(after, Ok(None)), "read on after {e}: {after:?}");
    }
    (units, error)
}

/// Reads `data` cut at every tenth of its length: each cut either fails
/// to open with a clear error (nothing whole in it) or yields a prefix of
/// `full` (the last unit possibly shorter, for PCM) and ends cleanly: a
/// unit cut short is dropped, not an error.
pub fn check_truncations(data: &[u8], open: Opener, full: &[AccessUnit]) {
    for tenth in 0..10 {
        let cut = data.len() * tenth / 10;
        let mut demuxer = match open(BytesReader::from_bytes(&data[..cut])) {
            Ok(demuxer) => demuxer,
            Err(e) => {
                assert!(tenth > 0 || matches!(e, MediaError::Empty), "{e}");
                assert!(
                    matches!(
                        e,
                        MediaError::Empty
                            | MediaError::Truncated { .. }
                            | MediaError::Invalid { .. }
                    ),
                    "cut at {cut}: {e}"
                );
                continue;
            }
        };
        let (units, err) = read_all(demuxer.as_mut());
        assert!(err.is_none(), "cut at {cut}: {err:?}");
        assert!(units.len() <= full.len(), "cut at {cut}");
        for (i, (got, want)) in units.iter().zip(full).enumerate() {
            if i + 1 < units.len() {
                assert_eq!(got, want, "cut at {cut}, unit {i}");
            } else {
                assert_eq!(got.pts, want.pts, "cut at {cut}, last unit");
                assert!(want.data.starts_with(&got.data), "cut at {cut}, last unit");
            }
        }
        // A file cut late keeps most of its audio (no blanket refusal).
        if tenth >= 8 {
            assert!(units.len() * 2 >= full.len(), "cut at {cut}");
        }
    }
}

/// Seeks one reader back and forth over `full` (a straight read): each
/// seek must land on the unit containing the time, return its start, and
/// read on exactly as the straight read does.
pub fn check_seeks(data: &[u8], open: Opener, full: &[AccessUnit]) {
    let mut demuxer = open(BytesReader::from_bytes(data)).unwrap();
    let rate = demuxer.tracks()[0].clock_rate;
    let last = full.last().unwrap();
    let end = last.pts as u64 + u64::from(last.duration);
    let mut samples: Vec<u64> = vec![0, 1, end / 2, end - 1, end, end + 10 * u64::from(rate)];
    samples.extend(full.iter().step_by(7).map(|u| u.pts as u64 + 1));
    samples.extend(full.iter().rev().step_by(5).map(|u| u.pts as u64));
    for sample in samples {
        let time = time_of(sample, rate) + Duration::from_nanos(1);
        let got = demuxer.seek(time).unwrap();
        let sample = sample_at(time, rate);
        match full
            .iter()
            .position(|u| u.pts as u64 + u64::from(u.duration) > sample)
        {
            Some(i) => {
                assert_eq!(got, time_of(full[i].pts as u64, rate), "seek to {time:?}");
                for want in &full[i..full.len().min(i + 3)] {
                    let unit = demuxer.read_unit().unwrap();
                    assert_eq!(unit.as_ref(), Some(want), "after seek to {time:?}");
                }
            }
            None => {
                assert_eq!(got, time_of(end, rate), "seek to {time:?}");
                assert_eq!(demuxer.read_unit().unwrap(), None);
            }
        }
    }
    // The largest time there is (found by fuzzing: an overflow in the MPEG
    // audio reader's frame arithmetic).
    assert_eq!(demuxer.seek(Duration::MAX).unwrap(), time_of(end, rate));
    assert_eq!(demuxer.read_unit().unwrap(), None);
    demuxer.seek(Duration::ZERO).unwrap();
    assert_eq!(read_all(demuxer.as_mut()).0, full);
}

/// The timing of an elementary video stream read from its start: the PTS,
/// sorted, are the frame slots `ticks(0)`, `ticks(1)`, ..., each unit
/// lasting until the next slot; DTS strictly increases and never exceeds PTS.
pub fn assert_frame_timing(units: &[AccessUnit], ticks: impl Fn(i64) -> i64) {
    let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
    pts.sort_unstable();
    let slots: Vec<i64> = (0..=units.len() as i64).map(&ticks).collect();
    assert_eq!(pts, slots[..units.len()]);
    for unit in units {
        assert!(unit.pts >= unit.dts, "pts {} < dts {}", unit.pts, unit.dts);
        let slot = slots.binary_search(&unit.pts).unwrap();
        assert_eq!(i64::from(unit.duration), slots[slot + 1] - unit.pts);
    }
    assert_consistent_timing(units);
}

/// What holds even for damaged input: DTS strictly increases, PTS never
/// precedes DTS, and no two units share a PTS.
pub fn assert_consistent_timing(units: &[AccessUnit]) {
    for pair in units.windows(2) {
        assert!(pair[0].dts < pair[1].dts, "dts not increasing");
    }
    assert!(units.iter().all(|u| u.pts >= u.dts), "pts before dts");
    let mut pts: Vec<i64> = units.iter().map(|u| u.pts).collect();
    pts.sort_unstable();
    pts.dedup();
    assert_eq!(pts.len(), units.len(), "two units share a pts");
}

/// Reads `data`, an elementary video stream whose straight read is `full`
/// with frame slots `ticks`, cut at every tenth of its length (1/10 to
/// 9/10): each cut opens and yields units of `full` in decoding order with
/// their DTS (the last one possibly cut short), timed as
/// [`assert_frame_timing`] says, and ends cleanly (a unit cut inside its
/// headers is dropped), losing little more than what was cut off. The PTS may differ from `full`'s:
/// pictures decoded after the cut no longer come before them.
pub fn check_video_truncations(
    data: &[u8],
    open: Opener,
    full: &[AccessUnit],
    ticks: impl Fn(i64) -> i64,
) {
    for tenth in 1..10 {
        let cut = data.len() * tenth / 10;
        let mut demuxer = open(BytesReader::from_bytes(data[..cut].to_vec()))
            .unwrap_or_else(|e| panic!("cut at {tenth}/10: {e}"));
        let (units, error) = read_all_and_stop(demuxer.as_mut());
        assert!(error.is_none(), "cut at {tenth}/10: {error:?}");
        assert!(!units.is_empty() && units.len() < full.len());
        assert!(
            units.len() >= full.len() * (tenth - 1) / 10,
            "cut at {tenth}/10"
        );
        assert_frame_timing(&units, &ticks);
        let last = units.len() - 1;
        for (i, (ours, straight)) in units.iter().zip(full).enumerate() {
            assert_eq!(ours.dts, straight.dts, "cut at {tenth}/10, unit {i}");
            if i < last {
                assert_eq!(ours.keyframe, straight.keyframe);
                assert_eq!(ours.data, straight.data, "cut at {tenth}/10, unit {i}");
            } else {
                assert!(straight.data.starts_with(&ours.data), "cut at {tenth}/10");
            }
        }
    }
}

/// Two elementary video streams joined, the second at another frame rate
/// (`frames[i]` pictures at `rates[i]`): the straight read times the first
/// stream's pictures at its rate and the second's at its own from where the
/// first ended ([`assert_frame_timing`] on the piecewise slots), and every
/// key frame is found again by seeking to its time, from the last to the
/// first on a fresh reader (which must index as it goes) and then from the
/// first to the last.
pub fn check_rate_change(
    open: Opener,
    streams: [&[u8]; 2],
    rates: [Rational; 2],
    frames: [i64; 2],
) {
    let joined = streams.concat();
    let mut demuxer = open(BytesReader::from_bytes(joined.clone())).unwrap();
    let (units, error) = read_all(demuxer.as_mut());
    assert!(error.is_none(), "{error:?}");
    assert_eq!(units.len() as i64, frames[0] + frames[1]);
    let mut clock = FrameClock::new(rates[0], 0);
    assert!(clock.rebase(frames[0], rates[1]));
    assert_frame_timing(&units, |i| clock.ticks(i));
    let keys: Vec<&AccessUnit> = units.iter().filter(|u| u.keyframe).collect();
    let mut fresh = open(BytesReader::from_bytes(joined)).unwrap();
    for key in keys.iter().rev().chain(&keys) {
        let got = fresh.seek(time_of_ticks(key.pts)).unwrap();
        assert_eq!(ticks_at(got), key.pts);
        assert_eq!(fresh.read_unit().unwrap().as_ref(), Some(*key));
    }
}

/// The units of `units` that belong to track `track`.
pub fn track_units(units: &[AccessUnit], track: usize) -> Vec<&AccessUnit> {
    units.iter().filter(|u| u.track == track).collect()
}

/// Reads `data`, a multi-track file whose straight read is `full`, cut at
/// every tenth of its length: each cut opens (from 3/10 on with every
/// track; before, it may fail with a clear error or lack a track whose
/// first unit comes later, presentation time 0 then being another track's
/// start) and yields for each track a prefix of its units in `full`, the
/// last one possibly cut short, and from 8/10 on most of them.
pub fn check_track_truncations(data: &[u8], open: Opener, full: &[AccessUnit]) {
    let tracks = open(BytesReader::from_bytes(data.to_vec()))
        .unwrap()
        .tracks()
        .to_vec();
    for tenth in 1..10 {
        let cut = data.len() * tenth / 10;
        let mut demuxer = match open(BytesReader::from_bytes(data[..cut].to_vec())) {
            Ok(demuxer) => demuxer,
            Err(e) => {
                assert!(tenth < 3, "cut at {tenth}/10: {e}");
                assert!(
                    matches!(e, MediaError::Truncated { .. } | MediaError::Invalid { .. }),
                    "cut at {tenth}/10: {e}"
                );
                continue;
            }
        };
        let (units, error) = read_all(demuxer.as_mut());
        assert!(error.is_none(), "cut at {tenth}/10: {error:?}");
        // Each track of the cut file among those of the whole one.
        let found: Vec<usize> = demuxer
            .tracks()
            .iter()
            .map(|t| {
                tracks
                    .iter()
                    .position(|w| {
                        Track {
                            index: t.index,
                            ..w.clone()
                        } == *t
                    })
                    .unwrap_or_else(|| panic!("cut at {tenth}/10: track {t:?}"))
            })
            .collect();
        if tenth >= 3 {
            assert_eq!(found.len(), tracks.len(), "cut at {tenth}/10");
        }
        // The 90 kHz shift of presentation time 0, the same for all tracks.
        let shift = match (
            track_units(&units, 0).first(),
            track_units(full, found[0]).first(),
        ) {
            (Some(ours), Some(straight)) => {
                rescale(straight.pts - ours.pts, tracks[found[0]].clock_rate, 90_000)
            }
            _ => 0,
        };
        if found.len() == tracks.len() {
            assert_eq!(shift, 0, "cut at {tenth}/10");
        }
        for (track, &was) in found.iter().enumerate() {
            let ours = track_units(&units, track);
            let straight = track_units(full, was);
            let delta = rescale(shift, 90_000, tracks[was].clock_rate);
            assert!(
                ours.len() <= straight.len(),
                "cut at {tenth}/10, track {track}"
            );
            for (i, (got, want)) in ours.iter().zip(&straight).enumerate() {
                let got = AccessUnit {
                    track: was,
                    pts: got.pts + delta,
                    dts: got.dts + delta,
                    ..(*got).clone()
                };
                if i + 1 < ours.len() {
                    assert_eq!(&got, *want, "cut at {tenth}/10, track {track}, unit {i}");
                } else {
                    assert_eq!(got.pts, want.pts, "cut at {tenth}/10, track {track}");
                    assert!(want.data.starts_with(&got.data), "cut at {tenth}/10");
                }
            }
            if tenth >= 8 {
                assert!(
                    ours.len() * 10 >= straight.len() * (tenth - 4),
                    "cut at {tenth}/10, track {track}: {} of {} units",
                    ours.len(),
                    straight.len()
                );
            }
        }
    }
}

/// Seeks a multi-track file back and forth over its straight read `full`:
/// to every key frame of the first video track (else of the first track)
/// and between them, past the end and back to the start. Each seek returns
/// the time of the last key frame at or before the target (the target, when
/// the first key frame comes after it), and reading on gives that key frame
/// first on its track and then, on every track, the units of the straight
/// read from there: the primary track's from the key frame (its leading
/// pictures, presented before it, dropped), the others' from the one
/// containing the time returned.
/// PCM tracks of `pcm_slack` samples of timing slack (their timestamps
/// restart from a PES packet's) compare data, and times within that.
pub fn check_track_seeks(data: &[u8], open: Opener, full: &[AccessUnit], pcm_slack: i64) {
    let mut demuxer = open(BytesReader::from_bytes(data.to_vec())).unwrap();
    let tracks = demuxer.tracks().to_vec();
    let primary = tracks
        .iter()
        .position(|t| t.kind() == crate::vocab::TrackKind::Video)
        .unwrap_or(0);
    let rate = |track: usize| tracks[track].clock_rate;
    let keys: Vec<&AccessUnit> = track_units(full, primary)
        .into_iter()
        .filter(|u| u.keyframe)
        .collect();
    assert!(keys.len() >= 2, "too few key frames to test seeking");
    let end = full
        .iter()
        .map(|u| {
            time_of(
                u64::try_from(u.pts + i64::from(u.duration)).unwrap_or(0),
                rate(u.track),
            )
        })
        .max()
        .unwrap();
    let mut targets: Vec<Duration> = Vec::new();
    for key in keys.iter().rev().chain(&keys) {
        let at = time_of(u64::try_from(key.pts).unwrap_or(0), rate(primary));
        targets.push(at);
        targets.push(at + Duration::from_millis(30));
    }
    targets.extend([Duration::ZERO, end / 2, end + Duration::from_secs(5)]);
    for target in targets {
        let got = demuxer.seek(target).unwrap();
        let target_ticks = sample_at(target, rate(primary)) as i64;
        let key = keys
            .iter()
            .rev()
            .find(|k| k.pts <= target_ticks)
            .or(keys.first());
        let past_end = target >= end;
        if past_end {
            assert_eq!(demuxer.read_unit().unwrap(), None, "seek to {target:?}");
            continue;
        }
        let key = key.unwrap();
        // The other tracks start with the key frame, or at the target when
        // the first key frame comes after it.
        let align = key.pts.min(target_ticks);
        assert_eq!(
            got,
            time_of(u64::try_from(align).unwrap_or(0), rate(primary)),
            "seek to {target:?}"
        );
        let (after, error) = read_some(demuxer.as_mut(), primary, 20);
        assert!(error.is_none(), "{error:?}");
        let first_primary = after.iter().find(|u| u.track == primary);
        assert_eq!(first_primary, Some(*key), "seek to {target:?}: first unit");
        for (track, description) in tracks.iter().enumerate() {
            let ours = track_units(&after, track);
            let straight = track_units(full, track);
            let from = if track == primary {
                straight.iter().position(|u| u == key).unwrap()
            } else {
                let key_time = rescale(align, rate(primary), rate(track));
                match straight
                    .iter()
                    .position(|u| u.pts + i64::from(u.duration) > key_time)
                {
                    Some(i) => i,
                    None => {
                        assert!(ours.is_empty(), "seek to {target:?}, track {track}");
                        continue;
                    }
                }
            };
            let expected: Vec<&AccessUnit> = straight[from..]
                .iter()
                .filter(|u| track != primary || u.pts >= key.pts || u.keyframe)
                .copied()
                .collect();
            // The last units read may be cut off by `read_some`'s limit.
            for (i, (got, want)) in ours
                .iter()
                .zip(&expected)
                .enumerate()
                .take(ours.len().saturating_sub(1))
            {
                if matches!(description.codec, crate::vocab::Codec::Pcm(_)) && pcm_slack > 0 {
                    assert_eq!(
                        got.data, want.data,
                        "seek to {target:?}, track {track}, unit {i}"
                    );
                    assert!(
                        (got.pts - want.pts).abs() <= pcm_slack,
                        "seek to {target:?}, track {track}, unit {i}: pts {} for {}",
                        got.pts,
                        want.pts
                    );
                } else {
                    assert_eq!(got, want, "seek to {target:?}, track {track}, unit {i}");
                }
            }
        }
    }
    demuxer.seek(Duration::ZERO).unwrap();
    assert_eq!(read_all(demuxer.as_mut()).0, full);
}

/// The units up to the `n`th of track `track`, and the error that ended
/// reading, if any.
fn read_some(
    demuxer: &mut dyn Demuxer,
    track: usize,
    n: usize,
) -> (Vec<AccessUnit>, Option<MediaError>) {
    let mut units: Vec<AccessUnit> = Vec::new();
    while units.iter().filter(|u| u.track == track).count() < n {
        match demuxer.read_unit() {
            Ok(Some(unit)) => units.push(unit),
            Ok(None) => break,
            Err(e) => return (units, Some(e)),
        }
    }
    (units, None)
}
