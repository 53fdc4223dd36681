//! Format detection on arbitrary bytes, with every extension hint, from a
//! buffer and through a reader (the ID3v2 skip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mediatool::media::{detect, detect_reader, BytesReader, Format};

fuzz_target!(|data: &[u8]| {
    for ext in [
        None,
        Some("264"),
        Some("hevc"),
        Some("mp3"),
        Some("aac"),
        Some("wav"),
        Some("ts"),
    ] {
        let hint = ext.and_then(Format::from_extension);
        let _ = detect(data, hint);
        let mut reader = BytesReader::from_bytes(data);
        let _ = detect_reader(&mut reader, ext);
        assert_eq!(reader.position(), 0, "detection moved the reader");
    }
});
