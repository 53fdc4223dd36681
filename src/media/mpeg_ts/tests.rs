use super::psi::tests::section;
use super::*;
use crate::media::testing::{
    check_track_seeks, check_track_truncations, read_all, track_units, Opener,
};
use crate::vocab::testing::{fixture, fuzz_regression};
use crate::vocab::Codec;

const OPEN: Opener = |input| Ok(Box::new(TransportStreamReader::new(input)?));
const OPEN_MP2T: Opener = |input| Ok(Box::new(mp2t::Mp2tReader::new(input)?));

/// Opens `data` and reads it whole, cleanly.
fn read(data: Vec<u8>) -> (Vec<Track>, Vec<AccessUnit>) {
    let mut reader = OPEN(BytesReader::from_bytes(data)).unwrap();
    let (units, error) = read_all(reader.as_mut());
    assert!(error.is_none(), "{error:?}");
    (reader.tracks().to_vec(), units)
}

/// Per track: codec, frame count, and each unit's PTS in order.
fn summary(tracks: &[Track], units: &[AccessUnit]) -> Vec<(String, usize)> {
    (0..tracks.len())
        .map(|t| (tracks[t].codec.to_string(), track_units(units, t).len()))
        .collect()
}

/// The codecs, parameters and frame counts ffprobe (FFmpeg 5.1, with
/// `-count_frames`) reports for the transport stream fixtures.
#[test]
fn fixtures_match_ffprobe() {
    let cases: [(&str, &[(&str, usize)]); 5] = [
        ("ts_h264_aac.ts", &[("h264", 50), ("aac", 95)]),
        ("ts_hevc_ac3.ts", &[("hevc", 50), ("ac3", 63)]),
        ("m2ts_mpeg2_ac3.m2ts", &[("mpeg2video", 50), ("ac3", 63)]),
        ("ts_aac_latm.ts", &[("aac", 48)]),
        ("ts_discontinuity.ts", &[("mpeg2video", 50), ("mp2", 84)]),
    ];
    for (name, want) in cases {
        let (tracks, units) = read(fixture(name));
        let want: Vec<(String, usize)> = want.iter().map(|&(c, n)| (c.to_owned(), n)).collect();
        assert_eq!(summary(&tracks, &units), want, "{name}");
        for track in &tracks {
            if let Some(video) = track.video() {
                assert_eq!((video.width, video.height), (160, 120), "{name}");
                assert_eq!(video.frame_rate, crate::vocab::Rational::new(25, 1));
            }
            if let Some(audio) = track.audio() {
                assert_eq!(audio.sample_rate, 48000, "{name}");
            }
        }
        // Video: one frame after the other, on the 90 kHz clock, from the
        // first key frame.
        for (t, track) in tracks.iter().enumerate() {
            let mine = track_units(&units, t);
            if track.video().is_some() {
                assert!(mine[0].keyframe, "{name}");
                let mut pts: Vec<i64> = mine.iter().map(|u| u.pts).collect();
                pts.sort_unstable();
                assert!(
                    pts.windows(2).all(|w| w[1] - w[0] == 3600),
                    "{name}: {pts:?}"
                );
                assert!(mine.windows(2).all(|w| w[0].dts < w[1].dts), "{name}");
            } else {
                assert!(
                    mine.windows(2)
                        .all(|w| w[1].pts == w[0].pts + i64::from(w[0].duration)),
                    "{name}: audio frames follow each other"
                );
            }
        }
        // Presentation starts at 0 on the earliest track.
        assert_eq!(units.iter().map(|u| u.pts).min(), Some(0), "{name}");
    }
    // H.264: Annex B units, the parameter sets for the SDP; AAC: its
    // AudioSpecificConfig (LC, 48 kHz, stereo), LATM's the same.
    let (tracks, units) = read(fixture("ts_h264_aac.ts"));
    assert_eq!(tracks[0].framing, crate::vocab::NalFraming::AnnexB);
    assert_eq!(tracks[0].config.parameter_sets.len(), 2);
    assert_eq!(tracks[0].profile.as_deref(), Some("High"));
    assert_eq!(&tracks[1].config.extradata[..], &[0x11, 0x90]);
    assert_eq!(&units[0].data[..4], &[0, 0, 0, 1]);
    let (latm, _) = read(fixture("ts_aac_latm.ts"));
    assert_eq!(&latm[0].config.extradata[..], &[0x11, 0x90]);
    let (hevc, _) = read(fixture("ts_hevc_ac3.ts"));
    assert_eq!(hevc[0].config.parameter_sets.len(), 3);
    assert_eq!(hevc[1].audio().map(|a| a.channels), Some(1));
}

/// A time base that jumps back 2^32 ticks (flagged by the PCR's
/// discontinuity indicator) and a lost video packet: a warning each, and
/// the presentation runs on without a gap or a reversal.
#[test]
fn a_clock_discontinuity_and_a_lost_packet_are_survived() {
    let (result, warnings) =
        crate::media::testing::capture_warnings(|| read(fixture("ts_discontinuity.ts")));
    let (tracks, units) = result;
    assert_eq!(summary(&tracks, &units)[0].1, 50);
    assert!(
        warnings.iter().any(|w| w.contains("clock discontinuity")),
        "{warnings:?}"
    );
    assert!(
        warnings.iter().any(|w| w.contains("continuity counter")),
        "{warnings:?}"
    );
    let audio = track_units(&units, 1);
    let last = audio.last().unwrap();
    assert!(last.pts + i64::from(last.duration) < 3 * 48000);
}

#[test]
fn truncations_and_seeks_agree_with_a_straight_read() {
    for name in [
        "ts_h264_aac.ts",
        "ts_hevc_ac3.ts",
        "m2ts_mpeg2_ac3.m2ts",
        "ts_aac_latm.ts",
        "ts_discontinuity.ts",
    ] {
        let data = fixture(name);
        let (_, full) = read(data.clone());
        check_track_truncations(&data, OPEN, &full);
        check_track_seeks(&data, OPEN, &full, 0);
    }
}

/// Broken transport streams: what can be read is, with a warning; a file
/// without a program is one clear error.
#[test]
fn broken_streams() {
    let error = OPEN(BytesReader::from_bytes(fixture("bad/ts_bad_crc.ts")))
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "invalid data at byte 0: MPEG transport stream: no program association table (PAT) \
         with a valid CRC_32"
    );
    for (name, video_frames) in [
        ("bad/ts_cc_storm.ts", 10),
        ("bad/ts_zero_length.ts", 11),
        ("bad/ts_pes_past_end.ts", 11),
    ] {
        let (tracks, units) = read(fixture(name));
        assert_eq!(tracks[0].codec, Codec::H264, "{name}");
        assert_eq!(track_units(&units, 0).len(), video_frames, "{name}");
    }
    // Random bytes, text, nothing, one packet.
    for data in [
        fixture("bad/random.bin"),
        b"G not a transport stream".repeat(40),
        Vec::new(),
        fixture("ts_h264_aac.ts")[..188].to_vec(),
    ] {
        assert!(OPEN(BytesReader::from_bytes(data)).is_err());
    }
}

/// A PMT that names a stream not there, a PAT listing a second program
/// first: the first program listed is the one read.
#[test]
fn the_first_program_is_read() {
    let mut data = fixture("ts_h264_aac.ts");
    // A PAT listing program 7 (PMT on PID 0x1001) before program 1, and
    // program 7's PMT: the AAC stream alone.
    let pat = section(0, 1, &[0, 7, 0xf0, 0x01, 0, 1, 0xf0, 0x00]);
    let pmt = section(
        2,
        7,
        &[0xe1, 0x01, 0xf0, 0x00, 0x0f, 0xe1, 0x01, 0xf0, 0x00],
    );
    let psi_packet = |pid: u16, body: &[u8]| {
        let mut p = vec![0x47, 0x40 | (pid >> 8) as u8, pid as u8, 0x10, 0];
        p.extend_from_slice(body);
        p.resize(188, 0xff);
        p
    };
    for packet in data.chunks_exact_mut(188) {
        if packet[1] & 0x1f == 0 && packet[2] == 0 {
            let counter = packet[3] & 0x0f;
            packet.copy_from_slice(&psi_packet(0, &pat));
            packet[3] |= counter;
        }
    }
    let first_pat = data
        .chunks_exact(188)
        .position(|p| p[1] & 0x1f == 0 && p[2] == 0)
        .unwrap();
    let after = (first_pat + 1) * 188;
    data.splice(after..after, psi_packet(0x1001, &pmt));
    let (tracks, units) = read(data);
    assert_eq!(summary(&tracks, &units), [("aac".to_owned(), 95)]);
}

/// A video PES of unbounded length whose payload has no start code after
/// its first: memory stays bounded (the unit is dropped past 16 MiB, with a
/// warning) and reading ends after what was whole.
#[test]
fn an_endless_access_unit_is_dropped() {
    let mut data = fixture("ts_h264_aac.ts");
    let mut counter = 0u8;
    let mut packet = |start: bool, payload: &[u8]| {
        let mut p = vec![0x47, u8::from(start) << 6 | 0x01, 0x00, 0x10 | counter];
        counter = (counter + 1) & 0x0f;
        p.extend_from_slice(payload);
        p.resize(188, 0x5a);
        p
    };
    let mut pes = vec![0, 0, 1, 0xe0, 0, 0, 0x80, 0x80, 5];
    pes.extend([0x21, 0, 1, 0, 1]);
    pes.extend([0, 0, 0, 1, 0x09, 0xf0]);
    data.extend(packet(true, &pes));
    for _ in 0..(17 << 20) / 184 {
        data.extend(packet(false, &[]));
    }
    let (result, warnings) = crate::media::testing::capture_warnings(|| read(data));
    let (tracks, units) = result;
    assert_eq!(summary(&tracks, &units)[0], ("h264".to_owned(), 50));
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("without a unit boundary")),
        "{warnings:?}"
    );
}

/// Served whole: runs of the file's packets, back to back, timed by the
/// PCR; 192-byte packets lose their time stamp prefix.
#[test]
fn mp2t_reading_gives_the_packets_paced_by_the_pcr() {
    for name in ["ts_h264_aac.ts", "m2ts_mpeg2_ac3.m2ts"] {
        let data = fixture(name);
        let mut reader = OPEN_MP2T(BytesReader::from_bytes(data.clone())).unwrap();
        assert_eq!(reader.tracks()[0].codec, Codec::Mp2t);
        assert_eq!(reader.tracks()[0].clock_rate, 27_000_000);
        let (units, error) = read_all(reader.as_mut());
        assert!(error.is_none());
        let joined: Vec<u8> = units.iter().flat_map(|u| u.data.to_vec()).collect();
        let packets: Vec<u8> = if name.ends_with(".m2ts") {
            data.chunks_exact(192)
                .flat_map(|p| p[4..].to_vec())
                .collect()
        } else {
            data.clone()
        };
        assert_eq!(joined, packets, "{name}");
        assert!(units
            .iter()
            .all(|u| u.data.len() % 188 == 0 && !u.data.is_empty()));
        assert!(
            units
                .windows(2)
                .all(|w| w[0].pts + i64::from(w[0].duration) == w[1].pts || w[1].pts == w[0].pts),
            "{name}: runs follow each other"
        );
        let last = units.last().unwrap();
        let span = (last.pts + i64::from(last.duration)) as f64 / 27e6;
        assert!((1.9..2.5).contains(&span), "{name}: {span}");
        // A seek restarts at a PES packet start, the PAT and PMT first:
        // before the time asked, by the muxer's PCR-to-PTS delay and up to
        // a GOP (12 frames).
        let got = reader.seek(Duration::from_millis(1500)).unwrap();
        assert!(
            got >= Duration::from_millis(400) && got <= Duration::from_millis(1500),
            "{got:?}"
        );
        let first = reader.read_unit().unwrap().unwrap();
        assert_eq!(first.data[..4], [0x47, 0x40, 0x00, first.data[3]]);
        reader.seek(Duration::ZERO).unwrap();
        assert_eq!(
            read_all(reader.as_mut()).0,
            units,
            "{name}: from the start again"
        );
    }
}

/// Found by the `mpeg_ts` fuzz target: a stream whose time base jumps
/// back before its first PCR put the tracks reading's origin below zero,
/// and a seek to the end of time then overflowed the target's distance
/// from it (read whole, then seeks as the fuzz target does them).
#[test]
fn mp2t_seeks_far_past_a_time_base_that_jumped_back() {
    let data = fuzz_regression("mpeg_ts", "ts_mp2t_seek_overflow.ts");
    let mut reader = OPEN_MP2T(BytesReader::from_bytes(data)).unwrap();
    read_all(reader.as_mut());
    for time in [
        Duration::from_millis(1500),
        Duration::ZERO,
        Duration::from_secs(3600 * 24 * 365),
        Duration::MAX,
    ] {
        if reader.seek(time).is_ok() {
            read_all(reader.as_mut());
        }
    }
}
