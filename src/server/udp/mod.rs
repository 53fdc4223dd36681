//! The UDP media plane: one RTP/RTCP socket pair per address family, shared
//! by every session (RFC 3550 §11: RTP on an even port, RTCP on the next).
//!
//! Every client sees the same `server_port`; packets to each client go to
//! its own `client_port`, and RTCP coming back is matched to its session by
//! source address (the session as a [`ClientActivity`]: this plane knows no
//! sessions). A thousand sessions use four sockets, not four thousand,
//! and an idle session holds none. (Per-session pairs would only matter to a
//! client that identifies the stream by the server's port; none of the
//! clients tested does.)
//!
//! A client that vanishes (its player quit) answers its RTP with ICMP port
//! unreachable: the RTP socket's error queue names its address, and its
//! session hears of it ([`ClientActivity::unreachable`]) and soon ends,
//! rather than being sent media until its idle timeout.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;

use super::activity::ClientActivity;

mod send;
#[cfg(target_os = "linux")]
mod unreachable;

pub use send::{send_many, Segmentation};

/// Kernel send buffer per socket: bursts of many sessions queue here.
const SEND_BUFFER: usize = 8 << 20;
/// Kernel receive buffer per socket (RTCP receiver reports).
const RECV_BUFFER: usize = 1 << 20;

/// The RTP and RTCP sockets of one address family.
pub struct Pair {
    /// Sends RTP.
    pub rtp: Arc<UdpSocket>,
    /// Sends RTCP and receives the clients' reports.
    pub rtcp: Arc<UdpSocket>,
    /// The RTP port (RTCP is on the next one).
    pub port: u16,
    /// Bound to an IPv6 address.
    v6: bool,
}

/// The shared sockets and the map from client addresses to sessions.
pub struct UdpPlane {
    pairs: Vec<Pair>,
    routes: Mutex<HashMap<SocketAddr, Weak<dyn ClientActivity>>>,
}

impl UdpPlane {
    /// Binds a pair on each of `addrs` at the same even port, the first free
    /// one from `first_port` on.
    pub fn bind(addrs: &[IpAddr], first_port: u16) -> io::Result<UdpPlane> {
        let mut port = first_port.max(2) & !1;
        loop {
            match bind_pairs(addrs, port) {
                Ok(pairs) => {
                    return Ok(UdpPlane {
                        pairs,
                        routes: Mutex::new(HashMap::new()),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AddrInUse && port < 65532 => port += 2,
                Err(e) => return Err(e),
            }
        }
    }

    /// Readies the IPv4 pair to send to multicast groups: packets carry
    /// `ttl`, and leave by the interface of the bound address (by the
    /// routing table when bound to all). An error when no IPv4 address is
    /// listened on.
    pub fn enable_multicast(&self, ttl: u8) -> io::Result<()> {
        let pair = self
            .pair_for(&SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::AddrNotAvailable,
                    "IPv4 multicast needs an IPv4 listen address",
                )
            })?;
        for socket in [&pair.rtp, &pair.rtcp] {
            let socket = socket2::SockRef::from(socket.as_ref());
            socket.set_multicast_ttl_v4(u32::from(ttl))?;
            if let Ok(Some(SocketAddr::V4(local))) = socket.local_addr().map(|a| a.as_socket()) {
                if !local.ip().is_unspecified() {
                    socket.set_multicast_if_v4(local.ip())?;
                }
            }
        }
        Ok(())
    }

    /// The server's RTP/RTCP ports as seen by a client at `client`.
    pub fn server_ports(&self, client: &SocketAddr) -> Option<(u16, u16)> {
        self.pair_for(client).map(|p| (p.port, p.port + 1))
    }

    /// The pair that reaches `dest`.
    pub fn pair_for(&self, dest: &SocketAddr) -> Option<&Pair> {
        let v6 = dest.is_ipv6();
        self.pairs.iter().find(|p| p.v6 == v6)
    }

    /// Routes packets arriving from `addr` to `session`.
    pub fn route<S: ClientActivity + 'static>(&self, addr: SocketAddr, session: &Arc<S>) {
        let session: Weak<S> = Arc::downgrade(session);
        self.lock().insert(addr, session);
    }

    /// Stops routing `addr` to `session` (if another session took the
    /// address since, it keeps it).
    pub fn unroute<S: ClientActivity>(&self, addr: &SocketAddr, session: &Arc<S>) {
        let mut routes = self.lock();
        if routes
            .get(addr)
            .is_some_and(|w| std::ptr::addr_eq(w.as_ptr(), Arc::as_ptr(session)))
        {
            routes.remove(addr);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Weak<dyn ClientActivity>>> {
        self.routes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Reads what clients send to every socket: RTCP receiver reports (and
    /// NAT-opening RTP packets), each counting as a sign of life of its
    /// session (RFC 2326 §12.37).
    pub fn spawn_receivers(self: &Arc<Self>) {
        for pair in &self.pairs {
            for socket in [&pair.rtp, &pair.rtcp] {
                let socket = Arc::clone(socket);
                let plane = Arc::downgrade(self);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 2048];
                    loop {
                        let (len, from) = match socket.recv_from(&mut buf).await {
                            Ok(received) => received,
                            // ICMP port unreachable from a departed client, etc.
                            Err(_) => continue,
                        };
                        let Some(plane) = plane.upgrade() else {
                            return;
                        };
                        let session = plane.lock().get(&from).and_then(Weak::upgrade);
                        if let Some(session) = session {
                            session.client_packet(&buf[..len]);
                        }
                    }
                });
            }
            #[cfg(target_os = "linux")]
            tokio::spawn(refused_ports(Arc::clone(&pair.rtp), Arc::downgrade(self)));
        }
    }

    /// The client at `dest` refused a packet: its session hears of it.
    fn unreachable(&self, dest: SocketAddr) {
        let session = self.lock().get(&dest).and_then(Weak::upgrade);
        if let Some(session) = session {
            session.unreachable();
        }
    }
}

/// Reads the ICMP errors queued on an RTP socket for as long as the plane
/// lives, telling the session of each client that refused its RTP.
#[cfg(target_os = "linux")]
async fn refused_ports(socket: Arc<UdpSocket>, plane: Weak<UdpPlane>) {
    use tokio::io::Interest;
    while socket.ready(Interest::ERROR).await.is_ok() {
        let Some(plane) = plane.upgrade() else {
            return;
        };
        // Until the queue is empty (WouldBlock clears the readiness).
        let _ = socket.try_io(Interest::ERROR, || {
            Err::<(), _>(unreachable::drain(&*socket, |dest| plane.unreachable(dest)))
        });
    }
}

fn bind_pairs(addrs: &[IpAddr], port: u16) -> io::Result<Vec<Pair>> {
    let mut pairs = Vec::new();
    for ip in addrs {
        let rtp = bind_one(SocketAddr::new(*ip, port))?;
        let rtcp = bind_one(SocketAddr::new(*ip, port + 1))?;
        pairs.push(Pair {
            rtp: Arc::new(rtp),
            rtcp: Arc::new(rtcp),
            port,
            v6: ip.is_ipv6(),
        });
    }
    Ok(pairs)
}

fn bind_one(addr: SocketAddr) -> io::Result<UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: the kernel caps these at net.core.[wr]mem_max.
    let _ = socket.set_send_buffer_size(SEND_BUFFER);
    let _ = socket.set_recv_buffer_size(RECV_BUFFER);
    // Best effort: without it, a vanished client is sent media until its
    // session times out.
    #[cfg(target_os = "linux")]
    let _ = unreachable::enable(&socket, addr.is_ipv6());
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The wildcard address of each family the machine supports, for a server
/// bound to all interfaces.
pub fn wildcard_addrs() -> Vec<IpAddr> {
    let mut out = vec![IpAddr::V4(Ipv4Addr::UNSPECIFIED)];
    if std::net::UdpSocket::bind((Ipv6Addr::UNSPECIFIED, 0)).is_ok() {
        out.push(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    }
    out
}
