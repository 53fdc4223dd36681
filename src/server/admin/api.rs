//! What the admin endpoints say: each session's view (state, transport,
//! counts, receiver reports), the session counts of `/metrics`, and the
//! JSON of `/api/v1/streams` and `/api/v1/sessions`, with the key style
//! of `probe --format json` (snake_case, ffprobe's names, units in the
//! name: `duration_s`, `position_s`; fields that do not apply absent).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::rtsp::url;
use crate::server::delivery::Delivery;
use crate::server::listener;
use crate::server::metrics::{MediaTransport, SessionCounts, SessionState};
use crate::server::paths;
use crate::server::session::{PlayState, Session};
use crate::server::shared::Shared;

/// Most files `/api/v1/streams` lists.
pub const LISTED_STREAMS: usize = 1000;

/// A session's state and transport, read under its lock.
pub struct SessionView {
    session: Arc<Session>,
    state: SessionState,
    /// `None` for a session whose tracks are all torn down.
    transport: Option<MediaTransport>,
}

/// The view of `session` now.
pub async fn view(session: Arc<Session>) -> SessionView {
    let control = session.control.lock().await;
    let state = match &control.state {
        PlayState::Ready => SessionState::Ready,
        PlayState::Playing(player) if player.is_running() => SessionState::Playing,
        PlayState::Playing(_) => SessionState::Ended,
        PlayState::Paused(_) => SessionState::Paused,
    };
    let transport = control.tracks.first().map(|t| match &t.delivery {
        Delivery::Udp {
            multicast: Some(_), ..
        } => MediaTransport::Multicast,
        Delivery::Udp { .. } => MediaTransport::Udp,
        Delivery::Interleaved { .. } => MediaTransport::Tcp,
    });
    drop(control);
    SessionView {
        session,
        state,
        transport,
    }
}

/// Every session's view.
pub async fn views(shared: &Shared) -> Vec<SessionView> {
    let mut out = Vec::new();
    for session in shared.sessions.all() {
        out.push(view(session).await);
    }
    out
}

/// The sessions by state and transport, for `/metrics`.
pub fn counts(views: &[SessionView]) -> SessionCounts {
    let mut counts = SessionCounts::default();
    for view in views {
        if let Some(transport) = view.transport {
            counts.add(view.state, transport);
        }
    }
    counts
}

/// Whether any session still sends media.
pub fn any_playing(views: &[SessionView]) -> bool {
    views.iter().any(|v| v.state == SessionState::Playing)
}

#[derive(Serialize)]
struct SessionJson {
    id: String,
    /// The file, relative to the directory.
    path: String,
    url: String,
    client_address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    transport: Option<&'static str>,
    state: &'static str,
    position_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    packets_sent: u64,
    bytes_sent: u64,
    rtcp_packets_sent: u64,
    rtcp_packets_received: u64,
    tracks: Vec<TrackReceptionJson>,
}

#[derive(Serialize)]
struct TrackReceptionJson {
    index: usize,
    ssrc: String,
    /// From the client's latest receiver report, when one came.
    #[serde(skip_serializing_if = "Option::is_none")]
    fraction_lost: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    packets_lost: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jitter_s: Option<f64>,
}

/// The JSON of one session.
pub fn session_json(shared: &Shared, view: &SessionView) -> serde_json::Value {
    let session = &view.session;
    let counts = session.traffic.counts();
    let position = session
        .traffic
        .position(session.media.duration, shared.config.looping);
    let json = SessionJson {
        id: session.id.clone(),
        path: relative(&shared.root, &session.file),
        url: session.url.clone(),
        client_address: session.peer.to_string(),
        transport: view.transport.map(MediaTransport::name),
        state: view.state.name(),
        position_s: round6(position.as_secs_f64()),
        user: session.owner.clone(),
        packets_sent: counts.rtp_packets,
        bytes_sent: counts.rtp_bytes,
        rtcp_packets_sent: counts.rtcp_sent,
        rtcp_packets_received: counts.rtcp_received,
        tracks: session
            .traffic
            .receptions()
            .into_iter()
            .map(|r| TrackReceptionJson {
                index: r.index,
                ssrc: format!("{:08X}", r.ssrc),
                fraction_lost: r.report.map(|r| round6(r.fraction_lost)),
                packets_lost: r.report.map(|r| r.cumulative_lost),
                jitter_s: r.report.map(|r| round6(r.jitter_s)),
            })
            .collect(),
    };
    serde_json::to_value(json).unwrap_or_default()
}

#[derive(Serialize)]
struct StreamJson {
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
    format: &'static str,
    duration_s: f64,
    tracks: Vec<StreamTrackJson>,
    sessions: usize,
}

#[derive(Serialize)]
struct StreamTrackJson {
    index: usize,
    kind: &'static str,
    codec: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    frame_rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    channels: Option<u16>,
    rtp: RtpJson,
}

#[derive(Serialize)]
struct RtpJson {
    payload_type: u8,
    encoding: String,
}

/// `/api/v1/streams`: every servable file (at most [`LISTED_STREAMS`]),
/// described as DESCRIBE describes it, with the sessions playing it now.
pub async fn streams(shared: &Shared, rtsp: Option<SocketAddr>) -> serde_json::Value {
    let root = shared.root.clone();
    let listed = tokio::task::spawn_blocking(move || {
        let (url_paths, more, truncated) = listener::media_files(&root, LISTED_STREAMS);
        let files: Vec<(String, std::path::PathBuf)> = url_paths
            .into_iter()
            .filter_map(|u| Some((u.clone(), paths::resolve(&root, &u).ok()?.file)))
            .collect();
        (files, more > 0 || truncated)
    })
    .await;
    let Ok((files, truncated)) = listed else {
        return serde_json::json!({ "streams": [], "truncated": true });
    };
    let mut per_file: HashMap<std::path::PathBuf, usize> = HashMap::new();
    for session in shared.sessions.all() {
        *per_file.entry(session.file.clone()).or_default() += 1;
    }
    let mut streams = Vec::new();
    for (url_path, file) in files {
        // A file that vanished or does not describe is left out, as
        // DESCRIBE would refuse it.
        let Ok(media) = shared.catalog.get(&file).await else {
            continue;
        };
        let info = &media.info;
        let tracks = media
            .tracks
            .iter()
            .filter_map(|served| {
                let track = info.tracks.iter().find(|t| t.index == served.index)?;
                let video = track.video();
                let audio = track.audio();
                Some(StreamTrackJson {
                    index: track.index,
                    kind: track.kind().name(),
                    codec: track.codec.name().to_owned(),
                    profile: track.profile.clone(),
                    width: video.map(|v| v.width),
                    height: video.map(|v| v.height),
                    frame_rate: video.and_then(|v| v.frame_rate).map(|r| round6(r.as_f64())),
                    sample_rate: audio.map(|a| a.sample_rate),
                    channels: audio.map(|a| a.channels),
                    rtp: RtpJson {
                        payload_type: served.payload.payload_type(served.index),
                        encoding: served.payload.rtpmap(),
                    },
                })
            })
            .collect();
        streams.push(StreamJson {
            path: relative(&shared.root, &file),
            url: rtsp.map(|addr| url::absolute(addr, &url_path)),
            format: info.format.name,
            duration_s: round6(media.duration.as_secs_f64()),
            tracks,
            sessions: per_file.get(&file).copied().unwrap_or(0),
        });
    }
    serde_json::json!({ "streams": streams, "truncated": truncated })
}

/// `file`'s path under `root`, `/`-separated.
fn relative(root: &Path, file: &Path) -> String {
    file.strip_prefix(root)
        .unwrap_or(file)
        .to_string_lossy()
        .replace(std::path::MAIN_SEPARATOR, "/")
}

/// Seconds to the microsecond, as `probe` rounds them.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
