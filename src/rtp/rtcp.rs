//! RTCP for a sender (RFC 3550 §6): compound packets of a sender report
//! (§6.4.1) and an SDES CNAME (§6.5.1), with a BYE (§6.6) at the end of a
//! stream; and the parsing of what receivers send back (§6.4.2 receiver
//! reports). Packet layouts are written and parsed by rtcp-types; the
//! timing and the choice of packets are ours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtcp_types::{
    Bye, Compound, Packet, ReportBlock, RtcpPacketWriter, RtcpPacketWriterExt, SdesBuilder,
    SdesChunk, SdesItem, SenderReport,
};

use super::{RtpError, RtpSender};

/// Seconds from the NTP epoch (1900-01-01) to the Unix epoch (RFC 868).
const NTP_UNIX_OFFSET: u64 = 2_208_988_800;

/// A wall-clock time as a 64-bit NTP timestamp (RFC 3550 §4: seconds since
/// 1900 in the high 32 bits, the fraction in the low 32).
pub fn ntp_timestamp(time: SystemTime) -> u64 {
    let since_unix = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since_unix.as_secs() + NTP_UNIX_OFFSET;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    (seconds << 32) | fraction
}

/// The middle 32 bits of an NTP timestamp, the form of LSR and DLSR in
/// reception report blocks (RFC 3550 §6.4.1).
pub fn ntp_middle(ntp: u64) -> u32 {
    (ntp >> 16) as u32
}

/// A compound RTCP packet for `sender` (RFC 3550 §6.1): a sender report
/// mapping wall-clock `ntp` to `rtp_timestamp` with the sender's packet and
/// octet counts, an SDES with its `cname`, and, when `bye` is given, a BYE
/// with that reason (empty: no reason) as the last packet (§6.6).
pub fn sender_report(
    sender: &RtpSender,
    ntp: u64,
    rtp_timestamp: u32,
    cname: &str,
    bye: Option<&str>,
) -> Vec<u8> {
    let sr = SenderReport::builder(sender.ssrc())
        .ntp_timestamp(ntp)
        .rtp_timestamp(rtp_timestamp)
        .packet_count(sender.packet_count())
        .octet_count(sender.octet_count());
    // RFC 3550 §6.5: an SDES item holds at most 255 octets.
    let cname = truncate_utf8(cname, 255);
    let sdes = SdesBuilder::default().add_chunk(
        SdesChunk::builder(sender.ssrc()).add_item(SdesItem::builder(SdesItem::CNAME, cname)),
    );
    let mut compound = Compound::builder().add_packet(sr).add_packet(sdes);
    if let Some(reason) = bye {
        let mut b = Bye::builder().add_source(sender.ssrc());
        if !reason.is_empty() {
            b = b.reason(truncate_utf8(reason, 255));
        }
        compound = compound.add_packet(b);
    }
    // The builders above are valid by construction (one SSRC per packet,
    // items within their 255-octet limit, no padding): sizing and writing
    // succeed. Were they not, the checked calls give an empty packet rather
    // than a panic in a server.
    let mut out = vec![0; compound.calculate_size().unwrap_or(0)];
    let written = compound.write_into(&mut out).unwrap_or(0);
    out.truncate(written);
    out
}

/// `text` cut to at most `max` bytes at a character boundary (SDES items
/// and BYE reasons hold at most 255 octets, RFC 3550 §6.5, §6.6).
fn truncate_utf8(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// One reception report block (RFC 3550 §6.4.1): what a receiver says
/// about the stream of `ssrc`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReceptionReport {
    /// The source the block is about.
    pub ssrc: u32,
    /// Fraction of packets lost since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    /// Extended highest sequence number received.
    pub highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received (LSR).
    pub last_sr: u32,
    /// Delay since that SR, in 1/65536 s (DLSR).
    pub delay_since_last_sr: u32,
}

impl ReceptionReport {
    fn from_block(block: &ReportBlock<'_>) -> ReceptionReport {
        let lost = block.cumulative_lost() & 0x00ff_ffff;
        ReceptionReport {
            ssrc: block.ssrc(),
            fraction_lost: block.fraction_lost(),
            // Sign-extend the 24-bit field.
            cumulative_lost: ((lost << 8) as i32) >> 8,
            highest_sequence: block.extended_sequence_number(),
            jitter: block.interarrival_jitter(),
            last_sr: block.last_sender_report_timestamp(),
            delay_since_last_sr: block.delay_since_last_sender_report_timestamp(),
        }
    }

    /// Round-trip time from this report received at wall-clock `now`
    /// (RFC 3550 §6.4.1, Figure 2: A - LSR - DLSR), if it names an SR.
    pub fn round_trip(&self, now: SystemTime) -> Option<Duration> {
        if self.last_sr == 0 {
            return None;
        }
        let a = ntp_middle(ntp_timestamp(now));
        let rtt = a
            .wrapping_sub(self.last_sr)
            .wrapping_sub(self.delay_since_last_sr);
        // A negative round trip (clock step, bogus report) wraps to a huge value.
        (rtt < 0x8000_0000).then(|| Duration::from_secs_f64(f64::from(rtt) / 65536.0))
    }
}

/// One packet of a received compound RTCP packet, as a sender cares about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RtcpMessage {
    /// A receiver report (§6.4.2) from `ssrc`.
    ReceiverReport {
        /// The reporter.
        ssrc: u32,
        /// Its reception report blocks.
        reports: Vec<ReceptionReport>,
    },
    /// A sender report (§6.4.1) from `ssrc` (a peer that also sends).
    SenderReport {
        /// The reporter.
        ssrc: u32,
        /// NTP timestamp of the report.
        ntp: u64,
        /// RTP timestamp of the same instant.
        rtp_timestamp: u32,
        /// Its reception report blocks.
        reports: Vec<ReceptionReport>,
    },
    /// A source description (§6.5): the CNAMEs it carries, by SSRC.
    Sdes(Vec<(u32, String)>),
    /// A BYE (§6.6) for these sources.
    Bye {
        /// The sources leaving.
        ssrcs: Vec<u32>,
        /// The reason, if given.
        reason: Option<String>,
    },
    /// Any other packet type (APP, feedback, XR), by RTCP packet type.
    Other(u8),
}

/// Parses a received compound RTCP packet (RFC 3550 §6.1).
pub fn parse(data: &[u8]) -> Result<Vec<RtcpMessage>, RtpError> {
    let bad = |e: rtcp_types::RtcpParseError| RtpError::Malformed(format!("RTCP: {e}"));
    let mut messages = Vec::new();
    for packet in Compound::parse(data).map_err(bad)? {
        messages.push(match packet.map_err(bad)? {
            Packet::Rr(rr) => RtcpMessage::ReceiverReport {
                ssrc: rr.ssrc(),
                reports: rr
                    .report_blocks()
                    .map(|b| ReceptionReport::from_block(&b))
                    .collect(),
            },
            Packet::Sr(sr) => RtcpMessage::SenderReport {
                ssrc: sr.ssrc(),
                ntp: sr.ntp_timestamp(),
                rtp_timestamp: sr.rtp_timestamp(),
                reports: sr
                    .report_blocks()
                    .map(|b| ReceptionReport::from_block(&b))
                    .collect(),
            },
            Packet::Sdes(sdes) => RtcpMessage::Sdes(
                sdes.chunks()
                    .flat_map(|chunk| {
                        chunk
                            .items()
                            .filter(|i| i.type_() == SdesItem::CNAME)
                            .map(|i| {
                                (
                                    chunk.ssrc(),
                                    String::from_utf8_lossy(i.value()).into_owned(),
                                )
                            })
                    })
                    .collect(),
            ),
            Packet::Bye(bye) => RtcpMessage::Bye {
                ssrcs: bye.ssrcs().collect(),
                reason: bye
                    .reason()
                    .map(|r| String::from_utf8_lossy(r).into_owned()),
            },
            other => RtcpMessage::Other(rtcp_types::utils::parser::parse_packet_type(
                &rtcp_types::RtcpPacketParser::header_data(&other),
            )),
        });
    }
    Ok(messages)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtp::{RtpPayload, SenderOptions};
    use rtcp_types::ReceiverReport;

    fn sender() -> RtpSender {
        let options = SenderOptions {
            ssrc: Some(0x1234_5678),
            sequence: Some(1),
            timestamp: Some(1000),
            payload_type: None,
        };
        let mut s = RtpSender::new(96, 90000, options);
        let payload = RtpPayload {
            header: Default::default(),
            data: bytes::Bytes::from_static(&[1; 100]),
            marker: true,
            timestamp: 0,
        };
        s.write(&payload, 0, &mut Vec::new());
        s
    }

    #[test]
    fn ntp_timestamp_of_known_instants() {
        assert_eq!(ntp_timestamp(UNIX_EPOCH) >> 32, NTP_UNIX_OFFSET);
        let t = UNIX_EPOCH + Duration::from_millis(1500);
        assert_eq!(
            ntp_timestamp(t),
            ((NTP_UNIX_OFFSET + 1) << 32) | 0x8000_0000
        );
        assert_eq!(ntp_middle(0x0001_0002_0003_0004), 0x0002_0003);
    }

    #[test]
    fn sender_report_compound_layout() {
        let s = sender();
        let ntp = ((NTP_UNIX_OFFSET + 10) << 32) | 0x4000_0000;
        let bytes = sender_report(&s, ntp, 4321, "mediatool@host", None);
        // SR header: V=2, RC=0, PT=200, length 6 (28 bytes).
        assert_eq!(&bytes[..4], &[0x80, 200, 0, 6]);
        // SDES: V=2, SC=1, PT=202.
        assert_eq!(&bytes[28..30], &[0x81, 202]);
        assert_eq!(bytes.len() % 4, 0);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(
            parsed,
            vec![
                RtcpMessage::SenderReport {
                    ssrc: 0x1234_5678,
                    ntp,
                    rtp_timestamp: 4321,
                    reports: vec![]
                },
                RtcpMessage::Sdes(vec![(0x1234_5678, "mediatool@host".into())]),
            ]
        );
        // Counts live in the SR body (§6.4.1): packet count 1, octets 100.
        assert_eq!(&bytes[20..28], &[0, 0, 0, 1, 0, 0, 0, 100]);
    }

    #[test]
    fn bye_is_last() {
        let bytes = sender_report(&sender(), 0, 0, "c", Some("end of file"));
        let parsed = parse(&bytes).unwrap();
        assert_eq!(
            parsed.last(),
            Some(&RtcpMessage::Bye {
                ssrcs: vec![0x1234_5678],
                reason: Some("end of file".into())
            })
        );
    }

    #[test]
    fn parses_receiver_report_and_round_trip() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let lsr = ntp_middle(ntp_timestamp(now - Duration::from_millis(300)));
        let rr = ReceiverReport::builder(0xabcd).add_report_block(
            ReportBlock::builder(0x1234_5678)
                .fraction_lost(64)
                .cumulative_lost(0x00ff_fffe)
                .extended_sequence_number(70000)
                .interarrival_jitter(12)
                .last_sender_report_timestamp(lsr)
                .delay_since_last_sender_report_timestamp(65536 / 10),
        );
        let mut buf = vec![0; 64];
        let n = rr.write_into(&mut buf).unwrap();
        let parsed = parse(&buf[..n]).unwrap();
        let RtcpMessage::ReceiverReport { ssrc, reports } = &parsed[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(*ssrc, 0xabcd);
        let r = reports[0];
        assert_eq!(
            (r.fraction_lost, r.cumulative_lost, r.highest_sequence),
            (64, -2, 70000)
        );
        let rtt = r.round_trip(now).unwrap().as_secs_f64();
        assert!((rtt - 0.2).abs() < 0.001, "{rtt}");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(&[]).is_err());
        assert!(parse(&[0x80, 201, 0, 7, 0, 0]).is_err());
        assert!(parse(b"GET / HTTP/1.1\r\n").is_err());
        // A receiver report claiming two blocks in the length of one.
        let mut rr = vec![0x82, 201, 0, 7];
        rr.extend_from_slice(&[0; 28]);
        assert!(parse(&rr).is_err());
    }

    /// A compound packet of every kind a sender receives: SR with a block,
    /// RR, SDES, BYE with a reason.
    fn everything() -> Vec<u8> {
        let mut bytes = sender_report(&sender(), 1 << 40, 7, "peer@host", Some("bye"));
        let rr = ReceiverReport::builder(0xabcd)
            .add_report_block(ReportBlock::builder(0x1234_5678).fraction_lost(3));
        let mut buf = vec![0; 64];
        let n = rr.write_into(&mut buf).unwrap();
        bytes.extend_from_slice(&buf[..n]);
        bytes
    }

    #[test]
    fn every_cut_of_a_compound_packet_is_refused_without_panic() {
        let whole = everything();
        assert_eq!(parse(&whole).unwrap().len(), 4);
        for len in 0..whole.len() {
            // Cuts at packet boundaries are valid compounds.
            let _ = parse(&whole[..len]);
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_and_any_corruption_parse_without_panic(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            flips in proptest::collection::vec((0usize..120, proptest::prelude::any::<u8>()), 1..6),
        ) {
            let _ = parse(&bytes);
            let mut corrupt = everything();
            for (at, value) in flips {
                let len = corrupt.len();
                corrupt[at % len] = value;
            }
            let _ = parse(&corrupt);
        }
    }
}
