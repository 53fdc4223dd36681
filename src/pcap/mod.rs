//! Capture files of synthetic traffic: UDP datagrams and TCP segments in
//! Ethernet II + IPv4/IPv6 frames with correct lengths and checksums
//! (headers built by etherparse), written as pcap or pcapng (pcap-file).
//! [`rtsp`] adds the RTSP exchange that lets Wireshark decode the streams.

pub mod rtsp;

use std::borrow::Cow;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use etherparse::{PacketBuilder, PacketBuilderStep, TcpHeader};
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

/// Largest frame a capture records whole (the pcap snaplen).
const SNAPLEN: u32 = 65535;

/// Time to live / hop limit of the synthetic IP packets.
const TTL: u8 = 64;

/// Locally administered MAC addresses (IEEE 802 bit 1 of the first octet)
/// for the two ends: the media sender and its receiver.
const SENDER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const RECEIVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// The capture file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaptureFormat {
    /// Classic libpcap, microsecond timestamps.
    Pcap,
    /// pcapng, nanosecond timestamps (`if_tsresol` = 9).
    PcapNg,
}

impl CaptureFormat {
    /// pcapng for a `.pcapng` file name, pcap otherwise.
    pub fn for_path(path: &std::path::Path) -> CaptureFormat {
        let ng = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"));
        if ng {
            CaptureFormat::PcapNg
        } else {
            CaptureFormat::Pcap
        }
    }
}

/// TCP header flags of a segment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpFlags {
    /// SYN.
    pub syn: bool,
    /// ACK (the acknowledgment number is valid).
    pub ack: bool,
    /// PSH.
    pub psh: bool,
    /// FIN.
    pub fin: bool,
}

enum Writer<W: Write> {
    Pcap(PcapWriter<W>),
    PcapNg(PcapNgWriter<W>),
}

/// Writes frames to a capture file.
pub struct CaptureWriter<W: Write> {
    writer: Writer<W>,
    sender: IpAddr,
    frame: Vec<u8>,
    packets: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a capture on `out`. `sender` is the media sender's address:
    /// frames from it carry [`SENDER_MAC`], others the receiver's.
    pub fn new(out: W, format: CaptureFormat, sender: IpAddr) -> io::Result<CaptureWriter<W>> {
        let writer = match format {
            CaptureFormat::Pcap => {
                let header = PcapHeader {
                    snaplen: SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: TsResolution::MicroSecond,
                    endianness: Endianness::Little,
                    ..PcapHeader::default()
                };
                Writer::Pcap(PcapWriter::with_header(out, header).map_err(into_io)?)
            }
            CaptureFormat::PcapNg => {
                let mut w = PcapNgWriter::new(out).map_err(into_io)?;
                let interface = InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: SNAPLEN,
                    options: vec![
                        InterfaceDescriptionOption::IfName(Cow::Borrowed("mediatool")),
                        InterfaceDescriptionOption::IfTsResol(9),
                    ],
                };
                w.write_pcapng_block(interface).map_err(into_io)?;
                Writer::PcapNg(w)
            }
        };
        Ok(CaptureWriter {
            writer,
            sender,
            frame: Vec::with_capacity(2048),
            packets: 0,
        })
    }

    /// Frames written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Records a UDP datagram from `src` to `dst` captured at `time`.
    pub fn write_udp(
        &mut self,
        time: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> io::Result<()> {
        self.frame.clear();
        let built = ip_step(self.sender, src.ip(), dst.ip())?
            .udp(src.port(), dst.port())
            .write(&mut self.frame, payload);
        built.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.record(time)
    }

    /// Records a TCP segment from `src` to `dst` captured at `time`.
    #[allow(clippy::too_many_arguments)]
    pub fn write_tcp(
        &mut self,
        time: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        sequence: u32,
        acknowledgment: u32,
        flags: TcpFlags,
        payload: &[u8],
    ) -> io::Result<()> {
        let mut header = TcpHeader::new(src.port(), dst.port(), sequence, 65535);
        header.syn = flags.syn;
        header.ack = flags.ack;
        header.psh = flags.psh;
        header.fin = flags.fin;
        if flags.ack {
            header.acknowledgment_number = acknowledgment;
        }
        self.frame.clear();
        ip_step(self.sender, src.ip(), dst.ip())?
            .tcp_header(header)
            .write(&mut self.frame, payload)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        self.record(time)
    }

    fn record(&mut self, time: SystemTime) -> io::Result<()> {
        let timestamp = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let len = self.frame.len() as u32;
        match &mut self.writer {
            Writer::Pcap(w) => w
                .write_packet(&PcapPacket::new(timestamp, len, &self.frame))
                .map_err(into_io)?,
            Writer::PcapNg(w) => w
                .write_pcapng_block(EnhancedPacketBlock {
                    interface_id: 0,
                    timestamp,
                    original_len: len,
                    data: Cow::Borrowed(&self.frame),
                    options: vec![],
                })
                .map_err(into_io)?,
        };
        self.packets += 1;
        Ok(())
    }

    /// Ends the capture and returns the output.
    pub fn finish(self) -> W {
        match self.writer {
            Writer::Pcap(w) => w.into_writer(),
            Writer::PcapNg(w) => w.into_inner(),
        }
    }
}

/// Ethernet II and the IP header for a frame from `src` to `dst`.
fn ip_step(
    sender: IpAddr,
    src: IpAddr,
    dst: IpAddr,
) -> io::Result<PacketBuilderStep<etherparse::IpHeaders>> {
    let (src_mac, dst_mac) = if src == sender {
        (SENDER_MAC, RECEIVER_MAC)
    } else {
        (RECEIVER_MAC, SENDER_MAC)
    };
    let ethernet = PacketBuilder::ethernet2(src_mac, dst_mac);
    Ok(match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ethernet.ipv4(s.octets(), d.octets(), TTL),
        (IpAddr::V6(s), IpAddr::V6(d)) => ethernet.ipv6(s.octets(), d.octets(), TTL),
        _ => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("source {src} and destination {dst} are not of one IP version"),
            ))
        }
    })
}

fn into_io(e: PcapError) -> io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{NetSlice, SlicedPacket, TransportSlice};
    use pcap_file::pcap::PcapReader;
    use pcap_file::pcapng::{Block, PcapNgReader};

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn udp_frames_have_valid_checksums() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let mut w =
            CaptureWriter::new(Vec::new(), CaptureFormat::Pcap, "10.0.0.1".parse().unwrap())
                .unwrap();
        w.write_udp(t, addr("10.0.0.1:6970"), addr("10.0.0.2:5004"), b"hello")
            .unwrap();
        assert_eq!(w.packets(), 1);
        let bytes = w.finish();
        let mut reader = PcapReader::new(&bytes[..]).unwrap();
        let packet = reader.next_packet().unwrap().unwrap();
        assert_eq!(
            packet.timestamp,
            Duration::from_micros(1_700_000_000_123_456)
        );
        assert_eq!(packet.orig_len, 14 + 20 + 8 + 5);
        let sliced = SlicedPacket::from_ethernet(&packet.data).unwrap();
        let Some(NetSlice::Ipv4(ip)) = &sliced.net else {
            panic!()
        };
        assert_eq!(
            ip.header().header_checksum(),
            ip.header().to_header().calc_header_checksum()
        );
        let Some(TransportSlice::Udp(udp)) = &sliced.transport else {
            panic!()
        };
        let header = udp.to_header();
        let expected = header
            .calc_checksum_ipv4(&ip.header().to_header(), udp.payload())
            .unwrap();
        assert_eq!(header.checksum, expected);
        assert_ne!(expected, 0);
        assert_eq!(udp.payload(), b"hello");
        let Some(etherparse::LinkSlice::Ethernet2(ethernet)) = &sliced.link else {
            panic!()
        };
        assert_eq!(ethernet.source(), [2, 0, 0, 0, 0, 1]);
    }

    #[test]
    fn pcapng_has_nanosecond_timestamps_and_tcp() {
        let t = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let sender: IpAddr = "::1".parse().unwrap();
        let mut w = CaptureWriter::new(Vec::new(), CaptureFormat::PcapNg, sender).unwrap();
        let flags = TcpFlags {
            syn: true,
            ..TcpFlags::default()
        };
        w.write_tcp(t, addr("[::2]:40000"), addr("[::1]:554"), 7, 0, flags, b"")
            .unwrap();
        let bytes = w.finish();
        let mut reader = PcapNgReader::new(&bytes[..]).unwrap();
        let mut found = false;
        while let Some(block) = reader.next_block() {
            if let Block::EnhancedPacket(p) = block.unwrap() {
                assert_eq!(p.timestamp, Duration::from_nanos(1_700_000_000_123_456_789));
                let sliced = SlicedPacket::from_ethernet(&p.data).unwrap();
                let Some(TransportSlice::Tcp(tcp)) = &sliced.transport else {
                    panic!()
                };
                assert!(tcp.syn() && !tcp.ack());
                assert_eq!(tcp.sequence_number(), 7);
                found = true;
            }
        }
        assert!(found);
        assert_eq!(
            CaptureFormat::for_path(std::path::Path::new("a.PCAPNG")),
            CaptureFormat::PcapNg
        );
    }

    #[test]
    fn mixed_ip_versions_are_refused() {
        let mut w =
            CaptureWriter::new(Vec::new(), CaptureFormat::Pcap, "::1".parse().unwrap()).unwrap();
        let err = w
            .write_udp(UNIX_EPOCH, addr("[::1]:1"), addr("127.0.0.1:2"), b"x")
            .unwrap_err();
        assert!(err.to_string().contains("not of one IP version"));
    }
}
