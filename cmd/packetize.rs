//! `mediatool packetize FILE -o OUT.pcap`: the RTP packets `serve` would
//! send, written to a capture file.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;

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

/// Packetizes the file into the capture.
pub fn run(_args: PacketizeArgs, _quiet: bool) -> anyhow::Result<()> {
    anyhow::bail!("`packetize` is not implemented yet (issue 3)")
}
