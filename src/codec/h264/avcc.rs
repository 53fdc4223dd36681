//! The AVC decoder configuration record (ISO/IEC 14496-15 §5.3.3.1): the
//! `avcC` box of an MP4 `avc1`/`avc3` sample entry, and Matroska's
//! `V_MPEG4/ISO/AVC` CodecPrivate. It holds the NAL unit length size and
//! the sequence and picture parameter sets.

use bytes::Bytes;

use super::SyntaxError;

/// What an `avcC` record holds that a reader uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvcConfig {
    /// `AVCProfileIndication`.
    pub profile_idc: u8,
    /// `profile_compatibility` (the SPS constraint flags).
    pub constraint_flags: u8,
    /// `AVCLevelIndication`.
    pub level_idc: u8,
    /// Bytes of each NAL unit's length prefix (`lengthSizeMinusOne + 1`:
    /// 1, 2 or 4).
    pub length_size: u8,
    /// The SPS NAL units, then the PPS NAL units, as coded.
    pub parameter_sets: Vec<Bytes>,
}

impl AvcConfig {
    /// Parses an `AVCDecoderConfigurationRecord`. The extension for the
    /// High profiles (chroma format, bit depths, SPS extensions) is not
    /// needed: the SPS says the same.
    pub fn parse(record: &[u8]) -> Result<AvcConfig, SyntaxError> {
        let cut = || SyntaxError::CutShort("AVC decoder configuration record");
        if record.len() < 7 {
            return Err(cut());
        }
        if record[0] != 1 {
            return Err(SyntaxError::Invalid(format!(
                "AVC decoder configuration record version {} (1 expected)",
                record[0]
            )));
        }
        let length_size = (record[4] & 3) + 1;
        if length_size == 3 {
            return Err(SyntaxError::Invalid(
                "NAL unit length size of 3 bytes (1, 2 or 4 allowed)".into(),
            ));
        }
        let mut parameter_sets = Vec::new();
        let mut pos = 5;
        for count_mask in [0x1f, 0xff] {
            let count = record.get(pos).ok_or_else(cut)? & count_mask;
            pos += 1;
            for _ in 0..count {
                let len = record.get(pos..pos + 2).ok_or_else(cut)?;
                let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
                let nal = record.get(pos + 2..pos + 2 + len).ok_or_else(cut)?;
                if !nal.is_empty() {
                    parameter_sets.push(Bytes::copy_from_slice(nal));
                }
                pos += 2 + len;
            }
        }
        Ok(AvcConfig {
            profile_idc: record[1],
            constraint_flags: record[2],
            level_idc: record[3],
            length_size,
            parameter_sets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_sets_and_length_size() {
        let record = [
            1, 0x64, 0, 0x0d, 0xff, 0xe1, 0, 3, 0x67, 0x64, 0x0d, 1, 0, 2, 0x68, 0xef,
        ];
        let config = AvcConfig::parse(&record).unwrap();
        assert_eq!(
            (config.profile_idc, config.level_idc, config.length_size),
            (0x64, 0x0d, 4)
        );
        assert_eq!(
            config.parameter_sets,
            [&[0x67, 0x64, 0x0d][..], &[0x68, 0xef]]
        );
        for cut in 0..record.len() {
            assert!(AvcConfig::parse(&record[..cut]).is_err(), "cut at {cut}");
        }
        let mut three = record;
        three[4] = 0xfe;
        assert!(AvcConfig::parse(&three).is_err());
        // A zero-length parameter set (left out), a length past the end,
        // another version.
        let empty = AvcConfig::parse(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0, 0]).unwrap();
        assert!(empty.parameter_sets.is_empty());
        assert!(AvcConfig::parse(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0xff, 0xff, 0x67]).is_err());
        assert!(AvcConfig::parse(&[2, 0, 0, 0, 0xff, 0, 0]).is_err());
    }
}
