//! The `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3.1): MP4's
//! `avcC` box payload and Matroska's `V_MPEG4/ISO/AVC` CodecPrivate.
//!
//! Read by hand: `h264_reader::avcc`'s parameter-set iterator indexes past
//! the end of a record holding a zero-length parameter set (hostile input
//! must not panic), and only the NAL units and the length size are needed.

use bytes::Bytes;

/// What a decoder configuration record holds for a reader: the length of
/// the NAL unit size fields and the parameter sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AvcConfig {
    /// `lengthSizeMinusOne + 1`: 1, 2 or 4 bytes before each NAL unit.
    pub length_size: u8,
    /// The sequence parameter set NAL units (with their header), in order.
    pub sps: Vec<Bytes>,
    /// The picture parameter set NAL units.
    pub pps: Vec<Bytes>,
}

impl AvcConfig {
    /// Parses a record (`configurationVersion` 1). The NAL units are copies:
    /// the record may sit in a larger buffer.
    pub fn parse(record: &[u8]) -> Result<AvcConfig, &'static str> {
        let [version, _profile, _compat, _level, length, sps_count, rest @ ..] = record else {
            return Err("record shorter than its 6-byte header");
        };
        if *version != 1 {
            return Err("configurationVersion is not 1");
        }
        let length_size = (length & 3) + 1;
        if length_size == 3 {
            return Err("3-byte NAL unit lengths (lengthSizeMinusOne 2) are not allowed");
        }
        let (sps, rest) = nal_units(rest, usize::from(sps_count & 0x1f))?;
        let (&pps_count, rest) = rest
            .split_first()
            .ok_or("record cut before its PPS count")?;
        let (pps, _) = nal_units(rest, usize::from(pps_count))?;
        Ok(AvcConfig {
            length_size,
            sps,
            pps,
        })
    }
}

/// `count` NAL units, each after a 16-bit length, from the start of
/// `data`; and the bytes after them. Empty units are skipped.
pub(crate) fn nal_units(
    mut data: &[u8],
    count: usize,
) -> Result<(Vec<Bytes>, &[u8]), &'static str> {
    let mut units = Vec::with_capacity(count.min(32));
    for _ in 0..count {
        let [hi, lo, rest @ ..] = data else {
            return Err("record cut in a parameter set length");
        };
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let unit = rest.get(..len).ok_or("parameter set overruns the record")?;
        if !unit.is_empty() {
            units.push(Bytes::copy_from_slice(unit));
        }
        data = &rest[len..];
    }
    Ok((units, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_hostile_ones() {
        let record = [
            1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 3, 0x67, 0x64, 0x1f, 1, 0, 2, 0x68, 0xee,
        ];
        let config = AvcConfig::parse(&record).unwrap();
        assert_eq!(config.length_size, 4);
        assert_eq!(config.sps, [Bytes::from_static(&[0x67, 0x64, 0x1f])]);
        assert_eq!(config.pps, [Bytes::from_static(&[0x68, 0xee])]);
        // A zero-length parameter set at the end, lengths past the end, cuts.
        assert_eq!(
            AvcConfig::parse(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 0, 0])
                .unwrap()
                .sps,
            Vec::<Bytes>::new()
        );
        assert!(AvcConfig::parse(&[1, 0x64, 0, 0x1f, 0xff, 0xe1, 0xff, 0xff, 0x67]).is_err());
        for cut in 0..record.len() - 2 {
            assert!(AvcConfig::parse(&record[..cut]).is_err(), "{cut}");
        }
        assert!(AvcConfig::parse(&[2, 0, 0, 0, 0xff, 0]).is_err());
    }
}
