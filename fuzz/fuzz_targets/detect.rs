//! Format detection on arbitrary bytes, with the first extension of every
//! registered reader as a hint (and none, and one of a format not read), from
//! a buffer and through a reader (the ID3v2 skip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediatool::media::{detect, detect_reader, BytesReader, READERS};

fuzz_target!(|data: &[u8]| {
    let hints = READERS.iter().map(|f| Some(f.extensions[0]));
    for ext in [None, Some("ts")].into_iter().chain(hints) {
        let _ = detect(data, ext);
        let mut reader = BytesReader::from_bytes(data);
        let _ = detect_reader(&mut reader, ext);
        assert_eq!(reader.position(), 0, "detection moved the reader");
    }
});
