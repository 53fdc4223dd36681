//! `mediatool packetize FILE -o OUT.pcap`: the RTP packets `serve` would
//! send, written to a capture file.

use std::fs::File;
use std::io::{IsTerminal, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mediatool::media::{
    self, AccessUnit, Demuxer, Format, MediaInfo, StatsCounter, Track, TrackStats,
};
use mediatool::pcap::output::{HeadedCapture, PartialFile};
use mediatool::pcap::rtsp::{controller_address, RtspSession, RtspStream, RTSP_PORT};
use mediatool::pcap::{CaptureFormat, CaptureWriter};
use mediatool::rtp::SenderOptions;
use mediatool::sdp::{self, Destination, SdpTrack};
use mediatool::stream::{
    max_payload_for_mtu, MediaStream, PacketKind, PacketParts, StreamConfig, StreamError,
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

/// Input read before the size of the capture's head is estimated (when
/// the file does not state its duration); the packets of that much input
/// are held in memory until then.
const EARLY_INPUT: u64 = 8 << 20;

/// Batches of packets and the input bytes read so far, or the error that
/// ended the stream.
type Batch = Result<(Vec<PacketParts>, u64), StreamError>;

/// Packetizes the file into the capture, reading it once: the statistics
/// for the SDP's `a=range` (which the RTSP exchange at the head of the
/// capture carries) are counted on the way, and the head is written last.
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

    let demuxer = media::open(&args.file).with_context(|| name.clone())?;
    // The exact statistics for the SDP's a=range, as `serve` announces
    // them: stated by the container, or counted while packetizing.
    let stated = demuxer.stats();
    let counted = Arc::new(Mutex::new(None));
    let info = MediaInfo::new(
        &args.file,
        demuxer.format(),
        demuxer.tracks().to_vec(),
        stated
            .clone()
            .unwrap_or_else(|| vec![TrackStats::default(); demuxer.tracks().len()]),
    )
    .with_context(|| name.clone())?;
    let demuxer: Box<dyn Demuxer> = match stated {
        Some(_) => demuxer,
        None => Box::new(Counting::new(demuxer, Arc::clone(&counted))),
    };
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

    let play = stream.play(rtsp_end);
    let head = Head {
        format: CaptureFormat::for_path(&args.output),
        source: args.source,
        start,
        mss: args
            .mtu
            .saturating_sub(if args.dest.is_ipv6() { 60 } else { 40 }),
        rtsp: (!args.no_rtsp).then(|| RtspSession {
            server: SocketAddr::new(args.source, RTSP_PORT),
            // A controller directs the media to --dest: see
            // mediatool::pcap::rtsp for why not the receiver itself.
            client: controller_address(args.dest.ip()),
            destination: args.dest.ip(),
            path: args
                .file
                .file_name()
                .map_or_else(|| name.clone(), |n| n.to_string_lossy().into_owned()),
            sdp: String::new(),
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
        }),
        tracks: sdp_tracks.clone(),
        dest: args.dest,
    };
    let framer = Framer {
        output: args.output.clone(),
        addresses,
        positions: {
            let max = tracks.iter().map(|t| t.index).max().unwrap_or(0);
            let mut v = vec![0; max + 1];
            for (i, t) in tracks.iter().enumerate() {
                v[t.index] = i;
            }
            v
        },
        media_start: rtsp_end,
    };
    let mut body = Body::Early(Vec::new());
    if stated.is_some() {
        body.start(&framer, &head, &info)?;
    }
    let progress = progress_bar(quiet, &args.file);
    // Two threads: one reads and packetizes, this one frames and writes.
    let producer = Producer::spawn(stream);
    for batch in &producer.batches {
        let (mut packets, bytes_read) = batch.with_context(|| name.clone())?;
        match &mut body {
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
                    body.start(&framer, &head, &estimated(&info, seconds))?;
                }
            }
        }
        if let Some(bar) = &progress {
            bar.set_position(bytes_read);
        }
    }
    let info = match counted.lock().map(|mut c| c.take()) {
        Ok(Some(stats)) => MediaInfo { stats, ..info },
        _ if stated.is_some() => info,
        _ => bail!("{name}: the stream ended before the end of the file"),
    };
    body.start(&framer, &head, &info)?;
    let Body::Writing { capture, writer } = body else {
        bail!("{}: the capture was not started", args.output.display());
    };
    let write_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", args.output.display());
    let packets = writer.packets();
    writer.finish().map_err(write_err)?;
    capture
        .finish(&head.render(&info).map_err(write_err)?)
        .map_err(write_err)?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let sdp_path = args
        .sdp
        .clone()
        .unwrap_or_else(|| args.output.with_extension("sdp"));
    let sdp_text =
        sdp::session_description(&info, &sdp_tracks, args.source, Destination::Udp(args.dest));
    let sdp_file = PartialFile::create(&sdp_path)
        .map_err(|e| anyhow!("cannot create {}: {e}", sdp_path.display()))?;
    sdp_file
        .file()
        .write_all(sdp_text.as_bytes())
        .and_then(|()| sdp_file.persist())
        .map_err(|e| anyhow!("cannot write {}: {e}", sdp_path.display()))?;
    tracing::info!(
        "{name}: {packets} packets to {} and {}",
        args.output.display(),
        sdp_path.display()
    );
    Ok(())
}

/// What the head of the capture holds: the file header, then unless
/// `--no-rtsp` the RTSP exchange, whose DESCRIBE reply carries the SDP
/// with the file's duration.
struct Head {
    format: CaptureFormat,
    source: IpAddr,
    start: SystemTime,
    /// TCP maximum segment size of the exchange.
    mss: usize,
    /// The exchange, all but its SDP.
    rtsp: Option<RtspSession>,
    tracks: Vec<SdpTrack>,
    /// Where the media go (the SDP's connection address and ports).
    dest: SocketAddr,
}

impl Head {
    /// The head's bytes for a file described by `info`.
    fn render(&self, info: &MediaInfo) -> std::io::Result<Vec<u8>> {
        let mut capture = CaptureWriter::new(Vec::new(), self.format, self.source)?;
        if let Some(rtsp) = &self.rtsp {
            let session = RtspSession {
                sdp: sdp::session_description(
                    info,
                    &self.tracks,
                    self.source,
                    Destination::RtspTo(self.dest),
                ),
                ..rtsp.clone()
            };
            session.write(&mut capture, self.start, self.mss)?;
        }
        capture.finish()
    }
}

/// Frames packets into the capture: each track's UDP ports, and capture
/// times from the media's send times.
struct Framer {
    output: PathBuf,
    /// Per streamed track: sender and receiver RTP addresses.
    addresses: Vec<(SocketAddr, SocketAddr)>,
    /// File track index -> position in `addresses`.
    positions: Vec<usize>,
    /// Capture time of send time zero.
    media_start: SystemTime,
}

impl Framer {
    fn write(&self, capture: &mut CaptureWriter<File>, packet: PacketParts) -> anyhow::Result<()> {
        let (server, client) = self.addresses[self.positions[packet.track]];
        let (src, dst) = match packet.kind {
            PacketKind::Rtp => (server, client),
            PacketKind::Rtcp => (
                SocketAddr::new(server.ip(), server.port() + 1),
                SocketAddr::new(client.ip(), client.port() + 1),
            ),
        };
        capture
            .write_udp_parts(
                self.media_start + packet.send_time,
                src,
                dst,
                &packet.head,
                packet.body,
            )
            .map_err(|e| anyhow!("cannot write {}: {e}", self.output.display()))
    }
}

/// Where the packets go: held back until the size of the capture's head
/// is known or estimated, then written after the region reserved for it.
enum Body {
    /// Packets held back.
    Early(Vec<PacketParts>),
    /// The capture being written.
    Writing {
        capture: HeadedCapture,
        writer: CaptureWriter<File>,
    },
}

impl Body {
    /// Unless started already: creates the capture with room for the head
    /// `head` has for `info`, and writes the packets held back.
    fn start(&mut self, framer: &Framer, head: &Head, info: &MediaInfo) -> anyhow::Result<()> {
        let Body::Early(early) = self else {
            return Ok(());
        };
        let output = &framer.output;
        let write_err = |e: std::io::Error| anyhow!("cannot write {}: {e}", output.display());
        let reserved = head.render(info).map_err(write_err)?.len() as u64;
        let capture = HeadedCapture::create(output, reserved)
            .map_err(|e| anyhow!("cannot create {}: {e}", output.display()))?;
        let file = capture.body().map_err(write_err)?;
        let mut writer =
            CaptureWriter::records_only(file, head.format, head.source).map_err(write_err)?;
        writer.keep_written();
        for packet in early.drain(..) {
            framer.write(&mut writer, packet)?;
        }
        *self = Body::Writing { capture, writer };
        Ok(())
    }
}

/// `info` with every track lasting `seconds`: for the size of the head
/// before the exact duration is known.
fn estimated(info: &MediaInfo, seconds: f64) -> MediaInfo {
    let stats = info
        .tracks
        .iter()
        .map(|t| TrackStats {
            duration: (seconds * f64::from(t.clock_rate)) as u64,
            ..TrackStats::default()
        })
        .collect();
    MediaInfo {
        stats,
        ..info.clone()
    }
}

/// A demuxer that counts the units read through it: the packetizing pass
/// gathers the exact statistics `media::inspect` reads the file for.
struct Counting {
    inner: Box<dyn Demuxer>,
    /// `None` once a seek or an error made the counts partial.
    counter: Option<StatsCounter>,
    /// The statistics, once the end of the file is reached.
    result: Arc<Mutex<Option<Vec<TrackStats>>>>,
}

impl Counting {
    fn new(inner: Box<dyn Demuxer>, result: Arc<Mutex<Option<Vec<TrackStats>>>>) -> Counting {
        Counting {
            counter: Some(StatsCounter::new(inner.tracks())),
            inner,
            result,
        }
    }
}

impl Demuxer for Counting {
    fn format(&self) -> Format {
        self.inner.format()
    }

    fn tracks(&self) -> &[Track] {
        self.inner.tracks()
    }

    fn read_unit(&mut self) -> media::Result<Option<AccessUnit>> {
        let unit = self
            .inner
            .read_unit()
            .inspect_err(|_| self.counter = None)?;
        match (&unit, self.counter.as_mut()) {
            (Some(unit), Some(counter)) => counter.add(unit),
            (None, Some(_)) => {
                let stats = self.counter.take().map(StatsCounter::finish);
                if let Ok(mut result) = self.result.lock() {
                    *result = stats;
                }
            }
            (_, None) => {}
        }
        Ok(unit)
    }

    fn seek(&mut self, time: Duration) -> media::Result<Duration> {
        self.counter = None;
        self.inner.seek(time)
    }
}

/// The packetizing thread: runs a stream, handing its packets over in
/// batches; the batches and the payloads written come back to it to be
/// freed there (see [`CaptureWriter::keep_written`]).
struct Producer {
    batches: Receiver<Batch>,
    returns: Sender<(Vec<PacketParts>, Vec<Bytes>)>,
}

impl Producer {
    /// Starts the thread; it ends when the stream does, fails, or the
    /// receiver is dropped.
    fn spawn(mut stream: MediaStream) -> Producer {
        let (tx, batches) = std::sync::mpsc::sync_channel::<Batch>(8);
        let (returns, returned) = std::sync::mpsc::channel::<(Vec<PacketParts>, Vec<Bytes>)>();
        std::thread::spawn(move || {
            let next_batch = || {
                let mut batch = None;
                // Frees what came back, keeping one batch's vector.
                while let Ok((vec, payloads)) = returned.try_recv() {
                    drop(payloads);
                    batch = Some(vec);
                }
                batch.unwrap_or_else(|| Vec::with_capacity(BATCH))
            };
            let mut batch = next_batch();
            loop {
                match stream.next_packet_parts() {
                    Ok(Some(packet)) => {
                        batch.push(packet);
                        if batch.len() < BATCH {
                            continue;
                        }
                        let full = std::mem::replace(&mut batch, next_batch());
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
        Producer { batches, returns }
    }

    /// Hands an emptied batch and the payloads written back to the thread.
    fn give_back(&self, batch: Vec<PacketParts>, payloads: Vec<Bytes>) {
        // Once the thread has ended, this thread frees them.
        let _ = self.returns.send((batch, payloads));
    }
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
