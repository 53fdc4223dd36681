//! The Matroska/WebM reader on arbitrary bytes: no panic, no hang, the
//! reading contract held (see `common::read_as`). Seeds: the `.mkv`,
//! `.mka` and `.webm` fixtures and `fixtures/bad/mkv_*`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::matroska;

fuzz_target!(|data: &[u8]| common::read_as(&matroska::FORMAT, data));
