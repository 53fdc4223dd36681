//! Reading a MIKEY message (RFC 3830 §6): the PSK I_MESSAGE subset of the
//! module documentation, in any payload order, from live555, GStreamer or
//! ourselves. Everything else is refused with the offset of the field that
//! asks for it: other message types, TGKs (which need the MIKEY PRF),
//! encrypted or MACed KEMACs, other ciphers, key derivation rates or MKI
//! lengths, unauthenticated SRTP, payloads outside T, RAND, SP and KEMAC.
//! Lengths are checked against the input before anything is read, so a
//! hostile length field never allocates or reads past the end.

use super::{
    param, payload, CryptoSession, MikeyMessage, Timestamp, AES_128_KEY_LEN, ALG_AES_CM,
    ALG_HMAC_SHA1, ALG_NULL, HMAC_SHA1_KEY_LEN, KEY_TYPE_TEK, KEY_TYPE_TEK_SALT, KV_NULL, KV_SPI,
    MAP_TYPE_SRTP, PROTOCOL_SRTP, PSK_INIT, SALT_LEN, VERSION,
};
use crate::srtp::{KeyExchangeError, Mki, Policy, SrtpKey, TagLength};

type Result<T> = std::result::Result<T, KeyExchangeError>;

/// A cursor over the message that reports where a field ran short.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8]> {
        if self.data.len() - self.pos < n {
            return Err(KeyExchangeError::Truncated {
                offset: self.pos,
                what,
                need: n,
            });
        }
        let bytes = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// A reader over the next `n` bytes only (offsets stay those of the
    /// whole message); this one moves past them.
    fn sub(&mut self, n: usize, what: &'static str) -> Result<Reader<'a>> {
        let start = self.pos;
        self.take(n, what)?;
        Ok(Reader {
            data: &self.data[..self.pos],
            pos: start,
        })
    }

    fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    fn u8(&mut self, what: &'static str) -> Result<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(
            self.take(2, what)?.try_into().expect("2 bytes"),
        ))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(
            self.take(4, what)?.try_into().expect("4 bytes"),
        ))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64> {
        Ok(u64::from_be_bytes(
            self.take(8, what)?.try_into().expect("8 bytes"),
        ))
    }
}

/// What the SP payload says, before it meets the KEMAC's MKI.
struct SecurityPolicy {
    number: u8,
    tag: TagLength,
    encrypt_rtp: bool,
    encrypt_rtcp: bool,
}

pub(super) fn parse(data: &[u8]) -> Result<MikeyMessage> {
    let mut r = Reader { data, pos: 0 };
    // HDR (§6.1).
    if r.u8("version")? != VERSION {
        return Err(KeyExchangeError::unsupported(
            0,
            "MIKEY version other than 1",
        ));
    }
    let kind = r.u8("data type")?;
    if kind != PSK_INIT {
        return Err(KeyExchangeError::unsupported(
            1,
            format!("message type {kind} (only the pre-shared-key I_MESSAGE, 0)"),
        ));
    }
    let mut next = r.u8("next payload")?;
    let prf = r.u8("PRF function")? & 0x7f;
    if prf != 0 {
        return Err(KeyExchangeError::unsupported(
            3,
            format!("PRF function {prf}"),
        ));
    }
    let csb_id = r.u32("CSB ID")?;
    let count = r.u8("#CS")?;
    if r.u8("CS ID map type")? != MAP_TYPE_SRTP {
        return Err(KeyExchangeError::unsupported(
            9,
            "a CS ID map type other than SRTP-ID",
        ));
    }
    let mut map = r.sub(9 * usize::from(count), "CS ID map")?;
    let mut sessions = Vec::with_capacity(usize::from(count));
    let mut policy_numbers = Vec::with_capacity(usize::from(count));
    while !map.at_end() {
        policy_numbers.push((map.pos, map.u8("policy number")?));
        sessions.push(CryptoSession {
            ssrc: map.u32("SSRC")?,
            roc: map.u32("ROC")?,
        });
    }

    let mut timestamp = None;
    let mut rand = None;
    let mut sp: Option<SecurityPolicy> = None;
    let mut kemac = None;
    while next != payload::LAST {
        let at = r.pos;
        let kind = next;
        next = r.u8("next payload")?;
        let duplicate = match kind {
            payload::T => timestamp.replace(parse_t(&mut r)?).is_some(),
            payload::RAND => {
                let len = r.u8("RAND length")?;
                if len == 0 {
                    return Err(KeyExchangeError::invalid(at + 1, "empty RAND"));
                }
                rand.replace(r.take(usize::from(len), "RAND")?.to_vec())
                    .is_some()
            }
            payload::SP => sp.replace(parse_sp(&mut r)?).is_some(),
            payload::KEMAC => kemac.replace(parse_kemac(&mut r)?).is_some(),
            other => {
                return Err(KeyExchangeError::unsupported(
                    at,
                    format!("payload type {other}"),
                ))
            }
        };
        if duplicate {
            return Err(KeyExchangeError::unsupported(
                at,
                format!("a second payload of type {kind}"),
            ));
        }
    }
    if !r.at_end() {
        return Err(KeyExchangeError::invalid(
            r.pos,
            "bytes after the last payload",
        ));
    }

    let end = data.len();
    let timestamp = timestamp.ok_or_else(|| KeyExchangeError::invalid(end, "no T payload"))?;
    let rand = rand.ok_or_else(|| KeyExchangeError::invalid(end, "no RAND payload"))?;
    let (key, mki) = kemac.ok_or_else(|| KeyExchangeError::invalid(end, "no KEMAC payload"))?;
    // Without an SP payload the defaults of §6.10.1 apply: AES_CM_128_HMAC_SHA1_80.
    let sp = sp.unwrap_or(SecurityPolicy {
        number: policy_numbers.first().map_or(0, |&(_, n)| n),
        tag: TagLength::Bits80,
        encrypt_rtp: true,
        encrypt_rtcp: true,
    });
    if let Some(&(at, n)) = policy_numbers.iter().find(|&&(_, n)| n != sp.number) {
        return Err(KeyExchangeError::unsupported(
            at,
            format!(
                "a crypto session under policy {n}, not the message's policy {}",
                sp.number
            ),
        ));
    }
    let policy = Policy {
        rtp_tag: sp.tag,
        rtcp_tag: sp.tag,
        encrypt_rtp: sp.encrypt_rtp,
        encrypt_rtcp: sp.encrypt_rtcp,
        mki,
    };
    Ok(MikeyMessage {
        csb_id,
        sessions,
        timestamp,
        rand,
        policy,
        key,
    })
}

/// T (§6.6), after the next-payload byte.
fn parse_t(r: &mut Reader) -> Result<Timestamp> {
    let at = r.pos;
    Ok(match r.u8("TS type")? {
        0 => Timestamp::NtpUtc(r.u64("NTP-UTC timestamp")?),
        1 => Timestamp::Ntp(r.u64("NTP timestamp")?),
        2 => Timestamp::Counter(r.u32("counter timestamp")?),
        other => {
            return Err(KeyExchangeError::unsupported(
                at,
                format!("TS type {other}"),
            ))
        }
    })
}

/// SP (§6.10), after the next-payload byte, with its SRTP parameters.
fn parse_sp(r: &mut Reader) -> Result<SecurityPolicy> {
    let number = r.u8("policy number")?;
    let protocol_at = r.pos;
    if r.u8("protocol type")? != PROTOCOL_SRTP {
        return Err(KeyExchangeError::unsupported(
            protocol_at,
            "a security protocol other than SRTP",
        ));
    }
    let len = usize::from(r.u16("policy parameter length")?);
    let mut params = r.sub(len, "policy parameters")?;

    let mut cipher = ALG_AES_CM;
    let mut srtp_encryption = true;
    let mut srtcp_encryption = true;
    let mut tag = None;
    // GStreamer writes the tag length as the authentication key length.
    let mut tag_as_key_len = None;
    while !params.at_end() {
        let at = params.pos;
        let kind = params.u8("parameter type")?;
        let value_len = params.u8("parameter length")?;
        if value_len != 1 {
            return Err(KeyExchangeError::invalid(
                at,
                format!("parameter {kind} of {value_len} bytes (all SRTP parameters are 1 byte)"),
            ));
        }
        let value = params.u8("parameter value")?;
        let unsupported =
            || KeyExchangeError::unsupported(at, format!("SRTP policy parameter {kind} = {value}"));
        let on_off = || match value {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(KeyExchangeError::invalid(
                at,
                format!("parameter {kind} is {value}, not off/on"),
            )),
        };
        match kind {
            param::ENCRYPTION => match value {
                ALG_NULL | ALG_AES_CM => cipher = value,
                _ => return Err(unsupported()),
            },
            param::ENCRYPTION_KEY_LEN if value == AES_128_KEY_LEN => {}
            param::AUTHENTICATION if value == ALG_HMAC_SHA1 => {}
            param::AUTHENTICATION_KEY_LEN => match value {
                HMAC_SHA1_KEY_LEN => {}
                4 | 10 => tag_as_key_len = TagLength::from_bytes(usize::from(value)),
                _ => return Err(unsupported()),
            },
            param::SALT_LEN if value == SALT_LEN => {}
            param::PRF | param::KEY_DERIVATION_RATE | param::FEC_ORDER | param::PREFIX_LEN
                if value == 0 => {}
            param::SRTP_ENCRYPTION => srtp_encryption = on_off()?,
            param::SRTCP_ENCRYPTION => srtcp_encryption = on_off()?,
            param::SRTP_AUTHENTICATION if value == 1 => {}
            param::TAG_LEN => {
                tag = Some(TagLength::from_bytes(usize::from(value)).ok_or_else(unsupported)?)
            }
            _ => return Err(unsupported()),
        }
    }
    let encrypting = cipher != ALG_NULL;
    Ok(SecurityPolicy {
        number,
        tag: tag.or(tag_as_key_len).unwrap_or(TagLength::Bits80),
        encrypt_rtp: encrypting && srtp_encryption,
        encrypt_rtcp: encrypting && srtcp_encryption,
    })
}

/// KEMAC (§6.2), after the next-payload byte: the key and MKI of its one
/// key data sub-payload (§6.13, §6.14).
fn parse_kemac(r: &mut Reader) -> Result<(SrtpKey, Option<Mki>)> {
    let alg_at = r.pos;
    if r.u8("encryption algorithm")? != ALG_NULL {
        return Err(KeyExchangeError::unsupported(alg_at, "an encrypted KEMAC"));
    }
    let len = usize::from(r.u16("encrypted data length")?);
    let mut kd = r.sub(len, "encrypted data")?;
    let (key, mki) = parse_key_data(&mut kd)?;
    if !kd.at_end() {
        return Err(KeyExchangeError::invalid(
            kd.pos,
            "the key data sub-payload does not fill the KEMAC's encrypted data",
        ));
    }
    let mac_at = r.pos;
    if r.u8("MAC algorithm")? != ALG_NULL {
        return Err(KeyExchangeError::unsupported(mac_at, "a KEMAC with a MAC"));
    }
    Ok((key, mki))
}

/// The one key data sub-payload (§6.13) of a KEMAC, with its SPI (§6.14).
fn parse_key_data(r: &mut Reader) -> Result<(SrtpKey, Option<Mki>)> {
    let start = r.pos;
    let next = r.u8("next payload")?;
    let type_at = r.pos;
    let type_kv = r.u8("key type and validity")?;
    let key_len = usize::from(r.u16("key data length")?);
    let key_at = r.pos;
    let key_bytes = r.take(key_len, "key data")?;
    let key = match type_kv >> 4 {
        KEY_TYPE_TEK => SrtpKey::from_bytes(key_bytes).ok_or_else(|| {
            KeyExchangeError::unsupported(key_at, format!("a TEK of {key_len} bytes (not 30)"))
        })?,
        KEY_TYPE_TEK_SALT => {
            let key: [u8; 16] = key_bytes.try_into().map_err(|_| {
                KeyExchangeError::unsupported(key_at, format!("a TEK of {key_len} bytes (not 16)"))
            })?;
            let salt_len = usize::from(r.u16("salt length")?);
            let salt_at = r.pos;
            let salt = r.take(salt_len, "salt")?.try_into().map_err(|_| {
                KeyExchangeError::unsupported(
                    salt_at,
                    format!("a salt of {salt_len} bytes (not 14)"),
                )
            })?;
            SrtpKey::new(key, salt)
        }
        other => {
            return Err(KeyExchangeError::unsupported(
                type_at,
                format!("key type {other} (only a TEK)"),
            ))
        }
    };
    let mki = match type_kv & 0x0f {
        KV_NULL => None,
        KV_SPI => {
            let spi_at = r.pos;
            let spi_len = r.u8("SPI length")?;
            let spi = r.take(usize::from(spi_len), "SPI")?;
            Some(Mki(spi.try_into().map_err(|_| {
                KeyExchangeError::unsupported(spi_at, format!("an MKI of {spi_len} bytes (not 4)"))
            })?))
        }
        other => {
            return Err(KeyExchangeError::unsupported(
                type_at,
                format!("key validity type {other}"),
            ))
        }
    };
    if next != payload::LAST {
        return Err(KeyExchangeError::unsupported(
            start,
            "more than one key data sub-payload",
        ));
    }
    Ok((key, mki))
}
