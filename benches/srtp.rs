//! SRTP protection throughput: packets per second on one core for
//! `SrtpSender::protect_rtp` of RTP packets with 1,200-byte payloads, with
//! each suite, and for `protect_rtcp` of a sender report.
//!
//! Run: `cargo bench --bench srtp` (MEDIATOOL_BENCH_SECONDS sets the time
//! per case, default 3).
//!
//! Each iteration protects the same buffer again: truncated back to the
//! RTP packet, the sequence number advanced (the sender refuses to reuse
//! an index), then encrypted and tagged in place. So the figure is the
//! cost of protection alone (the AES-CM keystream over the payload and the
//! HMAC-SHA1 over the packet), with no allocation (the buffer's capacity
//! is checked to stay put) and no copy of the media.

use std::hint::black_box;
use std::time::{Duration, Instant};

use mediatool::srtp::{Policy, SrtpKey, SrtpSender, Suite};

const PAYLOAD: usize = 1200;

fn main() {
    let seconds: u64 = std::env::var("MEDIATOOL_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']))
        .unwrap_or("unknown CPU");
    let aes_ni = cpu
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .is_some_and(|f| f.split_whitespace().any(|x| x == "aes"));
    println!("SRTP protection on one core of {model} (AES-NI: {aes_ni}), {seconds} s per case");
    println!(
        "{:<44} {:>12} {:>12} {:>10}",
        "case", "packets/s", "ns/packet", "Gbit/s"
    );
    let key = SrtpKey::random().unwrap();
    for suite in [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32] {
        let rate = rtp(&key, Policy::new(suite), Duration::from_secs(seconds));
        report(
            &format!("protect_rtp {} B {}", PAYLOAD, suite.name()),
            rate,
            12 + PAYLOAD,
        );
    }
    let rate = rtcp(&key, Duration::from_secs(seconds));
    report("protect_rtcp 28 B sender report _80", rate, 28);
}

fn report(case: &str, packets_per_second: f64, bytes: usize) {
    println!(
        "{case:<44} {packets_per_second:>12.0} {:>12.1} {:>10.2}",
        1e9 / packets_per_second,
        packets_per_second * bytes as f64 * 8.0 / 1e9
    );
}

/// Packets per second protecting one RTP packet over and over.
fn rtp(key: &SrtpKey, policy: Policy, time: Duration) -> f64 {
    let ssrc = 0x5EC0_0001;
    let mut sender = SrtpSender::new(key, policy, ssrc);
    let mut packet = vec![0x80, 96, 0, 0, 0, 0, 0, 0];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..PAYLOAD).map(|i| i as u8));
    let len = packet.len();
    packet.reserve_exact(policy.rtp_overhead());
    let capacity = packet.capacity();
    let mut seq: u16 = 0;
    let mut count = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..1024 {
            packet.truncate(len);
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            sender.protect_rtp(black_box(&mut packet)).unwrap();
            seq = seq.wrapping_add(1);
        }
        count += 1024;
        let elapsed = start.elapsed();
        if elapsed >= time {
            assert_eq!(packet.capacity(), capacity, "protect_rtp reallocated");
            return count as f64 / elapsed.as_secs_f64();
        }
    }
}

/// Packets per second protecting one sender report over and over.
fn rtcp(key: &SrtpKey, time: Duration) -> f64 {
    let ssrc = 0x5EC0_0001;
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let mut sender = SrtpSender::new(key, policy, ssrc);
    let mut packet = vec![0x80, 200, 0, 6];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[7; 20]);
    let len = packet.len();
    packet.reserve_exact(policy.rtcp_overhead());
    let mut count = 0u64;
    let start = Instant::now();
    loop {
        for _ in 0..1024 {
            packet.truncate(len);
            sender.protect_rtcp(black_box(&mut packet)).unwrap();
        }
        count += 1024;
        let elapsed = start.elapsed();
        if elapsed >= time {
            return count as f64 / elapsed.as_secs_f64();
        }
    }
}
