//! The AC-3 and E-AC-3 elementary stream readers on arbitrary bytes: no
//! panic, no hang, the reading contract held (see `common::read_as`).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::ac3;

fuzz_target!(|data: &[u8]| {
    common::read_as(&ac3::FORMAT, data);
    common::read_as(&ac3::EAC3_FORMAT, data);
});
