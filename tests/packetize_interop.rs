//! Independent checks of `mediatool packetize` captures, for every fixture
//! at the default MTU and at a small one ([`MTUS`]), so that every payload
//! format's fragmentation is exercised (H.264 FU-A, H.265 FU, RFC 2250 MPA
//! fragments, RFC 3640 AAC fragments, PCM packets split), and for tshark
//! also sent to a multicast group ([`MULTICAST`]):
//!
//! - GStreamer reads the pcap (`filesrc ! pcapparse ! <caps from our SDP> !
//!   rtpXdepay ! parse ! decoder`) and decodes every frame: the decoded
//!   output, written raw to a file, holds exactly ffprobe's frame count.
//!   So it does for the `--srtp` captures, with libsrtp's `srtpdec` given
//!   the key of the SDP's `a=crypto` and the SSRC of its `a=key-mgmt`.
//! - tshark, with no `-d` option, dissects every UDP datagram as RTP or
//!   RTCP (set up by the synthetic RTSP exchange), names every payload type
//!   as the SDP does (dynamic ones by their `a=rtpmap` encoding), dissects
//!   the H.264 and H.265 payloads, flags no packet as malformed or with an
//!   error (`-Y "_ws.malformed || _ws.expert.severity >= error"`) but for
//!   the two known limitations of its 4.0 H.264 dissector
//!   ([`known_tshark_limitation`]), and its RTP stream analysis shows no
//!   loss and no sequence or timestamp problems.
//!
//! Every fixture must have a reader (none is skipped), and together they
//! must cover every payload format the registry has.
//!
//! The external tools run concurrently, a few at a time.

mod common;
mod packetize_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use base64::Engine;
use common::Bounded;
use packetize_support::{assert_every_encoding, packetize_ok, read_sdp, read_udp, SdpMedia};
use serde_json::Value;

/// The MTUs every fixture is packetized with: the default, and one that
/// fragments H.264/H.265 key frames, MP2/MP3 frames and AAC frames and
/// splits 44.1 kHz L16 packets.
const MTUS: [&[&str]; 2] = [&["--mtu", "1500"], &["--mtu", "200"]];

/// The options of the captures of whole transport streams (MP2T): at the
/// default MTU, at one that leaves room for 2 TS packets a payload, and to
/// a multicast group (no MTU can split a TS packet: 188 bytes is the least
/// payload).
const MP2T_VARIANTS: [&[&str]; 3] = [
    &["--ts-mode", "mp2t", "--mtu", "1500"],
    &["--ts-mode", "mp2t", "--mtu", "600"],
    &[
        "--ts-mode",
        "mp2t",
        "--dest",
        "239.1.1.1:5004",
        "--multicast-ttl",
        "4",
    ],
];

/// The options that send 8-bit PCM as L8 (it goes as L16 by default),
/// and the fixture they are used on.
const PCM8_L8: &[&str] = &["--pcm8", "l8"];
const PCM8_FIXTURE: &str = "wav_u8_8k_mono.wav";

/// The options of the captures to a multicast group.
const MULTICAST: &[&str] = &["--dest", "239.1.1.1:5004", "--multicast-ttl", "4"];

/// External tool runs at a time.
const WORKERS: usize = 4;

/// Runs `jobs` on a few threads; returns every failure message.
fn run_jobs(jobs: Vec<Box<dyn FnOnce() -> Result<(), String> + Send>>) -> Vec<String> {
    let queue = Mutex::new(jobs);
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let Some(job) = queue.lock().unwrap().pop() else {
                    return;
                };
                if let Err(e) = job() {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// One capture of a fixture.
struct Capture {
    file: PathBuf,
    pcap: PathBuf,
    options: &'static [&'static str],
}

impl Capture {
    /// The fixture and options, for messages.
    fn name(&self) -> String {
        format!("{} ({})", self.file.display(), self.options.join(" "))
    }
}

/// Every fixture packetized into `dir` with each of `variants` (a fixture
/// with no reader fails the packetizing) and the 8-bit PCM one as L8, and
/// with `whole_ts` the transport streams also whole ([`MP2T_VARIANTS`]),
/// then checking that the captures carry every payload format.
fn captures(dir: &Path, variants: &[&'static [&'static str]], whole_ts: bool) -> Vec<Capture> {
    let mut captures = Vec::new();
    for (i, &options) in variants.iter().enumerate() {
        let sub = dir.join(i.to_string());
        std::fs::create_dir(&sub).unwrap();
        for file in common::streamable_fixtures() {
            let pcap = packetize_ok(&file, &sub, options);
            captures.push(Capture {
                file,
                pcap,
                options,
            });
        }
    }
    let sub = dir.join("pcm8");
    std::fs::create_dir(&sub).unwrap();
    let file = common::fixtures().join(PCM8_FIXTURE);
    let pcap = packetize_ok(&file, &sub, PCM8_L8);
    captures.push(Capture {
        file,
        pcap,
        options: PCM8_L8,
    });
    // Transport streams also whole, as one MP2T stream.
    for (i, &options) in MP2T_VARIANTS.iter().enumerate().filter(|_| whole_ts) {
        let sub = dir.join(format!("mp2t-{i}"));
        std::fs::create_dir(&sub).unwrap();
        for file in transport_streams() {
            let pcap = packetize_ok(&file, &sub, options);
            captures.push(Capture {
                file,
                pcap,
                options,
            });
        }
    }
    let medias: Vec<SdpMedia> = captures
        .iter()
        .flat_map(|c| read_sdp(&c.pcap.with_extension("sdp")))
        .collect();
    if whole_ts {
        assert_every_encoding(&medias);
    }
    captures
}

/// The options of the SRTP captures.
const SRTP: &[&str] = &["--srtp"];

/// The RTP caps GStreamer needs, from an SDP media section (as
/// `gst_sdp_media_get_caps_from_media` builds them); SRTP caps with
/// `srtpdec`'s key and SSRC for an SRTP section.
fn caps(media: &SdpMedia) -> String {
    let d = &media.description;
    let srtp = match &media.srtp {
        None => String::new(),
        Some((key, ssrc)) => format!(
            ",ssrc=(uint){ssrc},roc=(uint)0,srtp-key=(buffer){},srtp-cipher=(string)aes-128-icm,\
             srtp-auth=(string)hmac-sha1-80,srtcp-cipher=(string)aes-128-icm,srtcp-auth=(string)hmac-sha1-80",
            hex::encode(key.to_bytes())
        ),
    };
    let mut caps = format!(
        "application/x-{},media=(string){},clock-rate=(int){},encoding-name=(string){},payload=(int){}{srtp}",
        if media.srtp.is_some() { "srtp" } else { "rtp" },
        d.media.name(),
        d.clock_rate,
        d.encoding.to_uppercase(),
        media.payload_type
    );
    if let Some(channels) = d.channels {
        caps += &format!(",encoding-params=(string)\"{channels}\"");
    }
    for pair in d.fmtp.iter().flat_map(|f| f.split(';')) {
        if let Some((key, value)) = pair.split_once('=') {
            caps += &format!(
                ",{}=(string)\"{}\"",
                key.trim().to_lowercase(),
                value.trim()
            );
        }
    }
    caps
}

/// Depayloader, parser and decoder for an encoding, ending in raw output
/// of a known layout (RGBA video, S16LE interleaved audio).
fn decoder_chain(encoding: &str) -> &'static str {
    match encoding {
        "H264" => "rtph264depay ! h264parse ! avdec_h264 ! videoconvert ! video/x-raw,format=RGBA",
        "H265" => "rtph265depay ! h265parse ! avdec_h265 ! videoconvert ! video/x-raw,format=RGBA",
        "MPA" => "rtpmpadepay ! mpegaudioparse ! decodebin ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "mpeg4-generic" => "rtpmp4gdepay ! aacparse ! avdec_aac ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "L8" => "rtpL8depay ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "L16" => "rtpL16depay ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "L24" => "rtpL24depay ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "PCMU" => "rtppcmudepay ! mulawdec ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "PCMA" => "rtppcmadepay ! alawdec ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "VP8" => "rtpvp8depay ! vp8dec ! videoconvert ! video/x-raw,format=RGBA",
        "VP9" => "rtpvp9depay ! vp9dec ! videoconvert ! video/x-raw,format=RGBA",
        "theora" => "rtptheoradepay ! theoradec ! videoconvert ! video/x-raw,format=RGBA",
        "opus" => "rtpopusdepay ! opusdec ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "vorbis" => "rtpvorbisdepay ! vorbisdec ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        "MPV" => "rtpmpvdepay ! mpegvideoparse ! avdec_mpeg2video ! videoconvert ! video/x-raw,format=RGBA",
        "AC3" => "rtpac3depay ! ac3parse ! avdec_ac3 ! audioconvert ! audio/x-raw,format=S16LE,layout=interleaved",
        other => panic!("no GStreamer chain for {other}"),
    }
}

/// What ffprobe says the decoded output of stream `index` of `file` must
/// hold, in bytes: for MPEG audio and ADTS files, the frames it decodes
/// from whole packets (a last frame cut short is not sent); for Ogg Vorbis
/// and Opus, every packet in full ([`common::ogg_rtp_samples`]).
fn expected_bytes(file: &Path, index: usize, stream: &Value) -> u64 {
    let num = |k: &str| {
        stream[k]
            .as_u64()
            .or_else(|| stream[k].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or_else(|| panic!("ffprobe gives no {k}"))
    };
    match stream["codec_type"].as_str() {
        Some("video") => num("nb_read_frames") * num("width") * num("height") * 4,
        _ => {
            let codec = stream["codec_name"].as_str().unwrap_or_default();
            let samples = if codec.starts_with("pcm_") {
                stream["duration_ts"]
                    .as_u64()
                    .or_else(|| stream["duration_ts"].as_str()?.parse().ok())
                    .unwrap_or_else(|| matroska_samples(stream))
            } else if matches!(codec, "vorbis" | "opus") && is_ogg(file) {
                common::ogg_rtp_samples(file, index)
            } else {
                let per_frame = match codec {
                    "aac" | "aac_latm" => 1024,
                    "ac3" => 1536,
                    // 20 ms frames, as libopus writes them.
                    "opus" => 960,
                    "mp1" => 384,
                    "mp3" if num("sample_rate") < 32000 => 576,
                    _ => 1152,
                };
                let frames = if common::is_audio_elementary_stream(file) {
                    common::ffprobe_whole_frames(file)
                        .expect("ffprobe reads it")
                        .frames
                } else {
                    num("nb_read_frames")
                };
                frames * per_frame
            };
            samples * num("channels") * 2
        }
    }
}

/// Whether `file` is an Ogg file (by its name, as the fixtures are).
fn is_ogg(file: &Path) -> bool {
    matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("ogg" | "oga" | "ogv" | "opus")
    )
}

/// The sample frames of a Matroska PCM track, which states no
/// `duration_ts`: its DURATION tag (`HH:MM:SS.nnnnnnnnn`) less its start.
fn matroska_samples(stream: &Value) -> u64 {
    let tag = stream["tags"]["DURATION"]
        .as_str()
        .expect("ffprobe gives no duration_ts nor DURATION tag");
    let seconds: f64 = tag
        .split(':')
        .zip([3600.0, 60.0, 1.0])
        .map(|(part, unit)| part.parse::<f64>().unwrap() * unit)
        .sum();
    let number = |k: &str| stream[k].as_str().and_then(|v| v.parse::<f64>().ok());
    let start = number("start_time").unwrap_or(0.0);
    ((seconds - start) * number("sample_rate").unwrap()).round() as u64
}

/// The bytes of S16LE output ffprobe's Vorbis decoder gives for `stream`
/// of `file` (its frames are of two sizes: counted frame by frame).
fn vorbis_bytes(file: &Path, stream: &Value) -> u64 {
    let index = stream["index"].as_u64().unwrap().to_string();
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", &index])
        .args(["-show_entries", "frame=nb_samples", "-of", "csv=p=0"])
        .arg(file)
        .output_bounded();
    let samples: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(',').next()?.trim().parse::<u64>().ok())
        .sum();
    samples * stream["channels"].as_u64().unwrap() * 2
}

/// The transport stream fixtures.
fn transport_streams() -> Vec<PathBuf> {
    common::streamable_fixtures()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "ts" || e == "m2ts"))
        .collect()
}

/// The decoding end of a GStreamer pipeline for a transport stream of
/// `streams` (ffprobe's; at most one video and one audio stream):
/// `decodebin` and a branch per stream, taking the decoded pad of its
/// kind, each to `out.<kind>.raw` (video as 16x16 GRAY8, audio as mono
/// 16-bit samples); the branches' output files.
fn decoding_tail(streams: &[Value], out: &Path) -> (String, Vec<PathBuf>) {
    let kinds: Vec<&str> = streams
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert!(
        kinds.len() <= 2 && (kinds.len() < 2 || kinds[0] != kinds[1]),
        "{kinds:?}"
    );
    let mut tail = "decodebin name=d".to_owned();
    let mut files = Vec::new();
    for kind in kinds {
        let file = out.with_extension(format!("{kind}.raw"));
        let convert = match kind {
            "video" => "videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=16,height=16",
            _ => "audioconvert ! audio/x-raw,format=S16LE,channels=1",
        };
        tail += &format!(
            " d. ! {kind}/x-raw ! queue ! {convert} ! filesink location={}",
            file.display()
        );
        files.push(file);
    }
    (tail, files)
}

/// Runs `gst-launch-1.0 -q pipeline` (bounded: a branch that never links
/// leaves a pipeline waiting forever).
fn gst_launch(pipeline: &str) -> Result<(), String> {
    let out = common::gst_launch()
        .args(shell_words(pipeline))
        .output_bounded();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "gst-launch failed ({:?}): {}\n{pipeline}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// GStreamer decodes every stream of the transport streams packetized
/// whole (MP2T), through `rtpmp2tdepay` and its demuxer and decoders,
/// exactly as it decodes the file itself: the same decoded bytes for each
/// stream (the payloads are the file's packets; GStreamer's own reading of
/// some files differs from ffprobe's, e.g. the LATM and the discontinuity
/// fixtures, so the file is the reference).
#[test]
fn gstreamer_decodes_every_stream_of_the_mp2t_captures() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<(), String> + Send>> = Vec::new();
    for (i, options) in MP2T_VARIANTS[..2].iter().enumerate() {
        let sub = dir.path().join(i.to_string());
        std::fs::create_dir(&sub).unwrap();
        for file in transport_streams() {
            let pcap = packetize_ok(&file, &sub, options);
            let name = format!("{} ({})", file.display(), options.join(" "));
            let media = read_sdp(&pcap.with_extension("sdp")).remove(0);
            let streams = common::ffprobe_streams(&file);
            let (tail, received) = decoding_tail(&streams, &pcap);
            let (file_tail, reference) = decoding_tail(&streams, &pcap.with_extension("file"));
            let pipeline = format!(
                "filesrc location={} ! pcapparse dst-port={} ! {} ! rtpmp2tdepay ! {tail}",
                pcap.display(),
                media.port,
                caps(&media)
            );
            let file_pipeline = format!("filesrc location={} ! {file_tail}", file.display());
            jobs.push(Box::new(move || {
                gst_launch(&pipeline).map_err(|e| format!("{name}: {e}"))?;
                gst_launch(&file_pipeline).map_err(|e| format!("{name}: the file: {e}"))?;
                for (got, want) in received.iter().zip(&reference) {
                    let (got, want) = (std::fs::read(got).unwrap(), std::fs::read(want).unwrap());
                    if want.is_empty() || got != want {
                        return Err(format!(
                            "{name}: {} decoded bytes from the capture, {} from the file\n{pipeline}",
                            got.len(),
                            want.len()
                        ));
                    }
                }
                Ok(())
            }));
        }
    }
    assert!(jobs.len() >= 8, "only {} captures to check", jobs.len());
    let failures = run_jobs(jobs);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn gstreamer_decodes_every_frame_of_every_capture() {
    if !common::require_tool("gst-launch-1.0") || !common::require_tool("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<(), String> + Send>> = Vec::new();
    // Whole transport streams (MP2T) are decoded stream by stream in
    // `gstreamer_decodes_every_stream_of_the_mp2t_captures`.
    let variants = [MTUS[0], MTUS[1], SRTP];
    for capture in captures(dir.path(), &variants, false) {
        let pcap = &capture.pcap;
        let medias = read_sdp(&pcap.with_extension("sdp"));
        assert_eq!(
            medias.iter().all(|m| m.srtp.is_some()),
            capture.options == SRTP,
            "{}",
            capture.name()
        );
        // The file's streams that have an `m=` line (a subtitle, data or
        // float PCM track has none), in order: ffprobe's stream indexes
        // are our track indexes (tests/interop_ffprobe.rs).
        let streamed: Vec<u64> = mediatool::media::open(&capture.file)
            .unwrap()
            .tracks()
            .iter()
            .filter(|t| mediatool::rtp::packetizer(t).is_ok())
            .map(|t| t.index as u64)
            .collect();
        let mut streams: Vec<Value> = common::ffprobe_streams(&capture.file)
            .into_iter()
            .filter(|s| s["index"].as_u64().is_some_and(|i| streamed.contains(&i)))
            .collect();
        // DVD LPCM's duration_ts is on the program stream's 90 kHz clock:
        // its samples are the ones ffprobe decodes.
        if streams.iter().any(|s| s["codec_name"] == "pcm_dvd") {
            let samples = common::ffprobe_decoded_samples(&capture.file);
            for stream in streams.iter_mut() {
                if stream["codec_name"] == "pcm_dvd" {
                    let index = stream["index"].as_u64().unwrap() as usize;
                    stream["duration_ts"] = samples[&index].into();
                }
            }
        }
        assert_eq!(streams.len(), medias.len(), "{}", capture.name());
        for (i, media) in medias.into_iter().enumerate() {
            let name = format!("{} track {i}", capture.name());
            // Debian's GStreamer 1.22 has no rtpav1depay (1.24 has):
            // AV1 captures are checked by tshark and our round trip.
            if media.description.encoding == "AV1" {
                continue;
            }
            // Nor is its Vorbis decoder sample exact over RTP from
            // Matroska (it drops output where packet timestamps restart its
            // clock, with its own payloader too): its check is no error and
            // at most the samples ffprobe decodes, at least nine tenths of
            // them. From Ogg it is exact (`common::ogg_rtp_samples`).
            let vorbis = media.description.encoding == "vorbis" && !is_ogg(&capture.file);
            let raw = pcap.with_extension(format!("{i}.raw"));
            let expected = if vorbis {
                vorbis_bytes(&capture.file, &streams[i])
            } else {
                expected_bytes(&capture.file, i, &streams[i])
            };
            // srtpdec (GStreamer 1.22) decrypts a buffer it does not own
            // alone in a copy (gst_srtp_dec_decode_buffer's
            // gst_buffer_make_writable) and pushes the original on, still
            // encrypted: pcapparse's buffers go through a GDP round trip,
            // whose buffers are srtpdec's alone.
            let srtpdec = match media.srtp {
                Some(_) => "gdppay ! gdpdepay ! d.rtp_sink srtpdec name=d d.rtp_src ! ",
                None => "",
            };
            let pipeline = format!(
                "filesrc location={} ! pcapparse dst-port={} ! {} ! {srtpdec}{} ! filesink location={}",
                pcap.display(),
                media.port,
                caps(&media),
                decoder_chain(media.description.encoding),
                raw.display()
            );
            jobs.push(Box::new(move || {
                let out = common::gst_launch()
                    .args(shell_words(&pipeline))
                    .output_bounded();
                if !out.status.success() {
                    return Err(format!(
                        "{name}: gst-launch failed: {}\n{pipeline}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                let got = std::fs::metadata(&raw).map(|m| m.len()).unwrap_or(0);
                let whole = if vorbis {
                    got <= expected && got > expected / 10 * 9
                } else {
                    got == expected
                };
                if !whole {
                    return Err(format!(
                        "{name}: GStreamer decoded {got} bytes, ffprobe's frames make {expected}\n{pipeline}"
                    ));
                }
                Ok(())
            }));
        }
    }
    assert!(jobs.len() >= 20, "only {} streams to check", jobs.len());
    let failures = run_jobs(jobs);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Splits a gst-launch pipeline into arguments, keeping quoted caps values
/// (`sprop-parameter-sets=(string)"a,b"`) in one piece with their quotes.
fn shell_words(pipeline: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in pipeline.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            ' ' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// One line of tshark's `-z rtp,streams` table.
struct RtpStreamLine {
    dst_port: u16,
    packets: u64,
    lost: i64,
    problems: bool,
}

fn parse_rtp_streams(text: &str) -> Vec<RtpStreamLine> {
    text.lines()
        .filter(|l| l.split_whitespace().any(|t| t.starts_with("0x")))
        .map(|line| {
            let t: Vec<&str> = line.split_whitespace().collect();
            // Start, End, Src IP, Src port, Dst IP, Dst port, SSRC, payload
            // (may hold spaces), packets, lost, (lost %), 6 timings, [X].
            let pct = t
                .iter()
                .position(|x| x.starts_with('(') && x.ends_with("%)"))
                .expect("lost percentage column");
            RtpStreamLine {
                dst_port: t[5].parse().unwrap(),
                packets: t[pct - 2].parse().unwrap(),
                lost: t[pct - 1].parse().unwrap(),
                problems: t.len() > pct + 7,
            }
        })
        .collect()
}

#[test]
fn tshark_decodes_every_stream_without_options() {
    if !common::require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut jobs: Vec<Box<dyn FnOnce() -> Result<(), String> + Send>> = Vec::new();
    for capture in captures(dir.path(), &[MTUS[0], MTUS[1], MULTICAST], true) {
        let medias = read_sdp(&capture.pcap.with_extension("sdp"));
        let datagrams = read_udp(&capture.pcap);
        jobs.push(Box::new(move || {
            let name = capture.name();
            let pcap = &capture.pcap;
            let flagged = tshark_flagged(pcap).map_err(|e| format!("{name}: {e}"))?;
            let escaped_sps = sprop_sps_has_emulation_prevention(&medias);
            // An MP2T stream carries the file's packets as they are, with
            // the packets the file itself lacks (ts_discontinuity.ts lost
            // one on purpose): tshark finds as many missing in the capture
            // as in the file.
            let (lost, flagged): (Vec<Flagged>, Vec<Flagged>) = flagged
                .into_iter()
                .partition(|f| f.protocols.contains(":rtp:mp2t") && is_ts_loss(f));
            let lost_in_file = if capture.options.contains(&"mp2t") {
                missing_ts_packets(&capture.file)
            } else {
                0
            };
            if lost.len() != lost_in_file {
                return Err(format!(
                    "{name}: tshark finds {} losses of TS packets, {lost_in_file} in the file",
                    lost.len()
                ));
            }
            if let Some(bad) = flagged
                .iter()
                .find(|f| !known_tshark_limitation(f, escaped_sps))
            {
                return Err(format!("{name}: tshark flags frame {}: {bad:?}", bad.frame));
            }
            let out = Command::new("tshark")
                .arg("-r")
                .arg(pcap)
                .args(["-T", "fields", "-e", "frame.protocols", "-e", "udp.dstport"])
                .args(["-e", "_ws.col.Info", "-z", "rtp,streams"])
                .output_bounded();
            let text = String::from_utf8_lossy(&out.stdout);
            if !out.status.success() {
                return Err(format!(
                    "{name}: tshark failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let lines: Vec<Vec<&str>> = text
                .lines()
                .take_while(|l| !l.starts_with('='))
                .map(|l| l.split('\t').collect())
                .collect();
            let protocols: Vec<&str> = lines.iter().map(|l| l[0]).collect();
            for m in &medias {
                let port = m.port.to_string();
                let rtp: Vec<&Vec<&str>> = lines
                    .iter()
                    .filter(|l| l[0].ends_with(":rtp") || l[0].contains(":rtp:"))
                    .filter(|l| l.get(1) == Some(&port.as_str()))
                    .collect();
                // Dynamic payload types by the SDP's encoding name, static
                // ones by Wireshark's (e.g. "ITU-T G.711 PCMU").
                let named = |info: &str| {
                    let pt = info.trim_start_matches("PT=");
                    if m.payload_type >= 96 {
                        pt.starts_with(&format!("{},", m.description.encoding))
                    } else {
                        !pt.starts_with("DynamicRTP")
                    }
                };
                if let Some(l) = rtp.iter().find(|l| !l.get(2).is_some_and(|i| named(i))) {
                    return Err(format!(
                        "{name}: port {port}: payload type not named as {}: {l:?}",
                        m.description.encoding
                    ));
                }
                let dissector = match m.description.encoding {
                    "H264" => Some(":rtp:h264"),
                    "H265" => Some(":rtp:h265"),
                    _ => None,
                };
                if let Some(d) = dissector {
                    if let Some(l) = rtp.iter().find(|l| !l[0].ends_with(d)) {
                        return Err(format!("{name}: port {port}: payload not dissected: {l:?}"));
                    }
                }
            }
            let udp: Vec<&&str> = protocols.iter().filter(|p| p.contains(":udp")).collect();
            let undecoded = udp
                .iter()
                .filter(|p| !p.contains(":rtp") && !p.contains(":rtcp"))
                .count();
            if udp.len() != datagrams.len() || undecoded > 0 {
                return Err(format!(
                    "{name}: {undecoded} of {} datagrams not decoded as RTP/RTCP",
                    udp.len()
                ));
            }
            if !protocols.iter().any(|p| p.ends_with(":rtsp:sdp")) {
                return Err(format!("{name}: no RTSP DESCRIBE reply with SDP"));
            }
            let streams = parse_rtp_streams(&text);
            if streams.len() != medias.len() {
                return Err(format!(
                    "{name}: tshark sees {} RTP streams, SDP has {}",
                    streams.len(),
                    medias.len()
                ));
            }
            for m in &medias {
                let sent = datagrams.iter().filter(|d| d.dst_port == m.port).count() as u64;
                let Some(s) = streams.iter().find(|s| s.dst_port == m.port) else {
                    return Err(format!("{name}: no RTP stream to port {}", m.port));
                };
                if s.packets != sent || s.lost != 0 || s.problems {
                    return Err(format!(
                        "{name}: port {}: {} packets of {sent}, {} lost, problems: {}",
                        m.port, s.packets, s.lost, s.problems
                    ));
                }
            }
            Ok(())
        }));
    }
    assert!(jobs.len() >= 20, "only {} captures", jobs.len());
    let failures = run_jobs(jobs);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Fields of a packet tshark flags as malformed or with an error.
#[derive(Debug)]
struct Flagged {
    frame: String,
    protocols: String,
    /// `h264.nal_unit_hdr`: the RTP payload's NAL unit type (28: FU-A).
    payload_nal_type: String,
    /// `h264.start.bit`, `h264.end.bit` of an FU-A header.
    fu_start: String,
    fu_end: String,
    /// `h264.nal_unit_type`: the fragmented NAL unit's type in an FU-A
    /// header, the types of the NAL units of sprop-parameter-sets in SDP.
    nal_types: String,
    /// `_ws.malformed`: which dissector threw.
    malformed: String,
    /// `_ws.expert.message`: what the expert info says.
    expert: String,
}

/// The packets of a capture that tshark flags as malformed or with an
/// error (`-Y "_ws.malformed || _ws.expert.severity >= error"`).
fn tshark_flagged(pcap: &Path) -> Result<Vec<Flagged>, String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args(["-Y", "_ws.malformed || _ws.expert.severity >= error"])
        .args(["-T", "fields", "-e", "frame.number"])
        .args(["-e", "frame.protocols", "-e", "h264.nal_unit_hdr"])
        .args(["-e", "h264.start.bit"])
        .args(["-e", "h264.end.bit", "-e", "h264.nal_unit_type"])
        .args(["-e", "_ws.malformed", "-e", "_ws.expert.message"])
        .output_bounded();
    if !out.status.success() {
        return Err(format!(
            "tshark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            let field = |i: usize| f.get(i).copied().unwrap_or_default().to_owned();
            Flagged {
                frame: field(0),
                protocols: field(1),
                payload_nal_type: field(2),
                fu_start: field(3),
                fu_end: field(4),
                nal_types: field(5),
                malformed: field(6),
                expert: field(7),
            }
        })
        .collect())
}

/// Whether a flagged packet is one of the two known limitations of
/// tshark 4.0's H.264 dissector on valid data (docs/packetize.md, "What
/// tshark 4.0 flags as malformed"):
///
/// - The DESCRIBE reply, when an SPS in `sprop-parameter-sets` holds an
///   emulation prevention byte (`00 00 03`, ITU-T H.264 §7.4.1): tshark
///   parses the base64-decoded NAL unit without removing it (its RTP path
///   does), misreads the VUI and runs off its end (`escaped_sps`: the
///   capture's SDP has such an SPS).
/// - An FU-A start fragment (RFC 6184 §5.8: S set, E clear) of an SEI or
///   a parameter set: tshark dissects the fragment as a whole NAL unit and
///   runs off its end.
fn known_tshark_limitation(f: &Flagged, escaped_sps: bool) -> bool {
    let sdp = escaped_sps
        && f.protocols.ends_with(":rtsp:sdp")
        && f.malformed.starts_with("[Malformed Packet: SDP]")
        && f.nal_types.split(',').any(|t| t == "7");
    let fu_a_start = f.protocols.ends_with(":rtp:h264")
        && f.malformed.starts_with("[Malformed Packet: H.264]")
        && f.payload_nal_type == "28"
        && (f.fu_start.as_str(), f.fu_end.as_str()) == ("1", "0")
        && matches!(f.nal_types.as_str(), "6" | "7" | "8");
    sdp || fu_a_start
}

/// Whether tshark's expert info on `f` is a continuity counter gap of
/// MPEG-TS packets.
fn is_ts_loss(f: &Flagged) -> bool {
    f.expert.contains("missing TS frames")
}

/// The continuity counter gaps tshark finds reading `file` itself as a
/// transport stream (none in a file it cannot read: tshark takes 188-byte
/// packets only, and the M2TS fixture loses none).
fn missing_ts_packets(file: &Path) -> usize {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(file)
        .args(["-Y", "_ws.expert.severity >= error"])
        .args(["-T", "fields", "-e", "_ws.expert.message"])
        .output_bounded();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("missing TS frames"))
        .count()
}

/// Whether an H.264 SPS in some `sprop-parameter-sets` of `medias` holds
/// an emulation prevention byte (`00 00 03`).
fn sprop_sps_has_emulation_prevention(medias: &[SdpMedia]) -> bool {
    medias
        .iter()
        .filter_map(|m| m.description.fmtp_param("sprop-parameter-sets"))
        .flat_map(|sets| sets.split(','))
        .filter_map(|set| base64::engine::general_purpose::STANDARD.decode(set).ok())
        .filter(|nal| nal.first().is_some_and(|b| b & 0x1f == 7))
        .any(|sps| sps.windows(3).any(|w| w == [0, 0, 3]))
}

#[test]
fn tshark_flags_a_corrupted_capture() {
    if !common::require_tool("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = common::fixtures().join("h264_bframes.264");
    let pcap = packetize_ok(&file, dir.path(), &[]);
    assert!(tshark_flagged(&pcap).unwrap().is_empty());
    // The first sender report's length field (RFC 3550 §6.4.1) made larger
    // than the datagram.
    let mut bytes = std::fs::read(&pcap).unwrap();
    let at = bytes
        .windows(4)
        .position(|w| w == [0x80, 200, 0, 6])
        .expect("a sender report");
    bytes[at + 2..at + 4].copy_from_slice(&[0xff, 0xff]);
    std::fs::write(&pcap, bytes).unwrap();
    let flagged = tshark_flagged(&pcap).unwrap();
    assert_eq!(flagged.len(), 1, "{flagged:?}");
    assert!(!known_tshark_limitation(&flagged[0], true), "{flagged:?}");
    assert!(flagged[0].malformed.contains("RTCP"), "{flagged:?}");
}
