//! Multicast delivery (RFC 2326 §12.39 `multicast`, `destination`, `port`,
//! `ttl`), offered only when the server is given a range of groups.
//!
//! The server is on demand, so each set-up track has its own read position
//! and its own stream: it leases a group and a port pair of its own from the
//! configured range, and gives them back when the track is torn down. A
//! group and port pair are never shared by two live tracks, so a receiver
//! bound to the port without filtering by group (`IP_MULTICAST_ALL`) still
//! gets only its stream. The server decides where the media goes: a
//! client's `destination=` and `port=` are not followed (§12.39 asks the
//! server to check a requested destination; honouring any address would
//! make it a traffic reflector), and the TTL is the configured one.
//!
//! RTCP receiver reports sent to the group do not reach the server (it does
//! not join the groups); a multicast session is kept alive by its RTSP
//! requests (every client tested sends GET_PARAMETER or OPTIONS).

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// The first RTP port of the leases; lease `n` has `FIRST_PORT + 2n` and
/// the next port for RTCP (RFC 3550 §11).
const FIRST_PORT: u16 = 50_000;
/// The most leases at once: the even ports from `FIRST_PORT` below 65,534.
const MAX_LEASES: u32 = (65_534 - FIRST_PORT as u32) / 2;

/// A range of IPv4 multicast groups, `A.B.C.D/N` (RFC 5771), excluding the
/// Local Network Control Block 224.0.0.0/24, which routers never forward.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupRange {
    first: Ipv4Addr,
    len: u32,
}

impl GroupRange {
    /// The `n`th group of the range (wrapping).
    fn group(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.first) + n % self.len)
    }
}

impl FromStr for GroupRange {
    type Err = String;

    fn from_str(text: &str) -> Result<GroupRange, String> {
        let bad = |why: &str| format!("multicast range {text:?}: {why}");
        let (addr, prefix) = text.split_once('/').unwrap_or((text, "32"));
        let addr: Ipv4Addr = addr
            .trim()
            .parse()
            .map_err(|_| bad("not an IPv4 address"))?;
        let prefix: u32 = prefix
            .trim()
            .parse()
            .ok()
            .filter(|p| (4..=32).contains(p))
            .ok_or_else(|| bad("the prefix length must be 4 to 32"))?;
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        let first = u32::from(addr) & mask;
        let len = 1u32 << (32 - prefix).min(31);
        let last = first + (len - 1);
        if !Ipv4Addr::from(first).is_multicast() || !Ipv4Addr::from(last).is_multicast() {
            return Err(bad("not within 224.0.0.0/4"));
        }
        if first >> 8 == u32::from(Ipv4Addr::new(224, 0, 0, 0)) >> 8 {
            return Err(bad("224.0.0.0/24 is for local network control"));
        }
        Ok(GroupRange {
            first: Ipv4Addr::from(first),
            len,
        })
    }
}

impl fmt::Display for GroupRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.first, 32 - self.len.trailing_zeros())
    }
}

/// The leases handed out from a range.
#[derive(Debug)]
pub struct GroupPool {
    range: GroupRange,
    /// The IP TTL of the packets sent to the groups.
    pub ttl: u8,
    state: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    in_use: HashSet<u32>,
    /// Where the search for a free lease starts: leases go round the range
    /// so a group just given back is the last to be reused.
    next: u32,
}

impl GroupPool {
    /// A pool over `range`, sending with `ttl`.
    pub fn new(range: GroupRange, ttl: u8) -> GroupPool {
        GroupPool {
            range,
            ttl,
            state: Mutex::new(PoolState::default()),
        }
    }

    /// How many leases can be out at once: one per group, at most one per
    /// port pair.
    fn capacity(&self) -> u32 {
        self.range.len.min(MAX_LEASES)
    }

    /// A free group and port pair, or `None` when all are leased.
    pub fn lease(self: &Arc<Self>) -> Option<Lease> {
        let capacity = self.capacity();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let start = state.next;
        let slot = (0..capacity)
            .map(|i| (start + i) % capacity)
            .find(|slot| !state.in_use.contains(slot))?;
        state.in_use.insert(slot);
        state.next = (slot + 1) % capacity;
        Some(Lease {
            pool: Arc::clone(self),
            slot,
        })
    }
}

/// One track's group and ports, given back to the pool when dropped.
#[derive(Debug)]
pub struct Lease {
    pool: Arc<GroupPool>,
    slot: u32,
}

impl Lease {
    /// The group the track is sent to.
    pub fn group(&self) -> Ipv4Addr {
        self.pool.range.group(self.slot)
    }

    /// The RTP and RTCP ports.
    pub fn ports(&self) -> (u16, u16) {
        // slot < MAX_LEASES: the port is below 65,534.
        let rtp = FIRST_PORT + (self.slot * 2) as u16;
        (rtp, rtp + 1)
    }

    /// The TTL the packets carry.
    pub fn ttl(&self) -> u8 {
        self.pool.ttl
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut state = self.pool.state.lock().unwrap_or_else(|e| e.into_inner());
        state.in_use.remove(&self.slot);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_are_checked() {
        let range: GroupRange = "239.255.42.17/24".parse().unwrap();
        assert_eq!(range.to_string(), "239.255.42.0/24");
        assert_eq!(range.group(0), Ipv4Addr::new(239, 255, 42, 0));
        assert_eq!(range.group(257), Ipv4Addr::new(239, 255, 42, 1));
        let one: GroupRange = "232.1.2.3".parse().unwrap();
        assert_eq!(one.to_string(), "232.1.2.3/32");
        let all = "224.0.0.0/4".parse::<GroupRange>();
        assert!(all.is_err(), "includes 224.0.0.0/24");
        assert_eq!(
            "225.0.0.0/8".parse::<GroupRange>().unwrap().group(5),
            Ipv4Addr::new(225, 0, 0, 5)
        );
        for bad in [
            "",
            "239.1.1.1/33",
            "239.1.1.1/3",
            "239.1.1.1/x",
            "10.0.0.0/8",
            "239.1.1",
            "224.0.0.1/32",
            "ff15::1/64",
            "239.1.1.1/-1",
        ] {
            assert!(bad.parse::<GroupRange>().is_err(), "{bad}");
        }
    }

    #[test]
    fn leases_are_distinct_and_given_back() {
        let pool = Arc::new(GroupPool::new("239.255.0.0/30".parse().unwrap(), 4));
        let leases: Vec<Lease> = (0..4).map(|_| pool.lease().unwrap()).collect();
        let groups: HashSet<Ipv4Addr> = leases.iter().map(Lease::group).collect();
        let ports: HashSet<(u16, u16)> = leases.iter().map(Lease::ports).collect();
        assert_eq!((groups.len(), ports.len()), (4, 4));
        assert!(leases.iter().all(|l| l.ports().0 % 2 == 0 && l.ttl() == 4));
        assert!(pool.lease().is_none(), "the range is exhausted");
        drop(leases);
        let first = pool.lease().unwrap();
        let second = pool.lease().unwrap();
        let first_group = first.group();
        drop(first);
        let third = pool.lease().unwrap();
        assert_ne!(third.group(), first_group, "a freed group is reused last");
        assert_ne!(third.group(), second.group());
    }

    #[test]
    fn a_large_range_is_limited_by_its_ports() {
        let pool = Arc::new(GroupPool::new("239.0.0.0/8".parse().unwrap(), 1));
        assert_eq!(pool.capacity(), MAX_LEASES);
        let leases: Vec<Lease> = (0..MAX_LEASES).map(|_| pool.lease().unwrap()).collect();
        assert!(pool.lease().is_none());
        assert_eq!(leases.last().unwrap().ports(), (65_532, 65_533));
    }
}
