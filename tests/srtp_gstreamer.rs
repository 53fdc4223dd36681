//! Our SRTP and MIKEY against GStreamer, the client that reads MIKEY:
//!
//! - GStreamer's MIKEY parser (libgstsdp's `gst_mikey_message_new_from_data`,
//!   and `gst_sdp_media_attributes_to_caps` as `rtspsrc` applies it to a
//!   DESCRIBE answer) reads our `a=key-mgmt` offers: every header field,
//!   crypto session, payload and parameter, and the `srtp-key`,
//!   `srtp-cipher` and `srtp-auth` it would give `srtpdec`.
//! - `srtpdec` (libsrtp) decrypts SRTP and SRTCP we protect, sent over UDP
//!   on loopback, across a sequence number wrap: the L16 payloads it
//!   depayloads and the RTCP packets it outputs equal ours byte for byte.

mod common;
mod srtp_support;

use std::net::UdpSocket;
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Bounded;
use mediatool::srtp::mikey::{CryptoSession, MikeyMessage};
use mediatool::srtp::{Mki, Policy, SrtpKey, SrtpSender, Suite, TagLength};
use serde_json::{json, Value};
use srtp_support::*;

/// Runs tests/srtp_support/gst_mikey.py on an `a=key-mgmt` value.
fn gstreamer_reads(sdp_value: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/srtp_support/gst_mikey.py");
    let b64 = sdp_value.strip_prefix("mikey ").unwrap();
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .arg(b64)
        .output_bounded();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn gstreamer_parses_our_mikey_offers() {
    if !require_python_gst_sdp() {
        return;
    }
    let key = SrtpKey::random().unwrap();
    let sessions = [
        CryptoSession {
            ssrc: 0x1111_2222,
            roc: 0,
        },
        CryptoSession {
            ssrc: 0xFFFF_FFFF,
            roc: 70_000,
        },
    ];
    let p80 = Policy::new(Suite::AesCm128HmacSha1_80);
    let p32 = Policy {
        rtcp_tag: TagLength::Bits32,
        ..Policy::new(Suite::AesCm128HmacSha1_32)
    };
    // (policy, what rtspsrc hands srtpdec: cipher, auth)
    let cases = [
        (p80, "aes-128-icm", "hmac-sha1-80"),
        (
            p80.with_mki(Mki([0xA1, 0xB2, 0xC3, 0xD4])),
            "aes-128-icm",
            "hmac-sha1-80",
        ),
        (p80.without_encryption(), "null", "hmac-sha1-80"),
        // RFC 3830 says the tag length in parameter 11, which GStreamer
        // ignores: it reads _80. This is why a server offers _80 in MIKEY.
        (p32, "aes-128-icm", "hmac-sha1-80"),
    ];
    for (policy, cipher, auth) in cases {
        let offer = MikeyMessage::offer(&key, policy, &sessions).unwrap();
        let read = gstreamer_reads(&offer.sdp_value().unwrap());
        let m = &read["message"];
        assert!(m.is_object(), "GStreamer refused the message: {read}");
        assert_eq!(
            [
                &m["version"],
                &m["type"],
                &m["V"],
                &m["prf"],
                &m["map_type"]
            ],
            [&json!(1), &json!(0), &json!(0), &json!(0), &json!(0)]
        );
        assert_eq!(m["csb_id"], json!(offer.csb_id));
        assert_eq!(
            m["cs"],
            json!(sessions
                .iter()
                .map(|s| json!({"policy": 0, "ssrc": s.ssrc, "roc": s.roc}))
                .collect::<Vec<_>>())
        );
        let payloads = m["payloads"].as_array().unwrap();
        let types: Vec<_> = payloads
            .iter()
            .map(|p| p["type"].as_u64().unwrap())
            .collect();
        assert_eq!(types, [5, 11, 10, 1], "T, RAND, SP, KEMAC");
        assert_eq!(payloads[0]["ts_type"], json!(0), "NTP-UTC");
        assert_eq!(payloads[1]["len"], json!(16));
        let e = if policy.encrypt_rtp { "01" } else { "00" };
        let tag = format!("{:02x}", policy.rtp_tag.bytes());
        assert_eq!(
            payloads[2],
            json!({"type": 10, "policy": 0, "proto": 0, "params": [
                [1, "10"], [0, e], [2, "01"], [3, "14"], [4, "0e"],
                [7, e], [8, e], [10, "01"], [11, tag]]})
        );
        let (kv, spi) = match policy.mki {
            Some(mki) => (1, hex::encode(mki.0)),
            None => (0, String::new()),
        };
        assert_eq!(
            payloads[3],
            json!({"type": 1, "enc_alg": 0, "mac_alg": 0, "subpayloads": [
                {"key_type": 2, "key": hex::encode(key.to_bytes()), "salt_len": 0,
                 "kv_type": kv, "spi": spi}]})
        );
        assert_eq!(
            read["caps"],
            json!({"srtp-key": hex::encode(key.to_bytes()),
                   "srtp-cipher": cipher, "srtp-auth": auth,
                   "srtcp-cipher": cipher, "srtcp-auth": auth, "mki": false}),
            "{policy:?}"
        );
    }
}

/// One stream through srtpdec: `policy` as srtpdec's caps spell it.
fn srtpdec_decrypts(policy: Policy) {
    let key = SrtpKey::random().unwrap();
    let ssrc = 0x00C0_FFEE;
    let mut sender = SrtpSender::new(&key, policy, ssrc);
    // 300 packets from sequence number 65,400: the ROC steps to 1 midway.
    let plain = l16_packets(ssrc, 65_400, 300);
    let rtcp_plain: Vec<_> = (0..3).map(|n| sender_report(ssrc, n * 100)).collect();
    let srtp: Vec<_> = plain
        .iter()
        .map(|p| {
            let mut p = p.clone();
            sender.protect_rtp(&mut p).unwrap();
            p
        })
        .collect();
    assert_eq!(sender.roc(), 1);
    let srtcp: Vec<_> = rtcp_plain
        .iter()
        .map(|p| {
            let mut p = p.clone();
            sender.protect_rtcp(&mut p).unwrap();
            p
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let (rtp_out, rtcp_out) = (dir.path().join("rtp.raw"), dir.path().join("rtcp.raw"));
    let port = free_port_pair();
    let cipher = |on| if on { "aes-128-icm" } else { "null" };
    let auth = |tag: TagLength| format!("hmac-sha1-{}", tag.bytes() * 8);
    let mki = policy
        .mki
        .map(|m| format!(", mki=(buffer){}", hex::encode(m.0)))
        .unwrap_or_default();
    let crypto = format!(
        "ssrc=(uint){ssrc}, roc=(uint)0, srtp-key=(buffer){}, srtp-cipher=(string){}, \
         srtp-auth=(string){}, srtcp-cipher=(string){}, srtcp-auth=(string){}{mki}",
        hex::encode(key.to_bytes()),
        cipher(policy.encrypt_rtp),
        auth(policy.rtp_tag),
        cipher(policy.encrypt_rtcp),
        auth(policy.rtcp_tag),
    );
    // The queues decouple the UDP reads from srtpdec, which stalls for a
    // few hundred milliseconds at its first packets: without them the
    // socket buffer overflows and packets are lost.
    let queue = "queue max-size-buffers=0 max-size-time=0 max-size-bytes=0";
    let pipeline = format!(
        "udpsrc port={port} num-buffers={} caps=\"application/x-srtp, media=(string)audio, \
         clock-rate=(int){CLOCK_RATE}, encoding-name=(string)L16, payload=(int){PT}, \
         channels=(int)1, {crypto}\" ! {queue} ! d.rtp_sink \
         udpsrc port={} num-buffers={} caps=\"application/x-srtcp, {crypto}\" ! {queue} ! d.rtcp_sink \
         srtpdec name=d \
         d.rtp_src ! rtpL16depay ! filesink sync=false location={} \
         d.rtcp_src ! filesink sync=false location={}",
        srtp.len(),
        port + 1,
        srtcp.len(),
        rtp_out.display(),
        rtcp_out.display()
    );
    let run = || {
        let mut gst =
            spawn(common::gst_launch().args(pipeline.split_whitespace().collect::<Vec<_>>()));
        wait_bound(port, &mut gst, Duration::from_secs(10));
        wait_bound(port + 1, &mut gst, Duration::from_secs(10));
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        send_paced(&socket, port, &srtp);
        send_paced(&socket, port + 1, &srtcp);
        common::wait_with_output_bounded(gst, "gst-launch-1.0 with srtpdec")
    };
    // gst-launch-1.0 crashed once in a CI run (SIGSEGV; not reproduced in
    // 23 runs since, 15 of them with both cores kept busy): a
    // crashed peer says nothing of our packets, so a crash, and only a
    // crash, is run again, once.
    let mut out = run();
    if out.status.signal() == Some(libc::SIGSEGV) {
        eprintln!(
            "{policy:?}: gst-launch-1.0 crashed (SIGSEGV), running it again: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out = run();
    }
    assert!(
        out.status.success(),
        "{policy:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let media: Vec<u8> = (0..plain.len() as u32).flat_map(payload).collect();
    let decrypted = std::fs::read(&rtp_out).unwrap();
    assert_eq!(
        decrypted.len(),
        media.len(),
        "{policy:?}: srtpdec dropped packets"
    );
    assert!(decrypted == media, "{policy:?}: decrypted media differs");
    assert_eq!(
        std::fs::read(&rtcp_out).unwrap(),
        rtcp_plain.concat(),
        "{policy:?}"
    );
}

#[test]
fn srtpdec_decrypts_our_aes_cm_128_hmac_sha1_80() {
    if common::require_tool("gst-launch-1.0") {
        srtpdec_decrypts(Policy::new(Suite::AesCm128HmacSha1_80));
    }
}

#[test]
fn srtpdec_decrypts_our_aes_cm_128_hmac_sha1_32() {
    if common::require_tool("gst-launch-1.0") {
        srtpdec_decrypts(Policy::new(Suite::AesCm128HmacSha1_32));
    }
}

#[test]
fn srtpdec_decrypts_with_an_mki() {
    if common::require_tool("gst-launch-1.0") {
        srtpdec_decrypts(Policy::new(Suite::AesCm128HmacSha1_80).with_mki(Mki([1, 2, 3, 4])));
    }
}
