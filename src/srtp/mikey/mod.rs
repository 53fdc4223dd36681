//! MIKEY (RFC 3830), the subset RTSP servers put in their SDP (RFC 4567
//! `a=key-mgmt:mikey`): an I_MESSAGE in pre-shared-key mode whose KEMAC
//! carries the SRTP master key in the clear (NULL encryption, NULL MAC),
//! which is sound only because the SDP itself travels inside TLS (RTSPS).
//! live555 (`MIKEYState.cpp`) and GStreamer (`gst_mikey_message_new_from_caps`)
//! send exactly this form, and their clients accept nothing richer.
//!
//! The message, payload by payload:
//!
//! | payload | RFC 3830 | contents |
//! | --- | --- | --- |
//! | HDR | §6.1 | version 1, data type 0 (PSK I_MESSAGE), V = 0, PRF MIKEY-1, random CSB ID, CS ID map type 0 (SRTP-ID) with policy number, SSRC and ROC of each stream (§6.1.1) |
//! | T | §6.6 | NTP-UTC time of the offer |
//! | RAND | §6.11 | 16 random bytes |
//! | SP | §6.10 | policy 0, protocol SRTP, the parameters of §6.10.1 below |
//! | KEMAC | §6.2 | NULL encryption; one key data sub-payload (§6.13) of type TEK holding the 30 bytes of master key and salt, with key validity SPI (§6.14) carrying the MKI when the policy has one; NULL MAC |
//!
//! Security policy parameters: session encryption key length 16 (1),
//! encryption algorithm AES-CM or NULL (0), authentication algorithm
//! HMAC-SHA-1 (2), session authentication key length 20 (3), session salt
//! length 14 (4), SRTP and SRTCP encryption on/off (7, 8), SRTP
//! authentication on (10), authentication tag length (11).
//!
//! What the peers read, and how this encoding serves them:
//!
//! - **GStreamer** (`gst_mikey_message_to_caps`, used by `rtspsrc` through
//!   `gst_sdp_media_attributes_to_caps`) takes `srtp-key` from the first key
//!   data sub-payload's key field only (so the salt must be inside it: type
//!   TEK with 30 bytes, never TEK+SALT), needs a NULL-encrypted, NULL-MAC
//!   KEMAC, ignores the SPI (its `srtpdec` then expects no MKI in packets),
//!   ignores parameter 11 and instead reads the tag length from parameter 3
//!   when that holds 4 or 10, applies one cipher and one tag length to SRTP
//!   and SRTCP alike, and reads the parameters in order, so a key length
//!   after a NULL encryption algorithm turns AES-CM back on: parameter 1 is
//!   therefore written before parameter 0. `rtspsrc` looks each SSRC up in
//!   the crypto session map only for its ROC.
//! - **live555** clients (`MIKEYState::parseNonHDRPayload`) require key
//!   data of type TEK with key validity SPI and a 4-byte MKI, a 30-byte key,
//!   parameters 1 = 16, 3 = 20, 4 = 14 and 11 = 10, and no payloads but T,
//!   RAND, SP and KEMAC.
//!
//! So an `AES_CM_128_HMAC_SHA1_80` offer (with or without MKI) is read alike
//! by both; a `_32` offer written as RFC 3830 says (parameter 11 = 4) is
//! misread by GStreamer as `_80` and refused by live555: offer `_80` over
//! MIKEY. [`MikeyMessage::parse`] reads both spellings of the tag length,
//! so it also reads the message GStreamer's `rtspsrc` sends in its SETUP
//! `KeyMgmt` header (parameter 3 = 10).

mod encode;
mod parse;

use std::time::SystemTime;

use base64::Engine as _;

use super::{KeyExchangeError, Policy, SrtpError, SrtpKey};
use crate::rtp::rtcp::ntp_timestamp;

/// The RFC 4567 protocol identifier of MIKEY in `a=key-mgmt`.
pub const SDP_PROTOCOL: &str = "mikey";

/// One crypto session of the CS ID map: an SRTP stream and its rollover
/// counter when the message was made (RFC 3830 §6.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CryptoSession {
    /// The stream's SSRC.
    pub ssrc: u32,
    /// Its rollover counter.
    pub roc: u32,
}

/// The T payload's timestamp (RFC 3830 §6.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timestamp {
    /// NTP-UTC, 64 bits (type 0): what offers carry.
    NtpUtc(u64),
    /// NTP, 64 bits (type 1).
    Ntp(u64),
    /// A counter, 32 bits (type 2).
    Counter(u32),
}

/// A MIKEY pre-shared-key I_MESSAGE carrying an SRTP master key in a
/// NULL-encrypted KEMAC (see the module documentation for the layout).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MikeyMessage {
    /// The Crypto Session Bundle ID (RFC 3830 §6.1): random per offer.
    pub csb_id: u32,
    /// The crypto sessions, one per SRTP stream, all under [`Self::policy`].
    pub sessions: Vec<CryptoSession>,
    /// The T payload.
    pub timestamp: Timestamp,
    /// The RAND payload (1 to 255 bytes; offers use 16).
    pub rand: Vec<u8>,
    /// The security policy (SP payload) and the MKI (key validity data).
    pub policy: Policy,
    /// The traffic-encrypting key: master key and salt.
    pub key: SrtpKey,
}

impl MikeyMessage {
    /// An offer of `key` under `policy` for `sessions`, made now: random
    /// CSB ID and 16 random bytes of RAND from the operating system.
    pub fn offer(
        key: &SrtpKey,
        policy: Policy,
        sessions: &[CryptoSession],
    ) -> Result<MikeyMessage, SrtpError> {
        let mut random = [0; 20];
        getrandom::fill(&mut random).map_err(SrtpError::Random)?;
        Ok(MikeyMessage {
            csb_id: u32::from_be_bytes(random[..4].try_into().expect("4 bytes")),
            sessions: sessions.to_vec(),
            timestamp: Timestamp::NtpUtc(ntp_timestamp(SystemTime::now())),
            rand: random[4..].to_vec(),
            policy,
            key: key.clone(),
        })
    }

    /// The message's bytes. Fails for what the format cannot carry: more
    /// than 255 crypto sessions, an empty or over-long RAND, SRTP and SRTCP
    /// tags of different lengths (MIKEY has one tag length, which GStreamer
    /// applies to both), or encryption on for one of SRTP and SRTCP only
    /// (GStreamer reads one cipher for both, from the algorithm parameter).
    pub fn encode(&self) -> Result<Vec<u8>, KeyExchangeError> {
        encode::encode(self)
    }

    /// Parses a message (see [`parse`](self) for what is accepted).
    pub fn parse(data: &[u8]) -> Result<MikeyMessage, KeyExchangeError> {
        parse::parse(data)
    }

    /// The value of an SDP `a=key-mgmt` attribute carrying the message:
    /// `mikey <base64>` (RFC 4567 §3.1, §4).
    pub fn sdp_value(&self) -> Result<String, KeyExchangeError> {
        let data = self.encode()?;
        Ok(format!(
            "{SDP_PROTOCOL} {}",
            base64::engine::general_purpose::STANDARD.encode(data)
        ))
    }

    /// Parses the value of an SDP `a=key-mgmt` attribute (after
    /// `a=key-mgmt:`): `mikey` and the base64 message. Offsets in errors
    /// count bytes of the decoded message.
    pub fn parse_sdp_value(value: &str) -> Result<MikeyMessage, KeyExchangeError> {
        let (protocol, data) = value.trim().split_once(' ').ok_or_else(|| {
            KeyExchangeError::invalid(0, "no space after the protocol identifier")
        })?;
        if !protocol.eq_ignore_ascii_case(SDP_PROTOCOL) {
            return Err(KeyExchangeError::unsupported(
                0,
                format!("key management protocol {protocol:?}"),
            ));
        }
        let data = base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .map_err(|e| KeyExchangeError::invalid(0, format!("base64: {e}")))?;
        MikeyMessage::parse(&data)
    }
}

/// Payload type numbers (RFC 3830 §6.1, Table 6.1.c).
mod payload {
    pub const LAST: u8 = 0;
    pub const KEMAC: u8 = 1;
    pub const T: u8 = 5;
    pub const SP: u8 = 10;
    pub const RAND: u8 = 11;
}

/// SRTP policy parameter types (RFC 3830 §6.10.1).
mod param {
    pub const ENCRYPTION: u8 = 0;
    pub const ENCRYPTION_KEY_LEN: u8 = 1;
    pub const AUTHENTICATION: u8 = 2;
    pub const AUTHENTICATION_KEY_LEN: u8 = 3;
    pub const SALT_LEN: u8 = 4;
    pub const PRF: u8 = 5;
    pub const KEY_DERIVATION_RATE: u8 = 6;
    pub const SRTP_ENCRYPTION: u8 = 7;
    pub const SRTCP_ENCRYPTION: u8 = 8;
    pub const FEC_ORDER: u8 = 9;
    pub const SRTP_AUTHENTICATION: u8 = 10;
    pub const TAG_LEN: u8 = 11;
    pub const PREFIX_LEN: u8 = 12;
}

/// Constants of the header and KEMAC (RFC 3830 §6.1, §6.2, §6.13, §6.14).
const VERSION: u8 = 1;
const PSK_INIT: u8 = 0;
const MAP_TYPE_SRTP: u8 = 0;
const PROTOCOL_SRTP: u8 = 0;
const KEY_TYPE_TEK: u8 = 2;
const KEY_TYPE_TEK_SALT: u8 = 3;
const KV_NULL: u8 = 0;
const KV_SPI: u8 = 1;
const ALG_NULL: u8 = 0;
const ALG_AES_CM: u8 = 1;
const ALG_HMAC_SHA1: u8 = 1;
const AES_128_KEY_LEN: u8 = 16;
const HMAC_SHA1_KEY_LEN: u8 = 20;
const SALT_LEN: u8 = 14;

#[cfg(test)]
mod tests;
