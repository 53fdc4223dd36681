//! What a cryptographic context does to each packet: the crypto suite, the
//! tag lengths, whether payloads are encrypted, and the MKI.

use super::SrtpError;

/// The SRTP crypto suites of RFC 4568 §6.2 this module implements: AES in
/// counter mode with a 128-bit key (RFC 3711 §4.1.1) and HMAC-SHA1
/// authentication (§4.2.1), the two mandatory suites of RFC 3711 §5.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `AES_CM_128_HMAC_SHA1_80`: 80-bit tags (RFC 4568 §6.2.1).
    AesCm128HmacSha1_80,
    /// `AES_CM_128_HMAC_SHA1_32`: 32-bit SRTP tags, 80-bit SRTCP tags
    /// (RFC 4568 §6.2.2, RFC 3711 §7.5).
    AesCm128HmacSha1_32,
}

impl Suite {
    /// The suite's name in SDES (RFC 4568 §6.2).
    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    /// The suite with this SDES name (exact, as RFC 4568 §9.2 spells it).
    pub fn from_name(name: &str) -> Option<Suite> {
        [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32]
            .into_iter()
            .find(|s| s.name() == name)
    }

    /// The SRTP authentication tag length.
    pub fn tag(self) -> TagLength {
        match self {
            Suite::AesCm128HmacSha1_80 => TagLength::Bits80,
            Suite::AesCm128HmacSha1_32 => TagLength::Bits32,
        }
    }
}

/// An HMAC-SHA1 tag truncated to 80 or 32 bits (RFC 3711 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagLength {
    /// 10 bytes.
    Bits80,
    /// 4 bytes.
    Bits32,
}

impl TagLength {
    /// The tag's length in bytes.
    pub fn bytes(self) -> usize {
        match self {
            TagLength::Bits80 => 10,
            TagLength::Bits32 => 4,
        }
    }

    /// The tag length of `bytes` bytes, if it is one of the two.
    pub fn from_bytes(bytes: usize) -> Option<TagLength> {
        match bytes {
            10 => Some(TagLength::Bits80),
            4 => Some(TagLength::Bits32),
            _ => None,
        }
    }
}

/// A Master Key Identifier (RFC 3711 §3.1), carried in every packet between
/// the encrypted portion and the tag when the context uses one. Four bytes:
/// the length live555 sends and requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mki(pub [u8; Mki::LEN]);

impl Mki {
    /// The MKI length this module supports.
    pub const LEN: usize = 4;

    /// A fresh random MKI.
    pub fn random() -> Result<Mki, SrtpError> {
        let mut bytes = [0; Mki::LEN];
        getrandom::fill(&mut bytes).map_err(SrtpError::Random)?;
        Ok(Mki(bytes))
    }

    /// The MKI as a big-endian integer (how SDES writes it, RFC 4568 §9.1).
    pub fn value(self) -> u32 {
        u32::from_be_bytes(self.0)
    }
}

/// What a cryptographic context does to each packet (RFC 3711 §3.2.1).
/// Authentication is always on: unauthenticated SRTP is not offered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The SRTP tag length.
    pub rtp_tag: TagLength,
    /// The SRTCP tag length.
    pub rtcp_tag: TagLength,
    /// Whether RTP payloads are encrypted (live555's `weEncryptSRTP`; RFC
    /// 4568's `UNENCRYPTED_SRTP` turns it off).
    pub encrypt_rtp: bool,
    /// Whether RTCP packets are encrypted (the E flag of RFC 3711 §3.4).
    pub encrypt_rtcp: bool,
    /// The MKI every packet carries, if any.
    pub mki: Option<Mki>,
}

impl Policy {
    /// A suite as RFC 4568 §6.2 defines it: encryption on, 80-bit SRTCP
    /// tags whatever the SRTP tag, no MKI.
    pub fn new(suite: Suite) -> Policy {
        Policy {
            rtp_tag: suite.tag(),
            rtcp_tag: TagLength::Bits80,
            encrypt_rtp: true,
            encrypt_rtcp: true,
            mki: None,
        }
    }

    /// The same policy with every packet carrying `mki`.
    pub fn with_mki(self, mki: Mki) -> Policy {
        Policy {
            mki: Some(mki),
            ..self
        }
    }

    /// The same policy authenticating but not encrypting (RTP and RTCP).
    pub fn without_encryption(self) -> Policy {
        Policy {
            encrypt_rtp: false,
            encrypt_rtcp: false,
            ..self
        }
    }

    /// The suite whose SRTP tag this policy uses.
    pub fn suite(&self) -> Suite {
        match self.rtp_tag {
            TagLength::Bits80 => Suite::AesCm128HmacSha1_80,
            TagLength::Bits32 => Suite::AesCm128HmacSha1_32,
        }
    }

    /// The MKI length: 0 or [`Mki::LEN`].
    pub fn mki_len(&self) -> usize {
        self.mki.map_or(0, |_| Mki::LEN)
    }

    /// Bytes protecting an RTP packet appends (MKI and tag): the spare
    /// capacity a buffer needs for [`SrtpSender::protect_rtp`] not to
    /// reallocate.
    ///
    /// [`SrtpSender::protect_rtp`]: super::SrtpSender::protect_rtp
    pub fn rtp_overhead(&self) -> usize {
        self.mki_len() + self.rtp_tag.bytes()
    }

    /// Bytes protecting an RTCP packet appends (E flag and SRTCP index,
    /// MKI, tag; RFC 3711 §3.4).
    pub fn rtcp_overhead(&self) -> usize {
        SRTCP_INDEX_LEN + self.mki_len() + self.rtcp_tag.bytes()
    }
}

/// Length of the E flag and SRTCP index word (RFC 3711 §3.4).
pub(crate) const SRTCP_INDEX_LEN: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suites_round_trip_through_their_names() {
        for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
            assert_eq!(Suite::from_name(suite.name()), Some(suite));
            assert_eq!(Policy::new(suite).suite(), suite);
        }
        assert_eq!(Suite::from_name("aes_cm_128_hmac_sha1_80"), None);
        assert_eq!(Suite::from_name("F8_128_HMAC_SHA1_80"), None);
    }

    #[test]
    fn the_32_bit_suite_keeps_80_bit_srtcp_tags() {
        let p = Policy::new(Suite::AesCm128HmacSha1_32);
        assert_eq!((p.rtp_overhead(), p.rtcp_overhead()), (4, 14));
        let p = p.with_mki(Mki([1, 2, 3, 4]));
        assert_eq!((p.rtp_overhead(), p.rtcp_overhead()), (8, 18));
        assert_eq!(Mki([1, 2, 3, 4]).value(), 0x0102_0304);
        assert_ne!(Mki::random().unwrap(), Mki::random().unwrap());
    }
}
