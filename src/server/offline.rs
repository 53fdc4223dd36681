//! The server core with no sockets, **the fuzzing entry point** of the
//! connection state machine (`fuzz/fuzz_targets/serve_requests.rs`, and
//! `tests/fuzz_regressions.rs` replaying its crashes): the bytes a client
//! sends on one connection go through the connection's framing
//! ([`RtspDecoder`]) and its request handling (`connection::answer`,
//! the handlers, the session table, playback of interleaved and multicast
//! tracks), and what the connection would write comes back as bytes.
//!
//! What differs from a served connection: no UDP sockets (unicast UDP
//! SETUPs get 461; multicast is leased but nothing leaves), no timers of
//! the connection (idle and request timeouts), and, because a client
//! reading nothing back cannot echo the server's random session ids, a
//! `Session` header whose id is a number `N` of at most three digits names
//! the `N`-th session id this exchange was answered with.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use tokio_util::codec::Decoder as _;
use tokio_util::sync::CancellationToken;

use super::config::{ServerConfig, Settings};
use super::connection;
use super::handlers::{self, ConnCtx};
use super::shared::Shared;
use super::sink::{InterleavedSink, Outgoing};
use crate::rtsp::framing::{Incoming, RtspDecoder};

/// The client's address in every exchange.
const PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 40_000);
/// The server's address in every exchange.
const LOCAL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 554);
/// The multicast groups leased (none of them is ever sent to).
const GROUPS: &str = "232.0.1.0/28";
/// The open file limit the session and connection limits follow.
const OPEN_FILES: u64 = 1024;

/// A server of one directory, answering whole connections given as bytes.
pub struct OfflineServer {
    runtime: tokio::runtime::Runtime,
    shared: Arc<Shared>,
}

impl OfflineServer {
    /// An open server (no users) of the files under `dir`, leasing
    /// multicast groups, on a runtime of its own. The files it describes
    /// stay in its catalog from one exchange to the next.
    pub fn new(dir: &Path) -> anyhow::Result<OfflineServer> {
        let config = ServerConfig::try_from(Settings {
            dir: Some(dir.to_path_buf()),
            multicast: Some(GROUPS.to_owned()),
            ..Settings::default()
        })?;
        let root = std::fs::canonicalize(dir)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let shared = Arc::new(Shared::new(config, root, None, OPEN_FILES)?);
        Ok(OfflineServer { runtime, shared })
    }

    /// Answers what a client sent on one connection, `input`, as if it
    /// arrived in one read: every request in order, until the input ends or
    /// an answer closes the connection; then the connection closes and
    /// every session of the exchange ends (RTCP BYE to those playing).
    /// Returns every byte the connection wrote: responses and interleaved
    /// frames.
    pub fn exchange(&self, input: &[u8]) -> Vec<u8> {
        self.runtime.block_on(self.connection(input))
    }

    async fn connection(&self, input: &[u8]) -> Vec<u8> {
        let shared = &*self.shared;
        let (sink, mut queue, room) = InterleavedSink::channel(
            CancellationToken::new(),
            shared.config.stall_timeout,
            shared.metrics.stalled.clone(),
        );
        let writer = tokio::spawn(async move {
            let mut written = BytesMut::new();
            while let Some(frame) = queue.recv().await {
                room.written(frame.room());
                let mut prefix = [0; 4];
                for part in frame.slices(&mut prefix) {
                    written.extend_from_slice(part);
                }
            }
            written
        });
        // One connection at a time: always admitted.
        let Ok(guard) = self.shared.limits.admit(0, PEER.ip()) else {
            return Vec::new();
        };
        let mut ctx = ConnCtx::new(
            PEER,
            LOCAL,
            false,
            sink.clone(),
            Arc::clone(guard.connection()),
        );
        let mut ids = Vec::new();
        let mut decoder = RtspDecoder::default();
        let mut buf = BytesMut::from(input);
        while let Ok(Some(mut incoming)) = decoder.decode(&mut buf) {
            if let Incoming::Request(request) = &mut incoming {
                name_session(&mut request.headers, &ids);
            }
            let Some((response, cseq)) = connection::answer(shared, &mut ctx, incoming, 0).await
            else {
                continue;
            };
            let mut encoded = BytesMut::new();
            response.encode(cseq, &mut encoded);
            learn_session(&encoded, &mut ids);
            let queued = sink.send_data(Outgoing::Response(encoded.freeze())).await;
            if queued.is_err() || response.close {
                break;
            }
        }
        for session in ctx.close() {
            handlers::end_session(shared, &session, false).await;
        }
        for session in shared.sessions.drain() {
            handlers::end_session(shared, &session, true).await;
        }
        drop(sink);
        drop(guard);
        writer.await.map(Vec::from).unwrap_or_default()
    }
}

/// Replaces the id of a `Session` header that is a number `N` (at most
/// three digits) with the `N`-th id of `ids`, keeping its parameters.
fn name_session(headers: &mut [(String, String)], ids: &[String]) {
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("Session") {
            continue;
        }
        let (id, params) = value.split_at(value.find(';').unwrap_or(value.len()));
        let id = id.trim();
        if id.is_empty() || id.len() > 3 || !id.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Some(real) = id.parse::<usize>().ok().and_then(|n| ids.get(n)) {
            *value = format!("{real}{params}");
        }
    }
}

/// Adds the session id of an encoded response's `Session` header to `ids`
/// when it is new.
fn learn_session(response: &[u8], ids: &mut Vec<String>) {
    const HEADER: &[u8] = b"\r\nSession: ";
    let Some(at) = memchr::memmem::find(response, HEADER) else {
        return;
    };
    let value = &response[at + HEADER.len()..];
    let end = value
        .iter()
        .position(|&b| b == b';' || b == b'\r')
        .unwrap_or(value.len());
    let id = String::from_utf8_lossy(&value[..end]).into_owned();
    if !ids.contains(&id) {
        ids.push(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> OfflineServer {
        OfflineServer::new(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")).unwrap()
    }

    /// Every response's status line, in order.
    fn statuses(output: &[u8]) -> Vec<u16> {
        let text = String::from_utf8_lossy(output);
        text.match_indices("RTSP/1.0 ")
            .filter_map(|(at, _)| text[at + 9..].get(..3)?.parse().ok())
            .collect()
    }

    #[test]
    fn a_whole_session_over_one_connection() {
        let server = server();
        let input = b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n\
            DESCRIBE rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 2\r\n\r\n\
            SETUP rtsp://h/audio_48k_mono.aac/track0 RTSP/1.0\r\nCSeq: 3\r\n\
            Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n\r\n\
            PLAY rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 4\r\nSession: 0\r\n\r\n\
            PAUSE rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 5\r\nSession: 0\r\n\r\n\
            PLAY rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 6\r\nSession: 0\r\nRange: npt=1-\r\n\r\n\
            SETUP rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 7\r\n\
            Transport: RTP/AVP;multicast\r\n\r\n\
            SETUP rtsp://h/h264_bframes.264 RTSP/1.0\r\nCSeq: 8\r\n\
            Transport: RTP/AVP;unicast;client_port=5000-5001\r\n\r\n\
            TEARDOWN rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 9\r\nSession: 0\r\n\r\n\
            GET_PARAMETER rtsp://h/audio_48k_mono.aac RTSP/1.0\r\nCSeq: 10\r\nSession: 0\r\n\r\n";
        // Whether the playback task sends before the next answers is up to
        // the scheduler (its first read is a blocking task, slow on a
        // loaded machine): exchanges are repeated until one carries
        // interleaved RTP on channel 0, each answered the same.
        let mut with_rtp = false;
        for _ in 0..500 {
            let output = server.exchange(input);
            assert_eq!(
                statuses(&output),
                [200, 200, 200, 200, 200, 200, 200, 461, 200, 454]
            );
            with_rtp = output.windows(2).any(|w| w == b"$\x00");
            // Every session of the exchange ended with it.
            assert!(server.shared.sessions.drain().is_empty());
            if with_rtp {
                break;
            }
        }
        assert!(with_rtp, "no interleaved RTP in 500 exchanges");
    }

    #[test]
    fn garbage_is_answered_and_closes_the_connection() {
        let output = server().exchange(b"\x16\x03\x01 hello\r\n\r\nOPTIONS * RTSP/1.0\r\n\r\n");
        assert_eq!(statuses(&output), [400]);
    }

    #[test]
    fn only_short_numbers_name_sessions() {
        let ids = vec!["AB".to_owned(), "CD".to_owned()];
        let mut headers = vec![
            ("session".to_owned(), " 1;timeout=5".to_owned()),
            ("Session".to_owned(), "2".to_owned()),
            ("Session".to_owned(), "0001".to_owned()),
            ("CSeq".to_owned(), "0".to_owned()),
        ];
        name_session(&mut headers, &ids);
        let values: Vec<&str> = headers.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(values, ["CD;timeout=5", "2", "0001", "0"]);
        let mut learned = Vec::new();
        learn_session(
            b"RTSP/1.0 200 OK\r\nSession: XY;timeout=65\r\n\r\n",
            &mut learned,
        );
        learn_session(b"RTSP/1.0 200 OK\r\nSession: XY\r\n\r\n", &mut learned);
        assert_eq!(learned, ["XY"]);
    }
}
