//! The HEVC decoder configuration record (ISO/IEC 14496-15 §8.3.3.1): the
//! `hvcC` box of an MP4 `hvc1`/`hev1` sample entry, and Matroska's
//! `V_MPEGH/ISO/HEVC` CodecPrivate: the NAL unit length size and arrays of
//! parameter sets and SEI NAL units.

use bytes::Bytes;

use super::{nal_type, NalHeader, SyntaxError};

/// What an `hvcC` record holds that a reader uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HevcConfig {
    /// Bytes of each NAL unit's length prefix (`lengthSizeMinusOne + 1`:
    /// 1, 2 or 4).
    pub length_size: u8,
    /// The VPS, SPS and PPS NAL units, in that order, as coded (SEI and
    /// other arrays left out).
    pub parameter_sets: Vec<Bytes>,
}

impl HevcConfig {
    /// Parses an `HEVCDecoderConfigurationRecord`.
    pub fn parse(record: &[u8]) -> Result<HevcConfig, SyntaxError> {
        let cut = || SyntaxError::Truncated("HEVC decoder configuration record");
        if record.len() < 23 {
            return Err(cut());
        }
        let length_size = (record[21] & 3) + 1;
        if length_size == 3 {
            return Err(SyntaxError::Invalid(
                "NAL unit length size of 3 bytes (1, 2 or 4 allowed)".into(),
            ));
        }
        let mut sets: Vec<(u8, Bytes)> = Vec::new();
        let mut pos = 23;
        for _ in 0..record[22] {
            let head = record.get(pos..pos + 3).ok_or_else(cut)?;
            let count = u16::from_be_bytes([head[1], head[2]]);
            pos += 3;
            for _ in 0..count {
                let len = record.get(pos..pos + 2).ok_or_else(cut)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let nal = record.get(pos + 2..pos + 2 + len).ok_or_else(cut)?;
                if let Some(header) = NalHeader::parse(nal) {
                    if matches!(
                        header.nal_type,
                        nal_type::VPS | nal_type::SPS | nal_type::PPS
                    ) {
                        sets.push((header.nal_type, Bytes::copy_from_slice(nal)));
                    }
                }
                pos += 2 + len;
            }
        }
        // VPS, SPS, PPS, as RFC 7798 sprop order and decoders expect.
        sets.sort_by_key(|(kind, _)| *kind);
        Ok(HevcConfig {
            length_size,
            parameter_sets: sets.into_iter().map(|(_, nal)| nal).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_in_parameter_set_order() {
        let mut record = vec![1u8; 21];
        record.extend_from_slice(&[0x0f, 3]);
        // PPS array first, then SPS, then VPS.
        record.extend_from_slice(&[0x22, 0, 1, 0, 3, 0x44, 0x01, 0xc1]);
        record.extend_from_slice(&[0x21, 0, 1, 0, 3, 0x42, 0x01, 0x01]);
        record.extend_from_slice(&[0x20, 0, 1, 0, 3, 0x40, 0x01, 0x0c]);
        let config = HevcConfig::parse(&record).unwrap();
        assert_eq!(config.length_size, 4);
        assert_eq!(
            config.parameter_sets,
            [
                &[0x40, 0x01, 0x0c][..],
                &[0x42, 0x01, 0x01],
                &[0x44, 0x01, 0xc1]
            ]
        );
        for cut in 23..record.len() {
            assert!(HevcConfig::parse(&record[..cut]).is_err(), "cut at {cut}");
        }
    }
}
