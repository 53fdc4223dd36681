//! The sending side of a cryptographic context: SRTP (RFC 3711 §3.3) and
//! SRTCP (§3.4) protection of one stream's packets.

use std::fmt;

use hmac::Mac;

use super::index::{OutOfRange, RolloverCounter};
use super::keys::SessionKeys;
use super::packet::{
    be_u32, check_rtcp_header, rtp_header_len, rtp_sequence, RTCP_HEADER_LEN, RTCP_SSRC_OFFSET,
    RTP_SSRC_OFFSET,
};
use super::{Policy, SrtpError, SrtpKey};

/// The largest SRTCP index: 31 bits (RFC 3711 §3.4).
const MAX_SRTCP_INDEX: u32 = 0x7fff_ffff;

/// Protects the RTP and RTCP packets of one stream (one SSRC, RFC 3711
/// §3.2.3) under a master key. The session keys are derived once, here;
/// protecting a packet encrypts it in place and appends the MKI and tag to
/// the same buffer, with no heap allocation when the buffer has
/// [`Policy::rtp_overhead`] (or [`Policy::rtcp_overhead`]) bytes of spare
/// capacity.
///
/// The rollover counter follows the sequence numbers across their wraps
/// (§3.3.1); a packet whose index is not past every index protected before
/// is refused ([`SrtpError::IndexReused`]), as reusing an index would reuse
/// keystream. Protect packets when they are sent, in order.
pub struct SrtpSender {
    rtp: SessionKeys,
    rtcp: SessionKeys,
    policy: Policy,
    ssrc: u32,
    counter: RolloverCounter,
    /// The next SRTCP index.
    rtcp_index: u32,
}

impl SrtpSender {
    /// A context for stream `ssrc` starting at rollover counter 0 and SRTCP
    /// index 0.
    pub fn new(key: &SrtpKey, policy: Policy, ssrc: u32) -> SrtpSender {
        SrtpSender {
            rtp: SessionKeys::rtp(key),
            rtcp: SessionKeys::rtcp(key),
            policy,
            ssrc,
            counter: RolloverCounter::new(0),
            rtcp_index: 0,
        }
    }

    /// The context's policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The stream's SSRC.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The current rollover counter: what a key exchange announces for
    /// this SSRC (the ROC of MIKEY's crypto session map, RFC 3830 §6.1.1).
    pub fn roc(&self) -> u32 {
        self.counter.roc()
    }

    /// Turns the RTP packet in `packet` into an SRTP packet (RFC 3711
    /// §3.3): encrypts the payload (everything after the header, CSRCs and
    /// extension, padding included) unless the policy says not to, then
    /// appends the MKI, if any, and the authentication tag over the header,
    /// the payload and the rollover counter. On error the packet is left as
    /// it was.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        let header = rtp_header_len(packet)?;
        self.check_ssrc(be_u32(packet, RTP_SSRC_OFFSET), RTP_SSRC_OFFSET)?;
        let seq = rtp_sequence(packet);
        let (roc, index) = self.counter.estimate(seq).map_err(|e| match e {
            OutOfRange::PastEnd => SrtpError::IndexExhausted { what: "SRTP" },
            OutOfRange::BeforeStart => SrtpError::IndexReused {
                index: u64::from(seq),
                last: self.counter.highest_index().unwrap_or(0),
            },
        })?;
        if let Some(last) = self.counter.highest_index().filter(|&last| index <= last) {
            return Err(SrtpError::IndexReused { index, last });
        }
        if self.policy.encrypt_rtp {
            self.rtp
                .apply_keystream(self.ssrc, index, &mut packet[header..]);
        }
        let mut mac = self.rtp.mac();
        mac.update(packet);
        mac.update(&roc.to_be_bytes());
        self.append_trailer(packet, mac, self.policy.rtp_tag.bytes());
        self.counter.update(seq, roc);
        Ok(())
    }

    /// Turns the (compound) RTCP packet in `packet` into an SRTCP packet
    /// (RFC 3711 §3.4): encrypts everything after the first header and
    /// sender SSRC unless the policy says not to, then appends the E flag
    /// with the SRTCP index, the MKI if any, and the authentication tag
    /// over all of it. On error the packet is left as it was.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) -> Result<(), SrtpError> {
        check_rtcp_header(packet)?;
        self.check_ssrc(be_u32(packet, RTCP_SSRC_OFFSET), RTCP_SSRC_OFFSET)?;
        let index = self.rtcp_index;
        if index > MAX_SRTCP_INDEX {
            return Err(SrtpError::IndexExhausted { what: "SRTCP" });
        }
        let encrypt = self.policy.encrypt_rtcp;
        if encrypt {
            self.rtcp
                .apply_keystream(self.ssrc, u64::from(index), &mut packet[RTCP_HEADER_LEN..]);
        }
        let e_flag = if encrypt { 0x8000_0000 } else { 0 };
        packet.extend_from_slice(&(e_flag | index).to_be_bytes());
        let mut mac = self.rtcp.mac();
        mac.update(packet);
        self.append_trailer(packet, mac, self.policy.rtcp_tag.bytes());
        self.rtcp_index = index + 1;
        Ok(())
    }

    fn check_ssrc(&self, found: u32, offset: usize) -> Result<(), SrtpError> {
        if found != self.ssrc {
            return Err(SrtpError::SsrcMismatch {
                offset,
                expected: self.ssrc,
                found,
            });
        }
        Ok(())
    }

    /// Appends the MKI (not authenticated, RFC 3711 §3.1) and the tag:
    /// the leftmost `tag_len` bytes of the HMAC (§4.2.1).
    fn append_trailer(&self, packet: &mut Vec<u8>, mac: hmac::Hmac<sha1::Sha1>, tag_len: usize) {
        let tag = mac.finalize().into_bytes();
        if let Some(mki) = self.policy.mki {
            packet.extend_from_slice(&mki.0);
        }
        packet.extend_from_slice(&tag[..tag_len]);
    }
}

impl fmt::Debug for SrtpSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpSender")
            .field("policy", &self.policy)
            .field("ssrc", &self.ssrc)
            .field("roc", &self.counter.roc())
            .field("rtcp_index", &self.rtcp_index)
            .finish_non_exhaustive()
    }
}
