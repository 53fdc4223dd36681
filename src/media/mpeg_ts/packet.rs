//! Transport stream packets (ISO/IEC 13818-1 §2.4.3.2–§2.4.3.5): the
//! 4-byte header, the adaptation field with its PCR and discontinuity
//! indicator, and the packet framing of a file: 188-byte packets, or
//! 192-byte ones whose 4-byte `TP_extra_header` (arrival time stamp, as
//! Blu-ray's M2TS and AVCHD's MTS write) comes first.

/// Bytes of a transport stream packet.
pub(crate) const TS_PACKET: usize = 188;

/// The first byte of every packet.
pub(crate) const SYNC_BYTE: u8 = 0x47;

/// The PID of null packets.
pub(crate) const NULL_PID: u16 = 0x1fff;

/// Packets in a row with a sync byte where expected that make a framing
/// trusted.
const SYNC_RUN: usize = 4;

/// How a file frames its packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Framing {
    /// Bytes per packet in the file: 188 or 192.
    pub len: usize,
    /// Bytes before each packet's sync byte: 0, or 4 for 192-byte packets.
    pub prefix: usize,
}

impl Framing {
    /// 188-byte packets.
    pub const TS: Framing = Framing {
        len: TS_PACKET,
        prefix: 0,
    };
    /// 192-byte packets with a 4-byte arrival time stamp first.
    pub const M2TS: Framing = Framing {
        len: TS_PACKET + 4,
        prefix: 4,
    };

    /// Whether `data` holds a run of [`SYNC_RUN`] packets of this framing
    /// from `at` (as many as it holds whole, when fewer, but two at least).
    pub fn synced_at(self, data: &[u8], at: usize) -> bool {
        let run = (data.len().saturating_sub(at) / self.len).min(SYNC_RUN);
        run >= 2 && (0..run).all(|i| data[at + self.prefix + i * self.len] == SYNC_BYTE)
    }

    /// The framing and first packet offset of `head` (the start of a file):
    /// the first offset where a run of packets starts, 188-byte packets
    /// preferred.
    pub fn detect(head: &[u8]) -> Option<(Framing, usize)> {
        (0..head.len()).find_map(|at| {
            [Framing::TS, Framing::M2TS]
                .into_iter()
                .find(|f| f.synced_at(head, at))
                .map(|f| (f, at))
        })
    }
}

/// The fields of a packet header and adaptation field the readers use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PacketHeader {
    /// `transport_error_indicator`: the packet is known to be damaged.
    pub error: bool,
    /// `payload_unit_start_indicator`.
    pub unit_start: bool,
    /// `PID`.
    pub pid: u16,
    /// `transport_scrambling_control` is not `00`.
    pub scrambled: bool,
    /// `continuity_counter`.
    pub counter: u8,
    /// Where the payload starts in the packet, if it has one.
    pub payload: Option<usize>,
    /// `discontinuity_indicator` of the adaptation field.
    pub discontinuity: bool,
    /// `random_access_indicator` of the adaptation field.
    pub random_access: bool,
    /// The PCR: its 33-bit base (90 kHz) and 9-bit extension (27 MHz).
    pub pcr: Option<(u64, u16)>,
}

impl PacketHeader {
    /// Parses the header of the 188-byte `packet` (sync byte first).
    pub fn parse(packet: &[u8]) -> Result<PacketHeader, &'static str> {
        if packet.len() < TS_PACKET || packet[0] != SYNC_BYTE {
            return Err("no TS packet sync byte");
        }
        let control = (packet[3] >> 4) & 3;
        let mut header = PacketHeader {
            error: packet[1] & 0x80 != 0,
            unit_start: packet[1] & 0x40 != 0,
            pid: u16::from_be_bytes([packet[1] & 0x1f, packet[2]]),
            scrambled: packet[3] >> 6 != 0,
            counter: packet[3] & 0x0f,
            payload: None,
            discontinuity: false,
            random_access: false,
            pcr: None,
        };
        let mut payload = 4;
        if control & 2 != 0 {
            let len = usize::from(packet[4]);
            // 183 bytes with no payload, at most 182 with one (§2.4.3.5).
            let max = if control & 1 != 0 { 182 } else { 183 };
            if len > max {
                return Err("adaptation field longer than the packet");
            }
            if len > 0 {
                let flags = packet[5];
                header.discontinuity = flags & 0x80 != 0;
                header.random_access = flags & 0x40 != 0;
                if flags & 0x10 != 0 && len >= 7 {
                    let b = &packet[6..12];
                    let base = u64::from(b[0]) << 25
                        | u64::from(b[1]) << 17
                        | u64::from(b[2]) << 9
                        | u64::from(b[3]) << 1
                        | u64::from(b[4] >> 7);
                    let extension = u16::from(b[4] & 1) << 8 | u16::from(b[5]);
                    header.pcr = Some((base, extension));
                }
            }
            payload = 5 + len;
        }
        if control & 1 != 0 && payload < TS_PACKET {
            header.payload = Some(payload);
        }
        if control == 0 {
            return Err("reserved adaptation_field_control 00");
        }
        Ok(header)
    }
}

/// The CRC-32 of MPEG-2 sections (ISO/IEC 13818-1 Annex A: polynomial
/// 0x04C11DB7, initial value 0xFFFFFFFF, no reflection, no final XOR): 0
/// over a whole section with its `CRC_32` field.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut crc = (i as u32) << 24;
            let mut bit = 0;
            while bit < 8 {
                crc = if crc & 0x8000_0000 != 0 {
                    (crc << 1) ^ 0x04c1_1db7
                } else {
                    crc << 1
                };
                bit += 1;
            }
            table[i] = crc;
            i += 1;
        }
        table
    };
    data.iter().fold(0xffff_ffff, |crc, &b| {
        (crc << 8) ^ TABLE[usize::from((crc >> 24) as u8 ^ b)]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet of PID `pid` with an adaptation field of `af` (after its
    /// length byte) and a payload of 0x55.
    pub(crate) fn packet(pid: u16, start: bool, counter: u8, af: Option<&[u8]>) -> Vec<u8> {
        let mut p = vec![
            SYNC_BYTE,
            (u8::from(start) << 6) | (pid >> 8) as u8,
            pid as u8,
            (if af.is_some() { 0x30 } else { 0x10 }) | counter,
        ];
        if let Some(af) = af {
            p.push(af.len() as u8);
            p.extend_from_slice(af);
        }
        p.resize(TS_PACKET, 0x55);
        p
    }

    #[test]
    fn headers_and_pcr() {
        // PCR base 0x1_2345_6789, extension 0x123.
        let base: u64 = 0x1_2345_6789;
        let pcr = [
            0x50,
            (base >> 25) as u8,
            (base >> 17) as u8,
            (base >> 9) as u8,
            (base >> 1) as u8,
            ((base & 1) << 7) as u8 | 0x7e | 1,
            0x23,
        ];
        let p = packet(0x100, true, 7, Some(&pcr));
        let h = PacketHeader::parse(&p).unwrap();
        assert_eq!((h.pid, h.unit_start, h.counter), (0x100, true, 7));
        assert_eq!((h.pcr, h.payload), (Some((base, 0x123)), Some(12)));
        assert!(!h.discontinuity && h.random_access);
        // A zero-length adaptation field: one byte, then the payload.
        let h = PacketHeader::parse(&packet(0x100, false, 0, Some(&[]))).unwrap();
        assert_eq!((h.payload, h.pcr), (Some(5), None));
        // Adaptation field only, filling the packet.
        let mut only = packet(0x100, false, 0, Some(&[0; 183]));
        only[3] = 0x20;
        assert_eq!(PacketHeader::parse(&only).unwrap().payload, None);
        let mut long = packet(0x100, false, 0, Some(&[0; 182]));
        long[4] = 183;
        assert!(PacketHeader::parse(&long).is_err());
        let mut reserved = packet(0x100, false, 0, None);
        reserved[3] &= 0x0f;
        assert!(PacketHeader::parse(&reserved).is_err());
    }

    #[test]
    fn framing_is_detected_after_junk() {
        let ts: Vec<u8> = (0..5).flat_map(|i| packet(0x100, false, i, None)).collect();
        assert_eq!(Framing::detect(&ts), Some((Framing::TS, 0)));
        let m2ts: Vec<u8> = (0..5)
            .flat_map(|i| [vec![0, 0, 0, i], packet(0x100, false, i, None)].concat())
            .collect();
        assert_eq!(Framing::detect(&m2ts), Some((Framing::M2TS, 0)));
        let junky = [b"junk".to_vec(), ts[..188 * 4].to_vec()].concat();
        assert_eq!(Framing::detect(&junky), Some((Framing::TS, 4)));
        assert_eq!(Framing::detect(&[0x47; 100]), None);
    }

    #[test]
    fn crc_of_a_pat() {
        // The PAT FFmpeg writes: program 1 on PID 0x1000.
        let pat = [
            0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1,
            0x04, 0xb2,
        ];
        assert_eq!(crc32(&pat), 0);
        assert_ne!(crc32(&pat[..15]), 0);
    }
}
