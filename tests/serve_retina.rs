//! `mediatool serve` with the retina crate (an independent Rust RTSP
//! client) over UDP and TCP: every fixture arrives whole, every track of
//! it set up. retina does the RTSP session and RTP reception for all of
//! them and depacketizes what it knows (H.264, H.265, AAC, G.711, L16);
//! a fixture with a payload format it lacks (MPEG audio, L8, L24, VP8,
//! VP9, AV1, Opus, Vorbis, Theora, AC-3) has all its RTP packets go
//! through our depacketizers.

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

/// Plays `url` to the BYEs of all its tracks (each set up); returns the
/// frames (or PCM sample frames) received per track, in SDP order.
async fn play(
    url: String,
    transport: Transport,
    reference: Reference,
    creds: Option<Credentials>,
) -> Result<Vec<u64>, String> {
    let url = rtsp_types::Url::parse(&url).map_err(|e| e.to_string())?;
    let mut session = Session::describe(url, SessionOptions::default().creds(creds))
        .await
        .map_err(|e| format!("DESCRIBE: {e}"))?;
    if session.streams().len() != reference.tracks.len() {
        return Err(format!("{} streams in the SDP", session.streams().len()));
    }
    for i in 0..reference.tracks.len() {
        session
            .setup(i, SetupOptions::default().transport(transport.clone()))
            .await
            .map_err(|e| format!("SETUP of stream {i}: {e}"))?;
    }
    let playing = session
        .play(PlayOptions::default())
        .await
        .map_err(|e| format!("PLAY: {e}"))?;
    let retina_knows_all = reference
        .tracks
        .iter()
        .all(|t| RETINA_CODECS.contains(&t.codec.as_str()));
    if retina_knows_all {
        retina_frames(playing, &reference).await
    } else {
        our_frames(playing, &reference).await
    }
}

/// Frames retina's own depacketizers deliver, per stream.
async fn retina_frames(
    playing: Session<retina::client::Playing>,
    reference: &Reference,
) -> Result<Vec<u64>, String> {
    let mut demuxed = playing.demuxed().map_err(|e| e.to_string())?;
    let mut counts = vec![0u64; reference.tracks.len()];
    let mut byes = vec![false; reference.tracks.len()];
    loop {
        let item = tokio::time::timeout(SILENCE, demuxed.next())
            .await
            .map_err(|_| format!("no BYE after {counts:?} frames"))?;
        match item {
            None => return Ok(counts),
            Some(Err(e)) => return Err(format!("after {counts:?} frames: {e}")),
            Some(Ok(CodecItem::VideoFrame(frame))) => {
                if frame.loss() > 0 {
                    return Err(format!("{} packets lost", frame.loss()));
                }
                counts[frame.stream_id()] += 1;
            }
            Some(Ok(CodecItem::AudioFrame(frame))) => {
                if frame.loss() > 0 {
                    return Err(format!("{} packets lost", frame.loss()));
                }
                let stream = &reference.tracks[frame.stream_id()];
                counts[frame.stream_id()] += if stream.is_pcm() {
                    // retina counts PCM samples of all channels together.
                    u64::from(frame.frame_length().get()) / stream.channels.max(1)
                } else {
                    1
                };
            }
            // retina hands RTCP up but does not act on BYE (RFC 3550 §6.6).
            Some(Ok(CodecItem::Rtcp(rtcp))) if rtcp_packet_types(rtcp.raw()).contains(&203) => {
                byes[rtcp.stream_id()] = true;
                if byes.iter().all(|&b| b) {
                    return Ok(counts);
                }
            }
            Some(Ok(_)) => {}
        }
    }
}

/// Frames our depacketizers assemble from the RTP packets retina
/// receives, per stream (for fixtures with a codec retina lacks).
async fn our_frames(
    mut playing: Session<retina::client::Playing>,
    reference: &Reference,
) -> Result<Vec<u64>, String> {
    let mut depacketizers = Vec::new();
    for t in &reference.tracks {
        let kind = if t.kind == "video" {
            TrackKind::Video
        } else {
            TrackKind::Audio
        };
        let description = PayloadDescription::parse(kind, &t.rtpmap, t.fmtp.as_deref())
            .map_err(|e| format!("{}: {e}", t.rtpmap))?;
        let depacketizer = rtp::depacketizer(&description).map_err(|e| e.to_string())?;
        depacketizers.push((description, depacketizer, Vec::new()));
    }
    let mut byes = vec![false; reference.tracks.len()];
    loop {
        let item = tokio::time::timeout(SILENCE, playing.next())
            .await
            .map_err(|_| "no BYE".to_owned())?;
        match item {
            None => break,
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(PacketItem::Rtp(packet))) => {
                if packet.loss() > 0 {
                    return Err(format!("{} packets lost", packet.loss()));
                }
                let (_, depacketizer, units) = &mut depacketizers[packet.stream_id()];
                let packet = ReceivedPacket {
                    sequence: packet.sequence_number(),
                    timestamp: packet.timestamp().timestamp() as u32,
                    marker: packet.mark(),
                    payload: Bytes::copy_from_slice(packet.payload()),
                };
                depacketizer
                    .push(&packet, units)
                    .map_err(|e| e.to_string())?;
            }
            Some(Ok(PacketItem::Rtcp(rtcp))) if rtcp_packet_types(rtcp.raw()).contains(&203) => {
                byes[rtcp.stream_id()] = true;
                if byes.iter().all(|&b| b) {
                    break;
                }
            }
            Some(Ok(_)) => {}
        }
    }
    let mut counts = Vec::new();
    for (stream, (description, mut depacketizer, mut units)) in
        reference.tracks.iter().zip(depacketizers)
    {
        depacketizer.finish(&mut units);
        if !stream.is_pcm() {
            counts.push(units.len() as u64);
            continue;
        }
        // PCM units are samples in the wire encoding: L8 one byte, L24 three.
        let width = match description.encoding {
            "L8" => 1,
            "L16" => 2,
            "L24" => 3,
            other => return Err(format!("no sample width for {other}")),
        };
        let bytes: usize = units.iter().map(|u| u.data.len()).sum();
        counts.push(bytes as u64 / (width * stream.channels.max(1)));
    }
    Ok(counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_receives_every_fixture_over_udp_and_tcp() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let refs = references();
    assert!(refs.len() >= 10, "{refs:?}");
    // retina's own depacketizers and ours both take part.
    let knows = |r: &&Reference| RETINA_CODECS.contains(&r.first().codec.as_str());
    assert!(refs.iter().any(|r| knows(&r)));
    assert!(refs.iter().any(|r| !knows(&r)));
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
        // Units, not decoded frames: FFmpeg's Vorbis decoder (ffprobe's
        // count) outputs nothing for the first packet.
        let expected: Vec<u64> = r
            .tracks
            .iter()
            .map(|t| t.count + u64::from(t.codec == "vorbis"))
            .collect();
        match task.await.unwrap() {
            Ok(counts) if counts == expected => {}
            Ok(counts) => {
                failures.push(format!("{} over {how}: {counts:?} of {expected:?}", r.name))
            }
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
    assert_eq!(count, [reference.first().count]);
    let refused = play(url, tcp, reference, creds("guess")).await.unwrap_err();
    assert!(refused.contains("401"), "{refused}");
}
