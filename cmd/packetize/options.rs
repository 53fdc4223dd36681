//! The options of `packetize` checked and parsed before the input is
//! opened, so that a mistake costs no work.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail};
use mediatool::pcap::CaptureFormat;
use mediatool::rtp::{PayloadDescription, DYNAMIC_PT};
use mediatool::sdp::Target;
use mediatool::srtp::{Policy, Suite};
use mediatool::stream::max_payload_for_mtu;

use super::PacketizeArgs;

/// The largest IP packet: IPv4's 16-bit total length (RFC 791 §3.1).
const MAX_MTU: usize = 65535;

/// The options checked and parsed, before the input is opened.
pub struct Options {
    pub max_payload: usize,
    pub ssrc: Option<u32>,
    pub start: SystemTime,
    pub format: CaptureFormat,
    pub sdp_path: PathBuf,
    /// Where the media go, with the TTL of a multicast group.
    pub target: Target,
}

/// The TTL of packets to a multicast `--dest` when `--multicast-ttl` is
/// not given: the subnet (RFC 1112 §6.1), as `serve` defaults to.
const DEFAULT_MULTICAST_TTL: u8 = 1;

/// Checks the options that need no input, so that a mistake costs no work.
pub fn check_options(args: &PacketizeArgs) -> anyhow::Result<Options> {
    if args.source.is_ipv4() != args.dest.is_ipv4() {
        bail!(
            "--source {} and --dest {} must both be IPv4 or both IPv6",
            args.source,
            args.dest
        );
    }
    let target = check_addresses(args)?;
    if args.mtu > MAX_MTU {
        bail!(
            "--mtu {}: larger than an IP packet can be ({MAX_MTU})",
            args.mtu
        );
    }
    // SRTP's tag counts against the MTU like a header.
    let tag = if args.srtp {
        srtp_policy().rtp_overhead()
    } else {
        0
    };
    let max_payload = args
        .mtu
        .checked_sub(tag)
        .and_then(|mtu| max_payload_for_mtu(mtu, args.dest.is_ipv6()))
        .ok_or_else(|| {
            anyhow!(
                "--mtu {}: too small for the IP, UDP and RTP headers{} ({} bytes)",
                args.mtu,
                if args.srtp { " and the SRTP tag" } else { "" },
                if args.dest.is_ipv6() { 60 } else { 40 } + tag
            )
        })?;
    let ssrc = args.ssrc.as_deref().map(parse_ssrc).transpose()?;
    let format = CaptureFormat::for_path(&args.output);
    let start = match &args.start_time {
        Some(text) => parse_start_time(text, format)?,
        None => SystemTime::now(),
    };
    let sdp_path = args
        .sdp
        .clone()
        .unwrap_or_else(|| args.output.with_extension("sdp"));
    super::paths::check_paths(&args.file, &args.output, &sdp_path)?;
    Ok(Options {
        max_payload,
        ssrc,
        start,
        format,
        sdp_path,
        target,
    })
}

/// The SRTP policy of `--srtp`: `AES_CM_128_HMAC_SHA1_80`, encrypted,
/// without MKI (what ffmpeg, GStreamer's `srtpdec` and libsrtp read).
pub fn srtp_policy() -> Policy {
    Policy::new(Suite::AesCm128HmacSha1_80)
}

/// `--dest` and `--source`: the destination a unicast address or a
/// multicast group and a port other than 0, the source a unicast address;
/// `--multicast-ttl` only for a group. Broadcast (255.255.255.255) is
/// refused: no RTSP client sets up a stream to it.
fn check_addresses(args: &PacketizeArgs) -> anyhow::Result<Target> {
    let dest = args.dest;
    let unicast = |ip: IpAddr| {
        !ip.is_unspecified() && !ip.is_multicast() && ip != IpAddr::V4(Ipv4Addr::BROADCAST)
    };
    if dest.port() == 0 {
        bail!("--dest {dest}: port 0 is not a port packets can go to");
    }
    if dest.ip() == IpAddr::V4(Ipv4Addr::BROADCAST) {
        bail!("--dest {dest}: broadcast is not supported (a unicast address or a multicast group)");
    }
    if dest.ip().is_unspecified() {
        bail!("--dest {dest}: not an address packets can go to");
    }
    if !unicast(args.source) {
        bail!("--source {}: not a unicast address", args.source);
    }
    let ttl = match (dest.ip().is_multicast(), args.multicast_ttl) {
        (true, ttl) => Some(ttl.unwrap_or(DEFAULT_MULTICAST_TTL)),
        (false, None) => None,
        (false, Some(_)) => bail!("--multicast-ttl: --dest {dest} is not a multicast group"),
    };
    Ok(Target { address: dest, ttl })
}

/// `--ssrc`: 32 bits in hexadecimal, with or without `0x`.
fn parse_ssrc(text: &str) -> anyhow::Result<u32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    digits
        .bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| u32::from_str_radix(digits, 16).ok())
        .flatten()
        .ok_or_else(|| anyhow!("--ssrc {text}: not a 32-bit hexadecimal number"))
}

/// `--start-time`: an RFC 3339 time the capture format can record
/// (classic pcap: seconds since 1970 in 32 bits; pcapng: nanoseconds
/// since 1970 in 64 bits).
fn parse_start_time(text: &str, format: CaptureFormat) -> anyhow::Result<SystemTime> {
    let ts: jiff::Timestamp = text
        .parse()
        .map_err(|e| anyhow!("--start-time {text}: not an RFC 3339 time ({e})"))?;
    let start = SystemTime::from(ts);
    let since_epoch = start
        .duration_since(UNIX_EPOCH)
        .map_err(|_| anyhow!("--start-time {text}: before 1970, which captures cannot record"))?;
    let last = match format {
        CaptureFormat::Pcap => u64::from(u32::MAX),
        CaptureFormat::PcapNg => u64::MAX / 1_000_000_000,
    };
    if since_epoch.as_secs() >= last {
        bail!("--start-time {text}: later than this capture format can record");
    }
    Ok(start)
}

/// `--pt` for a track of `format`: a dynamic payload type (96-127, RFC
/// 3551 §6) or the format's own static one (RFC 3551 Tables 4 and 5); the
/// other static types name other formats (`--pt 0` is PCMU to any
/// receiver), and 72-76 are never RTP payload types (RFC 5761 §4: they
/// would collide with RTCP packet types 200-204).
pub fn check_payload_type(pt: u8, format: &PayloadDescription) -> anyhow::Result<()> {
    if (72..=76).contains(&pt) {
        bail!(
            "--pt {pt}: 72-76 are not RTP payload types (RFC 5761 §4: RTCP packet types 200-204)"
        );
    }
    if pt >= DYNAMIC_PT || format.static_payload_type == Some(pt) {
        return Ok(());
    }
    let allowed = match format.static_payload_type {
        Some(own) => format!("its static type {own} or a dynamic one"),
        None => "a dynamic one".to_owned(),
    };
    bail!(
        "--pt {pt}: a static payload type of another format (RFC 3551 §6); {} takes {allowed} ({DYNAMIC_PT}-127)",
        format.encoding
    )
}
