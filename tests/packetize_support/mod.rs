//! What the packetize tests share: running `mediatool packetize`, reading
//! the SDP it writes and the UDP datagrams of its capture.
#![allow(dead_code)] // each test crate uses a different subset

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use crate::common::Bounded;
use etherparse::{SlicedPacket, TransportSlice};
use mediatool::rtp::{self, PayloadDescription};
use mediatool::srtp::mikey::MikeyMessage;
use mediatool::srtp::sdes::CryptoAttribute;
use mediatool::srtp::SrtpKey;
use mediatool::vocab::TrackKind;
use pcap_file::pcap::PcapReader;

/// The capture time `--start-time` gives the tests' captures.
pub const START: &str = "2024-01-01T00:00:00Z";

/// Seconds from the Unix epoch to [`START`].
pub const START_UNIX: u64 = 1_704_067_200;

/// Runs `mediatool packetize FILE -o DIR/NAME.pcap ARGS...`.
pub fn packetize(file: &Path, out: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("mediatool")
        .unwrap()
        .arg("packetize")
        .arg(file)
        .arg("-o")
        .arg(out)
        .args(args)
        .timeout(Duration::from_secs(60))
        .output_bounded()
}

/// Packetizes `file` into `dir` with a fixed start time and returns the
/// capture's path; panics with stderr on failure.
pub fn packetize_ok(file: &Path, dir: &Path, args: &[&str]) -> PathBuf {
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    let out = dir.join(format!("{name}.pcap"));
    let mut all = vec!["--start-time", START];
    all.extend_from_slice(args);
    let output = packetize(file, &out, &all);
    assert!(
        output.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

/// One `m=` section of the SDP beside a capture.
#[derive(Clone, Debug)]
pub struct SdpMedia {
    /// Video or audio.
    pub kind: TrackKind,
    /// RTP port (RTCP on the next one).
    pub port: u16,
    /// Payload type.
    pub payload_type: u8,
    /// The payload format.
    pub description: PayloadDescription,
    /// With `--srtp`: the master key (`a=crypto`, checked to be the
    /// `a=key-mgmt` one) and the SSRC (MIKEY's crypto session map).
    pub srtp: Option<(SrtpKey, u32)>,
}

/// The key and SSRC of an SRTP media section from its `a=crypto` and
/// `a=key-mgmt` values, which must hold the same key.
fn srtp_keys(crypto: Option<&str>, key_mgmt: Option<&str>) -> Option<(SrtpKey, u32)> {
    let (crypto, key_mgmt) = match (crypto, key_mgmt) {
        (None, None) => return None,
        (Some(c), Some(k)) => (c, k),
        other => panic!("a=crypto and a=key-mgmt go together: {other:?}"),
    };
    let sdes = CryptoAttribute::parse(crypto).unwrap();
    let mikey = MikeyMessage::parse_sdp_value(key_mgmt).unwrap();
    assert_eq!(sdes.key, mikey.key, "one key both ways");
    assert_eq!((sdes.policy, mikey.policy.mki), (mikey.policy, None));
    assert_eq!(mikey.sessions.len(), 1);
    Some((sdes.key, mikey.sessions[0].ssrc))
}

/// The `m=` sections of an SDP file, in order.
pub fn read_sdp(path: &Path) -> Vec<SdpMedia> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut medias = Vec::new();
    // kind, port, payload type, SAVP or not, and rtpmap, fmtp, crypto,
    // key-mgmt of the section being read.
    type Section = (TrackKind, u16, u8, bool, [Option<String>; 4]);
    let mut current: Option<Section> = None;
    let mut finish = |c: Option<Section>| {
        if let Some((kind, port, pt, savp, [rtpmap, fmtp, crypto, key_mgmt])) = c {
            let srtp = srtp_keys(crypto.as_deref(), key_mgmt.as_deref());
            assert_eq!(savp, srtp.is_some(), "RTP/SAVP with keys, RTP/AVP without");
            let description =
                PayloadDescription::parse(kind, &rtpmap.expect("a=rtpmap"), fmtp.as_deref())
                    .unwrap();
            medias.push(SdpMedia {
                kind,
                port,
                payload_type: pt,
                description,
                srtp,
            });
        }
    };
    for line in text.lines() {
        if let Some(m) = line.strip_prefix("m=") {
            finish(current.take());
            let f: Vec<&str> = m.split_whitespace().collect();
            let kind = if f[0] == "video" {
                TrackKind::Video
            } else {
                TrackKind::Audio
            };
            assert!(["RTP/AVP", "RTP/SAVP"].contains(&f[2]), "{m}");
            current = Some((
                kind,
                f[1].parse().unwrap(),
                f[3].parse().unwrap(),
                f[2] == "RTP/SAVP",
                Default::default(),
            ));
        } else if let Some(v) = line.strip_prefix("a=rtpmap:") {
            let c = current.as_mut().unwrap();
            c.4[0] = Some(v.split_once(' ').unwrap().1.to_owned());
        } else if let Some(v) = line.strip_prefix("a=fmtp:") {
            let c = current.as_mut().unwrap();
            c.4[1] = Some(v.split_once(' ').unwrap().1.to_owned());
        } else if let Some(v) = line.strip_prefix("a=crypto:") {
            current.as_mut().unwrap().4[2] = Some(v.to_owned());
        } else if let Some(v) = line.strip_prefix("a=key-mgmt:") {
            current.as_mut().unwrap().4[3] = Some(v.to_owned());
        }
    }
    finish(current.take());
    medias
}

/// Asserts that `medias` (of the captures of every fixture) carry every
/// payload format the registry has (`rtp::FORMATS`), each of its
/// encodings: no format goes unchecked for want of a fixture.
pub fn assert_every_encoding(medias: &[SdpMedia]) {
    let covered: BTreeSet<&str> = medias.iter().map(|m| m.description.encoding).collect();
    let missing: Vec<&str> = rtp::FORMATS
        .iter()
        .flat_map(|f| f.encodings.iter().copied())
        .filter(|e| !covered.contains(e))
        .collect();
    assert!(missing.is_empty(), "no fixture covers {missing:?}");
}

/// One UDP datagram of a capture.
#[derive(Clone, Debug)]
pub struct Datagram {
    /// Capture time since the Unix epoch.
    pub time: Duration,
    /// UDP source port.
    pub src_port: u16,
    /// UDP destination port.
    pub dst_port: u16,
    /// IP destination address.
    pub dst_ip: std::net::IpAddr,
    /// Ethernet destination address.
    pub dst_mac: [u8; 6],
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The UDP payload.
    pub payload: Vec<u8>,
}

/// Calls `each` with the capture time and the parsed frame of every record
/// of a classic pcap capture.
fn for_each_frame(path: &Path, mut each: impl FnMut(Duration, &SlicedPacket<'_>)) {
    let file = std::fs::File::open(path).unwrap();
    let mut reader = PcapReader::new(file).unwrap();
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        each(
            packet.timestamp,
            &SlicedPacket::from_ethernet(&packet.data).unwrap(),
        );
    }
}

/// Every UDP datagram of a classic pcap capture, checking the UDP checksum.
pub fn read_udp(path: &Path) -> Vec<Datagram> {
    let mut out = Vec::new();
    for_each_frame(path, |time, sliced| {
        if let Some(TransportSlice::Udp(udp)) = &sliced.transport {
            let header = udp.to_header();
            if let Some(etherparse::NetSlice::Ipv4(ip)) = &sliced.net {
                let expected = header
                    .calc_checksum_ipv4(&ip.header().to_header(), udp.payload())
                    .unwrap();
                assert_eq!(header.checksum, expected, "UDP checksum");
            }
            let (dst_ip, ttl) = match &sliced.net {
                Some(etherparse::NetSlice::Ipv4(ip)) => {
                    (ip.header().destination_addr().into(), ip.header().ttl())
                }
                Some(etherparse::NetSlice::Ipv6(ip)) => (
                    ip.header().destination_addr().into(),
                    ip.header().hop_limit(),
                ),
                _ => panic!("UDP without IP"),
            };
            let Some(etherparse::LinkSlice::Ethernet2(ethernet)) = &sliced.link else {
                panic!("not Ethernet II")
            };
            out.push(Datagram {
                time,
                src_port: header.source_port,
                dst_port: header.destination_port,
                dst_ip,
                dst_mac: ethernet.destination(),
                ttl,
                payload: udp.payload().to_vec(),
            });
        }
    });
    out
}

/// The bytes the RTSP server (TCP port 554) sends in a classic pcap
/// capture, its segments in capture order.
pub fn rtsp_replies(path: &Path) -> String {
    let mut out = Vec::new();
    for_each_frame(path, |_, sliced| {
        if let Some(TransportSlice::Tcp(tcp)) = &sliced.transport {
            if tcp.source_port() == 554 {
                out.extend_from_slice(tcp.payload());
            }
        }
    });
    String::from_utf8(out).unwrap()
}

/// The address of the RTSP client (the one that connects to TCP port 554)
/// in a classic pcap capture.
pub fn rtsp_client(path: &Path) -> std::net::IpAddr {
    let mut client = None;
    for_each_frame(path, |_, sliced| {
        if let (Some(TransportSlice::Tcp(tcp)), Some(etherparse::NetSlice::Ipv4(ip))) =
            (&sliced.transport, &sliced.net)
        {
            if tcp.destination_port() == 554 {
                client = Some(ip.header().source_addr().into());
            }
        }
    });
    client.expect("an RTSP exchange over IPv4")
}

/// The SDP of the DESCRIBE reply in a capture's RTSP exchange, checked
/// against its `Content-Length`.
pub fn describe_sdp(path: &Path) -> String {
    let replies = rtsp_replies(path);
    let (_, rest) = replies
        .split_once("Content-Type: application/sdp\r\nContent-Length: ")
        .unwrap_or_else(|| panic!("{}: no DESCRIBE reply", path.display()));
    let (length, rest) = rest.split_once("\r\n\r\n").unwrap();
    let sdp = &rest[..length.parse::<usize>().unwrap()];
    assert!(sdp.ends_with("\r\n") && rest[sdp.len()..].starts_with("RTSP/1.0 200 OK"));
    sdp.to_owned()
}
