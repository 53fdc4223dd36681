//! `mediatool packetize` options and bad input through the real binary:
//! one-line errors, exit status 1, and never an output file that looks
//! complete after a failure (nor a temporary file left behind).

mod common;
mod packetize_support;

use std::path::Path;

use packetize_support::{packetize, packetize_ok, read_sdp, read_udp};
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
                .join("broken/frame_cut.mp2")
                .display()
                .to_string()],
            "truncated",
            "truncated at byte",
        ),
        (
            vec![common::fixtures()
                .join("broken/random.bin")
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
    ];
    for (args, what, message) in cases {
        let output = assert_cmd::Command::cargo_bin("mediatool")
            .unwrap()
            .arg("packetize")
            .args(&args)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = assert_clean_failure(&output, dir.path(), what);
        assert!(stderr.contains(message), "{what}: {stderr}");
    }
}

#[test]
fn unwritable_output_path() {
    let dir = tempfile::tempdir().unwrap();
    let h264 = common::fixtures().join("h264_baseline.h264");
    let out = dir.path().join("no/such/dir/out.pcap");
    let output = packetize(&h264, &out, &[]);
    let stderr = assert_clean_failure(&output, dir.path(), "missing directory");
    assert!(stderr.contains("cannot create"), "{stderr}");
    // A directory where the file should go: the rename fails at the end.
    let target = dir.path().join("taken.pcap");
    std::fs::create_dir(&target).unwrap();
    let output = packetize(&h264, &target, &[]);
    assert_eq!(output.status.code(), Some(1));
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["taken.pcap"], "no temporary file left");
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
    let rtp = read_udp(&out).iter().filter(|d| d.dst_port == 6000).count();
    assert_eq!(rtp, 150);
}
