//! The server's metrics, in the Prometheus text format (OpenMetrics 1.0)
//! through `prometheus-client`; the admin listener serves them at
//! `/metrics`. Every name starts `mediatool_`; docs/serve.md lists them.
//!
//! Cheap where it counts: the packet path never looks up a labelled
//! metric. It holds plain counter handles (an `Arc`'d atomic each) and
//! adds once per batch of packets (see `traffic`); requests and
//! connections, far rarer, use label families. What is a state rather
//! than an event (sessions by state and transport) is counted at scrape
//! time from the session table and set just before encoding. Labels take
//! a few fixed values each: no session id, path or client address is ever
//! a label (those are in the API).

use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::{Registry, Unit};

/// The content type of [`Metrics::encode`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// How an RTSP connection reaches the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Plain RTSP over TCP.
    Rtsp,
    /// RTSP over TLS.
    Rtsps,
    /// RTSP tunnelled in HTTP or HTTPS.
    HttpTunnel,
}

impl Transport {
    const ALL: [Transport; 3] = [Transport::Rtsp, Transport::Rtsps, Transport::HttpTunnel];

    fn label(self) -> &'static str {
        match self {
            Transport::Rtsp => "rtsp",
            Transport::Rtsps => "rtsps",
            Transport::HttpTunnel => "http-tunnel",
        }
    }
}

/// The play state of a session, as counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Set up, not playing.
    Ready,
    /// Sending media.
    Playing,
    /// Paused by the client.
    Paused,
    /// Played to its end (or its range's), not torn down yet.
    Ended,
}

impl SessionState {
    const ALL: [SessionState; 4] = [
        SessionState::Ready,
        SessionState::Playing,
        SessionState::Paused,
        SessionState::Ended,
    ];

    /// The name in metrics and the API.
    pub fn name(self) -> &'static str {
        match self {
            SessionState::Ready => "ready",
            SessionState::Playing => "playing",
            SessionState::Paused => "paused",
            SessionState::Ended => "ended",
        }
    }
}

/// How a session's media travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaTransport {
    /// UDP to the client.
    Udp,
    /// UDP to a multicast group.
    Multicast,
    /// Interleaved on the RTSP connection (RFC 2326 §10.12).
    Tcp,
}

impl MediaTransport {
    const ALL: [MediaTransport; 3] = [
        MediaTransport::Udp,
        MediaTransport::Multicast,
        MediaTransport::Tcp,
    ];

    /// The name in metrics and the API.
    pub fn name(self) -> &'static str {
        match self {
            MediaTransport::Udp => "udp",
            MediaTransport::Multicast => "multicast",
            MediaTransport::Tcp => "tcp",
        }
    }
}

/// Why a request was refused for its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No credentials where they are needed (401).
    Missing,
    /// Credentials that did not check out (401).
    Invalid,
    /// Right credentials with an expired or foreign nonce (401 stale).
    Stale,
    /// A user the path's rule does not name (403).
    Forbidden,
}

impl AuthFailure {
    fn label(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing",
            AuthFailure::Invalid => "invalid",
            AuthFailure::Stale => "stale",
            AuthFailure::Forbidden => "forbidden",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransportLabels {
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SessionLabels {
    state: &'static str,
    transport: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// The counters the packet path and the RTCP receivers add to, as plain
/// handles (no label lookups).
#[derive(Clone, Debug)]
pub struct TrafficCounters {
    /// RTP packets handed to the network or a connection's queue.
    pub rtp_packets: Counter,
    /// Their bytes (RTP header and payload).
    pub rtp_bytes: Counter,
    /// RTCP packets sent (sender reports, BYE).
    pub rtcp_sent: Counter,
    /// RTCP packets received from clients.
    pub rtcp_received: Counter,
    /// Packets receivers reported lost (growth of their cumulative counts).
    pub reported_lost: Counter,
    /// Interarrival jitter reported by receivers, in seconds.
    pub jitter: Histogram,
}

/// Every metric of the server.
pub struct Metrics {
    registry: Registry,
    connections: Family<TransportLabels, Gauge>,
    connections_accepted: Family<TransportLabels, Counter>,
    sessions: Family<SessionLabels, Gauge>,
    traffic: TrafficCounters,
    requests: Family<RequestLabels, Counter>,
    auth_failures: Family<ReasonLabels, Counter>,
    /// Sessions ended by the idle timeout.
    pub reclaimed: Counter,
    /// Sessions ended through the admin API.
    pub kicked: Counter,
    /// TCP clients disconnected for reading nothing (the stall timeout).
    pub stalled: Counter,
    files_described: Family<CacheLabels, Counter>,
    reloads: Family<ResultLabels, Counter>,
    draining: Gauge,
    /// Held while the session gauges are set and the text encoded, so
    /// that two scrapes at once do not mix their counts.
    scrape: Mutex<()>,
}

/// The sessions by state and transport at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionCounts([[i64; 3]; 4]);

impl SessionCounts {
    /// Counts one session.
    pub fn add(&mut self, state: SessionState, transport: MediaTransport) {
        let s = SessionState::ALL.iter().position(|&x| x == state);
        let t = MediaTransport::ALL.iter().position(|&x| x == transport);
        if let (Some(s), Some(t)) = (s, t) {
            self.0[s][t] += 1;
        }
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric at zero, registered under the `mediatool_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("mediatool");
        registry.register(
            "build",
            "The version of mediatool serving",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        let connections = Family::<TransportLabels, Gauge>::default();
        registry.register(
            "connections",
            "RTSP connections open, by how they reach the server",
            connections.clone(),
        );
        let connections_accepted = Family::<TransportLabels, Counter>::default();
        registry.register(
            "connections_accepted",
            "RTSP connections accepted, by how they reach the server",
            connections_accepted.clone(),
        );
        let sessions = Family::<SessionLabels, Gauge>::default();
        registry.register(
            "sessions",
            "RTSP sessions, by play state and media transport",
            sessions.clone(),
        );
        let traffic = TrafficCounters {
            rtp_packets: Counter::default(),
            rtp_bytes: Counter::default(),
            rtcp_sent: Counter::default(),
            rtcp_received: Counter::default(),
            reported_lost: Counter::default(),
            // 0.1 ms to 1.6 s: loopback to a congested link.
            jitter: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
        };
        registry.register(
            "rtp_sent_packets",
            "RTP packets sent",
            traffic.rtp_packets.clone(),
        );
        registry.register_with_unit(
            "rtp_sent",
            "RTP bytes sent (RTP headers and payload)",
            Unit::Bytes,
            traffic.rtp_bytes.clone(),
        );
        registry.register(
            "rtcp_sent_packets",
            "RTCP packets sent (sender reports and BYE)",
            traffic.rtcp_sent.clone(),
        );
        registry.register(
            "rtcp_received_packets",
            "RTCP packets received from clients",
            traffic.rtcp_received.clone(),
        );
        registry.register(
            "rtcp_reported_lost_packets",
            "Packets the clients' receiver reports count as lost",
            traffic.reported_lost.clone(),
        );
        registry.register_with_unit(
            "rtcp_jitter",
            "Interarrival jitter in the clients' receiver reports",
            Unit::Seconds,
            traffic.jitter.clone(),
        );
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "requests",
            "RTSP requests answered, by method and status",
            requests.clone(),
        );
        let auth_failures = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "auth_failures",
            "RTSP requests refused for their credentials (401, 403), by reason",
            auth_failures.clone(),
        );
        let reclaimed = Counter::default();
        registry.register(
            "sessions_reclaimed",
            "Sessions ended by the idle timeout (reclaim)",
            reclaimed.clone(),
        );
        let kicked = Counter::default();
        registry.register(
            "sessions_kicked",
            "Sessions ended through the admin API",
            kicked.clone(),
        );
        let stalled = Counter::default();
        registry.register(
            "stalled_disconnects",
            "TCP clients disconnected for reading nothing for the stall timeout",
            stalled.clone(),
        );
        let files_described = Family::<CacheLabels, Counter>::default();
        registry.register(
            "files_described",
            "File descriptions asked for, from the cache (hit) or a scan (miss)",
            files_described.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reloads",
            "Configuration reloads, applied or refused",
            reloads.clone(),
        );
        let draining = Gauge::default();
        registry.register(
            "draining",
            "1 while the server drains before stopping",
            draining.clone(),
        );
        registry.register_collector(Box::new(ProcessCollector));
        // Every label value shows from the start, at zero.
        for transport in Transport::ALL {
            let labels = TransportLabels {
                transport: transport.label(),
            };
            let _ = connections.get_or_create(&labels);
            let _ = connections_accepted.get_or_create(&labels);
        }
        for reason in [
            AuthFailure::Missing,
            AuthFailure::Invalid,
            AuthFailure::Stale,
            AuthFailure::Forbidden,
        ] {
            let _ = auth_failures.get_or_create(&ReasonLabels {
                reason: reason.label(),
            });
        }
        for cache in ["hit", "miss"] {
            let _ = files_described.get_or_create(&CacheLabels { cache });
        }
        for result in ["applied", "refused"] {
            let _ = reloads.get_or_create(&ResultLabels { result });
        }
        let metrics = Metrics {
            registry,
            connections,
            connections_accepted,
            sessions,
            traffic,
            requests,
            auth_failures,
            reclaimed,
            kicked,
            stalled,
            files_described,
            reloads,
            draining,
            scrape: Mutex::new(()),
        };
        metrics.set_sessions(&SessionCounts::default());
        metrics
    }

    /// Counts a connection open until the guard drops.
    pub fn connection(&self, transport: Transport) -> ConnectionGuard {
        let labels = TransportLabels {
            transport: transport.label(),
        };
        self.connections_accepted.get_or_create(&labels).inc();
        let open = self.connections.get_or_create(&labels).clone();
        open.inc();
        ConnectionGuard(open)
    }

    /// The handles of the packet path.
    pub fn traffic(&self) -> &TrafficCounters {
        &self.traffic
    }

    /// Counts a request answered with `status`. Methods outside RFC 2326's
    /// are counted as `other`, requests that did not parse as `invalid`.
    pub fn request(&self, method: Option<&str>, status: u16) {
        let method = match method {
            None => "invalid",
            Some(m) => KNOWN_METHODS
                .iter()
                .find(|&&known| known == m)
                .copied()
                .unwrap_or("other"),
        };
        self.requests
            .get_or_create(&RequestLabels { method, status })
            .inc();
    }

    /// Counts a refusal for credentials.
    pub fn auth_failure(&self, reason: AuthFailure) {
        self.auth_failures
            .get_or_create(&ReasonLabels {
                reason: reason.label(),
            })
            .inc();
    }

    /// The counters of the description cache: hits, then misses.
    pub fn cache_counters(&self) -> (Counter, Counter) {
        let get = |cache| {
            self.files_described
                .get_or_create(&CacheLabels { cache })
                .clone()
        };
        (get("hit"), get("miss"))
    }

    /// Counts a reload, applied or refused.
    pub fn reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "refused" };
        self.reloads.get_or_create(&ResultLabels { result }).inc();
    }

    /// Says whether the server drains.
    pub fn set_draining(&self, draining: bool) {
        self.draining.set(i64::from(draining));
    }

    fn set_sessions(&self, counts: &SessionCounts) {
        for (s, state) in SessionState::ALL.iter().enumerate() {
            for (t, transport) in MediaTransport::ALL.iter().enumerate() {
                self.sessions
                    .get_or_create(&SessionLabels {
                        state: state.name(),
                        transport: transport.name(),
                    })
                    .set(counts.0[s][t]);
            }
        }
    }

    /// The text of a scrape, with `sessions` as the session counts.
    pub fn encode(&self, sessions: &SessionCounts) -> String {
        let _one_at_a_time = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        self.set_sessions(sessions);
        let mut text = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// The methods counted by name (RFC 2326 §10).
const KNOWN_METHODS: [&str; 11] = [
    "OPTIONS",
    "DESCRIBE",
    "ANNOUNCE",
    "SETUP",
    "PLAY",
    "PAUSE",
    "TEARDOWN",
    "GET_PARAMETER",
    "SET_PARAMETER",
    "REDIRECT",
    "RECORD",
];

/// An open connection, counted until dropped.
#[derive(Debug)]
pub struct ConnectionGuard(Gauge);

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The process's CPU time, resident memory and open files, read from
/// `/proc/self` at each scrape (Linux; elsewhere nothing).
#[derive(Debug)]
struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(process) = process::read() else {
            return Ok(());
        };
        let cpu = ConstCounter::new(process.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu",
            "CPU time used by the process (user and system).",
            Some(&Unit::Seconds),
            cpu.metric_type(),
        )?)?;
        let rss = ConstGauge::new(process.resident_bytes);
        rss.encode(encoder.encode_descriptor(
            "process_resident_memory",
            "Resident memory of the process.",
            Some(&Unit::Bytes),
            rss.metric_type(),
        )?)?;
        let fds = ConstGauge::new(process.open_fds);
        fds.encode(encoder.encode_descriptor(
            "process_open_fds",
            "File descriptors the process holds open.",
            None,
            fds.metric_type(),
        )?)?;
        Ok(())
    }
}

mod process {
    /// What `/proc/self` says of the process.
    pub struct Process {
        pub cpu_seconds: f64,
        pub resident_bytes: i64,
        pub open_fds: i64,
    }

    /// Reads `/proc/self/stat` (fields 14 and 15: user and system time in
    /// clock ticks, proc(5)), `/proc/self/statm` (field 2: resident pages)
    /// and the entries of `/proc/self/fd`.
    #[cfg(target_os = "linux")]
    pub fn read() -> Option<Process> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // The command name may hold spaces and parentheses: fields are
        // counted from after its closing parenthesis (field 3 on).
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        // SAFETY: sysconf only reads its argument.
        let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        // SAFETY: as above.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if per_second <= 0 || page <= 0 {
            return None;
        }
        let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
        let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
        let open_fds = std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count());
        Some(Process {
            cpu_seconds: ticks as f64 / per_second as f64,
            resident_bytes: pages.saturating_mul(page as i64),
            open_fds: i64::try_from(open_fds).unwrap_or(i64::MAX),
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn read() -> Option<Process> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value of the sample `series` (name and labels as printed).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.parse().ok())
    }

    #[test]
    fn names_labels_and_values() {
        let metrics = Metrics::new();
        let guard = metrics.connection(Transport::Rtsps);
        metrics.connection(Transport::HttpTunnel);
        metrics.request(Some("DESCRIBE"), 200);
        metrics.request(Some("DESCRIBE"), 200);
        metrics.request(Some("BREW"), 501);
        metrics.request(None, 400);
        metrics.auth_failure(AuthFailure::Forbidden);
        metrics.traffic().rtp_packets.inc_by(7);
        metrics.traffic().rtp_bytes.inc_by(700);
        metrics.traffic().jitter.observe(0.003);
        let (hits, _) = metrics.cache_counters();
        hits.inc();
        let mut counts = SessionCounts::default();
        counts.add(SessionState::Playing, MediaTransport::Tcp);
        counts.add(SessionState::Playing, MediaTransport::Tcp);
        counts.add(SessionState::Paused, MediaTransport::Udp);
        let text = metrics.encode(&counts);
        for (series, value) in [
            ("mediatool_connections{transport=\"rtsps\"}", 1.0),
            ("mediatool_connections{transport=\"http-tunnel\"}", 0.0),
            ("mediatool_connections{transport=\"rtsp\"}", 0.0),
            (
                "mediatool_connections_accepted_total{transport=\"http-tunnel\"}",
                1.0,
            ),
            (
                "mediatool_requests_total{method=\"DESCRIBE\",status=\"200\"}",
                2.0,
            ),
            (
                "mediatool_requests_total{method=\"other\",status=\"501\"}",
                1.0,
            ),
            (
                "mediatool_requests_total{method=\"invalid\",status=\"400\"}",
                1.0,
            ),
            ("mediatool_auth_failures_total{reason=\"forbidden\"}", 1.0),
            ("mediatool_rtp_sent_packets_total", 7.0),
            ("mediatool_rtp_sent_bytes_total", 700.0),
            ("mediatool_rtcp_jitter_seconds_count", 1.0),
            ("mediatool_files_described_total{cache=\"hit\"}", 1.0),
            ("mediatool_files_described_total{cache=\"miss\"}", 0.0),
            (
                "mediatool_sessions{state=\"playing\",transport=\"tcp\"}",
                2.0,
            ),
            (
                "mediatool_sessions{state=\"paused\",transport=\"udp\"}",
                1.0,
            ),
            (
                "mediatool_sessions{state=\"ended\",transport=\"multicast\"}",
                0.0,
            ),
        ] {
            assert_eq!(sample(&text, series), Some(value), "{series} in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
        let build = format!(
            "mediatool_build_info{{version=\"{}\"}}",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(sample(&text, &build), Some(1.0), "{text}");
        #[cfg(target_os = "linux")]
        {
            let rss = sample(&text, "mediatool_process_resident_memory_bytes").unwrap();
            assert!(rss > 1e6, "{rss}");
            assert!(sample(&text, "mediatool_process_open_fds").unwrap() >= 3.0);
            assert!(sample(&text, "mediatool_process_cpu_seconds_total").unwrap() > 0.0);
        }
        drop(guard);
        let text = metrics.encode(&SessionCounts::default());
        assert_eq!(
            sample(&text, "mediatool_connections{transport=\"rtsps\"}"),
            Some(0.0)
        );
        assert_eq!(
            sample(
                &text,
                "mediatool_sessions{state=\"playing\",transport=\"tcp\"}"
            ),
            Some(0.0)
        );
    }
}
