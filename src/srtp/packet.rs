//! The few header fields SRTP needs from an RTP or RTCP packet: where the
//! payload starts, the sequence number, the SSRC. Read by hand: a packet
//! parser (rtp-types) would also check the padding, whose count byte lies
//! inside the encrypted portion (RFC 3711 §3.1) and so is unreadable here.

use super::SrtpError;
use crate::rtp::RTP_HEADER_LEN;

/// A growable buffer holding one packet, which protection encrypts in
/// place and extends with the trailer (SRTCP index, MKI, tag): a `Vec<u8>`,
/// or a `BytesMut` carved from an arena that many packets share. Either
/// grows without reallocating when it has the policy's overhead in spare
/// capacity.
pub trait PacketBuffer: AsMut<[u8]> {
    /// Appends `bytes` after the packet.
    fn append(&mut self, bytes: &[u8]);
}

impl PacketBuffer for Vec<u8> {
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl PacketBuffer for bytes::BytesMut {
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// The fixed RTCP header and sender SSRC left in the clear by SRTCP (RFC
/// 3711 §3.4).
pub(crate) const RTCP_HEADER_LEN: usize = 8;

/// The length of an RTP packet's header: the fixed 12 bytes, the CSRC list
/// and the header extension (RFC 3550 §5.1, §5.3.1), which SRTP leaves in
/// the clear (RFC 3711 §3.1).
pub(crate) fn rtp_header_len(packet: &[u8]) -> Result<usize, SrtpError> {
    need(packet, "RTP header", 0, RTP_HEADER_LEN)?;
    check_version(packet)?;
    let csrc_end = RTP_HEADER_LEN + 4 * usize::from(packet[0] & 0x0f);
    need(packet, "CSRC list", RTP_HEADER_LEN, csrc_end)?;
    if packet[0] & 0x10 == 0 {
        return Ok(csrc_end);
    }
    need(packet, "header extension", csrc_end, csrc_end + 4)?;
    let words = usize::from(u16::from_be_bytes([
        packet[csrc_end + 2],
        packet[csrc_end + 3],
    ]));
    let end = csrc_end + 4 + 4 * words;
    need(packet, "header extension", csrc_end, end)?;
    Ok(end)
}

/// Checks an RTCP packet has the header SRTCP leaves in the clear.
pub(crate) fn check_rtcp_header(packet: &[u8]) -> Result<(), SrtpError> {
    need(packet, "RTCP header", 0, RTCP_HEADER_LEN)?;
    check_version(packet)
}

/// The RTP sequence number (bytes 2-3).
pub(crate) fn rtp_sequence(packet: &[u8]) -> u16 {
    u16::from_be_bytes([packet[2], packet[3]])
}

/// The big-endian 32-bit word at `offset`.
pub(crate) fn be_u32(packet: &[u8], offset: usize) -> u32 {
    u32::from_be_bytes(packet[offset..offset + 4].try_into().expect("4 bytes"))
}

/// Byte offset of the SSRC in an RTP header.
pub(crate) const RTP_SSRC_OFFSET: usize = 8;
/// Byte offset of the sender's SSRC in an RTCP header.
pub(crate) const RTCP_SSRC_OFFSET: usize = 4;

/// Fails unless the packet has at least `end` bytes.
pub(crate) fn need(
    packet: &[u8],
    what: &'static str,
    offset: usize,
    end: usize,
) -> Result<(), SrtpError> {
    if packet.len() < end {
        return Err(SrtpError::Truncated {
            what,
            offset,
            need: end,
            len: packet.len(),
        });
    }
    Ok(())
}

fn check_version(packet: &[u8]) -> Result<(), SrtpError> {
    if packet[0] >> 6 != 2 {
        return Err(SrtpError::Malformed {
            offset: 0,
            reason: "RTP/RTCP version is not 2",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_covers_csrcs_and_the_extension() {
        let mut p = vec![0x80, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xAA];
        assert_eq!(rtp_header_len(&p), Ok(12));
        p[0] = 0x82; // two CSRCs
        p.resize(12 + 8, 0);
        assert_eq!(rtp_header_len(&p), Ok(20));
        p[0] = 0x92; // and an extension of one word
        p.extend_from_slice(&[0xBE, 0xDE, 0, 1, 1, 2, 3, 4, 0xAA]);
        assert_eq!(rtp_header_len(&p), Ok(28));
    }

    #[test]
    fn truncated_and_foreign_headers_are_refused_with_their_offset() {
        assert!(matches!(
            rtp_header_len(&[0x80; 11]),
            Err(SrtpError::Truncated {
                offset: 0,
                need: 12,
                len: 11,
                ..
            })
        ));
        assert!(matches!(
            rtp_header_len(&[0x40; 12]),
            Err(SrtpError::Malformed { offset: 0, .. })
        ));
        let mut p = vec![0x8f; 12];
        p.resize(12 + 59, 0);
        assert!(matches!(
            rtp_header_len(&p),
            Err(SrtpError::Truncated {
                what: "CSRC list",
                offset: 12,
                need: 72,
                ..
            })
        ));
        // An extension length of 0xFFFF words past a short packet.
        let mut p = vec![
            0x90, 96, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0xFF, 0xFF,
        ];
        p.resize(40, 0);
        assert!(matches!(
            rtp_header_len(&p),
            Err(SrtpError::Truncated {
                what: "header extension",
                offset: 12,
                ..
            })
        ));
        assert!(matches!(
            check_rtcp_header(&[0x80, 200, 0, 1, 0, 0, 0]),
            Err(SrtpError::Truncated {
                offset: 0,
                need: 8,
                ..
            })
        ));
    }
}
