//! Helpers shared by the integration tests.
#![allow(dead_code, unused_imports)] // each test crate uses a different subset

mod bounded;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

pub use bounded::{label, wait_bounded, wait_with_output_bounded, Bounded};

/// The repository's `fixtures/` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// The hostile fixtures in `fixtures/bad/` that must still play, with a
/// warning: every loop over the media fixtures covers them too. A WAV whose
/// data size lies; files whose last frame is cut short (the truncation
/// policy serves their whole frames and drops the cut one).
pub const PLAYABLE_BAD_FIXTURES: [&str; 5] = [
    "bad/wav_lying_size.wav",
    "bad/frame_cut.mp2",
    "bad/last_frame_cut.mp3",
    "bad/last_frame_cut.aac",
    "bad/cut_then_tagged.aac",
];

/// Every media fixture a reader plays: the files at the top of `fixtures/`
/// (not the generator script, not `bad/`) and [`PLAYABLE_BAD_FIXTURES`].
pub fn media_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e != "sh" && e != "md"))
        .chain(PLAYABLE_BAD_FIXTURES.iter().map(|f| fixtures().join(f)))
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no media fixtures in {}",
        fixtures().display()
    );
    files
}

/// Media fixtures that no RTP payload format carries (E-AC-3: RFC 4598 is
/// not implemented): `probe` describes them, `packetize` refuses them and
/// `serve` answers 415 (tests/packetize_cli.rs checks both); the loops that
/// stream every fixture leave them out.
pub const UNSTREAMABLE_FIXTURES: [&str; 1] = ["audio_44k_5.1.eac3"];

/// The [`media_fixtures`] with a track RTP carries ([`streamable`]): the
/// fixtures `serve` and `packetize` stream. [`UNSTREAMABLE_FIXTURES`] are
/// among the others.
pub fn streamable_fixtures() -> Vec<PathBuf> {
    media_fixtures()
        .into_iter()
        .filter(|f| streamable(f))
        .collect()
}

/// Fixtures damaged on purpose whose decoding makes decoders complain (a
/// transport stream packet lost: the MPEG-2 frame it carried is damaged),
/// however whole the stream they are sent.
pub const DAMAGED_FIXTURES: [&str; 1] = ["ts_discontinuity.ts"];

/// Whether ffprobe finds more than one stream in `path`.
pub fn is_multitrack(path: &Path) -> bool {
    ffprobe_streams(path).len() > 1
}

/// The subcommands of `mediatool`, as its `--help` lists them (clap's
/// built-in `help` left out): derived from the clap model, so a new
/// subcommand is seen by every test that loops over them.
pub fn subcommands() -> Vec<String> {
    let out = Command::new(env!("CARGO_BIN_EXE_mediatool"))
        .arg("--help")
        .output_bounded();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    let listed = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands: section")
        .split("\n\n")
        .next()
        .unwrap_or("");
    // Entries are indented two spaces; wrapped descriptions more.
    let names: Vec<String> = listed
        .lines()
        .filter_map(|line| line.strip_prefix("  "))
        .filter(|line| !line.starts_with(' '))
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 5, "too few subcommands in --help: {help}");
    names
}

/// Whether an external tool (ffprobe, gst-launch-1.0, tshark...) can be run.
/// Missing tools skip the test on a developer machine, but fail it when
/// `CI=true`: CI installs them and must never skip silently.
pub fn require_tool(tool: &str) -> bool {
    let runs = |flag: &str| {
        let mut command = Command::new(tool);
        command
            .arg(flag)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command
            .spawn()
            .map(|mut child| wait_bounded(&mut child, &label(&command)))
            .is_ok()
    };
    let found = runs("-version") || runs("--version");
    if !found {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{tool} is required when CI=true but was not found on PATH");
        }
        eprintln!("skipping: {tool} not found (set CI=true to make this a failure)");
    }
    found
}

/// `gst-launch-1.0 -q --no-fault`: with `--no-fault` a crash of GStreamer
/// ends the process at once (a SIGSEGV was seen in CI), where its fault
/// handler would otherwise wait for a debugger to attach.
pub fn gst_launch() -> Command {
    let mut command = Command::new("gst-launch-1.0");
    command.args(["-q", "--no-fault"]);
    command
}

/// `ffprobe -count_frames -show_streams` of a file: its streams, with exact
/// frame counts (`nb_read_frames`). Panics when ffprobe fails.
pub fn ffprobe_streams(path: &Path) -> Vec<Value> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-show_streams",
            "-of",
            "json",
        ])
        .arg(path)
        .output_bounded();
    assert!(out.status.success(), "ffprobe failed on {}", path.display());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["streams"].as_array().cloned().unwrap_or_default()
}

/// One packet as ffprobe lists it.
#[derive(Clone, Debug)]
pub struct Packet {
    /// Its file offset, as the demuxer reports it (after junk that it
    /// skipped, not always where the packet's bytes are).
    pub pos: u64,
    /// Its size.
    pub size: u64,
    /// Its first bytes (up to 16), from ffprobe's hex dump.
    pub head: Vec<u8>,
}

/// A decoded frame as ffprobe lists it: its packet's file offset, its
/// samples.
type DecodedFrame = (u64, u64);

/// ffprobe's packets and decoded frames of the first audio stream of
/// `path`, in one run; `None` when ffprobe cannot read the file.
fn ffprobe_packets_and_frames(path: &Path) -> Option<(Vec<Packet>, Vec<DecodedFrame>)> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "a:0",
            "-of",
            "json",
            "-show_data",
        ])
        .args([
            "-show_entries",
            "packet=pos,size,data:frame=pkt_pos,nb_samples",
        ])
        .arg(path)
        .output_bounded();
    if !out.status.success() {
        return None;
    }
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let number = |item: &Value, key: &str| -> u64 {
        let value = &item[key];
        value
            .as_u64()
            .or_else(|| value.as_str().and_then(|v| v.parse().ok()))
            .unwrap_or_else(|| panic!("{}: ffprobe entry without {key}: {item}", path.display()))
    };
    // "\n00000000: fff1 4c40 ...  ..L@": the hex groups of the first line.
    let head = |item: &Value| -> Vec<u8> {
        let dump = item["data"].as_str().unwrap_or_default();
        let line = dump.trim_start().lines().next().unwrap_or_default();
        let hex = line.split_once(": ").map_or("", |(_, rest)| rest);
        let hex: String = hex
            .split("  ")
            .next()
            .unwrap_or_default()
            .split(' ')
            .collect();
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    let (mut packets, mut frames) = (Vec::new(), Vec::new());
    for item in json["packets_and_frames"].as_array().into_iter().flatten() {
        match item["type"].as_str() {
            Some("packet") => packets.push(Packet {
                pos: number(item, "pos"),
                size: number(item, "size"),
                head: head(item),
            }),
            Some("frame") => frames.push((number(item, "pkt_pos"), number(item, "nb_samples"))),
            other => panic!("{}: unexpected ffprobe entry {other:?}", path.display()),
        }
    }
    Some((packets, frames))
}

/// ffprobe's packets of the audio stream of `path`.
pub fn ffprobe_packets(path: &Path) -> Vec<Packet> {
    ffprobe_packets_and_frames(path)
        .unwrap_or_else(|| panic!("ffprobe failed on {}", path.display()))
        .0
}

/// The length an MPEG audio, ADTS or AC-3 frame header at the start of `bytes`
/// states.
pub fn stated_frame_len(bytes: &[u8]) -> Option<u64> {
    mediatool::codec::adts::AdtsHeader::parse(bytes)
        .map(|h| h.frame_len)
        .or_else(|| {
            mediatool::codec::mpeg_audio::FrameHeader::parse(bytes)
                .ok()
                .map(|h| h.frame_len)
        })
        .or_else(|| {
            mediatool::codec::ac3::SyncFrame::parse(bytes)
                .ok()
                .map(|h| h.frame_len)
        })
        .map(|n| n as u64)
}

/// What ffprobe decodes from the whole packets of an MPEG audio or ADTS
/// stream. FFmpeg's MP3 decoder also decodes a last frame cut short by the
/// end of the file (the bytes present, zeros beyond: `nb_read_frames`
/// counts it), which the truncation policy drops; its AAC decoder rejects
/// one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WholeFrames {
    /// Frames decoded from whole packets.
    pub frames: u64,
    /// Their samples (per channel), after the decoder's trimming.
    pub samples: u64,
    /// ffprobe listed a packet cut short by the end of the file.
    pub cut: bool,
}

/// Whether a track of `file` has an RTP payload format.
pub fn streamable(file: &Path) -> bool {
    let demuxer = mediatool::media::open(file).unwrap();
    demuxer
        .tracks()
        .iter()
        .any(|t| mediatool::rtp::packetizer(t).is_ok())
}

/// MPEG audio and ADTS files, whose frames state their lengths (so a cut
/// one is told from the whole ones).
pub fn is_audio_elementary_stream(path: &std::path::Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("mp3" | "mp2" | "aac")
    )
}

/// [`WholeFrames`] of the audio stream of `path`; `None` when ffprobe
/// cannot read the file at all.
pub fn ffprobe_whole_frames(path: &Path) -> Option<WholeFrames> {
    let (packets, decoded) = ffprobe_packets_and_frames(path)?;
    // Only the last packet can be cut short: the header ffprobe dumps
    // states more bytes than the packet has, or is itself cut (shorter
    // than the 7 bytes of an ADTS header, unparsable).
    let cut = packets.last().filter(|p| match stated_frame_len(&p.head) {
        Some(len) => len > p.size,
        None if p.size < 7 => true,
        None => panic!("{}: no frame header in {p:?}", path.display()),
    });
    let whole = decoded
        .iter()
        .filter(|(pos, _)| cut.is_none_or(|cut| cut.pos != *pos));
    Some(WholeFrames {
        frames: whole.clone().count() as u64,
        samples: whole.map(|(_, samples)| samples).sum(),
        cut: cut.is_some(),
    })
}

/// The chains of an Ogg file (RFC 3533 §4: a stream starting after data
/// pages starts a new chain), each written to its own file in `dir`; one
/// file for an unchained one. Walks the page headers from the start.
pub fn ogg_chains(file: &Path, dir: &Path) -> Vec<PathBuf> {
    let data = std::fs::read(file).unwrap();
    let mut starts = vec![0];
    let (mut pos, mut past_bos) = (0, false);
    while data.get(pos..pos + 4) == Some(b"OggS") && pos + 27 <= data.len() {
        let table = pos + 27 + usize::from(data[pos + 26]);
        let Some(lacing) = data.get(pos + 27..table) else {
            break;
        };
        let bos = data[pos + 5] & 2 != 0;
        if bos && past_bos {
            starts.push(pos);
        }
        past_bos = !bos;
        pos = table + lacing.iter().map(|&v| usize::from(v)).sum::<usize>();
    }
    starts.push(data.len());
    let name = file.file_name().unwrap().to_string_lossy();
    starts
        .windows(2)
        .enumerate()
        .map(|(i, chain)| {
            let part = dir.join(format!("{i}-{name}"));
            std::fs::write(&part, &data[chain[0]..chain[1]]).unwrap();
            part
        })
        .collect()
}

/// The samples a decoder outputs for Ogg Vorbis or Opus stream `index` of
/// `file` received over RTP: every packet in full, as ffprobe decodes them
/// (`nb_samples` of its frames) plus what ffprobe trims and RTP does not
/// carry (the pre-skip and the end trimming of the last page's granule
/// position: its `skip_samples` and `discard_padding`); for a chained file,
/// chain by chain, each read alone, plus, for Vorbis, what the first packet
/// of each later chain completes with the last one of the chain before
/// ([`vorbis_chain_overlaps`]).
pub fn ogg_rtp_samples(file: &Path, index: usize) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    let chains = ogg_chains(file, dir.path());
    // Opus packets decode whole whatever precedes them: no overlap.
    let mut total: u64 = vorbis_chain_overlaps(file, index).iter().sum();
    for part in chains {
        let out = Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", &index.to_string()])
            .args(["-show_frames", "-show_packets", "-of", "json"])
            .args([
                "-show_entries",
                "frame=nb_samples:packet_side_data=skip_samples,discard_padding",
            ])
            .arg(&part)
            .output_bounded();
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let field = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
        // Both lists come as one, "packets_and_frames", each entry typed.
        for entry in json["packets_and_frames"].as_array().unwrap() {
            total += field(entry, "nb_samples");
            for side in entry["side_data_list"].as_array().into_iter().flatten() {
                total += field(side, "skip_samples") + field(side, "discard_padding");
            }
        }
    }
    total
}

/// For each chain after the first of Vorbis track `index` (none for other
/// codecs): the samples its first packet completes with the last packet of
/// the chain before (Vorbis I §1.3.2: a quarter of each block size), which
/// a decoder receiving both under one RTP configuration outputs, as it does
/// not restart between them. Chains start where the reader puts a packet of
/// no duration after the first.
pub fn vorbis_chain_overlaps(file: &Path, index: usize) -> Vec<u64> {
    use mediatool::codec::vorbis::{samples_between, VorbisTiming};
    use mediatool::codec::xiph::XiphHeaders;
    let mut demuxer = mediatool::media::open(file).unwrap();
    let track = &demuxer.tracks()[index];
    if track.codec != mediatool::vocab::Codec::Vorbis {
        return Vec::new();
    }
    let headers = XiphHeaders::from_codec_private(&track.config.extradata).unwrap();
    let timing = VorbisTiming::from_headers(&headers).unwrap();
    let mut overlaps = Vec::new();
    let mut previous: Option<bytes::Bytes> = None;
    while let Some(unit) = demuxer.read_unit().unwrap() {
        if unit.track != index {
            continue;
        }
        if let (Some(last), 0) = (&previous, unit.duration) {
            let (a, b) = (
                timing.blocksize(last).unwrap(),
                timing.blocksize(&unit.data).unwrap(),
            );
            overlaps.push(u64::from(samples_between(a, b)));
        }
        previous = Some(unit.data);
    }
    overlaps
}

/// The samples ffprobe decodes from each audio stream of `file`, by
/// stream index.
pub fn ffprobe_decoded_samples(file: &Path) -> std::collections::HashMap<usize, u64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "quiet",
            "-show_entries",
            "frame=stream_index,nb_samples",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .output_bounded();
    assert!(out.status.success(), "ffprobe failed on {}", file.display());
    let mut samples = std::collections::HashMap::new();
    // One line a frame, `index,nb_samples` (video frames: `index,`),
    // blank lines between.
    let text = String::from_utf8_lossy(&out.stdout);
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut fields = line.split(',');
        let index: usize = fields.next().unwrap().parse().unwrap();
        match fields.next().unwrap_or("") {
            "" => {}
            count => *samples.entry(index).or_insert(0) += count.parse::<u64>().unwrap(),
        }
    }
    samples
}
