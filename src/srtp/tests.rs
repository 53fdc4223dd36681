//! Protect and unprotect together: known answers, round trips across
//! sequence number wraps, and hostile packets.

use super::*;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    hex::decode(s).unwrap()
}

/// The master key of RFC 3711 Appendix B.3, which libsrtp's known-answer
/// tests also use.
fn rfc_key() -> SrtpKey {
    SrtpKey::from_bytes(&hex(
        "E1F97A0D3E018BE0D64FA32C06DE4139 0EC675AD498AFEEBB6960B3AABE6",
    ))
    .unwrap()
}

fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend_from_slice(&(u32::from(seq) * 90).to_be_bytes());
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// A sender report with one block of made-up report bytes.
fn rtcp(ssrc: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend((0..20).map(|i| i as u8 * 7));
    p
}

/// libsrtp's known answer (test/srtp_driver.c): SSRC 0xCAFEBABE, sequence
/// number 0x1234, sixteen 0xAB bytes of payload, under the RFC 3711 B.3
/// key, with either tag length (the _32 tag is the _80 tag's prefix).
#[test]
fn rtp_matches_libsrtps_known_answer() {
    let plain = hex("800F1234 DECAFBAD CAFEBABE ABABABABABABABABABABABABABABABAB");
    let cipher = hex("800F1234 DECAFBAD CAFEBABE 4E55DC4CE79978D88CA4D215949D2402
         B78D6ACC99EA179B8DBB");
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let policy = Policy::new(suite);
        let expected = &cipher[..plain.len() + policy.rtp_tag.bytes()];
        let mut packet = plain.clone();
        SrtpSender::new(&rfc_key(), policy, 0xCAFE_BABE)
            .protect_rtp(&mut packet)
            .unwrap();
        assert_eq!(packet, expected, "{suite:?}");
        let mut rx = SrtpReceiver::new(&rfc_key(), policy, 0);
        let len = rx.unprotect_rtp(&mut packet).unwrap();
        assert_eq!(packet[..len], plain[..]);
    }
}

/// libsrtp's SRTCP known answer: a sender report header of SSRC
/// 0xCAFEBABE and sixteen 0xAB bytes, SRTCP index 1 (libsrtp numbers from
/// 1; our sender starts at 0, so its second packet is the one compared).
#[test]
fn rtcp_matches_libsrtps_known_answer() {
    let plain = hex("81C8000B CAFEBABE ABABABABABABABABABABABABABABABAB");
    let cipher = hex("81C8000B CAFEBABE 7128035BE487B9BDBEF89041F977A5A8
         80000001 993E08CD54D6C1230798");
    let mut tx = SrtpSender::new(
        &rfc_key(),
        Policy::new(Suite::AesCm128HmacSha1_80),
        0xCAFE_BABE,
    );
    let mut first = plain.clone();
    tx.protect_rtcp(&mut first).unwrap();
    assert_eq!(first[first.len() - 14..first.len() - 10], [0x80, 0, 0, 0]);
    let mut packet = plain.clone();
    tx.protect_rtcp(&mut packet).unwrap();
    assert_eq!(packet, cipher);
    let mut rx = SrtpReceiver::new(&rfc_key(), Policy::new(Suite::AesCm128HmacSha1_80), 0);
    let len = rx.unprotect_rtcp(&mut packet).unwrap();
    assert_eq!(packet[..len], plain[..]);
}

/// Every policy round-trips RTP and RTCP, and protect allocates nothing
/// when the buffer has the overhead as spare capacity.
#[test]
fn every_policy_round_trips_without_reallocating() {
    let key = SrtpKey::random().unwrap();
    let mki = Mki([9, 8, 7, 6]);
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        for policy in [
            Policy::new(suite),
            Policy::new(suite).with_mki(mki),
            Policy::new(suite).without_encryption(),
        ] {
            let mut tx = SrtpSender::new(&key, policy, 42);
            let mut rx = SrtpReceiver::new(&key, policy, 0);
            for seq in [65_530u16, 65_535, 0, 3] {
                let plain = rtp(seq, 42, &[seq as u8; 100]);
                let mut packet = Vec::with_capacity(plain.len() + policy.rtp_overhead());
                packet.extend_from_slice(&plain);
                let buffer = packet.as_ptr();
                tx.protect_rtp(&mut packet).unwrap();
                assert_eq!(packet.as_ptr(), buffer, "{policy:?} reallocated");
                assert_eq!(packet.len(), plain.len() + policy.rtp_overhead());
                assert_eq!(packet[..12], plain[..12], "the header stays in the clear");
                assert_eq!(packet[12..112] == plain[12..], !policy.encrypt_rtp);
                let len = rx.unprotect_rtp(&mut packet).unwrap();
                assert_eq!(packet[..len], plain[..], "{policy:?} seq {seq}");
            }
            assert_eq!((tx.roc(), rx.roc()), (1, 1));
            for _ in 0..3 {
                let plain = rtcp(42);
                let mut packet = Vec::with_capacity(plain.len() + policy.rtcp_overhead());
                packet.extend_from_slice(&plain);
                let buffer = packet.as_ptr();
                tx.protect_rtcp(&mut packet).unwrap();
                assert_eq!(packet.as_ptr(), buffer);
                assert_eq!(packet.len(), plain.len() + policy.rtcp_overhead());
                let len = rx.unprotect_rtcp(&mut packet).unwrap();
                assert_eq!(packet[..len], plain[..], "{policy:?}");
            }
        }
    }
}

/// RFC 3711 §3.3.1: a stream of more than 65,536 packets, starting near a
/// wrap. The sender's rollover counter steps at each wrap; a receiver
/// estimating indices (Appendix A) decrypts every packet, also with a few
/// packets delivered out of order around the wraps and with the last
/// packets of the stream received by a receiver that joins late knowing
/// only the rollover counter (as MIKEY announces it).
#[test]
fn the_rollover_counter_follows_past_65536_packets() {
    let key = SrtpKey::random().unwrap();
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let mut tx = SrtpSender::new(&key, policy, 7);
    let mut rx = SrtpReceiver::new(&key, policy, 0);
    let total = 140_000u32;
    let start = 65_000u16;
    let mut held: Option<(u32, Vec<u8>)> = None;
    let mut late = Vec::new();
    for n in 0..total {
        let seq = start.wrapping_add(n as u16);
        let payload = n.to_be_bytes();
        let mut packet = rtp(seq, 7, &payload);
        tx.protect_rtp(&mut packet).unwrap();
        assert_eq!(tx.roc(), (u32::from(start) + n) >> 16, "packet {n}");
        if n >= total - 3 {
            late.push((n, packet.clone()));
        }
        // Swap each packet just before a wrap with the one after it.
        if seq == 65_535 {
            held = Some((n, packet));
            continue;
        }
        for (m, mut p) in [Some((n, packet)), held.take()].into_iter().flatten() {
            let len = rx
                .unprotect_rtp(&mut p)
                .unwrap_or_else(|e| panic!("packet {m}: {e}"));
            assert_eq!(p[12..len], m.to_be_bytes(), "packet {m}");
        }
    }
    let last_roc = (u32::from(start) + total - 1) >> 16;
    assert_eq!(last_roc, 3);
    assert_eq!(tx.roc(), last_roc);
    assert_eq!(rx.roc(), last_roc);
    let mut joined = SrtpReceiver::new(&key, policy, tx.roc());
    for (n, mut p) in late {
        let len = joined.unprotect_rtp(&mut p).unwrap();
        assert_eq!(p[12..len], n.to_be_bytes());
    }
    // A receiver told the wrong rollover counter cannot authenticate.
    let mut wrong = SrtpReceiver::new(&key, policy, last_roc - 1);
    let mut p = rtp(start.wrapping_add(total as u16), 7, b"x");
    tx.protect_rtp(&mut p).unwrap();
    assert!(matches!(
        wrong.unprotect_rtp(&mut p),
        Err(SrtpError::Authentication { .. })
    ));
}

#[test]
fn the_sender_refuses_to_reuse_an_index() {
    let mut tx = SrtpSender::new(&rfc_key(), Policy::new(Suite::AesCm128HmacSha1_80), 1);
    let mut p = rtp(100, 1, b"first");
    tx.protect_rtp(&mut p).unwrap();
    for seq in [100, 99, 60_000] {
        let mut p = rtp(seq, 1, b"again");
        let before = p.clone();
        assert!(matches!(
            tx.protect_rtp(&mut p),
            Err(SrtpError::IndexReused { last: 100, .. })
        ));
        assert_eq!(p, before, "a refused packet is left as it was");
    }
    let mut p = rtp(101, 2, b"other stream");
    assert!(matches!(
        tx.protect_rtp(&mut p),
        Err(SrtpError::SsrcMismatch {
            offset: 8,
            expected: 1,
            found: 2
        })
    ));
    let mut p = rtcp(2);
    assert!(matches!(
        tx.protect_rtcp(&mut p),
        Err(SrtpError::SsrcMismatch { offset: 4, .. })
    ));
}

#[test]
fn replayed_and_tampered_packets_are_refused() {
    let key = SrtpKey::random().unwrap();
    let policy = Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([1, 2, 3, 4]));
    let mut tx = SrtpSender::new(&key, policy, 5);
    let mut rx = SrtpReceiver::new(&key, policy, 0);
    let mut packets = Vec::new();
    for seq in 0..100 {
        let mut p = rtp(seq, 5, b"media");
        tx.protect_rtp(&mut p).unwrap();
        packets.push(p);
    }
    let mut sr = rtcp(5);
    tx.protect_rtcp(&mut sr).unwrap();

    let mut p = packets[99].clone();
    rx.unprotect_rtp(&mut p).unwrap();
    let mut again = packets[99].clone();
    assert_eq!(
        rx.unprotect_rtp(&mut again),
        Err(SrtpError::Replayed { index: 99 })
    );
    let mut old = packets[10].clone();
    assert_eq!(
        rx.unprotect_rtp(&mut old),
        Err(SrtpError::Replayed { index: 10 })
    );
    let mut in_window = packets[50].clone();
    assert!(rx.unprotect_rtp(&mut in_window).is_ok());

    let len = packets[60].len();
    for (at, what) in [(2, "header"), (14, "payload"), (len - 1, "tag")] {
        let mut p = packets[60].clone();
        p[at] ^= 1;
        assert!(
            matches!(rx.unprotect_rtp(&mut p), Err(SrtpError::Authentication { offset }) if offset == len - 10),
            "flipped {what}"
        );
    }
    let mut p = packets[60].clone();
    p[len - 11] ^= 1;
    assert_eq!(
        rx.unprotect_rtp(&mut p),
        Err(SrtpError::MkiMismatch { offset: len - 14 })
    );
    // The refused packets left no trace: the genuine one still passes.
    let mut p = packets[60].clone();
    assert!(rx.unprotect_rtp(&mut p).is_ok());

    let mut bad = sr.clone();
    let n = bad.len();
    bad[n - 15] ^= 0x80; // the E flag
    assert!(matches!(
        rx.unprotect_rtcp(&mut bad),
        Err(SrtpError::Authentication { .. })
    ));
    let mut good = sr.clone();
    assert!(rx.unprotect_rtcp(&mut good).is_ok());
    let mut again = sr.clone();
    assert_eq!(
        rx.unprotect_rtcp(&mut again),
        Err(SrtpError::Replayed { index: 0 })
    );
}

/// Short, empty and foreign packets give errors with offsets, never a
/// panic, and leave the receiver as it was.
#[test]
fn truncated_packets_are_refused_with_their_offset() {
    let key = SrtpKey::random().unwrap();
    let policy = Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([0; 4]));
    let mut tx = SrtpSender::new(&key, policy, 3);
    let mut rx = SrtpReceiver::new(&key, policy, 0);
    let mut full = rtp(1, 3, b"");
    tx.protect_rtp(&mut full).unwrap();
    for cut in 0..full.len() {
        let mut p = full[..cut].to_vec();
        let err = rx.unprotect_rtp(&mut p).unwrap_err();
        assert!(
            matches!(err, SrtpError::Truncated { .. }),
            "{cut} bytes: {err}"
        );
    }
    assert!(matches!(
        rx.unprotect_rtp(&mut full[..25].to_vec()),
        Err(SrtpError::Truncated {
            what: "MKI and authentication tag",
            offset: 12,
            need: 26,
            len: 25
        })
    ));
    let mut sr = rtcp(3);
    tx.protect_rtcp(&mut sr).unwrap();
    for cut in 0..8 + policy.rtcp_overhead() {
        let mut p = sr[..cut].to_vec();
        assert!(matches!(
            rx.unprotect_rtcp(&mut p),
            Err(SrtpError::Truncated { .. })
        ));
    }
    let mut empty = Vec::new();
    assert!(matches!(
        tx.protect_rtp(&mut empty),
        Err(SrtpError::Truncated { .. })
    ));
    assert!(matches!(
        tx.protect_rtcp(&mut empty),
        Err(SrtpError::Truncated { .. })
    ));
    let mut v1 = vec![0x40; 40];
    assert!(matches!(
        rx.unprotect_rtp(&mut v1),
        Err(SrtpError::Malformed { offset: 0, .. })
    ));
    // Nothing above authenticated: the genuine packet still does.
    assert_eq!(rx.unprotect_rtp(&mut full), Ok(12));
    assert_eq!(rx.ssrc(), Some(3));
}

/// Random bytes thrown at a receiver: no panic, nothing authenticates.
#[test]
fn random_bytes_never_authenticate() {
    let key = SrtpKey::random().unwrap();
    let mut rx = SrtpReceiver::new(&key, Policy::new(Suite::AesCm128HmacSha1_32), 0);
    let mut bytes = vec![0u8; 4096];
    getrandom::fill(&mut bytes).unwrap();
    for (i, chunk) in bytes.chunks_mut(64).enumerate() {
        let len = (i * 7) % 64;
        let chunk = &mut chunk[..len];
        if let Some(b) = chunk.first_mut() {
            *b = 0x80 | (*b & 0x3f);
        }
        assert!(rx.unprotect_rtp(&mut chunk.to_vec()).is_err());
        assert!(rx.unprotect_rtcp(chunk).is_err());
    }
    assert_eq!(rx.ssrc(), None);
}
