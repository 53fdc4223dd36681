//! SDES (RFC 4568): the SDP `a=crypto` attribute that hands the SRTP master
//! key to a client in the clear, which is sound only inside TLS (RTSPS).
//!
//! ```text
//! a=crypto:<tag> <crypto-suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [<session-params>]
//! ```
//!
//! What ffmpeg's RTSP client (`libavformat/rtsp.c`, `srtp.c`) reads: the
//! suite and the one word after `inline:`, which `av_base64_decode` must
//! turn into exactly 30 bytes. For `AES_CM_128_HMAC_SHA1_32` ffmpeg uses
//! 32-bit tags on SRTCP too, where RFC 4568 §6.2.2 (and libsrtp) keep 80:
//! the attribute cannot say which, so the sender's [`Policy::rtcp_tag`]
//! must match its reader (ffmpeg: 32; `_80` agrees everywhere). A lifetime
//! or MKI after a `|` makes the base64 decoding fail and the stream is not
//! decrypted; session parameters are ignored, so
//! `UNENCRYPTED_SRTP` would not stop ffmpeg decrypting plaintext. It does
//! no replay check and takes the last `a=crypto` of a media section. So an
//! attribute for ffmpeg is `<tag> <suite> inline:<40 base64 characters>`
//! over a context with no MKI and with encryption on, which is what
//! [`CryptoAttribute::sdp_value`] writes for such a policy. The parser
//! reads the whole RFC 4568 grammar for one key.

use base64::Engine as _;

use super::{KeyExchangeError, Mki, Policy, SrtpKey, Suite};

/// One `a=crypto` attribute: a tag, a suite and a single inline key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CryptoAttribute {
    /// The tag that identifies the attribute in an offer and its answer
    /// (RFC 4568 §9.1: up to nine digits).
    pub tag: u32,
    /// The suite's tag lengths, the session parameters `UNENCRYPTED_SRTP`
    /// and `UNENCRYPTED_SRTCP`, and the MKI.
    pub policy: Policy,
    /// The master key and salt.
    pub key: SrtpKey,
}

/// The largest tag: nine digits.
const MAX_TAG: u32 = 999_999_999;

impl CryptoAttribute {
    /// The attribute's value, after `a=crypto:` (RFC 4568 §9.1). The SRTCP
    /// tag length is not part of it (see the module documentation). Fails
    /// for a tag of more than nine digits.
    pub fn sdp_value(&self) -> Result<String, KeyExchangeError> {
        if self.tag > MAX_TAG {
            return Err(KeyExchangeError::unsupported(
                0,
                "an SDES tag of more than nine digits",
            ));
        }
        let mut value = format!(
            "{} {} inline:{}",
            self.tag,
            self.policy.suite().name(),
            base64::engine::general_purpose::STANDARD.encode(self.key.to_bytes())
        );
        if let Some(mki) = self.policy.mki {
            value += &format!("|{}:{}", mki.value(), Mki::LEN);
        }
        if !self.policy.encrypt_rtp {
            value += " UNENCRYPTED_SRTP";
        }
        if !self.policy.encrypt_rtcp {
            value += " UNENCRYPTED_SRTCP";
        }
        Ok(value)
    }

    /// Parses an attribute's value (after `a=crypto:`), with RFC 4568's
    /// 80-bit SRTCP tags. Offsets in errors are byte offsets in `value`.
    pub fn parse(value: &str) -> Result<CryptoAttribute, KeyExchangeError> {
        let mut fields = words(value);
        let (at, tag) = fields
            .next()
            .ok_or_else(|| KeyExchangeError::invalid(0, "empty crypto attribute"))?;
        let tag = (tag.len() <= 9 && tag.bytes().all(|b| b.is_ascii_digit()))
            .then(|| tag.parse::<u32>().ok())
            .flatten()
            .ok_or_else(|| {
                KeyExchangeError::invalid(at, format!("tag {tag:?} is not 1 to 9 digits"))
            })?;
        let (at, suite) = fields
            .next()
            .ok_or_else(|| KeyExchangeError::invalid(value.len(), "no crypto suite"))?;
        let suite = Suite::from_name(suite)
            .ok_or_else(|| KeyExchangeError::unsupported(at, format!("crypto suite {suite:?}")))?;
        let (at, key_params) = fields
            .next()
            .ok_or_else(|| KeyExchangeError::invalid(value.len(), "no key parameters"))?;
        let mut policy = Policy::new(suite);
        let (key, mki) = parse_key_params(at, key_params)?;
        policy.mki = mki;
        for (at, param) in fields {
            match param.split_once('=') {
                None if param == "UNENCRYPTED_SRTP" => policy.encrypt_rtp = false,
                None if param == "UNENCRYPTED_SRTCP" => policy.encrypt_rtcp = false,
                Some(("KDR", "0")) | Some(("FEC_ORDER", "FEC_SRTP" | "SRTP_FEC")) => {}
                Some(("WSH", n)) if n.parse::<u32>().is_ok_and(|n| n >= 64) => {}
                _ if param.starts_with('-') => {} // optional, may be ignored (RFC 4568 §6.3)
                _ => {
                    return Err(KeyExchangeError::unsupported(
                        at,
                        format!("session parameter {param:?}"),
                    ))
                }
            }
        }
        Ok(CryptoAttribute { tag, policy, key })
    }
}

/// The space-separated words of `value` with their byte offsets.
fn words(value: &str) -> impl Iterator<Item = (usize, &str)> {
    value
        .split(' ')
        .scan(0, |offset, word| {
            let at = *offset;
            *offset += word.len() + 1;
            Some((at, word))
        })
        .filter(|(_, word)| !word.is_empty())
}

/// `inline:<key||salt>[|lifetime][|MKI:length]` at offset `at` (RFC 4568
/// §6.1; one key: several `;`-separated keys are refused).
fn parse_key_params(at: usize, params: &str) -> Result<(SrtpKey, Option<Mki>), KeyExchangeError> {
    if params.contains(';') {
        return Err(KeyExchangeError::unsupported(
            at,
            "more than one master key",
        ));
    }
    let method = params
        .get(..7)
        .filter(|m| m.eq_ignore_ascii_case("inline:"));
    if method.is_none() {
        return Err(KeyExchangeError::unsupported(
            at,
            "a key method other than inline",
        ));
    }
    let mut parts = params[7..].split('|');
    let key_at = at + 7;
    let encoded = parts.next().unwrap_or_default();
    let key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| KeyExchangeError::invalid(key_at, format!("base64: {e}")))?;
    let key = SrtpKey::from_bytes(&key).ok_or_else(|| {
        KeyExchangeError::invalid(
            key_at,
            format!("{} bytes of key and salt, not 30", key.len()),
        )
    })?;
    let mut part_at = key_at + encoded.len() + 1;
    let mut mki = None;
    let mut seen_lifetime = false;
    for part in parts {
        if let Some((value, length)) = part.split_once(':') {
            if mki.is_some() {
                return Err(KeyExchangeError::invalid(part_at, "a second MKI"));
            }
            mki = Some(parse_mki(part_at, value, length)?);
        } else if !seen_lifetime && mki.is_none() {
            check_lifetime(part_at, part)?;
            seen_lifetime = true;
        } else {
            return Err(KeyExchangeError::invalid(
                part_at,
                format!("unexpected {part:?}"),
            ));
        }
        part_at += part.len() + 1;
    }
    Ok((key, mki))
}

/// `<value>:<length>`: this module's MKIs are 4 bytes.
fn parse_mki(at: usize, value: &str, length: &str) -> Result<Mki, KeyExchangeError> {
    let length: usize = length
        .parse()
        .ok()
        .filter(|n| (1..=128).contains(n))
        .ok_or_else(|| KeyExchangeError::invalid(at, format!("MKI length {length:?}")))?;
    if length != Mki::LEN {
        return Err(KeyExchangeError::unsupported(
            at,
            format!("an MKI of {length} bytes (not 4)"),
        ));
    }
    let value = digits(value)
        .and_then(|v| v.parse::<u32>().ok())
        .ok_or_else(|| {
            KeyExchangeError::invalid(at, format!("MKI value {value:?} does not fit 4 bytes"))
        })?;
    Ok(Mki(value.to_be_bytes()))
}

/// A key lifetime in packets: decimal or `2^n`, at most 2^48 (RFC 4568
/// §6.1, RFC 3711 §9.2).
fn check_lifetime(at: usize, lifetime: &str) -> Result<(), KeyExchangeError> {
    let packets = match lifetime.strip_prefix("2^") {
        Some(exponent) => digits(exponent)
            .and_then(|e| e.parse::<u32>().ok())
            .and_then(|e| 1u64.checked_shl(e)),
        None => digits(lifetime).and_then(|l| l.parse::<u64>().ok()),
    };
    match packets {
        Some(n) if (1..=1 << 48).contains(&n) => Ok(()),
        _ => Err(KeyExchangeError::invalid(
            at,
            format!("key lifetime {lifetime:?}"),
        )),
    }
}

fn digits(s: &str) -> Option<&str> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::TagLength;

    fn key() -> SrtpKey {
        SrtpKey::from_bytes(&(0..30).collect::<Vec<u8>>()).unwrap()
    }

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd";

    #[test]
    fn the_ffmpeg_form_is_tag_suite_and_forty_base64_characters() {
        let a = CryptoAttribute {
            tag: 1,
            policy: Policy::new(Suite::AesCm128HmacSha1_80),
            key: key(),
        };
        let value = a.sdp_value().unwrap();
        assert_eq!(value, format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}"));
        assert_eq!(CryptoAttribute::parse(&value), Ok(a));
    }

    #[test]
    fn mki_and_encryption_round_trip() {
        for policy in [
            Policy::new(Suite::AesCm128HmacSha1_32).with_mki(Mki([0, 0, 1, 2])),
            Policy::new(Suite::AesCm128HmacSha1_80).without_encryption(),
            Policy {
                encrypt_rtcp: false,
                ..Policy::new(Suite::AesCm128HmacSha1_80)
            },
        ] {
            let a = CryptoAttribute {
                tag: 999_999_999,
                policy,
                key: key(),
            };
            let value = a.sdp_value().unwrap();
            assert_eq!(CryptoAttribute::parse(&value), Ok(a), "{value}");
        }
        let with_mki = CryptoAttribute {
            tag: 2,
            policy: Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([0, 0, 1, 2])),
            key: key(),
        };
        assert!(with_mki.sdp_value().unwrap().ends_with("|258:4"));
    }

    /// RFC 4568's own examples (§4 and §9.1 forms) and a lifetime.
    #[test]
    fn rfc_4568_forms_parse() {
        let a = CryptoAttribute::parse(&format!(
            "1 AES_CM_128_HMAC_SHA1_80 inline:{KEY_B64}|2^20|1:4 FEC_ORDER=FEC_SRTP KDR=0 WSH=64 -OPT"
        ))
        .unwrap();
        assert_eq!(a.tag, 1);
        assert_eq!(a.key, key());
        assert_eq!(
            a.policy,
            Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([0, 0, 0, 1]))
        );
        let b = CryptoAttribute::parse(&format!(
            "7  AES_CM_128_HMAC_SHA1_32  INLINE:{KEY_B64}|1048576"
        ))
        .unwrap();
        assert_eq!(b.policy, Policy::new(Suite::AesCm128HmacSha1_32));
    }

    #[test]
    fn the_srtcp_tag_length_is_not_in_the_attribute() {
        let rfc = CryptoAttribute {
            tag: 1,
            policy: Policy::new(Suite::AesCm128HmacSha1_32),
            key: key(),
        };
        let ffmpeg = CryptoAttribute {
            policy: Policy {
                rtcp_tag: TagLength::Bits32,
                ..rfc.policy
            },
            ..rfc.clone()
        };
        assert_eq!(rfc.sdp_value(), ffmpeg.sdp_value());
        let long_tag = CryptoAttribute {
            tag: 1_000_000_000,
            ..rfc
        };
        assert!(long_tag.sdp_value().is_err());
    }

    #[test]
    fn malformed_and_unsupported_attributes_name_their_offset() {
        let k = KEY_B64;
        let cases = [
            (String::new(), 0),
            ("x AES_CM_128_HMAC_SHA1_80".to_owned(), 0),
            ("1234567890 AES_CM_128_HMAC_SHA1_80".to_owned(), 0),
            ("1".to_owned(), 1),
            (format!("1 F8_128_HMAC_SHA1_80 inline:{k}"), 2),
            (format!("1 AES_256_CM_HMAC_SHA1_80 inline:{k}"), 2),
            ("1 AES_CM_128_HMAC_SHA1_80".to_owned(), 25),
            (format!("1 AES_CM_128_HMAC_SHA1_80 uri:{k}"), 26),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k};inline:{k}"),
                26,
            ),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:AAEC".to_owned(), 33),
            ("1 AES_CM_128_HMAC_SHA1_80 inline:!!!!".to_owned(), 33),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:2"), 74),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|4294967296:4"),
                74,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:0"), 74),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^49"), 74),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|0"), 74),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|2^99999999999"),
                74,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k}|1:4|2^20"), 78),
            (
                format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} UNAUTHENTICATED_SRTP"),
                74,
            ),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} KDR=1"), 74),
            (format!("1 AES_CM_128_HMAC_SHA1_80 inline:{k} WSH=8"), 74),
        ];
        for (value, offset) in cases {
            let err = CryptoAttribute::parse(&value).expect_err(&value);
            let found = match &err {
                KeyExchangeError::Truncated { offset, .. }
                | KeyExchangeError::Invalid { offset, .. }
                | KeyExchangeError::Unsupported { offset, .. } => *offset,
            };
            assert_eq!(found, offset, "{value}: {err}");
        }
    }
}
