//! `mediatool serve` with Ogg files: the Theora+Vorbis file decoded whole,
//! both tracks, by ffmpeg (UDP, TCP) and GStreamer; `-ss` seeking in Vorbis,
//! Opus and Theora+Vorbis; 415 for files of codecs RTP does not carry
//! (Speex, FLAC). The single-track Ogg fixtures play in the generic tests
//! (serve_ffmpeg, serve_gstreamer, serve_retina).

mod common;
mod serve_common;

use std::process::Command;

use common::Bounded;
use serve_common::{gstreamer, TestServer};

/// ffmpeg's decoded frames of `url` per stream index (`-f framecrc`), with
/// `before_input` options; panics unless ffmpeg ends cleanly.
fn ffmpeg_frames(url: &str, transport: &str, before_input: &[&str]) -> Vec<usize> {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-rtsp_transport", transport])
        .args(before_input)
        .args(["-i", url, "-map", "0", "-fps_mode", "passthrough"])
        .args(["-f", "framecrc", "-"])
        .output_bounded();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stderr.trim().is_empty(),
        "{url}: {stderr}"
    );
    let mut frames = Vec::new();
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let stream: usize = line.split(',').next().unwrap().trim().parse().unwrap();
        if frames.len() <= stream {
            frames.resize(stream + 1, 0);
        }
        frames[stream] += 1;
    }
    frames
}

/// ffprobe's decoded frames of every stream of a fixture.
fn ffprobe_frames(name: &str) -> Vec<usize> {
    common::ffprobe_streams(&common::fixtures().join(name))
        .iter()
        .map(|s| s["nb_read_frames"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[test]
fn ffmpeg_decodes_both_tracks_of_theora_and_vorbis() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let name = "theora_vorbis.ogv";
    let expected = ffprobe_frames(name);
    assert_eq!(expected, [50, 87]);
    let server = TestServer::start(&[(name, name)], &[]);
    for transport in ["udp", "tcp"] {
        let got = ffmpeg_frames(&server.url(name), transport, &[]);
        assert_eq!(got, expected, "over {transport}\n{}", server.log());
    }
}

#[test]
fn gstreamer_decodes_both_tracks_of_theora_and_vorbis() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let name = "theora_vorbis.ogv";
    let server = TestServer::start(&[(name, name)], &[]);
    let dir = tempfile::tempdir().unwrap();
    for protocol in ["udp", "tcp"] {
        let video = dir.path().join(format!("{protocol}.video"));
        let audio = dir.path().join(format!("{protocol}.audio"));
        let pipeline = format!(
            "rtspsrc name=src location={} protocols={protocol} latency=1000 {} {}",
            server.url(name),
            gstreamer::decoding_branch("src", "application/x-rtp,media=video", "video", &video),
            gstreamer::decoding_branch("src", "application/x-rtp,media=audio", "audio", &audio),
        );
        let output = common::gst_launch()
            .args(pipeline.split_whitespace())
            .output_bounded();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            gstreamer::ended_cleanly(&output),
            "{protocol}: status {:?}: {stderr}",
            output.status.code()
        );
        // Every packet decoded (what makes rtspsrc's teardown race,
        // which `ended_cleanly` lets by, harmless).
        let samples = common::ogg_rtp_samples(&common::fixtures().join(name), 1);
        assert_eq!(
            (
                gstreamer::decoded("video", &video),
                gstreamer::decoded("audio", &audio)
            ),
            (50, samples),
            "{protocol}: {stderr}"
        );
    }
}

/// `-ss 1`: ffmpeg asks for `npt=1.000-`; the server starts at the key
/// frame before it (video) or the frame containing it (audio), and ffmpeg
/// drops what precedes 1 s.
#[test]
fn ffmpeg_seeks_in_ogg_with_ss() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let files = [
        "vorbis_44k_stereo.ogg",
        "opus_48k_stereo.opus",
        "theora_vorbis.ogv",
        "vorbis_chained.ogg",
    ];
    let pairs: Vec<(&str, &str)> = files.iter().map(|f| (*f, *f)).collect();
    let server = TestServer::start(&pairs, &[]);
    // Theora: 2 s at 25 fps, key frames every 12 frames (0.96 s, 1.92 s):
    // the frames from 1 s on. Audio: what remains after 1 s, in frames of
    // 1024 (Vorbis) or 960 (Opus) samples, give or take the frame
    // containing 1 s (ffmpeg keeps it) and the last, shorter one.
    for (name, expected) in [
        ("theora_vorbis.ogv", vec![25..=25, 43..=45]),
        ("vorbis_44k_stereo.ogg", vec![22..=23]),
        ("opus_48k_stereo.opus", vec![26..=27]),
        // 2.2 s: 0.5 s of the first chain after the seek, then the 32
        // packets of the second, all of which ffmpeg's decoder outputs (it
        // goes on across the chains).
        ("vorbis_chained.ogg", vec![54..=55]),
    ] {
        let got = ffmpeg_frames(&server.url(name), "tcp", &["-ss", "1"]);
        assert_eq!(got.len(), expected.len(), "{name}");
        for (stream, (frames, range)) in got.iter().zip(&expected).enumerate() {
            assert!(
                range.contains(frames),
                "{name} stream {stream}: {frames} frames after -ss 1, not {range:?}\n{}",
                server.log()
            );
        }
    }
}

/// A file of tracks no RTP payload format carries is described by probe,
/// which has no SDP for it, and refused by DESCRIBE with 415.
#[test]
fn speex_and_flac_files_are_unsupported_media() {
    let files = [
        ("speex_16k_mono.spx", "speex"),
        ("flac_22k_mono.oga", "flac"),
    ];
    let pairs: Vec<(&str, &str)> = files.iter().map(|(f, _)| (*f, *f)).collect();
    let server = TestServer::start(&pairs, &[]);
    for (name, codec) in files {
        let mut client = server.connect();
        let reply = client.request("DESCRIBE", &server.url(name), &[]);
        assert_eq!(reply.status, 415, "{name}");
        let probe = |args: &[&str]| {
            assert_cmd::Command::cargo_bin("mediatool")
                .unwrap()
                .arg("probe")
                .args(args)
                .arg(common::fixtures().join(name))
                .output_bounded()
        };
        let report = probe(&["--format", "json"]);
        let report: serde_json::Value = serde_json::from_slice(&report.stdout).unwrap();
        let track = &report["tracks"][0];
        assert_eq!(track["codec"], codec, "{name}");
        assert!(track["rtp"].is_null() && report["sdp"].is_null(), "{name}");
        let sdp = probe(&["--sdp"]);
        let stderr = String::from_utf8_lossy(&sdp.stderr);
        assert!(!sdp.status.success(), "{name}");
        assert!(
            stderr.contains("no track can be streamed over RTP"),
            "{name}: {stderr}"
        );
    }
}

/// retina sets up both tracks of the Theora+Vorbis file in one session and
/// receives every packet of each (our depacketizers rebuild the units from
/// the SDP's configurations): 50 frames, and the 88 Vorbis packets.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_receives_both_tracks_of_theora_and_vorbis() {
    use futures_util::StreamExt;
    use mediatool::rtp::{self, PayloadDescription, ReceivedPacket};
    use mediatool::vocab::TrackKind;
    use retina::client::{PacketItem, PlayOptions, Session, SessionOptions, SetupOptions};

    let name = "theora_vorbis.ogv";
    let server = TestServer::start(&[(name, name)], &[]);
    for transport in [
        retina::client::Transport::Udp(Default::default()),
        retina::client::Transport::Tcp(Default::default()),
    ] {
        let url = rtsp_types::Url::parse(&server.url(name)).unwrap();
        let mut session = Session::describe(url, SessionOptions::default())
            .await
            .unwrap();
        let sdp = String::from_utf8_lossy(session.sdp()).into_owned();
        // Each media's rtpmap and fmtp, in order.
        let mut descriptions = Vec::new();
        for media in sdp.split("m=").skip(1) {
            let value = |key: &str| {
                media
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|l| l.split_once(' '))
                    .map(|(_, v)| v.to_owned())
            };
            let kind = if media.starts_with("video") {
                TrackKind::Video
            } else {
                TrackKind::Audio
            };
            let rtpmap = value("a=rtpmap:").unwrap();
            let fmtp = value("a=fmtp:");
            descriptions.push(PayloadDescription::parse(kind, &rtpmap, fmtp.as_deref()).unwrap());
        }
        assert_eq!(descriptions.len(), 2);
        for stream in 0..2 {
            session
                .setup(stream, SetupOptions::default().transport(transport.clone()))
                .await
                .unwrap();
        }
        let mut playing = session.play(PlayOptions::default()).await.unwrap();
        let mut depacketizers: Vec<_> = descriptions
            .iter()
            .map(|d| rtp::depacketizer(d).unwrap())
            .collect();
        let mut units = [Vec::new(), Vec::new()];
        let mut byes = 0;
        while byes < 2 {
            let item = tokio::time::timeout(std::time::Duration::from_secs(10), playing.next())
                .await
                .expect("a packet within 10 s");
            match item {
                None => break,
                Some(Err(e)) => panic!("{e}"),
                Some(Ok(PacketItem::Rtp(packet))) => {
                    assert_eq!(packet.loss(), 0);
                    let stream = packet.stream_id();
                    let received = ReceivedPacket {
                        sequence: packet.sequence_number(),
                        timestamp: packet.timestamp().timestamp() as u32,
                        marker: packet.mark(),
                        payload: bytes::Bytes::copy_from_slice(packet.payload()),
                    };
                    depacketizers[stream]
                        .push(&received, &mut units[stream])
                        .unwrap();
                }
                Some(Ok(PacketItem::Rtcp(rtcp))) => {
                    byes += usize::from(serve_common::rtcp_packet_types(rtcp.raw()).contains(&203));
                }
                Some(Ok(_)) => {}
            }
        }
        for (d, u) in depacketizers.iter_mut().zip(&mut units) {
            d.finish(u);
        }
        assert_eq!([units[0].len(), units[1].len()], [50, 88]);
    }
}
