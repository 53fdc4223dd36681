//! SRTP protection throughput: packets per second on one core for
//! `SrtpSender::protect_rtp` of RTP packets with 1,200-byte payloads, with
//! each suite, and for `protect_rtcp` of a sender report.
//!
//! Run: `cargo bench --bench srtp` (MEDIATOOL_BENCH_SECONDS sets the CPU
//! time per case, default 3).
//!
//! Rates are per second of the benchmark thread's CPU time
//! (`CLOCK_THREAD_CPUTIME_ID`), so a machine shared with other work still
//! gives the figure for one core; the wall-clock rate is shown beside it.
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
        "{:<44} {:>12} {:>12} {:>10} {:>14}",
        "case", "packets/s", "ns/packet", "Gbit/s", "wall packets/s"
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

/// Packets per CPU second and per wall-clock second.
struct Rate {
    cpu: f64,
    wall: f64,
}

fn report(case: &str, rate: Rate, bytes: usize) {
    println!(
        "{case:<44} {:>12.0} {:>12.1} {:>10.2} {:>14.0}",
        rate.cpu,
        1e9 / rate.cpu,
        rate.cpu * bytes as f64 * 8.0 / 1e9,
        rate.wall
    );
}

/// The calling thread's CPU time.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec the call only writes.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `batch` (which protects 1024 packets) until `time` of CPU time has
/// passed.
fn measure(time: Duration, mut batch: impl FnMut()) -> Rate {
    let (cpu_start, wall_start) = (thread_cpu_time(), Instant::now());
    let mut count = 0u64;
    loop {
        batch();
        count += 1024;
        let cpu = thread_cpu_time() - cpu_start;
        if cpu >= time {
            return Rate {
                cpu: count as f64 / cpu.as_secs_f64(),
                wall: count as f64 / wall_start.elapsed().as_secs_f64(),
            };
        }
    }
}

/// Protecting one RTP packet over and over.
fn rtp(key: &SrtpKey, policy: Policy, time: Duration) -> Rate {
    let ssrc = 0x5EC0_0001;
    let mut sender = SrtpSender::new(key, policy, ssrc);
    let mut packet = vec![0x80, 96, 0, 0, 0, 0, 0, 0];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..PAYLOAD).map(|i| i as u8));
    let len = packet.len();
    packet.reserve_exact(policy.rtp_overhead());
    let capacity = packet.capacity();
    let mut seq: u16 = 0;
    let rate = measure(time, || {
        for _ in 0..1024 {
            packet.truncate(len);
            packet[2..4].copy_from_slice(&seq.to_be_bytes());
            sender.protect_rtp(black_box(&mut packet)).unwrap();
            seq = seq.wrapping_add(1);
        }
    });
    assert_eq!(packet.capacity(), capacity, "protect_rtp reallocated");
    rate
}

/// Protecting one sender report over and over.
fn rtcp(key: &SrtpKey, time: Duration) -> Rate {
    let ssrc = 0x5EC0_0001;
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let mut sender = SrtpSender::new(key, policy, ssrc);
    let mut packet = vec![0x80, 200, 0, 6];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&[7; 20]);
    let len = packet.len();
    packet.reserve_exact(policy.rtcp_overhead());
    measure(time, || {
        for _ in 0..1024 {
            packet.truncate(len);
            sender.protect_rtcp(black_box(&mut packet)).unwrap();
        }
    })
}
