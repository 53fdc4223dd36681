//! AAC ADTS headers (ISO/IEC 13818-7 §6.2 / ISO/IEC 14496-3 §1.A.2.2) and
//! the AudioSpecificConfig they imply (ISO/IEC 14496-3 §1.6.2.1).

/// Sampling frequencies by `sampling_frequency_index` (ISO/IEC 14496-3 Table 1.18).
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// One parsed ADTS fixed + variable header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AdtsHeader {
    /// MPEG-4 Audio Object Type (`profile_ObjectType + 1`): 1 Main, 2 LC, 3 SSR, 4 LTP.
    pub object_type: u8,
    /// `sampling_frequency_index`.
    pub sample_rate_index: u8,
    /// Sampling frequency in Hz.
    pub sample_rate: u32,
    /// `channel_configuration` (0 means a program config element in the payload).
    pub channel_config: u8,
    /// `protection_absent == 0`: CRC words are present.
    pub crc: bool,
    /// Header length: 7 bytes, or 9 with a CRC.
    pub header_len: usize,
    /// `aac_frame_length`: the whole frame, header included.
    pub frame_len: usize,
    /// Raw data blocks in the frame (`number_of_raw_data_blocks_in_frame + 1`).
    pub blocks: u8,
}

impl AdtsHeader {
    /// Parses an ADTS header at the start of `b` (7 bytes needed).
    pub fn parse(b: &[u8]) -> Option<AdtsHeader> {
        let &[b0, b1, b2, b3, b4, b5, b6, ..] = b else {
            return None;
        };
        // syncword 0xFFF, layer '00'.
        if b0 != 0xff || b1 & 0xf6 != 0xf0 {
            return None;
        }
        let crc = b1 & 1 == 0;
        let sample_rate_index = (b2 >> 2) & 0xf;
        let sample_rate = *SAMPLE_RATES.get(usize::from(sample_rate_index))?;
        let channel_config = ((b2 & 1) << 2) | (b3 >> 6);
        let frame_len = (usize::from(b3 & 3) << 11) | (usize::from(b4) << 3) | usize::from(b5 >> 5);
        let header_len = if crc { 9 } else { 7 };
        if frame_len <= header_len {
            return None;
        }
        Some(AdtsHeader {
            object_type: (b2 >> 6) + 1,
            sample_rate_index,
            sample_rate,
            channel_config,
            crc,
            header_len,
            frame_len,
            blocks: (b6 & 3) + 1,
        })
    }

    /// Samples per channel in the frame: 1024 per raw data block.
    pub fn samples(&self) -> u32 {
        1024 * u32::from(self.blocks)
    }

    /// Channel count for `channel_config` 1–7 (ISO/IEC 14496-3 Table 1.19).
    pub fn channels(&self) -> Option<u16> {
        match self.channel_config {
            1..=6 => Some(u16::from(self.channel_config)),
            7 => Some(8),
            _ => None,
        }
    }

    /// Whether `other` belongs to the same stream (fixed header fields equal).
    pub fn same_stream(&self, other: &AdtsHeader) -> bool {
        self.object_type == other.object_type
            && self.sample_rate_index == other.sample_rate_index
            && self.channel_config == other.channel_config
    }

    /// The 2-byte AudioSpecificConfig for this stream (ISO/IEC 14496-3
    /// §1.6.2.1): objectType(5) samplingFrequencyIndex(4) channelConfiguration(4)
    /// and GASpecificConfig with frameLengthFlag, dependsOnCoreCoder and
    /// extensionFlag all 0.
    pub fn audio_specific_config(&self) -> [u8; 2] {
        let v = (u16::from(self.object_type) << 11)
            | (u16::from(self.sample_rate_index) << 7)
            | (u16::from(self.channel_config) << 3);
        v.to_be_bytes()
    }
}

/// Whether `data` starts with `count` consecutive ADTS frames of one stream
/// (the last may be cut off by the end of `data`).
pub fn starts_with_frames(data: &[u8], count: usize) -> bool {
    let Some(first) = AdtsHeader::parse(data) else {
        return false;
    };
    let mut pos = 0;
    for _ in 0..count {
        match AdtsHeader::parse(&data[pos..]) {
            Some(h) if h.same_stream(&first) => pos += h.frame_len,
            _ => return false,
        }
        if pos >= data.len() {
            return true;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lc_44100_stereo() {
        // ffmpeg's first ADTS header for 44.1 kHz stereo LC, 371-byte frame.
        let h = AdtsHeader::parse(&[0xff, 0xf1, 0x50, 0x80, 0x2e, 0x7f, 0xfc]).unwrap();
        assert_eq!(
            (h.object_type, h.sample_rate, h.channel_config, h.crc),
            (2, 44100, 2, false)
        );
        assert_eq!(
            (h.frame_len, h.header_len, h.blocks, h.samples()),
            (371, 7, 1, 1024)
        );
        assert_eq!(h.audio_specific_config(), [0x12, 0x10]);
    }

    #[test]
    fn parses_crc_and_rejects_garbage() {
        let h = AdtsHeader::parse(&[0xff, 0xf0, 0x4c, 0x40, 0x20, 0x1f, 0xfc]).unwrap();
        assert_eq!(
            (h.crc, h.header_len, h.sample_rate, h.channels()),
            (true, 9, 48000, Some(1))
        );
        assert!(AdtsHeader::parse(&[0xff, 0xf3, 0x50, 0x80, 0x2e, 0x7f, 0xfc]).is_none()); // layer 01
        assert!(AdtsHeader::parse(&[0xff, 0xf1, 0x7c, 0x80, 0x2e, 0x7f, 0xfc]).is_none()); // rate 15
        assert!(AdtsHeader::parse(&[0xff, 0xf1, 0x50, 0x80, 0x00, 0x1f, 0xfc]).is_none()); // length 0
        assert!(AdtsHeader::parse(&[0xff, 0xf1]).is_none());
    }
}
