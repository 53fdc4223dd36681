//! AAC in LATM/LOAS (ISO/IEC 14496-3 §1.7), as MPEG-2 transport streams
//! carry it (stream type 0x11): the LOAS `AudioSyncStream()` framing
//! (§1.7.2: an 11-bit syncword 0x2B7 and a 13-bit length) around
//! `AudioMuxElement(1)` (§1.7.3), whose `StreamMuxConfig()` carries the
//! `AudioSpecificConfig()` (§1.6.2.1) and whose `PayloadMux()` carries the
//! AAC access units.
//!
//! Read: `audioMuxVersion` 0 and 1 (with `audioMuxVersionA` 0), one program
//! of one layer, `frameLengthType` 0 (payload lengths in bytes, what AAC
//! encoders write), sub-frames, other data and the CRC byte skipped.
//! AudioSpecificConfigs of the general audio object types (1–4, 6, 7), also
//! inside SBR/PS signalling (5, 29), with a channel configuration. Not
//! read (an error saying so): several programs or layers, CELP/HVXC frame
//! lengths, program_config_element channel layouts, the error-resilient
//! object types.
//!
//! Access units start at any bit of the element: each is copied out,
//! realigned to bytes, as RFC 3640 carries them.

use super::bits::{Bits, SyntaxError};

/// Bytes of the LOAS header: syncword (11 bits) and `audioMuxLengthBytes` (13).
pub const LOAS_HEADER_LEN: usize = 3;

/// Sampling frequencies by `samplingFrequencyIndex` (§1.6.3.4, Table 1.18).
const SAMPLE_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// The whole LOAS frame (header included) that starts `data`, by its
/// header; `None` without the syncword (or with fewer than 3 bytes).
pub fn loas_frame_len(data: &[u8]) -> Option<usize> {
    match data {
        [0x56, b1, b2, ..] if b1 & 0xe0 == 0xe0 => {
            Some(LOAS_HEADER_LEN + (usize::from(b1 & 0x1f) << 8 | usize::from(*b2)))
        }
        _ => None,
    }
}

/// What an `AudioSpecificConfig()` says, and the config itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioConfig {
    /// The AudioSpecificConfig, realigned to start at a byte and padded
    /// with zero bits: what RFC 3640's `config` and MP4's `esds` carry.
    pub bytes: Vec<u8>,
    /// `audioObjectType` of the core coder (2 for AAC LC), after SBR/PS
    /// signalling.
    pub object_type: u8,
    /// The output sampling frequency (the SBR one when signalled).
    pub sample_rate: u32,
    /// Channels of `channelConfiguration` (PS signalling: 2).
    pub channels: u16,
    /// Output samples per access unit: 1024 (960 with `frameLengthFlag`),
    /// twice that with SBR.
    pub samples_per_frame: u32,
}

impl AudioConfig {
    /// The profile as ffprobe names it.
    pub fn profile(&self) -> &'static str {
        super::adts::profile_name(self.object_type)
    }
}

/// A sampling frequency by index, or the 24-bit explicit value.
fn sample_rate(b: &mut Bits) -> Result<u32, SyntaxError> {
    match b.u(4)? {
        0xf => b.u(24),
        index => SAMPLE_RATES
            .get(index as usize)
            .copied()
            .ok_or_else(|| b.invalid("reserved samplingFrequencyIndex")),
    }
}

/// `GetAudioObjectType()` (§1.6.2.1.1).
fn object_type(b: &mut Bits) -> Result<u8, SyntaxError> {
    match b.u(5)? {
        31 => Ok(32 + b.u(6)? as u8),
        t => Ok(t as u8),
    }
}

/// Parses an `AudioSpecificConfig()` at `b`'s position, reading exactly its
/// bits. Returns what it says, without the realigned bytes (the caller
/// copies them, knowing where the config started).
fn parse_config(b: &mut Bits) -> Result<AudioConfig, SyntaxError> {
    let mut object = object_type(b)?;
    let core_rate = sample_rate(b)?;
    let channel_config = b.u(4)?;
    let mut rate = core_rate;
    let mut sbr = false;
    let mut ps = false;
    if object == 5 || object == 29 {
        // Explicit hierarchical SBR (and PS) signalling (§1.6.5.2).
        sbr = true;
        ps = object == 29;
        rate = sample_rate(b)?;
        object = object_type(b)?;
    }
    if !matches!(object, 1..=4 | 6 | 7) {
        return Err(b.invalid("audio object type other than general audio (AAC)"));
    }
    // GASpecificConfig() (§4.4.1).
    let frame_length_flag = b.flag()?;
    if b.flag()? {
        b.skip(14)?; // coreCoderDelay
    }
    let extension_flag = b.flag()?;
    if channel_config == 0 {
        return Err(b.invalid("program_config_element channel layouts are not read"));
    }
    if object == 6 {
        b.skip(3)?; // layerNr
    }
    if extension_flag {
        b.skip(1)?; // extensionFlag3 (objects 17–23 have more, refused above)
    }
    let channels = match channel_config {
        1..=6 => channel_config as u16,
        7 => 8,
        _ => return Err(b.invalid("reserved channelConfiguration")),
    };
    let frame = if frame_length_flag { 960 } else { 1024 };
    Ok(AudioConfig {
        bytes: Vec::new(),
        object_type: object,
        sample_rate: rate,
        channels: if ps { 2 } else { channels },
        samples_per_frame: if sbr && rate != core_rate {
            2 * frame
        } else {
            frame
        },
    })
}

/// Copies `bits` bits of `data` from bit `start` into bytes, the last one
/// padded with zero bits.
fn copy_bits(data: &[u8], start: u64, bits: u64) -> Result<Vec<u8>, SyntaxError> {
    let end = start + bits;
    if end > data.len() as u64 * 8 {
        return Err(SyntaxError::Truncated {
            what: "LATM payload",
            offset: data.len(),
        });
    }
    let mut out = Vec::with_capacity(bits.div_ceil(8) as usize);
    let shift = (start % 8) as u32;
    let first = (start / 8) as usize;
    if shift == 0 {
        out.extend_from_slice(&data[first..first + bits.div_ceil(8) as usize]);
    } else {
        for i in 0..bits.div_ceil(8) as usize {
            let hi = data[first + i] << shift;
            let lo = data.get(first + i + 1).map_or(0, |b| b >> (8 - shift));
            out.push(hi | lo);
        }
    }
    let spare = (out.len() as u64 * 8 - bits) as u32;
    if let Some(last) = out.last_mut() {
        *last &= 0xffu8.checked_shl(spare).unwrap_or(0);
    }
    Ok(out)
}

/// `LatmGetValue()` (§1.7.3.1).
fn latm_value(b: &mut Bits) -> Result<u32, SyntaxError> {
    let bytes = b.u(2)?;
    let mut value = 0u32;
    for _ in 0..=bytes {
        value = value << 8 | b.u(8)?;
    }
    Ok(value)
}

/// The `StreamMuxConfig()` in force (§1.7.3.1, Table 1.42), for the
/// subset this reads (see the module documentation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamMuxConfig {
    /// The one layer's AudioSpecificConfig.
    pub config: AudioConfig,
    /// `numSubFrames`: sub-frames per element, less one.
    sub_frames: u32,
    /// `otherDataLenBits`, when `otherDataPresent`.
    other_data_bits: Option<u32>,
}

impl StreamMuxConfig {
    fn parse(data: &[u8], b: &mut Bits) -> Result<StreamMuxConfig, SyntaxError> {
        let mux_version = b.u(1)?;
        if mux_version == 1 && b.u(1)? == 1 {
            return Err(b.invalid("audioMuxVersionA 1 is reserved"));
        }
        if mux_version == 1 {
            latm_value(b)?; // taraBufferFullness
        }
        if !b.flag()? {
            return Err(b.invalid("streams without the same time framing are not read"));
        }
        let sub_frames = b.u(6)?;
        if b.u(4)? != 0 || b.u(3)? != 0 {
            return Err(b.invalid("several programs or layers are not read"));
        }
        let asc_len = if mux_version == 1 {
            Some(u64::from(latm_value(b)?))
        } else {
            None
        };
        let start = b.bit_position();
        let mut config = parse_config(b)?;
        let used = b.bit_position() - start;
        let len = match asc_len {
            Some(len) if len < used => return Err(b.invalid("ascLen shorter than the config")),
            Some(len) => {
                // fillBits after the config.
                let mut rest = len - used;
                while rest > 0 {
                    let n = rest.min(32) as u32;
                    b.skip(n)?;
                    rest -= u64::from(n);
                }
                len
            }
            None => used,
        };
        config.bytes = copy_bits(data, start, len.min(used))?;
        if b.u(3)? != 0 {
            return Err(b.invalid("frameLengthType other than 0 is not read"));
        }
        b.skip(8)?; // latmBufferFullness
        let other_data_bits = if b.flag()? {
            Some(if mux_version == 1 {
                latm_value(b)?
            } else {
                let mut bits = 0u32;
                loop {
                    let escape = b.flag()?;
                    bits = bits.saturating_mul(256).saturating_add(b.u(8)?);
                    if !escape {
                        break bits;
                    }
                }
            })
        } else {
            None
        };
        if b.flag()? {
            b.skip(8)?; // crcCheckSum
        }
        Ok(StreamMuxConfig {
            config,
            sub_frames,
            other_data_bits,
        })
    }
}

/// A LATM stream's state: the `StreamMuxConfig` in force.
#[derive(Clone, Debug, Default)]
pub struct Latm {
    config: Option<StreamMuxConfig>,
}

impl Latm {
    /// The configuration in force, once an element carried one.
    pub fn config(&self) -> Option<&AudioConfig> {
        self.config.as_ref().map(|c| &c.config)
    }

    /// Reads one `AudioMuxElement(1)` (a LOAS frame without its 3-byte
    /// header): takes its `StreamMuxConfig` if it has one, and returns its
    /// access units. An element that reuses a configuration not seen yet
    /// is an error.
    pub fn element(&mut self, element: &[u8]) -> Result<Vec<Vec<u8>>, SyntaxError> {
        let mut b = Bits::new(element, "LATM AudioMuxElement");
        if !b.flag()? {
            // useSameStreamMux 0: a new configuration.
            self.config = Some(StreamMuxConfig::parse(element, &mut b)?);
        }
        let Some(mux) = &self.config else {
            return Err(b.invalid("useSameStreamMux before any StreamMuxConfig"));
        };
        let mut units = Vec::with_capacity(mux.sub_frames as usize + 1);
        for _ in 0..=mux.sub_frames {
            // PayloadLengthInfo(): MuxSlotLengthBytes.
            let mut len = 0u64;
            loop {
                let tmp = b.u(8)?;
                len += u64::from(tmp);
                if tmp != 255 {
                    break;
                }
            }
            let start = b.bit_position();
            units.push(copy_bits(element, start, len * 8)?);
            let mut rest = len * 8;
            while rest > 0 {
                let n = rest.min(32) as u32;
                b.skip(n)?;
                rest -= u64::from(n);
            }
        }
        if let Some(bits) = mux.other_data_bits {
            let mut rest = bits;
            while rest > 0 {
                let n = rest.min(32);
                b.skip(n)?;
                rest -= n;
            }
        }
        Ok(units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bits::pack;

    /// An AudioMuxElement with a StreamMuxConfig (version 0) for AAC LC
    /// 48 kHz stereo and one 3-byte payload, as FFmpeg's LATM muxer
    /// writes it.
    fn element_with_config(payload: &[u8]) -> Vec<u8> {
        let mut fields = vec![
            (1, 0), // useSameStreamMux
            (1, 0), // audioMuxVersion
            (1, 1), // allStreamsSameTimeFraming
            (6, 0), // numSubFrames
            (4, 0), // numProgram
            (3, 0), // numLayer
            // AudioSpecificConfig: LC, 48 kHz, stereo, GASpecificConfig 000.
            (5, 2),
            (4, 3),
            (4, 2),
            (3, 0),
            (3, 0), // frameLengthType
            (8, 0xff),
            (1, 0), // otherDataPresent
            (1, 0), // crcCheckPresent
            (8, payload.len() as u32),
        ];
        fields.extend(payload.iter().map(|&b| (8, u32::from(b))));
        pack(&fields)
    }

    #[test]
    fn loas_headers() {
        assert_eq!(loas_frame_len(&[0x56, 0xe0, 0x10]), Some(19));
        assert_eq!(loas_frame_len(&[0x56, 0xff, 0xff]), Some(3 + 8191));
        assert_eq!(loas_frame_len(&[0x56, 0xc0, 0x10]), None);
        assert_eq!(loas_frame_len(&[0x56, 0xe0]), None);
    }

    #[test]
    fn config_then_same_config() {
        let mut latm = Latm::default();
        let units = latm.element(&element_with_config(&[1, 2, 3])).unwrap();
        assert_eq!(units, [vec![1, 2, 3]]);
        let config = latm.config().unwrap();
        assert_eq!(config.bytes, [0x11, 0x90]);
        assert_eq!(
            (
                config.sample_rate,
                config.channels,
                config.samples_per_frame
            ),
            (48000, 2, 1024)
        );
        assert_eq!(config.profile(), "LC");
        // useSameStreamMux 1, then a 2-byte payload at bit 9.
        let same = pack(&[(1, 1), (8, 2), (8, 0xab), (8, 0xcd)]);
        assert_eq!(latm.element(&same).unwrap(), [vec![0xab, 0xcd]]);
        // Cut inside the payload.
        assert!(latm.element(&same[..2]).is_err());
        // Reuse before any config.
        assert!(Latm::default().element(&same).is_err());
    }

    #[test]
    fn long_payload_lengths_and_bit_copies() {
        let payload: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let mut fields = vec![(1, 1), (8, 255), (8, 45)];
        fields.extend(payload.iter().map(|&b| (8, u32::from(b))));
        let mut latm = Latm::default();
        latm.element(&element_with_config(&[9])).unwrap();
        assert_eq!(latm.element(&pack(&fields)).unwrap(), [payload]);
        assert_eq!(copy_bits(&[0b1010_1010, 0xff], 1, 9).unwrap(), [0x55, 0x80]);
        assert!(copy_bits(&[0], 4, 5).is_err());
    }

    #[test]
    fn refused_configurations() {
        let mut element = element_with_config(&[1]);
        // numProgram 1.
        let mut latm = Latm::default();
        element[1] |= 0x04;
        assert!(latm.element(&element).is_err());
        // channelConfiguration 0 (a PCE) is not read.
        let pce = pack(&[
            (1, 0),
            (1, 0),
            (1, 1),
            (6, 0),
            (4, 0),
            (3, 0),
            (5, 2),
            (4, 3),
            (4, 0),
            (3, 0),
            (8, 0),
        ]);
        assert!(Latm::default().element(&pce).is_err());
    }
}
