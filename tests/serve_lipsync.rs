//! Lip sync: `fixtures/mkv_lipsync_h264_aac.mkv` is black video with a
//! white frame at 0.48 s, 1.48 s and 2.48 s and a 1 kHz beep over exactly
//! those frames (H.264 + AAC; ffmpeg delays the video by the AAC priming,
//! 21 ms, so both are at 0.501 s and so on in the file). Received over
//! RTSP, each beep must start within one video frame (40 ms) of its white
//! frame on the wall clock the RTCP sender reports give:
//! - by our own receiver: RTP over TCP, each packet's timestamp mapped to
//!   the wall clock through its track's sender report, the media decoded
//!   by ffmpeg from our depacketizers' output;
//! - by ffmpeg as the RTSP client over UDP and TCP (it times both streams
//!   from the sender reports once it has them, from RTP-Info before),
//!   from the start and after a seek (`-ss`): its blackdetect and
//!   silencedetect filters give the times.
//!
//! The offsets are printed (`cargo test --test serve_lipsync -- --nocapture`).

mod common;
mod serve_common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Bounded;
use mediatool::rtp::rtcp::{self, RtcpMessage};
use mediatool::rtp::{self, PayloadDescription, ReceivedPacket, ReceivedUnit};
use mediatool::vocab::TrackKind;
use serve_common::{Item, TestServer};

const FIXTURE: &str = "mkv_lipsync_h264_aac.mkv";
/// One video frame at 25 fps: the tolerance.
const FRAME: f64 = 0.040;

/// The beep and white-frame times of the fixture, in the file's time.
const MARKS: [f64; 3] = [0.501, 1.501, 2.501];

#[test]
fn beeps_and_white_frames_meet_on_the_rtcp_wall_clock() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let server = TestServer::start(&[(FIXTURE, FIXTURE)], &[]);
    let url = server.url(FIXTURE);
    let mut c = server.connect();
    let sdp = c.request("DESCRIBE", &url, &[]).body;
    let descriptions = descriptions(&sdp);
    assert_eq!(descriptions.len(), 2);
    let setup = c.request(
        "SETUP",
        &format!("{url}/track0"),
        &[("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1")],
    );
    let id = setup.session();
    let session = ("Session", id.as_str());
    c.request(
        "SETUP",
        &format!("{url}/track1"),
        &[
            session,
            ("Transport", "RTP/AVP/TCP;unicast;interleaved=2-3"),
        ],
    );
    assert_eq!(c.request("PLAY", &url, &[session]).status, 200);
    // Everything to both BYEs (3 s of media).
    let mut rtp: [Vec<ReceivedPacket>; 2] = Default::default();
    let mut reports: [Option<(u64, u32)>; 2] = [None, None];
    let mut byes = 0;
    let deadline = Instant::now() + Duration::from_secs(15);
    while byes < 2 && Instant::now() < deadline {
        let Some(Item::Frame(channel, data)) = c.read_item() else {
            panic!("connection ended before the BYEs")
        };
        let track = usize::from(channel / 2);
        if channel % 2 == 0 {
            rtp[track].push(packet(&data));
            continue;
        }
        for message in rtcp::parse(&data).unwrap() {
            match message {
                RtcpMessage::SenderReport {
                    ntp, rtp_timestamp, ..
                } => {
                    reports[track].get_or_insert((ntp, rtp_timestamp));
                }
                RtcpMessage::Bye { .. } => byes += 1,
                _ => {}
            }
        }
    }
    let wall = |track: usize, ts: u32| {
        let (ntp, at) = reports[track].expect("a sender report");
        let clock = f64::from(descriptions[track].clock_rate);
        ntp as f64 / 4_294_967_296.0 + f64::from(ts.wrapping_sub(at) as i32) / clock
    };
    let whites = white_frames(&descriptions[0], &rtp[0]);
    let beeps = beep_onsets(&descriptions[1], &rtp[1]);
    assert_eq!((whites.len(), beeps.len()), (3, 3), "{whites:?} {beeps:?}");
    let offsets: Vec<f64> = whites
        .iter()
        .zip(&beeps)
        .map(|(&white, &beep)| wall(1, beep) - wall(0, white))
        .collect();
    eprintln!(
        "own receiver over TCP: beep - white frame on the RTCP wall clock (ms): {:.3?}",
        offsets.iter().map(|o| o * 1e3).collect::<Vec<_>>()
    );
    for offset in &offsets {
        assert!(offset.abs() < FRAME, "offset {offset:.4} s");
    }
    // The marks a second apart on the wall clock: the clock is real.
    let first = wall(0, whites[0]);
    for (k, &white) in whites.iter().enumerate() {
        assert!((wall(0, white) - first - k as f64).abs() < 1e-3);
    }
}

#[test]
fn ffmpeg_plays_beeps_and_white_frames_together() {
    if !common::require_tool("ffmpeg") {
        return;
    }
    let server = TestServer::start(&[(FIXTURE, FIXTURE)], &[]);
    let url = server.url(FIXTURE);
    for (transport, seek) in [("udp", None), ("tcp", None), ("tcp", Some("1.2"))] {
        let (whites, beeps) = ffmpeg_marks(&url, transport, seek);
        let expected = if seek.is_some() {
            &MARKS[1..]
        } else {
            &MARKS[..]
        };
        assert_eq!(
            whites.len(),
            expected.len(),
            "{transport} {seek:?}: {whites:?}"
        );
        assert_eq!(
            beeps.len(),
            expected.len(),
            "{transport} {seek:?}: {beeps:?}"
        );
        let offsets: Vec<f64> = beeps.iter().zip(&whites).map(|(b, w)| b - w).collect();
        eprintln!(
            "ffmpeg over {transport}{}: beep - white frame (ms): {:.2?}",
            seek.map_or(String::new(), |s| format!(" from -ss {s}")),
            offsets.iter().map(|o| o * 1e3).collect::<Vec<_>>()
        );
        for offset in offsets {
            assert!(offset.abs() < FRAME, "{transport} {seek:?}: {offset:.4} s");
        }
    }
}

/// The payload formats of the SDP's tracks.
fn descriptions(sdp: &str) -> Vec<PayloadDescription> {
    let mut out = Vec::new();
    let mut kind = TrackKind::Video;
    let mut rtpmap = None;
    for line in sdp.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            kind = if m.starts_with("video") {
                TrackKind::Video
            } else {
                TrackKind::Audio
            };
        } else if let Some(v) = line.strip_prefix("a=rtpmap:") {
            rtpmap = Some(v.split_once(' ').unwrap().1.to_owned());
        } else if let Some(v) = line.strip_prefix("a=fmtp:") {
            let fmtp = v.split_once(' ').unwrap().1;
            out.push(
                PayloadDescription::parse(kind, rtpmap.as_deref().unwrap(), Some(fmtp)).unwrap(),
            );
        }
    }
    out
}

fn packet(data: &[u8]) -> ReceivedPacket {
    let p = rtp_types::RtpPacket::parse(data).unwrap();
    ReceivedPacket {
        sequence: p.sequence_number(),
        timestamp: p.timestamp(),
        marker: p.marker_bit(),
        payload: Bytes::copy_from_slice(p.payload()),
    }
}

fn depacketize(description: &PayloadDescription, packets: &[ReceivedPacket]) -> Vec<ReceivedUnit> {
    let mut depacketizer = rtp::depacketizer(description).unwrap();
    let mut units = Vec::new();
    for p in packets {
        depacketizer.push(p, &mut units).unwrap();
    }
    depacketizer.finish(&mut units);
    units
}

/// Runs ffmpeg decoding `input` (format `format`) to raw `out_args`.
fn decode(format: &str, input: &[u8], out_args: &[&str]) -> Vec<u8> {
    let mut child = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-f", format, "-i", "pipe:0"])
        .args(out_args)
        .arg("pipe:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = common::wait_with_output_bounded(child, &format!("ffmpeg decoding {format}"));
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// The RTP timestamps of the white frames among the H.264 units.
fn white_frames(description: &PayloadDescription, packets: &[ReceivedPacket]) -> Vec<u32> {
    let units = depacketize(description, packets);
    let stream: Vec<u8> = units.iter().flat_map(|u| u.data.to_vec()).collect();
    let pixels = 160 * 120;
    let frames = decode("h264", &stream, &["-f", "rawvideo", "-pix_fmt", "gray"]);
    assert_eq!(frames.len(), units.len() * pixels, "every frame decoded");
    // Output order is presentation order: timestamps ascending.
    let base = units[0].timestamp;
    let mut times: Vec<u32> = units.iter().map(|u| u.timestamp).collect();
    times.sort_by_key(|&t| t.wrapping_sub(base) as i32);
    frames
        .chunks(pixels)
        .zip(times)
        .filter(|(frame, _)| frame.iter().map(|&p| u64::from(p)).sum::<u64>() / pixels as u64 > 128)
        .map(|(_, ts)| ts)
        .collect()
}

/// The RTP timestamps at which the beeps start among the AAC units:
/// decoded (with the decoder's priming, as the timestamps count it), each
/// sample `n` of the output at the first unit's timestamp plus `n`.
fn beep_onsets(description: &PayloadDescription, packets: &[ReceivedPacket]) -> Vec<u32> {
    let units = depacketize(description, packets);
    let config = hex::decode(description.fmtp_param("config").unwrap()).unwrap();
    // ADTS headers (ISO/IEC 14496-3 §1.A.2) from the AudioSpecificConfig.
    let object = config[0] >> 3;
    let rate_index = ((config[0] & 7) << 1) | (config[1] >> 7);
    let channels = (config[1] >> 3) & 0xf;
    let mut adts = Vec::new();
    for unit in &units {
        let len = unit.data.len() + 7;
        adts.extend_from_slice(&[
            0xff,
            0xf1,
            ((object - 1) << 6) | (rate_index << 2) | (channels >> 2),
            ((channels & 3) << 6) | (len >> 11) as u8,
            (len >> 3) as u8,
            (((len & 7) << 5) as u8) | 0x1f,
            0xfc,
        ]);
        adts.extend_from_slice(&unit.data);
    }
    let pcm = decode("aac", &adts, &["-f", "s16le", "-ac", "1"]);
    let samples: Vec<i16> = pcm
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let first = units[0].timestamp;
    let mut onsets = Vec::new();
    let mut quiet = 0usize;
    for (n, &s) in samples.iter().enumerate() {
        if s.unsigned_abs() > 3000 {
            if quiet > 4800 {
                onsets.push(first.wrapping_add(n as u32));
            }
            quiet = 0;
        } else {
            quiet += 1;
        }
    }
    onsets
}

/// ffmpeg as the RTSP client: the times of the white frames
/// (blackdetect's `black_end`) and of the beeps (silencedetect's
/// `silence_end`), on the timeline it derives from RTP-Info and the
/// sender reports.
fn ffmpeg_marks(url: &str, transport: &str, seek: Option<&str>) -> (Vec<f64>, Vec<f64>) {
    let mut command = Command::new("ffmpeg");
    command.args(["-nostdin", "-v", "info", "-rtsp_transport", transport]);
    if let Some(ss) = seek {
        command.args(["-ss", ss]);
    }
    let out = command
        .args(["-i", url, "-copyts", "-filter_complex"])
        .arg(
            "[0:v]blackdetect=d=0.02:pix_th=0.5:pic_th=0.5[v];\
             [0:a]silencedetect=n=-30dB:d=0.02[a]",
        )
        .args(["-map", "[v]", "-map", "[a]", "-f", "null", "-"])
        .output_bounded();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{log}");
    let times = |key: &str| -> Vec<f64> {
        log.split(key)
            .skip(1)
            .filter_map(|rest| {
                rest.trim_start()
                    .split(|c: char| c.is_whitespace() || c == '|')
                    .next()?
                    .parse()
                    .ok()
            })
            .collect()
    };
    // The last black stretch ends with the video; the last silence with
    // the audio: neither is a mark.
    let marks = |key: &str| -> Vec<f64> { times(key).into_iter().filter(|&t| t < 2.9).collect() };
    (marks("black_end:"), marks("silence_end:"))
}
