//! `mediatool probe` on good and broken input, through the real binary:
//! exit status, one-line `error:` messages, no panics, no hangs.

mod common;

use std::time::Duration;

use assert_cmd::Command;
use common::Bounded;

fn probe(args: &[&str]) -> std::process::Output {
    Command::cargo_bin("mediatool")
        .unwrap()
        .arg("probe")
        .args(args)
        .timeout(Duration::from_secs(20))
        .output_bounded()
}

/// Exit 1 and exactly one line on stderr, starting `error: `.
fn assert_clean_error(output: &std::process::Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{what}: expected exit 1, stderr: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "{what}: error with output on stdout"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "{what}: expected one line, got: {stderr}"
    );
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    stderr
}

#[test]
fn every_fixture_probes_in_every_format() {
    for file in common::media_fixtures() {
        let path = file.to_str().unwrap();
        for format in ["table", "json", "yaml"] {
            let out = probe(&["--format", format, path]);
            assert!(
                out.status.success(),
                "{path} --format {format}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let json: serde_json::Value =
            serde_json::from_slice(&probe(&["--format", "json", path]).stdout).unwrap();
        assert!(
            json["tracks"].as_array().is_some_and(|t| !t.is_empty()),
            "{path}: no tracks"
        );
        assert!(
            json["duration_s"].as_f64().unwrap() > 0.0,
            "{path}: zero duration"
        );
        let sdp = probe(&["--sdp", path]);
        if json["sdp"].is_null() {
            // No track RTP carries (Speex, FLAC in Ogg): no SDP.
            let stderr = assert_clean_error(&sdp, path);
            assert!(
                stderr.ends_with(": no track can be streamed over RTP\n"),
                "{stderr}"
            );
            continue;
        }
        assert!(sdp.status.success());
        assert_eq!(
            String::from_utf8(sdp.stdout).unwrap(),
            json["sdp"].as_str().unwrap(),
            "{path}: --sdp differs from the report"
        );
    }
}

#[test]
fn broken_fixtures_give_one_error_line() {
    let cases = [
        ("bad/empty.h264", "file is empty"),
        ("bad/random.bin", "unrecognized format"),
        ("bad/text.mp3", "unrecognized format"),
        ("bad/header_cut.wav", "truncated"),
        ("does-not-exist.mp3", "No such file"),
        ("bad", "directory"),
    ];
    for (name, expected) in cases {
        let path = common::fixtures().join(name);
        let stderr = assert_clean_error(&probe(&[path.to_str().unwrap()]), name);
        assert!(
            stderr.contains(expected),
            "{name}: {stderr:?} lacks {expected:?}"
        );
        assert!(
            stderr.contains(path.to_str().unwrap()),
            "{name}: message does not name the file: {stderr}"
        );
    }
}

/// Files whose last frame is cut short (the truncation policy: whole units
/// served, the cut one dropped with one warning), and the frames ffprobe
/// decodes from their whole packets.
#[test]
fn files_with_a_last_frame_cut_short_probe_with_one_warning() {
    let cases = [
        ("bad/frame_cut.mp2", "MPEG audio", 1152, 576, 100, 2),
        ("bad/last_frame_cut.mp3", "MPEG audio", 5090, 78, 40, 115),
        ("bad/last_frame_cut.aac", "ADTS", 10807, 176, 60, 60),
        // Tagged after the cut: APEv2, Lyrics3 v2.00 and ID3v1 tags, into
        // which the last frame's stated length used to run (61 frames).
        ("bad/cut_then_tagged.aac", "ADTS", 10807, 176, 60, 60),
    ];
    for (name, stream, at, needs, remain, frames) in cases {
        let path = common::fixtures().join(name);
        let out = probe(&["--format", "json", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        assert_eq!(
            stderr,
            format!(
                "warning: {}: {stream}: last frame cut short at byte {at} (needs {needs} bytes, \
                 {remain} remain): dropped\n",
                path.display()
            )
        );
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["tracks"][0]["frames"].as_u64(), Some(frames), "{name}");
    }
}

/// How a fixture cut short must probe (the truncation policy in
/// docs/probe.md, "Files cut short"), where no external tool is needed to
/// tell.
#[derive(Debug)]
enum WhenCut {
    /// Annex B, whose access units (these byte ranges, in file order) have
    /// no lengths: cut inside slice data, the last one is served short;
    /// cut before its first slice header is whole, it is dropped with one
    /// warning naming where it starts.
    AccessUnits(&'static str, Vec<(usize, usize)>),
    /// WAV: the data size is clamped to the file, with a warning.
    ClampsWithWarning,
    /// Matroska: the whole blocks are read, a block cut short is dropped
    /// with a warning; a file cut before its first whole block (inside its
    /// headers) is one error line.
    DropsCutBlock,
    /// Program and transport streams: the whole units are read, the unit
    /// each stream had cut short is dropped with one warning; a file cut
    /// before any whole unit is one error line.
    DropsCutUnits,
}

/// The byte ranges of the units a straight read of `file` yields: Annex B
/// access units are contiguous slices of the file.
fn unit_ranges(file: &std::path::Path, data: &[u8]) -> Vec<(usize, usize)> {
    let mut demuxer = mediatool::media::open(file).unwrap();
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    while let Some(unit) = demuxer.read_unit().unwrap() {
        let from = ranges.last().map_or(0, |r| r.1);
        let start = from + memchr::memmem::find(&data[from..], &unit.data).unwrap();
        ranges.push((start, start + unit.data.len()));
    }
    ranges
}

/// Every video and WAV fixture cut at each tenth of its length: never a
/// panic (exit 101) or a hang, and exactly what the truncation policy says
/// for its format. (MPEG audio and ADTS: the next test.)
#[test]
fn truncated_fixtures_follow_the_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for file in common::media_fixtures() {
        let data = std::fs::read(&file).unwrap();
        let policy = match mediatool::media::open(&file).unwrap().format().name {
            "h264" => WhenCut::AccessUnits("H.264", unit_ranges(&file, &data)),
            "hevc" => WhenCut::AccessUnits("H.265", unit_ranges(&file, &data)),
            "wav" => WhenCut::ClampsWithWarning,
            "matroska" | "webm" => WhenCut::DropsCutBlock,
            "mpeg" | "mpegts" => WhenCut::DropsCutUnits,
            _ => continue, // framed audio: `truncated_audio_agrees_with_ffprobe`
        };
        for tenth in 0..10 {
            let len = data.len() * tenth / 10;
            let cut = dir.path().join(format!(
                "{tenth}-{}",
                file.file_name().unwrap().to_str().unwrap()
            ));
            std::fs::write(&cut, &data[..len]).unwrap();
            let out = probe(&["--format", "json", cut.to_str().unwrap()]);
            let what = format!("{} cut at {tenth}/10 (byte {len})", file.display());
            let stderr = String::from_utf8_lossy(&out.stderr);
            if tenth == 0 {
                assert!(assert_clean_error(&out, &what).contains("file is empty"));
                continue;
            }
            match &policy {
                WhenCut::DropsCutBlock => {
                    check_cut_matroska(&out, &what);
                    checked += 1;
                    continue;
                }
                WhenCut::DropsCutUnits => {
                    check_cut_system_stream(&out, &what, &file, &cut);
                    checked += 1;
                    continue;
                }
                _ => {}
            }
            assert!(out.status.success(), "{what}: {stderr}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"));
            let frames = json["tracks"][0]["frames"].as_u64().unwrap();
            match &policy {
                WhenCut::AccessUnits(stream, ranges) => {
                    let whole = ranges.iter().filter(|r| r.1 <= len).count();
                    match ranges.iter().find(|r| r.0 < len && len < r.1) {
                        None => assert_eq!((frames, &*stderr), (whole as u64, ""), "{what}"),
                        Some(_) if stderr.is_empty() => {
                            assert_eq!(frames, whole as u64 + 1, "{what}: served short")
                        }
                        Some(&(start, _)) => {
                            let warning = format!(
                                "warning: {}: {stream} stream, byte {start}: last access unit \
                                 cut short (",
                                cut.display()
                            );
                            assert!(
                                stderr.lines().count() == 1
                                    && stderr.starts_with(&warning)
                                    && stderr.ends_with("): dropped\n"),
                                "{what}: {stderr}"
                            );
                            assert_eq!(frames, whole as u64, "{what}: dropped");
                        }
                    }
                }
                WhenCut::DropsCutBlock | WhenCut::DropsCutUnits => {
                    unreachable!("checked above")
                }
                WhenCut::ClampsWithWarning => {
                    assert!(
                        stderr.lines().count() == 1
                            && stderr
                                .starts_with(&format!("warning: {}: WAVE data", cut.display()))
                            && stderr.ends_with("reading those (file truncated?)\n"),
                        "{what}: {stderr}"
                    );
                    assert!(frames > 0, "{what}");
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} cuts checked");
}

/// A Matroska file cut short: read to its last whole block, the cut one
/// dropped with a warning (besides the tracks left out of the SDP), some
/// track with frames; or, cut inside its headers, one error line.
fn check_cut_matroska(out: &std::process::Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let error = assert_clean_error(out, what);
        assert!(
            error.contains("no whole block in the file") || error.contains(": truncated at byte "),
            "{what}: {error}"
        );
        return;
    }
    assert!(
        stderr
            .lines()
            .filter(|l| !l.contains("is left out of the SDP"))
            .all(|l| l.contains("past the end of the file") || l.contains("ends inside")),
        "{what}: {stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"));
    // A cut may leave a file's video with no frame before its audio.
    let tracks = json["tracks"].as_array().unwrap();
    assert!(
        tracks.iter().any(|t| t["frames"].as_u64() > Some(0)),
        "{what}"
    );
}

/// Every MPEG audio, ADTS and AC-3 fixture cut at each tenth of its length,
/// against ffprobe's packets of the whole file: a cut between frames is a
/// shorter stream, said nothing about; a cut inside a frame drops that
/// frame with exactly one warning; the frames are those ffprobe decodes
/// from the whole packets of the cut file; a cut with no whole frame
/// before it is one error line.
#[test]
fn truncated_audio_agrees_with_ffprobe() {
    if !common::require_tool("ffprobe") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut inside = std::collections::BTreeMap::new();
    for file in common::media_fixtures() {
        let (stream, header) = match mediatool::media::open(&file).unwrap().format().name {
            "mp3" => ("MPEG audio", 4),
            "aac" => ("ADTS", 7),
            "ac3" | "eac3" => ("AC-3", 7),
            _ => continue, // `truncated_fixtures_follow_the_policy`
        };
        let data = std::fs::read(&file).unwrap();
        let packets = common::ffprobe_packets(&file);
        for tenth in 1..10 {
            let len = data.len() * tenth / 10;
            let cut = dir.path().join(format!(
                "{tenth}-{}",
                file.file_name().unwrap().to_str().unwrap()
            ));
            std::fs::write(&cut, &data[..len]).unwrap();
            let what = format!("{} cut at {tenth}/10 (byte {len})", file.display());
            let out = probe(&["--format", "json", cut.to_str().unwrap()]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            // No whole frame (cut inside the leading tags or the Xing
            // frame): ffprobe fails or decodes nothing, probe says why.
            let frames = common::ffprobe_whole_frames(&cut).map_or(0, |whole| whole.frames);
            if frames == 0 {
                assert_clean_error(&out, &what);
                continue;
            }
            assert!(out.status.success(), "{what}: {stderr}");
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(json["tracks"][0]["frames"].as_u64(), Some(frames), "{what}");
            let len = len as u64;
            match packets
                .iter()
                .map(|p| (p.pos, p.size))
                .find(|&(pos, size)| pos < len && len < pos + size)
            {
                Some((pos, size)) => {
                    let remain = len - pos;
                    let needs = if remain < header {
                        format!("its header needs {header} bytes")
                    } else {
                        format!("needs {size} bytes")
                    };
                    assert_eq!(
                        stderr,
                        format!(
                            "warning: {}: {stream}: last frame cut short at byte {pos} ({needs}, \
                             {remain} remain): dropped\n",
                            cut.display()
                        ),
                        "{what}"
                    );
                    *inside.entry(stream).or_insert(0) += 1;
                }
                None => assert_eq!(stderr, "", "{what}"),
            }
        }
    }
    // Each kind of stream had cuts inside frames (most cuts are).
    for stream in ["MPEG audio", "ADTS", "AC-3"] {
        let n = inside.get(stream).copied().unwrap_or(0);
        assert!(n >= 9, "only {n} cuts inside a frame of {stream}");
    }
}

/// A program or transport stream (`file`) cut short (`cut`): one error
/// line, or the whole units with some frames and the warnings of the
/// whole file, and at most one more per stream (a unit cut short,
/// dropped, or a stream with no whole unit, left out).
fn check_cut_system_stream(
    out: &std::process::Output,
    what: &str,
    file: &std::path::Path,
    cut: &std::path::Path,
) {
    if !out.status.success() {
        let error = assert_clean_error(out, what);
        assert!(error.contains("no whole"), "{what}: {error}");
        return;
    }
    let whole = probe(&["--format", "json", file.to_str().unwrap()]);
    let whole = String::from_utf8_lossy(&whole.stderr)
        .replace(&format!("{}: ", file.display()), "")
        .to_string();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.iter().all(|l| {
            let message = l.replace(&format!("{}: ", cut.display()), "");
            whole.lines().any(|w| w == message)
                || (l.starts_with("warning: ")
                    && (l.ends_with("cut short by the end of the data: dropped")
                        || l.ends_with(": left out")))
        }),
        "{what}: {stderr}"
    );
    let unique: std::collections::BTreeSet<&&str> = lines.iter().collect();
    assert_eq!(
        unique.len(),
        lines.len(),
        "{what}: a warning repeated: {stderr}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{what}: bad JSON: {e}"));
    let tracks = json["tracks"].as_array().unwrap();
    assert!(
        tracks.iter().any(|t| t["frames"].as_u64() > Some(0)),
        "{what}"
    );
}

/// An H.264 or H.265 stream cut inside a NAL unit (the tail of a file) is
/// read from its first start code, with a warning about the bytes before
/// it; PCM samples whose WAVE header was cut off are not recognized (no
/// audio reader's complaint about frames it did not find).
#[test]
fn files_cut_at_their_start() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["h264_bframes.264", "hevc_bframes.265"] {
        let data = std::fs::read(common::fixtures().join(name)).unwrap();
        let cut = dir.path().join(name);
        std::fs::write(&cut, &data[data.len() * 4 / 10..]).unwrap();
        let out = probe(&["--format", "json", cut.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        let warning = format!(
            "warning: {}: {} stream, byte 0: skipping bytes without a start code\n",
            cut.display(),
            if name.starts_with("h264") {
                "H.264"
            } else {
                "H.265"
            }
        );
        assert!(stderr.starts_with(&warning), "{name}: {stderr}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(
            json["tracks"][0]["frames"].as_u64() > Some(10),
            "{name}: {json}"
        );
    }
    let data = std::fs::read(common::fixtures().join("wav_s16_44k_stereo.wav")).unwrap();
    let cut = dir.path().join("headless.wav");
    std::fs::write(&cut, &data[30..]).unwrap();
    let stderr = assert_clean_error(&probe(&[cut.to_str().unwrap()]), "headless WAV");
    assert!(
        stderr.ends_with("unrecognized format: the content does not look like a .wav file\n"),
        "{stderr}"
    );
}

/// Warnings read like the error line (`warning: PATH: ...`) and `-q`
/// silences them; `-v` tells how the file was read, `-vv` each unit.
#[test]
fn verbosity_and_warning_lines() {
    let lying = common::fixtures().join("bad/wav_lying_size.wav");
    let path = lying.to_str().unwrap();
    let out = probe(&[path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with(&format!("warning: {path}: WAVE data at byte 78: ")),
        "{stderr}"
    );
    let quiet = probe(&["-q", path]);
    assert!(quiet.status.success() && quiet.stderr.is_empty());
    let h264 = common::fixtures().join("h264_bframes.264");
    let stderr = |flag: &str| {
        let out = probe(&[flag, "--format", "json", h264.to_str().unwrap()]);
        assert!(out.status.success());
        String::from_utf8(out.stderr).unwrap()
    };
    let verbose = stderr("-v");
    for expected in [
        "debug: format h264 from the content (frames from the first byte, in the first 65536 \
         bytes); the extension agrees\n",
        "debug: H.264 SPS 0 at byte 4: High level 13, 320x240, 25/1 fps\n",
        "debug: H.264 elementary stream reader opened in ",
        "debug: track 0: h264 High, level 13, 320x240, 25/1 fps\n",
        "debug: read 50 units, ",
        "debug: 69369 bytes inspected in ",
    ] {
        assert!(
            verbose.contains(expected),
            "-v lacks {expected:?}: {verbose}"
        );
    }
    assert!(
        verbose.lines().all(|l| l.starts_with("debug: ")),
        "{verbose}"
    );
    // The H.265 reader rewinds after describing the stream: its SPS is
    // still logged once.
    let hevc = common::fixtures().join("hevc_bframes.265");
    let out = probe(&["-v", hevc.to_str().unwrap()]);
    let logged = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        logged.matches("debug: H.265 SPS 0 at byte 32: ").count(),
        1,
        "{logged}"
    );
    let all = stderr("-vv");
    let units = all
        .lines()
        .filter(|l| l.starts_with("trace: unit "))
        .count();
    assert_eq!(units, 50, "{all}");
}

/// Inputs that cannot be sought in are refused at once with one error line:
/// a FIFO nobody writes to (opening it must not wait for a writer) and a
/// pipe with data in it (`probe <(cat file)`), whatever its content.
#[test]
fn non_seekable_inputs_are_refused_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("stream.h264");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status_bounded();
    assert!(made.success());
    let stderr = assert_clean_error(&probe(&[fifo.to_str().unwrap()]), "a FIFO");
    assert!(
        stderr.contains("a pipe or FIFO, not a regular file"),
        "{stderr}"
    );
    for name in ["h264_bframes.264", "audio_44k_stereo.mp3"] {
        let out = Command::cargo_bin("mediatool")
            .unwrap()
            .args(["probe", "/dev/stdin"])
            .write_stdin(std::fs::read(common::fixtures().join(name)).unwrap())
            .timeout(Duration::from_secs(20))
            .output_bounded();
        let stderr = assert_clean_error(&out, name);
        assert!(
            stderr.contains("/dev/stdin: a pipe or FIFO, not a regular file"),
            "{stderr}"
        );
    }
}

/// A GSM 6.10 WAVE file (format tag 0x31) of 33 blocks of 65 bytes, 320
/// sample frames each at 8 kHz, with a `fact` chunk: what ffmpeg's
/// libgsm_ms writes for 1.32 s.
fn gsm_wav() -> Vec<u8> {
    let mut fmt = vec![0x31, 0, 1, 0];
    fmt.extend_from_slice(&8000u32.to_le_bytes());
    fmt.extend_from_slice(&1625u32.to_le_bytes());
    fmt.extend_from_slice(&[65, 0, 0, 0, 2, 0, 0x40, 0x01]);
    let mut body = b"WAVEfmt ".to_vec();
    body.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    body.extend_from_slice(&fmt);
    body.extend_from_slice(b"fact\x04\0\0\0");
    body.extend_from_slice(&10_560u32.to_le_bytes());
    body.extend_from_slice(b"data");
    body.extend_from_slice(&(33u32 * 65).to_le_bytes());
    body.resize(body.len() + 33 * 65, 0x5a);
    [
        b"RIFF".to_vec(),
        (body.len() as u32).to_le_bytes().to_vec(),
        body,
    ]
    .concat()
}

/// A WAVE file whose codec has no RTP payload format is described (codec
/// as ffprobe names it, frames, duration) without `rtp` or `sdp`; `--sdp`
/// and `packetize` refuse it with one error line.
#[test]
fn a_wav_that_cannot_be_streamed_is_described_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.wav");
    std::fs::write(&path, gsm_wav()).unwrap();
    let name = path.to_str().unwrap();
    let out = probe(&["--format", "json", name]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let track = &json["tracks"][0];
    assert_eq!(track["codec"], "gsm_ms");
    assert_eq!(
        (track["sample_rate"].as_u64(), track["channels"].as_u64()),
        (Some(8000), Some(1))
    );
    assert_eq!(
        (track["frames"].as_u64(), track["block_align"].as_u64()),
        (Some(33), Some(65))
    );
    assert_eq!(track["duration_s"].as_f64(), Some(1.32));
    assert!(
        track.get("rtp").is_none() && json.get("sdp").is_none(),
        "{json}"
    );
    let table = probe(&[name]);
    assert!(String::from_utf8_lossy(&table.stdout).contains("serve and packetize refuse"));
    let stderr = assert_clean_error(&probe(&["--sdp", name]), "--sdp on GSM");
    assert!(
        stderr.contains("no track can be streamed over RTP"),
        "{stderr}"
    );
    let out = Command::cargo_bin("mediatool")
        .unwrap()
        .args(["packetize", "-q", name, "-o"])
        .arg(dir.path().join("speech.pcap"))
        .output_bounded();
    let stderr = assert_clean_error(&out, "packetize GSM");
    assert!(
        stderr.contains("no RTP payload format for gsm_ms"),
        "{stderr}"
    );
}

/// After a read error the stream is over for every reader (`Ok(None)`), and
/// a seek makes it readable again: an ADTS stream whose second frame packs
/// two raw data blocks without CRC (their boundaries are not transmitted).
#[test]
fn readers_end_at_their_first_error() {
    let mut data = std::fs::read(common::fixtures().join("audio_48k_mono.aac")).unwrap();
    let second = common::stated_frame_len(&data).unwrap() as usize;
    data[second + 6] |= 1; // number_of_raw_data_blocks_in_frame: 2
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two_blocks.aac");
    std::fs::write(&path, &data).unwrap();
    let mut reader = mediatool::media::open(&path).unwrap();
    let mut units = 0;
    let error = loop {
        match reader.read_unit() {
            Ok(Some(_)) => units += 1,
            Ok(None) => panic!("two_blocks.aac should end in an error"),
            Err(e) => break e,
        }
    };
    assert!(
        error
            .to_string()
            .contains("packs 2 raw data blocks without CRC"),
        "{error}"
    );
    assert!(reader.read_unit().unwrap().is_none());
    assert!(reader.read_unit().unwrap().is_none());
    reader.seek(std::time::Duration::ZERO).unwrap();
    assert!(reader.read_unit().unwrap().is_some());
    assert_eq!(units, 1);
}

/// Usage errors (clap's) follow the contract too: one `error:` line, exit 2,
/// no usage block; help still prints in full on stdout.
#[test]
fn usage_errors_are_one_line() {
    for args in [
        &[][..],
        &["probe"],
        &["probe", "--format", "xml", "f"],
        &["probe", "--pcm8", "l24", "f"],
        &["nope"],
    ] {
        let out = Command::cargo_bin("mediatool")
            .unwrap()
            .args(args)
            .output_bounded();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    let help = Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--help"])
        .output_bounded();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--sdp"));
}

/// 8-bit PCM's RTP line (JSON's `rtp.encoding`) and payload type: L16 by
/// default, as `serve` sends it, and L8 with `--pcm8 l8`.
#[test]
fn eight_bit_pcm_is_l16_unless_pcm8_l8() {
    let file = common::fixtures().join("wav_u8_8k_mono.wav");
    let file = file.to_str().unwrap();
    for (extra, encoding) in [
        (&[][..], "L16/8000/1"),
        (&["--pcm8", "l16"][..], "L16/8000/1"),
        (&["--pcm8", "l8"][..], "L8/8000/1"),
    ] {
        let mut args = vec!["--format", "json", file];
        args.extend_from_slice(extra);
        let out = probe(&args);
        assert!(out.status.success(), "{extra:?}");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let track = &report["tracks"][0];
        assert_eq!(track["codec"], "pcm_u8", "{extra:?}");
        assert_eq!(track["rtp"]["encoding"], encoding, "{extra:?}");
        let sdp = report["sdp"].as_str().unwrap();
        assert!(
            sdp.contains(&format!(" {encoding}\r\n")),
            "{extra:?}: {sdp}"
        );
    }
}

/// `--sdp --srtp`: the description `serve` answers over RTSPS with SRTP,
/// a fresh key (the same in both attributes) and SSRC at each run; `--srtp`
/// alone is a usage error.
#[test]
fn sdp_with_srtp_keys_both_ways_and_fresh_each_run() {
    use mediatool::srtp::mikey::MikeyMessage;
    use mediatool::srtp::sdes::CryptoAttribute;
    let path = common::fixtures().join("h264_bframes.264");
    let path = path.to_str().unwrap();
    let run = || {
        let out = probe(&["--sdp", "--srtp", path]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let (first, second) = (run(), run());
    let plain = String::from_utf8(probe(&["--sdp", path]).stdout).unwrap();
    let keys = |sdp: &str| {
        let value = |name: &str| {
            let prefix = format!("a={name}:");
            sdp.lines()
                .find_map(|l| l.strip_prefix(prefix.as_str()))
                .unwrap_or_else(|| panic!("no a={name} in {sdp}"))
                .to_owned()
        };
        let sdes = CryptoAttribute::parse(&value("crypto")).unwrap();
        let mikey = MikeyMessage::parse_sdp_value(&value("key-mgmt")).unwrap();
        assert_eq!(sdes.key, mikey.key);
        (sdes.key, mikey.sessions[0].ssrc)
    };
    assert!(first.contains("m=video 0 RTP/SAVP 96\r\n"), "{first}");
    assert_ne!(keys(&first), keys(&second));
    // Otherwise the description is the plain one.
    let strip = |sdp: &str| -> String {
        sdp.lines()
            .filter(|l| !l.starts_with("a=crypto:") && !l.starts_with("a=key-mgmt:"))
            .map(|l| format!("{}\r\n", l.replace("RTP/SAVP", "RTP/AVP")))
            .collect()
    };
    assert_eq!(strip(&first), plain);
    let alone = Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--srtp", path])
        .output_bounded();
    assert_eq!(alone.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&alone.stderr).contains("--sdp"));
}
