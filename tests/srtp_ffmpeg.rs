//! Our SRTP and SDES against ffmpeg, the client that reads SDES: ffmpeg
//! opens an SDP whose media section carries our `a=crypto` attribute (as
//! its RTSP client reads a DESCRIBE answer: the same `libavformat/rtsp.c`
//! parser and `srtp.c` decryptor), receives SRTP we protect over UDP on
//! loopback across a sequence number wrap, and stops at our SRTCP BYE; the
//! L16 samples it writes equal ours byte for byte.

mod common;
mod srtp_support;

use std::net::UdpSocket;
use std::process::Command;
use std::time::Duration;

use mediatool::srtp::sdes::CryptoAttribute;
use mediatool::srtp::{Policy, SrtpKey, SrtpSender, Suite, TagLength};
use srtp_support::*;

fn ffmpeg_decrypts(policy: Policy) {
    let suite = policy.suite();
    let key = SrtpKey::random().unwrap();
    let ssrc = 0x0BAD_CAFE;
    let mut sender = SrtpSender::new(&key, policy, ssrc);
    let count = 300;
    let srtp: Vec<_> = l16_packets(ssrc, 65_450, count)
        .into_iter()
        .map(|mut p| {
            sender.protect_rtp(&mut p).unwrap();
            p
        })
        .collect();
    assert_eq!(sender.roc(), 1);
    let srtcp: Vec<_> = [sender_report(ssrc, 150), report_and_bye(ssrc, count)]
        .into_iter()
        .map(|mut p| {
            sender.protect_rtcp(&mut p).unwrap();
            p
        })
        .collect();

    let crypto = CryptoAttribute {
        tag: 1,
        policy,
        key: key.clone(),
    };
    let port = free_port_pair();
    let sdp = format!(
        "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=srtp\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {port} RTP/SAVP {PT}\r\na=rtpmap:{PT} L16/{CLOCK_RATE}/1\r\n\
         a=crypto:{}\r\n",
        crypto.sdp_value().unwrap()
    );
    let dir = tempfile::tempdir().unwrap();
    let (sdp_path, out_path) = (dir.path().join("s.sdp"), dir.path().join("out.raw"));
    std::fs::write(&sdp_path, sdp).unwrap();
    let mut ffmpeg = spawn(
        Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
            .args(["-protocol_whitelist", "file,udp,rtp", "-i"])
            .arg(&sdp_path)
            .args(["-c", "copy", "-f", "s16be"])
            .arg(&out_path),
    );
    wait_bound(port, &mut ffmpeg, Duration::from_secs(10));
    wait_bound(port + 1, &mut ffmpeg, Duration::from_secs(10));
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    send_paced(&socket, port, &srtp);
    wait_drained(port, &mut ffmpeg, Duration::from_secs(10));
    send_paced(&socket, port + 1, &srtcp);
    let out = common::wait_with_output_bounded(ffmpeg, "ffmpeg reading SRTP");
    assert!(
        out.status.success(),
        "{suite:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let media: Vec<u8> = (0..count).flat_map(payload).collect();
    let decrypted = std::fs::read(&out_path).unwrap();
    assert_eq!(
        decrypted.len(),
        media.len(),
        "{suite:?}: ffmpeg lost packets"
    );
    assert!(decrypted == media, "{suite:?}: decrypted samples differ");
}

#[test]
fn ffmpeg_decrypts_our_aes_cm_128_hmac_sha1_80_from_sdes() {
    if common::require_tool("ffmpeg") {
        ffmpeg_decrypts(Policy::new(Suite::AesCm128HmacSha1_80));
    }
}

/// ffmpeg reads `AES_CM_128_HMAC_SHA1_32` as 32-bit tags on SRTCP too (not
/// RFC 4568's 80): with 80-bit SRTCP tags it logs "HMAC mismatch", never
/// sees the BYE and the test times out.
#[test]
fn ffmpeg_decrypts_our_aes_cm_128_hmac_sha1_32_from_sdes() {
    if common::require_tool("ffmpeg") {
        ffmpeg_decrypts(Policy {
            rtcp_tag: TagLength::Bits32,
            ..Policy::new(Suite::AesCm128HmacSha1_32)
        });
    }
}
