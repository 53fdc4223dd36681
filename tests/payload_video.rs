//! The video payload formats (VP8 RFC 7741, VP9 RFC 9628, AV1 AOMedia
//! v1.0, MPEG-1/2 video RFC 2250 MPV) against independent peers, on media
//! ffmpeg encodes at test time (160x120, 2 s at 25 fps; IVF for VP8, VP9
//! and AV1, elementary streams for MPEG-1/2):
//!
//! - ffmpeg packetizes (`-c copy -f rtp`), our depacketizer reassembles:
//!   every frame equals the source's (IVF frame payloads; for MPEG the
//!   pictures of the elementary stream, cut as ffprobe counts them), at
//!   ffmpeg's default packet size and at a small one.
//! - our packetizer sends over UDP to GStreamer (`udpsrc ! rtpXdepay !
//!   decoder ! filesink`), which decodes exactly ffprobe's frame count.
//! - our own round trip is exact on the encoders' real output.
//! - the codec headers agree with ffprobe.
//!
//! AV1 has no peer here: Debian's GStreamer 1.22 has no `rtpav1depay`
//! (it is in gst-plugins-rs, not packaged) and FFmpeg 5.1 has no AV1 RTP
//! packetizer or depacketizer; AV1 gets the exact round trip and the
//! header check only.

mod common;

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Bounded;
use mediatool::codec::{av1, mpeg_video, vp8, vp9};
use mediatool::media::{AccessUnit, Track};
use mediatool::rtp::{
    self, PayloadDescription, ReceivedPacket, ReceivedUnit, RtpSender, SenderOptions,
};
use mediatool::vocab::{Codec, TrackKind};
use rtp_types::RtpPacket;

/// One encoded source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Vp8,
    Vp9,
    Av1,
    Mpeg1,
    Mpeg2,
}

const SOURCES: [Source; 5] = [
    Source::Vp8,
    Source::Vp9,
    Source::Av1,
    Source::Mpeg1,
    Source::Mpeg2,
];

impl Source {
    fn file(self) -> &'static str {
        match self {
            Source::Vp8 => "vp8.ivf",
            Source::Vp9 => "vp9.ivf",
            Source::Av1 => "av1.ivf",
            Source::Mpeg1 => "video.m1v",
            Source::Mpeg2 => "video.m2v",
        }
    }

    /// The encoder options: hidden alt-ref frames for VP8 and VP9 (VP9
    /// packs them into superframes), B-pictures for MPEG.
    fn encoder(self) -> &'static [&'static str] {
        match self {
            Source::Vp8 => &[
                "-c:v",
                "libvpx",
                "-b:v",
                "200k",
                "-auto-alt-ref",
                "1",
                "-lag-in-frames",
                "16",
            ],
            Source::Vp9 => &[
                "-c:v",
                "libvpx-vp9",
                "-b:v",
                "200k",
                "-cpu-used",
                "8",
                "-auto-alt-ref",
                "1",
                "-lag-in-frames",
                "16",
            ],
            Source::Av1 => &["-c:v", "libaom-av1", "-cpu-used", "8", "-b:v", "100k"],
            Source::Mpeg1 => &[
                "-c:v",
                "mpeg1video",
                "-bf",
                "2",
                "-g",
                "12",
                "-b:v",
                "300k",
                "-f",
                "mpeg1video",
            ],
            Source::Mpeg2 => &[
                "-c:v",
                "mpeg2video",
                "-bf",
                "2",
                "-g",
                "12",
                "-b:v",
                "300k",
                "-f",
                "mpeg2video",
            ],
        }
    }

    fn codec(self) -> Codec {
        match self {
            Source::Vp8 => Codec::Vp8,
            Source::Vp9 => Codec::Vp9,
            Source::Av1 => Codec::Av1,
            Source::Mpeg1 => Codec::Mpeg1Video,
            Source::Mpeg2 => Codec::Mpeg2Video,
        }
    }

    fn encoding(self) -> &'static str {
        match self {
            Source::Vp8 => "VP8",
            Source::Vp9 => "VP9",
            Source::Av1 => "AV1",
            Source::Mpeg1 | Source::Mpeg2 => "MPV",
        }
    }

    /// GStreamer's depayloader and decoder.
    fn gstreamer_chain(self) -> &'static str {
        match self {
            Source::Vp8 => "rtpvp8depay ! vp8dec",
            Source::Vp9 => "rtpvp9depay ! vp9dec",
            Source::Av1 => unreachable!("no rtpav1depay in Debian's GStreamer"),
            Source::Mpeg1 | Source::Mpeg2 => "rtpmpvdepay ! mpegvideoparse ! avdec_mpeg2video",
        }
    }
}

/// The encoded sources, made once per test run (in a directory that lives
/// as long as the process), or `None` when ffmpeg is missing.
fn sources() -> Option<&'static Path> {
    static DIR: OnceLock<Option<tempfile::TempDir>> = OnceLock::new();
    DIR.get_or_init(|| {
        if !common::require_tool("ffmpeg") || !common::require_tool("ffprobe") {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for source in SOURCES {
                let path = dir.path().join(source.file());
                let log = dir.path().join(format!("{source:?}-pass"));
                scope.spawn(move || {
                    let encode = |pass: &[&str], output: &[&std::ffi::OsStr]| {
                        Command::new("ffmpeg")
                            .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
                            .arg("testsrc=size=160x120:rate=25")
                            .args(["-t", "2", "-pix_fmt", "yuv420p"])
                            .args(source.encoder())
                            .args(pass)
                            .arg("-passlogfile")
                            .arg(&log)
                            .args(output)
                            .status_bounded()
                    };
                    let status = if source == Source::Vp9 {
                        // libvpx makes hidden alt-ref frames (superframes) in
                        // two passes only.
                        let null = ["-f", "null", "-"].map(std::ffi::OsStr::new);
                        assert!(encode(&["-pass", "1"], &null).success());
                        encode(&["-pass", "2"], &[path.as_os_str()])
                    } else {
                        encode(&[], &[path.as_os_str()])
                    };
                    assert!(status.success(), "ffmpeg could not encode {source:?}");
                });
            }
        });
        Some(dir)
    })
    .as_ref()
    .map(|d| d.path())
}

/// The frames of an IVF file (32-byte file header; a 12-byte header
/// before each frame: size and timestamp, little-endian), timestamps in
/// 90 kHz.
fn ivf_frames(path: &Path) -> Vec<(i64, Bytes)> {
    let data = std::fs::read(path).unwrap();
    assert_eq!(&data[..4], b"DKIF");
    let header_len = usize::from(u16::from_le_bytes([data[6], data[7]]));
    let rate = i64::from(u32::from_le_bytes(data[16..20].try_into().unwrap()));
    let scale = i64::from(u32::from_le_bytes(data[20..24].try_into().unwrap()));
    let mut frames = Vec::new();
    let mut pos = header_len;
    while pos < data.len() {
        let size = u32::from_le_bytes(data[pos..pos + 4].try_into().unwrap()) as usize;
        let pts = i64::from_le_bytes(data[pos + 4..pos + 12].try_into().unwrap());
        frames.push((
            pts * scale * 90000 / rate,
            Bytes::copy_from_slice(&data[pos + 12..pos + 12 + size]),
        ));
        pos += 12 + size;
    }
    frames
}

/// The frames of a source as access units: IVF frames, or the pictures of
/// an MPEG elementary stream (decode order, 25 fps).
fn source_units(source: Source) -> Vec<AccessUnit> {
    let path = sources().unwrap().join(source.file());
    let frames: Vec<(i64, Bytes)> = match source {
        Source::Mpeg1 | Source::Mpeg2 => {
            let data = Bytes::from(std::fs::read(&path).unwrap());
            mpeg_video::access_units(&data)
                .enumerate()
                .map(|(i, range)| (i as i64 * 3600, data.slice(range)))
                .collect()
        }
        _ => ivf_frames(&path),
    };
    frames
        .into_iter()
        .map(|(pts, data)| AccessUnit {
            track: 0,
            pts,
            dts: pts,
            duration: 3600,
            keyframe: is_key(source, &data),
            data,
        })
        .collect()
}

fn is_key(source: Source, data: &[u8]) -> bool {
    match source {
        Source::Vp8 => vp8::FrameHeader::parse(data).unwrap().key_frame,
        Source::Vp9 => {
            let first = vp9::superframe_frames(data).unwrap()[0];
            matches!(
                vp9::FrameHeader::parse(first).unwrap().kind,
                vp9::FrameKind::Coded(f) if f.key_frame
            )
        }
        Source::Av1 => av1::find_sequence_header(data).is_some(),
        Source::Mpeg1 | Source::Mpeg2 => {
            mpeg_video::start_codes(data).any(|c| c.code == mpeg_video::start_code::GROUP)
        }
    }
}

fn track(source: Source) -> Track {
    Track::new(0, source.codec(), 90000)
}

/// RTP packets of `units`, packetized by our packetizer.
fn packetize(source: Source, units: &[AccessUnit], max_payload: usize) -> Vec<Vec<u8>> {
    let mut packetizer = rtp::packetizer(&track(source)).unwrap();
    let description = packetizer.description();
    let mut sender = RtpSender::new(description.payload_type(0), 90000, SenderOptions::default());
    let mut payloads = Vec::new();
    for unit in units {
        packetizer
            .packetize(unit, max_payload, &mut payloads)
            .unwrap();
    }
    payloads
        .iter()
        .map(|p| {
            let mut packet = Vec::new();
            sender.write(p, 0, &mut packet);
            packet
        })
        .collect()
}

/// What our depacketizer for `encoding` makes of RTP packets; every packet
/// must be accepted.
fn depacketize(encoding: &str, packets: &[Vec<u8>]) -> Vec<ReceivedUnit> {
    let description =
        PayloadDescription::parse(TrackKind::Video, &format!("{encoding}/90000"), None).unwrap();
    let mut depacketizer = rtp::depacketizer(&description).unwrap();
    let mut out = Vec::new();
    for bytes in packets {
        let p = RtpPacket::parse(bytes).unwrap();
        let packet = ReceivedPacket {
            sequence: p.sequence_number(),
            timestamp: p.timestamp(),
            marker: p.marker_bit(),
            payload: Bytes::copy_from_slice(p.payload()),
        };
        depacketizer
            .push(&packet, &mut out)
            .unwrap_or_else(|e| panic!("{encoding}: {e}"));
    }
    depacketizer.finish(&mut out);
    out
}

/// `ffprobe -count_frames`: the frames a decoder outputs.
fn decoded_frames(path: &Path) -> u64 {
    let streams = common::ffprobe_streams(path);
    streams[0]["nb_read_frames"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no frame count for {}", path.display()))
}

/// Bytes of one decoded 160x120 I420 picture.
const PICTURE_BYTES: u64 = 160 * 120 * 3 / 2;

#[test]
fn our_round_trip_is_exact_on_encoder_output() {
    let Some(_) = sources() else { return };
    for source in SOURCES {
        let units = source_units(source);
        assert!(units.len() >= 40, "{source:?}: {} frames", units.len());
        for max in [1400, 200, 37] {
            let out = depacketize(source.encoding(), &packetize(source, &units, max));
            assert_eq!(out.len(), units.len(), "{source:?} at {max}");
            let first = out[0].timestamp;
            for (u, r) in units.iter().zip(&out) {
                assert_eq!(r.data, u.data, "{source:?} at {max}");
                assert_eq!(i64::from(r.timestamp.wrapping_sub(first)), u.pts);
            }
        }
    }
}

/// The source's frames as ffmpeg's RTP muxer sends them, through our
/// depacketizer.
fn ffmpeg_sends(source: Source, packet_size: Option<usize>) -> Vec<ReceivedUnit> {
    let path = sources().unwrap().join(source.file());
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let rtcp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = rtp.local_addr().unwrap().port();
    let mut url = format!(
        "rtp://127.0.0.1:{port}?rtcpport={}",
        rtcp.local_addr().unwrap().port()
    );
    if let Some(size) = packet_size {
        url += &format!("&pkt_size={size}");
    }
    // The sources are tens of kilobytes: every datagram waits in the
    // socket buffer until ffmpeg is done.
    socket2::SockRef::from(&rtp)
        .set_recv_buffer_size(4 << 20)
        .unwrap();
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&path)
        .args(["-c", "copy", "-strict", "experimental", "-f", "rtp"])
        .arg(&url)
        .stdout(Stdio::null())
        .status_bounded();
    assert!(status.success(), "ffmpeg could not send {source:?}");
    rtp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut packets = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(n) = rtp.recv(&mut buf) {
        packets.push(buf[..n].to_vec());
    }
    let sequences: Vec<u16> = packets
        .iter()
        .map(|p| RtpPacket::parse(p).unwrap().sequence_number())
        .collect();
    assert!(
        sequences.windows(2).all(|w| w[1] == w[0].wrapping_add(1)),
        "{source:?}: packets lost or reordered on loopback"
    );
    if let Some(size) = packet_size {
        assert!(packets.iter().all(|p| p.len() <= size), "{source:?}");
    }
    depacketize(source.encoding(), &packets)
}

#[test]
fn ffmpeg_packets_depacketize_to_the_source_frames() {
    let Some(_) = sources() else { return };
    // FFmpeg 5.1 has no AV1 RTP packetizer.
    let sources = [Source::Vp8, Source::Vp9, Source::Mpeg1, Source::Mpeg2];
    std::thread::scope(|scope| {
        for source in sources {
            for packet_size in [None, Some(300)] {
                scope.spawn(move || {
                    let units = source_units(source);
                    let out = ffmpeg_sends(source, packet_size);
                    assert_eq!(out.len(), units.len(), "{source:?} {packet_size:?}");
                    for (i, (u, r)) in units.iter().zip(&out).enumerate() {
                        assert!(
                            r.data == u.data,
                            "{source:?} {packet_size:?}: frame {i} differs"
                        );
                    }
                    if matches!(source, Source::Vp8 | Source::Vp9) {
                        // IVF timestamps, rescaled as ffmpeg does.
                        let first = out[0].timestamp;
                        for (u, r) in units.iter().zip(&out) {
                            assert_eq!(i64::from(r.timestamp.wrapping_sub(first)), u.pts);
                        }
                    }
                });
            }
        }
    });
}

/// Whether something listens on UDP port `port` of 127.0.0.1 (Linux
/// `/proc/net/udp`: local address in hex, `0100007F:PORT`).
fn udp_bound(port: u16) -> bool {
    let table = std::fs::read_to_string("/proc/net/udp").unwrap_or_default();
    let needle = format!("0100007F:{port:04X} ");
    table.lines().any(|line| line.contains(&needle))
}

/// Sends our packets of `source` to `gst-launch-1.0 udpsrc ! depayloader !
/// decoder`, which writes raw pictures; returns how many it decoded.
fn gstreamer_decodes(source: Source, max_payload: usize, out: &Path) -> u64 {
    let units = source_units(source);
    let packets = packetize(source, &units, max_payload);
    let description = rtp::packetizer(&track(source)).unwrap().description();
    let port = {
        let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let caps = format!(
        "application/x-rtp,media=video,encoding-name={},clock-rate=90000,payload={}",
        description.encoding,
        description.payload_type(0)
    );
    // `identity eos-after=N` passes N - 1 buffers and turns the N-th into
    // EOS: our packets, then one more datagram, then the decoder drains.
    let pipeline = format!(
        "udpsrc address=127.0.0.1 port={port} reuse=false buffer-size=4000000 caps={caps} \
         ! identity eos-after={} ! {} ! videoconvert ! video/x-raw,format=I420 \
         ! filesink location={}",
        packets.len() + 1,
        source.gstreamer_chain(),
        out.display()
    );
    let mut child = common::gst_launch()
        .args(pipeline.split_whitespace())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !udp_bound(port) {
        assert!(
            Instant::now() < deadline && child.try_wait().unwrap().is_none(),
            "{source:?}: gst-launch-1.0 never listened on {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    for (i, packet) in packets.iter().enumerate() {
        socket.send_to(packet, ("127.0.0.1", port)).unwrap();
        if i % 16 == 15 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    socket.send_to(b"end", ("127.0.0.1", port)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("{source:?} at {max_payload}: gst-launch-1.0 did not finish (a packet lost?)");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        status.success(),
        "{source:?}: gst-launch-1.0 failed: {stderr}"
    );
    let bytes = std::fs::metadata(out).unwrap().len();
    assert_eq!(bytes % PICTURE_BYTES, 0, "{source:?}: a partial picture");
    bytes / PICTURE_BYTES
}

#[test]
fn gstreamer_decodes_every_frame_of_our_packets() {
    let Some(dir) = sources() else { return };
    if !common::require_tool("gst-launch-1.0") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let sources = [Source::Vp8, Source::Vp9, Source::Mpeg1, Source::Mpeg2];
    std::thread::scope(|scope| {
        for source in sources {
            for max_payload in [1400, 200] {
                let out = work.path().join(format!("{source:?}-{max_payload}.yuv"));
                scope.spawn(move || {
                    let expected = decoded_frames(&dir.join(source.file()));
                    assert!(expected >= 40, "{source:?}: {expected}");
                    let decoded = gstreamer_decodes(source, max_payload, &out);
                    assert_eq!(decoded, expected, "{source:?} at {max_payload}");
                });
            }
        }
    });
}

#[test]
fn the_mpeg_splitter_cuts_pictures_as_ffprobe_counts_them() {
    let Some(dir) = sources() else { return };
    for source in [Source::Mpeg1, Source::Mpeg2] {
        let path = dir.join(source.file());
        let out = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "packet=size",
                "-of",
                "csv=p=0",
            ])
            .arg(&path)
            .output_bounded();
        assert!(out.status.success());
        let sizes: Vec<usize> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.trim().parse().unwrap())
            .collect();
        let ours: Vec<usize> = source_units(source).iter().map(|u| u.data.len()).collect();
        assert_eq!(ours, sizes, "{source:?}");
    }
}

/// ffprobe's fields of a source's video stream.
fn ffprobe_stream(path: &Path) -> serde_json::Value {
    common::ffprobe_streams(path).remove(0)
}

#[test]
fn codec_headers_agree_with_ffprobe() {
    let Some(dir) = sources() else { return };
    let path = |s: Source| -> PathBuf { dir.join(s.file()) };
    let size =
        |v: &serde_json::Value| (v["width"].as_u64().unwrap(), v["height"].as_u64().unwrap());

    let units = source_units(Source::Vp8);
    let v = ffprobe_stream(&path(Source::Vp8));
    let key = vp8::FrameHeader::parse(&units[0].data).unwrap();
    let d = key.dimensions.unwrap();
    assert_eq!((u64::from(d.width), u64::from(d.height)), size(&v));
    assert_eq!(key.version.to_string(), v["profile"].as_str().unwrap());
    // FFmpeg's libvpx wrapper puts a hidden alt-ref frame in one packet
    // with the frame shown after it: every packet shows one frame.
    assert!(units
        .iter()
        .all(|u| vp8::FrameHeader::parse(&u.data).unwrap().show_frame));
    assert_eq!(units.len() as u64, decoded_frames(&path(Source::Vp8)));

    let units = source_units(Source::Vp9);
    let v = ffprobe_stream(&path(Source::Vp9));
    let header = vp9::FrameHeader::parse(&units[0].data).unwrap();
    let vp9::FrameKind::Coded(f) = header.kind else {
        panic!("{header:?}")
    };
    let (w, h) = f.size.unwrap();
    assert_eq!((u64::from(w), u64::from(h)), size(&v));
    assert_eq!(
        format!("Profile {}", header.profile),
        v["profile"].as_str().unwrap()
    );
    assert_eq!(f.color.unwrap().pix_fmt(), v["pix_fmt"].as_str().unwrap());
    // Shown frames: coded frames with show_frame, and show_existing_frame.
    let mut superframes = 0;
    let mut shown = 0u64;
    for u in &units {
        let frames = vp9::superframe_frames(&u.data).unwrap();
        superframes += usize::from(frames.len() > 1);
        for frame in frames {
            shown += u64::from(match vp9::FrameHeader::parse(frame).unwrap().kind {
                vp9::FrameKind::ShowExisting(_) => true,
                vp9::FrameKind::Coded(f) => f.show_frame,
            });
        }
    }
    assert!(superframes > 0, "the VP9 source has superframes");
    assert_eq!(shown, decoded_frames(&path(Source::Vp9)));

    let units = source_units(Source::Av1);
    let v = ffprobe_stream(&path(Source::Av1));
    let obu = av1::find_sequence_header(&units[0].data).unwrap();
    let s = av1::SequenceHeader::parse(obu.payload).unwrap();
    assert_eq!((u64::from(s.max_width), u64::from(s.max_height)), size(&v));
    assert_eq!(s.profile_name(), v["profile"].as_str().unwrap());
    assert_eq!(i64::from(s.level_idx), v["level"].as_i64().unwrap());
    assert_eq!(s.pix_fmt(), v["pix_fmt"].as_str().unwrap());

    for source in [Source::Mpeg1, Source::Mpeg2] {
        let units = source_units(source);
        let v = ffprobe_stream(&path(source));
        let data = &units[0].data;
        let codes: Vec<_> = mpeg_video::start_codes(data).collect();
        let seq = mpeg_video::SequenceHeader::parse(&data[codes[0].body()..]).unwrap();
        let ext = codes
            .iter()
            .find(|c| {
                mpeg_video::extension_id_at(data, c) == Some(mpeg_video::extension_id::SEQUENCE)
                    && c.code == mpeg_video::start_code::EXTENSION
            })
            .map(|c| mpeg_video::SequenceExtension::parse(&data[c.body()..]).unwrap());
        assert_eq!(ext.is_some(), source == Source::Mpeg2);
        let ext = ext.as_ref();
        let dims = (u64::from(seq.width(ext)), u64::from(seq.height(ext)));
        assert_eq!(dims, size(&v), "{source:?}");
        assert_eq!(
            seq.frame_rate(ext).unwrap().to_string(),
            v["r_frame_rate"].as_str().unwrap()
        );
        if let Some(e) = ext {
            assert_eq!(e.profile_name(), v["profile"].as_str());
            assert_eq!(i64::from(e.level()), v["level"].as_i64().unwrap());
            assert_eq!(e.pix_fmt(), v["pix_fmt"].as_str().unwrap());
        } else {
            // MPEG-1: ffprobe reports the 18-bit rate field times 400.
            assert_eq!(
                seq.bit_rate(None).to_string(),
                v["bit_rate"].as_str().unwrap()
            );
        }
        // Every picture has a parseable header; GOPs start with I pictures.
        for u in &units {
            let picture = mpeg_video::start_codes(&u.data)
                .find(|c| c.code == mpeg_video::start_code::PICTURE)
                .unwrap();
            let header = mpeg_video::PictureHeader::parse(&u.data[picture.body()..]).unwrap();
            if u.keyframe {
                assert_eq!(header.picture_type, mpeg_video::picture_type::I);
            }
        }
    }
}

fn hostile_packets() -> impl proptest::strategy::Strategy<Value = Vec<ReceivedPacket>> {
    use proptest::prelude::*;
    let packet = (
        0u16..6,
        0u32..3,
        any::<bool>(),
        prop::collection::vec(any::<u8>(), 0..48),
    );
    prop::collection::vec(packet, 1..40).prop_map(|packets| {
        packets
            .into_iter()
            .map(|(sequence, timestamp, marker, payload)| ReceivedPacket {
                sequence,
                timestamp,
                marker,
                payload: payload.into(),
            })
            .collect()
    })
}

proptest::proptest! {
    /// Any packets: no panic, and never more out than came in (AV1 adds a
    /// temporal delimiter and size fields: a few bytes per OBU element).
    #[test]
    fn video_depacketizers_survive_any_packets(packets in hostile_packets()) {
        let input: usize = packets.iter().map(|p| p.payload.len()).sum();
        for encoding in ["VP8", "VP9", "AV1", "MPV"] {
            let description = PayloadDescription::parse(
                TrackKind::Video, &format!("{encoding}/90000"), None).unwrap();
            let mut d = rtp::depacketizer(&description).unwrap();
            let mut out = Vec::new();
            for packet in &packets {
                let _ = d.push(packet, &mut out);
            }
            d.finish(&mut out);
            let output: usize = out.iter().map(|u| u.data.len()).sum();
            proptest::prop_assert!(output <= 2 * input + 2 * out.len(), "{encoding}: {output} from {input}");
        }
    }
}
