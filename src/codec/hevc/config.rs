//! The `HEVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §8.3.3.1): MP4's
//! `hvcC` box payload and Matroska's `V_MPEGH/ISO/HEVC` CodecPrivate.

use bytes::Bytes;

use crate::codec::h264::nal_units;

/// What a decoder configuration record holds for a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HvcConfig {
    /// `lengthSizeMinusOne + 1`: 1, 2 or 4 bytes before each NAL unit.
    pub length_size: u8,
    /// The NAL units of every array (VPS, SPS, PPS, SEI), in record order.
    pub nal_units: Vec<Bytes>,
}

/// Bytes before `numOfArrays`.
const HEADER_LEN: usize = 22;

impl HvcConfig {
    /// Parses a record (`configurationVersion` 1; some early muxers wrote 0).
    pub fn parse(record: &[u8]) -> Result<HvcConfig, &'static str> {
        if record.len() < HEADER_LEN + 1 {
            return Err("record shorter than its 23-byte header");
        }
        if record[0] > 1 {
            return Err("configurationVersion is not 1");
        }
        let length_size = (record[21] & 3) + 1;
        if length_size == 3 {
            return Err("3-byte NAL unit lengths (lengthSizeMinusOne 2) are not allowed");
        }
        let arrays = record[HEADER_LEN];
        let mut rest = &record[HEADER_LEN + 1..];
        let mut units = Vec::new();
        for _ in 0..arrays {
            // array_completeness, reserved, NAL_unit_type; numNalus.
            let [_type, hi, lo, tail @ ..] = rest else {
                return Err("record cut in an array header");
            };
            let (found, after) = nal_units(tail, usize::from(u16::from_be_bytes([*hi, *lo])))?;
            units.extend(found);
            rest = after;
        }
        Ok(HvcConfig {
            length_size,
            nal_units: units,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_hostile_ones() {
        let mut record = vec![1; HEADER_LEN];
        record[21] = 0x0f;
        record.extend_from_slice(&[2, 0x20, 0, 1, 0, 2, 0x40, 1, 0x21, 0, 1, 0, 3, 0x42, 1, 1]);
        let config = HvcConfig::parse(&record).unwrap();
        assert_eq!(config.length_size, 4);
        assert_eq!(config.nal_units.len(), 2);
        assert_eq!(config.nal_units[1][..], [0x42, 1, 1]);
        for cut in 0..record.len() - 1 {
            assert!(HvcConfig::parse(&record[..cut]).is_err(), "{cut}");
        }
        // An array claiming 65535 units in a short record.
        let mut lying = record.clone();
        lying[HEADER_LEN + 2..HEADER_LEN + 4].copy_from_slice(&[0xff, 0xff]);
        assert!(HvcConfig::parse(&lying).is_err());
    }
}
