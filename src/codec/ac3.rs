//! AC-3 and E-AC-3 sync frame headers (ATSC A/52:2018): the AC-3
//! `syncinfo` and bit stream information (§5.3.1–§5.3.2: sample rate, frame
//! size code, `bsid`, `acmod`, `lfeon`) and the E-AC-3 `bsi` (Annex E
//! §E.1.2.2: stream type, substream id, `frmsiz`, `fscod`/`fscod2`,
//! `numblkscod`, `acmod`, `lfeon`). Both share the syncword and put `bsid`
//! at the same bits, which tells them apart.
//!
//! Not checked: the CRC words (`crc1`, `crc2`); E-AC-3 channels added by
//! dependent substreams (`chanmap`) are not counted.

use bitstream_io::{BigEndian, BitRead, BitReader};

use super::header::HeaderError;

/// The sync word that starts every sync frame.
pub const SYNC_WORD: [u8; 2] = [0x0b, 0x77];

/// Bytes needed to parse a header: up to `lfeon` of either syntax.
pub const HEADER_LEN: usize = 7;

/// Sample rates by `fscod` (A/52 Table 5.6).
const SAMPLE_RATES: [u32; 3] = [48000, 44100, 32000];

/// Nominal bit rates in kb/s by `frmsizecod / 2` (A/52 Table 5.18).
const BIT_RATES: [u32; 19] = [
    32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 576, 640,
];

/// What kind of bit stream a sync frame belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKind {
    /// AC-3 (`bsid` up to 8, and 9 and 10 for its half and quarter sample
    /// rates, as FFmpeg decodes them).
    Ac3,
    /// E-AC-3 (`bsid` 16; 11 to 15 are decoded as E-AC-3 too).
    Eac3 {
        /// `strmtyp`: 0 independent, 1 dependent, 2 independent converted
        /// from AC-3.
        stream_type: u8,
        /// `substreamid`.
        substream_id: u8,
    },
}

/// One parsed sync frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyncFrame {
    /// AC-3 or E-AC-3, with the E-AC-3 substream.
    pub kind: StreamKind,
    /// `bsid`.
    pub bsid: u8,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// The whole frame in bytes, sync word included.
    pub frame_len: usize,
    /// Samples per channel the frame decodes to: 1536 for AC-3, 256 per
    /// audio block for E-AC-3.
    pub samples: u32,
    /// `acmod`: the coding mode of the main channels (A/52 Table 5.8).
    pub acmod: u8,
    /// `lfeon`: a low-frequency effects channel is present.
    pub lfe: bool,
    /// Bit rate in bits per second (AC-3: the nominal rate of
    /// `frmsizecod`; E-AC-3: from the frame size and duration).
    pub bit_rate: u32,
}

impl SyncFrame {
    /// Parses the header at the start of `data` ([`HEADER_LEN`] bytes
    /// needed).
    pub fn parse(data: &[u8]) -> Result<SyncFrame, HeaderError> {
        if data.len() < HEADER_LEN {
            return Err(HeaderError::at(data.len(), "AC-3 header cut short"));
        }
        if data[..2] != SYNC_WORD {
            return Err(HeaderError::at(0, "no AC-3 sync word"));
        }
        let bsid = data[5] >> 3;
        let frame = match bsid {
            0..=10 => Self::parse_ac3(data, bsid)?,
            11..=16 => Self::parse_eac3(data, bsid)?,
            _ => return Err(HeaderError::at(5, "unknown AC-3 bsid")),
        };
        if frame.frame_len < HEADER_LEN {
            return Err(HeaderError::at(2, "E-AC-3 frame shorter than its header"));
        }
        Ok(frame)
    }

    /// `syncinfo` and the start of `bsi` (A/52 §5.3.1, §5.3.2).
    fn parse_ac3(data: &[u8], bsid: u8) -> Result<SyncFrame, HeaderError> {
        let fscod = data[4] >> 6;
        let frmsizecod = data[4] & 0x3f;
        let base_rate = *SAMPLE_RATES
            .get(usize::from(fscod))
            .ok_or_else(|| HeaderError::at(4, "reserved AC-3 sample rate code"))?;
        let kbps = *BIT_RATES
            .get(usize::from(frmsizecod / 2))
            .ok_or_else(|| HeaderError::at(4, "reserved AC-3 frame size code"))?;
        // Table 5.18 in 16-bit words: 1536 samples at the nominal rate,
        // rounded down, plus one word in odd codes at 44.1 kHz.
        let words = kbps * 1000 * 96 / base_rate + u32::from(fscod == 1 && frmsizecod % 2 == 1);
        let mut r = BitReader::endian(&data[5..HEADER_LEN], BigEndian);
        let (acmod, lfe) = read_acmod_lfeon(&mut r);
        // bsid 9 and 10 halve and quarter the rates (FFmpeg's reading of
        // A/52 Annex D's low sample rate streams).
        let shift = bsid.saturating_sub(8);
        Ok(SyncFrame {
            kind: StreamKind::Ac3,
            bsid,
            sample_rate: base_rate >> shift,
            frame_len: words as usize * 2,
            samples: 1536,
            acmod,
            lfe,
            bit_rate: (kbps * 1000) >> shift,
        })
    }

    /// The start of the E-AC-3 `bsi` (A/52 §E.1.2.2).
    fn parse_eac3(data: &[u8], bsid: u8) -> Result<SyncFrame, HeaderError> {
        let mut r = BitReader::endian(&data[2..HEADER_LEN], BigEndian);
        // Five bytes are there: every read up to bsid succeeds.
        let mut bits = |n: u32| -> u32 { r.read_var(n).unwrap_or_default() };
        let stream_type = bits(2) as u8;
        let substream_id = bits(3) as u8;
        let frmsiz = bits(11);
        let fscod = bits(2);
        let (sample_rate, blocks) = if fscod == 3 {
            let fscod2 = bits(2);
            let rate = *SAMPLE_RATES
                .get(fscod2 as usize)
                .ok_or_else(|| HeaderError::at(4, "reserved E-AC-3 sample rate code"))?;
            (rate / 2, 6)
        } else {
            (SAMPLE_RATES[fscod as usize], [1, 2, 3, 6][bits(2) as usize])
        };
        if stream_type == 3 {
            return Err(HeaderError::at(2, "reserved E-AC-3 stream type"));
        }
        let acmod = bits(3) as u8;
        let lfe = bits(1) == 1;
        let frame_len = (frmsiz as usize + 1) * 2;
        let samples = 256 * blocks;
        Ok(SyncFrame {
            kind: StreamKind::Eac3 {
                stream_type,
                substream_id,
            },
            bsid,
            sample_rate,
            frame_len,
            samples,
            acmod,
            lfe,
            bit_rate: (frame_len as u64 * 8 * u64::from(sample_rate) / u64::from(samples)) as u32,
        })
    }

    /// Channels the frame decodes to: those of `acmod` (A/52 Table 5.8,
    /// 1+1 dual mono counting 2) plus the LFE channel.
    pub fn channels(&self) -> u16 {
        channels(self.acmod, self.lfe)
    }
}

/// Channels of the coding mode `acmod` (A/52 Table 5.8, 1+1 dual mono
/// counting 2) plus the LFE channel when `lfe`: what the frame header or an
/// MP4 `dac3` box (ETSI TS 102 366 §F.4) states.
pub fn channels(acmod: u8, lfe: bool) -> u16 {
    [2, 1, 2, 3, 3, 4, 4, 5][usize::from(acmod & 7)] + u16::from(lfe)
}

/// Whether `data` starts with `count` consecutive sync frames of one AC-3
/// stream (`eac3`: E-AC-3 stream), ending as `chain` allows: the check that
/// makes a sync word trustworthy.
fn starts_with_kind(data: &[u8], count: usize, chain: super::FrameChain, eac3: bool) -> bool {
    let kind_matches = |f: &SyncFrame| matches!(f.kind, StreamKind::Eac3 { .. }) == eac3;
    super::starts_with_frames(
        data,
        count,
        chain,
        |b| SyncFrame::parse(b).ok().filter(kind_matches),
        |f| f.frame_len,
        |a, b| a.sample_rate == b.sample_rate,
    )
}

/// [`starts_with_kind`] for AC-3 streams.
pub fn starts_with_ac3_frames(data: &[u8], count: usize, chain: super::FrameChain) -> bool {
    starts_with_kind(data, count, chain, false)
}

/// [`starts_with_kind`] for E-AC-3 streams.
pub fn starts_with_eac3_frames(data: &[u8], count: usize, chain: super::FrameChain) -> bool {
    starts_with_kind(data, count, chain, true)
}

/// `acmod` and `lfeon` of the AC-3 `bsi` (A/52 §5.3.2), from a reader at
/// `bsid` (which, with `bsmod` and the mix levels `acmod` implies, is
/// skipped); the two header bytes this reads are always there.
fn read_acmod_lfeon(r: &mut BitReader<&[u8], BigEndian>) -> (u8, bool) {
    let mut bits = |n: u32| -> u32 { r.read_var(n).unwrap_or_default() };
    bits(5 + 3); // bsid, bsmod
    let acmod = bits(3) as u8;
    if acmod & 1 == 1 && acmod != 1 {
        bits(2); // cmixlev
    }
    if acmod & 4 != 0 {
        bits(2); // surmixlev
    }
    if acmod == 2 {
        bits(2); // dsurmod
    }
    (acmod, bits(1) == 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An AC-3 frame header: 48 kHz, 128 kb/s (frmsizecod 16), bsid 8,
    /// 3/2 channels with LFE, padded to its 512 bytes with `fill`.
    pub(crate) fn ac3_frame(fill: u8) -> Vec<u8> {
        // bsid 8, bsmod 0 | acmod 7, cmixlev, surmixlev, lfeon 1.
        let mut f = vec![0x0b, 0x77, 0, 0, 16, 8 << 3, 0b1110_0001, 0];
        f.resize(512, fill);
        f
    }

    #[test]
    fn ac3_headers() {
        let h = SyncFrame::parse(&ac3_frame(0)).unwrap();
        assert_eq!(
            (h.kind, h.sample_rate, h.frame_len, h.bit_rate, h.channels()),
            (StreamKind::Ac3, 48000, 512, 128000, 6)
        );
        // Table 5.18 at 44.1 kHz: 640 kb/s is 1393 words, 1394 in code 37.
        let mut f = ac3_frame(0);
        f[4] = (1 << 6) | 37;
        assert_eq!(SyncFrame::parse(&f).unwrap().frame_len, 2788);
        f[4] = (1 << 6) | 2; // 40 kb/s: 87 words
        assert_eq!(SyncFrame::parse(&f).unwrap().frame_len, 174);
        f[4] = (2 << 6) | 8; // 32 kHz, 64 kb/s: 192 words
        assert_eq!(SyncFrame::parse(&f).unwrap().frame_len, 384);
        // 2/0 with dsurmod, no LFE.
        let mut f = ac3_frame(0);
        f[6] = 0b0100_0000;
        assert_eq!(SyncFrame::parse(&f).unwrap().channels(), 2);
        // bsid 9: half the sample rate.
        f[5] = 9 << 3;
        assert_eq!(SyncFrame::parse(&f).unwrap().sample_rate, 24000);
    }

    #[test]
    fn eac3_headers() {
        // Independent substream 0, frmsiz 255 (512 bytes), 48 kHz, 6
        // blocks, acmod 2, no LFE, bsid 16.
        let f = [0x0b, 0x77, 0x00, 0xff, 0b0011_0100, 16 << 3, 0];
        let h = SyncFrame::parse(&f).unwrap();
        assert_eq!(
            (h.kind, h.frame_len, h.sample_rate, h.samples, h.channels()),
            (
                StreamKind::Eac3 {
                    stream_type: 0,
                    substream_id: 0
                },
                512,
                48000,
                1536,
                2
            )
        );
        assert_eq!(h.bit_rate, 128000);
        // Dependent substream 1, fscod 3 / fscod2 1 (22.05 kHz), acmod 1 + LFE.
        let f = [0x0b, 0x77, 0b0100_1000, 0x3f, 0b1101_0011, 16 << 3, 0];
        let h = SyncFrame::parse(&f).unwrap();
        assert_eq!(
            (h.kind, h.frame_len, h.sample_rate, h.channels()),
            (
                StreamKind::Eac3 {
                    stream_type: 1,
                    substream_id: 1
                },
                128,
                22050,
                2
            )
        );
    }

    #[test]
    fn bad_headers() {
        let good = ac3_frame(0);
        for (mutate, offset) in [
            ((0, 0x0c), 0),
            ((4, 3 << 6), 4),
            ((4, 38), 4),
            ((5, 17 << 3), 5),
        ] {
            let mut f = good.clone();
            f[mutate.0] = mutate.1;
            assert_eq!(
                SyncFrame::parse(&f).unwrap_err().offset,
                offset,
                "{mutate:?}"
            );
        }
        assert_eq!(SyncFrame::parse(&good[..6]).unwrap_err().offset, 6);
        // E-AC-3: stream type 3, fscod2 3, a 2-byte frame.
        for f in [
            [0x0b, 0x77, 0xc0, 0xff, 0x30, 16 << 3, 0],
            [0x0b, 0x77, 0x00, 0xff, 0xf0, 16 << 3, 0],
            [0x0b, 0x77, 0x00, 0x00, 0x30, 16 << 3, 0],
        ] {
            assert!(SyncFrame::parse(&f).is_err(), "{f:?}");
        }
    }
}
