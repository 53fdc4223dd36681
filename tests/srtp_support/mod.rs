//! Helpers for the SRTP interop tests: RTP and RTCP packets with a known
//! pattern, free UDP ports, waiting for a peer to bind or to read what
//! was sent, sending paced datagrams, and starting a peer with its output
//! piped.
#![allow(dead_code)] // each test crate uses a different subset

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// L16 mono at 8 kHz: RTP payload type and clock rate of the test streams.
pub const PT: u8 = 96;
pub const CLOCK_RATE: u32 = 8000;

/// The payload of packet `n`: 160 bytes (80 samples), none equal to the
/// same offset of another packet's.
pub fn payload(n: u32) -> Vec<u8> {
    (0..160u32)
        .map(|i| (n * 7 + i * 13 + (n >> 8)) as u8)
        .collect()
}

/// `count` RTP packets of stream `ssrc`, sequence numbers from `first_seq`
/// (wrapping), 80 samples apart, carrying [`payload`]s.
pub fn l16_packets(ssrc: u32, first_seq: u16, count: u32) -> Vec<Vec<u8>> {
    (0..count)
        .map(|n| {
            let mut p = vec![0x80, PT];
            p.extend_from_slice(&first_seq.wrapping_add(n as u16).to_be_bytes());
            p.extend_from_slice(&(n * 80).to_be_bytes());
            p.extend_from_slice(&ssrc.to_be_bytes());
            p.extend_from_slice(&payload(n));
            p
        })
        .collect()
}

/// A sender report (RFC 3550 §6.4.1) from `ssrc`, with `n` in its counts.
pub fn sender_report(ssrc: u32, n: u32) -> Vec<u8> {
    let mut p = vec![0x80, 200, 0, 6];
    p.extend_from_slice(&ssrc.to_be_bytes());
    p.extend_from_slice(&(0xE000_0000u64 + u64::from(n)).to_be_bytes()); // NTP
    p.extend_from_slice(&(n * 80).to_be_bytes()); // RTP timestamp
    p.extend_from_slice(&n.to_be_bytes()); // packet count
    p.extend_from_slice(&(n * 160).to_be_bytes()); // octet count
    p
}

/// A sender report followed by a BYE (RFC 3550 §6.6), one compound packet.
pub fn report_and_bye(ssrc: u32, n: u32) -> Vec<u8> {
    let mut p = sender_report(ssrc, n);
    p.extend_from_slice(&[0x81, 203, 0, 1]);
    p.extend_from_slice(&ssrc.to_be_bytes());
    p
}

/// An even UDP port whose successor is free too (RTP and RTCP ports).
pub fn free_port_pair() -> u16 {
    for _ in 0..100 {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rtp.local_addr().unwrap().port();
        if port.is_multiple_of(2) && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no free UDP port pair");
}

/// Waits until some process has UDP `port` bound (read from
/// /proc/net/udp, so the probe never races the peer for the port); panics
/// when the child exits first or `timeout` passes.
pub fn wait_bound(port: u16, child: &mut Child, timeout: Duration) {
    wait_for_socket(port, child, timeout, "bound", |_| true);
}

/// Waits until the peer has read every datagram queued on its UDP `port`
/// (the socket's receive queue in /proc/net/udp is empty); panics when
/// the child exits first or `timeout` passes. ffmpeg polls its RTCP socket before its
/// RTP one and ends the stream at a BYE: a BYE sent while RTP is still
/// queued drops that RTP (seen as 4 packets lost with both cores busy).
pub fn wait_drained(port: u16, child: &mut Child, timeout: Duration) {
    wait_for_socket(port, child, timeout, "drained", |row| {
        // "tx_queue:rx_queue", both hexadecimal.
        let queues = row.split_whitespace().nth(4).expect("a queues column");
        let (_, rx) = queues.split_once(':').expect("tx_queue:rx_queue");
        u64::from_str_radix(rx, 16).expect("a hexadecimal rx_queue") == 0
    });
}

/// Waits until a socket bound to UDP `port` has a row of /proc/net/udp or
/// /proc/net/udp6 for which `ready` holds; panics, naming `what`, when the
/// child exits first or `timeout` passes.
fn wait_for_socket(
    port: u16,
    child: &mut Child,
    timeout: Duration,
    what: &str,
    ready: impl Fn(&str) -> bool,
) {
    let needle = format!(":{port:04X} ");
    let deadline = Instant::now() + timeout;
    loop {
        let table = std::fs::read_to_string("/proc/net/udp").expect("/proc/net/udp")
            + &std::fs::read_to_string("/proc/net/udp6").unwrap_or_default();
        if table.lines().any(|l| {
            l.split_whitespace()
                .nth(1)
                .is_some_and(|a| format!("{a} ").ends_with(&needle))
                && ready(l)
        }) {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the peer exited ({status}) before UDP port {port} was {what}");
        }
        assert!(
            Instant::now() < deadline,
            "UDP port {port} not {what} after {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Sends `packets` to `127.0.0.1:port`, about four a millisecond (a few
/// times a real audio stream's rate), so that a receiver's socket buffer
/// absorbs a stall of a few hundred milliseconds.
pub fn send_paced(socket: &UdpSocket, port: u16, packets: &[Vec<u8>]) {
    for (i, p) in packets.iter().enumerate() {
        socket.send_to(p, ("127.0.0.1", port)).unwrap();
        if i % 4 == 3 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Starts `cmd` with piped stdout and stderr.
pub fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"))
}

/// Whether /usr/bin/python3 can load GStreamer's SDP library through
/// PyGObject (Debian: python3-gi, gir1.2-gstreamer-1.0,
/// gir1.2-gst-plugins-base-1.0). Missing, the test is skipped, or fails
/// when `CI=true`.
pub fn require_python_gst_sdp() -> bool {
    let found = Command::new("/usr/bin/python3")
        .args([
            "-c",
            "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstSdp', '1.0'); \
             from gi.repository import Gst, GstSdp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .is_ok_and(|mut child| {
            crate::common::wait_bounded(&mut child, "python3 importing GstSdp").success()
        });
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("/usr/bin/python3 with python3-gi and GstSdp is required when CI=true");
        }
        eprintln!(
            "skipping: /usr/bin/python3 cannot import GstSdp (set CI=true to make this a failure)"
        );
    }
    found
}
