//! Round trip of every fixture: file -> `mediatool packetize` -> pcap ->
//! our depacketizers -> access units, compared with what the demuxer reads
//! from the file: byte for byte, with exact RTP timestamps, gapless
//! sequence numbers, capture times that follow the media clock and sender
//! reports whose NTP/RTP mapping matches the packets.

mod common;
mod packetize_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use mediatool::codec::nal::{annexb_ranges, nal_units};
use mediatool::media::{self, AccessUnit, Track};
use mediatool::rtp::rtcp::{self, RtcpMessage};
use mediatool::rtp::{self, wire_samples, PayloadDescription, Pcm8, ReceivedPacket, ReceivedUnit};
use mediatool::vocab::clock::rescale;
use mediatool::vocab::{Codec, PcmFormat};
use packetize_support::{
    assert_every_encoding, packetize_ok, read_sdp, read_udp, Datagram, SdpMedia, START_UNIX,
};
use rtp_types::RtpPacket;

/// Each track's units, by track index.
type UnitsByTrack = BTreeMap<usize, Vec<AccessUnit>>;

/// The units of every track, as the demuxer reads them (every fixture
/// must have a reader).
fn demuxed(file: &Path) -> (Vec<Track>, UnitsByTrack) {
    demuxed_as(file, &media::ReadOptions::default())
}

/// [`demuxed`], read as `options` say.
fn demuxed_as(file: &Path, options: &media::ReadOptions) -> (Vec<Track>, UnitsByTrack) {
    let mut demuxer =
        media::open_with(file, options).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut units = UnitsByTrack::new();
    while let Some(unit) = demuxer.read_unit().unwrap() {
        units.entry(unit.track).or_default().push(unit);
    }
    (demuxer.tracks().to_vec(), units)
}

/// What one RTP stream of the capture carried.
struct Received {
    units: Vec<ReceivedUnit>,
    /// (capture time, RTP timestamp) of every packet.
    packets: Vec<(Duration, u32)>,
    ssrc: u32,
    first_sequence: u16,
}

fn receive(media: &SdpMedia, datagrams: &[Datagram]) -> Received {
    let mut depacketizer = rtp::depacketizer(&media.description).unwrap();
    let mut units = Vec::new();
    let mut packets = Vec::new();
    let mut expected_sequence: Option<u16> = None;
    let mut ssrc = None;
    let mut first_sequence = 0;
    for d in datagrams.iter().filter(|d| d.dst_port == media.port) {
        let p = RtpPacket::parse(&d.payload).unwrap();
        assert_eq!(p.payload_type(), media.payload_type);
        assert_eq!(*ssrc.get_or_insert(p.ssrc()), p.ssrc(), "one SSRC");
        if let Some(s) = expected_sequence {
            assert_eq!(p.sequence_number(), s, "sequence numbers without gaps");
        } else {
            first_sequence = p.sequence_number();
        }
        expected_sequence = Some(p.sequence_number().wrapping_add(1));
        packets.push((d.time, p.timestamp()));
        let packet = ReceivedPacket {
            sequence: p.sequence_number(),
            timestamp: p.timestamp(),
            marker: p.marker_bit(),
            payload: Bytes::copy_from_slice(p.payload()),
        };
        depacketizer.push(&packet, &mut units).unwrap();
    }
    depacketizer.finish(&mut units);
    Received {
        units,
        packets,
        ssrc: ssrc.expect("packets on the RTP port"),
        first_sequence,
    }
}

/// The NAL units of received Annex B data.
fn received_nals(data: &Bytes) -> Vec<Bytes> {
    annexb_ranges(data).map(|r| data.slice(r)).collect()
}

/// Whether a NAL unit is a parameter set (H.264 SPS/PPS, H.265 VPS/SPS/PPS).
fn is_parameter_set(codec: &Codec, nal: &[u8]) -> bool {
    match codec {
        Codec::H264 => matches!(nal[0] & 0x1f, 7 | 8),
        _ => matches!((nal[0] >> 1) & 0x3f, 32..=34),
    }
}

/// Checks the received units, sent as `description` says, against the
/// demuxer's and returns the RTP timestamp base (the timestamp of media
/// time zero).
fn compare(
    name: &str,
    track: &Track,
    sent: &[AccessUnit],
    got: &Received,
    description: &PayloadDescription,
) -> u32 {
    let clock = description.clock_rate;
    let base = got.units[0]
        .timestamp
        .wrapping_sub(rescale(sent[0].pts, track.clock_rate, clock) as u32);
    match &track.codec {
        Codec::Pcm(format) => {
            // Packets split and rejoin blocks: compare the sample streams
            // (in wire byte order; 8-bit samples widened to L16 unless the
            // SDP says L8) and each packet's sample offset.
            let pcm8 = match description.encoding {
                "L8" => Pcm8::L8,
                _ => Pcm8::L16,
            };
            let sent_wire: Vec<u8> = sent
                .iter()
                .flat_map(|u| wire_samples(*format, pcm8, &u.data).to_vec())
                .collect();
            let got_wire: Vec<u8> = got.units.iter().flat_map(|u| u.data.to_vec()).collect();
            assert!(sent_wire == got_wire, "{name}: PCM samples differ");
            let sample = match description.encoding {
                "L16" => 2,
                "L24" => 3,
                _ => 1,
            };
            let frame = sample * usize::from(track.audio().unwrap().channels);
            // From the first unit's time: a track may start after zero.
            let mut offset = rescale(sent[0].pts, track.clock_rate, clock) as u32;
            for u in &got.units {
                assert_eq!(
                    u.timestamp,
                    base.wrapping_add(offset),
                    "{name}: PCM timestamp"
                );
                offset += (u.data.len() / frame) as u32;
            }
        }
        Codec::H264 | Codec::Hevc => {
            assert_eq!(got.units.len(), sent.len(), "{name}: access units");
            for (i, (s, g)) in sent.iter().zip(&got.units).enumerate() {
                let ts = base.wrapping_add(rescale(s.pts, track.clock_rate, clock) as u32);
                assert_eq!(g.timestamp, ts, "{name}: unit {i} timestamp");
                let sent_nals = nal_units(track.framing, &s.data);
                let got_nals = received_nals(&g.data);
                if sent_nals != got_nals {
                    // Only parameter sets may be added, before a key frame
                    // that lacked them (RFC 6184 §8.4 / RFC 7798 §7.3 allow
                    // repeating them in band).
                    assert!(s.keyframe, "{name}: unit {i} changed");
                    let without: Vec<&Bytes> = got_nals
                        .iter()
                        .filter(|n| !is_parameter_set(&track.codec, n) || sent_nals.contains(n))
                        .collect();
                    assert_eq!(
                        without,
                        sent_nals.iter().collect::<Vec<_>>(),
                        "{name}: unit {i}"
                    );
                }
            }
        }
        _ => {
            assert_eq!(got.units.len(), sent.len(), "{name}: frames");
            for (i, (s, g)) in sent.iter().zip(&got.units).enumerate() {
                let ts = base.wrapping_add(rescale(s.pts, track.clock_rate, clock) as u32);
                assert_eq!(g.timestamp, ts, "{name}: frame {i} timestamp");
                // AV1 temporal units come back in the low overhead format,
                // a temporal delimiter first; Matroska's have none (the
                // Matroska AV1 mapping strips them).
                let received = match g.data.strip_prefix(&[0x12, 0x00]) {
                    Some(rest) if track.codec == Codec::Av1 && !s.data.starts_with(&[0x12]) => rest,
                    _ => &g.data[..],
                };
                assert!(received == &s.data[..], "{name}: frame {i} differs");
            }
        }
    }
    base
}

/// Payload formats that pack several frames in one packet (RFC 4184
/// AC-3, RFC 5215 Vorbis, Theora): a packet leaves with the frame after
/// the last it holds, up to their 100 ms span and one frame after its
/// first frame's presentation.
fn aggregation_delay(encoding: &str) -> Option<f64> {
    ["AC3", "vorbis", "theora"]
        .contains(&encoding)
        .then_some(0.1 + 0.05)
}

/// Capture times follow the media clock: a packet is never captured
/// after its presentation time (media time zero presented at
/// `presented_from`, seconds since the epoch) but by `late` seconds
/// (packets of several frames: the [`aggregation_delay`]), nor long
/// before.
fn check_timing(name: &str, got: &Received, base: u32, clock: u32, presented_from: f64, late: f64) {
    assert!(
        got.packets.windows(2).all(|w| w[0].0 <= w[1].0),
        "{name}: capture order"
    );
    // Capture times have microsecond resolution, timestamps one tick.
    let slack = 1e-6 + 1.0 / f64::from(clock);
    for &(time, ts) in &got.packets {
        let media = f64::from(ts.wrapping_sub(base) as i32) / f64::from(clock);
        let sent = time.as_secs_f64() - presented_from;
        // Video is sent in decoding order, up to a few frames before its
        // presentation time; audio exactly on time.
        assert!(
            sent <= media + late + slack && sent >= media - 0.5,
            "{name}: packet with media time {media:.6} captured at {sent:.6}"
        );
    }
}

/// MP2T capture times follow the PCR: each packet is captured when its
/// timestamp (the PCR, interpolated between PCRs) says, never later and
/// at most one PCR interval (100 ms, ISO/IEC 13818-1 §2.7.2) before, so
/// the stream is spread over the file's duration, not sent in bursts.
fn check_pcr_pacing(name: &str, got: &Received, base: u32, presented_from: f64) {
    check_timing(name, got, base, 90_000, presented_from, 0.0);
    for &(time, ts) in &got.packets {
        let media = f64::from(ts.wrapping_sub(base) as i32) / 90_000.0;
        let sent = time.as_secs_f64() - presented_from;
        assert!(
            sent >= media - 0.1,
            "{name}: packet due at {media:.6} captured early, at {sent:.6}"
        );
    }
    let span = |p: &[(Duration, u32)]| p.last().unwrap().0 - p[0].0;
    let last = got.packets.last().unwrap().1.wrapping_sub(base);
    assert!(
        span(&got.packets).as_secs_f64() >= f64::from(last) / 90_000.0 - 0.1,
        "{name}: sent in {:?}, its PCR spans {last} ticks",
        span(&got.packets)
    );
}

/// Each unit's first packet is captured at its decoding time, the file's
/// first unit (decoding time `first_dts`, seconds) at `sent_from`: units
/// keep their decoding-time spacing from the start, B-frame streams too.
/// PCM units are regrouped into packets and have no packet of their own,
/// nor do the frames packed after the first in one packet (see
/// [`aggregation_delay`]).
fn check_decode_spacing(
    name: &str,
    (track, media): (&Track, &SdpMedia),
    sent: &[AccessUnit],
    got: &Received,
    base: u32,
    (sent_from, first_dts): (f64, f64),
) {
    let clock = media.description.clock_rate;
    if matches!(track.codec, Codec::Pcm(_))
        || aggregation_delay(media.description.encoding).is_some()
    {
        return;
    }
    for (i, unit) in sent.iter().enumerate() {
        let ts = base.wrapping_add(rescale(unit.pts, track.clock_rate, clock) as u32);
        let (captured, _) = got
            .packets
            .iter()
            .find(|p| p.1 == ts)
            .unwrap_or_else(|| panic!("{name}: no packet of unit {i}"));
        let dts = unit.dts as f64 / f64::from(track.clock_rate);
        let expected = sent_from + dts - first_dts;
        assert!(
            (captured.as_secs_f64() - expected).abs() < 1.5e-6,
            "{name}: unit {i} (decoded at {dts:.6}) captured at {:.6}, not {:.6}",
            captured.as_secs_f64() - sent_from,
            expected - sent_from
        );
    }
}

/// Every sender report maps NTP to RTP the way the packets do.
fn check_reports(
    name: &str,
    media: &SdpMedia,
    datagrams: &[Datagram],
    ssrc: u32,
    base: u32,
    presented_from: f64,
) {
    let clock = f64::from(media.description.clock_rate);
    let mut reports = 0;
    let mut bye = false;
    for d in datagrams.iter().filter(|d| d.dst_port == media.port + 1) {
        assert_eq!(d.src_port % 2, 1, "{name}: RTCP from an odd port");
        for message in rtcp::parse(&d.payload).unwrap() {
            match message {
                RtcpMessage::SenderReport {
                    ssrc: s,
                    ntp,
                    rtp_timestamp,
                    ..
                } => {
                    assert_eq!(s, ssrc);
                    let unix = (ntp >> 32) as f64 - 2_208_988_800.0
                        + (ntp & 0xffff_ffff) as f64 / 4_294_967_296.0;
                    let since_start = unix - presented_from;
                    // Reports before media time zero map to times before
                    // the base (B-frames are sent ahead).
                    let expected = base.wrapping_add((since_start * clock).round() as i64 as u32);
                    let diff = rtp_timestamp.wrapping_sub(expected) as i32;
                    assert!(
                        diff.abs() <= 1,
                        "{name}: SR maps to {rtp_timestamp}, packets say {expected}"
                    );
                    // The report goes out when its NTP time says.
                    assert!((d.time.as_secs_f64() - unix).abs() < 1e-5);
                    reports += 1;
                }
                // The capture's source address, not the machine's name.
                RtcpMessage::Sdes(items) => {
                    assert_eq!(items, [(ssrc, "mediatool@127.0.0.1".to_owned())]);
                }
                RtcpMessage::Bye { ssrcs, .. } => {
                    assert_eq!(ssrcs, [ssrc]);
                    bye = true;
                }
                other => panic!("{name}: unexpected {other:?}"),
            }
        }
    }
    assert!(reports >= 2 && bye, "{name}: {reports} reports, bye {bye}");
}

/// The 8-bit PCM fixture, which goes as L16 by default and as L8 with
/// [`PCM8_L8`].
const PCM8_FIXTURE: &str = "wav_u8_8k_mono.wav";
/// The option that sends 8-bit PCM as L8.
const PCM8_L8: &[&str] = &["--pcm8", "l8"];

#[test]
fn every_fixture_round_trips_through_pcap() {
    let dir = tempfile::tempdir().unwrap();
    let mut covered = Vec::new();
    // Every fixture with the default options, and the 8-bit PCM one again
    // as L8.
    let runs = common::streamable_fixtures()
        .into_iter()
        .map(|f| (f, &[][..]))
        .chain([(common::fixtures().join(PCM8_FIXTURE), PCM8_L8)]);
    for (file, extra) in runs {
        let name = format!(
            "{} {}",
            file.file_name().unwrap().to_string_lossy(),
            extra.join(" ")
        );
        let (tracks, units) = demuxed(&file);
        let streamable: Vec<&Track> = tracks
            .iter()
            .filter(|t| rtp::packetizer(t).is_ok())
            .collect();
        if streamable.is_empty() {
            // Speex, FLAC: described, refused with what is missing.
            let out = packetize_support::packetize(&file, &dir.path().join("none.pcap"), &[]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                !out.status.success() && stderr.contains("no RTP payload format for"),
                "{name}: {stderr}"
            );
            continue;
        }
        let mut args = vec!["--ssrc", "0badf00d", "--seq", "65500"];
        args.extend_from_slice(extra);
        let pcap = packetize_ok(&file, dir.path(), &args);
        let medias = read_sdp(&pcap.with_extension("sdp"));
        let datagrams = read_udp(&pcap);
        assert_eq!(medias.len(), streamable.len(), "{name}: one m= per track");
        for (media, track) in medias.iter().zip(&streamable) {
            if track.codec == Codec::Pcm(PcmFormat::U8) {
                let expected = if extra == PCM8_L8 { "L8" } else { "L16" };
                assert_eq!(media.description.encoding, expected, "{name}: 8-bit PCM");
            }
        }
        // The first unit goes out 10 ms after the start time (after the
        // RTSP exchange); media time zero is presented as much later as
        // that unit is decoded before zero (B-frames).
        let sent_from = (Duration::from_secs(START_UNIX) + Duration::from_millis(10)).as_secs_f64();
        let first_dts = streamable
            .iter()
            .map(|t| units[&t.index][0].dts as f64 / f64::from(t.clock_rate))
            .fold(f64::INFINITY, f64::min);
        let presented_from = sent_from + (-first_dts).max(0.0);
        for (i, (media, track)) in medias.iter().zip(&streamable).enumerate() {
            let got = receive(media, &datagrams);
            if i == 0 {
                assert_eq!(
                    (got.ssrc, got.first_sequence),
                    (0x0bad_f00d, 65500),
                    "{name}"
                );
            }
            let sent = &units[&track.index];
            let base = compare(&name, track, sent, &got, &media.description);
            let late = aggregation_delay(media.description.encoding).unwrap_or(0.0);
            let clock = media.description.clock_rate;
            check_timing(&name, &got, base, clock, presented_from, late);
            let origin = (sent_from, first_dts);
            check_decode_spacing(&name, (track, media), sent, &got, base, origin);
            check_reports(&name, media, &datagrams, got.ssrc, base, presented_from);
        }
        covered.extend(medias);
    }
    covered.extend(transport_streams_as_mp2t(dir.path()));
    assert_every_encoding(&covered);
}

/// The transport stream fixtures packetized whole (`--ts-mode mp2t`): one
/// MP2T stream (payload type 33) whose payloads, joined, are the file's
/// packets (192-byte ones without their time stamp prefix), each a whole
/// number of 188-byte packets, the timestamps those of the units they come
/// from, moving on as the PCR does (interpolated inside a unit, RFC 2250
/// §2), never back; its reports match. Returns the captures' media.
fn transport_streams_as_mp2t(dir: &Path) -> Vec<SdpMedia> {
    let mut covered = Vec::new();
    let options = media::ReadOptions {
        ts_mode: media::TsMode::Mp2t,
    };
    let files: Vec<_> = common::streamable_fixtures()
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "ts" || e == "m2ts"))
        .collect();
    assert!(files.len() >= 3, "{files:?}");
    for file in files {
        let name = format!("{} (mp2t)", file.file_name().unwrap().to_string_lossy());
        let sub = dir.join("mp2t");
        std::fs::create_dir_all(&sub).unwrap();
        let (tracks, units) = demuxed_as(&file, &options);
        assert_eq!(tracks.len(), 1, "{name}");
        let sent = &units[&0];
        let pcap = packetize_ok(&file, &sub, &["--ts-mode", "mp2t"]);
        let medias = read_sdp(&pcap.with_extension("sdp"));
        assert_eq!(medias.len(), 1, "{name}");
        assert_eq!(
            (medias[0].payload_type, medias[0].description.encoding),
            (33, "MP2T"),
            "{name}"
        );
        let datagrams = read_udp(&pcap);
        let got = receive(&medias[0], &datagrams);
        let joined = |units: &mut dyn Iterator<Item = &Bytes>| -> Vec<u8> {
            units.flat_map(|d| d.to_vec()).collect()
        };
        assert!(
            joined(&mut sent.iter().map(|u| &u.data))
                == joined(&mut got.units.iter().map(|u| &u.data)),
            "{name}: the packets"
        );
        // Each payload (one received unit a packet) is whole TS packets.
        assert_eq!(got.units.len(), got.packets.len(), "{name}");
        assert!(
            got.units
                .iter()
                .all(|u| u.data.len() % 188 == 0 && u.data.chunks(188).all(|p| p[0] == 0x47)),
            "{name}: payloads of whole 188-byte packets"
        );
        let base = got.units[0].timestamp;
        let ticks: Vec<i64> = got
            .units
            .iter()
            .map(|u| i64::from(u.timestamp.wrapping_sub(base) as i32))
            .collect();
        assert!(ticks.windows(2).all(|w| w[0] <= w[1]), "{name}: timestamps");
        let last = sent.last().unwrap();
        let end = rescale(last.pts + i64::from(last.duration), 27_000_000, 90_000);
        assert!(*ticks.last().unwrap() <= end, "{name}");
        let presented_from =
            (Duration::from_secs(START_UNIX) + Duration::from_millis(10)).as_secs_f64();
        check_pcr_pacing(&name, &got, base, presented_from);
        check_reports(
            &name,
            &medias[0],
            &datagrams,
            got.ssrc,
            base,
            presented_from,
        );
        covered.extend(medias);
    }
    covered
}
