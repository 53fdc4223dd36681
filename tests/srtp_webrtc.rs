//! Our SRTP against a second implementation: the `webrtc-srtp` crate
//! (webrtc-rs), which has no MKI, so the policies compared have none.
//! Packets go both ways (we protect and it unprotects, it protects and we
//! unprotect), RTP and RTCP, with 80- and 32-bit tags, across a sequence
//! number wrap, and the bytes on the wire are compared exactly.

use mediatool::srtp::{Policy, SrtpKey, SrtpReceiver, SrtpSender, Suite};
use webrtc_srtp::context::Context;
use webrtc_srtp::protection_profile::ProtectionProfile;

const SSRC: u32 = 0x5EC0_0001;

fn webrtc(key: &SrtpKey, suite: Suite) -> Context {
    let profile = match suite {
        Suite::AesCm128HmacSha1_80 => ProtectionProfile::Aes128CmHmacSha1_80,
        Suite::AesCm128HmacSha1_32 => ProtectionProfile::Aes128CmHmacSha1_32,
    };
    Context::new(key.master_key(), key.master_salt(), profile, None, None).unwrap()
}

/// RTP packets of assorted shapes: empty and block-straddling payloads,
/// CSRCs, a header extension, the marker bit; sequence numbers wrapping.
fn rtp_packets() -> Vec<Vec<u8>> {
    let sizes = [0usize, 1, 15, 16, 17, 160, 1200, 1400];
    (0..40u16)
        .map(|n| {
            let seq = 65_520u16.wrapping_add(n);
            let shape = n % 4;
            let mut p = vec![0x80, 96 | if n % 5 == 0 { 0x80 } else { 0 }];
            p.extend_from_slice(&seq.to_be_bytes());
            p.extend_from_slice(&(u32::from(n) * 3000).to_be_bytes());
            p.extend_from_slice(&SSRC.to_be_bytes());
            if shape == 1 {
                p[0] |= 2; // two CSRCs
                p.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
            }
            if shape == 2 {
                p[0] |= 0x10; // a one-byte-header extension of two words
                p.extend_from_slice(&[0xBE, 0xDE, 0, 2, 0x10, 0xAA, 0x21, 0xBB, 0xCC, 0, 0, 0]);
            }
            let size = sizes[usize::from(n) % sizes.len()];
            p.extend((0..size).map(|i| (i * 31 + usize::from(n)) as u8));
            p
        })
        .collect()
}

/// A sender report and a compound SR + SDES.
fn rtcp_packets() -> Vec<Vec<u8>> {
    (0..6u8)
        .map(|n| {
            let mut p = vec![0x80, 200, 0, 6];
            p.extend_from_slice(&SSRC.to_be_bytes());
            p.extend((0..20).map(|i| i * 11 + n));
            if n % 2 == 1 {
                p.extend_from_slice(&[0x81, 202, 0, 3]);
                p.extend_from_slice(&SSRC.to_be_bytes());
                p.extend_from_slice(&[1, 3, b'm', b't', b'x', 0, 0, 0]);
            }
            p
        })
        .collect()
}

#[test]
fn rtp_matches_webrtc_srtp_both_ways() {
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let key = SrtpKey::random().unwrap();
        let policy = Policy::new(suite);
        let mut ours = SrtpSender::new(&key, policy, SSRC);
        let mut theirs = webrtc(&key, suite);
        let mut their_decryptor = webrtc(&key, suite);
        let mut our_receiver = SrtpReceiver::new(&key, policy, 0);
        for (n, plain) in rtp_packets().into_iter().enumerate() {
            let mut packet = plain.clone();
            ours.protect_rtp(&mut packet).unwrap();
            let their_packet = theirs.encrypt_rtp(&plain).unwrap();
            assert_eq!(
                packet,
                their_packet[..],
                "{suite:?} packet {n}: wire bytes differ"
            );
            let decrypted = their_decryptor
                .decrypt_rtp(&packet)
                .unwrap_or_else(|e| panic!("{suite:?} packet {n}: webrtc-srtp refused ours: {e}"));
            assert_eq!(decrypted[..], plain[..], "{suite:?} packet {n}");
            let mut theirs_in = their_packet.to_vec();
            let len = our_receiver.unprotect_rtp(&mut theirs_in).unwrap();
            assert_eq!(theirs_in[..len], plain[..], "{suite:?} packet {n}");
        }
        assert_eq!(ours.roc(), 1, "the sequence numbers wrapped once");
    }
}

/// webrtc-srtp numbers SRTCP packets from 1, we from 0 (RFC 3711 §3.4),
/// so the byte-for-byte comparison is of our second packet with its first.
#[test]
fn rtcp_matches_webrtc_srtp_both_ways() {
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let key = SrtpKey::random().unwrap();
        let policy = Policy::new(suite);
        let mut ours = SrtpSender::new(&key, policy, SSRC);
        let mut theirs = webrtc(&key, suite);
        let mut their_decryptor = webrtc(&key, suite);
        let mut our_receiver = SrtpReceiver::new(&key, policy, 0);
        let packets = rtcp_packets();
        for plain in &packets {
            let mut packet = plain.clone();
            ours.protect_rtcp(&mut packet).unwrap();
            let decrypted = their_decryptor.decrypt_rtcp(&packet).unwrap();
            assert_eq!(decrypted[..], plain[..], "{suite:?}");
        }
        for (n, plain) in packets.iter().enumerate() {
            let their_packet = theirs.encrypt_rtcp(plain).unwrap();
            let mut theirs_in = their_packet.to_vec();
            let len = our_receiver.unprotect_rtcp(&mut theirs_in).unwrap();
            assert_eq!(theirs_in[..len], plain[..], "{suite:?} packet {n}");
        }
        // Same plaintext through both at the same index: identical bytes.
        let plain = &packets[0];
        let mut ours_again = SrtpSender::new(&key, policy, SSRC);
        let mut skipped = plain.clone();
        ours_again.protect_rtcp(&mut skipped).unwrap();
        let mut packet = plain.clone();
        ours_again.protect_rtcp(&mut packet).unwrap();
        let mut theirs_again = webrtc(&key, suite);
        assert_eq!(
            packet,
            theirs_again.encrypt_rtcp(plain).unwrap()[..],
            "{suite:?}"
        );
    }
}
