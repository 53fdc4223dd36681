//! DVD linear PCM in `private_stream_1` (substreams 0xA0–0xA7), as DVD-Video
//! program streams and FFmpeg's `vob` muxer write it: after the substream
//! id, the number of audio frames and the first access unit pointer, a
//! 3-byte header (emphasis, mute, frame number; quantization word length,
//! sampling frequency, channels − 1; dynamic range control), then samples.
//!
//! 16-bit samples are big-endian and interleaved: exactly RTP's L16 (RFC
//! 3551 §4.5.11), served as they are. 20- and 24-bit samples come in
//! groups of four interleaved samples, the upper 16 bits of the four first
//! and their low bits after (bytes for 24-bit, 4-bit pairs for 20-bit, as
//! FFmpeg's `pcm_dvd` decoder reads them), two sample frames making whole
//! groups only with an even channel count (odd ones are not read): groups
//! are rewritten as big-endian 24-bit samples (L24, the 20-bit ones padded
//! with zero bits).

use crate::vocab::PcmFormat;

/// Bytes of the LPCM header after the first access unit pointer.
pub(crate) const HEADER_LEN: usize = 3;

/// The parameters of an LPCM substream, from its header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LpcmFormat {
    /// Bits per coded sample: 16, 20 or 24.
    pub bits: u16,
    /// 48000 or 96000 Hz.
    pub sample_rate: u32,
    /// 1 to 8.
    pub channels: u16,
}

impl LpcmFormat {
    /// Reads the 3-byte header; `None` for reserved values and for 20- or
    /// 24-bit samples of an odd number of channels.
    pub fn parse(header: &[u8]) -> Option<LpcmFormat> {
        let &[_, b, _] = header.get(..HEADER_LEN)? else {
            return None;
        };
        let bits = match b >> 6 {
            0 => 16,
            1 => 20,
            2 => 24,
            _ => return None,
        };
        let sample_rate = match (b >> 4) & 3 {
            0 => 48000,
            1 => 96000,
            _ => return None,
        };
        let channels = u16::from(b & 7) + 1;
        (bits == 16 || channels % 2 == 0).then_some(LpcmFormat {
            bits,
            sample_rate,
            channels,
        })
    }

    /// The samples as served: 16-bit as they are, 20 and 24-bit as
    /// big-endian 24-bit samples.
    pub fn served(&self) -> PcmFormat {
        if self.bits == 16 {
            PcmFormat::S16Be
        } else {
            PcmFormat::S24Be
        }
    }

    /// Bytes of the smallest whole piece of coded samples: one sample
    /// frame for 16-bit, two (whole groups) for 20 and 24-bit.
    pub fn block_len(&self) -> usize {
        let channels = usize::from(self.channels);
        match self.bits {
            16 => 2 * channels,
            20 => 5 * channels,
            _ => 6 * channels,
        }
    }

    /// Sample frames in one block.
    pub fn block_frames(&self) -> u32 {
        if self.bits == 16 {
            1
        } else {
            2
        }
    }

    /// Whole blocks of `coded`, rewritten as served (see the module docs).
    pub fn decode(&self, coded: &[u8]) -> Vec<u8> {
        let block = self.block_len();
        let whole = &coded[..coded.len() / block * block];
        if self.bits == 16 {
            return whole.to_vec();
        }
        let group = if self.bits == 24 { 12 } else { 10 };
        let mut out = Vec::with_capacity(whole.len() / group * 12);
        for group in whole.chunks_exact(group) {
            let (high, low) = group.split_at(8);
            for i in 0..4 {
                let low_bits = if self.bits == 24 {
                    low[i]
                } else {
                    // Two 4-bit low parts per byte, the first sample's high.
                    (low[i / 2] << (4 * (i % 2))) & 0xf0
                };
                out.extend_from_slice(&[high[2 * i], high[2 * i + 1], low_bits]);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers() {
        let mono = LpcmFormat::parse(&[0x0c, 0x00, 0x80]).unwrap();
        assert_eq!((mono.bits, mono.sample_rate, mono.channels), (16, 48000, 1));
        assert_eq!((mono.block_len(), mono.served()), (2, PcmFormat::S16Be));
        let hi = LpcmFormat::parse(&[0, 0b1001_0101, 0]).unwrap();
        assert_eq!((hi.bits, hi.sample_rate, hi.channels), (24, 96000, 6));
        assert_eq!(hi.block_len(), 36);
        assert_eq!(
            LpcmFormat::parse(&[0, 0b1001_0100, 0]),
            None,
            "24-bit, 5 channels"
        );
        assert_eq!(LpcmFormat::parse(&[0, 0xc0, 0]), None);
        assert_eq!(LpcmFormat::parse(&[0, 0x20, 0]), None);
        assert_eq!(LpcmFormat::parse(&[0, 0]), None);
    }

    #[test]
    fn blocks_become_big_endian_24_bit() {
        // Stereo: L0 R0 L1 R1 high words, then low parts.
        let format = LpcmFormat::parse(&[0, 0x81, 0]).unwrap();
        let coded = [1, 2, 3, 4, 5, 6, 7, 8, 0xa, 0xb, 0xc, 0xd, 0xee];
        assert_eq!(
            format.decode(&coded),
            [1, 2, 0xa, 3, 4, 0xb, 5, 6, 0xc, 7, 8, 0xd]
        );
        let twenty = LpcmFormat::parse(&[0, 0x41, 0]).unwrap();
        let coded = [1, 2, 3, 4, 5, 6, 7, 8, 0xab, 0xcd];
        assert_eq!(
            twenty.decode(&coded),
            [1, 2, 0xa0, 3, 4, 0xb0, 5, 6, 0xc0, 7, 8, 0xd0]
        );
        let sixteen = LpcmFormat::parse(&[0, 0x01, 0]).unwrap();
        assert_eq!(sixteen.decode(&[1, 2, 3, 4, 5]), [1, 2, 3, 4]);
    }
}
