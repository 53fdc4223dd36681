//! Box headers and bodies (ISO/IEC 14496-12 §4.2), read where they lie in
//! the file: a header is 8 bytes (`size`, `type`), 16 with a 64-bit
//! `largesize` (`size` 1); `size` 0 means "to the end of the enclosing
//! box or file".
//!
//! Nothing here recurses on the input: the reader descends only the
//! containers it knows, by name, so a box claiming to hold itself or
//! nesting thousands deep costs nothing. A box claiming more bytes than
//! its parent holds is cut to its parent (as FFmpeg reads it), a box
//! shorter than its own header is an error.

use crate::media::{BytesReader, MediaError, Result};

/// A four-character box type.
pub(super) type FourCc = [u8; 4];

/// The type as text, for messages (`moov`, or escapes for odd bytes).
pub(super) fn name(kind: FourCc) -> String {
    kind.iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}

/// Where one box lies in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct BoxHeader {
    /// Its type.
    pub kind: FourCc,
    /// File offset of its first byte (its header).
    pub start: u64,
    /// File offset of its body (after the header).
    pub body: u64,
    /// File offset just past its last byte (cut to its parent).
    pub end: u64,
    /// The box claimed to end further than its parent (or the file) does.
    pub cut: bool,
}

impl BoxHeader {
    /// Bytes of body.
    pub fn body_len(&self) -> u64 {
        self.end - self.body
    }
}

/// Reads the header of the box at `offset` inside a parent ending at
/// `parent_end`; `None` when fewer than 8 bytes remain before it.
pub(super) fn read_header(
    input: &mut BytesReader,
    offset: u64,
    parent_end: u64,
) -> Result<Option<BoxHeader>> {
    if parent_end.saturating_sub(offset) < 8 {
        return Ok(None);
    }
    let mut head = [0u8; 16];
    let want = (parent_end - offset).min(16) as usize;
    let got = input.read_at(offset, &mut head[..want])?;
    if got < 8 {
        return Ok(None);
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    let kind = [head[4], head[5], head[6], head[7]];
    let (claimed, header_len) = match size {
        0 => (None, 8),
        1 if got < 16 => {
            return Err(MediaError::truncated(
                offset,
                format!("the '{}' box ends inside its 64-bit size", name(kind)),
            ))
        }
        1 => {
            let large = u64::from_be_bytes(head[8..16].try_into().expect("8 bytes"));
            (Some(large), 16)
        }
        n => (Some(u64::from(n)), 8),
    };
    if let Some(claimed) = claimed {
        if claimed < header_len {
            return Err(MediaError::invalid(
                offset,
                format!(
                    "the '{}' box claims {claimed} bytes, less than its {header_len}-byte header",
                    name(kind)
                ),
            ));
        }
    }
    let available = parent_end - offset;
    let len = claimed.unwrap_or(available);
    Ok(Some(BoxHeader {
        kind,
        start: offset,
        body: offset + header_len,
        end: offset + len.min(available),
        cut: len > available,
    }))
}

/// The boxes inside `[start, end)`, one after another, read lazily.
pub(super) struct Children {
    next: u64,
    end: u64,
}

impl Children {
    /// The boxes of the body of `parent` from `skip` bytes into it (a full
    /// box's version and flags, a sample entry's fields).
    pub fn of(parent: &BoxHeader, skip: u64) -> Children {
        Children {
            next: parent.body.saturating_add(skip).min(parent.end),
            end: parent.end,
        }
    }

    /// The boxes in a stretch of the file.
    #[cfg(test)]
    pub fn within(start: u64, end: u64) -> Children {
        Children { next: start, end }
    }

    /// The next box; `None` after the last.
    pub fn next(&mut self, input: &mut BytesReader) -> Result<Option<BoxHeader>> {
        let Some(header) = read_header(input, self.next, self.end)? else {
            return Ok(None);
        };
        self.next = header.end;
        Ok(Some(header))
    }
}

/// The body of `header`, whole, when it holds at most `max` bytes: the
/// small boxes a reader keeps (headers, sample descriptions, edit lists).
/// A body the file ends inside is an error, one larger than `max` too.
pub(super) fn read_body(input: &mut BytesReader, header: &BoxHeader, max: u64) -> Result<Vec<u8>> {
    let len = header.body_len();
    if len > max {
        return Err(MediaError::invalid(
            header.start,
            format!(
                "the '{}' box holds {len} bytes, more than the {max} this reader accepts",
                name(header.kind)
            ),
        ));
    }
    let mut body = vec![0u8; len as usize];
    let got = input.read_at(header.body, &mut body)?;
    if got < body.len() {
        return Err(MediaError::truncated(
            header.start,
            format!(
                "the file ends inside the '{}' box ({got} of {len} bytes)",
                name(header.kind)
            ),
        ));
    }
    Ok(body)
}

/// Big-endian reading of a box body, every read checked: a field past the
/// end is an error naming the box and its file offset.
pub(super) struct Fields<'a> {
    data: &'a [u8],
    pos: usize,
    /// File offset of `data[0]`, for messages.
    base: u64,
    what: &'static str,
}

impl<'a> Fields<'a> {
    /// Fields of `data`, the body of a `what` box at file offset `base`.
    pub fn new(data: &'a [u8], base: u64, what: &'static str) -> Fields<'a> {
        Fields {
            data,
            pos: 0,
            base,
            what,
        }
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len());
        let Some(end) = end else {
            return Err(MediaError::invalid(
                self.base + self.pos as u64,
                format!("the '{}' box is too short", self.what),
            ));
        };
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    /// Skips `n` bytes.
    pub fn skip(&mut self, n: usize) -> Result<()> {
        self.bytes(n).map(|_| ())
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.bytes(2)?.try_into().expect("2")))
    }

    pub fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.bytes(4)?.try_into().expect("4")))
    }

    pub fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.bytes(8)?.try_into().expect("8")))
    }

    /// A 32-bit value for version 0 of a full box, 64-bit for version 1.
    pub fn u32_or_u64(&mut self, version: u8) -> Result<u64> {
        if version == 1 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// File offset of the next field.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reader(data: &[u8]) -> BytesReader {
        BytesReader::from_bytes(data.to_vec())
    }

    #[test]
    fn sizes_large_sizes_and_to_the_end() {
        let mut data = vec![0, 0, 0, 12, b'f', b'r', b'e', b'e', 1, 2, 3, 4];
        data.extend_from_slice(&[0, 0, 0, 1, b'm', b'd', b'a', b't', 0, 0, 0, 0, 0, 0, 0, 20]);
        data.extend_from_slice(&[9, 9, 9, 9]);
        data.extend_from_slice(&[0, 0, 0, 0, b'm', b'o', b'o', b'v', 7]);
        let end = data.len() as u64;
        let mut input = reader(&data);
        let mut children = Children::within(0, end);
        let a = children.next(&mut input).unwrap().unwrap();
        assert_eq!((a.kind, a.body, a.end), (*b"free", 8, 12));
        let b = children.next(&mut input).unwrap().unwrap();
        assert_eq!((b.kind, b.body, b.end, b.cut), (*b"mdat", 28, 32, false));
        let c = children.next(&mut input).unwrap().unwrap();
        assert_eq!((c.kind, c.body, c.end, c.cut), (*b"moov", 40, end, false));
        assert!(children.next(&mut input).unwrap().is_none());
    }

    #[test]
    fn boxes_beyond_their_parent_are_cut_short_ones_refused() {
        let data = [0, 0, 0x10, 0, b'm', b'd', b'a', b't', 1, 2];
        let header = read_header(&mut reader(&data), 0, 10).unwrap().unwrap();
        assert_eq!((header.end, header.cut), (10, true));
        let data = [0, 0, 0, 4, b'b', b'a', b'd', b'!'];
        let error = read_header(&mut reader(&data), 0, 8).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid data at byte 0: the 'bad!' box claims 4 bytes, less than its 8-byte header"
        );
        let data = [0, 0, 0, 1, b'm', b'd', b'a', b't', 0, 0];
        assert!(matches!(
            read_header(&mut reader(&data), 0, 10),
            Err(MediaError::Truncated { offset: 0, .. })
        ));
        assert_eq!(name(*b"a\x01b "), "a\\x01b ");
    }

    #[test]
    fn bodies_are_bounded() {
        let data = [0, 0, 0, 12, b'e', b'l', b's', b't', 1, 2, 3, 4];
        let mut input = reader(&data);
        let header = read_header(&mut input, 0, 12).unwrap().unwrap();
        assert_eq!(read_body(&mut input, &header, 4).unwrap(), [1, 2, 3, 4]);
        assert!(read_body(&mut input, &header, 3).is_err());
        let mut fields = Fields::new(&[1, 2, 3], 100, "test");
        assert_eq!(fields.u16().unwrap(), 0x0102);
        assert_eq!(
            fields.u16().unwrap_err().to_string(),
            "invalid data at byte 102: the 'test' box is too short"
        );
    }
}
