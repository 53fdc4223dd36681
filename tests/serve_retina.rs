//! `mediatool serve` with the retina crate (an independent Rust RTSP
//! client) over UDP and TCP: every fixture whose codec retina depacketizes
//! (H.264, H.265, AAC, G.711, L16) arrives whole.

mod common;
mod serve_common;

use std::time::Duration;

use futures_util::StreamExt;
use retina::client::{PlayOptions, Session, SessionOptions, SetupOptions, Transport};
use retina::codec::CodecItem;
use serve_common::{references, rtcp_packet_types, Reference, TestServer};

/// Codecs retina 0.4 depacketizes (no MPEG audio, L8 or L24).
const RETINA_CODECS: &[&str] = &["h264", "hevc", "aac", "pcm_alaw", "pcm_mulaw", "pcm_s16le"];

/// Plays `url` to its BYE; returns frames (or PCM sample frames) received.
async fn play(url: String, transport: Transport, reference: Reference) -> Result<u64, String> {
    let url = rtsp_types::Url::parse(&url).map_err(|e| e.to_string())?;
    let mut session = Session::describe(url, SessionOptions::default())
        .await
        .map_err(|e| format!("DESCRIBE: {e}"))?;
    session
        .setup(0, SetupOptions::default().transport(transport))
        .await
        .map_err(|e| format!("SETUP: {e}"))?;
    let playing = session
        .play(PlayOptions::default())
        .await
        .map_err(|e| format!("PLAY: {e}"))?;
    let mut demuxed = playing.demuxed().map_err(|e| e.to_string())?;
    let mut count = 0u64;
    loop {
        let item = tokio::time::timeout(Duration::from_secs(10), demuxed.next())
            .await
            .map_err(|_| format!("no BYE after {count} frames"))?;
        match item {
            None => return Ok(count),
            Some(Err(e)) => return Err(format!("after {count} frames: {e}")),
            Some(Ok(CodecItem::VideoFrame(frame))) => {
                if frame.loss() > 0 {
                    return Err(format!("{} packets lost", frame.loss()));
                }
                count += 1;
            }
            Some(Ok(CodecItem::AudioFrame(frame))) => {
                if frame.loss() > 0 {
                    return Err(format!("{} packets lost", frame.loss()));
                }
                count += if reference.is_pcm() {
                    // retina counts PCM samples of all channels together.
                    u64::from(frame.frame_length().get()) / reference.channels.max(1)
                } else {
                    1
                };
            }
            // retina hands RTCP up but does not act on BYE (RFC 3550 §6.6).
            Some(Ok(CodecItem::Rtcp(rtcp))) if rtcp_packet_types(rtcp.raw()).contains(&203) => {
                return Ok(count)
            }
            Some(Ok(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_receives_every_supported_fixture_over_udp_and_tcp() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let refs: Vec<Reference> = references()
        .into_iter()
        .filter(|r| RETINA_CODECS.contains(&r.codec.as_str()))
        .collect();
    assert!(refs.len() >= 8, "{refs:?}");
    let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let mut runs = Vec::new();
    for r in &refs {
        for (name, transport) in [
            ("udp", Transport::Udp(Default::default())),
            ("tcp", Transport::Tcp(Default::default())),
        ] {
            let url = server.url(&r.name);
            let task = tokio::spawn(play(url, transport, r.clone()));
            runs.push((r, name, task));
        }
    }
    let mut failures = Vec::new();
    for (r, how, task) in runs {
        match task.await.unwrap() {
            Ok(count) if count == r.count => {}
            Ok(count) => failures.push(format!("{} over {how}: {count} of {}", r.name, r.count)),
            Err(e) => failures.push(format!("{} over {how}: {e}", r.name)),
        }
    }
    server.assert_no_failures(&failures);
}
