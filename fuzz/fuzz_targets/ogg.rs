//! The Ogg reader on arbitrary bytes: no panic, no hang, the reading
//! contract held (see `common::read_as`). Seed it with the fixtures'
//! `.ogg`, `.ogv`, `.opus`, `.spx` and `.oga` files.
//!
//! Pages with a bad CRC are skipped, so mutated pages would mostly stop
//! there: the input is read twice, as it is (damage, resync) and with the
//! CRC of every page found walking from the start set right (what reaches
//! the packet, timing and seeking code).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use mediatool::media::ogg;

/// RFC 3533 §6: polynomial 0x04c11db7, initial value 0, no reflection.
const OGG_CRC: crc::Algorithm<u32> = crc::Algorithm {
    width: 32,
    poly: 0x04c1_1db7,
    init: 0,
    refin: false,
    refout: false,
    xorout: 0,
    check: 0x89a1_897f,
    residue: 0,
};

/// `data` with the CRC of every page of the walk from its start set.
fn with_crcs(data: &[u8]) -> Vec<u8> {
    let crc = crc::Crc::<u32>::new(&OGG_CRC);
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
        let sum = crc.checksum(page);
        page[22..26].copy_from_slice(&sum.to_le_bytes());
        at = end;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    common::read_as(&ogg::FORMAT, data);
    common::read_as(&ogg::FORMAT, &with_crcs(data));
});
