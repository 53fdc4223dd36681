//! Vorbis I syntax that readers and the RTP payload format need to time
//! packets: the identification header (Vorbis I §4.2.2: channels, rate,
//! the two block sizes), the modes' block flags from the setup header
//! (§4.2.4.6), and the block size of an audio packet (§4.3.1).
//!
//! A packet of block size `n` following one of block size `p` completes
//! `p/4 + n/4` samples (§1.3.2: the overlapping halves of consecutive
//! windows); the first audio packet completes none.

use bitstream_io::{BitRead, BitReader, LittleEndian};

use super::header::HeaderError;
use super::xiph::XiphHeaders;

/// The Vorbis header packet types (§4.2.1): identification, comment, setup.
pub const HEADER_TYPES: [u8; 3] = [1, 3, 5];

/// The signature after each header packet type.
pub const MAGIC: &[u8] = b"vorbis";

/// The identification header (§4.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Identification {
    /// `audio_channels` (at least 1).
    pub channels: u8,
    /// `audio_sample_rate` in Hz (at least 1).
    pub sample_rate: u32,
    /// `bitrate_nominal` in bits per second; 0 or less when unset.
    pub bitrate_nominal: i32,
    /// Short and long block sizes in samples (`blocksize_0`,
    /// `blocksize_1`: powers of two from 64 to 8192, short ≤ long).
    pub blocksizes: [u16; 2],
}

impl Identification {
    /// Parses the 30-byte identification header packet.
    pub fn parse(packet: &[u8]) -> Result<Identification, HeaderError> {
        if packet.len() < 30 {
            return Err(HeaderError::at(
                packet.len(),
                "Vorbis identification header cut short",
            ));
        }
        if packet[0] != HEADER_TYPES[0] || &packet[1..7] != MAGIC {
            return Err(HeaderError::at(0, "not a Vorbis identification header"));
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([packet[at], packet[at + 1], packet[at + 2], packet[at + 3]])
        };
        if u32_at(7) != 0 {
            return Err(HeaderError::at(7, "Vorbis version other than 0"));
        }
        let channels = packet[11];
        if channels == 0 {
            return Err(HeaderError::at(11, "Vorbis stream of 0 channels"));
        }
        let sample_rate = u32_at(12);
        if sample_rate == 0 {
            return Err(HeaderError::at(12, "Vorbis sample rate of 0"));
        }
        let exponents = [packet[28] & 0x0f, packet[28] >> 4];
        if exponents.iter().any(|e| !(6..=13).contains(e)) || exponents[0] > exponents[1] {
            return Err(HeaderError::at(28, "Vorbis block sizes out of range"));
        }
        if packet[29] & 1 == 0 {
            return Err(HeaderError::at(
                29,
                "Vorbis identification header without framing bit",
            ));
        }
        Ok(Identification {
            channels,
            sample_rate,
            bitrate_nominal: u32_at(20) as i32,
            blocksizes: exponents.map(|e| 1 << e),
        })
    }
}

/// What timing a Vorbis stream's packets needs: the block sizes and each
/// mode's block flag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VorbisTiming {
    /// The identification header.
    pub identification: Identification,
    /// Per mode, whether it uses the long block (`vorbis_mode_blockflag`).
    pub mode_blockflags: Vec<bool>,
}

impl VorbisTiming {
    /// From the identification header and the modes of the setup header
    /// (the comment header plays no part: FFmpeg's RTP muxer sends it
    /// empty).
    pub fn from_headers(headers: &XiphHeaders) -> Result<VorbisTiming, HeaderError> {
        Ok(VorbisTiming {
            identification: Identification::parse(&headers.identification)?,
            mode_blockflags: mode_blockflags(&headers.setup)?,
        })
    }

    /// The block size of audio packet `packet` (§4.3.1: packet type bit 0,
    /// then the mode number in `ilog(modes - 1)` bits).
    pub fn blocksize(&self, packet: &[u8]) -> Result<u16, HeaderError> {
        let mut r = BitReader::endian(packet, LittleEndian);
        let not_audio = r
            .read_bit()
            .map_err(|_| HeaderError::at(0, "empty Vorbis packet"))?;
        if not_audio {
            return Err(HeaderError::at(
                0,
                "Vorbis header packet among audio packets",
            ));
        }
        let bits = u32::BITS - (self.mode_blockflags.len() as u32 - 1).leading_zeros();
        let mode: u32 = r
            .read_var(bits)
            .map_err(|_| HeaderError::at(0, "Vorbis packet cut short in its mode number"))?;
        let long = self
            .mode_blockflags
            .get(mode as usize)
            .ok_or_else(|| HeaderError::at(0, "Vorbis packet of an undefined mode"))?;
        Ok(self.identification.blocksizes[usize::from(*long)])
    }
}

/// Samples completed by a packet of block size `current` after one of
/// block size `previous` (§1.3.2).
pub fn samples_between(previous: u16, current: u16) -> u32 {
    u32::from(previous) / 4 + u32::from(current) / 4
}

/// The block flag of each mode of a setup header.
///
/// The modes come last in the setup header (§4.2.4.6), after codebooks,
/// time domain transforms, floors, residues and mappings whose lengths are
/// only known by decoding all of them. As FFmpeg's and GStreamer's parsers
/// do, this reads them backwards from the framing bit at the end: each mode
/// is 41 bits (block flag 1, window type 16 and transform type 16, both
/// zero, mapping 8), preceded by `vorbis_mode_count - 1` in 6 bits. The
/// largest count whose entries are all well formed and whose count field
/// agrees is taken (a smaller count can agree by chance when a mapping
/// number looks like the count field; a larger one would need 32 zero bits
/// in the mapping section too).
pub fn mode_blockflags(setup: &[u8]) -> Result<Vec<bool>, HeaderError> {
    if setup.first() != Some(&HEADER_TYPES[2]) || setup.get(1..7) != Some(MAGIC) {
        return Err(HeaderError::at(0, "not a Vorbis setup header"));
    }
    let mut r = Backwards {
        data: &setup[7..],
        left: (setup.len() as u64 - 7) * 8,
    };
    loop {
        match r.read(1) {
            Some(1) => break,
            Some(_) => {}
            None => {
                return Err(HeaderError::at(
                    setup.len(),
                    "Vorbis setup header without framing bit",
                ))
            }
        }
    }
    let mut flags = Vec::new();
    let mut best = None;
    while flags.len() < 64 {
        // Backwards: mapping, transform type, window type, block flag.
        let fields = (r.read(8), r.read(16), r.read(16), r.read(1));
        let (Some(mapping), Some(transform), Some(window), Some(blockflag)) = fields else {
            break;
        };
        if mapping > 63 || transform != 0 || window != 0 {
            break;
        }
        flags.push(blockflag == 1);
        let at = r.left;
        if r.read(6)
            .is_some_and(|count| count as usize + 1 == flags.len())
        {
            best = Some(flags.len());
        }
        r.left = at;
    }
    let count =
        best.ok_or_else(|| HeaderError::at(setup.len(), "no Vorbis mode configuration found"))?;
    flags.truncate(count);
    // Read backwards, the last mode came first.
    flags.reverse();
    Ok(flags)
}

/// Reads a Vorbis bitstream (packed least significant bit first, §2.1.4)
/// from its end towards its start: a field read this way, most
/// significant bit first, has the value it was written with.
struct Backwards<'a> {
    data: &'a [u8],
    /// Bits before the read position.
    left: u64,
}

impl Backwards<'_> {
    /// The `bits`-bit field ending at the read position, which moves to
    /// its start; `None` at the start of the data.
    fn read(&mut self, bits: u64) -> Option<u32> {
        if bits > self.left {
            return None;
        }
        let mut value = 0;
        for _ in 0..bits {
            self.left -= 1;
            let byte = self.data[(self.left / 8) as usize];
            value = (value << 1) | u32::from((byte >> (self.left % 8)) & 1);
        }
        Some(value)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use bitstream_io::{BitWrite, BitWriter};

    /// An identification header of `channels` at `rate` with block sizes
    /// 256 and 2048.
    pub(crate) fn identification(channels: u8, rate: u32) -> Vec<u8> {
        let mut p = vec![1];
        p.extend_from_slice(MAGIC);
        p.extend_from_slice(&0u32.to_le_bytes());
        p.push(channels);
        p.extend_from_slice(&rate.to_le_bytes());
        p.extend_from_slice(&[0; 12]);
        p.push(0xb8);
        p.push(1);
        p
    }

    /// A setup header ending with `modes` (block flag, mapping), after
    /// `junk` bits of a made-up mapping section.
    pub(crate) fn setup(modes: &[(bool, u8)], junk: &[u8]) -> Vec<u8> {
        let mut w = BitWriter::endian(Vec::new(), LittleEndian);
        for &b in junk {
            w.write::<8, u8>(b).unwrap();
        }
        w.write::<6, u8>(modes.len() as u8 - 1).unwrap();
        for &(flag, mapping) in modes {
            w.write_bit(flag).unwrap();
            w.write::<16, u16>(0).unwrap();
            w.write::<16, u16>(0).unwrap();
            w.write::<8, u8>(mapping).unwrap();
        }
        w.write_bit(true).unwrap();
        w.byte_align().unwrap();
        let mut p = vec![5];
        p.extend_from_slice(MAGIC);
        p.extend(w.into_writer());
        p
    }

    #[test]
    fn identification_fields() {
        let id = Identification::parse(&identification(2, 44100)).unwrap();
        assert_eq!(
            (id.channels, id.sample_rate, id.blocksizes),
            (2, 44100, [256, 2048])
        );
        let mut bad = identification(2, 44100);
        bad[28] = 0x8b; // short 2048, long 256
        assert_eq!(Identification::parse(&bad).unwrap_err().offset, 28);
        let mut bad = identification(2, 44100);
        bad[29] = 0;
        assert_eq!(Identification::parse(&bad).unwrap_err().offset, 29);
        assert_eq!(
            Identification::parse(&identification(0, 8000))
                .unwrap_err()
                .offset,
            11
        );
        assert_eq!(
            Identification::parse(&identification(1, 0))
                .unwrap_err()
                .offset,
            12
        );
        assert!(Identification::parse(&identification(1, 8000)[..29]).is_err());
    }

    #[test]
    fn modes_are_found_from_the_end() {
        // Mode 0 short with mapping 0, mode 1 long with mapping 1: the
        // count field of a single mode agrees by chance (mapping 0's high
        // bits are the zero "count"); the larger count wins.
        let s = setup(&[(false, 0), (true, 1)], &[0xa5, 0x5a, 0xff]);
        assert_eq!(mode_blockflags(&s), Ok(vec![false, true]));
        let s = setup(&[(true, 0)], &[0xff; 4]);
        assert_eq!(mode_blockflags(&s), Ok(vec![true]));
        let four: Vec<(bool, u8)> = (0..4).map(|i| (i % 2 == 1, i)).collect();
        assert_eq!(
            mode_blockflags(&setup(&four, &[1, 2, 3])),
            Ok(vec![false, true, false, true])
        );
        assert!(mode_blockflags(b"\x05vorbis\0\0").is_err());
        assert!(mode_blockflags(b"\x05vorbis").is_err());
        assert!(mode_blockflags(b"\x05vorbis\x01").is_err());
        assert!(mode_blockflags(b"\x03vorbis\x01").is_err());
    }

    #[test]
    fn packet_block_sizes() {
        let timing = VorbisTiming {
            identification: Identification::parse(&identification(1, 48000)).unwrap(),
            mode_blockflags: vec![false, true, true],
        };
        // Packet type 0, mode in 2 bits (LSB first): mode 1 is 0b010.
        assert_eq!(timing.blocksize(&[0b010]), Ok(2048));
        assert_eq!(timing.blocksize(&[0b000]), Ok(256));
        assert!(timing.blocksize(&[0b110]).is_err(), "mode 3 of 3");
        assert!(timing.blocksize(&[0b001]).is_err(), "a header packet");
        assert!(timing.blocksize(&[]).is_err());
        assert_eq!(samples_between(256, 2048), 576);
        let one = VorbisTiming {
            mode_blockflags: vec![true],
            ..timing
        };
        assert_eq!(one.blocksize(&[0]), Ok(2048), "no mode bits with one mode");
    }
}
