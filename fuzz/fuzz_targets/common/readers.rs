//! The readers and format detection: each reader target opens its input
//! as one format from memory, reads every unit, seeks to a few times and
//! reads on.

use std::time::Duration;

use mediatool::media::{detect, detect_reader, open_reader, BytesReader, ReaderFormat, READERS};

/// Format detection on arbitrary bytes, with no extension and with each
/// registered reader's first, from a buffer and through a reader (the
/// ID3v2 skip).
pub fn detect_format(data: &[u8]) {
    let hints = READERS.iter().map(|r| r.extensions.first().copied());
    for ext in std::iter::once(None).chain(hints) {
        let _ = detect(data, ext);
        let mut reader = BytesReader::from_bytes(data);
        let _ = detect_reader(&mut reader, ext);
        assert_eq!(reader.position(), 0, "detection moved the reader");
    }
}

/// Units read before a reading is cut short: far more than any input of
/// the fuzzer's sizes yields, so only a reader that loops without
/// consuming input reaches it.
const MAX_UNITS: usize = 100_000;

/// Reads `data` with the reader of the registry named `name` (what
/// `open` gives callers), checking the [`Demuxer`] contract as it goes.
///
/// [`Demuxer`]: mediatool::media::Demuxer
pub fn read_as(name: &str, data: &[u8]) {
    let format: &ReaderFormat = READERS
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no reader named {name}"));
    let Ok(mut demuxer) = open_reader(BytesReader::from_bytes(data), format) else {
        return;
    };
    let tracks = demuxer.tracks().len();
    assert!(tracks > 0, "a reader opened without tracks");
    read_on(demuxer.as_mut(), MAX_UNITS, tracks);
    // Seek targets: the start, inside, far past the end, the largest
    // time there is, and one the input chooses.
    let chosen = data
        .iter()
        .rev()
        .take(8)
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    for time in [
        Duration::from_millis(1500),
        Duration::ZERO,
        Duration::from_nanos(chosen),
        Duration::from_secs(3600 * 24 * 365),
        Duration::MAX,
        Duration::from_millis(40),
    ] {
        if demuxer.seek(time).is_ok() {
            read_on(demuxer.as_mut(), 3, tracks);
        }
    }
    if demuxer.seek(Duration::ZERO).is_ok() {
        read_on(demuxer.as_mut(), MAX_UNITS, tracks);
    }
}

/// Reads up to `limit` units; after an error the reader must report the
/// end (`Ok(None)`), as readers from the registry do.
fn read_on(demuxer: &mut dyn mediatool::media::Demuxer, limit: usize, tracks: usize) {
    for _ in 0..limit {
        match demuxer.read_unit() {
            Ok(Some(unit)) => {
                assert!(unit.track < tracks, "unit of an unknown track");
                assert!(unit.dts <= unit.pts, "DTS after PTS");
            }
            Ok(None) => return,
            Err(_) => {
                assert!(
                    matches!(demuxer.read_unit(), Ok(None)),
                    "reading went on after an error"
                );
                return;
            }
        }
    }
    assert!(
        limit < MAX_UNITS,
        "more than {MAX_UNITS} units from a small input"
    );
}
