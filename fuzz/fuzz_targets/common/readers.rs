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
    read_with(format, data);
}

/// Reads `data` with `format`'s reader (one of the registry's, or another
/// reading of a format: a transport stream served whole), as [`read_as`].
pub fn read_with(format: &ReaderFormat, data: &[u8]) {
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

/// The Ogg reader, on `data` as it is (damage, resync) and with the CRC of
/// every page found walking from its start set right: pages with a bad CRC
/// are skipped, so mutated pages would mostly stop there, short of the
/// packet, timing and seeking code.
pub fn ogg(data: &[u8]) {
    read_as("ogg", data);
    read_as("ogg", &with_ogg_crcs(data));
}

/// The CRC of RFC 3533 §6 (polynomial 0x04c11db7, initial value 0, no
/// reflection), bit by bit as the RFC defines it: not the reader's code, so
/// that a wrong CRC in the reader does not pass for right.
fn ogg_crc(bytes: &[u8]) -> u32 {
    let mut crc = 0u32;
    for &byte in bytes {
        crc ^= u32::from(byte) << 24;
        for _ in 0..8 {
            crc = (crc << 1)
                ^ if crc & 0x8000_0000 != 0 {
                    0x04c1_1db7
                } else {
                    0
                };
        }
    }
    crc
}

/// `data` with the CRC of every page of the walk from its start set.
fn with_ogg_crcs(data: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    let mut at = 0;
    while out.get(at..at + 4) == Some(b"OggS") && at + 27 <= out.len() {
        let table = at + 27 + usize::from(out[at + 26]);
        let Some(lacing) = out.get(at + 27..table) else {
            break;
        };
        let end = table + lacing.iter().map(|&v| usize::from(v)).sum::<usize>();
        let Some(page) = out.get_mut(at..end) else {
            break;
        };
        page[22..26].fill(0);
        let sum = ogg_crc(page);
        page[22..26].copy_from_slice(&sum.to_le_bytes());
        at = end;
    }
    out
}

/// The MP4 reader, and the statistics it takes from its sample tables
/// (`probe`'s counts), which a straight reading does not compute.
pub fn mp4(data: &[u8]) {
    read_as("mp4", data);
    let format = READERS.iter().find(|r| r.name == "mp4").expect("mp4");
    if let Ok(demuxer) = open_reader(BytesReader::from_bytes(data), format) {
        let _ = demuxer.stats();
    }
}

/// The transport stream reader, as tracks and as one MP2T stream.
pub fn mpeg_ts(data: &[u8]) {
    read_as("mpegts", data);
    read_with(&mediatool::media::mpeg_ts::READ_AS_MP2T, data);
}

/// The AC-3 and E-AC-3 elementary stream readers.
pub fn ac3(data: &[u8]) {
    read_as("ac3", data);
    read_as("eac3", data);
}
