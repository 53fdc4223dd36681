//! Sending a run of packets to one client address with as few system calls
//! and as little per-datagram kernel work as the platform allows.
//!
//! On Linux, one `sendmmsg(2)` hands over up to 64 packets, each from its
//! two parts (headers, then the media as a slice of the file's read buffer:
//! nothing is copied to join them), and packets of equal size (the
//! fragments of one video frame) go as one UDP GSO message (`UDP_SEGMENT`,
//! Linux 4.18): the stack routes and builds headers once for the group and
//! the kernel or the NIC cuts it into datagrams of exactly those packets.
//! Where the kernel or the route to one client refuses segmentation
//! offload, every packet to that client goes as a datagram of its own from
//! then on; other clients keep it.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::UdpSocket;

use crate::stream::PacketParts;

/// Whether packets to one destination may go as GSO messages: on until
/// the route to it refuses them.
#[derive(Debug)]
pub struct Segmentation(AtomicBool);

impl Default for Segmentation {
    fn default() -> Segmentation {
        Segmentation(AtomicBool::new(true))
    }
}

impl Segmentation {
    /// Multicast leaves by whatever device routes the group, whose offload
    /// is unknown: one datagram a packet there.
    fn enabled(&self, dest: SocketAddr) -> bool {
        self.0.load(Ordering::Relaxed) && !dest.ip().is_multicast()
    }

    fn refused(&self, dest: SocketAddr, error: &io::Error) {
        self.0.store(false, Ordering::Relaxed);
        tracing::debug!(
            "UDP segmentation offload to {dest} refused ({error}): one datagram a packet"
        );
    }
}

/// Sends `packets` to `dest`, as GSO messages while `segmentation` allows.
/// A datagram the kernel refuses is dropped: loss is UDP's nature.
///
/// `ECONNREFUSED` is not this send's failure: it reports the ICMP port
/// unreachable an earlier datagram drew, perhaps to another client (see
/// `unreachable.rs`), and is cleared by being returned; the datagram goes
/// again, once.
pub async fn send_many(
    socket: &UdpSocket,
    dest: SocketAddr,
    packets: &[PacketParts],
    segmentation: &Segmentation,
) {
    let mut rest = packets;
    let mut retried = false;
    while !rest.is_empty() {
        match socket.try_io(tokio::io::Interest::WRITABLE, || {
            send_some(socket, dest, rest, segmentation)
        }) {
            Ok(sent) => {
                rest = &rest[sent.clamp(1, rest.len())..];
                retried = false;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if socket.writable().await.is_err() {
                    return;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && !retried => retried = true,
            // Skip the datagram that failed and go on with the others.
            Err(_) => {
                rest = &rest[1..];
                retried = false;
            }
        }
    }
}

#[cfg(target_os = "linux")]
use linux::send_some;

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    use tokio::net::UdpSocket;

    use super::Segmentation;
    use crate::stream::PacketParts;

    /// The most packets one call hands over.
    const BATCH: usize = 64;
    /// The most datagrams of one GSO message (the kernel's
    /// `UDP_MAX_SEGMENTS` is 64, 128 in recent kernels).
    const MAX_SEGMENTS: usize = 64;
    /// The most bytes of one GSO message (a UDP datagram's 16-bit length,
    /// less the IPv6 header and margin).
    const MAX_GSO_BYTES: usize = 65_000;

    /// Room for one control message holding a `u16`
    /// (`CMSG_SPACE(sizeof(u16))` on 64-bit Linux), aligned like
    /// `cmsghdr`.
    #[derive(Clone, Copy)]
    #[repr(C, align(8))]
    struct SegmentSize([u8; 24]);

    /// One `sendmmsg(2)` of as many of `packets` as the kernel takes;
    /// returns how many packets went.
    ///
    /// `sendmmsg` fails only when its first message does. When that message
    /// was a GSO one (a kernel without `UDP_SEGMENT`, a device that cannot
    /// checksum, a path MTU below the segment size) and the same packets
    /// then go as plain datagrams, segmentation is turned off for this
    /// destination; an error the retry shares is the destination's own
    /// (port 0, no route) and changes nothing.
    pub fn send_some(
        socket: &UdpSocket,
        dest: SocketAddr,
        packets: &[PacketParts],
        segmentation: &Segmentation,
    ) -> io::Result<usize> {
        let gso = segmentation.enabled(dest);
        match send_batch(socket, dest, packets, gso) {
            Err(e)
                if gso
                    && first_is_segmented(packets)
                    && matches!(e.raw_os_error(), Some(libc::EIO | libc::EINVAL)) =>
            {
                let retry = send_batch(socket, dest, packets, false);
                if retry.is_ok() {
                    segmentation.refused(dest, &e);
                }
                retry
            }
            other => other,
        }
    }

    /// Whether the first message of a GSO batch of `packets` is segmented.
    fn first_is_segmented(packets: &[PacketParts]) -> bool {
        let mut groups = [Group::default(); BATCH];
        group(packets, true, &mut groups) > 0 && groups[0].count > 1
    }

    /// The packets of one message: `count` packets from `first`, cut into
    /// datagrams of `size` bytes when there are several.
    #[derive(Clone, Copy, Default)]
    struct Group {
        first: usize,
        count: usize,
        size: usize,
    }

    /// Splits `packets` into messages: with `gso`, runs of packets of one
    /// size (the last of a run may be smaller, as GSO allows).
    fn group(packets: &[PacketParts], gso: bool, groups: &mut [Group; BATCH]) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < packets.len() && n < BATCH {
            let size = packets[i].len();
            let mut j = i + 1;
            let mut bytes = size;
            while gso
                && j < packets.len()
                && j - i < MAX_SEGMENTS
                && packets[j - 1].len() == size
                && packets[j].len() <= size
                && !packets[j].is_empty()
                && bytes + packets[j].len() <= MAX_GSO_BYTES
            {
                bytes += packets[j].len();
                j += 1;
            }
            groups[n] = Group {
                first: i,
                count: j - i,
                size,
            };
            n += 1;
            i = j;
        }
        n
    }

    fn send_batch(
        socket: &UdpSocket,
        dest: SocketAddr,
        packets: &[PacketParts],
        gso: bool,
    ) -> io::Result<usize> {
        let packets = &packets[..packets.len().min(BATCH)];
        let mut groups = [Group::default(); BATCH];
        let messages_count = group(packets, gso, &mut groups);
        let groups = &groups[..messages_count];

        let empty = libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        };
        let part = |bytes: &[u8]| libc::iovec {
            iov_base: bytes.as_ptr() as *mut libc::c_void,
            iov_len: bytes.len(),
        };
        let mut iovecs = [empty; 2 * BATCH];
        for (pair, packet) in iovecs.chunks_exact_mut(2).zip(packets) {
            pair[0] = part(&packet.head);
            pair[1] = part(&packet.body);
        }
        // One pointer for all the headers: reborrowing the array for each
        // would invalidate the pointers taken before.
        let iov_base = iovecs.as_mut_ptr();
        let addr = socket2::SockAddr::from(dest);
        let mut controls = [SegmentSize([0; 24]); BATCH];
        // SAFETY: mmsghdr is plain old data; all-zero is a valid value.
        let mut messages: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for ((message, group), control) in messages.iter_mut().zip(groups).zip(&mut controls) {
            let header = &mut message.msg_hdr;
            header.msg_name = addr.as_ptr() as *mut libc::c_void;
            header.msg_namelen = addr.len();
            // SAFETY: 2 * first + 2 * count <= 2 * packets.len() <= 2 *
            // BATCH, the array's length: the offset stays in bounds.
            header.msg_iov = unsafe { iov_base.add(2 * group.first) };
            // `as _`: size_t in glibc, int in musl; at most 2 * MAX_SEGMENTS.
            header.msg_iovlen = (2 * group.count) as _;
            if group.count > 1 {
                // Fits: the size is at most MAX_GSO_BYTES.
                let size = group.size as u16;
                header.msg_control = control.0.as_mut_ptr() as *mut libc::c_void;
                header.msg_controllen = control.0.len() as _;
                // SAFETY: msg_control points at `control`, 24 bytes aligned
                // like cmsghdr, enough for one header and a u16
                // (CMSG_SPACE(2)); CMSG_FIRSTHDR returns its start.
                unsafe {
                    let cmsg = libc::CMSG_FIRSTHDR(header);
                    (*cmsg).cmsg_level = libc::SOL_UDP;
                    (*cmsg).cmsg_type = libc::UDP_SEGMENT;
                    (*cmsg).cmsg_len = libc::CMSG_LEN(2) as _;
                    std::ptr::write_unaligned(libc::CMSG_DATA(cmsg) as *mut u16, size);
                }
            }
        }
        // At most BATCH (64): fits.
        let count = groups.len() as libc::c_uint;
        // SAFETY: the first `count` headers point at `addr`, at their own
        // control message and at iovecs of `iovecs`, each describing a live
        // slice of a packet of `packets`; all outlive the call, and the
        // kernel only reads them.
        let sent = unsafe {
            libc::sendmmsg(
                socket.as_raw_fd(),
                messages.as_mut_ptr(),
                count,
                libc::MSG_DONTWAIT,
            )
        };
        let sent = usize::try_from(sent).map_err(|_| io::Error::last_os_error())?;
        Ok(groups[..sent.min(groups.len())]
            .iter()
            .map(|g| g.count)
            .sum())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::rtp::PacketHead;
        use crate::stream::PacketKind;
        use bytes::Bytes;
        use std::time::Duration;

        fn packet(len: usize, fill: u8) -> PacketParts {
            let mut head = PacketHead::new();
            head.extend_from_slice(&[fill; 14]);
            PacketParts {
                send_time: Duration::ZERO,
                track: 0,
                kind: PacketKind::Rtp,
                head,
                body: Bytes::from(vec![fill; len - 14]),
            }
        }

        #[test]
        fn runs_of_one_size_make_one_message() {
            let sizes = [100, 1400, 1400, 1400, 900, 1400, 1400, 200, 300];
            let packets: Vec<_> = sizes.iter().map(|&n| packet(n, 1)).collect();
            let mut groups = [Group::default(); BATCH];
            let n = group(&packets, true, &mut groups);
            let got: Vec<(usize, usize, usize)> = groups[..n]
                .iter()
                .map(|g| (g.first, g.count, g.size))
                .collect();
            assert_eq!(got, [(0, 1, 100), (1, 4, 1400), (5, 3, 1400), (8, 1, 300)]);
            let n = group(&packets, false, &mut groups);
            assert_eq!(n, packets.len());
            assert!(groups[..n].iter().all(|g| g.count == 1));
        }

        /// A destination that refuses every datagram (port 0: EINVAL with
        /// or without GSO) leaves segmentation on: the error is not GSO's.
        #[tokio::test]
        async fn a_failing_destination_keeps_segmentation() {
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let dest: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let packets: Vec<_> = (0..4).map(|i| packet(1400, i)).collect();
            let segmentation = Segmentation::default();
            assert!(send_some(&sender, dest, &packets, &segmentation).is_err());
            assert!(segmentation.enabled(dest));
            super::super::send_many(&sender, dest, &packets, &segmentation).await;
            assert!(segmentation.enabled(dest));
        }

        /// Every packet arrives as a datagram of its own, whole and in
        /// order, whether the kernel segments or not.
        #[tokio::test]
        async fn each_packet_arrives_as_its_own_datagram() {
            let receiver = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            receiver
                .set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap();
            let sender = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let dest = receiver.local_addr().unwrap();
            let sizes = [60, 1400, 1400, 1400, 700, 1400, 1400, 1400, 1400, 1400, 32];
            let packets: Vec<_> = sizes
                .iter()
                .enumerate()
                .map(|(i, &n)| packet(n, i as u8))
                .collect();
            let segmentation = Segmentation::default();
            for _ in 0..3 {
                super::super::send_many(&sender, dest, &packets, &segmentation).await;
            }
            // Loopback takes segmentation offload (Linux 4.18 and later).
            assert!(segmentation.enabled(dest), "UDP_SEGMENT was refused");
            let mut buf = [0u8; 2048];
            for _ in 0..3 {
                for (i, &n) in sizes.iter().enumerate() {
                    let len = receiver.recv(&mut buf).unwrap();
                    assert_eq!(len, n, "packet {i}");
                    assert!(buf[..len].iter().all(|&b| b == i as u8), "packet {i}");
                }
            }
        }
    }
}

/// Elsewhere: one `sendto` a datagram, joined.
#[cfg(not(target_os = "linux"))]
fn send_some(
    socket: &UdpSocket,
    dest: SocketAddr,
    packets: &[PacketParts],
    _segmentation: &Segmentation,
) -> io::Result<usize> {
    let Some(packet) = packets.first() else {
        return Ok(0);
    };
    let mut datagram = Vec::with_capacity(packet.len());
    datagram.extend_from_slice(&packet.head);
    datagram.extend_from_slice(&packet.body);
    socket.try_send_to(&datagram, dest).map(|_| 1)
}
