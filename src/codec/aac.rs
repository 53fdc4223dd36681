//! The MPEG-4 AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1): the AAC
//! configuration that an MP4 `esds` DecoderSpecificInfo and Matroska's
//! `A_AAC` CodecPrivate carry, and RFC 3640's `config` parameter repeats.

use super::adts::SAMPLE_RATES;
use super::bits::{Bits, SyntaxError};

/// What an AudioSpecificConfig says about the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AudioSpecificConfig {
    /// The core `audioObjectType` (2 for AAC LC), or 5 (SBR) / 29 (PS)
    /// when the config signals HE-AAC explicitly.
    pub object_type: u8,
    /// The output sampling rate: the SBR extension rate for HE-AAC.
    pub sample_rate: u32,
    /// `channelConfiguration` (0: a program config element says).
    pub channel_config: u8,
}

impl AudioSpecificConfig {
    /// Parses the head of an AudioSpecificConfig (object type, sampling
    /// rate, channel configuration and the explicit SBR/PS extension).
    pub fn parse(config: &[u8]) -> Result<AudioSpecificConfig, SyntaxError> {
        let mut bits = Bits::new(config, "AudioSpecificConfig");
        let kind = object_type(&mut bits)?;
        let mut rate = sample_rate(&mut bits)?;
        let channel_config = bits.u(4)? as u8;
        if matches!(kind, 5 | 29) {
            // Explicit hierarchical signalling: the extension rate, then
            // the core object type.
            rate = sample_rate(&mut bits)?;
            object_type(&mut bits)?;
        }
        if rate == 0 {
            return Err(bits.invalid("a sampling rate of 0"));
        }
        Ok(AudioSpecificConfig {
            object_type: kind,
            sample_rate: rate,
            channel_config,
        })
    }

    /// Channels of the channel configuration (§1.6.3.5 Table 1.19), when
    /// it says.
    pub fn channels(&self) -> Option<u16> {
        match self.channel_config {
            1..=6 => Some(u16::from(self.channel_config)),
            7 => Some(8),
            _ => None,
        }
    }

    /// The profile name ffprobe prints for the object type.
    pub fn profile(&self) -> Option<&'static str> {
        Some(match self.object_type {
            1 => "Main",
            2 => "LC",
            3 => "SSR",
            4 => "LTP",
            5 => "HE-AAC",
            29 => "HE-AACv2",
            23 => "LD",
            39 => "ELD",
            _ => return None,
        })
    }
}

/// `GetAudioObjectType()` (§1.6.2.1): 5 bits, 31 escaping to 32 + 6 bits.
fn object_type(bits: &mut Bits) -> Result<u8, SyntaxError> {
    let object_type = bits.u(5)?;
    Ok(if object_type == 31 {
        32 + bits.u(6)? as u8
    } else {
        object_type as u8
    })
}

/// `samplingFrequencyIndex`, or 0xf and 24 bits of rate.
fn sample_rate(bits: &mut Bits) -> Result<u32, SyntaxError> {
    let index = bits.u(4)? as usize;
    if index == 0xf {
        return bits.u(24);
    }
    SAMPLE_RATES
        .get(index)
        .copied()
        .ok_or_else(|| bits.invalid("a reserved sampling frequency index"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lc_he_aac_and_escaped_rates() {
        // AAC LC, 44.1 kHz, stereo.
        let lc = AudioSpecificConfig::parse(&[0x12, 0x10]).unwrap();
        assert_eq!(
            (lc.object_type, lc.sample_rate, lc.channels()),
            (2, 44100, Some(2))
        );
        assert_eq!(lc.profile(), Some("LC"));
        // HE-AAC explicit: SBR, 24 kHz core, 48 kHz output, stereo, LC core.
        let he = AudioSpecificConfig::parse(&[0x2b, 0x11, 0x88, 0x00]).unwrap();
        assert_eq!((he.object_type, he.sample_rate), (5, 48000));
        assert_eq!(he.profile(), Some("HE-AAC"));
        // An escaped rate: index 15, then 24 bits (7350 Hz... any value).
        let escaped = AudioSpecificConfig::parse(&[0x17, 0x80, 0x03, 0xe8, 0x08]).unwrap();
        assert_eq!((escaped.sample_rate, escaped.channel_config), (2000, 1));
        assert!(AudioSpecificConfig::parse(&[0x12]).is_err());
        assert!(AudioSpecificConfig::parse(&[]).is_err());
    }
}
