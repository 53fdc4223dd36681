//! The UDP checksum (RFC 768) of the datagrams a capture records: the
//! Internet checksum (RFC 1071) over the IPv4 (RFC 768) or IPv6 (RFC 8200
//! §8.1) pseudo-header, the UDP header and the payload.
//!
//! By hand rather than etherparse's `UdpHeader::with_ipv4_checksum`
//! because it is the hot loop of `packetize` (it reads every payload byte):
//! etherparse adds 8-byte words with an end-around carry each, a serial
//! chain (about 14 GB/s here); summing 32-bit words into a 64-bit
//! accumulator and folding the carries once at the end (RFC 1071 §2 (C),
//! deferred carries) vectorizes, about 2.5 times as fast.

use std::net::IpAddr;

/// IANA protocol number of UDP.
const UDP: u8 = 17;

/// The checksum field of a UDP datagram from `src` to `dst` carrying the
/// concatenation of `payload` (at most 65527 bytes): never 0, which means
/// "no checksum" (RFC 768: a computed 0 is sent as all ones).
pub fn udp_checksum(src: (IpAddr, u16), dst: (IpAddr, u16), payload: &[&[u8]]) -> u16 {
    let payload_len: usize = payload.iter().map(|p| p.len()).sum();
    let length = (8 + payload_len) as u16;
    let mut head = [0u8; 48];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        head[at..at + bytes.len()].copy_from_slice(bytes);
        at += bytes.len();
    };
    match (src.0, dst.0) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            put(&s.octets());
            put(&d.octets());
            put(&[0, UDP]);
            put(&length.to_be_bytes());
        }
        (s, d) => {
            put(&ipv6_octets(s));
            put(&ipv6_octets(d));
            put(&u32::from(length).to_be_bytes());
            put(&[0, 0, 0, UDP]);
        }
    }
    // The UDP header with a zero checksum field.
    put(&src.1.to_be_bytes());
    put(&dst.1.to_be_bytes());
    put(&length.to_be_bytes());
    put(&[0, 0]);
    let mut sum = le_words_sum(&head[..at]);
    let mut offset = at;
    for part in payload {
        // RFC 1071 §2 (B): a part starting at an odd offset pairs its bytes
        // the other way round: its sum is byte-swapped.
        let part_sum = fold(le_words_sum(part));
        sum += u64::from(if offset % 2 == 1 {
            part_sum.swap_bytes()
        } else {
            part_sum
        });
        offset += part.len();
    }
    // The sum of little-endian words is the byte-swapped sum of the
    // network-order ones (§2 (B) again).
    match !fold(sum).swap_bytes() {
        0 => 0xffff,
        checksum => checksum,
    }
}

fn ipv6_octets(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// The sum of `data` as little-endian 32-bit words (an odd tail padded with
/// zeros), without carries folded: a 64-bit accumulator cannot overflow
/// for any slice in memory.
fn le_words_sum(data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(4);
    let sum: u64 = (&mut words)
        .map(|w| u64::from(u32::from_le_bytes([w[0], w[1], w[2], w[3]])))
        .sum();
    let tail = words
        .remainder()
        .iter()
        .enumerate()
        .map(|(i, &b)| u64::from(b) << (8 * i))
        .sum::<u64>();
    sum + tail
}

/// Folds the carries of a sum of 16-bit words back into 16 bits (the
/// ones' complement addition of RFC 1071 §1).
fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, UdpHeader};
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn same_as_etherparse(
            payload in proptest::collection::vec(any::<u8>(), 0..3000),
            s in any::<[u8; 16]>(),
            d in any::<[u8; 16]>(),
            ports in any::<(u16, u16)>(),
            split in 0usize..40,
            split2 in 0usize..3000,
        ) {
            let v4 = Ipv4Header::new(0, 64, IpNumber::UDP, [s[0], s[1], s[2], s[3]], [d[0], d[1], d[2], d[3]]).unwrap();
            let expected = UdpHeader::with_ipv4_checksum(ports.0, ports.1, &v4, &payload).unwrap().checksum;
            let (src, dst) = ((IpAddr::from(v4.source), ports.0), (IpAddr::from(v4.destination), ports.1));
            prop_assert_eq!(udp_checksum(src, dst, &[&payload]), expected);
            // Split anywhere, at odd or even offsets.
            let (a, rest) = payload.split_at(split.min(payload.len()));
            let (b, c) = rest.split_at(split2.min(rest.len()));
            prop_assert_eq!(udp_checksum(src, dst, &[a, b, c]), expected);
            let v6 = Ipv6Header {
                traffic_class: 0,
                flow_label: Ipv6FlowLabel::ZERO,
                payload_length: 0,
                next_header: IpNumber::UDP,
                hop_limit: 64,
                source: s,
                destination: d,
            };
            let expected = UdpHeader::with_ipv6_checksum(ports.0, ports.1, &v6, &payload).unwrap().checksum;
            let ours = udp_checksum((IpAddr::from(s), ports.0), (IpAddr::from(d), ports.1), &[&payload]);
            prop_assert_eq!(ours, expected);
        }
    }

    #[test]
    fn zero_is_sent_as_all_ones() {
        // A datagram whose sum is all ones: the checksum computes to 0.
        let src = (IpAddr::from([0, 0, 0, 0]), 0);
        let dst = (IpAddr::from([0, 0, 0, 0]), 0);
        // Pseudo-header and header: protocol 17 and twice the length 10.
        let rest = 0xffff - 17 - 10 - 10;
        let payload = [(rest >> 8) as u8, rest as u8];
        assert_eq!(udp_checksum(src, dst, &[&payload]), 0xffff);
    }
}
