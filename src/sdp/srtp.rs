//! The SRTP keys a session description hands out (RFC 3711 media, profile
//! `RTP/SAVP`): one master key and policy for every stream of a session,
//! each stream with an SSRC of its own, written into each media section
//! twice, as SDES (`a=crypto`, RFC 4568) and as MIKEY (`a=key-mgmt`, RFC
//! 4567), because no client reads both (see [`crate::srtp`]). Both put the
//! key in the clear: such a description is only sent inside TLS (RTSPS), or
//! written where the user asked for it (`packetize --srtp`).

use std::fmt;

use crate::srtp::mikey::{CryptoSession, MikeyMessage};
use crate::srtp::sdes::CryptoAttribute;
use crate::srtp::{KeyExchangeError, Policy, SrtpError, SrtpKey};

/// The SDES tag of the one `a=crypto` line of a media section (RFC 4568
/// §9.1: any number of up to nine digits; it only pairs offers and answers).
const CRYPTO_TAG: u32 = 1;

/// One stream's part of an [`SrtpOffer`].
#[derive(Clone)]
struct OfferedStream {
    /// The file track index.
    track: usize,
    /// The SSRC the stream is sent with.
    ssrc: u32,
    /// The value of its `a=crypto` attribute.
    crypto: String,
    /// The value of its `a=key-mgmt` attribute.
    key_mgmt: String,
}

/// The SRTP master key and policy of a session and each stream's SSRC,
/// with the SDP attributes announcing them.
#[derive(Clone)]
pub struct SrtpOffer {
    key: SrtpKey,
    policy: Policy,
    streams: Vec<OfferedStream>,
}

/// Why an offer could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    /// No random bytes for the key, the SSRCs or MIKEY's fields.
    #[error(transparent)]
    Random(#[from] SrtpError),
    /// A policy one of the two key exchanges cannot express (MIKEY has one
    /// tag length for SRTP and SRTCP, and one cipher for both).
    #[error("this SRTP policy cannot be announced: {0}")]
    Policy(#[from] KeyExchangeError),
}

impl SrtpOffer {
    /// An offer of `key` under `policy` for `streams` (file track index,
    /// SSRC), every stream at rollover counter 0: a new session's.
    pub fn new(
        key: SrtpKey,
        policy: Policy,
        streams: &[(usize, u32)],
    ) -> Result<SrtpOffer, OfferError> {
        let crypto = CryptoAttribute {
            tag: CRYPTO_TAG,
            policy,
            key: key.clone(),
        }
        .sdp_value()?;
        let streams = streams
            .iter()
            .map(|&(track, ssrc)| {
                // Each media section's crypto session map lists its own
                // stream: rtspsrc looks its SSRC up there for the ROC.
                let mikey = MikeyMessage::offer(&key, policy, &[CryptoSession { ssrc, roc: 0 }])?;
                Ok(OfferedStream {
                    track,
                    ssrc,
                    crypto: crypto.clone(),
                    key_mgmt: mikey.sdp_value()?,
                })
            })
            .collect::<Result<_, OfferError>>()?;
        Ok(SrtpOffer {
            key,
            policy,
            streams,
        })
    }

    /// An offer of a fresh random key under `policy` for `tracks` (file
    /// track indices), each with a fresh random SSRC ([`random_ssrcs`]).
    pub fn random(policy: Policy, tracks: &[usize]) -> Result<SrtpOffer, OfferError> {
        SrtpOffer::new(SrtpKey::random()?, policy, &random_ssrcs(tracks)?)
    }

    /// The file track indices offered, in order.
    pub fn tracks(&self) -> impl Iterator<Item = usize> + '_ {
        self.streams.iter().map(|s| s.track)
    }

    /// The master key.
    pub fn key(&self) -> &SrtpKey {
        &self.key
    }

    /// The policy every stream is protected with.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The SSRC offered for file track `track`.
    pub fn ssrc(&self, track: usize) -> Option<u32> {
        self.stream(track).map(|s| s.ssrc)
    }

    /// The `a=crypto` and `a=key-mgmt` values of file track `track`'s
    /// media section.
    pub fn attributes(&self, track: usize) -> Option<(&str, &str)> {
        self.stream(track)
            .map(|s| (s.crypto.as_str(), s.key_mgmt.as_str()))
    }

    fn stream(&self, track: usize) -> Option<&OfferedStream> {
        self.streams.iter().find(|s| s.track == track)
    }
}

/// A random SSRC for each of `tracks` (file track indices), all distinct:
/// two streams under one key must not share an SSRC, or their keystreams
/// would repeat (RFC 3711 §9.1).
pub fn random_ssrcs(tracks: &[usize]) -> Result<Vec<(usize, u32)>, SrtpError> {
    let mut ssrcs: Vec<(usize, u32)> = Vec::with_capacity(tracks.len());
    for &track in tracks {
        let ssrc = loop {
            let ssrc = getrandom::u32().map_err(SrtpError::Random)?;
            if ssrcs.iter().all(|&(_, other)| other != ssrc) {
                break ssrc;
            }
        };
        ssrcs.push((track, ssrc));
    }
    Ok(ssrcs)
}

impl fmt::Debug for SrtpOffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The attributes hold the key: left out.
        f.debug_struct("SrtpOffer")
            .field("policy", &self.policy)
            .field(
                "ssrcs",
                &self
                    .streams
                    .iter()
                    .map(|s| (s.track, s.ssrc))
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::{Mki, Suite};

    #[test]
    fn both_attributes_carry_the_same_key_and_each_stream_its_ssrc() {
        let policy = Policy::new(Suite::AesCm128HmacSha1_80);
        let offer = SrtpOffer::random(policy, &[0, 3]).unwrap();
        let (a, b) = (offer.ssrc(0).unwrap(), offer.ssrc(3).unwrap());
        assert_ne!(a, b);
        assert_eq!(offer.ssrc(1), None);
        assert_eq!(offer.tracks().collect::<Vec<_>>(), [0, 3]);
        for (track, ssrc) in [(0, a), (3, b)] {
            let (crypto, key_mgmt) = offer.attributes(track).unwrap();
            let sdes = CryptoAttribute::parse(crypto).unwrap();
            assert_eq!((sdes.tag, sdes.policy, &sdes.key), (1, policy, offer.key()));
            let mikey = MikeyMessage::parse_sdp_value(key_mgmt).unwrap();
            assert_eq!((mikey.policy, &mikey.key), (policy, offer.key()));
            assert_eq!(mikey.sessions, [CryptoSession { ssrc, roc: 0 }]);
        }
        assert!(!format!("{offer:?}").contains(offer.attributes(0).unwrap().0));
    }

    #[test]
    fn an_mki_and_the_null_cipher_reach_both_forms() {
        let policy = Policy::new(Suite::AesCm128HmacSha1_80)
            .with_mki(Mki([1, 2, 3, 4]))
            .without_encryption();
        let offer = SrtpOffer::random(policy, &[0]).unwrap();
        let (crypto, key_mgmt) = offer.attributes(0).unwrap();
        assert!(
            crypto.ends_with("|16909060:4 UNENCRYPTED_SRTP UNENCRYPTED_SRTCP"),
            "{crypto}"
        );
        assert_eq!(
            MikeyMessage::parse_sdp_value(key_mgmt).unwrap().policy,
            policy
        );
    }

    #[test]
    fn a_policy_mikey_cannot_express_is_refused() {
        // _32 as RFC 4568 defines it: 32-bit SRTP tags, 80-bit SRTCP tags.
        let policy = Policy::new(Suite::AesCm128HmacSha1_32);
        assert!(matches!(
            SrtpOffer::random(policy, &[0]),
            Err(OfferError::Policy(_))
        ));
    }
}
