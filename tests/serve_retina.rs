//! `mediatool serve` with the retina crate (an independent Rust RTSP
//! client) over UDP and TCP: every fixture arrives whole. retina does the
//! RTSP session and RTP reception for all of them and depacketizes what it
//! knows (H.264, H.265, AAC, G.711, L16); for the payload formats it lacks
//! (MPEG audio, L8, L24) its RTP packets go through our depacketizer.

mod common;
mod serve_common;

use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket};
use mediatool::vocab::TrackKind;
use retina::client::{
    Credentials, PacketItem, PlayOptions, Session, SessionOptions, SetupOptions, Transport,
};
use retina::codec::CodecItem;
use serve_common::{references, rtcp_packet_types, Reference, TestServer};

/// Codecs retina 0.4 depacketizes (no MPEG audio, L8 or L24).
const RETINA_CODECS: &[&str] = &["h264", "hevc", "aac", "pcm_alaw", "pcm_mulaw", "pcm_s16le"];

/// How long a stream may go without a packet.
const SILENCE: Duration = Duration::from_secs(10);

/// Plays `url` to its BYE; returns frames (or PCM sample frames) received.
async fn play(
    url: String,
    transport: Transport,
    reference: Reference,
    creds: Option<Credentials>,
) -> Result<u64, String> {
    let url = rtsp_types::Url::parse(&url).map_err(|e| e.to_string())?;
    let mut session = Session::describe(url, SessionOptions::default().creds(creds))
        .await
        .map_err(|e| format!("DESCRIBE: {e}"))?;
    session
        .setup(0, SetupOptions::default().transport(transport))
        .await
        .map_err(|e| format!("SETUP: {e}"))?;
    let stream = &session.streams()[0];
    // What our depacketizer needs, from the SDP as retina read it; the
    // first media's format parameters (Vorbis and Theora carry their
    // headers there) from the raw SDP, as retina parses none for codecs it
    // does not know.
    let kind = match stream.media() {
        "video" => TrackKind::Video,
        _ => TrackKind::Audio,
    };
    let fmtp = String::from_utf8_lossy(session.sdp())
        .lines()
        .find_map(|l| l.strip_prefix("a=fmtp:"))
        .and_then(|l| l.split_once(' '))
        .map(|(_, value)| value.to_owned());
    let rtpmap = match stream.channels() {
        Some(channels) => format!(
            "{}/{}/{channels}",
            stream.encoding_name(),
            stream.clock_rate_hz()
        ),
        None => format!("{}/{}", stream.encoding_name(), stream.clock_rate_hz()),
    };
    let playing = session
        .play(PlayOptions::default())
        .await
        .map_err(|e| format!("PLAY: {e}"))?;
    if RETINA_CODECS.contains(&reference.codec.as_str()) {
        retina_frames(playing, &reference).await
    } else {
        let description = PayloadDescription::parse(kind, &rtpmap, fmtp.as_deref())
            .map_err(|e| format!("{rtpmap}: {e}"))?;
        our_frames(playing, &reference, &description).await
    }
}

/// Frames retina's own depacketizers deliver.
async fn retina_frames(
    playing: Session<retina::client::Playing>,
    reference: &Reference,
) -> Result<u64, String> {
    let mut demuxed = playing.demuxed().map_err(|e| e.to_string())?;
    let mut count = 0u64;
    loop {
        let item = tokio::time::timeout(SILENCE, demuxed.next())
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

/// Frames our depacketizer assembles from the RTP packets retina receives.
async fn our_frames(
    mut playing: Session<retina::client::Playing>,
    reference: &Reference,
    description: &PayloadDescription,
) -> Result<u64, String> {
    let mut depacketizer = rtp::depacketizer(description).map_err(|e| e.to_string())?;
    let mut units = Vec::new();
    loop {
        let item = tokio::time::timeout(SILENCE, playing.next())
            .await
            .map_err(|_| format!("no BYE after {} frames", units.len()))?;
        match item {
            None => break,
            Some(Err(e)) => return Err(format!("after {} frames: {e}", units.len())),
            Some(Ok(PacketItem::Rtp(packet))) => {
                if packet.loss() > 0 {
                    return Err(format!("{} packets lost", packet.loss()));
                }
                let packet = ReceivedPacket {
                    sequence: packet.sequence_number(),
                    timestamp: packet.timestamp().timestamp() as u32,
                    marker: packet.mark(),
                    payload: Bytes::copy_from_slice(packet.payload()),
                };
                depacketizer
                    .push(&packet, &mut units)
                    .map_err(|e| e.to_string())?;
            }
            Some(Ok(PacketItem::Rtcp(rtcp))) if rtcp_packet_types(rtcp.raw()).contains(&203) => {
                break
            }
            Some(Ok(_)) => {}
        }
    }
    depacketizer.finish(&mut units);
    if !reference.is_pcm() {
        return Ok(units.len() as u64);
    }
    // PCM units are samples in the wire encoding: L8 one byte, L24 three.
    let width = match description.encoding {
        "L8" => 1,
        "L16" => 2,
        "L24" => 3,
        other => return Err(format!("no sample width for {other}")),
    };
    let bytes: usize = units.iter().map(|u| u.data.len()).sum();
    Ok(bytes as u64 / (width * reference.channels.max(1)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_receives_every_fixture_over_udp_and_tcp() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let refs = references();
    assert!(refs.len() >= 10, "{refs:?}");
    // retina's own depacketizers and ours both take part.
    assert!(refs
        .iter()
        .any(|r| RETINA_CODECS.contains(&r.codec.as_str())));
    assert!(refs
        .iter()
        .any(|r| !RETINA_CODECS.contains(&r.codec.as_str())));
    let names: Vec<String> = refs.iter().map(|r| r.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let mut runs = Vec::new();
    for r in &refs {
        for (name, transport) in [
            ("udp", Transport::Udp(Default::default())),
            ("tcp", Transport::Tcp(Default::default())),
        ] {
            let url = server.url(&r.name);
            let task = tokio::spawn(play(url, transport, r.clone(), None));
            runs.push((r, name, task));
        }
    }
    let mut failures = Vec::new();
    for (r, how, task) in runs {
        match task.await.unwrap() {
            Ok(count) if count == r.packets => {}
            Ok(count) => failures.push(format!("{} over {how}: {count} of {}", r.name, r.packets)),
            Err(e) => failures.push(format!("{} over {how}: {e}", r.name)),
        }
    }
    server.assert_no_failures(&failures);
}

/// retina answers digest challenges with `qop=auth` and a growing nonce
/// count: every request of its session is accepted once, none replayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_authenticates_with_digest() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let reference = references()
        .into_iter()
        .find(|r| r.name == "h264_baseline.h264")
        .unwrap();
    let server = TestServer::with_fixtures(
        std::slice::from_ref(&reference.name),
        &["--user", "alice:s3cret"],
    );
    let url = server.url(&reference.name);
    let creds = |password: &str| {
        Some(Credentials {
            username: "alice".into(),
            password: password.into(),
        })
    };
    let tcp = Transport::Tcp(Default::default());
    let count = play(url.clone(), tcp.clone(), reference.clone(), creds("s3cret"))
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", server.log()));
    assert_eq!(count, reference.count);
    let refused = play(url, tcp, reference, creds("guess")).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");
}
