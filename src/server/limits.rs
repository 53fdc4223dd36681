//! What one client may hold, so that no client can deny service to the
//! others: connections (in all, and per client address), sessions (per
//! address, per connection and per authenticated user), and SETUPs per
//! second per address; and the file descriptors the process may open,
//! from which the defaults of `max_sessions` and `max_connections` follow.
//!
//! Every count is held by an RAII guard: a [`ConnectionGuard`] for each
//! accepted connection, a [`SessionGuard`] inside each session; dropping
//! the guard gives the count back, so no path can leak one. The table
//! has an entry per client address that holds a connection or a session,
//! no more. Counting is per request, never per packet.
//!
//! A client is its IPv4 address, or the /64 prefix of its IPv6 address
//! (one host is given a whole /64, RFC 4291 §2.5.1); an IPv4-mapped IPv6
//! address is the IPv4 address.
//!
//! At the global connection cap, new connections are not refused while an
//! idle one (a connection holding no session) can be shed: the one quiet
//! the longest is closed instead.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// File descriptors kept out of the budget of connections and playing
/// sessions: standard streams, listeners, the UDP sockets, the runtime's
/// epoll and wakers, the accept loop's spare descriptor, files opened
/// while describing or cueing on the blocking pool (up to its 32 threads),
/// and headroom.
pub const FD_RESERVE: u64 = 128;

/// The largest default of `max_sessions` and `max_connections`, however
/// many descriptors the process may open.
pub const DEFAULT_CEILING: usize = 10_000;

/// The per-client limits and the connection settings (see the README's
/// YAML keys). A limit of 0 means no limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientLimits {
    /// Connections at once, from everyone.
    pub max_connections: usize,
    /// Connections at once from one client.
    pub max_connections_per_client: usize,
    /// Sessions at once created by one client.
    pub max_sessions_per_client: usize,
    /// SETUP requests one client may make in a second (a burst of this
    /// many, then this many a second).
    pub max_setups_per_second_per_client: u32,
    /// Sessions at once created on one connection.
    pub max_sessions_per_connection: usize,
    /// Sessions at once created by one authenticated user.
    pub max_sessions_per_user: usize,
    /// How long a connection holding no session may stay without a
    /// request before it is closed.
    pub idle_connection_timeout: Duration,
}

/// The default of `max_connections_per_client`.
pub const DEFAULT_CONNECTIONS_PER_CLIENT: usize = 32;
/// The default of `max_sessions_per_client`.
pub const DEFAULT_SESSIONS_PER_CLIENT: usize = 64;
/// The default of `max_setups_per_second_per_client`.
pub const DEFAULT_SETUPS_PER_SECOND: u32 = 50;
/// The default of `max_sessions_per_connection`.
pub const DEFAULT_SESSIONS_PER_CONNECTION: usize = 16;
/// The default of `max_sessions_per_user`.
pub const DEFAULT_SESSIONS_PER_USER: usize = 256;
/// The default of `idle_connection_timeout`, in seconds.
pub const DEFAULT_IDLE_CONNECTION_TIMEOUT: u64 = 30;

/// The defaults of `max_sessions` and of `max_connections` for a process
/// that may open `nofile` descriptors: what is left after
/// [`FD_RESERVE`], halved, since each connection holds one descriptor
/// and each playing session one (its file), at most [`DEFAULT_CEILING`]
/// and at least 1 each:
///
/// `min(10000, max(1, (nofile - 128) / 2))`
///
/// so that connections and playing sessions at their caps, with the
/// reserve, fit in `nofile`. (Idle and paused sessions hold no
/// descriptor.)
pub fn fd_defaults(nofile: u64) -> usize {
    let half = nofile.saturating_sub(FD_RESERVE) / 2;
    usize::try_from(half)
        .unwrap_or(usize::MAX)
        .clamp(1, DEFAULT_CEILING)
}

/// Raises the soft limit of open files to the hard limit (getrlimit(2),
/// setrlimit(2)); returns the soft limit in force afterwards. A limit
/// that cannot be raised stays as it is.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct it is given, which lives
    // for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit {
            rlim_cur: limit.rlim_max,
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit.rlim_cur = limit.rlim_max;
        } else {
            tracing::debug!(
                "cannot raise the open file limit from {} to {}: {}",
                limit.rlim_cur,
                limit.rlim_max,
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(limit.rlim_cur)
}

/// What a client is counted as: its IPv4 address or its IPv6 /64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The client `ip` belongs to.
    pub fn of(ip: IpAddr) -> ClientKey {
        ClientKey(match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !u128::from(u64::MAX))),
            },
            v4 => v4,
        })
    }
}

/// Why a connection or a session is refused (503 with `Retry-After`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `max_connections`, and no idle connection to shed.
    Connections,
    /// `max_connections_per_client`.
    ConnectionsPerClient,
    /// `max_sessions_per_client`.
    SessionsPerClient,
    /// `max_sessions_per_connection`.
    SessionsPerConnection,
    /// `max_sessions_per_user`.
    SessionsPerUser,
    /// `max_setups_per_second_per_client`.
    SetupRate,
}

impl Refusal {
    /// The `Retry-After` seconds of the 503 (RFC 2326 §12.31).
    pub fn retry_after(self) -> u32 {
        match self {
            Refusal::SetupRate => 1,
            _ => 5,
        }
    }

    /// The limit reached, for the log.
    pub fn limit(self) -> &'static str {
        match self {
            Refusal::Connections => "max_connections",
            Refusal::ConnectionsPerClient => "max_connections_per_client",
            Refusal::SessionsPerClient => "max_sessions_per_client",
            Refusal::SessionsPerConnection => "max_sessions_per_connection",
            Refusal::SessionsPerUser => "max_sessions_per_user",
            Refusal::SetupRate => "max_setups_per_second_per_client",
        }
    }
}

/// What one client holds.
#[derive(Default)]
struct Client {
    connections: usize,
    sessions: usize,
    /// SETUP tokens left, in thousandths, and when that was (ms since the
    /// table's epoch): a token bucket, full until the first SETUP.
    setup_tokens: Option<(u64, u64)>,
}

/// One open connection, as the table sees it.
pub struct Connection {
    client: ClientKey,
    /// Milliseconds since the table's epoch of the last request read.
    last_active: AtomicU64,
    /// Sessions created on this connection that still exist.
    sessions: AtomicUsize,
    /// Cancelled to close the connection (shed under pressure, or the
    /// server shutting down).
    close: CancellationToken,
    epoch: Instant,
}

impl Connection {
    /// A request was read: the connection is not idle.
    pub fn touch(&self) {
        self.last_active
            .store(millis_since(self.epoch), Ordering::Relaxed);
    }

    /// Cancelled when the connection must close (shed to make room).
    pub fn closing(&self) -> &CancellationToken {
        &self.close
    }

    /// Sessions created on this connection that still exist.
    pub fn sessions(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }
}

#[derive(Default)]
struct Table {
    clients: HashMap<ClientKey, Client>,
    users: HashMap<String, usize>,
    /// Every open connection, by id.
    connections: HashMap<u64, Arc<Connection>>,
}

/// The counts of every client, shared by the accept loops and the SETUP
/// handler.
pub struct Limits {
    /// What is enforced; a reload swaps it (connections and sessions
    /// counted already stay).
    settings: RwLock<Arc<ClientLimits>>,
    table: Mutex<Table>,
    epoch: Instant,
    /// Notified when the last connection closes.
    drained: Notify,
}

impl Limits {
    /// An empty table enforcing `settings`.
    pub fn new(settings: ClientLimits) -> Arc<Limits> {
        Arc::new(Limits {
            settings: RwLock::new(Arc::new(settings)),
            table: Mutex::new(Table::default()),
            epoch: Instant::now(),
            drained: Notify::new(),
        })
    }

    /// The settings enforced now.
    pub fn settings(&self) -> Arc<ClientLimits> {
        Arc::clone(&self.settings.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Enforces `settings` from now on (a reload).
    pub fn set_settings(&self, settings: ClientLimits) {
        *self.settings.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(settings);
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a new connection `id` from `peer`, or refuses it. At the
    /// global cap the connection quiet the longest among those holding no
    /// session is told to close, and the new one is admitted in its place.
    pub fn admit(self: &Arc<Self>, id: u64, peer: IpAddr) -> Result<ConnectionGuard, Refusal> {
        let key = ClientKey::of(peer);
        let mut table = self.lock();
        let per_client = self.settings().max_connections_per_client;
        if per_client > 0
            && table
                .clients
                .get(&key)
                .is_some_and(|c| c.connections >= per_client)
        {
            return Err(Refusal::ConnectionsPerClient);
        }
        let live = table
            .connections
            .values()
            .filter(|c| !c.close.is_cancelled())
            .count();
        if live >= self.settings().max_connections {
            let victim = table
                .connections
                .values()
                .filter(|c| c.sessions() == 0 && !c.close.is_cancelled())
                .min_by_key(|c| c.last_active.load(Ordering::Relaxed))
                .ok_or(Refusal::Connections)?;
            tracing::info!(
                "{} connections: closing an idle one from {:?} to make room",
                live,
                victim.client.0
            );
            victim.close.cancel();
        }
        let connection = Arc::new(Connection {
            client: key,
            last_active: AtomicU64::new(millis_since(self.epoch)),
            sessions: AtomicUsize::new(0),
            close: CancellationToken::new(),
            epoch: self.epoch,
        });
        table.clients.entry(key).or_default().connections += 1;
        table.connections.insert(id, Arc::clone(&connection));
        Ok(ConnectionGuard {
            limits: Arc::clone(self),
            id,
            connection,
        })
    }

    /// Takes a SETUP token of `connection`'s client: `Err` when it made
    /// `max_setups_per_second_per_client` of them within the last second.
    pub fn setup(&self, connection: &Connection) -> Result<(), Refusal> {
        self.setup_at(connection, millis_since(self.epoch))
    }

    /// [`setup`](Self::setup) at `now` ms since the table's epoch.
    fn setup_at(&self, connection: &Connection, now: u64) -> Result<(), Refusal> {
        let rate = u64::from(self.settings().max_setups_per_second_per_client);
        if rate == 0 {
            return Ok(());
        }
        let mut table = self.lock();
        let client = table.clients.entry(connection.client).or_default();
        // `rate` tokens a second, at most `rate` held.
        let full = rate * 1000;
        let tokens = client.setup_tokens.map_or(full, |(tokens, at)| {
            tokens
                .saturating_add(now.saturating_sub(at).saturating_mul(rate))
                .min(full)
        });
        let Some(left) = tokens.checked_sub(1000) else {
            client.setup_tokens = Some((tokens, now));
            return Err(Refusal::SetupRate);
        };
        client.setup_tokens = Some((left, now));
        Ok(())
    }

    /// Counts a new session created on `connection` by `user` (when
    /// authenticated), or refuses it.
    pub fn session(
        self: &Arc<Self>,
        connection: &Arc<Connection>,
        user: Option<&str>,
    ) -> Result<SessionGuard, Refusal> {
        let s = self.settings();
        let over = |limit: usize, count: usize| limit > 0 && count >= limit;
        if over(s.max_sessions_per_connection, connection.sessions()) {
            return Err(Refusal::SessionsPerConnection);
        }
        let mut table = self.lock();
        let client_sessions = table
            .clients
            .get(&connection.client)
            .map_or(0, |c| c.sessions);
        if over(s.max_sessions_per_client, client_sessions) {
            return Err(Refusal::SessionsPerClient);
        }
        if let Some(user) = user {
            let count = table.users.get(user).copied().unwrap_or(0);
            if over(s.max_sessions_per_user, count) {
                return Err(Refusal::SessionsPerUser);
            }
            *table.users.entry(user.to_owned()).or_default() += 1;
        }
        table.clients.entry(connection.client).or_default().sessions += 1;
        connection.sessions.fetch_add(1, Ordering::Relaxed);
        Ok(SessionGuard {
            limits: Arc::clone(self),
            connection: Arc::clone(connection),
            user: user.map(str::to_owned),
        })
    }

    /// Tells every connection to close (the server is shutting down).
    pub fn close_all(&self) {
        for connection in self.lock().connections.values() {
            connection.close.cancel();
        }
    }

    /// Open connections.
    pub fn connections(&self) -> usize {
        self.lock().connections.len()
    }

    /// Waits until every connection has closed.
    pub async fn all_closed(&self) {
        loop {
            let drained = self.drained.notified();
            if self.connections() == 0 {
                return;
            }
            drained.await;
        }
    }

    /// Forgets `key` once it holds nothing (its SETUP tokens with it: a
    /// client with no connection can make no SETUP).
    fn forget_if_empty(table: &mut Table, key: ClientKey) {
        if table
            .clients
            .get(&key)
            .is_some_and(|c| c.connections == 0 && c.sessions == 0)
        {
            table.clients.remove(&key);
        }
    }
}

/// An accepted connection's place in the count; given back on drop.
pub struct ConnectionGuard {
    limits: Arc<Limits>,
    id: u64,
    connection: Arc<Connection>,
}

impl ConnectionGuard {
    /// The connection as the table sees it.
    pub fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut table = self.limits.lock();
        table.connections.remove(&self.id);
        let key = self.connection.client;
        if let Some(client) = table.clients.get_mut(&key) {
            client.connections -= 1;
        }
        Limits::forget_if_empty(&mut table, key);
        let empty = table.connections.is_empty();
        drop(table);
        if empty {
            self.limits.drained.notify_waiters();
        }
    }
}

/// A session's place in the counts of its client, connection and user;
/// held by the session, given back when it is dropped.
pub struct SessionGuard {
    limits: Arc<Limits>,
    connection: Arc<Connection>,
    user: Option<String>,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.connection.sessions.fetch_sub(1, Ordering::Relaxed);
        let mut table = self.limits.lock();
        let key = self.connection.client;
        if let Some(client) = table.clients.get_mut(&key) {
            client.sessions -= 1;
        }
        Limits::forget_if_empty(&mut table, key);
        if let Some(user) = &self.user {
            if let Some(count) = table.users.get_mut(user) {
                *count -= 1;
                if *count == 0 {
                    table.users.remove(user);
                }
            }
        }
    }
}

/// Milliseconds from `epoch` to now.
fn millis_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(change: impl FnOnce(&mut ClientLimits)) -> Arc<Limits> {
        let mut settings = ClientLimits {
            max_connections: 100,
            max_connections_per_client: 3,
            max_sessions_per_client: 4,
            max_setups_per_second_per_client: 0,
            max_sessions_per_connection: 2,
            max_sessions_per_user: 3,
            idle_connection_timeout: Duration::from_secs(30),
        };
        change(&mut settings);
        Limits::new(settings)
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn defaults_follow_the_descriptor_limit() {
        assert_eq!(fd_defaults(1024), 448);
        assert_eq!(fd_defaults(256), 64);
        assert_eq!(fd_defaults(100), 1);
        assert_eq!(fd_defaults(20_000), 9_936);
        assert_eq!(fd_defaults(1 << 20), DEFAULT_CEILING);
        // Connections and playing sessions at their caps fit.
        for nofile in [200, 1024, 4096, 20_128] {
            assert!(2 * fd_defaults(nofile) as u64 + FD_RESERVE <= nofile);
        }
    }

    #[test]
    fn clients_are_addresses_or_ipv6_prefixes() {
        let key = |ip: &str| ClientKey::of(ip.parse().unwrap());
        assert_eq!(key("::ffff:192.0.2.1"), key("192.0.2.1"));
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn connections_per_client_are_counted_and_given_back() {
        let limits = limits(|_| {});
        let held: Vec<_> = (0..3).map(|id| limits.admit(id, A).unwrap()).collect();
        assert_eq!(
            limits.admit(9, A).err(),
            Some(Refusal::ConnectionsPerClient)
        );
        // Another client is not affected.
        let other = limits.admit(10, B).unwrap();
        drop(held);
        assert!(limits.admit(11, A).is_ok());
        drop(other);
        // Nothing held: the table forgets the clients.
        assert_eq!(limits.connections(), 0);
        assert!(limits.lock().clients.is_empty());
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_is_shed() {
        let limits = limits(|s| {
            s.max_connections = 3;
            s.max_connections_per_client = 0;
        });
        let quiet_since = |guard: &ConnectionGuard, ms: u64| {
            guard.connection().last_active.store(ms, Ordering::Relaxed);
        };
        let first = limits.admit(1, A).unwrap();
        let busy = limits.admit(2, A).unwrap();
        let third = limits.admit(3, B).unwrap();
        let _session = limits.session(busy.connection(), None).unwrap();
        // `busy` is the quietest but holds a session: `first` goes.
        quiet_since(&busy, 0);
        quiet_since(&first, 1);
        quiet_since(&third, 5);
        let fourth = limits.admit(4, B).unwrap();
        quiet_since(&fourth, 9);
        assert!(first.connection().closing().is_cancelled());
        assert!(!busy.connection().closing().is_cancelled());
        assert!(!third.connection().closing().is_cancelled());
        // While `first` closes, the next newcomer sheds `third`.
        let fifth = limits.admit(5, B).unwrap();
        quiet_since(&fifth, 7);
        assert!(third.connection().closing().is_cancelled());
        assert!(!fourth.connection().closing().is_cancelled());
        // Then `fifth`, quiet since 7, before `fourth`, since 9.
        let _sixth = limits.admit(6, B).unwrap();
        assert!(fifth.connection().closing().is_cancelled());
        assert!(!fourth.connection().closing().is_cancelled());
        drop((first, third, fifth));
        assert_eq!(limits.connections(), 3);
    }

    #[test]
    fn at_the_cap_with_every_connection_busy_new_ones_are_refused() {
        let limits = limits(|s| {
            s.max_connections = 2;
            s.max_connections_per_client = 0;
            s.max_sessions_per_client = 0;
        });
        let a = limits.admit(1, A).unwrap();
        let b = limits.admit(2, B).unwrap();
        let _sa = limits.session(a.connection(), None).unwrap();
        let _sb = limits.session(b.connection(), None).unwrap();
        assert_eq!(limits.admit(3, A).err(), Some(Refusal::Connections));
    }

    #[test]
    fn sessions_are_counted_per_connection_client_and_user() {
        let limits = limits(|_| {});
        let one = limits.admit(1, A).unwrap();
        let two = limits.admit(2, A).unwrap();
        let mut held = vec![
            limits.session(one.connection(), Some("alice")).unwrap(),
            limits.session(one.connection(), Some("alice")).unwrap(),
        ];
        assert_eq!(
            limits.session(one.connection(), None).err(),
            Some(Refusal::SessionsPerConnection)
        );
        held.push(limits.session(two.connection(), Some("alice")).unwrap());
        assert_eq!(
            limits.session(two.connection(), Some("alice")).err(),
            Some(Refusal::SessionsPerUser)
        );
        held.push(limits.session(two.connection(), Some("bob")).unwrap());
        // Four sessions from A: the client's limit, whoever asks.
        let three = limits.admit(3, A).unwrap();
        assert_eq!(
            limits.session(three.connection(), Some("carol")).err(),
            Some(Refusal::SessionsPerClient)
        );
        // A session outlives its connection, and still counts.
        drop(one);
        assert_eq!(
            limits.session(three.connection(), None).err(),
            Some(Refusal::SessionsPerClient)
        );
        held.truncate(1);
        assert!(limits.session(three.connection(), Some("alice")).is_ok());
        drop(held);
        drop((two, three));
        let table = limits.lock();
        assert!(table.clients.is_empty() && table.users.is_empty());
    }

    #[test]
    fn setups_per_second_are_a_token_bucket() {
        let limits = limits(|s| s.max_setups_per_second_per_client = 5);
        let a = limits.admit(1, A).unwrap();
        let b = limits.admit(2, B).unwrap();
        let setup = |guard: &ConnectionGuard, ms| limits.setup_at(guard.connection(), ms);
        for _ in 0..5 {
            setup(&a, 1000).unwrap();
        }
        assert_eq!(setup(&a, 1000), Err(Refusal::SetupRate));
        assert!(setup(&b, 1000).is_ok());
        // A token a fifth of a second.
        assert_eq!(setup(&a, 1150), Err(Refusal::SetupRate));
        assert!(setup(&a, 1200).is_ok());
        assert_eq!(setup(&a, 1200), Err(Refusal::SetupRate));
        // Ten seconds later: a burst of five again, no more.
        for _ in 0..5 {
            setup(&a, 11_200).unwrap();
        }
        assert_eq!(setup(&a, 11_200), Err(Refusal::SetupRate));
        let unlimited = self::limits(|s| s.max_setups_per_second_per_client = 0);
        let c = unlimited.admit(1, A).unwrap();
        for _ in 0..1000 {
            unlimited.setup_at(c.connection(), 0).unwrap();
        }
    }

    #[tokio::test]
    async fn all_closed_waits_for_the_last_connection() {
        let limits = limits(|_| {});
        let guard = limits.admit(1, A).unwrap();
        limits.close_all();
        assert!(guard.connection().closing().is_cancelled());
        let waiting = tokio::spawn({
            let limits = Arc::clone(&limits);
            async move { limits.all_closed().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(guard);
        tokio::time::timeout(Duration::from_secs(1), waiting)
            .await
            .unwrap()
            .unwrap();
    }
}
