//! `mediatool packetize FILE -o OUT.pcap`: the RTP packets `serve` would
//! send, written to a capture file.
//!
//! Two threads: [`producer`] reads and packetizes, this one frames the
//! packets into the [`capture`], counting the file's exact statistics on
//! the way ([`counting`]) for the SDP's `a=range`. The command line is
//! checked first ([`options`], [`paths`]), before any work.

mod capture;
mod counting;
mod interrupt;
mod options;
mod paths;
mod producer;

use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mediatool::media::{self, Demuxer, MediaInfo, ReadOptions, TrackStats, TsMode};
use mediatool::pcap::output::PartialFile;
use mediatool::pcap::rtsp::{controller_address, RtspSession, RtspStream, RTSP_PORT};
use mediatool::rtp::{PayloadOptions, Pcm8, SenderOptions};
use mediatool::rtsp::transport::Profile;
use mediatool::sdp::{self, Destination, SdpTrack, SrtpOffer};
use mediatool::srtp::SrtpKey;
use mediatool::stream::{MediaStream, PlayStart, StreamConfig, StreamTrack};

use capture::{estimated, Body, Framer, Head, Protection};
use counting::{CountedStats, CountingDemuxer};
use options::{check_options, check_payload_type, srtp_policy, Options};
use producer::Producer;

/// Write the RTP/RTCP packets that `serve` would send for FILE to a pcap.
#[derive(Debug, Args)]
pub struct PacketizeArgs {
    /// The media file.
    pub file: PathBuf,
    /// Capture file to write (`.pcapng` writes pcapng).
    #[arg(short, long, value_name = "OUT.pcap")]
    pub output: PathBuf,
    /// Also write the matching SDP here [default: OUT.sdp beside the pcap].
    #[arg(long, value_name = "FILE.sdp")]
    pub sdp: Option<PathBuf>,
    /// Destination of track 0; track i uses PORT + 2*i, RTCP on +1.
    #[arg(long, value_name = "IP:PORT", default_value_t = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 5004))]
    pub dest: SocketAddr,
    /// TTL of the packets when --dest is a multicast group [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..))]
    pub multicast_ttl: Option<u8>,
    /// Source address of the packets.
    #[arg(long, value_name = "IP", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub source: IpAddr,
    /// Largest IP packet in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1500)]
    pub mtu: usize,
    /// Only this track (repeatable) [default: all].
    #[arg(long, value_name = "N")]
    pub track: Vec<usize>,
    /// SSRC of the first track, in hex [default: random].
    #[arg(long, value_name = "HEX")]
    pub ssrc: Option<String>,
    /// First RTP sequence number of the first track [default: random].
    #[arg(long, value_name = "N")]
    pub seq: Option<u16>,
    /// RTP timestamp base of the first track: its RTP time when the first packet goes out [default: random].
    #[arg(long, value_name = "N")]
    pub timestamp: Option<u32>,
    /// RTP payload type of the first track: 96-127, or its codec's static one [default: per codec].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=127))]
    pub pt: Option<u8>,
    /// Capture time of the first packet, RFC 3339 [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub start_time: Option<String>,
    /// Leave out the synthetic RTSP exchange that lets Wireshark decode the RTP streams.
    #[arg(long)]
    pub no_rtsp: bool,
    /// Write SRTP and SRTCP (AES_CM_128_HMAC_SHA1_80) under a fresh random key, given in the SDP as a=crypto and a=key-mgmt.
    #[arg(long)]
    pub srtp: bool,
    /// How a transport stream (.ts, .m2ts) is sent: one RTP stream per
    /// elementary stream, or the whole stream as one MP2T (RFC 2250)
    /// stream of TS packets paced by its PCR [default: tracks].
    #[arg(long, value_name = "MODE", value_parser = crate::serve::ts_mode_parser())]
    pub ts_mode: Option<TsMode>,
    /// How 8-bit PCM (8-bit WAV) is sent, as `serve --pcm8` says: widened
    /// to L16, which every client plays, or as L8 (RFC 3551) [default: l16].
    #[arg(long, value_name = "FORMAT", value_parser = crate::serve::pcm8_parser())]
    pub pcm8: Option<Pcm8>,
}

/// First UDP port of the sender's side (live555 and Darwin use 6970).
const SERVER_PORT: u16 = 6970;

/// Input read before the size of the capture's head is estimated (when
/// the file does not state its duration); the packets of that much input
/// are held in memory until then.
const EARLY_INPUT: u64 = 8 << 20;

/// How long the synthetic RTSP exchange lasts in the capture (the media
/// starts right after it): generous for any number of segments.
const RTSP_EXCHANGE_TIME: Duration = Duration::from_millis(10);

/// Packetizes the file into the capture, reading it once: the statistics
/// for the SDP's `a=range` (which the RTSP exchange at the head of the
/// capture carries) are counted on the way, and the head is written last.
/// The capture and the SDP are written under temporary names and renamed
/// into place only when both are complete.
pub fn run(args: PacketizeArgs, quiet: bool) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    let options = check_options(&args)?;
    check_output_dir(&args.output)?;
    // From here on a signal removes what was written.
    interrupt::install().context("cannot install the SIGINT/SIGTERM handler")?;
    let sdp_file = PartialFile::create(&options.sdp_path)
        .map_err(|e| anyhow!("cannot create {}: {e}", options.sdp_path.display()))?;

    let read = ReadOptions {
        ts_mode: args.ts_mode.unwrap_or_default(),
    };
    let (demuxer, input) = Input::open(&args.file, &read).with_context(|| name.clone())?;
    let media_start = options.start
        + if args.no_rtsp {
            Duration::ZERO
        } else {
            RTSP_EXCHANGE_TIME
        };
    let config = stream_config(&args, &options, &input.info, media_start);
    let mut stream = MediaStream::new(demuxer, config).with_context(|| name.clone())?;
    let tracks = stream.tracks();
    if let (Some(pt), Some(first)) = (args.pt, tracks.first()) {
        check_payload_type(pt, &first.description)?;
    }
    let addresses = addresses(&args, tracks.len())?;
    let play = stream.play(media_start);
    let srtp = match args.srtp {
        true => Some(srtp_offer(&tracks)?),
        false => None,
    };
    let head = Head {
        format: options.format,
        source: args.source,
        start: options.start,
        mss: args
            .mtu
            .saturating_sub(if args.dest.is_ipv6() { 60 } else { 40 }),
        rtsp: (!args.no_rtsp).then(|| rtsp_session(&args, &options, &tracks, &play, &addresses)),
        tracks: sdp_tracks(&tracks),
        target: options.target,
        srtp: srtp.clone(),
    };
    let mut framer = Framer {
        output: args.output.clone(),
        addresses,
        positions: track_positions(&tracks),
        media_start,
        multicast_ttl: options.target.ttl,
        srtp: srtp.as_ref().map(Protection::new),
    };
    let mut body = Body::Early(Vec::new());
    if input.stated {
        body.start(&mut framer, &head, &input.info)?;
    }
    let progress = progress_bar(quiet, &args.file);
    let producer = Producer::spawn(stream);
    write_packets(
        &producer,
        &mut body,
        &mut framer,
        &head,
        &input.info,
        progress.as_ref(),
        &name,
    )?;
    interrupt::check()?;
    let info = input.exact_info(&name)?;
    body.start(&mut framer, &head, &info)?;
    let packets = finish_outputs(body, &head, &info, &args, &options, sdp_file)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    tracing::info!(
        "{name}: {packets} packets to {} and {}",
        args.output.display(),
        options.sdp_path.display()
    );
    Ok(())
}

/// Checks that the directory the capture goes in exists, before any work
/// is done (the file itself is created once the size of its head is known).
fn check_output_dir(output: &Path) -> anyhow::Result<()> {
    let out_dir = match output.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    if let Err(e) = std::fs::read_dir(out_dir) {
        bail!("cannot create {}: {e}", output.display());
    }
    Ok(())
}

/// The input file and its exact statistics for the SDP's a=range, as
/// `serve` announces them: stated by the container, or counted while
/// packetizing.
struct Input {
    /// The file, with the stated statistics, or zeros until counted.
    info: MediaInfo,
    /// Whether the container stated the statistics.
    stated: bool,
    /// The counted statistics, once the end of the file is read.
    counted: CountedStats,
}

impl Input {
    /// Opens the file for its one pass: the reader (behind a
    /// [`CountingDemuxer`] unless the statistics are stated) and the input.
    fn open(file: &Path, options: &ReadOptions) -> anyhow::Result<(Box<dyn Demuxer>, Input)> {
        let demuxer = media::open_with(file, options)?;
        let stated = demuxer.stats();
        let counted = Arc::new(Mutex::new(None));
        let info = MediaInfo::new(
            file,
            demuxer.format(),
            demuxer.tracks().to_vec(),
            stated
                .clone()
                .unwrap_or_else(|| vec![TrackStats::default(); demuxer.tracks().len()]),
        )?;
        let demuxer: Box<dyn Demuxer> = match stated {
            Some(_) => demuxer,
            None => Box::new(CountingDemuxer::new(demuxer, Arc::clone(&counted))),
        };
        let input = Input {
            info,
            stated: stated.is_some(),
            counted,
        };
        Ok((demuxer, input))
    }

    /// The file with its exact statistics, once the stream has ended.
    fn exact_info(&self, name: &str) -> anyhow::Result<MediaInfo> {
        match self.counted.lock().map(|mut c| c.take()) {
            Ok(Some(stats)) => Ok(MediaInfo {
                stats,
                ..self.info.clone()
            }),
            _ if self.stated => Ok(self.info.clone()),
            _ => bail!("{name}: the stream ended before the end of the file"),
        }
    }
}

/// The stream's configuration: the tracks asked for, the payload size the
/// MTU leaves, the capture's CNAME, and the first track's RTP header
/// fields from the options.
fn stream_config(
    args: &PacketizeArgs,
    options: &Options,
    info: &MediaInfo,
    media_start: SystemTime,
) -> StreamConfig {
    let mut config = StreamConfig {
        tracks: args.track.clone(),
        max_payload: options.max_payload,
        // RFC 3550 §6.5.1 allows user@IP: the capture's own address, not
        // the name of the machine that made it.
        cname: format!("mediatool@{}", args.source),
        wallclock: media_start,
        payload: payload_options(args),
        ..StreamConfig::default()
    };
    let first = args
        .track
        .first()
        .copied()
        .or_else(|| first_streamable(info, &config.payload));
    if let Some(first) = first {
        config.senders.insert(
            first,
            SenderOptions {
                ssrc: options.ssrc,
                sequence: args.seq,
                timestamp: args.timestamp,
                payload_type: args.pt,
            },
        );
    }
    config
}

/// The SDP's view of the streamed tracks, with the payload type actually
/// in the headers.
fn sdp_tracks(tracks: &[StreamTrack]) -> Vec<SdpTrack> {
    tracks
        .iter()
        .map(|t| {
            let mut payload = t.description.clone();
            payload.static_payload_type = Some(t.payload_type);
            SdpTrack {
                index: t.index,
                payload,
            }
        })
        .collect()
}

/// File track index -> position among the streamed tracks.
fn track_positions(tracks: &[StreamTrack]) -> Vec<usize> {
    let max = tracks.iter().map(|t| t.index).max().unwrap_or(0);
    let mut positions = vec![0; max + 1];
    for (i, t) in tracks.iter().enumerate() {
        positions[t.index] = i;
    }
    positions
}

/// Frames the producer's packets into the body of the capture as they
/// come. Until the body is started (the input stated no duration), the
/// packets of the first [`EARLY_INPUT`] bytes are held, then the size of
/// the head is estimated from the time they cover.
fn write_packets(
    producer: &Producer,
    body: &mut Body,
    framer: &mut Framer,
    head: &Head,
    info: &MediaInfo,
    progress: Option<&ProgressBar>,
    name: &str,
) -> anyhow::Result<()> {
    for batch in &producer.batches {
        interrupt::check()?;
        let (mut packets, bytes_read) = batch.with_context(|| name.to_owned())?;
        match body {
            Body::Writing { writer, .. } => {
                for packet in packets.drain(..) {
                    framer.write(writer, packet)?;
                }
                producer.give_back(packets, writer.take_written());
            }
            Body::Early(early) => {
                early.append(&mut packets);
                if bytes_read >= EARLY_INPUT {
                    let seconds = early.last().map_or(0.0, |p| p.send_time.as_secs_f64())
                        * info.size as f64
                        / bytes_read as f64;
                    body.start(framer, head, &estimated(info, seconds))?;
                }
            }
        }
        if let Some(bar) = progress {
            bar.set_position(bytes_read);
        }
    }
    Ok(())
}

/// Completes both outputs, and renames them into place: the capture's
/// records, the SDP, the capture's head in the region reserved for it. A
/// capture whose SDP cannot be renamed is removed. Returns the number of
/// packets written.
fn finish_outputs(
    body: Body,
    head: &Head,
    info: &MediaInfo,
    args: &PacketizeArgs,
    options: &Options,
    sdp_file: PartialFile,
) -> anyhow::Result<u64> {
    let Body::Writing { capture, writer } = body else {
        bail!("{}: the capture was not started", args.output.display());
    };
    let write_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", args.output.display());
    let packets = writer.packets();
    writer.finish().map_err(write_err)?;
    let sdp_text = sdp::session_description(
        info,
        &head.tracks,
        args.source,
        Destination::Udp(options.target),
        head.srtp.as_ref(),
    );
    let sdp_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", options.sdp_path.display());
    sdp_file
        .file()
        .write_all(sdp_text.as_bytes())
        .map_err(sdp_err)?;
    capture
        .finish(&head.render(info).map_err(write_err)?)
        .map_err(write_err)?;
    if let Err(e) = sdp_file.persist() {
        // Not a capture without its SDP.
        let _ = std::fs::remove_file(&args.output);
        return Err(sdp_err(e));
    }
    Ok(packets)
}

/// Each streamed track's sender and receiver RTP addresses: track `i` on
/// the ports 2 `i` after [`SERVER_PORT`] and after `--dest`'s, RTCP on the
/// next ones (RFC 3550 §11).
fn addresses(args: &PacketizeArgs, tracks: usize) -> anyhow::Result<Vec<(SocketAddr, SocketAddr)>> {
    let port = |i: usize, base: u16| -> anyhow::Result<u16> {
        u16::try_from(usize::from(base) + 2 * i + 1)
            .map(|p| p - 1)
            .map_err(|_| anyhow!("--dest port {base}: track {i} would need a port above 65535"))
    };
    (0..tracks)
        .map(|i| {
            Ok((
                SocketAddr::new(args.source, port(i, SERVER_PORT)?),
                SocketAddr::new(args.dest.ip(), port(i, args.dest.port())?),
            ))
        })
        .collect()
}

/// The RTSP exchange that sets up `tracks` (all but its SDP, which
/// states the duration known only at the end).
fn rtsp_session(
    args: &PacketizeArgs,
    options: &Options,
    tracks: &[StreamTrack],
    play: &PlayStart,
    addresses: &[(SocketAddr, SocketAddr)],
) -> RtspSession {
    RtspSession {
        server: SocketAddr::new(args.source, RTSP_PORT),
        // A controller directs the media to --dest: see
        // mediatool::pcap::rtsp for why not the receiver itself.
        client: controller_address(args.dest.ip(), args.source),
        destination: args.dest.ip(),
        ttl: options.target.ttl.unwrap_or_default(),
        path: args.file.file_name().map_or_else(
            || args.file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        sdp: String::new(),
        profile: if args.srtp {
            Profile::Savp
        } else {
            Profile::Avp
        },
        range: "npt=0.000-".into(),
        streams: tracks
            .iter()
            .zip(&play.rtp_info)
            .zip(addresses)
            .map(|((t, info), (server, client))| RtspStream {
                control: sdp::track_control(t.index),
                client_port: client.port(),
                server_port: server.port(),
                ssrc: t.ssrc,
                sequence: info.sequence,
                rtptime: info.rtptime,
            })
            .collect(),
    }
}

/// A fresh key for the streamed `tracks`, with their SSRCs.
fn srtp_offer(tracks: &[StreamTrack]) -> anyhow::Result<SrtpOffer> {
    let ssrcs: Vec<(usize, u32)> = tracks.iter().map(|t| (t.index, t.ssrc)).collect();
    Ok(SrtpOffer::new(SrtpKey::random()?, srtp_policy(), &ssrcs)?)
}

/// The first track of the file RTP can carry (the one `--ssrc`, `--seq`,
/// `--timestamp` and `--pt` apply to when no `--track` is given).
fn first_streamable(info: &media::MediaInfo, payload: &PayloadOptions) -> Option<usize> {
    sdp::streamable_tracks(info, payload)
        .0
        .first()
        .map(|t| t.index)
}

/// The payload formats the flags choose.
fn payload_options(args: &PacketizeArgs) -> PayloadOptions {
    PayloadOptions {
        pcm8: args.pcm8.unwrap_or_default(),
    }
}

/// A bar on stderr, only when it is a terminal.
fn progress_bar(quiet: bool, file: &Path) -> Option<ProgressBar> {
    if quiet || !std::io::stderr().is_terminal() {
        return None;
    }
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} packetizing [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(bar)
}
