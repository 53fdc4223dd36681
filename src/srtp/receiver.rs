//! The receiving side of a cryptographic context: authentication, replay
//! protection and decryption of SRTP (RFC 3711 §3.3) and SRTCP (§3.4)
//! packets, for our tests and a decrypting tool.

use std::fmt;

use hmac::Mac;

use super::index::{OutOfRange, ReplayWindow, RolloverCounter};
use super::keys::SessionKeys;
use super::packet::{
    be_u32, check_rtcp_header, need, rtp_header_len, rtp_sequence, RTCP_HEADER_LEN,
    RTCP_SSRC_OFFSET, RTP_SSRC_OFFSET,
};
use super::policy::SRTCP_INDEX_LEN;
use super::{Policy, SrtpError, SrtpKey};

/// Unprotects the SRTP and SRTCP packets of one stream under a master key.
/// The stream's SSRC is the first authentic packet's; packets of another
/// SSRC are refused (RFC 3711 §3.2.3). Each packet is checked in the order
/// of §3.3: index estimate and replay list, MKI, tag, then decryption; the
/// context changes only for packets that authenticate.
pub struct SrtpReceiver {
    rtp: SessionKeys,
    rtcp: SessionKeys,
    policy: Policy,
    ssrc: Option<u32>,
    counter: RolloverCounter,
    rtp_replay: ReplayWindow,
    rtcp_replay: ReplayWindow,
}

impl SrtpReceiver {
    /// A context whose first SRTP packet has rollover counter `roc` (0 for
    /// a stream received from its start; the key exchange gives it
    /// otherwise, e.g. MIKEY's crypto session map).
    pub fn new(key: &SrtpKey, policy: Policy, roc: u32) -> SrtpReceiver {
        SrtpReceiver {
            rtp: SessionKeys::rtp(key),
            rtcp: SessionKeys::rtcp(key),
            policy,
            ssrc: None,
            counter: RolloverCounter::new(roc),
            rtp_replay: ReplayWindow::default(),
            rtcp_replay: ReplayWindow::default(),
        }
    }

    /// The stream's SSRC, once a packet authenticated.
    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    /// The rollover counter of the highest packet received.
    pub fn roc(&self) -> u32 {
        self.counter.roc()
    }

    /// Checks and decrypts the SRTP packet in `packet`, in place. Returns
    /// the length of the RTP packet it held (the MKI and tag removed),
    /// which starts the buffer.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let header = rtp_header_len(packet)?;
        let trailer = self.policy.rtp_overhead();
        need(
            packet,
            "MKI and authentication tag",
            header,
            header + trailer,
        )?;
        let ssrc = self.check_ssrc(be_u32(packet, RTP_SSRC_OFFSET), RTP_SSRC_OFFSET)?;
        let tag_at = packet.len() - self.policy.rtp_tag.bytes();
        let end = packet.len() - trailer;
        self.check_mki(&packet[end..tag_at], end)?;
        let seq = rtp_sequence(packet);
        let (roc, index) = self.counter.estimate(seq).map_err(|e| match e {
            OutOfRange::BeforeStart => SrtpError::Replayed {
                index: u64::from(seq),
            },
            OutOfRange::PastEnd => SrtpError::IndexExhausted { what: "SRTP" },
        })?;
        if !self.rtp_replay.is_fresh(index) {
            return Err(SrtpError::Replayed { index });
        }
        let mut mac = self.rtp.mac();
        mac.update(&packet[..end]);
        mac.update(&roc.to_be_bytes());
        mac.verify_truncated_left(&packet[tag_at..])
            .map_err(|_| SrtpError::Authentication { offset: tag_at })?;
        if self.policy.encrypt_rtp {
            self.rtp
                .apply_keystream(ssrc, index, &mut packet[header..end]);
        }
        self.counter.update(seq, roc);
        self.rtp_replay.accept(index);
        self.ssrc = Some(ssrc);
        Ok(end)
    }

    /// Checks and decrypts the SRTCP packet in `packet`, in place,
    /// following its E flag. Returns the length of the RTCP packet it held
    /// (SRTCP index, MKI and tag removed), which starts the buffer.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        check_rtcp_header(packet)?;
        let trailer = self.policy.rtcp_overhead();
        need(
            packet,
            "SRTCP index, MKI and authentication tag",
            RTCP_HEADER_LEN,
            RTCP_HEADER_LEN + trailer,
        )?;
        let ssrc = self.check_ssrc(be_u32(packet, RTCP_SSRC_OFFSET), RTCP_SSRC_OFFSET)?;
        let tag_at = packet.len() - self.policy.rtcp_tag.bytes();
        let mki_at = tag_at - self.policy.mki_len();
        self.check_mki(&packet[mki_at..tag_at], mki_at)?;
        let end = mki_at - SRTCP_INDEX_LEN;
        let word = be_u32(packet, end);
        let index = u64::from(word & 0x7fff_ffff);
        if !self.rtcp_replay.is_fresh(index) {
            return Err(SrtpError::Replayed { index });
        }
        let mut mac = self.rtcp.mac();
        mac.update(&packet[..mki_at]);
        mac.verify_truncated_left(&packet[tag_at..])
            .map_err(|_| SrtpError::Authentication { offset: tag_at })?;
        if word & 0x8000_0000 != 0 {
            self.rtcp
                .apply_keystream(ssrc, index, &mut packet[RTCP_HEADER_LEN..end]);
        }
        self.rtcp_replay.accept(index);
        self.ssrc = Some(ssrc);
        Ok(end)
    }

    fn check_ssrc(&self, found: u32, offset: usize) -> Result<u32, SrtpError> {
        match self.ssrc {
            Some(expected) if expected != found => Err(SrtpError::SsrcMismatch {
                offset,
                expected,
                found,
            }),
            _ => Ok(found),
        }
    }

    fn check_mki(&self, field: &[u8], offset: usize) -> Result<(), SrtpError> {
        match self.policy.mki {
            Some(mki) if mki.0[..] != *field => Err(SrtpError::MkiMismatch { offset }),
            _ => Ok(()),
        }
    }
}

impl fmt::Debug for SrtpReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SrtpReceiver")
            .field("policy", &self.policy)
            .field("ssrc", &self.ssrc)
            .field("roc", &self.counter.roc())
            .finish_non_exhaustive()
    }
}
