use super::*;
use crate::srtp::{Mki, Suite, TagLength};

fn key() -> SrtpKey {
    SrtpKey::from_bytes(&(0..30).collect::<Vec<u8>>()).unwrap()
}

fn message(policy: Policy) -> MikeyMessage {
    MikeyMessage {
        csb_id: 0x1234_5678,
        sessions: vec![
            CryptoSession {
                ssrc: 0xDEAD_BEEF,
                roc: 0,
            },
            CryptoSession { ssrc: 7, roc: 3 },
        ],
        timestamp: Timestamp::NtpUtc(0xE000_0000_8000_0000),
        rand: (100..116).collect(),
        policy,
        key: key(),
    }
}

/// The message assembled field by field from RFC 3830's diagrams
/// (§6.1, 6.1.1, 6.6, 6.11, 6.10, 6.10.1, 6.2, 6.13, 6.14), in the payload
/// order live555 sends, with its SP parameters (key length first).
/// Where the SP payload starts in [`hand_assembled`]: after the header
/// with two crypto sessions (28 bytes), T (10) and RAND (18).
const SP: usize = 56;

fn hand_assembled(mki: Option<[u8; 4]>, tag: u8, encrypt: bool) -> Vec<u8> {
    let mut m = vec![
        1, 0, 5, 0, // version 1, PSK I_MESSAGE, next T, V=0 PRF MIKEY-1
        0x12, 0x34, 0x56, 0x78, // CSB ID
        2, 0, // #CS, SRTP-ID map
        0, 0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 0, // policy 0, SSRC, ROC
        0, 0, 0, 0, 7, 0, 0, 0, 3, 11, 0, 0xE0, 0, 0, 0, 0x80, 0, 0,
        0, // T: next RAND, NTP-UTC
        10, 16, // RAND: next SP, 16 bytes
    ];
    m.extend(100..116u8);
    let e = u8::from(encrypt);
    m.extend_from_slice(&[1, 0, 0, 0, 27]); // SP: next KEMAC, policy 0, SRTP, 27 bytes
    m.extend_from_slice(&[1, 1, 16, 0, 1, e, 2, 1, 1, 3, 1, 20, 4, 1, 14]);
    m.extend_from_slice(&[7, 1, e, 8, 1, e, 10, 1, 1, 11, 1, tag]);
    let sub_len = if mki.is_some() { 39 } else { 34 };
    m.extend_from_slice(&[0, 0, 0, sub_len]); // KEMAC: last, NULL, length
    m.extend_from_slice(&[0, 0x20 | u8::from(mki.is_some()), 0, 30]); // TEK, KV
    m.extend(0..30u8);
    if let Some(mki) = mki {
        m.push(4);
        m.extend_from_slice(&mki);
    }
    m.push(0); // NULL MAC
    m
}

#[test]
fn the_encoding_is_rfc_3830_field_by_field() {
    let p80 = Policy::new(Suite::AesCm128HmacSha1_80);
    assert_eq!(
        message(p80).encode().unwrap(),
        hand_assembled(None, 10, true)
    );
    let mki = Mki([1, 2, 3, 4]);
    assert_eq!(
        message(p80.with_mki(mki)).encode().unwrap(),
        hand_assembled(Some([1, 2, 3, 4]), 10, true)
    );
    assert_eq!(
        message(p80.without_encryption()).encode().unwrap(),
        hand_assembled(None, 10, false)
    );
    let p32 = Policy {
        rtcp_tag: TagLength::Bits32,
        ..Policy::new(Suite::AesCm128HmacSha1_32)
    };
    assert_eq!(
        message(p32).encode().unwrap(),
        hand_assembled(None, 4, true)
    );
}

#[test]
fn messages_round_trip() {
    let p80 = Policy::new(Suite::AesCm128HmacSha1_80);
    let p32 = Policy {
        rtcp_tag: TagLength::Bits32,
        ..Policy::new(Suite::AesCm128HmacSha1_32)
    };
    for policy in [
        p80,
        p80.with_mki(Mki([0xff; 4])),
        p80.without_encryption(),
        p32,
    ] {
        let m = message(policy);
        assert_eq!(MikeyMessage::parse(&m.encode().unwrap()), Ok(m.clone()));
        assert_eq!(
            MikeyMessage::parse_sdp_value(&m.sdp_value().unwrap()),
            Ok(m)
        );
    }
    for timestamp in [Timestamp::Ntp(5), Timestamp::Counter(9)] {
        let m = MikeyMessage {
            timestamp,
            ..message(p80)
        };
        assert_eq!(MikeyMessage::parse(&m.encode().unwrap()), Ok(m));
    }
}

#[test]
fn an_offer_is_fresh_and_timed_now() {
    let sessions = [CryptoSession { ssrc: 1, roc: 0 }];
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let a = MikeyMessage::offer(&key(), policy, &sessions).unwrap();
    let b = MikeyMessage::offer(&key(), policy, &sessions).unwrap();
    assert_eq!(a.rand.len(), 16);
    assert!(a.rand != b.rand && a.csb_id != b.csb_id);
    let now = ntp_timestamp(SystemTime::now()) >> 32;
    let Timestamp::NtpUtc(t) = a.timestamp else {
        panic!("not NTP-UTC")
    };
    assert!((t >> 32).abs_diff(now) <= 2);
    assert!(a.sdp_value().unwrap().starts_with("mikey AQAF"));
}

/// live555's order (algorithm before key length) and GStreamer's own
/// encoding (`gst_mikey_message_new_from_caps`: the tag length written as
/// the authentication key length, no parameter 11, no SPI) both read.
#[test]
fn peer_spellings_parse() {
    let mut live555 = hand_assembled(Some([9, 9, 9, 9]), 10, true);
    live555[SP + 5..SP + 11].copy_from_slice(&[0, 1, 1, 1, 1, 16]);
    let m = MikeyMessage::parse(&live555).unwrap();
    assert_eq!(
        m.policy,
        Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([9; 4]))
    );

    for (tag_as_key_len, tag) in [(10, TagLength::Bits80), (4, TagLength::Bits32)] {
        let mut gst = vec![1, 0, 5, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0];
        gst.extend_from_slice(&[11, 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 16]);
        gst.extend([0xAA; 16]);
        gst.extend_from_slice(&[1, 0, 0, 0, 21]);
        gst.extend_from_slice(&[0, 1, 1, 1, 1, 16, 2, 1, 1, 3, 1, tag_as_key_len]);
        gst.extend_from_slice(&[7, 1, 1, 8, 1, 1, 10, 1, 1]);
        gst.extend_from_slice(&[0, 0, 0, 34, 0, 0x20, 0, 30]);
        gst.extend(0..30u8);
        gst.push(0);
        let m = MikeyMessage::parse(&gst).unwrap();
        assert_eq!(m.policy.rtp_tag, tag);
        assert_eq!(m.policy.rtcp_tag, tag);
        assert_eq!(m.policy.mki, None);
        assert_eq!(m.key, key());
        assert_eq!(m.sessions, [CryptoSession { ssrc: 5, roc: 0 }]);
    }
}

#[test]
fn a_tek_with_a_separate_salt_parses() {
    let mut m = hand_assembled(None, 10, true);
    let kemac = m.len() - 39;
    m.truncate(kemac);
    m.extend_from_slice(&[0, 0, 0, 36, 0, 0x30, 0, 16]);
    m.extend(0..16u8);
    m.extend_from_slice(&[0, 14]);
    m.extend(16..30u8);
    m.push(0);
    assert_eq!(MikeyMessage::parse(&m).unwrap().key, key());
}

#[test]
fn what_cannot_be_written_is_refused() {
    let p80 = Policy::new(Suite::AesCm128HmacSha1_80);
    let too_many = MikeyMessage {
        sessions: vec![CryptoSession { ssrc: 0, roc: 0 }; 256],
        ..message(p80)
    };
    let no_rand = MikeyMessage {
        rand: Vec::new(),
        ..message(p80)
    };
    let rfc4568_32 = message(Policy::new(Suite::AesCm128HmacSha1_32));
    let half_encrypted = message(Policy {
        encrypt_rtcp: false,
        ..p80
    });
    for m in [too_many, no_rand, rfc4568_32, half_encrypted] {
        assert!(
            matches!(m.encode(), Err(KeyExchangeError::Unsupported { .. })),
            "{m:?}"
        );
    }
}

/// Every prefix of a valid message is refused as truncated, with the
/// offset of the field that ran short inside the input.
#[test]
fn every_truncation_is_refused() {
    let full = hand_assembled(Some([1, 2, 3, 4]), 10, true);
    for cut in 0..full.len() {
        match MikeyMessage::parse(&full[..cut]) {
            Err(KeyExchangeError::Truncated { offset, .. }) => assert!(offset <= cut, "{cut}"),
            other => panic!("{cut} bytes: {other:?}"),
        }
    }
}

/// A byte of a message replaced: (offset, new value).
type Edit = (usize, u8);

#[test]
fn hostile_and_unsupported_messages_are_refused_with_their_offset() {
    let good = hand_assembled(Some([1, 2, 3, 4]), 10, true);
    let sp = SP;
    let kemac = good.len() - 44;
    // (what, byte edits (offset, value), offset the error must name)
    let cases: Vec<(&str, Vec<Edit>, usize)> = vec![
        ("version 2", vec![(0, 2)], 0),
        ("a verification message", vec![(1, 1)], 1),
        ("another PRF", vec![(3, 1)], 3),
        ("another CS map type", vec![(9, 1)], 9),
        ("255 crypto sessions", vec![(8, 255)], 10),
        ("an unknown payload", vec![(2, 6)], 28),
        ("an encrypted KEMAC", vec![(kemac + 1, 1)], kemac + 1),
        (
            "a KEMAC length past the end",
            vec![(kemac + 3, 200)],
            kemac + 4,
        ),
        (
            "a key length past the end",
            vec![(kemac + 7, 200)],
            kemac + 8,
        ),
        ("a TGK", vec![(kemac + 5, 0x01)], kemac + 5),
        ("an interval validity", vec![(kemac + 5, 0x22)], kemac + 5),
        ("a 3-byte MKI", vec![(kemac + 38, 3)], kemac + 38),
        (
            "a second key data sub-payload",
            vec![(kemac + 4, 20)],
            kemac + 4,
        ),
        ("a MAC", vec![(good.len() - 1, 1)], good.len() - 1),
        ("AES-F8", vec![(sp + 10, 2)], sp + 8),
        ("a 256-bit key", vec![(sp + 7, 32)], sp + 5),
        ("no authentication", vec![(sp + 13, 0)], sp + 11),
        ("unauthenticated SRTP", vec![(sp + 28, 0)], sp + 26),
        ("a 12-byte tag", vec![(sp + 31, 12)], sp + 29),
        (
            "a key derivation rate",
            vec![(sp + 5, 6), (sp + 7, 3)],
            sp + 5,
        ),
        ("a 2-byte parameter", vec![(sp + 6, 2)], sp + 5),
        ("an SP length past the end", vec![(sp + 4, 255)], sp + 5),
        ("another protocol", vec![(sp + 2, 1)], sp + 2),
        ("a session under another policy", vec![(10, 1)], 10),
        ("a TS type 3", vec![(29, 3)], 29),
        ("an empty RAND", vec![(39, 0)], 39),
        ("on/off of 2", vec![(sp + 22, 2)], sp + 20),
    ];
    for (what, edits, offset) in cases {
        let mut m = good.clone();
        for (at, value) in edits {
            m[at] = value;
        }
        let err = MikeyMessage::parse(&m).expect_err(what);
        let found = match &err {
            KeyExchangeError::Truncated { offset, .. }
            | KeyExchangeError::Invalid { offset, .. }
            | KeyExchangeError::Unsupported { offset, .. } => *offset,
        };
        assert_eq!(found, offset, "{what}: {err}");
    }
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(matches!(
        MikeyMessage::parse(&trailing),
        Err(KeyExchangeError::Invalid { offset, .. }) if offset == good.len()
    ));
    let mut twice = good[..38].to_vec();
    twice[28] = payload::T; // T is followed by a second T
    twice.extend_from_slice(&[payload::RAND, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    twice.extend_from_slice(&good[38..]);
    assert_eq!(
        MikeyMessage::parse(&twice),
        Err(KeyExchangeError::unsupported(
            38,
            "a second payload of type 5"
        ))
    );
    let no_kemac = {
        let mut m = good[..kemac].to_vec();
        m[sp] = 0;
        m
    };
    assert!(matches!(
        MikeyMessage::parse(&no_kemac),
        Err(KeyExchangeError::Invalid { reason, .. }) if reason == "no KEMAC payload"
    ));
}

#[test]
fn sdp_values_must_be_mikey_in_base64() {
    assert!(MikeyMessage::parse_sdp_value("mikey").is_err());
    assert!(matches!(
        MikeyMessage::parse_sdp_value("sdes AQAF"),
        Err(KeyExchangeError::Unsupported { .. })
    ));
    assert!(matches!(
        MikeyMessage::parse_sdp_value("mikey AQ*F"),
        Err(KeyExchangeError::Invalid { .. })
    ));
    let value = message(Policy::new(Suite::AesCm128HmacSha1_80))
        .sdp_value()
        .unwrap();
    assert!(MikeyMessage::parse_sdp_value(&value.to_uppercase()).is_err());
    assert!(MikeyMessage::parse_sdp_value(&value.replacen("mikey", "MIKEY", 1)).is_ok());
}

/// Random bytes behind a valid header: never a panic.
#[test]
fn random_input_never_panics() {
    let mut noise = vec![0u8; 1 << 14];
    getrandom::fill(&mut noise).unwrap();
    for chunk in noise.chunks(97) {
        let mut m = vec![1, 0, chunk[0] % 12, 0, 0, 0, 0, 0, chunk[1] % 3, 0];
        m.extend_from_slice(chunk);
        let _ = MikeyMessage::parse(&m);
        let _ = MikeyMessage::parse(chunk);
    }
}
