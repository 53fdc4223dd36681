//! Independent checks of the Opus, Vorbis, Theora, AC-3 and MP2T payload
//! formats, on media FFmpeg makes at test time (a couple of seconds each):
//!
//! - Another sender, our depacketizer: FFmpeg's RTP muxer (Opus, Vorbis,
//!   Theora, MP2T) or GStreamer's payloader (AC-3, which FFmpeg cannot
//!   send) streams the file over UDP; what our depacketizer makes of the
//!   datagrams, configured from FFmpeg's SDP, must be the file's packets
//!   (read with the `ogg` crate, or split at the AC-3 sync frame lengths),
//!   timed as ffprobe times them. FFmpeg re-multiplexes a transport stream,
//!   so for MP2T the check is that ffprobe reads as many frames from what
//!   we reassembled as from the file.
//! - Our packetizer, another receiver: our payloads, sent over UDP to
//!   GStreamer, are depayloaded into exactly the file's packets (the
//!   Xiph headers from our `configuration` first; for MP2T the file byte
//!   for byte) and decode in full: the raw output holds every sample or
//!   picture of the file (Vorbis: see [`vorbis`] for what GStreamer's
//!   decoder allows to check).
//!
//! With `CI=true` a missing ffmpeg, ffprobe or gst-launch-1.0 is a failure.

mod common;

use std::fs::File;
use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Bounded;
use mediatool::codec::opus::packet_samples;
use mediatool::codec::xiph::XiphHeaders;
use mediatool::media::{AccessUnit, AudioParams, Track, TrackParams};
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket, ReceivedUnit, RtpPayload};
use mediatool::vocab::{Codec, TrackKind};
use serde_json::Value;

/// The payload limits our packetizer is checked with: what a 1500-byte
/// MTU leaves, and one that fragments Vorbis, Theora and AC-3 frames.
const MAX_PAYLOADS: [usize; 2] = [1460, 300];

/// Runs ffmpeg with `args`; panics with its stderr on failure.
fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .output_bounded();
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `name` in `dir` with ffmpeg from lavfi sources and `codec_args`.
fn make(dir: &Path, name: &str, inputs: &[&str], codec_args: &[&str]) -> PathBuf {
    let path = dir.join(name);
    let mut args = Vec::new();
    for input in inputs {
        args.extend(["-f", "lavfi", "-i", input]);
    }
    args.extend_from_slice(codec_args);
    args.push(path.to_str().unwrap());
    ffmpeg(&args);
    path
}

/// Every packet of the only logical stream of an Ogg file.
fn ogg_packets(path: &Path) -> Vec<Bytes> {
    let mut reader = ogg::PacketReader::new(File::open(path).unwrap());
    let mut packets = Vec::new();
    while let Some(packet) = reader.read_packet().unwrap() {
        packets.push(Bytes::from(packet.data));
    }
    packets
}

/// ffprobe's packets of the first stream: `(pts, duration, size)` in the
/// stream's time base.
fn ffprobe_packets(path: &Path) -> Vec<(i64, i64, usize)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "0", "-show_packets"])
        .args(["-show_entries", "packet=pts,duration,size", "-of", "json"])
        .arg(path)
        .output_bounded();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let num = |v: &Value| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap()
    };
    json["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                num(&p["pts"]),
                num(&p["duration"]),
                num(&p["size"]) as usize,
            )
        })
        .collect()
}

/// A UDP socket on a free loopback port with a receive buffer large
/// enough for a whole test stream.
fn receiver() -> UdpSocket {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    socket.set_recv_buffer_size(8 << 20).unwrap();
    socket
        .bind(
            &"127.0.0.1:0"
                .parse::<std::net::SocketAddr>()
                .unwrap()
                .into(),
        )
        .unwrap();
    let socket: UdpSocket = socket.into();
    socket
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    socket
}

/// The RTP packets `sender` (started with the receiving port) sends, until
/// it has exited and nothing more came for half a second.
fn receive(sender: impl FnOnce(u16) -> Child) -> Vec<ReceivedPacket> {
    let socket = receiver();
    let mut child = sender(socket.local_addr().unwrap().port());
    let started = Instant::now();
    let mut packets = Vec::new();
    let mut exited: Option<Instant> = None;
    let mut buf = vec![0; 65536];
    loop {
        match socket.recv(&mut buf) {
            Ok(n) => {
                let rtp = rtp_types::RtpPacket::parse(&buf[..n]).unwrap();
                packets.push(ReceivedPacket {
                    sequence: rtp.sequence_number(),
                    timestamp: rtp.timestamp(),
                    marker: rtp.marker_bit(),
                    payload: Bytes::copy_from_slice(rtp.payload()),
                });
            }
            Err(_) => {
                if exited.is_none() && child.try_wait().unwrap().is_some() {
                    exited = Some(Instant::now());
                }
                if exited.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
                    break;
                }
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "sender did not finish"
        );
    }
    let status = child.wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "sender failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(!packets.is_empty(), "no RTP packet received");
    packets
}

/// FFmpeg sending `file` (copied, not re-encoded) as `format` to `port`
/// in datagrams of at most `pkt_size` bytes, its SDP written to `sdp`.
fn ffmpeg_sender(
    file: &Path,
    sdp: Option<&Path>,
    format: &str,
    pkt_size: usize,
    port: u16,
) -> Child {
    let mut command = Command::new("ffmpeg");
    command
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(file)
        .args(["-map", "0", "-c", "copy", "-f", format]);
    if let Some(sdp) = sdp {
        command.arg("-sdp_file").arg(sdp);
    }
    command
        .arg(format!("rtp://127.0.0.1:{port}?pkt_size={pkt_size}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The payload description of the first `m=` section of an SDP.
fn sdp_description(sdp: &str) -> PayloadDescription {
    let attribute = |name: &str| {
        sdp.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_once(' ').unwrap().1.trim().to_owned())
    };
    let media = if sdp.contains("m=video") {
        TrackKind::Video
    } else {
        TrackKind::Audio
    };
    PayloadDescription::parse(
        media,
        &attribute("a=rtpmap:").expect("a=rtpmap"),
        attribute("a=fmtp:").as_deref(),
    )
    .unwrap()
}

/// What our depacketizer for `description` makes of `packets`, none
/// refused.
fn depacketize(description: &PayloadDescription, packets: &[ReceivedPacket]) -> Vec<ReceivedUnit> {
    let mut d = rtp::depacketizer(description).unwrap();
    let mut out = Vec::new();
    for p in packets {
        d.push(p, &mut out).unwrap();
    }
    d.finish(&mut out);
    out
}

/// Checks the units our depacketizer made of FFmpeg's stream of `file`:
/// the data packets of the file, in order, each `ticks` RTP ticks per
/// ffprobe time base unit after the first. FFmpeg's Xiph packetizer never
/// sends the packets it still holds for packing when the file ends
/// (`rtpenc_xiph.c` has no flush): for it, `held` is the most that can be
/// missing at the end, 14.
fn check_units(
    units: &[ReceivedUnit],
    packets: &[Bytes],
    probed: &[(i64, i64, usize)],
    ticks: i64,
    held: usize,
) {
    assert_eq!(probed.len(), packets.len(), "ffprobe's packets");
    assert!(
        units.len() <= packets.len() && units.len() + held >= packets.len(),
        "{} units received of {} packets",
        units.len(),
        packets.len()
    );
    for (i, (unit, packet)) in units.iter().zip(packets).enumerate() {
        assert_eq!(&unit.data, packet, "unit {i}");
        let after = i64::from(unit.timestamp.wrapping_sub(units[0].timestamp));
        assert_eq!(
            after,
            (probed[i].0 - probed[0].0) * ticks,
            "timestamp of unit {i}"
        );
    }
}

/// The file's packets as access units of a track in `clock_rate`, timed by
/// ffprobe (shifted to start at 0).
fn units_of(packets: &[Bytes], probed: &[(i64, i64, usize)]) -> Vec<AccessUnit> {
    packets
        .iter()
        .zip(probed)
        .map(|(data, &(pts, duration, _))| AccessUnit {
            track: 0,
            pts: pts - probed[0].0,
            dts: pts - probed[0].0,
            duration: duration as u32,
            keyframe: true,
            data: data.clone(),
        })
        .collect()
}

/// Our packetizer's payloads of `units` for `track`, at `max_payload`.
fn packetize(
    track: &Track,
    units: &[AccessUnit],
    max_payload: usize,
) -> (PayloadDescription, Vec<RtpPayload>) {
    let mut p = rtp::packetizer(track).unwrap();
    let mut payloads = Vec::new();
    for unit in units {
        p.packetize(unit, max_payload, &mut payloads).unwrap();
    }
    p.flush(&mut payloads);
    assert!(payloads.iter().all(|p| p.len() <= max_payload));
    (p.description(), payloads)
}

/// RTP packets of `payloads` (RFC 3550 §5.1 header, sequence from 0).
fn rtp_packets(description: &PayloadDescription, payloads: &[RtpPayload]) -> Vec<Vec<u8>> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut packet = vec![
                0x80,
                (u8::from(p.marker) << 7) | description.payload_type(0),
            ];
            packet.extend_from_slice(&(i as u16).to_be_bytes());
            packet.extend_from_slice(&p.timestamp.wrapping_add(0x1234_5678).to_be_bytes());
            packet.extend_from_slice(&0xdead_beefu32.to_be_bytes());
            packet.extend_from_slice(&p.header);
            packet.extend_from_slice(&p.data);
            packet
        })
        .collect()
}

/// The RTP caps GStreamer needs for `description` (as it builds them from
/// SDP: encoding name upper case, fmtp parameters as strings).
fn caps(description: &PayloadDescription) -> String {
    let d = description;
    let mut caps = format!(
        "application/x-rtp,media=(string){},clock-rate=(int){},encoding-name=(string){},payload=(int){}",
        d.media.name(),
        d.clock_rate,
        d.encoding.to_uppercase(),
        d.payload_type(0)
    );
    if let Some(channels) = d.channels {
        caps += &format!(",encoding-params=(string)\"{channels}\"");
    }
    for pair in d.fmtp.iter().flat_map(|f| f.split(';')) {
        let (key, value) = pair.split_once('=').unwrap();
        caps += &format!(",{}=(string)\"{}\"", key.trim(), value.trim());
    }
    caps
}

/// Whether a UDP socket is bound to loopback port `port` (Linux
/// `/proc/net/udp`: local address in hex).
fn udp_port_bound(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap();
    let wanted = [
        format!("0100007F:{port:04X}"),
        format!("00000000:{port:04X}"),
    ];
    table.lines().skip(1).any(|l| {
        l.split_whitespace()
            .nth(1)
            .is_some_and(|a| wanted.iter().any(|w| w == a))
    })
}

/// Sends `packets` over UDP to GStreamer's `udpsrc ! <caps> ! chain !
/// filesink` and returns what the filesink wrote, after GStreamer ends on
/// the interrupt `-e` turns into end of stream.
fn gstreamer_receives(caps: &str, chain: &str, packets: &[Vec<u8>], out: &Path) -> Vec<u8> {
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pipeline = format!(
        "udpsrc address=127.0.0.1 port={port} buffer-size=8388608 ! {caps} ! {chain} ! filesink location={}",
        out.display()
    );
    // gst-launch joins its arguments into the pipeline; no value here
    // holds a space.
    let mut child = common::gst_launch()
        .arg("-e")
        .args(pipeline.split_whitespace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !udp_port_bound(port) {
        assert!(
            child.try_wait().unwrap().is_none(),
            "gst-launch ended early: {pipeline}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "udpsrc never bound: {pipeline}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (i, packet) in packets.iter().enumerate() {
        socket.send_to(packet, ("127.0.0.1", port)).unwrap();
        if i % 50 == 49 {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    std::thread::sleep(Duration::from_millis(1000));
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: signals the child this test started and still owns.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "gst-launch did not stop: {pipeline}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "gst-launch failed: {stderr}\n{pipeline}"
    );
    std::fs::read(out).unwrap_or_default()
}

fn tools() -> bool {
    ["ffmpeg", "ffprobe", "gst-launch-1.0"]
        .into_iter()
        .all(common::require_tool)
}

/// Raw S16LE interleaved audio at the decoder's rate.
const S16: &str = "audioconvert ! audio/x-raw,format=S16LE,layout=interleaved";

#[test]
fn opus() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for channels in [2u16, 1] {
        let file = make(
            dir.path(),
            &format!("{channels}.opus"),
            &["sine=frequency=440:duration=1.5:sample_rate=48000"],
            &[
                "-ac",
                &channels.to_string(),
                "-c:a",
                "libopus",
                "-b:a",
                "48k",
            ],
        );
        let all = ogg_packets(&file);
        let (head, packets) = (all[0].clone(), &all[2..]);
        let probed = ffprobe_packets(&file);
        // ffprobe trims the last packet to the stream's end (RFC 7845 §4.4).
        let durations: Vec<i64> = packets
            .iter()
            .map(|p| i64::from(packet_samples(p).unwrap()))
            .collect();
        let last = probed.len() - 1;
        assert_eq!(
            durations[..last],
            probed[..last].iter().map(|p| p.1).collect::<Vec<_>>()[..]
        );
        assert!(durations[last] >= probed[last].1);

        // FFmpeg sends, we receive.
        let sdp = dir.path().join("opus.sdp");
        let received = receive(|port| ffmpeg_sender(&file, Some(&sdp), "rtp", 1472, port));
        let description = sdp_description(&std::fs::read_to_string(&sdp).unwrap());
        check_units(
            &depacketize(&description, &received),
            packets,
            &probed,
            1,
            0,
        );

        // We send, GStreamer decodes.
        let mut track = Track::new(0, Codec::Opus, 48000);
        track.config.extradata = head;
        let (description, payloads) =
            packetize(&track, &units_of(packets, &probed), MAX_PAYLOADS[0]);
        assert_eq!(
            description.fmtp_param("sprop-stereo"),
            Some(if channels == 2 { "1" } else { "0" })
        );
        let raw = gstreamer_receives(
            &caps(&description),
            &format!("rtpopusdepay ! opusdec ! {S16},channels={channels}"),
            &rtp_packets(&description, &payloads),
            &dir.path().join("opus.raw"),
        );
        let samples: i64 = durations.iter().sum();
        assert_eq!(
            raw.len() as i64,
            samples * i64::from(channels) * 2,
            "{channels} channels"
        );
    }
}

/// Vorbis or Theora: the three headers and the data packets of an Ogg file.
fn xiph_stream(file: &Path) -> (XiphHeaders, Vec<Bytes>) {
    let mut packets = ogg_packets(file);
    let rest = packets.split_off(3);
    let [identification, comment, setup] = <[Bytes; 3]>::try_from(packets).unwrap();
    (
        XiphHeaders {
            identification,
            comment,
            setup,
        },
        rest,
    )
}

#[test]
fn vorbis() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = make(
        dir.path(),
        "a.ogg",
        &["sine=frequency=440:duration=2:sample_rate=44100"],
        &["-ac", "2", "-c:a", "libvorbis"],
    );
    let (headers, packets) = xiph_stream(&file);
    let probed = ffprobe_packets(&file);

    // FFmpeg sends (packets packed 15, or 2 or 3, to a payload), we
    // receive. (FFmpeg fragments none of these small packets: Theora's
    // check covers its fragments.)
    for pkt_size in [1472, 200] {
        let sdp = dir.path().join("vorbis.sdp");
        let received = receive(|port| ffmpeg_sender(&file, Some(&sdp), "rtp", pkt_size, port));
        let description = sdp_description(&std::fs::read_to_string(&sdp).unwrap());
        assert!(
            received.iter().all(|p| p.payload[3] & 15 > 1),
            "FFmpeg packs packets"
        );
        check_units(
            &depacketize(&description, &received),
            &packets,
            &probed,
            1,
            14,
        );
    }

    // We send, GStreamer depayloads: its depayloader gives the three
    // headers (from our configuration), then every packet as it was.
    // GStreamer's Vorbis decoder is not sample exact over RTP (it drops
    // output where the packets' timestamps restart its clock, with its own
    // payloader too), so its check is that it takes the headers and every
    // packet without an error and never gives more than the file holds.
    let mut track = Track::new(0, Codec::Vorbis, 44100);
    track.config.extradata = headers.to_codec_private();
    let expected: Vec<u8> = [&headers.identification, &headers.comment, &headers.setup]
        .into_iter()
        .chain(&packets)
        .flat_map(|p| p.to_vec())
        .collect();
    let samples: i64 = probed.iter().skip(1).map(|p| p.1).sum();
    for max in MAX_PAYLOADS {
        let (description, payloads) = packetize(&track, &units_of(&packets, &probed), max);
        assert!(
            payloads.len() * 2 < packets.len() || max < 1000,
            "packets are packed"
        );
        let rtp = rtp_packets(&description, &payloads);
        let out = dir.path().join("vorbis.out");
        let depayloaded = gstreamer_receives(&caps(&description), "rtpvorbisdepay", &rtp, &out);
        assert!(
            depayloaded == expected,
            "GStreamer's depayloaded Vorbis differs, payload limit {max}"
        );
        let raw = gstreamer_receives(
            &caps(&description),
            &format!("rtpvorbisdepay ! vorbisdec ! {S16}"),
            &rtp,
            &out,
        );
        let decoded = raw.len() as i64 / 4;
        assert!(
            decoded > samples / 2 && decoded <= samples,
            "{decoded} samples decoded of {samples}"
        );
    }
}

#[test]
fn theora() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = make(
        dir.path(),
        "v.ogv",
        &["testsrc=duration=2:size=176x144:rate=25"],
        &[
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libtheora",
            "-q:v",
            "7",
            "-g",
            "12",
        ],
    );
    let (headers, packets) = xiph_stream(&file);
    let probed = ffprobe_packets(&file);

    // FFmpeg sends (key frames in fragments, small frames packed), we
    // receive; ffprobe's time base is the frame rate: 3600 ticks a frame.
    let sdp = dir.path().join("theora.sdp");
    let received = receive(|port| ffmpeg_sender(&file, Some(&sdp), "rtp", 1472, port));
    assert!(
        received.iter().any(|p| p.payload[3] >> 6 == 1),
        "FFmpeg fragments"
    );
    let description = sdp_description(&std::fs::read_to_string(&sdp).unwrap());
    check_units(
        &depacketize(&description, &received),
        &packets,
        &probed,
        3600,
        14,
    );

    // We send, GStreamer depayloads every packet as it was and decodes
    // every frame.
    let mut track = Track::new(0, Codec::Theora, 25);
    track.config.extradata = headers.to_codec_private();
    let expected: Vec<u8> = [&headers.identification, &headers.comment, &headers.setup]
        .into_iter()
        .chain(&packets)
        .flat_map(|p| p.to_vec())
        .collect();
    for max in MAX_PAYLOADS {
        let (description, payloads) = packetize(&track, &units_of(&packets, &probed), max);
        let rtp = rtp_packets(&description, &payloads);
        let out = dir.path().join("theora.out");
        let depayloaded = gstreamer_receives(&caps(&description), "rtptheoradepay", &rtp, &out);
        assert!(
            depayloaded == expected,
            "GStreamer's depayloaded Theora differs, payload limit {max}"
        );
        let raw = gstreamer_receives(
            &caps(&description),
            "rtptheoradepay ! theoradec ! videoconvert ! video/x-raw,format=I420",
            &rtp,
            &out,
        );
        assert_eq!(
            raw.len(),
            packets.len() * 176 * 144 * 3 / 2,
            "payload limit {max}"
        );
    }
}

/// The sync frames of an AC-3 file, split at the lengths their headers give.
fn ac3_frames(path: &Path) -> Vec<Bytes> {
    let data = Bytes::from(std::fs::read(path).unwrap());
    let mut frames = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let frame = mediatool::codec::ac3::SyncFrame::parse(&data[pos..]).unwrap();
        frames.push(data.slice(pos..pos + frame.frame_len));
        pos += frame.frame_len;
    }
    frames
}

#[test]
fn ac3() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 64 kb/s: 256-byte frames, packed; 384 kb/s: 1536-byte frames, fragmented.
    for rate in ["64k", "384k"] {
        let file = make(
            dir.path(),
            &format!("{rate}.ac3"),
            &["sine=frequency=440:duration=2:sample_rate=48000"],
            &["-ac", "2", "-c:a", "ac3", "-b:a", rate],
        );
        let frames = ac3_frames(&file);
        assert_eq!(frames.len(), ffprobe_packets(&file).len(), "frames split");
        let received_description =
            PayloadDescription::parse(TrackKind::Audio, "AC3/48000", None).unwrap();

        // GStreamer sends (FFmpeg has no AC-3 packetizer), we receive.
        for mtu in [1400, 300] {
            let received = receive(|port| {
                common::gst_launch()
                    .arg("filesrc")
                    .arg(format!("location={}", file.display()))
                    .args(["!", "ac3parse", "!", "rtpac3pay"])
                    .arg(format!("mtu={mtu}"))
                    .args(["!", "udpsink", "host=127.0.0.1"])
                    .arg(format!("port={port}"))
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            });
            let units = depacketize(&received_description, &received);
            assert_eq!(units.len(), frames.len(), "{rate}, MTU {mtu}");
            for (i, (unit, frame)) in units.iter().zip(&frames).enumerate() {
                assert_eq!(&unit.data, frame, "{rate}, MTU {mtu}: frame {i}");
                let after = unit.timestamp.wrapping_sub(units[0].timestamp);
                assert_eq!(
                    after,
                    1536 * i as u32,
                    "{rate}, MTU {mtu}: timestamp of frame {i}"
                );
            }
        }

        // We send, GStreamer depayloads every frame and decodes it.
        let mut track = Track::new(0, Codec::Ac3, 48000);
        track.params = TrackParams::Audio(AudioParams::new(48000, 2));
        let units: Vec<AccessUnit> = frames
            .iter()
            .enumerate()
            .map(|(i, f)| AccessUnit {
                track: 0,
                pts: 1536 * i as i64,
                dts: 1536 * i as i64,
                duration: 1536,
                keyframe: true,
                data: f.clone(),
            })
            .collect();
        for max in MAX_PAYLOADS {
            let (description, payloads) = packetize(&track, &units, max);
            let rtp = rtp_packets(&description, &payloads);
            let out = dir.path().join("ac3.out");
            let depayloaded = gstreamer_receives(&caps(&description), "rtpac3depay", &rtp, &out);
            assert!(
                depayloaded == std::fs::read(&file).unwrap(),
                "{rate}: GStreamer's depayloaded AC-3 differs, payload limit {max}"
            );
            let raw = gstreamer_receives(
                &caps(&description),
                &format!("rtpac3depay ! ac3parse ! avdec_ac3 ! {S16}"),
                &rtp,
                &out,
            );
            assert_eq!(
                raw.len(),
                frames.len() * 1536 * 2 * 2,
                "{rate}, payload limit {max}"
            );
        }
    }
}

/// Video frames ffprobe decodes in a transport stream.
fn ts_video_frames(path: &Path) -> u64 {
    let streams = common::ffprobe_streams(path);
    let video = streams
        .iter()
        .find(|s| s["codec_type"] == "video")
        .expect("a video stream");
    video["nb_read_frames"].as_str().unwrap().parse().unwrap()
}

#[test]
fn mp2t() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = make(
        dir.path(),
        "t.ts",
        &["testsrc=duration=2:size=176x144:rate=25", "sine=duration=2"],
        &["-c:v", "mpeg2video", "-c:a", "mp2"],
    );
    let frames = ts_video_frames(&file);
    assert_eq!(frames, 50);
    let description = PayloadDescription::parse(TrackKind::Video, "MP2T/90000", None).unwrap();

    // FFmpeg sends (re-multiplexing the stream), we receive: what we
    // reassemble is a transport stream holding every frame.
    let received = receive(|port| ffmpeg_sender(&file, None, "rtp_mpegts", 1472, port));
    assert!(received
        .iter()
        .all(|p| p.payload.len() == 7 * 188 || p == received.last().unwrap()));
    let units = depacketize(&description, &received);
    let reassembled = dir.path().join("received.ts");
    std::fs::write(
        &reassembled,
        units
            .iter()
            .flat_map(|u| u.data.to_vec())
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    assert_eq!(ts_video_frames(&reassembled), frames);

    // We send runs of 20 TS packets, GStreamer depayloads the file byte
    // for byte and decodes every video frame.
    let data = Bytes::from(std::fs::read(&file).unwrap());
    let units: Vec<AccessUnit> = (0..data.len())
        .step_by(20 * 188)
        .enumerate()
        .map(|(i, start)| AccessUnit {
            track: 0,
            pts: 900 * i as i64,
            dts: 900 * i as i64,
            duration: 900,
            keyframe: true,
            data: data.slice(start..(start + 20 * 188).min(data.len())),
        })
        .collect();
    let track = Track::new(0, Codec::Mp2t, 90000);
    let (description, payloads) = packetize(&track, &units, MAX_PAYLOADS[0]);
    assert_eq!(description.payload_type(0), 33);
    // 20 packets a unit: payloads of 7, 7 and 6 (the last unit's own).
    assert!(payloads
        .iter()
        .all(|p| p.len() % 188 == 0 && p.len() <= 7 * 188));
    let per_unit: usize = units.iter().map(|u| (u.data.len() / 188).div_ceil(7)).sum();
    assert_eq!(payloads.len(), per_unit);
    let rtp = rtp_packets(&description, &payloads);
    let out = dir.path().join("mp2t.out");
    let depayloaded = gstreamer_receives(&caps(&description), "rtpmp2tdepay", &rtp, &out);
    assert!(
        depayloaded == data,
        "GStreamer's depayloaded transport stream differs"
    );
    let raw = gstreamer_receives(
        &caps(&description),
        "rtpmp2tdepay ! tsdemux name=demux demux. ! queue ! mpegvideoparse ! avdec_mpeg2video ! videoconvert ! video/x-raw,format=I420",
        &rtp,
        &out,
    );
    assert_eq!(raw.len() as u64, frames * 176 * 144 * 3 / 2);
}
