//! `mediatool probe FILE`: what is in a file and the SDP `serve` would send.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, ValueEnum};
use comfy_table::{presets, Cell, CellAlignment, ContentArrangement, Table};
use mediatool::media::{self, MediaInfo, ReadOptions, TsMode};
use mediatool::probe::{ProbeReport, TrackReport};
use mediatool::rtp::{PayloadOptions, Pcm8};
use mediatool::sdp::{self, Destination, SrtpOffer};
use mediatool::srtp::{Policy, Suite};

/// Show a media file's container, tracks, codec parameters, exact duration
/// and frame counts, and the SDP that `serve` would send for it.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// The media file.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
    /// Print only the SDP that `serve` would send for this file.
    #[arg(long)]
    pub sdp: bool,
    /// With --sdp: the SDP `serve` sends over RTSPS with SRTP (RTP/SAVP, a=crypto and a=key-mgmt), with a fresh random key and SSRCs (serve makes new ones per session).
    #[arg(long, requires = "sdp")]
    pub srtp: bool,
    /// Read a transport stream (.ts, .m2ts) as `serve --ts-mode` does:
    /// its elementary streams, or the whole stream as one MP2T stream
    /// [default: tracks].
    #[arg(long, value_name = "MODE", value_parser = crate::serve::ts_mode_parser())]
    pub ts_mode: Option<TsMode>,
    /// How 8-bit PCM is sent, as `serve --pcm8` says: widened to L16 or
    /// as L8 (the RTP line and the SDP follow it) [default: l16].
    #[arg(long, value_name = "FORMAT", value_parser = crate::serve::pcm8_parser())]
    pub pcm8: Option<Pcm8>,
}

/// How `probe` prints its report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// A human-readable table.
    Table,
    /// JSON (keys as in ffprobe where one exists).
    Json,
    /// YAML, same keys as JSON.
    Yaml,
}

/// Inspects the file and prints the report.
pub fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    let options = ReadOptions {
        ts_mode: args.ts_mode.unwrap_or_default(),
    };
    let info = media::inspect_with(&args.file, &options).with_context(|| name.clone())?;
    let payload = PayloadOptions {
        pcm8: args.pcm8.unwrap_or_default(),
    };
    let report = ProbeReport::new(&info, &name, &payload);
    let text = if args.srtp {
        srtp_sdp(&info, &payload).with_context(|| name.clone())?
    } else if args.sdp {
        report
            .sdp
            .clone()
            .with_context(|| format!("{name}: no track can be streamed over RTP"))?
    } else {
        match args.format {
            OutputFormat::Table => table(&report),
            OutputFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
            OutputFormat::Yaml => serde_saphyr::to_string(&report)?,
        }
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    Ok(stdout.flush()?)
}

/// The SDP of an SRTP session on the file, as `serve` answers a DESCRIBE
/// over RTSPS: its policy for every client but live555 ones (which also
/// get an MKI), and a fresh key and SSRCs.
fn srtp_sdp(info: &MediaInfo, payload: &PayloadOptions) -> anyhow::Result<String> {
    let (tracks, _) = sdp::streamable_tracks(info, payload);
    anyhow::ensure!(!tracks.is_empty(), "no track can be streamed over RTP");
    let indices: Vec<usize> = tracks.iter().map(|t| t.index).collect();
    let offer = SrtpOffer::random(Policy::new(Suite::AesCm128HmacSha1_80), &indices)?;
    Ok(sdp::session_description(
        info,
        &tracks,
        IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Destination::Rtsp,
        Some(&offer),
    ))
}

/// The report as a summary followed by one table row per track.
fn table(report: &ProbeReport) -> String {
    let mut out = format!(
        "{}: {}, {:.3} s, {} bytes{}\n",
        report.path,
        report.format,
        report.duration_s,
        report.size_bytes,
        report
            .bit_rate
            .map(|b| format!(", {}", kbps(b)))
            .unwrap_or_default()
    );
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(vec![
        "#",
        "kind",
        "codec",
        "profile",
        "parameters",
        "frames",
        "duration",
        "bit rate",
        "RTP",
    ]);
    for t in &report.tracks {
        table.add_row(vec![
            Cell::new(t.index).set_alignment(CellAlignment::Right),
            Cell::new(t.kind),
            Cell::new(&t.codec),
            Cell::new(t.profile.as_deref().unwrap_or("")),
            Cell::new(parameters(t)),
            Cell::new(t.frames).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.3} s", t.duration_s)).set_alignment(CellAlignment::Right),
            Cell::new(t.bit_rate.map(kbps).unwrap_or_default()).set_alignment(CellAlignment::Right),
            Cell::new(t.rtp.as_ref().map_or_else(
                || "-".to_owned(),
                |r| format!("{} {}", r.payload_type, r.encoding),
            )),
        ]);
    }
    out.push_str(&table.to_string());
    out.push_str(if report.sdp.is_some() {
        "\n(mediatool probe --sdp prints the session description)\n"
    } else {
        "\n(no track can be streamed over RTP: serve and packetize refuse this file)\n"
    });
    out
}

/// Size, aspect, rate, level, tier and pixel format of a video track; rate,
/// channels and depth of audio.
fn parameters(t: &TrackReport) -> String {
    let mut parts = Vec::new();
    if let Some(v) = &t.video {
        parts.push(format!("{}x{}", v.width, v.height));
        if let Some(sar) = v.sample_aspect_ratio.as_deref().filter(|&s| s != "1:1") {
            parts.push(format!("SAR {sar}"));
        }
        if let Some(fps) = v.frame_rate {
            parts.push(format!("{} fps", trim_float(fps)));
        }
        if let Some(level) = &v.level_name {
            parts.push(format!("level {level}"));
        }
        if let Some(tier) = v.tier {
            parts.push(format!("{tier} tier"));
        }
        if let Some(pix_fmt) = v.pix_fmt {
            parts.push(pix_fmt.to_owned());
        }
    }
    if let Some(a) = &t.audio {
        parts.push(format!("{} Hz", a.sample_rate));
        parts.push(match a.channels {
            1 => "mono".to_owned(),
            2 => "stereo".to_owned(),
            n => format!("{n} channels"),
        });
        if let Some(bits) = a.bits_per_sample {
            parts.push(format!("{bits}-bit"));
        }
    }
    parts.join(", ")
}

fn kbps(bits_per_second: u64) -> String {
    format!("{} kb/s", (bits_per_second + 500) / 1000)
}

/// `x` with at most three decimals, trailing zeros dropped.
fn trim_float(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}
