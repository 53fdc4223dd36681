//! Fixed-width syntax elements read most significant bit first, over
//! bitstream-io, for the headers that have no emulation prevention: VP8
//! and VP9 frame headers, AV1 OBUs, MPEG-1/2 video headers. Errors name
//! the structure and the byte where it broke.

use bitstream_io::{BigEndian, BitRead, BitReader};

/// Why a header could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    /// The bytes end before the structure's syntax does.
    #[error("{what} ends early (byte {offset})")]
    Truncated {
        /// The structure being read.
        what: &'static str,
        /// Byte offset, in the bytes parsed, where the data ran out.
        offset: usize,
    },
    /// A value the specification forbids.
    #[error("{what}: {problem} (byte {offset})")]
    Invalid {
        /// The structure being read.
        what: &'static str,
        /// What is wrong.
        problem: &'static str,
        /// Byte offset, in the bytes parsed, of the offending field.
        offset: usize,
    },
}

/// A reader of one structure's fields, counting the bits it has read.
pub struct Bits<'a> {
    reader: BitReader<&'a [u8], BigEndian>,
    what: &'static str,
    position: u64,
}

impl<'a> Bits<'a> {
    /// Reads `data` from its first bit; `what` names the structure in errors.
    pub fn new(data: &'a [u8], what: &'static str) -> Bits<'a> {
        Bits {
            reader: BitReader::endian(data, BigEndian),
            what,
            position: 0,
        }
    }

    /// The byte holding the next bit.
    pub fn byte_offset(&self) -> usize {
        usize::try_from(self.position / 8).unwrap_or(usize::MAX)
    }

    /// Bits read so far.
    pub fn bit_position(&self) -> u64 {
        self.position
    }

    fn truncated(&self) -> SyntaxError {
        SyntaxError::Truncated {
            what: self.what,
            offset: self.byte_offset(),
        }
    }

    /// An [`SyntaxError::Invalid`] at the current position.
    pub fn invalid(&self, problem: &'static str) -> SyntaxError {
        SyntaxError::Invalid {
            what: self.what,
            problem,
            offset: self.byte_offset(),
        }
    }

    /// One bit as a flag.
    pub fn flag(&mut self) -> Result<bool, SyntaxError> {
        let bit = self.reader.read_bit().map_err(|_| self.truncated())?;
        self.position += 1;
        Ok(bit)
    }

    /// An unsigned value of `bits` ≤ 32 bits.
    pub fn u(&mut self, bits: u32) -> Result<u32, SyntaxError> {
        if bits == 0 {
            return Ok(0);
        }
        let value = self.reader.read_var(bits).map_err(|_| self.truncated())?;
        self.position += u64::from(bits);
        Ok(value)
    }

    /// Skips `bits` bits.
    pub fn skip(&mut self, bits: u32) -> Result<(), SyntaxError> {
        self.reader.skip(bits).map_err(|_| self.truncated())?;
        self.position += u64::from(bits);
        Ok(())
    }
}

/// Packs `(bits, value)` fields most significant bit first, zero-padding
/// the last byte: headers for tests.
#[cfg(test)]
pub(crate) fn pack(fields: &[(u32, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut acc, mut n) = (0u64, 0u32);
    for &(bits, value) in fields {
        acc = (acc << bits) | u64::from(value);
        n += bits;
        while n >= 8 {
            out.push((acc >> (n - 8)) as u8);
            n -= 8;
        }
    }
    if n > 0 {
        out.push((acc << (8 - n)) as u8);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packed_fields_read_back() {
        let data = pack(&[(3, 5), (16, 0xabcd), (1, 1)]);
        assert_eq!(data.len(), 3);
        let mut bits = Bits::new(&data, "packed");
        assert_eq!((bits.u(3).unwrap(), bits.u(16).unwrap()), (5, 0xabcd));
        assert!(bits.flag().unwrap());
        assert_eq!(bits.u(4).unwrap(), 0);
    }

    #[test]
    fn fields_positions_and_errors() {
        let mut bits = Bits::new(&[0b1010_0000, 0xff], "test header");
        assert!(bits.flag().unwrap());
        assert_eq!(bits.u(3).unwrap(), 0b010);
        assert_eq!(bits.u(0).unwrap(), 0);
        bits.skip(4).unwrap();
        assert_eq!((bits.byte_offset(), bits.bit_position()), (1, 8));
        assert_eq!(bits.u(8).unwrap(), 0xff);
        assert_eq!(
            bits.flag(),
            Err(SyntaxError::Truncated {
                what: "test header",
                offset: 2
            })
        );
        assert_eq!(bits.invalid("bad").to_string(), "test header: bad (byte 2)");
    }
}
