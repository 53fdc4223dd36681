//! NAL unit delimiting: ITU-T H.264 Annex B byte streams (also H.265 Annex B)
//! and the length-prefixed form of ISO/IEC 14496-15.

use bytes::Bytes;
use memchr::memmem;

use crate::vocab::NalFraming;

/// Position of the next `start_code_prefix_one_3bytes` (`00 00 01`, ITU-T
/// H.264 §B.1.2) at or after `from`: returns the index of its first zero
/// byte.
pub fn find_start_code(data: &[u8], from: usize) -> Option<usize> {
    let finder = memmem::Finder::new(&[0u8, 0, 1]);
    finder.find(data.get(from..)?).map(|i| from + i)
}

/// Strips the `trailing_zero_8bits` (and the `zero_byte` of a following
/// 4-byte start code) that Annex B allows after a NAL unit (H.264 §B.1.1): a
/// NAL unit never ends in a zero byte because of `rbsp_trailing_bits`.
pub fn trim_trailing_zeros(nal: &[u8]) -> usize {
    nal.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)
}

/// Ranges of the NAL units (start codes and trailing zeros removed) in a
/// complete Annex B buffer. Bytes before the first start code are ignored.
pub fn annexb_ranges(data: &[u8]) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let finder = memmem::Finder::new(&[0u8, 0, 1]);
    let mut next = finder.find(data).map(|i| i + 3);
    std::iter::from_fn(move || loop {
        let start = next?;
        let end = match finder.find(&data[start..]) {
            Some(i) => {
                next = Some(start + i + 3);
                start + i
            }
            None => {
                next = None;
                data.len()
            }
        };
        let end = start + trim_trailing_zeros(&data[start..end]);
        if end > start {
            return Some(start..end);
        }
    })
}

/// Ranges of the NAL units in a buffer of `length_size`-byte big-endian
/// length prefixes (ISO/IEC 14496-15 §5.3.2, `NALUnitLength`). Stops at the
/// first length that overruns the buffer.
pub fn length_prefixed_ranges(
    data: &[u8],
    length_size: u8,
) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
    let size = usize::from(length_size);
    let mut pos = 0usize;
    std::iter::from_fn(move || loop {
        let header = data.get(pos..pos + size)?;
        let len = header
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let start = pos + size;
        let end = start.checked_add(len).filter(|&end| end <= data.len())?;
        pos = end;
        if len > 0 {
            return Some(start..end);
        }
    })
}

/// The NAL units of an access unit framed as `framing` (Annex B byte
/// stream or ISO/IEC 14496-15 samples), as zero-copy slices of `data`. With
/// [`NalFraming::None`] the whole buffer is one unit.
pub fn nal_units(framing: NalFraming, data: &Bytes) -> Vec<Bytes> {
    match framing {
        NalFraming::None => vec![data.clone()],
        NalFraming::AnnexB => annexb_ranges(data).map(|r| data.slice(r)).collect(),
        NalFraming::LengthPrefixed(size) => length_prefixed_ranges(data, size)
            .map(|r| data.slice(r))
            .collect(),
    }
}

/// The NAL units of an Annex B fixture, for the tests of the codec modules.
#[cfg(test)]
pub(crate) fn fixture_nal_units(name: &str) -> Vec<Vec<u8>> {
    let data = crate::vocab::testing::fixture(name);
    annexb_ranges(&data).map(|r| data[r].to_vec()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_splits_three_and_four_byte_start_codes() {
        let data = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 0, 1, 0x65, 4, 0,
        ];
        let nals: Vec<&[u8]> = annexb_ranges(&data).map(|r| &data[r]).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4][..]]
        );
    }

    #[test]
    fn annexb_ignores_leading_garbage_and_empty_units() {
        let data = [9, 9, 0, 0, 1, 0, 0, 1, 0x09, 0xf0];
        let nals: Vec<&[u8]> = annexb_ranges(&data).map(|r| &data[r]).collect();
        assert_eq!(nals, vec![&[0x09, 0xf0][..]]);
        assert_eq!(annexb_ranges(&[1, 2, 3]).count(), 0);
        assert_eq!(annexb_ranges(&[]).count(), 0);
    }

    #[test]
    fn length_prefixed_stops_at_overrun() {
        let data = [0, 2, 0x67, 1, 0, 1, 0x68, 0, 9, 1];
        let nals: Vec<&[u8]> = length_prefixed_ranges(&data, 2).map(|r| &data[r]).collect();
        assert_eq!(nals, vec![&[0x67, 1][..], &[0x68][..]]);
    }

    #[test]
    fn nal_units_are_slices_of_the_input() {
        let data = Bytes::from_static(&[0, 0, 1, 0x41, 7, 0, 0, 1, 0x41, 8]);
        let units = nal_units(NalFraming::AnnexB, &data);
        assert_eq!(
            units,
            vec![
                Bytes::from_static(&[0x41, 7]),
                Bytes::from_static(&[0x41, 8])
            ]
        );
        assert_eq!(units[0].as_ptr(), data[3..].as_ptr());
    }
}
