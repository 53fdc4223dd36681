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
use super::{PacketBuffer, Policy, SrtpError, SrtpKey};

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
    pub fn protect_rtp<B>(&mut self, packet: &mut B) -> Result<(), SrtpError>
    where
        B: PacketBuffer + ?Sized,
    {
        let bytes = packet.as_mut();
        let header = rtp_header_len(bytes)?;
        self.check_ssrc(be_u32(bytes, RTP_SSRC_OFFSET), RTP_SSRC_OFFSET)?;
        let seq = rtp_sequence(bytes);
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
                .apply_keystream(self.ssrc, index, &mut bytes[header..]);
        }
        let mut mac = self.rtp.mac();
        mac.update(bytes);
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
    pub fn protect_rtcp<B>(&mut self, packet: &mut B) -> Result<(), SrtpError>
    where
        B: PacketBuffer + ?Sized,
    {
        let bytes = packet.as_mut();
        check_rtcp_header(bytes)?;
        self.check_ssrc(be_u32(bytes, RTCP_SSRC_OFFSET), RTCP_SSRC_OFFSET)?;
        let index = self.rtcp_index;
        if index > MAX_SRTCP_INDEX {
            return Err(SrtpError::IndexExhausted { what: "SRTCP" });
        }
        let encrypt = self.policy.encrypt_rtcp;
        if encrypt {
            self.rtcp
                .apply_keystream(self.ssrc, u64::from(index), &mut bytes[RTCP_HEADER_LEN..]);
        }
        let e_flag = if encrypt { 0x8000_0000 } else { 0 };
        packet.append(&(e_flag | index).to_be_bytes());
        let mut mac = self.rtcp.mac();
        mac.update(packet.as_mut());
        self.append_trailer(packet, mac, self.policy.rtcp_tag.bytes());
        self.rtcp_index = index + 1;
        Ok(())
    }

    /// The sequence number the next RTP packet must have at least (mod
    /// 2^16) for its index to be new: one past the highest protected, or
    /// `None` before the first packet. A sender that starts numbering
    /// afresh under this context (a stream opened again) starts here.
    pub fn next_sequence(&self) -> Option<u16> {
        self.counter
            .highest_index()
            .map(|last| (last as u16).wrapping_add(1))
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
    fn append_trailer<B>(&self, packet: &mut B, mac: hmac::Hmac<sha1::Sha1>, tag_len: usize)
    where
        B: PacketBuffer + ?Sized,
    {
        let tag = mac.finalize().into_bytes();
        if let Some(mki) = self.policy.mki {
            packet.append(&mki.0);
        }
        packet.append(&tag[..tag_len]);
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
