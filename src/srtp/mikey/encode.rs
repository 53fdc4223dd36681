//! Writing a [`MikeyMessage`] (RFC 3830 §6).

use super::{
    param, payload, MikeyMessage, Timestamp, AES_128_KEY_LEN, ALG_AES_CM, ALG_HMAC_SHA1, ALG_NULL,
    HMAC_SHA1_KEY_LEN, KEY_TYPE_TEK, KV_NULL, KV_SPI, MAP_TYPE_SRTP, PROTOCOL_SRTP, PSK_INIT,
    SALT_LEN, VERSION,
};
use crate::srtp::{KeyExchangeError, Mki, SrtpKey};

/// What [`MikeyMessage::encode`] cannot write.
fn inexpressible(reason: &str) -> KeyExchangeError {
    KeyExchangeError::unsupported(0, format!("a MIKEY message cannot carry {reason}"))
}

pub(super) fn encode(message: &MikeyMessage) -> Result<Vec<u8>, KeyExchangeError> {
    let policy = &message.policy;
    let sessions = u8::try_from(message.sessions.len())
        .map_err(|_| inexpressible("over 255 crypto sessions"))?;
    let rand_len = u8::try_from(message.rand.len())
        .ok()
        .filter(|&n| n > 0)
        .ok_or_else(|| inexpressible("a RAND of 0 or over 255 bytes"))?;
    if policy.rtp_tag != policy.rtcp_tag {
        return Err(inexpressible("different SRTP and SRTCP tag lengths"));
    }
    if policy.encrypt_rtp != policy.encrypt_rtcp {
        return Err(inexpressible("encryption of only one of SRTP and SRTCP"));
    }

    let mut out = Vec::with_capacity(128);
    // HDR (§6.1): the next payload is T.
    out.extend_from_slice(&[VERSION, PSK_INIT, payload::T, 0]);
    out.extend_from_slice(&message.csb_id.to_be_bytes());
    out.extend_from_slice(&[sessions, MAP_TYPE_SRTP]);
    for cs in &message.sessions {
        out.push(POLICY_NO);
        out.extend_from_slice(&cs.ssrc.to_be_bytes());
        out.extend_from_slice(&cs.roc.to_be_bytes());
    }
    // T (§6.6).
    out.push(payload::RAND);
    match message.timestamp {
        Timestamp::NtpUtc(t) => {
            out.push(0);
            out.extend_from_slice(&t.to_be_bytes());
        }
        Timestamp::Ntp(t) => {
            out.push(1);
            out.extend_from_slice(&t.to_be_bytes());
        }
        Timestamp::Counter(t) => {
            out.push(2);
            out.extend_from_slice(&t.to_be_bytes());
        }
    }
    // RAND (§6.11).
    out.extend_from_slice(&[payload::SP, rand_len]);
    out.extend_from_slice(&message.rand);
    // SP (§6.10). The key length goes before the algorithm: GStreamer
    // reads the parameters in order and a key length of 16 selects AES-CM.
    let encrypt = policy.encrypt_rtp;
    let params = [
        (param::ENCRYPTION_KEY_LEN, AES_128_KEY_LEN),
        (
            param::ENCRYPTION,
            if encrypt { ALG_AES_CM } else { ALG_NULL },
        ),
        (param::AUTHENTICATION, ALG_HMAC_SHA1),
        (param::AUTHENTICATION_KEY_LEN, HMAC_SHA1_KEY_LEN),
        (param::SALT_LEN, SALT_LEN),
        (param::SRTP_ENCRYPTION, u8::from(policy.encrypt_rtp)),
        (param::SRTCP_ENCRYPTION, u8::from(policy.encrypt_rtcp)),
        (param::SRTP_AUTHENTICATION, 1),
        (param::TAG_LEN, policy.rtp_tag.bytes() as u8),
    ];
    out.extend_from_slice(&[payload::KEMAC, POLICY_NO, PROTOCOL_SRTP]);
    out.extend_from_slice(&(3 * params.len() as u16).to_be_bytes());
    for (kind, value) in params {
        out.extend_from_slice(&[kind, 1, value]);
    }
    // KEMAC (§6.2), the last payload, with one key data sub-payload.
    let key_data = key_data(&message.key, policy.mki);
    out.extend_from_slice(&[payload::LAST, ALG_NULL]);
    out.extend_from_slice(&(key_data.len() as u16).to_be_bytes());
    out.extend_from_slice(&key_data);
    out.push(ALG_NULL);
    Ok(out)
}

/// The policy number every crypto session refers to: the one SP payload.
const POLICY_NO: u8 = 0;

/// A key data sub-payload (§6.13): type TEK, the key and salt together,
/// and the MKI as key validity data of type SPI (§6.14).
fn key_data(key: &SrtpKey, mki: Option<Mki>) -> Vec<u8> {
    let kv = if mki.is_some() { KV_SPI } else { KV_NULL };
    let mut out = vec![payload::LAST, (KEY_TYPE_TEK << 4) | kv];
    out.extend_from_slice(&(SrtpKey::LEN as u16).to_be_bytes());
    out.extend_from_slice(&key.to_bytes());
    if let Some(mki) = mki {
        out.push(Mki::LEN as u8);
        out.extend_from_slice(&mki.0);
    }
    out
}
