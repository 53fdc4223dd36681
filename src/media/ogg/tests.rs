use std::collections::HashMap;
use std::io::Cursor;
use std::path::Path;
use std::time::Duration;

use super::page::tests::page;
use super::*;
use crate::codec::xiph::XiphHeaders;
use crate::media::testing::{check_truncations, read_all, read_clean};
use crate::vocab::clock::time_of;
use crate::vocab::{Codec, TrackKind};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn open(input: BytesReader) -> Result<Box<dyn Demuxer>> {
    Ok(Box::new(OggReader::new(input)?))
}

fn read(name: &str) -> (OggReader, Vec<AccessUnit>) {
    read_clean(OggReader::new, fixture(name))
}

/// Units of `track`.
fn of(units: &[AccessUnit], track: usize) -> Vec<AccessUnit> {
    units.iter().filter(|u| u.track == track).cloned().collect()
}

/// Each unit starts where the one before ends.
fn assert_contiguous(units: &[AccessUnit]) {
    for pair in units.windows(2) {
        assert_eq!(
            pair[1].pts,
            pair[0].pts + i64::from(pair[0].duration),
            "{pair:?}"
        );
    }
}

/// The end of the last unit.
fn end(units: &[AccessUnit]) -> i64 {
    let last = units.last().unwrap();
    last.pts + i64::from(last.duration)
}

/// The data packets of every stream, in file order, as the `ogg` crate
/// reads them (a second implementation): the first `headers` packets of
/// each stream and empty packets left out.
fn packets_by_ogg_crate(data: &[u8], headers: usize) -> Vec<Vec<u8>> {
    let mut reader = ogg::PacketReader::new(Cursor::new(data.to_vec()));
    let mut seen: HashMap<u32, usize> = HashMap::new();
    let mut out = Vec::new();
    while let Some(packet) = reader.read_packet().unwrap() {
        let count = seen.entry(packet.stream_serial()).or_default();
        *count += 1;
        if *count > headers && !packet.data.is_empty() {
            out.push(packet.data);
        }
    }
    out
}

#[test]
fn ogg_is_known_by_its_capture_pattern() {
    for (head, ext) in [(&b"OggS\0\x02"[..], None), (b"OggS\0\x02", Some("mp3"))] {
        let mut input = BytesReader::from_bytes(head.to_vec());
        assert_eq!(
            crate::media::detect_reader(&mut input, ext).unwrap(),
            &FORMAT
        );
    }
}

#[test]
fn vorbis_packets_are_timed_by_their_block_sizes() {
    let data = fixture("vorbis_44k_stereo.ogg");
    let (reader, units) = read_clean(OggReader::new, data.clone());
    let track = &reader.tracks()[0];
    assert_eq!(
        (track.codec.clone(), track.clock_rate),
        (Codec::Vorbis, 44100)
    );
    assert_eq!(track.audio().map(|a| a.channels), Some(2));
    let headers = XiphHeaders::from_codec_private(&track.config.extradata).unwrap();
    assert!(headers.identification.starts_with(b"\x01vorbis"));
    assert!(headers.setup.starts_with(b"\x05vorbis"));
    // The first packet completes no sample; ffprobe's packets after it:
    // 576, then 1024 each, the last cut to 38 by the end granule position.
    assert_eq!((units[0].pts, units[0].duration), (0, 0));
    assert_eq!((units[1].pts, units[1].duration), (0, 576));
    assert_eq!(units[2].duration, 1024);
    assert_eq!(units.last().unwrap().duration, 38);
    assert_eq!(units.len(), 67);
    assert_contiguous(&units);
    assert_eq!(end(&units), 66150);
    let ours: Vec<Vec<u8>> = units.iter().map(|u| u.data.to_vec()).collect();
    assert_eq!(ours, packets_by_ogg_crate(&data, 3));
}

#[test]
fn opus_times_are_pcm_positions_after_the_pre_skip() {
    let data = fixture("opus_48k_stereo.opus");
    let (reader, units) = read_clean(OggReader::new, data.clone());
    let track = &reader.tracks()[0];
    assert_eq!(
        (track.codec.clone(), track.clock_rate),
        (Codec::Opus, 48000)
    );
    assert!(track.config.extradata.starts_with(b"OpusHead"));
    // RFC 7845 §4.2: the first packet starts at -pre-skip (312 here);
    // the last is cut to the end granule position (ffprobe's 312).
    assert_eq!((units[0].pts, units[0].duration), (-312, 960));
    assert_eq!(units.last().unwrap().duration, 312);
    assert_eq!(units.len(), 76);
    assert_contiguous(&units);
    assert_eq!(end(&units), 72000);
    let ours: Vec<Vec<u8>> = units.iter().map(|u| u.data.to_vec()).collect();
    assert_eq!(ours, packets_by_ogg_crate(&data, 2));
}

#[test]
fn theora_and_vorbis_share_the_timeline() {
    let data = fixture("theora_vorbis.ogv");
    let (reader, units) = read_clean(OggReader::new, data.clone());
    let kinds: Vec<TrackKind> = reader.tracks().iter().map(Track::kind).collect();
    assert_eq!(kinds, [TrackKind::Video, TrackKind::Audio]);
    let video = reader.tracks()[0].video().unwrap();
    assert_eq!(
        (video.width, video.height, video.pix_fmt),
        (160, 120, Some("yuv420p"))
    );
    let frames = of(&units, 0);
    assert_eq!(frames.len(), 50);
    for (i, frame) in frames.iter().enumerate() {
        assert_eq!((frame.pts, frame.duration), (i as i64 * 3600, 3600));
        // -g 12: a key frame every 12 frames.
        assert_eq!(frame.keyframe, i % 12 == 0, "frame {i}");
    }
    let audio = of(&units, 1);
    assert_eq!((audio.len(), audio[0].pts, audio[0].duration), (88, 0, 0));
    assert_contiguous(&audio);
    assert_eq!(end(&audio), 88200);
    let ours: Vec<Vec<u8>> = units.iter().map(|u| u.data.to_vec()).collect();
    assert_eq!(ours, packets_by_ogg_crate(&data, 3));
}

#[test]
fn chained_streams_continue_the_timeline() {
    let (reader, units) = read("vorbis_chained.ogg");
    assert_eq!(reader.tracks().len(), 1);
    // 67 packets of 1.5 s, then 32 of 0.7 s whose first one, after new
    // headers, completes no sample again.
    assert_eq!(units.len(), 67 + 32);
    assert_contiguous(&units);
    assert_eq!((units[67].pts, units[67].duration), (66150, 0));
    assert_eq!(end(&units), 66150 + 30870);
}

#[test]
fn a_chain_the_sdp_cannot_describe_ends_the_file() {
    let (reader, units) = read("bad/ogg_chained_other_rate.ogg");
    let audio = reader.tracks()[0].audio().unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (44100, 2));
    assert_eq!(units.len(), 32);
    assert_eq!(end(&units), 30870);
}

#[test]
fn speex_and_flac_are_described() {
    let (reader, units) = read("speex_16k_mono.spx");
    let track = &reader.tracks()[0];
    assert_eq!(track.codec, Codec::Other(TrackKind::Audio, "speex".into()));
    assert_eq!(
        track.audio().map(|a| (a.sample_rate, a.channels)),
        Some((16000, 1))
    );
    assert_eq!(units.len(), 75);
    assert_contiguous(&units);
    assert_eq!(end(&units), 24000);
    let (reader, units) = read("flac_22k_mono.oga");
    let track = &reader.tracks()[0];
    assert_eq!(track.codec, Codec::Other(TrackKind::Audio, "flac".into()));
    assert_eq!(units.len(), 5);
    assert_contiguous(&units);
    assert_eq!(end(&units), 11025);
}

#[test]
fn cut_files_read_their_whole_packets() {
    for name in [
        "vorbis_44k_stereo.ogg",
        "opus_48k_stereo.opus",
        "theora_vorbis.ogv",
        "vorbis_chained.ogg",
        "speex_16k_mono.spx",
    ] {
        let data = fixture(name);
        let (_, full) = read_clean(OggReader::new, data.clone());
        check_truncations(&data, open, &full);
    }
}

#[test]
fn damaged_pages_are_skipped() {
    let (_, full) = read("theora_vorbis.ogv");
    for (name, video) in [
        ("bad/ogg_bad_crc.ogv", 49),
        ("bad/ogg_lying_segments.ogv", 39),
    ] {
        let (_, units) = read(name);
        // What ffprobe decodes: a page of Theora frames lost, no audio.
        assert_eq!(of(&units, 0).len(), video, "{name}");
        assert_eq!(of(&units, 1), of(&full, 1), "{name}");
    }
    let (_, units) = read("bad/ogg_absurd_length.ogg");
    assert_eq!(units.len(), 45);
    let (reader, _) = read("bad/ogg_absurd_theora.ogv");
    assert_eq!(reader.tracks()[0].video().unwrap().width, 1048560);
}

#[test]
fn lost_pages_drop_the_packets_they_cut() {
    // A stream of one 600-byte packet over three pages, then a 5-byte one.
    // OpusHead: version 1, 1 channel, pre-skip 312, 48 kHz, family 0.
    let id = b"OpusHead\x01\x01\x38\x01\x80\xbb\0\0\0\0\0".to_vec();
    let mut file = page(2, 0, 9, 0, &[id.len() as u8], &id);
    file.extend(page(0, 0, 9, 1, &[8], b"OpusTags"));
    // TOC config 9 (SILK WB 20 ms), code 0: 960 samples each.
    let packet: Vec<u8> = std::iter::once(9u8 << 3)
        .chain((1..600).map(|i| i as u8))
        .collect();
    file.extend(page(0, -1, 9, 2, &[255], &packet[..255]));
    let lost = page(1, -1, 9, 3, &[255], &packet[255..510]);
    let last = [&packet[510..], &[9 << 3, 1, 2, 3, 4]].concat();
    let tail = page(5, 960 * 2, 9, 4, &[90, 5], &last);
    let whole = [file.clone(), lost, tail.clone()].concat();
    let (_, units) = read_clean(OggReader::new, whole);
    assert_eq!(
        units.iter().map(|u| u.data.len()).collect::<Vec<_>>(),
        [600, 5]
    );
    assert_eq!(units[0].pts, -312);
    // Without the middle page: the first packet is lost; the second is
    // the first placed, so the presentation starts with it.
    let (_, units) = read_clean(OggReader::new, [file, tail].concat());
    assert_eq!(units.iter().map(|u| u.data.len()).collect::<Vec<_>>(), [5]);
    assert_eq!(units[0].pts, -312);
}

#[test]
fn hostile_input_is_refused_or_read_without_harm() {
    assert!(matches!(
        OggReader::new(BytesReader::from_bytes(Vec::new())),
        Err(MediaError::Empty)
    ));
    let err = OggReader::new(BytesReader::from_bytes(b"OggS junk".repeat(100)))
        .err()
        .unwrap();
    assert!(
        matches!(err, MediaError::Invalid { offset: 0, .. }),
        "{err}"
    );
    // A stream of an unknown codec alone.
    let unknown = page(2, 0, 1, 0, &[8], b"\x80kate\0\0\0");
    let err = OggReader::new(BytesReader::from_bytes(unknown))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Unsupported(_)), "{err}");
    // Headers only.
    let data = fixture("vorbis_44k_stereo.ogg");
    let err = OggReader::new(BytesReader::from_bytes(&data[..3945]))
        .err()
        .unwrap();
    assert!(matches!(err, MediaError::Truncated { .. }), "{err}");
    // Every page's flags, granule and lacing overwritten (CRCs left
    // wrong, then fixed): no panic, units or a clean error.
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for round in 0..200 {
        let mut bytes = data.clone();
        for _ in 0..8 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let at = (rng % bytes.len() as u64) as usize;
            bytes[at] = (rng >> 32) as u8;
        }
        if round % 2 == 0 {
            fix_crcs(&mut bytes);
        }
        if let Ok(mut reader) = open(BytesReader::from_bytes(bytes)) {
            let _ = read_all(reader.as_mut());
            let _ = reader.seek(Duration::from_millis(700));
            let _ = read_all(reader.as_mut());
        }
    }
}

/// Sets the CRC of every page found walking from the start.
fn fix_crcs(bytes: &mut [u8]) {
    let mut at = 0;
    while at + page::HEADER_LEN <= bytes.len() && bytes[at..].starts_with(page::CAPTURE) {
        let table = page::HEADER_LEN + usize::from(bytes[at + 26]);
        let Some(lacing) = bytes.get(at + page::HEADER_LEN..at + table) else {
            return;
        };
        let len = table + lacing.iter().map(|&v| usize::from(v)).sum::<usize>();
        let Some(whole) = bytes.get_mut(at..at + len) else {
            return;
        };
        let crc = page::page_crc(whole);
        whole[22..26].copy_from_slice(&crc.to_le_bytes());
        at += len;
    }
}

/// Seeks to `times` (seconds) and checks, for every track, that reading
/// resumes with the straight read's units from the unit containing the
/// reference time (the key frame's for video), after a priming Vorbis
/// packet of no duration.
fn check_seeks(name: &str, times: &[f64]) {
    let (_, full) = read(name);
    let mut reader = open(BytesReader::from_bytes(fixture(name))).unwrap();
    let tracks = reader.tracks().to_vec();
    let video = tracks.iter().position(|t| t.kind() == TrackKind::Video);
    let reference = video.unwrap_or(0);
    let rate = tracks[reference].clock_rate;
    for &seconds in times {
        let time = Duration::from_secs_f64(seconds);
        let got = reader.seek(time).unwrap();
        let target = (seconds * f64::from(rate)).floor() as i64;
        let reference_units = of(&full, reference);
        let Some(at) = reference_units
            .iter()
            .rposition(|u| u.pts <= target && (video.is_none() || u.keyframe) && u.duration > 0)
            .filter(|_| target < end(&reference_units))
        else {
            assert_eq!(
                got,
                time_of(end(&reference_units) as u64, rate),
                "{name} at {seconds}"
            );
            assert_eq!(reader.read_unit().unwrap(), None, "{name} at {seconds}");
            continue;
        };
        let from = reference_units[at].pts;
        assert_eq!(
            got,
            time_of(from.max(0) as u64, rate),
            "{name} at {seconds}"
        );
        let (after, _) = read_all(reader.as_mut());
        for (track, t) in tracks.iter().enumerate() {
            let from = crate::vocab::clock::rescale(from, rate, t.clock_rate);
            let want: Vec<AccessUnit> = of(&full, track)
                .into_iter()
                .skip_while(|u| u.pts + i64::from(u.duration) <= from || u.duration == 0)
                .collect();
            let mut got = of(&after, track);
            if t.codec == Codec::Vorbis && want.first() != of(&full, track).first() {
                let prime = got.remove(0);
                assert_eq!(
                    (prime.pts, prime.duration),
                    (want[0].pts, 0),
                    "{name} at {seconds}"
                );
            }
            assert_eq!(got, want, "{name} at {seconds}, track {track}");
        }
    }
}

/// Found by fuzzing: the largest time there is overflowed the Opus
/// pre-skip arithmetic. Every fixture seeks to it and ends there.
#[test]
fn seeking_to_the_largest_time_ends_the_file() {
    for name in [
        "vorbis_44k_stereo.ogg",
        "opus_48k_stereo.opus",
        "opus_16k_mono.opus",
        "theora_vorbis.ogv",
        "vorbis_chained.ogg",
        "speex_16k_mono.spx",
        "flac_22k_mono.oga",
    ] {
        let (_, full) = read(name);
        let mut reader = open(BytesReader::from_bytes(fixture(name))).unwrap();
        let reference = reader
            .tracks()
            .iter()
            .position(|t| t.kind() == TrackKind::Video);
        let reference = reference.unwrap_or(0);
        let rate = reader.tracks()[reference].clock_rate;
        let got = reader.seek(Duration::MAX).unwrap();
        assert_eq!(
            got,
            time_of(end(&of(&full, reference)) as u64, rate),
            "{name}"
        );
        assert_eq!(reader.read_unit().unwrap(), None, "{name}");
    }
}

#[test]
fn seeks_land_on_the_unit_or_key_frame() {
    let times = [0.0, 0.3, 0.77, 1.0, 1.3, 1.49, 1.9, 5.0];
    check_seeks("vorbis_44k_stereo.ogg", &times);
    check_seeks("opus_48k_stereo.opus", &times);
    check_seeks("theora_vorbis.ogv", &times);
    check_seeks("vorbis_chained.ogg", &[0.1, 1.6, 2.1, 0.5, 9.0]);
    check_seeks("speex_16k_mono.spx", &times);
}
