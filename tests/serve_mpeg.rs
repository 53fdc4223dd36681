//! `mediatool serve` with the MPEG program and transport stream fixtures
//! of several tracks: ffmpeg (UDP and TCP), GStreamer's rtspsrc and retina
//! receive every track whole, a transport stream served whole (`--ts-mode
//! mp2t`, one RFC 2250 MP2T stream) decodes whole in ffmpeg and GStreamer,
//! and `-ss` seeks in both containers as ffmpeg seeks in the file.
//!
//! The references of `serve_common` describe one track a file; the files
//! of several are played here, each track counted against ffprobe's.

mod common;
mod serve_common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use bytes::Bytes;
use common::Bounded;
use futures_util::StreamExt;
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket};
use mediatool::vocab::TrackKind;
use retina::client::{PacketItem, PlayOptions, Session, SessionOptions, SetupOptions, Transport};
use serde_json::Value;
use serve_common::{gstreamer, rtcp_packet_types, TestServer};

/// One track of a fixture: what ffprobe decodes of it and how `serve`
/// sends it.
#[derive(Clone, Debug)]
struct Track {
    /// `video` or `audio`.
    kind: String,
    /// ffprobe's `codec_name`.
    codec: String,
    /// The `a=rtpmap` encoding (`AC3/48000/1`) and `a=fmtp` parameters.
    rtpmap: String,
    fmtp: Option<String>,
    channels: u64,
    /// Video: frames. Audio: the sample frames ffprobe decodes (for
    /// compressed audio also `frames`, ffprobe's `nb_read_frames`).
    count: u64,
    frames: u64,
}

impl Track {
    fn is_pcm(&self) -> bool {
        self.rtpmap.starts_with("L16/") || self.rtpmap.starts_with("L24/")
    }

    /// The RTP encoding name, as GStreamer's caps spell it.
    fn encoding_caps(&self) -> String {
        self.rtpmap.split('/').next().unwrap().to_ascii_uppercase()
    }
}

/// A fixture of several tracks.
#[derive(Clone, Debug)]
struct Fixture {
    name: String,
    path: PathBuf,
    tracks: Vec<Track>,
}

/// The streamable program and transport stream fixtures of several
/// tracks, their tracks from `probe` (each must be streamed: the SDP order
/// is the file's) and ffprobe.
fn fixtures() -> Vec<Fixture> {
    let files: Vec<PathBuf> = common::streamable_fixtures()
        .into_iter()
        .filter(|f| common::is_multitrack(f))
        .filter(|f| {
            ["ts", "m2ts", "mpg", "vob"]
                .iter()
                .any(|e| f.extension().is_some_and(|x| x == *e))
        })
        .collect();
    assert!(files.len() >= 6, "{files:?}");
    files.into_iter().map(|path| fixture(&path)).collect()
}

fn fixture(path: &Path) -> Fixture {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let probe = Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .args(["probe", "-q", "--format", "json"])
        .arg(path)
        .output_bounded();
    assert!(probe.status.success(), "{name}");
    let report: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let streams = common::ffprobe_streams(path);
    let samples = common::ffprobe_decoded_samples(path);
    let ours = report["tracks"].as_array().unwrap();
    assert_eq!(ours.len(), streams.len(), "{name}");
    let tracks = ours
        .iter()
        .zip(&streams)
        .enumerate()
        .map(|(i, (t, s))| {
            let rtp = &t["rtp"];
            assert!(!rtp.is_null(), "{name}: track {i} is not streamed");
            let kind = s["codec_type"].as_str().unwrap().to_owned();
            let frames: u64 = s["nb_read_frames"].as_str().unwrap().parse().unwrap();
            Track {
                count: if kind == "video" { frames } else { samples[&i] },
                kind,
                codec: s["codec_name"].as_str().unwrap().to_owned(),
                rtpmap: rtp["encoding"].as_str().unwrap().to_owned(),
                fmtp: rtp["fmtp"].as_str().map(str::to_owned),
                channels: s["channels"].as_u64().unwrap_or(0),
                frames,
            }
        })
        .collect();
    Fixture {
        name,
        path: path.to_owned(),
        tracks,
    }
}

/// ffmpeg's messages on stderr with the addresses of its contexts left
/// out (`[mpeg2video @ 0x5586...] ac-tex damaged` -> `[mpeg2video]
/// ac-tex damaged`), without the notice it prints when another client
/// took the UDP port it tried first.
fn messages(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.contains("bind failed: Address already in use") && !l.trim().is_empty())
        .map(|l| match (l.find(" @ 0x"), l.find(']')) {
            (Some(at), Some(end)) if at < end => format!("{}{}", &l[..at], &l[end..]),
            _ => l.to_owned(),
        })
        .collect()
}

/// ffmpeg decoding `input` (a file or URL, after `before_input`) to
/// framecrc: per output stream, the frames (video, compressed audio) or
/// 16-bit sample frames (PCM, by `tracks`), and the messages.
fn ffmpeg_counts(input: &str, before_input: &[&str], tracks: &[Track]) -> (Vec<u64>, Output) {
    let output = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error"])
        .args(before_input)
        .args(["-i", input, "-map", "0", "-fps_mode", "passthrough"])
        .args(["-f", "framecrc", "-"])
        .output_bounded();
    let mut counts = vec![0u64; tracks.len()];
    for line in String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let index: usize = fields[0].parse().unwrap();
        let track = &tracks[index];
        counts[index] += if track.is_pcm() {
            fields[4].parse::<u64>().unwrap() / (2 * track.channels)
        } else {
            1
        };
    }
    (counts, output)
}

/// What every track should count to in ffmpeg's framecrc output (and
/// in units, retina's), served as tracks or (`whole`) as one MP2T stream.
///
/// ffmpeg's RTP MP2T reader (`rtpdec_mpegts`) does not flush its
/// transport stream demuxer when the stream ends: the last video frame,
/// whose PES packet states no length (ISO/IEC 13818-1 §2.4.3.7 allows 0
/// for video) and has no successor to end it, is never output. GStreamer
/// decodes that frame from the same stream
/// (`gstreamer_decodes_transport_streams_served_whole`).
fn framecrc_expected(tracks: &[Track], whole: bool) -> Vec<u64> {
    tracks
        .iter()
        .map(|t| match t.kind.as_str() {
            _ if t.is_pcm() => t.count,
            "video" if whole => t.frames - 1,
            _ => t.frames,
        })
        .collect()
}

/// ffmpeg plays each of `fixtures` from `server` over each of
/// `transports` (all at once: they play in real time): every track whole,
/// with no message ffmpeg does not also print decoding the file itself.
fn ffmpeg_plays(
    server: &TestServer,
    fixtures: &[Fixture],
    transports: &[&'static str],
    whole: bool,
) -> Vec<String> {
    let mut runs = Vec::new();
    for f in fixtures {
        let (local, output) = ffmpeg_counts(f.path.to_str().unwrap(), &[], &f.tracks);
        assert!(output.status.success(), "{}", f.name);
        assert_eq!(
            local,
            framecrc_expected(&f.tracks, false),
            "{}: the file",
            f.name
        );
        let known = messages(&output);
        for &transport in transports {
            let url = server.url(&f.name);
            let tracks = f.tracks.clone();
            let known = known.clone();
            let name = f.name.clone();
            runs.push(std::thread::spawn(move || {
                let (counts, output) =
                    ffmpeg_counts(&url, &["-rtsp_transport", transport], &tracks);
                let unexpected: Vec<String> = messages(&output)
                    .into_iter()
                    .filter(|m| !known.contains(m))
                    .collect();
                let expected = framecrc_expected(&tracks, whole);
                (!output.status.success() || counts != expected || !unexpected.is_empty()).then(
                    || {
                        format!(
                            "{name} over {transport}: {counts:?} decoded of {expected:?}, \
                             status {:?}, messages: {unexpected:?}",
                            output.status.code()
                        )
                    },
                )
            }));
        }
    }
    runs.into_iter().filter_map(|r| r.join().unwrap()).collect()
}

#[test]
fn ffmpeg_decodes_every_track_over_udp_and_tcp() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = fixtures();
    let names: Vec<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    server.assert_no_failures(&ffmpeg_plays(&server, &fixtures, &["udp", "tcp"], false));
}

/// The transport streams served whole (`--ts-mode mp2t`): the SDP has one
/// MP2T stream (payload type 33) and ffmpeg, demultiplexing what it
/// receives, decodes every elementary stream whole.
#[test]
fn ffmpeg_decodes_transport_streams_served_whole() {
    if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = transport_streams();
    let names: Vec<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &["--ts-mode", "mp2t"]);
    for f in &fixtures {
        let describe = server.connect().request(
            "DESCRIBE",
            &server.url(&f.name),
            &[("Accept", "application/sdp")],
        );
        assert_eq!(describe.status, 200, "{}", f.name);
        let sdp = &describe.body;
        let medias: Vec<&str> = sdp.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(medias, ["m=video 0 RTP/AVP 33"], "{}: {sdp}", f.name);
        assert!(sdp.contains("a=rtpmap:33 MP2T/90000"), "{sdp}");
    }
    server.assert_no_failures(&ffmpeg_plays(&server, &fixtures, &["udp", "tcp"], true));
}

/// The transport stream fixtures (including the M2TS one, served as TS).
fn transport_streams() -> Vec<Fixture> {
    let all: Vec<Fixture> = common::streamable_fixtures()
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "ts" || e == "m2ts"))
        .map(|f| fixture(f))
        .collect();
    assert!(all.len() >= 4, "{all:?}");
    all
}

/// GStreamer decoding `pipeline`, whose branches write `outputs`: the
/// decoded frames (video, 16x16 GRAY8) or mono samples (audio) of each.
fn gstreamer_counts(pipeline: &str, outputs: &[(PathBuf, &Track)]) -> Result<Vec<u64>, String> {
    let output = common::gst_launch()
        .args(pipeline.split_whitespace())
        .output_bounded();
    let counts = outputs
        .iter()
        .map(|(out, track)| gstreamer::decoded(&track.kind, out))
        .collect();
    if gstreamer::ended_cleanly(&output) {
        Ok(counts)
    } else {
        Err(format!(
            "{counts:?}, status {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// What each GStreamer branch should decode: frames or sample frames.
fn decoded_expected(tracks: &[Track]) -> Vec<u64> {
    tracks.iter().map(|t| t.count).collect()
}

#[test]
fn gstreamer_decodes_every_track_over_udp_and_tcp() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = fixtures();
    let names: Vec<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let out = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for protocol in ["udp", "tcp"] {
        let runs: Vec<_> = fixtures
            .iter()
            .map(|f| {
                // One branch per track, chosen by its RTP caps (no two
                // tracks of a fixture share an encoding).
                let mut pipeline = format!(
                    "rtspsrc location={} protocols={protocol} latency=1000 name=s",
                    server.url(&f.name)
                );
                let mut outputs = Vec::new();
                for (i, track) in f.tracks.iter().enumerate() {
                    let raw = out.path().join(format!("{}.{protocol}.{i}", f.name));
                    let caps = format!("application/x-rtp,encoding-name={}", track.encoding_caps());
                    pipeline += " ";
                    pipeline += &gstreamer::decoding_branch("s", &caps, &track.kind, &raw);
                    outputs.push((raw, track.clone()));
                }
                let encodings: std::collections::HashSet<String> =
                    f.tracks.iter().map(Track::encoding_caps).collect();
                assert_eq!(encodings.len(), f.tracks.len(), "{}", f.name);
                let expected = decoded_expected(&f.tracks);
                let name = f.name.clone();
                std::thread::spawn(
                    move || match gstreamer_counts(&pipeline, &as_refs(&outputs)) {
                        Ok(counts) if counts == expected => None,
                        Ok(counts) => Some(format!(
                            "{name} via {protocol}: {counts:?} decoded of {expected:?}"
                        )),
                        Err(e) => Some(format!("{name} via {protocol}: {e}\n{pipeline}")),
                    },
                )
            })
            .collect();
        failures.extend(runs.into_iter().filter_map(|r| r.join().unwrap()));
    }
    server.assert_no_failures(&failures);
}

/// GStreamer's rtspsrc receives the whole transport streams (MP2T) and
/// `rtpmp2tdepay` with its demuxer and decoders (through decodebin)
/// decodes every elementary stream whole: ffprobe's frames and samples,
/// but where GStreamer's decoders fall short on the file itself, as its
/// own decoding of the file shows (read from the file, its audio is also
/// clipped to the video's segment, which a live RTSP source is not):
/// AAC in LATM loses frames, and MPEG-2 video the frame whose reference
/// the discontinuity fixture's lost packet damaged.
#[test]
fn gstreamer_decodes_transport_streams_served_whole() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = transport_streams();
    let names: Vec<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &["--ts-mode", "mp2t"]);
    let out = tempfile::tempdir().unwrap();
    let runs: Vec<_> = fixtures
        .iter()
        .map(|f| {
            let kinds: std::collections::HashSet<&str> =
                f.tracks.iter().map(|t| t.kind.as_str()).collect();
            assert_eq!(kinds.len(), f.tracks.len(), "{}", f.name);
            // Each branch takes decodebin's pad of its kind (the fixtures
            // have at most one track of each).
            let tail = |to: &str| {
                let mut tail = "decodebin name=d".to_owned();
                let mut outputs = Vec::new();
                for (i, track) in f.tracks.iter().enumerate() {
                    let raw = out.path().join(format!("{}.{to}.{i}", f.name));
                    tail += &format!(
                        " d. ! {}/x-raw ! queue ! {}",
                        track.kind,
                        gstreamer::raw_sink(&track.kind, &raw)
                    );
                    outputs.push((raw, track.clone()));
                }
                (tail, outputs)
            };
            let (received, received_outputs) = tail("received");
            let pipeline = format!(
                "rtspsrc location={} protocols=tcp latency=1000 ! \
                 application/x-rtp,encoding-name=MP2T ! rtpmp2tdepay ! {received}",
                server.url(&f.name)
            );
            let (local, local_outputs) = tail("file");
            let file_pipeline = format!("filesrc location={} ! {local}", f.path.display());
            let name = f.name.clone();
            std::thread::spawn(move || {
                let file = gstreamer_counts(&file_pipeline, &as_refs(&local_outputs))
                    .unwrap_or_else(|e| panic!("{name}: the file: {e}"));
                assert!(file.iter().all(|&c| c > 0), "{name}: {file:?}");
                let expected: Vec<u64> = local_outputs
                    .iter()
                    .zip(&file)
                    .map(|((_, t), &from_file)| match t.kind.as_str() {
                        "video" => from_file.min(t.count),
                        _ if t.codec == "aac_latm" => from_file,
                        _ => t.count,
                    })
                    .collect();
                match gstreamer_counts(&pipeline, &as_refs(&received_outputs)) {
                    Ok(counts) if counts == expected => None,
                    Ok(counts) => Some(format!(
                        "{name}: {counts:?} decoded of {expected:?} ({file:?} from the file)"
                    )),
                    Err(e) => Some(format!("{name}: {e}\n{pipeline}")),
                }
            })
        })
        .collect();
    let failures: Vec<String> = runs.into_iter().filter_map(|r| r.join().unwrap()).collect();
    server.assert_no_failures(&failures);
}

/// `(path, track)` pairs borrowed, as [`gstreamer_counts`] takes them.
fn as_refs(outputs: &[(PathBuf, Track)]) -> Vec<(PathBuf, &Track)> {
    outputs.iter().map(|(p, t)| (p.clone(), t)).collect()
}

/// How long a stream may go without a packet.
const SILENCE: Duration = Duration::from_secs(10);

/// retina sets up every track of `url` and plays to the BYE; our
/// depacketizers count each track's units (PCM: sample frames) from the
/// RTP packets retina receives (it depacketizes neither MPEG video, MPEG
/// audio nor AC-3).
async fn retina_counts(
    url: String,
    transport: Transport,
    tracks: Vec<Track>,
) -> Result<Vec<u64>, String> {
    let url = rtsp_types::Url::parse(&url).map_err(|e| e.to_string())?;
    let mut session = Session::describe(url, SessionOptions::default())
        .await
        .map_err(|e| format!("DESCRIBE: {e}"))?;
    if session.streams().len() != tracks.len() {
        return Err(format!("{} streams in the SDP", session.streams().len()));
    }
    for i in 0..tracks.len() {
        session
            .setup(i, SetupOptions::default().transport(transport.clone()))
            .await
            .map_err(|e| format!("SETUP {i}: {e}"))?;
    }
    let mut depacketizers = tracks
        .iter()
        .map(|t| {
            let kind = if t.kind == "video" {
                TrackKind::Video
            } else {
                TrackKind::Audio
            };
            let description = PayloadDescription::parse(kind, &t.rtpmap, t.fmtp.as_deref())
                .map_err(|e| format!("{}: {e}", t.rtpmap))?;
            rtp::depacketizer(&description).map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, String>>()?;
    let mut playing = session
        .play(PlayOptions::default())
        .await
        .map_err(|e| format!("PLAY: {e}"))?;
    let mut units: Vec<Vec<rtp::ReceivedUnit>> = tracks.iter().map(|_| Vec::new()).collect();
    // Every stream sends its BYE at its end.
    let mut ended = vec![false; tracks.len()];
    while ended.contains(&false) {
        let item = tokio::time::timeout(SILENCE, playing.next())
            .await
            .map_err(|_| format!("no BYE on every stream: {ended:?}"))?;
        match item {
            None => break,
            Some(Err(e)) => return Err(e.to_string()),
            Some(Ok(PacketItem::Rtp(packet))) => {
                if packet.loss() > 0 {
                    return Err(format!("{} packets lost", packet.loss()));
                }
                let i = packet.stream_id();
                let received = ReceivedPacket {
                    sequence: packet.sequence_number(),
                    timestamp: packet.timestamp().timestamp() as u32,
                    marker: packet.mark(),
                    payload: Bytes::copy_from_slice(packet.payload()),
                };
                depacketizers[i]
                    .push(&received, &mut units[i])
                    .map_err(|e| format!("stream {i}: {e}"))?;
            }
            Some(Ok(PacketItem::Rtcp(rtcp))) => {
                if rtcp_packet_types(rtcp.raw()).contains(&203) {
                    ended[rtcp.stream_id()] = true;
                }
            }
            Some(Ok(_)) => {}
        }
    }
    for (depacketizer, units) in depacketizers.iter_mut().zip(&mut units) {
        depacketizer.finish(units);
    }
    Ok(units
        .iter()
        .zip(&tracks)
        .map(|(units, track)| {
            if track.is_pcm() {
                let width = if track.rtpmap.starts_with("L24/") {
                    3
                } else {
                    2
                };
                units.iter().map(|u| u.data.len() as u64).sum::<u64>() / (width * track.channels)
            } else {
                units.len() as u64
            }
        })
        .collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retina_receives_every_track_over_udp_and_tcp() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let fixtures = fixtures();
    let names: Vec<String> = fixtures.iter().map(|f| f.name.clone()).collect();
    let server = TestServer::with_fixtures(&names, &[]);
    let mut runs = Vec::new();
    for f in &fixtures {
        for (how, transport) in [
            ("udp", Transport::Udp(Default::default())),
            ("tcp", Transport::Tcp(Default::default())),
        ] {
            let task = tokio::spawn(retina_counts(
                server.url(&f.name),
                transport,
                f.tracks.clone(),
            ));
            runs.push((f, how, task));
        }
    }
    let mut failures = Vec::new();
    for (f, how, task) in runs {
        let expected = framecrc_expected(&f.tracks, false);
        match task.await.unwrap() {
            Ok(counts) if counts == expected => {}
            Ok(counts) => {
                failures.push(format!("{} over {how}: {counts:?} of {expected:?}", f.name))
            }
            Err(e) => failures.push(format!("{} over {how}: {e}", f.name)),
        }
    }
    server.assert_no_failures(&failures);
}

/// `-ss 1` in a program stream and in transport streams (2 s each):
/// ffmpeg asks for npt=1.000-, the server starts at the key frame before
/// it with the audio frame containing that time. The video frames ffmpeg
/// decodes from 1 s on are those it decodes from the file itself, with
/// the same checksums (decoding from the key frame the server chose is
/// exact); which frame near 1 s is the first shown depends on how ffmpeg
/// dates RTSP packets (from RTP-Info or the first sender report) and is
/// not compared: the reader's seek tests check where each seek lands.
///
/// Not covered: `-ss` over MP2T, where ffmpeg adds the transport
/// stream's first PTS to the time and asks for a range past the end (457).
#[test]
fn ffmpeg_seeks_with_ss_in_program_and_transport_streams() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let decode = |input: &str, before_input: &[&str]| {
        let output = Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error"])
            .args(before_input)
            .args(["-i", input, "-map", "0"])
            .args(["-fps_mode", "passthrough", "-f", "framecrc", "-"])
            .output_bounded();
        assert!(output.status.success(), "{input}: {:?}", messages(&output));
        let mut video = Vec::new();
        let mut audio = 0;
        for line in String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.starts_with('#'))
        {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            match fields[0] {
                "0" => video.push(fields[5].to_owned()),
                _ => audio += 1,
            }
        }
        (video, audio)
    };
    for fixture in ["mpeg1_system.mpg", "ts_h264_aac.ts", "ts_hevc_ac3.ts"] {
        let server = TestServer::start(&[(fixture, fixture)], &[]);
        let local = common::fixtures().join(fixture);
        let (video, audio) = decode(local.to_str().unwrap(), &[]);
        assert_eq!(video.len(), 50, "{fixture}");
        let (kept, audio_kept) = decode(
            &server.url(fixture),
            &["-rtsp_transport", "tcp", "-ss", "1"],
        );
        // The frames from 1 s on (from the 26th: each fixture's video
        // starts up to 21 ms after its audio) are exact; ffmpeg may show
        // one or two before them (frames near 1 s, or a leading B picture
        // of an open MPEG GOP, which refers to the GOP before the key
        // frame).
        let tail = &video[25..];
        assert!(
            kept.ends_with(tail) && kept.len() <= tail.len() + 2,
            "{fixture}: {kept:?} of {video:?}"
        );
        assert!(
            (audio * 2 / 5..=audio * 3 / 5).contains(&audio_kept),
            "{fixture}: {audio_kept} of {audio} audio frames"
        );
    }
}

/// Files no RTP payload format carries (E-AC-3: RFC 4598 is not
/// implemented) are answered 415 Unsupported Media Type.
#[test]
fn files_without_a_streamable_track_get_415() {
    for name in common::UNSTREAMABLE_FIXTURES {
        let server = TestServer::start(&[(name, name)], &[]);
        let reply = server.connect().request("DESCRIBE", &server.url(name), &[]);
        assert_eq!(reply.status, 415, "{name}: {reply:?}");
    }
}
