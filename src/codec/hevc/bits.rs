//! RBSP bit reading for H.265 syntax: emulation-prevention removal
//! (ITU-T H.265 §7.3.1.1, §7.4.2) and the `u(n)`/`ue(v)`/`se(v)`
//! descriptors of §7.2, over bitstream-io.

use std::io;

use bitstream_io::{BigEndian, BitRead, BitReader};

use super::SyntaxError;

/// Copies the RBSP bytes of `nal` (header included) into `out`, dropping
/// every `emulation_prevention_three_byte` (the `03` of `00 00 03`), and
/// stopping once `out` holds `limit` bytes. ITU-T H.265 §7.3.1.1.
pub fn unescape_into(nal: &[u8], limit: usize, out: &mut Vec<u8>) {
    out.clear();
    let mut zeros = 0;
    for &b in nal {
        if out.len() >= limit {
            break;
        }
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
}

/// Parses the RBSP of a whole NAL unit (header included, emulation
/// prevention bytes in place) with `parse`, which sees the bytes after the
/// two-byte header.
pub fn parse_rbsp<T>(
    nal: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<T, SyntaxError>,
) -> Result<T, SyntaxError> {
    let mut rbsp = Vec::with_capacity(nal.len());
    unescape_into(nal, usize::MAX, &mut rbsp);
    parse(rbsp.get(2..).unwrap_or_default())
}

/// A reader of the syntax elements of one RBSP; `what` names the structure
/// for error messages ("sequence parameter set", "slice header").
pub struct Bits<'a> {
    reader: BitReader<&'a [u8], BigEndian>,
    what: &'static str,
}

impl<'a> Bits<'a> {
    /// Reads `rbsp` (already unescaped) from its first bit.
    pub fn new(rbsp: &'a [u8], what: &'static str) -> Bits<'a> {
        Bits {
            reader: BitReader::endian(rbsp, BigEndian),
            what,
        }
    }

    fn eof(&self, _: io::Error) -> SyntaxError {
        SyntaxError::Truncated(self.what)
    }

    /// `u(1)` as a flag.
    pub fn flag(&mut self) -> Result<bool, SyntaxError> {
        self.reader.read_bit().map_err(|e| self.eof(e))
    }

    /// `u(n)` for `n` ≤ 32.
    pub fn u(&mut self, bits: u32) -> Result<u32, SyntaxError> {
        if bits == 0 {
            return Ok(0);
        }
        self.reader.read_var(bits).map_err(|e| self.eof(e))
    }

    /// Skips `bits` bits.
    pub fn skip(&mut self, bits: u32) -> Result<(), SyntaxError> {
        self.reader.skip(bits).map_err(|e| self.eof(e))
    }

    /// `ue(v)`, Exp-Golomb (§9.2); values above `u32::MAX - 1` (more than 31
    /// leading zero bits) are rejected, as no H.265 syntax element needs them.
    pub fn ue(&mut self) -> Result<u32, SyntaxError> {
        let zeros = self.reader.read_unary::<1>().map_err(|e| self.eof(e))?;
        if zeros > 31 {
            return Err(SyntaxError::Invalid(format!(
                "{}: Exp-Golomb code with {zeros} leading zero bits",
                self.what
            )));
        }
        let suffix = self.u(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(suffix)) as u32)
    }

    /// `ue(v)` that must not exceed `max` (the syntax element's range).
    pub fn ue_max(&mut self, name: &str, max: u32) -> Result<u32, SyntaxError> {
        let value = self.ue()?;
        if value > max {
            return Err(SyntaxError::Invalid(format!(
                "{}: {name} is {value}, more than {max}",
                self.what
            )));
        }
        Ok(value)
    }

    /// `se(v)`, signed Exp-Golomb (§9.2.2).
    pub fn se(&mut self) -> Result<i64, SyntaxError> {
        let k = i64::from(self.ue()?);
        Ok(if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulation_prevention_bytes_are_removed() {
        let mut out = Vec::new();
        unescape_into(&[0x40, 1, 0, 0, 3, 1, 0, 0, 3, 0, 3, 7], 64, &mut out);
        assert_eq!(out, [0x40, 1, 0, 0, 1, 0, 0, 0, 3, 7]);
        unescape_into(&[1, 2, 3, 4], 2, &mut out);
        assert_eq!(out, [1, 2]);
    }

    #[test]
    fn exp_golomb_codes() {
        // 1 | 010 | 011 | 00100 | 00101 -> 0, 1, 2, 3, 4 (se: 0, 1, -1, 2, -2)
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut bits = Bits::new(&data, "test");
        let values: Vec<u32> = (0..5).map(|_| bits.ue().unwrap()).collect();
        assert_eq!(values, [0, 1, 2, 3, 4]);
        let mut bits = Bits::new(&data, "test");
        let values: Vec<i64> = (0..5).map(|_| bits.se().unwrap()).collect();
        assert_eq!(values, [0, 1, -1, 2, -2]);
    }

    #[test]
    fn overlong_and_cut_codes_are_errors() {
        let zeros = [0u8; 8];
        assert!(matches!(
            Bits::new(&[0, 0, 0, 0, 1, 0, 0, 0, 0], "x").ue(),
            Err(SyntaxError::Invalid(_))
        ));
        assert!(matches!(
            Bits::new(&zeros[..2], "x").ue(),
            Err(SyntaxError::Truncated("x"))
        ));
        assert!(matches!(
            Bits::new(&[0x20], "x").ue_max("v", 2),
            Err(SyntaxError::Invalid(_))
        ));
    }
}
