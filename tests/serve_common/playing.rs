//! A session playing over interleaved TCP (plain, TLS or tunnelled; RTP or
//! SRTP, as its DESCRIBE answer says), read on a thread of its own while a
//! test does hostile things beside it: at the end, whether its packets kept
//! coming, authentic, in order and on time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::client::{rtcp_packet_types, Item, Rtsp};
use super::srtp_keys::Unprotect;

/// A playing session being read.
pub struct Playing {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Played>,
}

/// What the reader saw.
#[derive(Debug)]
pub struct Played {
    /// RTP packets read.
    pub packets: u64,
    /// The longest wait between two of them.
    pub longest_gap: Duration,
    /// What went wrong, if anything did.
    pub broken: Option<String>,
}

impl Played {
    /// Fails unless packets kept coming, in order, never more than
    /// `max_gap` apart, at least `min_packets` of them.
    pub fn assert_healthy(&self, min_packets: u64, max_gap: Duration, log: &str) {
        assert!(
            self.broken.is_none() && self.packets >= min_packets && self.longest_gap <= max_gap,
            "the healthy session suffered: {self:?}\nserver log:\n{log}"
        );
    }
}

/// Describes the one-track file at `url` on `client`: how to read its
/// packets.
fn describe(client: &mut Rtsp, url: &str) -> Unprotect {
    let describe = client.request("DESCRIBE", url, &[]);
    assert_eq!(describe.status, 200, "{describe:?}");
    Unprotect::first_track(&describe.body)
}

/// Describes and sets up `url` interleaved on `client`, plays it, and
/// reads it on a thread until [`Playing::finish`].
pub fn play_interleaved(mut client: Rtsp, url: &str) -> Playing {
    let keys = describe(&mut client, url);
    let setup = client.request(
        "SETUP",
        url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    let session = setup.session();
    let play = client.request("PLAY", url, &[("Session", &session)]);
    assert_eq!(play.status, 200, "{play:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let thread = std::thread::spawn({
        let stop = Arc::clone(&stop);
        move || read_until(client, keys, &stop)
    });
    Playing { stop, thread }
}

/// Describes and plays `url` interleaved to its end (RTCP BYE); the RTP
/// packets read, checked to be authentic (SRTP) and in sequence.
pub fn play_to_bye(client: &mut Rtsp, url: &str) -> u64 {
    let mut keys = describe(client, url);
    let setup = client.request(
        "SETUP",
        url,
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    assert_eq!(setup.status, 200, "{setup:?}");
    let play = client.request("PLAY", url, &[("Session", &setup.session())]);
    assert_eq!(play.status, 200, "{play:?}");
    let mut packets = 0;
    let mut last: Option<u16> = None;
    loop {
        match client.read_item().expect("the stream to end with BYE") {
            Item::Frame(0, p) => {
                let p = keys.rtp(p).expect("an authentic packet");
                let seq = u16::from_be_bytes([p[2], p[3]]);
                assert!(
                    last.is_none_or(|l| seq == l.wrapping_add(1)),
                    "{last:?} {seq}"
                );
                last = Some(seq);
                packets += 1;
            }
            Item::Frame(1, p) => {
                let p = keys.rtcp(p).expect("an authentic report");
                if rtcp_packet_types(&p).contains(&203) {
                    return packets;
                }
            }
            _ => {}
        }
    }
}

fn read_until(mut client: Rtsp, mut keys: Unprotect, stop: &AtomicBool) -> Played {
    let mut played = Played {
        packets: 0,
        longest_gap: Duration::ZERO,
        broken: None,
    };
    let mut last: Option<(Instant, u16)> = None;
    while !stop.load(Ordering::Relaxed) {
        let Some(item) = client.read_item() else {
            played.broken = Some("the connection closed".into());
            break;
        };
        let Item::Frame(0, packet) = item else {
            continue;
        };
        let packet = match keys.rtp(packet) {
            Ok(packet) => packet,
            Err(e) => {
                played.broken = Some(format!("an SRTP packet refused: {e}"));
                break;
            }
        };
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let now = Instant::now();
        if let Some((at, previous)) = last {
            played.longest_gap = played.longest_gap.max(now - at);
            if seq != previous.wrapping_add(1) {
                played.broken = Some(format!("packet {previous} followed by {seq}"));
                break;
            }
        }
        last = Some((now, seq));
        played.packets += 1;
    }
    played
}

impl Playing {
    /// Stops reading; what was seen.
    pub fn finish(self) -> Played {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}
