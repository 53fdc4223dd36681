//! `mediatool packetize FILE -o OUT.pcap`: the RTP packets `serve` would
//! send, written to a capture file.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mediatool::media;
use mediatool::pcap::rtsp::{RtspSession, RtspStream, RTSP_PORT};
use mediatool::pcap::{CaptureFormat, CaptureWriter};
use mediatool::rtp::SenderOptions;
use mediatool::sdp::{self, Destination, SdpTrack};
use mediatool::stream::{
    max_payload_for_mtu, MediaStream, OutgoingPacket, PacketKind, StreamConfig, StreamError,
};

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
    /// RTP payload type of the first track [default: per codec].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=127))]
    pub pt: Option<u8>,
    /// Capture time of the first packet, RFC 3339 [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub start_time: Option<String>,
    /// Leave out the synthetic RTSP exchange that lets Wireshark decode the RTP streams.
    #[arg(long)]
    pub no_rtsp: bool,
}

/// First UDP port of the sender's side (live555 and Darwin use 6970).
const SERVER_PORT: u16 = 6970;

/// Packets handed from the packetizing thread to the writing one at a time.
const BATCH: usize = 512;

/// Batches of packets and the input bytes read so far, or the error that
/// ended the stream.
type Batch = Result<(Vec<OutgoingPacket>, u64), StreamError>;

/// Packetizes the file into the capture.
pub fn run(args: PacketizeArgs, quiet: bool) -> anyhow::Result<()> {
    let name = args.file.display().to_string();
    if args.source.is_ipv4() != args.dest.is_ipv4() {
        bail!(
            "--source {} and --dest {} must both be IPv4 or both IPv6",
            args.source,
            args.dest
        );
    }
    let max_payload = max_payload_for_mtu(args.mtu, args.dest.is_ipv6()).ok_or_else(|| {
        anyhow!(
            "--mtu {}: too small for the IP, UDP and RTP headers ({} bytes)",
            args.mtu,
            if args.dest.is_ipv6() { 60 } else { 40 }
        )
    })?;
    let ssrc = args
        .ssrc
        .as_deref()
        .map(|s| {
            u32::from_str_radix(s.trim_start_matches("0x").trim_start_matches("0X"), 16)
                .map_err(|_| anyhow!("--ssrc {s}: not a 32-bit hexadecimal number"))
        })
        .transpose()?;
    let start = match &args.start_time {
        Some(text) => {
            let ts: jiff::Timestamp = text
                .parse()
                .map_err(|e| anyhow!("--start-time {text}: not an RFC 3339 time ({e})"))?;
            SystemTime::from(ts)
        }
        None => SystemTime::now(),
    };

    // The exact duration for the SDP's a=range, as `serve` announces it.
    let info = media::inspect(&args.file).with_context(|| name.clone())?;
    let demuxer = media::open(&args.file).with_context(|| name.clone())?;
    let mut config = StreamConfig {
        tracks: args.track.clone(),
        max_payload,
        ..StreamConfig::default()
    };
    let first = args
        .track
        .first()
        .copied()
        .or_else(|| first_streamable(&info));
    if let Some(first) = first {
        config.senders.insert(
            first,
            SenderOptions {
                ssrc,
                sequence: args.seq,
                timestamp: None,
                payload_type: args.pt,
            },
        );
    }
    let rtsp_end = start + rtsp_duration(args.no_rtsp);
    config.wallclock = rtsp_end;
    let mut stream = MediaStream::new(demuxer, config).with_context(|| name.clone())?;
    let tracks = stream.tracks();
    let sdp_tracks: Vec<SdpTrack> = tracks
        .iter()
        .map(|t| {
            let mut payload = t.description.clone();
            // The SDP shows the payload type actually in the headers.
            payload.static_payload_type = Some(t.payload_type);
            SdpTrack {
                index: t.index,
                payload,
            }
        })
        .collect();
    let port = |i: usize, base: u16| -> anyhow::Result<u16> {
        u16::try_from(usize::from(base) + 2 * i + 1)
            .map(|p| p - 1)
            .map_err(|_| anyhow!("--dest port {base}: track {i} would need a port above 65535"))
    };
    let mut addresses = Vec::new();
    for i in 0..tracks.len() {
        addresses.push((
            SocketAddr::new(args.source, port(i, SERVER_PORT)?),
            SocketAddr::new(args.dest.ip(), port(i, args.dest.port())?),
        ));
    }

    let sdp_path = args
        .sdp
        .clone()
        .unwrap_or_else(|| args.output.with_extension("sdp"));
    let sdp_text =
        sdp::session_description(&info, &sdp_tracks, args.source, Destination::Udp(args.dest));
    let mut output = PartialFile::create(&args.output)?;
    let format = CaptureFormat::for_path(&args.output);
    let mut capture = CaptureWriter::new(
        BufWriter::with_capacity(1 << 20, output.file()?),
        format,
        args.source,
    )
    .with_context(|| format!("cannot write {}", args.output.display()))?;
    let write_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", args.output.display());

    let play = stream.play(rtsp_end);
    if !args.no_rtsp {
        let session = RtspSession {
            server: SocketAddr::new(args.source, RTSP_PORT),
            client: args.dest,
            path: args
                .file
                .file_name()
                .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
            sdp: sdp::session_description(&info, &sdp_tracks, args.source, Destination::Rtsp),
            range: "npt=0.000-".into(),
            streams: tracks
                .iter()
                .zip(&play.rtp_info)
                .zip(&addresses)
                .map(|((t, info), (server, client))| RtspStream {
                    control: sdp::track_control(t.index),
                    client_port: client.port(),
                    server_port: server.port(),
                    ssrc: t.ssrc,
                    sequence: info.sequence,
                    rtptime: info.rtptime,
                })
                .collect(),
        };
        let mss = args
            .mtu
            .saturating_sub(if args.dest.is_ipv6() { 60 } else { 40 });
        session.write(&mut capture, start, mss).map_err(write_err)?;
    }

    let progress = progress_bar(quiet, &args.file);
    let positions: Vec<usize> = {
        let max = tracks.iter().map(|t| t.index).max().unwrap_or(0);
        let mut v = vec![0; max + 1];
        for (i, t) in tracks.iter().enumerate() {
            v[t.index] = i;
        }
        v
    };
    // Two threads: one reads and packetizes, this one frames and writes.
    let batches = produce_batches(stream);
    for batch in batches {
        let (packets, bytes_read) = batch.with_context(|| name.clone())?;
        for packet in packets {
            let (server, client) = addresses[positions[packet.track]];
            let (src, dst) = match packet.kind {
                PacketKind::Rtp => (server, client),
                PacketKind::Rtcp => (
                    SocketAddr::new(server.ip(), server.port() + 1),
                    SocketAddr::new(client.ip(), client.port() + 1),
                ),
            };
            capture
                .write_udp(rtsp_end + packet.send_time, src, dst, &packet.data)
                .map_err(write_err)?;
        }
        if let Some(bar) = &progress {
            bar.set_position(bytes_read);
        }
    }
    let packets = capture.packets();
    let mut out = capture.finish().map_err(write_err)?;
    out.flush().map_err(write_err)?;
    drop(out);
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    output.persist()?;
    let mut sdp_file = PartialFile::create(&sdp_path)?;
    sdp_file
        .file()?
        .write_all(sdp_text.as_bytes())
        .map_err(|e| anyhow!("cannot write {}: {e}", sdp_path.display()))?;
    sdp_file.persist()?;
    tracing::info!(
        "{name}: {packets} packets to {} and {}",
        args.output.display(),
        sdp_path.display()
    );
    Ok(())
}

/// Runs `stream` on its own thread, handing its packets over in batches.
/// The thread ends when the stream does, fails, or the receiver is dropped.
fn produce_batches(mut stream: MediaStream) -> std::sync::mpsc::IntoIter<Batch> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(8);
    std::thread::spawn(move || {
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            match stream.next_packet() {
                Ok(Some(packet)) => {
                    batch.push(packet);
                    if batch.len() < BATCH {
                        continue;
                    }
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                    if tx.send(Ok((full, stream.bytes_read()))).is_err() {
                        return;
                    }
                }
                Ok(None) => {
                    let _ = tx.send(Ok((batch, stream.bytes_read())));
                    return;
                }
                Err(e) => {
                    let _ = tx.send(Ok((batch, stream.bytes_read())));
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
    });
    rx.into_iter()
}

/// The first track of the file RTP can carry (the one `--ssrc`, `--seq`
/// and `--pt` apply to when no `--track` is given).
fn first_streamable(info: &media::MediaInfo) -> Option<usize> {
    sdp::streamable_tracks(info).0.first().map(|t| t.index)
}

/// How long the synthetic RTSP exchange lasts in the capture (the media
/// starts right after it): generous for any number of segments.
fn rtsp_duration(no_rtsp: bool) -> Duration {
    if no_rtsp {
        Duration::ZERO
    } else {
        Duration::from_millis(10)
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

/// An output file written under a temporary name in the same directory
/// and renamed into place only when complete, so an error never leaves a
/// partial file that looks finished. Dropped without
/// [`persist`](Self::persist), it is removed.
struct PartialFile {
    temp: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl PartialFile {
    fn create(target: &Path) -> anyhow::Result<PartialFile> {
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let file_name = target
            .file_name()
            .ok_or_else(|| anyhow!("{}: not a file name", target.display()))?;
        let temp = dir.join(format!(
            ".{}.partial-{}",
            file_name.to_string_lossy(),
            std::process::id()
        ));
        let file =
            File::create(&temp).map_err(|e| anyhow!("cannot create {}: {e}", target.display()))?;
        Ok(PartialFile {
            temp,
            target: target.to_owned(),
            file: Some(file),
        })
    }

    /// The open file (once).
    fn file(&mut self) -> anyhow::Result<File> {
        self.file
            .take()
            .ok_or_else(|| anyhow!("{} is already being written", self.target.display()))
    }

    fn persist(mut self) -> anyhow::Result<()> {
        self.file = None;
        std::fs::rename(&self.temp, &self.target)
            .map_err(|e| anyhow!("cannot write {}: {e}", self.target.display()))?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
