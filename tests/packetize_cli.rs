//! `mediatool packetize` options and bad input through the real binary:
//! one-line errors, exit status 1, and never an output file that looks
//! complete after a failure (nor a temporary file left behind).

mod common;
mod packetize_support;

use std::path::Path;
use std::time::{Duration, Instant};

use common::Bounded;
use packetize_support::{describe_sdp, packetize, packetize_ok, read_sdp, read_udp, rtsp_replies};
use pcap_file::pcapng::{Block, PcapNgReader};

/// Exit 1, one `error: ` line on stderr, and `dir` left empty.
fn assert_clean_failure(output: &std::process::Output, dir: &Path, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
    assert!(left.is_empty(), "{what}: left {left:?}");
    stderr
}

#[test]
fn bad_input_gives_clear_errors_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pcap");
    let h264 = common::fixtures().join("h264_baseline.h264");
    let mulaw = common::fixtures().join("wav_mulaw_8k.wav");
    let cases: Vec<(Vec<String>, &str, &str)> = vec![
        (
            vec![h264.display().to_string(), "--mtu".into(), "40".into()],
            "mtu",
            "--mtu 40: too small for the IP, UDP and RTP headers",
        ),
        (
            vec![h264.display().to_string(), "--mtu".into(), "42".into()],
            "mtu for H.264",
            "H264 needs RTP payloads of at least 3 bytes, the MTU leaves 2",
        ),
        (
            vec![h264.display().to_string(), "--track".into(), "3".into()],
            "track",
            "track 3 does not exist: the file has 1 track(s), 0 to 0",
        ),
        (
            vec![common::fixtures()
                .join("bad/header_cut.wav")
                .display()
                .to_string()],
            "truncated",
            "truncated at byte",
        ),
        (
            vec![common::fixtures()
                .join("bad/random.bin")
                .display()
                .to_string()],
            "random",
            "random.bin",
        ),
        (
            vec![dir.path().join("missing.264").display().to_string()],
            "missing",
            "missing.264",
        ),
        (
            vec![h264.display().to_string(), "--ssrc".into(), "xyz".into()],
            "ssrc",
            "--ssrc xyz: not a 32-bit hexadecimal number",
        ),
        (
            vec![
                h264.display().to_string(),
                "--start-time".into(),
                "yesterday".into(),
            ],
            "start time",
            "--start-time yesterday: not an RFC 3339 time",
        ),
        (
            vec![h264.display().to_string(), "--source".into(), "::1".into()],
            "mixed IP versions",
            "must both be IPv4 or both IPv6",
        ),
        (
            vec![h264.display().to_string(), "--mtu".into(), "70000".into()],
            "mtu too large",
            "--mtu 70000: larger than an IP packet can be (65535)",
        ),
        (
            vec![h264.display().to_string(), "--ssrc".into(), "0x".into()],
            "empty ssrc",
            "--ssrc 0x: not a 32-bit hexadecimal number",
        ),
        (
            vec![h264.display().to_string(), "--ssrc".into(), "+ff".into()],
            "signed ssrc",
            "--ssrc +ff: not a 32-bit hexadecimal number",
        ),
        (
            vec![
                h264.display().to_string(),
                "--start-time".into(),
                "1969-12-31T23:59:59Z".into(),
            ],
            "start time before 1970",
            "before 1970, which captures cannot record",
        ),
        (
            vec![
                h264.display().to_string(),
                "--start-time".into(),
                "2107-01-01T00:00:00Z".into(),
            ],
            "start time after 2106 in pcap",
            "later than this capture format can record",
        ),
        (
            vec![
                h264.display().to_string(),
                "--sdp".into(),
                out.display().to_string(),
            ],
            "sdp over the capture",
            "the SDP would overwrite the capture",
        ),
        (
            vec![
                h264.display().to_string(),
                "--sdp".into(),
                dir.path().join("no/such/dir/x.sdp").display().to_string(),
            ],
            "unwritable sdp",
            "cannot create",
        ),
        (
            vec![
                h264.display().to_string(),
                "--track".into(),
                "0".into(),
                "--track".into(),
                "1".into(),
            ],
            "second track",
            "track 1 does not exist",
        ),
        (
            vec![
                h264.display().to_string(),
                "--dest".into(),
                "255.255.255.255:5004".into(),
            ],
            "broadcast",
            "--dest 255.255.255.255:5004: broadcast is not supported (a unicast address or a multicast group)",
        ),
        (
            vec![
                h264.display().to_string(),
                "--dest".into(),
                "127.0.0.1:0".into(),
            ],
            "port 0",
            "--dest 127.0.0.1:0: port 0 is not a port packets can go to",
        ),
        (
            vec![
                h264.display().to_string(),
                "--dest".into(),
                "0.0.0.0:5004".into(),
            ],
            "unspecified destination",
            "--dest 0.0.0.0:5004: not an address packets can go to",
        ),
        (
            vec![
                h264.display().to_string(),
                "--dest".into(),
                "239.1.1.1:5004".into(),
                "--source".into(),
                "239.1.1.2".into(),
            ],
            "multicast source",
            "--source 239.1.1.2: not a unicast address",
        ),
        (
            vec![
                h264.display().to_string(),
                "--multicast-ttl".into(),
                "4".into(),
            ],
            "TTL without a group",
            "--multicast-ttl: --dest 127.0.0.1:5004 is not a multicast group",
        ),
        (
            vec![h264.display().to_string(), "--pt".into(), "0".into()],
            "PCMU's payload type for H.264",
            "--pt 0: a static payload type of another format (RFC 3551 §6); H264 takes a dynamic one (96-127)",
        ),
        (
            vec![h264.display().to_string(), "--pt".into(), "95".into()],
            "unassigned static payload type",
            "--pt 95: a static payload type of another format",
        ),
        (
            vec![h264.display().to_string(), "--pt".into(), "72".into()],
            "RTCP's range",
            "--pt 72: 72-76 are not RTP payload types (RFC 5761 §4",
        ),
        (
            vec![mulaw.display().to_string(), "--pt".into(), "8".into()],
            "PCMA's payload type for PCMU",
            "PCMU takes its static type 0 or a dynamic one (96-127)",
        ),
    ];
    for (args, what, message) in cases {
        let output = assert_cmd::Command::cargo_bin("mediatool")
            .unwrap()
            .arg("packetize")
            .args(&args)
            .arg("-o")
            .arg(&out)
            .output_bounded();
        let stderr = assert_clean_failure(&output, dir.path(), what);
        assert!(stderr.contains(message), "{what}: {stderr}");
    }
}

/// The truncation policy: a file whose last frame is cut short is
/// packetized with its whole frames (one RTP packet each here) and one
/// warning, however many times packetize reads the file.
#[test]
fn a_last_frame_cut_short_is_dropped_with_one_warning() {
    let dir = tempfile::tempdir().unwrap();
    for (name, stream, at, needs, remain, frames) in [
        ("bad/last_frame_cut.mp3", "MPEG audio", 5090, 78, 40, 115),
        ("bad/cut_then_tagged.aac", "ADTS", 10807, 176, 60, 60),
    ] {
        let file = common::fixtures().join(name);
        let out = dir.path().join("cut.pcap");
        let output = packetize(&file, &out, &["--start-time", packetize_support::START]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{name}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "warning: {}: {stream}: last frame cut short at byte {at} (needs {needs} bytes, \
                 {remain} remain): dropped\n",
                file.display()
            )
        );
        let rtp = read_udp(&out)
            .into_iter()
            .filter(|d| d.dst_port == 5004)
            .count();
        assert_eq!(rtp, frames, "{name}: RTP packets");
    }
}

#[test]
fn a_cause_is_printed_once() {
    let dir = tempfile::tempdir().unwrap();
    let wav = common::fixtures().join("wav_s16_44k_stereo.wav");
    let output = packetize(&wav, &dir.path().join("out.pcap"), &["--mtu", "43"]);
    let stderr = assert_clean_failure(&output, dir.path(), "mtu for L16");
    assert_eq!(
        stderr,
        format!(
            "error: {}: track 0: L16 needs RTP payloads of at least 4 bytes, the MTU leaves 3\n",
            wav.display()
        )
    );
}

#[test]
fn unwritable_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let h264 = common::fixtures().join("h264_baseline.h264");
    let out = dir.path().join("no/such/dir/out.pcap");
    let output = packetize(&h264, &out, &[]);
    let stderr = assert_clean_failure(&output, dir.path(), "missing directory");
    assert!(stderr.contains("cannot create"), "{stderr}");
    // A directory where the capture or the SDP should go: refused before
    // the input is even opened (a bad input's error would come first).
    let target = dir.path().join("taken.pcap");
    std::fs::create_dir(&target).unwrap();
    let random = common::fixtures().join("bad/random.bin");
    let sdp_dir = target.display().to_string();
    for (input, out, args, what) in [
        (&h264, &target, vec![], "capture"),
        (&random, &target, vec![], "capture"),
        (
            &random,
            &dir.path().join("x.pcap"),
            vec!["--sdp", &sdp_dir],
            "SDP",
        ),
    ] {
        let output = packetize(input, out, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert_eq!(
            stderr,
            format!(
                "error: {}: a directory, not a file to write the {what} to\n",
                target.display()
            )
        );
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["taken.pcap"], "no temporary file left");
    }
}

#[test]
fn outputs_that_name_the_input_or_each_other_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    let wav = d.join("in.wav");
    std::fs::copy(common::fixtures().join("wav_mulaw_8k.wav"), &wav).unwrap();
    let original = std::fs::read(&wav).unwrap();
    std::fs::hard_link(&wav, d.join("link.pcap")).unwrap();
    // (-o, extra arguments, message), run in `d` so that relative paths
    // name its files.
    let cases: [(&str, &[&str], &str); 6] = [
        (
            "./x.pcap",
            &["--sdp", "x.pcap"],
            "x.pcap: the SDP would overwrite the capture (give another --sdp)",
        ),
        (
            "sub/../x.pcap",
            &["--sdp", "x.pcap"],
            "x.pcap: the SDP would overwrite the capture (give another --sdp)",
        ),
        (
            "in.wav",
            &[],
            "in.wav: the capture would overwrite the input file",
        ),
        (
            "./sub/../in.wav",
            &[],
            "./sub/../in.wav: the capture would overwrite the input file",
        ),
        (
            "link.pcap",
            &[],
            "link.pcap: the capture would overwrite the input file",
        ),
        (
            "x.pcap",
            &["--sdp", "./in.wav"],
            "./in.wav: the SDP would overwrite the input file (give another --sdp)",
        ),
    ];
    for (out, args, message) in cases {
        let output = assert_cmd::Command::cargo_bin("mediatool")
            .unwrap()
            .current_dir(d)
            .args(["packetize", "in.wav", "-o", out])
            .args(args)
            .output_bounded();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{out} {args:?}: {stderr}");
        assert_eq!(stderr, format!("error: {message}\n"), "{out} {args:?}");
        assert_eq!(std::fs::read(&wav).unwrap(), original, "{out} {args:?}");
        let mut left: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["in.wav", "link.pcap", "sub"], "{out} {args:?}");
    }
}

#[test]
fn options_shape_the_capture() {
    let dir = tempfile::tempdir().unwrap();
    let mp3 = common::fixtures().join("audio_44k_stereo.mp3");
    let pcap = packetize_ok(
        &mp3,
        dir.path(),
        &[
            "--dest",
            "10.1.2.3:7000",
            "--source",
            "10.9.9.9",
            "--pt",
            "101",
            "--ssrc",
            "0xCAFE",
            "--seq",
            "3",
            "--no-rtsp",
            "-q",
        ],
    );
    let medias = read_sdp(&pcap.with_extension("sdp"));
    assert_eq!((medias[0].port, medias[0].payload_type), (7000, 101));
    // A format's own static payload type is accepted too.
    std::fs::create_dir(dir.path().join("static")).unwrap();
    let own = packetize_ok(&mp3, &dir.path().join("static"), &["--pt", "14"]);
    assert_eq!(read_sdp(&own.with_extension("sdp"))[0].payload_type, 14);
    // --track is repeatable; a track asked for twice is streamed once.
    std::fs::create_dir(dir.path().join("again")).unwrap();
    let again = packetize_ok(
        &mp3,
        &dir.path().join("again"),
        &["--track", "0", "--track", "0", "--seq", "9"],
    );
    assert_eq!(read_sdp(&again.with_extension("sdp")).len(), 1);
    let text = std::fs::read_to_string(pcap.with_extension("sdp")).unwrap();
    assert!(
        text.contains("c=IN IP4 10.1.2.3\r\n") && text.contains("a=rtpmap:101 MPA/90000\r\n"),
        "{text}"
    );
    let datagrams = read_udp(&pcap);
    let first = rtp_types::RtpPacket::parse(&datagrams[0].payload).unwrap();
    assert_eq!(
        (first.ssrc(), first.sequence_number(), first.payload_type()),
        (0xcafe, 3, 101)
    );
    // --no-rtsp: the first packet is media, at the start time.
    assert_eq!(datagrams[0].time.as_secs(), packetize_support::START_UNIX);

    // Explicit SDP path, pcapng, a small MTU.
    let sdp = dir.path().join("custom.sdp");
    let out = dir.path().join("v.pcapng");
    let h264 = common::fixtures().join("h264_bframes.264");
    let output = packetize(
        &h264,
        &out,
        &["--sdp", sdp.to_str().unwrap(), "--mtu", "576"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // No progress bar when stderr is not a terminal, nothing else either.
    assert!(output.stderr.is_empty(), "{:?}", output.stderr);
    assert!(sdp.exists() && !dir.path().join("v.sdp").exists());
    let mut reader = PcapNgReader::new(std::fs::File::open(&out).unwrap()).unwrap();
    let mut largest = 0;
    let mut packets = 0;
    while let Some(block) = reader.next_block() {
        if let Block::EnhancedPacket(p) = block.unwrap() {
            largest = largest.max(p.data.len() - 14);
            packets += 1;
        }
    }
    assert_eq!(largest, 576, "IP packets fill the MTU, never more");
    assert!(packets > 100);
}

#[test]
fn ipv6_capture_decodes_in_our_reader() {
    let dir = tempfile::tempdir().unwrap();
    let wav = common::fixtures().join("wav_mulaw_8k.wav");
    let out = dir.path().join("v6.pcap");
    let output = packetize(&wav, &out, &["--dest", "[::1]:6000", "--source", "::1"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("v6.sdp")).unwrap();
    assert!(
        text.contains("c=IN IP6 ::1\r\n") && text.contains("m=audio 6000 RTP/AVP 0\r\n"),
        "{text}"
    );
    // 3 s of 20 ms packets.
    let datagrams = read_udp(&out);
    let rtp = datagrams.iter().filter(|d| d.dst_port == 6000).count();
    assert_eq!(rtp, 150);
    // The RTCP CNAME names the source address (RFC 3550 §6.5.1).
    let rtcp = datagrams.iter().find(|d| d.dst_port == 6001).unwrap();
    let messages = mediatool::rtp::rtcp::parse(&rtcp.payload).unwrap();
    assert!(
        messages.iter().any(|m| matches!(
            m,
            mediatool::rtp::rtcp::RtcpMessage::Sdes(items) if items[0].1 == "mediatool@::1"
        )),
        "{messages:?}"
    );
}

/// The `a=range` line of an SDP.
fn range_line(sdp: &str) -> &str {
    sdp.lines()
        .find(|l| l.starts_with("a=range:"))
        .unwrap_or_else(|| panic!("no a=range in {sdp}"))
}

#[test]
fn the_exchange_announces_the_exact_duration_read_in_one_pass() {
    let dir = tempfile::tempdir().unwrap();
    // Every fixture with a track RTP carries; the others (Speex, FLAC in
    // Ogg) have no SDP.
    let (streamable, not): (Vec<_>, Vec<_>) = common::media_fixtures()
        .into_iter()
        .partition(|f| common::streamable(f));
    for file in not {
        let output = assert_cmd::Command::cargo_bin("mediatool")
            .unwrap()
            .args(["probe", "--sdp"])
            .arg(&file)
            .output_bounded();
        assert!(
            !output.status.success()
                && String::from_utf8_lossy(&output.stderr)
                    .ends_with(": no track can be streamed over RTP\n"),
            "{}: {output:?}",
            file.display()
        );
    }
    for file in streamable {
        let probed = probe_sdp(&file);
        let pcap = packetize_ok(&file, dir.path(), &[]);
        let replies = rtsp_replies(&pcap);
        let sdp = &describe_sdp(&pcap);
        assert_eq!(range_line(sdp), range_line(&probed), "{}", file.display());
        let beside = std::fs::read_to_string(pcap.with_extension("sdp")).unwrap();
        assert_eq!(
            range_line(&beside),
            range_line(&probed),
            "{}",
            file.display()
        );
        // The destination in the description, and a controller asking for it.
        assert!(sdp.contains("c=IN IP4 127.0.0.1\r\n") && sdp.contains(" 5004 RTP/AVP "));
        assert!(sdp.contains("a=control:track0\r\n"));
        assert!(replies.contains(
            "destination=127.0.0.1;source=127.0.0.1;client_port=5004-5005;server_port=6970-6971;"
        ));
    }
}

/// `probe --sdp`'s output for `file`.
fn probe_sdp(file: &Path) -> String {
    let output = assert_cmd::Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--sdp"])
        .arg(file)
        .output_bounded();
    assert!(
        output.status.success(),
        "probe --sdp {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn long_inputs_get_the_exact_duration_when_estimated_right_or_wrong() {
    // Beyond 8 MB of input the head's size is estimated from the bit rate
    // so far. The H.264 fixture repeated: a steady rate, estimated right.
    // Then 24 MiB of trailing_zero_8bits (ITU-T H.264 §B.2, no media) in
    // the middle: the estimate (file size / rate) has a digit too many, and
    // the packets must move behind a shorter head.
    let dir = tempfile::tempdir().unwrap();
    let clip = std::fs::read(common::fixtures().join("h264_baseline.h264")).unwrap();
    let steady = dir.path().join("steady.264");
    std::fs::write(&steady, clip.repeat(125)).unwrap();
    let uneven = dir.path().join("uneven.264");
    let mut data = clip.repeat(125);
    data.resize(data.len() + (24 << 20), 0);
    data.extend(clip.repeat(250));
    std::fs::write(&uneven, data).unwrap();
    for (file, range) in [
        (steady, "a=range:npt=0-250.000"),
        (uneven, "a=range:npt=0-750.000"),
    ] {
        assert_eq!(range_line(&probe_sdp(&file)), range);
        let pcap = packetize_ok(&file, dir.path(), &[]);
        assert_eq!(range_line(&describe_sdp(&pcap)), range);
        // Every record is whole: the same datagrams as without the head.
        let bare = dir.path().join("bare.pcap");
        let output = packetize(&file, &bare, &["--no-rtsp"]);
        assert!(output.status.success());
        let (with, without) = (read_udp(&pcap), read_udp(&bare));
        assert_eq!(with.len(), without.len());
        assert!(with.len() > 125 * 2 * 25);
    }
}

#[test]
fn a_signal_stops_packetizing_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A WAV of 1 GiB of 8 kHz mu-law (37 hours), sparse on disk: far more
    // than is packetized before the signal comes.
    let data_len: u32 = 1 << 30;
    let mut header = b"RIFF".to_vec();
    header.extend_from_slice(&(36 + data_len).to_le_bytes());
    header.extend_from_slice(b"WAVEfmt ");
    for (value, bytes) in [
        (16u32, 4),
        (7, 2),
        (1, 2),
        (8000, 4),
        (8000, 4),
        (1, 2),
        (8, 2),
    ] {
        header.extend_from_slice(&value.to_le_bytes()[..bytes]);
    }
    header.extend_from_slice(b"data");
    header.extend_from_slice(&data_len.to_le_bytes());
    let wav = d.join("big.wav");
    let file = std::fs::File::create(&wav).unwrap();
    std::io::Write::write_all(&mut &file, &header).unwrap();
    file.set_len(header.len() as u64 + u64::from(data_len))
        .unwrap();
    let names = || {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mediatool"))
            .arg("packetize")
            .arg(&wav)
            .arg("-o")
            .arg(d.join("big.pcap"))
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Signalled once the capture is being written.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !names().iter().any(|n| n.starts_with(".big.pcap.partial-")) {
            assert!(
                child.try_wait().unwrap().is_none(),
                "ended before the signal"
            );
            assert!(Instant::now() < deadline, "no capture being written");
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(100));
        let pid = libc::pid_t::try_from(child.id()).unwrap();
        // SAFETY: kill(2) on our own child, which has not been waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                child.kill().unwrap();
                panic!("signal {signal}: still running");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "signal {signal}: {stderr}");
        assert_eq!(stderr, "error: interrupted\n", "signal {signal}");
        assert_eq!(names(), ["big.wav"], "signal {signal}");
    }
}

#[test]
fn fixed_header_fields_and_start_time_make_identical_captures() {
    let dir = tempfile::tempdir().unwrap();
    let h264 = common::fixtures().join("h264_baseline.h264");
    let run = |name: &str, args: &[&str]| {
        let out = dir.path().join(name);
        let mut all = vec!["--start-time", packetize_support::START];
        all.extend_from_slice(args);
        let output = packetize(&h264, &out, &all);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        (std::fs::read(&out).unwrap(), out)
    };
    let fixed = ["--ssrc", "1234", "--seq", "7", "--timestamp", "4000000000"];
    let (first, path) = run("a.pcap", &fixed);
    let (second, _) = run("b.pcap", &fixed);
    assert!(first == second, "two runs differ");
    // The first packet goes out at the base (no B-frames: it is also
    // presented then).
    let datagrams = read_udp(&path);
    let packet = rtp_types::RtpPacket::parse(&datagrams[0].payload).unwrap();
    assert_eq!(packet.timestamp(), 4_000_000_000);
    assert!(rtsp_replies(&path).contains(";seq=7;rtptime=4000000000\r\n"));
    // Without --timestamp the base is random.
    let (third, _) = run("c.pcap", &fixed[..4]);
    let (fourth, _) = run("d.pcap", &fixed[..4]);
    assert!(third != fourth, "random timestamps were equal");
}

#[test]
fn a_multicast_group_is_set_up_announced_and_addressed_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let h264 = common::fixtures().join("h264_bframes.264");
    let pcap = packetize_ok(
        &h264,
        dir.path(),
        &["--dest", "239.129.2.3:5004", "--multicast-ttl", "4"],
    );
    // RFC 4566 §5.7: the group and its TTL, in the .sdp and the DESCRIBE
    // reply.
    let beside = std::fs::read_to_string(pcap.with_extension("sdp")).unwrap();
    assert!(beside.contains("c=IN IP4 239.129.2.3/4\r\n"), "{beside}");
    assert!(describe_sdp(&pcap).contains("c=IN IP4 239.129.2.3/4\r\n"));
    // RFC 2326 §12.39: the group's ports and TTL, no client port; the
    // controller is a host (the address after the source).
    let replies = rtsp_replies(&pcap);
    assert!(
        replies.contains(
            "Transport: RTP/AVP;multicast;destination=239.129.2.3;source=127.0.0.1;port=5004-5005;ttl=4;ssrc="
        ),
        "{replies}"
    );
    assert!(!replies.contains("client_port"));
    let datagrams = read_udp(&pcap);
    assert!(datagrams.len() > 50);
    for d in &datagrams {
        assert_eq!(d.dst_ip.to_string(), "239.129.2.3");
        // RFC 1112 §6.4: 01:00:5e and the group's low 23 bits.
        assert_eq!(d.dst_mac, [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(d.ttl, 4);
    }
    let controller = packetize_support::rtsp_client(&pcap);
    assert_eq!(controller.to_string(), "127.0.0.2");
}

/// `--srtp`: SRTP and SRTCP under the key the SDP and the capture's
/// DESCRIBE answer announce (`RTP/SAVP`, SETUP too), which our receiver
/// reads back to the plain capture's packets; the tag counts against the
/// MTU.
#[test]
fn srtp_captures_decrypt_to_the_plain_ones() {
    use mediatool::srtp::{Policy, SrtpReceiver, Suite};
    let dir = tempfile::tempdir().unwrap();
    let h264 = common::fixtures().join("h264_bframes.264");
    let fixed = ["--ssrc", "1234", "--seq", "65500", "--timestamp", "7"];
    // The same packets, with room for the 10-byte tag.
    let plain = packetize_ok(&h264, dir.path(), &[&fixed[..], &["--mtu", "566"]].concat());
    let srtp_dir = dir.path().join("srtp");
    std::fs::create_dir(&srtp_dir).unwrap();
    let srtp_args = [&fixed[..], &["--mtu", "576", "--srtp"]].concat();
    let srtp = packetize_ok(&h264, &srtp_dir, &srtp_args);
    let media = &read_sdp(&srtp.with_extension("sdp"))[0];
    let (key, ssrc) = media.srtp.clone().expect("keys in the SDP");
    assert_eq!(ssrc, 0x1234);
    let describe = describe_sdp(&srtp);
    assert!(
        describe.contains("RTP/SAVP") && describe.contains("a=crypto:"),
        "{describe}"
    );
    assert!(
        rtsp_replies(&srtp).contains("Transport: RTP/SAVP;"),
        "the SETUP answer names SAVP"
    );
    let policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let mut receiver = SrtpReceiver::new(&key, policy, 0);
    let (plain, srtp) = (read_udp(&plain), read_udp(&srtp));
    assert_eq!(plain.len(), srtp.len());
    assert!(plain.len() > 100);
    let mut largest = 0;
    for (p, s) in plain.iter().zip(&srtp) {
        let mut packet = s.payload.clone();
        largest = largest.max(packet.len() + 28);
        let rtcp = (200..=204).contains(&packet[1]);
        let len = if rtcp {
            receiver.unprotect_rtcp(&mut packet).unwrap()
        } else {
            receiver.unprotect_rtp(&mut packet).unwrap()
        };
        assert_eq!(
            packet[..len],
            p.payload[..],
            "the same packet (RTCP: {rtcp})"
        );
    }
    assert_eq!(receiver.roc(), 1, "the sequence numbers wrapped");
    assert_eq!(largest, 576, "IP packets fill the MTU, tag included");
}

/// A fixture no RTP payload format carries (E-AC-3): `probe` describes it
/// and says no track streams; `packetize` refuses it in one line, naming
/// the codec, and writes nothing.
#[test]
fn files_without_a_streamable_track_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in common::UNSTREAMABLE_FIXTURES {
        let file = common::fixtures().join(name);
        let probed = assert_cmd::Command::cargo_bin("mediatool")
            .unwrap()
            .args(["probe", "--format", "json"])
            .arg(&file)
            .output_bounded();
        assert!(probed.status.success(), "{name}");
        let out = dir.path().join("out.pcap");
        let output = packetize_support::packetize(&file, &out, &[]);
        assert!(!output.status.success(), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr
                .lines()
                .last()
                .is_some_and(|l| l.starts_with("error: ")
                    && l.contains("no track can be streamed over RTP")
                    && l.contains("eac3")),
            "{name}: {stderr}"
        );
        assert!(!out.exists() && !out.with_extension("sdp").exists());
    }
}
