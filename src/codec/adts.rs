//! AAC ADTS headers (ISO/IEC 13818-7 §6.2 / ISO/IEC 14496-3 §1.A.2.2) and
//! the AudioSpecificConfig they imply (ISO/IEC 14496-3 §1.6.2.1).

use std::io;
use std::ops::Range;

use bitstream_io::{BigEndian, BitRead, BitReader, BitWrite, BitWriter};

/// Sampling frequencies by `sampling_frequency_index` (ISO/IEC 14496-3 Table 1.18).
pub const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The AAC profile of MPEG-4 audio object type `object_type`, as ffprobe
/// names it (ADTS carries types 1 to 4).
pub fn profile_name(object_type: u8) -> &'static str {
    match object_type {
        1 => "Main",
        2 => "LC",
        3 => "SSR",
        _ => "LTP",
    }
}

/// One parsed ADTS fixed + variable header (ISO/IEC 14496-3 §1.A.2.2.1,
/// Tables 1.A.6 and 1.A.7).
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
    /// Parses an ADTS header at the start of `b` (7 bytes needed; syntax of
    /// ISO/IEC 14496-3 Table 1.A.6–1.A.7).
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

    /// Samples per channel in the frame: 1024 per raw data block
    /// (ISO/IEC 14496-3 §4.5.1.1, frameLengthFlag 0).
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

    /// Whether `other` belongs to the same stream: the fixed header fields
    /// that ISO/IEC 14496-3 §1.A.3.2.1 keeps constant are equal.
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

    /// The byte ranges of the raw data blocks in `frame` (the whole ADTS
    /// frame, header included), each without its CRC word.
    ///
    /// ISO/IEC 14496-3 §1.A.2.2.2 (Tables 1.A.6–1.A.10): one block follows
    /// the header (and its CRC). Several blocks are delimited only when
    /// `protection_absent == 0`: `adts_header_error_check()` then lists
    /// `raw_data_block_position[i]`, the start of block `i` counted in bytes
    /// from the start of the first block, and every block is followed by a
    /// 16-bit `adts_raw_data_block_error_check()`. Without CRC the blocks
    /// are only found by decoding the AAC syntax, which this does not do.
    pub fn raw_data_blocks(&self, frame: &[u8]) -> Result<Vec<Range<usize>>, BlockError> {
        let end = self.frame_len.min(frame.len());
        if self.blocks == 1 {
            return Ok(std::iter::once(self.header_len.min(end)..end).collect());
        }
        if !self.crc {
            return Err(BlockError::NoPositions);
        }
        let n = usize::from(self.blocks);
        // Header, n-1 positions, header CRC.
        let first = 7 + 2 * (n - 1) + 2;
        if end < first {
            return Err(BlockError::InvalidPositions);
        }
        let mut starts = vec![0usize];
        for i in 0..n - 1 {
            let at = 7 + 2 * i;
            starts.push(usize::from(u16::from_be_bytes([frame[at], frame[at + 1]])));
        }
        starts.push(end - first);
        let mut ranges = Vec::with_capacity(n);
        for pair in starts.windows(2) {
            // At least one byte of block (ID_END) plus its CRC word.
            if pair[1] < pair[0] + 3 {
                return Err(BlockError::InvalidPositions);
            }
            ranges.push(first + pair[0]..first + pair[1] - 2);
        }
        Ok(ranges)
    }

    /// For `channel_configuration` 0: the channel count and the
    /// AudioSpecificConfig carrying the program_config_element that must
    /// open `raw_block` (the first raw data block of the stream), or `None`
    /// when it does not start with a well-formed PCE.
    ///
    /// ISO/IEC 14496-3 §4.4.1.1 (Table 4.2, program_config_element) and
    /// §4.4.1 (GASpecificConfig: the PCE follows the three flag bits). The
    /// PCE's `byte_alignment()` is relative to the enclosing syntax, so the
    /// fields are re-written one by one rather than copied as a bit run.
    pub fn config_from_pce(&self, raw_block: &[u8]) -> Option<(u16, Vec<u8>)> {
        pce_config(self, raw_block).ok().flatten()
    }
}

/// Why the raw data blocks of an ADTS frame cannot be delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockError {
    /// Several blocks without CRC: their positions are not transmitted.
    NoPositions,
    /// The `raw_data_block_position` values do not fit the frame.
    InvalidPositions,
}

/// `id_syn_ele` of a program_config_element (ISO/IEC 14496-3 Table 4.85).
const ID_PCE: u32 = 5;

fn pce_config(header: &AdtsHeader, raw_block: &[u8]) -> io::Result<Option<(u16, Vec<u8>)>> {
    let mut r = BitReader::endian(raw_block, BigEndian);
    if r.read_var::<u32>(3)? != ID_PCE {
        return Ok(None);
    }
    let mut w = BitWriter::endian(Vec::new(), BigEndian);
    w.write_var(5, u32::from(header.object_type))?;
    w.write_var(4, u32::from(header.sample_rate_index))?;
    // channelConfiguration 0, frameLengthFlag, dependsOnCoreCoder, extensionFlag.
    w.write_var(4 + 3, 0u32)?;
    let mut copy = |bits: u32| -> io::Result<u32> {
        let v = r.read_var::<u32>(bits)?;
        w.write_var(bits, v)?;
        Ok(v)
    };
    // element_instance_tag, object_type, sampling_frequency_index.
    copy(4 + 2 + 4)?;
    let front = copy(4)?;
    let side = copy(4)?;
    let back = copy(4)?;
    let lfe = copy(2)?;
    let assoc = copy(3)?;
    let cc = copy(4)?;
    for extra in [4, 4] {
        // mono / stereo mixdown element numbers.
        if copy(1)? == 1 {
            copy(extra)?;
        }
    }
    if copy(1)? == 1 {
        copy(2 + 1)?; // matrix_mixdown_idx, pseudo_surround_enable
    }
    let mut channels = lfe;
    for _ in 0..front + side + back {
        channels += 1 + copy(1)?; // is_cpe
        copy(4)?;
    }
    for _ in 0..lfe + assoc {
        copy(4)?;
    }
    for _ in 0..cc {
        copy(1 + 4)?;
    }
    r.byte_align();
    w.byte_align()?;
    let comment = r.read_var::<u32>(8)?;
    w.write_var(8, comment)?;
    for _ in 0..comment {
        w.write_var(8, r.read_var::<u32>(8)?)?;
    }
    let channels = u16::try_from(channels).ok().filter(|&c| c > 0);
    Ok(channels.map(|c| (c, w.into_writer())))
}

/// Whether `data` starts with `count` consecutive ADTS frames of one stream,
/// ending as `chain` allows, each `aac_frame_length`
/// (ISO/IEC 14496-3 §1.A.3.2.2) after the previous one.
pub fn starts_with_frames(data: &[u8], count: usize, chain: super::FrameChain) -> bool {
    super::starts_with_frames(
        data,
        count,
        chain,
        AdtsHeader::parse,
        |h| h.frame_len,
        AdtsHeader::same_stream,
    )
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

    #[test]
    fn splits_blocks_by_their_positions() {
        // Two blocks with CRC: header(7) positions(2) crc(2), then
        // block 0 (3 bytes) + crc, block 1 (4 bytes) + crc.
        let mut frame = vec![0xff, 0xf0, 0x50, 0x80, 0, 0, 0xfd];
        frame.extend_from_slice(&[0, 5, 0xaa, 0xbb]);
        frame.extend_from_slice(&[1, 2, 3, 0xc0, 0xc1, 4, 5, 6, 7, 0xc2, 0xc3]);
        let len = frame.len();
        frame[4] = (len >> 3) as u8;
        frame[5] = ((len & 7) << 5) as u8 | 0x1f;
        let h = AdtsHeader::parse(&frame).unwrap();
        assert_eq!((h.blocks, h.crc), (2, true));
        assert_eq!(h.raw_data_blocks(&frame), Ok(vec![11..14, 16..20]));
        frame[7..9].copy_from_slice(&[0, 2]); // block 0 too short for its CRC
        assert_eq!(h.raw_data_blocks(&frame), Err(BlockError::InvalidPositions));
        frame[1] |= 1; // no CRC: positions absent
        let h = AdtsHeader::parse(&frame).unwrap();
        assert_eq!(h.raw_data_blocks(&frame), Err(BlockError::NoPositions));
        // One block: everything after the header.
        let one = [0xff, 0xf1, 0x50, 0x80, 0x01, 0x3f, 0xfc, 1, 2];
        let h = AdtsHeader::parse(&one).unwrap();
        let blocks = h.raw_data_blocks(&one).unwrap();
        assert_eq!((blocks.len(), &blocks[0]), (1, &(7..9)));
    }

    #[test]
    fn pce_becomes_part_of_the_audio_specific_config() {
        // ffmpeg `-aac_pce 1` stereo: the first raw data block opens with a
        // PCE; ffmpeg's aac_adtstoasc turns it into this config.
        let frame = hex_bytes("fff14c00277ffca098800004000d4c61766335392e33372e313030de02");
        let h = AdtsHeader::parse(&frame).unwrap();
        assert_eq!((h.channel_config, h.channels()), (0, None));
        let (channels, asc) = h.config_from_pce(&frame[7..]).unwrap();
        assert_eq!(channels, 2);
        let mut want = hex_bytes("118004c40000200d");
        want.extend_from_slice(b"Lavc59.37.100");
        assert_eq!(asc, want);
        // Not a PCE (a CPE), or cut short.
        assert_eq!(h.config_from_pce(&[0x21, 0x10]), None);
        assert_eq!(h.config_from_pce(&frame[7..12]), None);
    }

    fn hex_bytes(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }
}
