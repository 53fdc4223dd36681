//! Ogg pages (RFC 3533 §6): the 27-byte header, the segment table, the
//! body, the CRC; reading them one by one from a [`BytesReader`], skipping
//! damaged ones.
//!
//! A page that fails its CRC, a version other than 0, or bytes that are
//! not a page are skipped, and reading resynchronises at the next capture
//! pattern `OggS`, as players do (libogg's `ogg_sync_pageseek`); a warning
//! names the first of each kind. A page the end of the file cuts short is
//! dropped with a warning when no page follows it.

use bytes::Bytes;

use super::super::{BytesReader, Result};

/// The fixed part of a page header.
pub(super) const HEADER_LEN: usize = 27;

/// The capture pattern every page starts with.
pub(super) const CAPTURE: &[u8; 4] = b"OggS";

/// The longest page: a full segment table of 255 segments of 255 bytes.
pub(super) const MAX_PAGE_LEN: usize = HEADER_LEN + 255 + 255 * 255;

/// `header_type_flag` bits (RFC 3533 §6).
const CONTINUED: u8 = 1;
const BOS: u8 = 2;
const EOS: u8 = 4;

/// The CRC of RFC 3533 §6: the generator polynomial 0x04c11db7, initial
/// value 0, no reflection, no final XOR, over the whole page with the CRC
/// field zeroed. It covers every byte of the file, so it must run well
/// above the 1 GB/s target of packet extraction: `crc-fast` folds with
/// carry-less multiplication (PCLMULQDQ, NEON) where the `crc` crate's
/// slicing-by-16 tables ran at about 1 GB/s, two thirds of reading time.
fn ogg_crc() -> crc_fast::CrcParams {
    static PARAMS: std::sync::OnceLock<crc_fast::CrcParams> = std::sync::OnceLock::new();
    *PARAMS.get_or_init(|| {
        crc_fast::CrcParams::new("CRC-32/OGG", 32, 0x04c1_1db7, 0, false, 0, 0x89a1_897f)
    })
}

/// The CRC of a whole page as RFC 3533 §6 computes it.
pub(super) fn page_crc(page: &[u8]) -> u32 {
    let mut digest = crc_fast::Digest::new_with_params(ogg_crc());
    digest.update(&page[..22]);
    digest.update(&[0; 4]);
    digest.update(&page[26..]);
    digest.finalize() as u32
}

/// One page, its bytes a slice of the reader's buffer.
#[derive(Clone, Debug)]
pub(super) struct Page {
    /// File offset of its first byte.
    pub offset: u64,
    /// The whole page: header, segment table and body.
    data: Bytes,
}

impl Page {
    /// Flags byte.
    fn flags(&self) -> u8 {
        self.data[5]
    }

    /// Its first packet continues one from the previous page of its stream.
    pub fn continued(&self) -> bool {
        self.flags() & CONTINUED != 0
    }

    /// The first page of a logical stream.
    pub fn bos(&self) -> bool {
        self.flags() & BOS != 0
    }

    /// The last page of a logical stream.
    pub fn eos(&self) -> bool {
        self.flags() & EOS != 0
    }

    /// The granule position after the last packet completed on the page;
    /// `None` (-1) when no packet ends on it.
    pub fn granule(&self) -> Option<u64> {
        let g = u64::from_le_bytes(self.data[6..14].try_into().unwrap_or_default());
        (g != u64::MAX).then_some(g)
    }

    /// The logical stream's serial number.
    pub fn serial(&self) -> u32 {
        u32::from_le_bytes(self.data[14..18].try_into().unwrap_or_default())
    }

    /// The page sequence number, counting the stream's pages from 0: a
    /// gap means pages were lost.
    pub fn sequence(&self) -> u32 {
        u32::from_le_bytes(self.data[18..22].try_into().unwrap_or_default())
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// The segment table: the lacing values.
    fn lacing(&self) -> &[u8] {
        &self.data[HEADER_LEN..HEADER_LEN + usize::from(self.data[26])]
    }

    /// The packets (and packet pieces) of the page in order: each a slice
    /// of the body, and whether it ends on this page (its last lacing value
    /// is below 255) or continues on the next page of its stream.
    pub fn pieces(&self) -> impl Iterator<Item = (Bytes, bool)> + '_ {
        let body_start = HEADER_LEN + self.lacing().len();
        let mut pos = body_start;
        let mut start = body_start;
        let mut lacing = self.lacing().iter().peekable();
        std::iter::from_fn(move || loop {
            let &value = lacing.next()?;
            pos += usize::from(value);
            if value < 255 {
                let piece = self.data.slice(start..pos);
                start = pos;
                return Some((piece, true));
            }
            if lacing.peek().is_none() {
                return Some((self.data.slice(start..pos), false));
            }
        })
    }
}

/// Kinds of damage the page reader reports, once each.
#[derive(Clone, Copy, Debug)]
enum Damage {
    Junk,
    BadCrc,
    Cut,
}

/// Reads the pages of a file in order, skipping damage.
pub(super) struct PageReader {
    input: BytesReader,
    /// Which kinds of [`Damage`] were reported.
    reported: u8,
}

impl PageReader {
    /// Pages from the current position of `input`.
    pub fn new(input: BytesReader) -> PageReader {
        PageReader { input, reported: 0 }
    }

    /// Parks the input (see [`BytesReader::park`]).
    pub fn park(&mut self) {
        self.input.park();
    }

    /// Size of the file.
    pub fn file_size(&self) -> u64 {
        self.input.size()
    }

    /// File offset of the next byte to read.
    pub fn position(&self) -> u64 {
        self.input.position()
    }

    /// Continues reading at file offset `offset` (a page boundary, or
    /// anywhere: reading resynchronises at the next page).
    pub fn seek(&mut self, offset: u64) -> Result<()> {
        Ok(self.input.seek(offset)?)
    }

    /// Logs the first damage of each kind.
    fn report(&mut self, kind: Damage, offset: u64, message: std::fmt::Arguments) {
        let bit = 1 << kind as u8;
        if self.reported & bit == 0 {
            self.reported |= bit;
            tracing::warn!("Ogg, byte {offset}: {message}");
        }
    }

    /// The next whole page with a good CRC; `None` at the end of the file.
    pub fn next_page(&mut self) -> Result<Option<Page>> {
        loop {
            let offset = self.input.position();
            let head = self.input.peek(HEADER_LEN)?;
            if head.is_empty() {
                return Ok(None);
            }
            if !head.starts_with(&CAPTURE[..head.len().min(4)]) || head.len() >= 5 && head[4] != 0 {
                self.report(
                    Damage::Junk,
                    offset,
                    format_args!("bytes that are not an Ogg page: skipped to the next page"),
                );
                if !self.resync()? {
                    return Ok(None);
                }
                continue;
            }
            let len = match head.get(26) {
                Some(&segments) => {
                    let table = HEADER_LEN + usize::from(segments);
                    let head = self.input.peek(table)?;
                    head.get(HEADER_LEN..table)
                        .map(|lacing| table + lacing.iter().map(|&v| usize::from(v)).sum::<usize>())
                }
                None => None,
            };
            let available = self.input.peek(len.unwrap_or(MAX_PAGE_LEN))?.len();
            let Some(len) = len.filter(|&len| len <= available) else {
                // Cut short, or a false capture pattern: a page further on
                // says which.
                if self.resync()? {
                    continue;
                }
                let needs = len.map_or("its header".to_owned(), |len| format!("{len} bytes"));
                self.report(
                    Damage::Cut,
                    offset,
                    format_args!(
                        "last page cut short (needs {needs}, {available} remain): dropped"
                    ),
                );
                return Ok(None);
            };
            let bytes = &self.input.buffered()[..len];
            let stated = u32::from_le_bytes([bytes[22], bytes[23], bytes[24], bytes[25]]);
            if page_crc(bytes) != stated {
                self.report(
                    Damage::BadCrc,
                    offset,
                    format_args!("page fails its CRC: skipped to the next page"),
                );
                if !self.resync()? {
                    return Ok(None);
                }
                continue;
            }
            return Ok(Some(Page {
                offset,
                data: self.input.take(len),
            }));
        }
    }

    /// Skips to the next capture pattern after the current position;
    /// `false` at the end of the file without one.
    fn resync(&mut self) -> Result<bool> {
        self.input.skip(1)?;
        loop {
            let buffered = self.input.buffered();
            if let Some(at) = memchr::memmem::find(buffered, CAPTURE) {
                self.input.skip(at as u64)?;
                return Ok(true);
            }
            // Keep a tail that may be the start of a capture pattern.
            let keep = buffered.len().min(CAPTURE.len() - 1);
            let pass = buffered.len() - keep;
            self.input.skip(pass as u64)?;
            let want = self.input.buffered().len() + 1;
            if self.input.peek(want)?.len() < want {
                return Ok(false);
            }
        }
    }

    /// The first whole page at or after file offset `offset`, CRC
    /// checked, the reader left after it: what bisection lands on. Damage
    /// is not reported (bisection lands anywhere, mostly inside pages).
    pub fn page_at(&mut self, offset: u64) -> Result<Option<Page>> {
        self.seek(offset)?;
        self.next_page_quietly()
    }

    /// The next page like [`next_page`](Self::next_page), without
    /// reporting damage: for seeking, which reads where reading did before.
    pub fn next_page_quietly(&mut self) -> Result<Option<Page>> {
        let reported = self.reported;
        self.reported = u8::MAX;
        let page = self.next_page();
        self.reported = reported;
        page
    }

    /// Whether a page after file offset `offset` (a page boundary) starts
    /// a stream: a chained file. Walks the page headers only, skipping the
    /// bodies unchecked, and resynchronises on damage.
    pub fn bos_after(&mut self, offset: u64) -> Result<bool> {
        self.seek(offset)?;
        loop {
            let head = self.input.peek(HEADER_LEN + 255)?;
            if head.len() < HEADER_LEN {
                return Ok(false);
            }
            let table = HEADER_LEN + usize::from(head[26]);
            if !head.starts_with(CAPTURE) || head.len() < table {
                if !self.resync()? {
                    return Ok(false);
                }
                continue;
            }
            if head[5] & BOS != 0 {
                return Ok(true);
            }
            let body: u64 = head[HEADER_LEN..table].iter().map(|&v| u64::from(v)).sum();
            self.input.skip(table as u64 + body)?;
        }
    }

    /// The serial number of the last page of the file, if its last 64 KiB
    /// hold a whole one.
    pub fn last_serial(&mut self) -> Result<Option<u32>> {
        let size = self.input.size();
        let from = size.saturating_sub(MAX_PAGE_LEN as u64);
        self.seek(from)?;
        let mut last = None;
        while let Some(page) = self.next_page_quietly()? {
            last = Some(page.serial());
        }
        Ok(last)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A page of `serial` with `flags`, `granule` and the given segment
    /// table and body, its CRC set.
    pub(crate) fn page(
        flags: u8,
        granule: i64,
        serial: u32,
        sequence: u32,
        lacing: &[u8],
        body: &[u8],
    ) -> Vec<u8> {
        let mut p = CAPTURE.to_vec();
        p.push(0);
        p.push(flags);
        p.extend_from_slice(&granule.to_le_bytes());
        p.extend_from_slice(&serial.to_le_bytes());
        p.extend_from_slice(&sequence.to_le_bytes());
        p.extend_from_slice(&[0; 4]);
        p.push(lacing.len() as u8);
        p.extend_from_slice(lacing);
        p.extend_from_slice(body);
        let crc = page_crc(&p);
        p[22..26].copy_from_slice(&crc.to_le_bytes());
        p
    }

    #[test]
    fn crc_matches_the_reference() {
        let crc = |data: &[u8]| crc_fast::checksum_with_params(ogg_crc(), data);
        assert_eq!(crc(b"123456789"), 0x89a1_897f);
        assert_eq!(crc(b"==!"), 0x9f85_8776);
        // Long inputs take the folding path: the bit-by-bit definition.
        let long: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut reference = 0u32;
        for &byte in &long {
            reference ^= u32::from(byte) << 24;
            for _ in 0..8 {
                let top = reference & 0x8000_0000 != 0;
                reference = (reference << 1) ^ if top { 0x04c1_1db7 } else { 0 };
            }
        }
        assert_eq!(crc(&long), u64::from(reference));
    }

    #[test]
    fn pieces_follow_the_lacing() {
        let body: Vec<u8> = (0..600u32).map(|i| i as u8).collect();
        // A 10-byte packet, a 300-byte one (255 + 45), then 255 bytes of
        // one continuing on the next page.
        let p = page(0, 5, 1, 0, &[10, 255, 45, 255], &body[..10 + 300 + 255]);
        let mut reader = PageReader::new(BytesReader::from_bytes(p));
        let page = reader.next_page().unwrap().unwrap();
        let pieces: Vec<(usize, bool)> = page.pieces().map(|(b, end)| (b.len(), end)).collect();
        assert_eq!(pieces, [(10, true), (300, true), (255, false)]);
        assert_eq!(
            (page.granule(), page.serial(), page.bos()),
            (Some(5), 1, false)
        );
        assert!(reader.next_page().unwrap().is_none());
    }

    #[test]
    fn damage_is_skipped() {
        let good = page(2, 0, 7, 0, &[3], b"abc");
        let mut bad = page(0, 1, 7, 1, &[3], b"def");
        bad[30] ^= 1;
        let last = page(4, 2, 7, 2, &[3], b"ghi");
        let mut file = b"junk OggS and more".to_vec();
        file.extend_from_slice(&good);
        file.extend_from_slice(&bad);
        file.extend_from_slice(&last);
        file.extend_from_slice(&last[..20]);
        let mut reader = PageReader::new(BytesReader::from_bytes(file));
        let offsets: Vec<u64> = std::iter::from_fn(|| reader.next_page().unwrap())
            .map(|p| p.offset)
            .collect();
        let start = 18;
        assert_eq!(offsets, [start, start + 2 * good.len() as u64]);
    }
}
