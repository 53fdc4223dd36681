//! ICMP port unreachable from departed clients (Linux). A UDP socket that
//! is not connected hears nothing of the ICMP errors its datagrams draw
//! unless `IP_RECVERR` (`IPV6_RECVERR`) is set; then the kernel queues each
//! one with the destination of the datagram that drew it (ip(7), ipv6(7),
//! "MSG_ERRQUEUE"), and the next send on the socket fails once with the
//! error, whichever client it goes to.
//!
//! Written by hand with `libc` (as `send.rs`' `sendmmsg`): neither socket2
//! nor tokio reads the error queue.

use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;

use socket2::{SockAddr, Socket};

/// Asks the kernel to queue the ICMP errors `socket`'s datagrams draw.
pub fn enable(socket: &Socket, v6: bool) -> io::Result<()> {
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVERR)
    } else {
        (libc::IPPROTO_IP, libc::IP_RECVERR)
    };
    let on: libc::c_int = 1;
    // SAFETY: a valid descriptor, and an int option value of its size.
    let done = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if done == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Room for the control messages of one queued error: a
/// `sock_extended_err` and the offender's address (`SO_EE_OFFENDER`),
/// aligned like `cmsghdr`.
#[repr(C, align(8))]
struct Control([u8; 128]);

/// Reads every error queued on `fd`, calling `refused` with the
/// destination of each datagram a port unreachable answered (ICMP type 3
/// code 3, ICMPv6 type 1 code 4: `ECONNREFUSED`). Returns the error that
/// ended the reading: `WouldBlock` once the queue is empty.
pub fn drain(fd: &impl AsRawFd, mut refused: impl FnMut(SocketAddr)) -> io::Error {
    loop {
        let mut control = Control([0; 128]);
        // The datagram that drew the error comes back too: its start is
        // enough (MSG_TRUNC is fine).
        let mut head = [0u8; 16];
        let mut iov = libc::iovec {
            iov_base: head.as_mut_ptr().cast(),
            iov_len: head.len(),
        };
        // SAFETY: `try_init` hands a zeroed sockaddr_storage and its
        // length; the message points at it, at `iov` and at `control`, all
        // alive across the call, which only writes within the lengths
        // given.
        let received = unsafe {
            SockAddr::try_init(|storage, len| {
                // SAFETY: msghdr is plain old data; all-zero is valid.
                let mut message: libc::msghdr = std::mem::zeroed();
                message.msg_name = storage.cast();
                message.msg_namelen = *len;
                message.msg_iov = &mut iov;
                message.msg_iovlen = 1;
                message.msg_control = control.0.as_mut_ptr().cast();
                message.msg_controllen = control.0.len() as _;
                let n = libc::recvmsg(
                    fd.as_raw_fd(),
                    &mut message,
                    libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
                );
                if n < 0 {
                    return Err(io::Error::last_os_error());
                }
                *len = message.msg_namelen;
                Ok(port_unreachable(&message))
            })
        };
        match received {
            Ok((true, dest)) => {
                if let Some(dest) = dest.as_socket() {
                    refused(dest);
                }
            }
            Ok((false, _)) => {}
            Err(e) => return e,
        }
    }
}

/// Whether the error `message` holds is a port unreachable.
///
/// # Safety
///
/// `message` was filled by `recvmsg`: its control messages are within
/// `msg_control` and `msg_controllen`.
unsafe fn port_unreachable(message: &libc::msghdr) -> bool {
    // SAFETY: the CMSG macros walk the control buffer `recvmsg` filled,
    // within its length; the payload of an IP_RECVERR / IPV6_RECVERR
    // message starts with a sock_extended_err, read unaligned.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(message);
        while !cmsg.is_null() {
            let (level, kind) = ((*cmsg).cmsg_level, (*cmsg).cmsg_type);
            if (level == libc::IPPROTO_IP && kind == libc::IP_RECVERR)
                || (level == libc::IPPROTO_IPV6 && kind == libc::IPV6_RECVERR)
            {
                let error: libc::sock_extended_err =
                    std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast());
                let icmp = matches!(
                    error.ee_origin,
                    libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6
                );
                return icmp && error.ee_errno == libc::ECONNREFUSED as u32;
            }
            cmsg = libc::CMSG_NXTHDR(message, cmsg);
        }
    }
    false
}
