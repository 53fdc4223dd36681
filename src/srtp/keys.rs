//! The master key and what RFC 3711 derives from it: the AES-CM keystream
//! (§4.1.1), the key derivation (§4.3, key derivation rate 0) and the
//! HMAC-SHA1 tag (§4.2.1). The block cipher, counter mode and HMAC are
//! RustCrypto's (`aes`, `ctr`, `hmac`, `sha1`); only the SRTP framing of
//! their inputs is written here.

use std::fmt;

use aes::cipher::{InnerIvInit, KeyInit, StreamCipher, StreamCipherCoreWrapper};
use aes::Aes128Enc;
use ctr::CtrCore;
use hmac::Hmac;
use sha1::Sha1;

use super::SrtpError;

/// A master key and master salt (RFC 3711 §3.2.1): 128 + 112 bits for the
/// AES-CM suites. `Debug` does not print them.
#[derive(Clone, PartialEq, Eq)]
pub struct SrtpKey {
    key: [u8; 16],
    salt: [u8; 14],
}

impl SrtpKey {
    /// Bytes of key and salt together, the layout SDES `inline:`, the
    /// MIKEY TEK and GStreamer's `srtp-key` all use (key first).
    pub const LEN: usize = 30;

    /// A fresh key and salt from the operating system's generator (RFC
    /// 3711 §8.1 asks for a cryptographically strong source).
    pub fn random() -> Result<SrtpKey, SrtpError> {
        let mut bytes = [0; SrtpKey::LEN];
        getrandom::fill(&mut bytes).map_err(SrtpError::Random)?;
        Ok(SrtpKey::from_array(bytes))
    }

    /// A key and salt given separately.
    pub fn new(key: [u8; 16], salt: [u8; 14]) -> SrtpKey {
        SrtpKey { key, salt }
    }

    /// The key and salt from their 30-byte concatenation; `None` for any
    /// other length.
    pub fn from_bytes(bytes: &[u8]) -> Option<SrtpKey> {
        Some(SrtpKey::from_array(bytes.try_into().ok()?))
    }

    fn from_array(bytes: [u8; SrtpKey::LEN]) -> SrtpKey {
        let (key, salt) = bytes.split_at(16);
        SrtpKey {
            key: key.try_into().expect("16 bytes"),
            salt: salt.try_into().expect("14 bytes"),
        }
    }

    /// Key and salt concatenated.
    pub fn to_bytes(&self) -> [u8; SrtpKey::LEN] {
        let mut out = [0; SrtpKey::LEN];
        out[..16].copy_from_slice(&self.key);
        out[16..].copy_from_slice(&self.salt);
        out
    }

    /// The master key.
    pub fn master_key(&self) -> &[u8; 16] {
        &self.key
    }

    /// The master salt.
    pub fn master_salt(&self) -> &[u8; 14] {
        &self.salt
    }
}

impl fmt::Debug for SrtpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SrtpKey(..)")
    }
}

/// Key derivation labels (RFC 3711 §4.3.1 and §4.3.2).
#[derive(Clone, Copy)]
struct Labels {
    cipher: u8,
    auth: u8,
    salt: u8,
}

const RTP_LABELS: Labels = Labels {
    cipher: 0x00,
    auth: 0x01,
    salt: 0x02,
};
const RTCP_LABELS: Labels = Labels {
    cipher: 0x03,
    auth: 0x04,
    salt: 0x05,
};

/// The session keys of one direction of traffic (SRTP or SRTCP), derived
/// once: the AES key schedule and the HMAC's inner and outer hash states
/// are computed here, so protecting a packet only clones them.
#[derive(Clone)]
pub(crate) struct SessionKeys {
    cipher: Aes128Enc,
    salt: [u8; 14],
    auth: Hmac<Sha1>,
}

impl SessionKeys {
    /// The SRTP session keys of `master`.
    pub(crate) fn rtp(master: &SrtpKey) -> SessionKeys {
        SessionKeys::derive(master, RTP_LABELS)
    }

    /// The SRTCP session keys of `master`.
    pub(crate) fn rtcp(master: &SrtpKey) -> SessionKeys {
        SessionKeys::derive(master, RTCP_LABELS)
    }

    fn derive(master: &SrtpKey, labels: Labels) -> SessionKeys {
        let prf = Aes128Enc::new(&master.key.into());
        let mut cipher_key = [0; 16];
        let mut salt = [0; 14];
        let mut auth_key = [0; 20];
        derive(&prf, &master.salt, labels.cipher, &mut cipher_key);
        derive(&prf, &master.salt, labels.salt, &mut salt);
        derive(&prf, &master.salt, labels.auth, &mut auth_key);
        SessionKeys {
            cipher: Aes128Enc::new(&cipher_key.into()),
            salt,
            auth: <Hmac<Sha1> as KeyInit>::new_from_slice(&auth_key)
                .expect("HMAC takes keys of any length"),
        }
    }

    /// XORs `data` with the AES-CM keystream of packet `index` of stream
    /// `ssrc`: IV = (k_s · 2^16) ⊕ (SSRC · 2^64) ⊕ (i · 2^16) (RFC 3711
    /// §4.1.1). Encryption and decryption are the same operation.
    pub(crate) fn apply_keystream(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        let mut iv = [0; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        // The index is at most 48 bits: bytes 8..14 of the IV.
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        aes_cm(&self.cipher, iv, data);
    }

    /// An HMAC-SHA1 (RFC 3711 §4.2.1) keyed with the session
    /// authentication key, ready for the authenticated portion.
    pub(crate) fn mac(&self) -> Hmac<Sha1> {
        self.auth.clone()
    }
}

/// AES in counter mode over a 128-bit big-endian counter starting at `iv`
/// (RFC 3711 §4.1.1: the block counter is added to the IV modulo 2^128).
fn aes_cm(cipher: &Aes128Enc, iv: [u8; 16], data: &mut [u8]) {
    let core = CtrCore::<&Aes128Enc, ctr::flavors::Ctr128BE>::inner_iv_init(cipher, &iv.into());
    StreamCipherCoreWrapper::from_core(core).apply_keystream(data);
}

/// The SRTP key derivation with key derivation rate 0 (RFC 3711 §4.3.1,
/// §4.3.3): x = label · 2^48 ⊕ master salt, and `out` gets the first bytes
/// of the AES-CM keystream under the master key with IV x · 2^16.
fn derive(prf: &Aes128Enc, master_salt: &[u8; 14], label: u8, out: &mut [u8]) {
    let mut iv = [0; 16];
    iv[..14].copy_from_slice(master_salt);
    iv[7] ^= label;
    out.fill(0);
    aes_cm(prf, iv, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        hex::decode(s).unwrap()
    }

    /// RFC 3711 Appendix B.2: the AES-CM keystream for session key
    /// 2B7E1516..., salt F0F1...FCFD, SSRC 0, index 0, at the start of the
    /// segment and at blocks 0xFEFF to 0xFF01.
    #[test]
    fn rfc3711_b2_aes_cm_keystream() {
        let cipher = Aes128Enc::new(
            &<[u8; 16]>::try_from(hex("2B7E151628AED2A6ABF7158809CF4F3C"))
                .unwrap()
                .into(),
        );
        let iv: [u8; 16] = hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD0000").try_into().unwrap();
        let mut stream = vec![0u8; 0xFF02 * 16];
        aes_cm(&cipher, iv, &mut stream);
        assert_eq!(
            stream[..48],
            hex("E03EAD0935C95E80E166B16DD92B4EB4
                 D23513162B02D0F72A43A2FE4A5F97AB
                 41E95B3BB0A2E8DD477901E4FCA894C0")[..]
        );
        assert_eq!(
            stream[0xFEFF * 16..],
            hex("EC8CDF7398607CB0F2D21675EA9EA1E4
                 362B7C3C6773516318A077D7FC5073AE
                 6A2CC3787889374FBEB4C81B17BA6C44")[..]
        );
        // The same keystream through the packet path: the session salt
        // of the vector, SSRC 0 and index 0 give the vector's IV.
        let keys = SessionKeys {
            cipher,
            salt: hex("F0F1F2F3F4F5F6F7F8F9FAFBFCFD").try_into().unwrap(),
            auth: <Hmac<Sha1> as KeyInit>::new_from_slice(&[0; 20]).unwrap(),
        };
        let mut data = [0u8; 48];
        keys.apply_keystream(0, 0, &mut data);
        assert_eq!(data[..], stream[..48]);
    }

    /// RFC 3711 Appendix B.3: key derivation from master key E1F97A0D...
    /// and master salt 0EC675AD... with key derivation rate 0.
    #[test]
    fn rfc3711_b3_key_derivation() {
        let master = SrtpKey::new(
            hex("E1F97A0D3E018BE0D64FA32C06DE4139").try_into().unwrap(),
            hex("0EC675AD498AFEEBB6960B3AABE6").try_into().unwrap(),
        );
        let prf = Aes128Enc::new(&master.key.into());
        let mut cipher_key = [0; 16];
        derive(&prf, &master.salt, RTP_LABELS.cipher, &mut cipher_key);
        assert_eq!(cipher_key[..], hex("C61E7A93744F39EE10734AFE3FF7A087")[..]);
        let mut salt = [0; 14];
        derive(&prf, &master.salt, RTP_LABELS.salt, &mut salt);
        assert_eq!(salt[..], hex("30CBBC08863D8C85D49DB34A9AE1")[..]);
        let mut auth = [0; 20];
        derive(&prf, &master.salt, RTP_LABELS.auth, &mut auth);
        assert_eq!(
            auth[..],
            hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4")[..]
        );
    }

    #[test]
    fn a_key_round_trips_through_its_bytes_and_hides_in_debug() {
        let key = SrtpKey::random().unwrap();
        assert_eq!(SrtpKey::from_bytes(&key.to_bytes()), Some(key.clone()));
        assert_eq!(SrtpKey::from_bytes(&[0; 29]), None);
        assert_eq!(SrtpKey::from_bytes(&[0; 31]), None);
        assert_eq!(format!("{key:?}"), "SrtpKey(..)");
        assert_ne!(SrtpKey::random().unwrap(), key, "two random keys are equal");
    }
}
