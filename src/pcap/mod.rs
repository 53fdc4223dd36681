//! Capture files of synthetic traffic: UDP datagrams and TCP segments in
//! Ethernet II + IPv4/IPv6 frames with correct lengths and checksums
//! (headers built by etherparse), written as pcap or pcapng (pcap-file).
//! [`rtsp`] adds the RTSP exchange that lets Wireshark decode the streams;
//! [`output`] writes a capture in one pass with its head written last.

mod checksum;
pub mod output;
mod pending;
pub mod rtsp;

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::{self, Write};
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use etherparse::{
    EtherType, Ethernet2Header, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, TcpHeader,
    UdpHeader,
};
use pcap_file::pcap::{PcapHeader, PcapWriter, RawPcapPacket};
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, Endianness, PcapError, TsResolution};

use pending::{ArenaSink, Pending};

/// Largest frame a capture records whole (the pcap snaplen): libpcap's
/// and tcpdump's maximum, above the largest frame we write (an Ethernet
/// header and a 65535-byte IPv4 packet, or an IPv6 header and a 65535-byte
/// payload), which 65535 was not.
const SNAPLEN: u32 = 262_144;

/// Time to live / hop limit of the synthetic unicast IP packets.
const TTL: u8 = 64;

/// Time to live / hop limit of multicast IP packets unless
/// [`CaptureWriter::set_multicast_ttl`] says otherwise: the subnet (RFC 1112
/// §6.1).
const MULTICAST_TTL: u8 = 1;

/// Locally administered MAC addresses (IEEE 802 bit 1 of the first octet)
/// for the two ends: the media sender and its receiver.
const SENDER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const RECEIVER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// Bytes of frames gathered before one vectored write to the output.
const FLUSH_BYTES: usize = 1 << 20;

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

/// pcap-file's writer of the chosen format, laying out the file header and
/// the records in the arena.
enum Records {
    /// Record header and frame headers; the payload follows as a shared
    /// slice.
    Pcap(PcapWriter<ArenaSink>),
    /// Whole Enhanced Packet Blocks (the frame assembled in `frame`).
    PcapNg {
        writer: PcapNgWriter<ArenaSink>,
        frame: Vec<u8>,
    },
}

/// Writes frames to a capture file: gathered, then written with one
/// vectored write per MiB (so `out` needs no buffering).
pub struct CaptureWriter<W: Write> {
    records: Records,
    pending: Rc<RefCell<Pending>>,
    out: W,
    sender: IpAddr,
    multicast_ttl: u8,
    headers: Vec<u8>,
    packets: u64,
}

impl<W: Write> CaptureWriter<W> {
    /// Starts a capture on `out` with the file header (and for pcapng the
    /// interface description). `sender` is the media sender's address:
    /// frames from it carry the sender's MAC address, others the receiver's.
    pub fn new(out: W, format: CaptureFormat, sender: IpAddr) -> io::Result<CaptureWriter<W>> {
        let pending = Rc::new(RefCell::new(Pending::default()));
        let sink = || ArenaSink(Rc::clone(&pending));
        let records = match format {
            CaptureFormat::Pcap => {
                let header = PcapHeader {
                    snaplen: SNAPLEN,
                    datalink: DataLink::ETHERNET,
                    ts_resolution: TsResolution::MicroSecond,
                    endianness: Endianness::Little,
                    ..PcapHeader::default()
                };
                Records::Pcap(PcapWriter::with_header(sink(), header).map_err(into_io)?)
            }
            CaptureFormat::PcapNg => {
                let mut writer = PcapNgWriter::new(sink()).map_err(into_io)?;
                let interface = InterfaceDescriptionBlock {
                    linktype: DataLink::ETHERNET,
                    snaplen: SNAPLEN,
                    options: vec![
                        InterfaceDescriptionOption::IfName(Cow::Borrowed("mediatool")),
                        InterfaceDescriptionOption::IfTsResol(9),
                    ],
                };
                writer.write_pcapng_block(interface).map_err(into_io)?;
                Records::PcapNg {
                    writer,
                    frame: Vec::with_capacity(2048),
                }
            }
        };
        Ok(CaptureWriter {
            records,
            pending,
            out,
            sender,
            multicast_ttl: MULTICAST_TTL,
            headers: Vec::with_capacity(128),
            packets: 0,
        })
    }

    /// Like [`new`](Self::new), but writes only the records: the body of a
    /// capture whose head (the file header [`new`](Self::new) writes, and
    /// any records after it) is written to another output, placed in front
    /// of this one.
    pub fn records_only(
        out: W,
        format: CaptureFormat,
        sender: IpAddr,
    ) -> io::Result<CaptureWriter<W>> {
        let writer = CaptureWriter::new(out, format, sender)?;
        writer.pending.borrow_mut().clear();
        Ok(writer)
    }

    /// The TTL (IPv4) or hop limit (IPv6) of packets to multicast groups
    /// from now on: the group's scope (RFC 1112 §6.1).
    pub fn set_multicast_ttl(&mut self, ttl: u8) {
        self.multicast_ttl = ttl;
    }

    /// Frames written so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// From now on, keeps the payloads of the frames written to the output
    /// for [`take_written`](Self::take_written) instead of dropping them.
    ///
    /// For payloads another thread allocated, to be sent back and freed
    /// there: glibc's malloc makes a thread that frees memory of another
    /// thread's arena wait for that arena's lock, and with many small
    /// payloads (PCM packets) the two threads keep waiting for each other.
    pub fn keep_written(&mut self) {
        self.pending.borrow_mut().keep_written = true;
    }

    /// The payloads written to the output since the last call (none unless
    /// [`keep_written`](Self::keep_written)).
    pub fn take_written(&mut self) -> Vec<Bytes> {
        std::mem::take(&mut self.pending.borrow_mut().written)
    }

    /// Records a UDP datagram from `src` to `dst` captured at `time`,
    /// whose payload is `head` followed by `body` (`head` is copied with
    /// the frame's headers, `body` is not copied before the write to the
    /// file).
    pub fn write_udp_parts(
        &mut self,
        time: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        head: &[u8],
        body: Bytes,
    ) -> io::Result<()> {
        let ip_payload =
            u16::try_from(UdpHeader::LEN + head.len() + body.len()).map_err(|_| too_big())?;
        self.headers.clear();
        self.ip_headers(src.ip(), dst.ip(), IpNumber::UDP, ip_payload)?;
        UdpHeader {
            source_port: src.port(),
            destination_port: dst.port(),
            length: ip_payload,
            checksum: checksum::udp_checksum(
                (src.ip(), src.port()),
                (dst.ip(), dst.port()),
                &[head, &body],
            ),
        }
        .write(&mut self.headers)?;
        self.headers.extend_from_slice(head);
        self.record(time, body)
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
        let mut tcp = TcpHeader::new(src.port(), dst.port(), sequence, 65535);
        tcp.syn = flags.syn;
        tcp.ack = flags.ack;
        tcp.psh = flags.psh;
        tcp.fin = flags.fin;
        if flags.ack {
            tcp.acknowledgment_number = acknowledgment;
        }
        let ip_payload = u16::try_from(tcp.header_len() + payload.len()).map_err(|_| too_big())?;
        self.headers.clear();
        tcp.checksum = match self.ip_headers(src.ip(), dst.ip(), IpNumber::TCP, ip_payload)? {
            IpHeader::V4(ip) => tcp.calc_checksum_ipv4(&ip, payload),
            IpHeader::V6(ip) => tcp.calc_checksum_ipv6(&ip, payload),
        }
        .map_err(|_| too_big())?;
        tcp.write(&mut self.headers)?;
        self.record(time, Bytes::copy_from_slice(payload))
    }

    /// Writes the Ethernet II and IP headers of a frame from `src` to `dst`
    /// into `self.headers` and returns the IP header for the transport
    /// checksum.
    fn ip_headers(
        &mut self,
        src: IpAddr,
        dst: IpAddr,
        protocol: IpNumber,
        payload_len: u16,
    ) -> io::Result<IpHeader> {
        let (source, unicast_destination) = if src == self.sender {
            (SENDER_MAC, RECEIVER_MAC)
        } else {
            (RECEIVER_MAC, SENDER_MAC)
        };
        let destination = multicast_mac(dst).unwrap_or(unicast_destination);
        let ttl = if dst.is_multicast() {
            self.multicast_ttl
        } else {
            TTL
        };
        let ip = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut ip = Ipv4Header::new(payload_len, ttl, protocol, s.octets(), d.octets())
                    .map_err(|_| too_big())?;
                ip.header_checksum = ip.calc_header_checksum();
                IpHeader::V4(ip)
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => IpHeader::V6(Ipv6Header {
                traffic_class: 0,
                flow_label: Ipv6FlowLabel::ZERO,
                payload_length: payload_len,
                next_header: protocol,
                hop_limit: ttl,
                source: s.octets(),
                destination: d.octets(),
            }),
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("source {src} and destination {dst} are not of one IP version"),
                ))
            }
        };
        let ether_type = match ip {
            IpHeader::V4(_) => EtherType::IPV4,
            IpHeader::V6(_) => EtherType::IPV6,
        };
        let ethernet = Ethernet2Header {
            source,
            destination,
            ether_type,
        };
        self.headers.extend_from_slice(&ethernet.to_bytes());
        match &ip {
            IpHeader::V4(h) => h.write_raw(&mut self.headers)?,
            IpHeader::V6(h) => h.write(&mut self.headers)?,
        }
        Ok(ip)
    }

    /// Records the frame `self.headers` + `payload` captured at `time`.
    fn record(&mut self, time: SystemTime, payload: Bytes) -> io::Result<()> {
        let timestamp = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let len = (self.headers.len() + payload.len()) as u32;
        match &mut self.records {
            Records::Pcap(writer) => {
                let ts_sec = u32::try_from(timestamp.as_secs()).map_err(|_| {
                    io::Error::new(io::ErrorKind::InvalidInput, "capture time after 2106")
                })?;
                // The record header and the frame's headers; the payload
                // follows as a shared slice.
                writer
                    .write_raw_packet(&RawPcapPacket {
                        ts_sec,
                        ts_frac: timestamp.subsec_micros(),
                        incl_len: len,
                        orig_len: len,
                        data: Cow::Borrowed(&self.headers),
                    })
                    .map_err(into_io)?;
                self.pending.borrow_mut().push_shared(payload);
            }
            Records::PcapNg { writer, frame } => {
                frame.clear();
                frame.extend_from_slice(&self.headers);
                frame.extend_from_slice(&payload);
                writer
                    .write_pcapng_block(EnhancedPacketBlock {
                        interface_id: 0,
                        timestamp,
                        original_len: len,
                        data: Cow::Borrowed(frame),
                        options: vec![],
                    })
                    .map_err(into_io)?;
            }
        }
        self.packets += 1;
        let mut pending = self.pending.borrow_mut();
        if pending.len >= FLUSH_BYTES {
            pending.drain_to(&mut self.out)?;
        }
        Ok(())
    }

    /// Writes what is pending and returns the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.pending.borrow_mut().drain_to(&mut self.out)?;
        Ok(self.out)
    }
}

/// The Ethernet address a multicast group maps to: `01:00:5e` and the
/// group's low 23 bits for IPv4 (RFC 1112 §6.4), `33:33` and its low 32
/// bits for IPv6 (RFC 2464 §7); `None` for other addresses.
fn multicast_mac(ip: IpAddr) -> Option<[u8; 6]> {
    match ip {
        IpAddr::V4(v4) if v4.is_multicast() => {
            let o = v4.octets();
            Some([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
        }
        IpAddr::V6(v6) if v6.is_multicast() => {
            let o = v6.octets();
            Some([0x33, 0x33, o[12], o[13], o[14], o[15]])
        }
        _ => None,
    }
}

/// The IP header of a frame, kept for the transport checksum.
enum IpHeader {
    V4(Ipv4Header),
    V6(Ipv6Header),
}

fn too_big() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "packet larger than IP allows")
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
        w.write_udp_parts(
            t,
            addr("10.0.0.1:6970"),
            addr("10.0.0.2:5004"),
            &[],
            Bytes::from_static(b"hello"),
        )
        .unwrap();
        assert_eq!(w.packets(), 1);
        let bytes = w.finish().unwrap();
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
    fn parts_make_the_same_frame_and_come_back_when_kept() {
        let capture = |parts: bool| {
            let mut w = CaptureWriter::records_only(
                Vec::new(),
                CaptureFormat::Pcap,
                "10.0.0.1".parse().unwrap(),
            )
            .unwrap();
            w.keep_written();
            let (src, dst) = (addr("10.0.0.1:6970"), addr("10.0.0.2:5004"));
            // An odd-length head: the body's bytes pair across the join.
            if parts {
                w.write_udp_parts(UNIX_EPOCH, src, dst, b"head.", Bytes::from_static(b"body"))
                    .unwrap();
            } else {
                w.write_udp_parts(UNIX_EPOCH, src, dst, &[], Bytes::from_static(b"head.body"))
                    .unwrap();
            }
            // Nothing written to the output yet.
            assert!(w.take_written().is_empty());
            let mut out = Vec::new();
            w.pending.borrow_mut().drain_to(&mut out).unwrap();
            (out, w.take_written())
        };
        let (whole, _) = capture(false);
        let (split, written) = capture(true);
        assert_eq!(whole.len(), 16 + 14 + 20 + 8 + 9);
        assert_eq!(whole, split);
        assert_eq!(written, [Bytes::from_static(b"body")]);
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
        let bytes = w.finish().unwrap();
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
    fn multicast_frames_go_to_the_groups_mac_with_its_ttl() {
        let frame = |sender: &str, src: &str, dst: &str| {
            let mut w =
                CaptureWriter::new(Vec::new(), CaptureFormat::Pcap, sender.parse().unwrap())
                    .unwrap();
            w.set_multicast_ttl(16);
            w.write_udp_parts(UNIX_EPOCH, addr(src), addr(dst), &[], Bytes::new())
                .unwrap();
            let bytes = w.finish().unwrap();
            let mut reader = PcapReader::new(&bytes[..]).unwrap();
            reader.next_packet().unwrap().unwrap().data.into_owned()
        };
        // 239.129.2.3: the group's top bit of the second octet is dropped.
        let v4 = frame("10.0.0.1", "10.0.0.1:6970", "239.129.2.3:5004");
        assert_eq!(v4[..6], [0x01, 0x00, 0x5e, 0x01, 0x02, 0x03]);
        assert_eq!(v4[6..12], SENDER_MAC);
        assert_eq!(v4[14 + 8], 16, "IPv4 TTL");
        let v6 = frame("::1", "[::1]:6970", "[ff15::1:a0b:c0d]:5004");
        assert_eq!(v6[..6], [0x33, 0x33, 0x0a, 0x0b, 0x0c, 0x0d]);
        assert_eq!(v6[14 + 7], 16, "IPv6 hop limit");
        let unicast = frame("10.0.0.1", "10.0.0.1:6970", "10.0.0.2:5004");
        assert_eq!(unicast[..6], RECEIVER_MAC);
        assert_eq!(unicast[14 + 8], TTL);
    }

    #[test]
    fn mixed_ip_versions_are_refused() {
        let mut w =
            CaptureWriter::new(Vec::new(), CaptureFormat::Pcap, "::1".parse().unwrap()).unwrap();
        let err = w
            .write_udp_parts(
                UNIX_EPOCH,
                addr("[::1]:1"),
                addr("127.0.0.1:2"),
                &[],
                Bytes::from_static(b"x"),
            )
            .unwrap_err();
        assert!(err.to_string().contains("not of one IP version"));
    }
}
