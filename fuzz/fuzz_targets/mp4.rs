//! The MP4 reader on arbitrary bytes: no panic, no hang, the reading
//! contract held (see `common::read_as`), and its table statistics.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::{mp4, open_reader, BytesReader};

fuzz_target!(|data: &[u8]| {
    common::read_as(&mp4::FORMAT, data);
    if let Ok(demuxer) = open_reader(BytesReader::from_bytes(data), &mp4::FORMAT) {
        let _ = demuxer.stats();
    }
});
