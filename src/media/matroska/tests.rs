//! Tests of the Matroska reader on the fixtures (ffprobe's counts in
//! tests/interop_ffprobe.rs), on seeking, on unknown sizes and on damage.

use std::time::Duration;

use super::*;
use crate::media::testing::{assert_consistent_timing, read_all};
use crate::vocab::testing::fixture;
use crate::vocab::NalFraming;

fn open(data: Vec<u8>) -> Result<MatroskaReader> {
    MatroskaReader::new(BytesReader::from_bytes(data), &FORMAT)
}

fn read_fixture(name: &str) -> (MatroskaReader, Vec<AccessUnit>) {
    let mut reader = open(fixture(name)).unwrap();
    let (units, error) = read_all(&mut reader);
    assert!(error.is_none(), "{name}: {error:?}");
    (reader, units)
}

fn of_track(units: &[AccessUnit], track: usize) -> Vec<&AccessUnit> {
    units.iter().filter(|u| u.track == track).collect()
}

/// Every fixture: per-track frame counts (ffprobe's `nb_read_packets`),
/// timing consistent per track, audio units back to back.
#[test]
fn fixtures_read_whole() {
    let cases: [(&str, &[usize]); 9] = [
        ("mkv_h264_aac_bframes.mkv", &[50, 95]),
        ("mkv_hevc_opus.mkv", &[50, 101]),
        ("webm_vp8_vorbis.webm", &[50, 88]),
        ("webm_vp9_opus.webm", &[50, 101]),
        ("mkv_av1_opus.mkv", &[25, 51]),
        ("mka_ac3_pcm.mka", &[32, 8, 4]),
        ("mkv_live_h264_mp3.mkv", &[50, 78]),
        ("mkv_theora_srt.mkv", &[50, 2]),
        ("mkv_lipsync_h264_aac.mkv", &[75, 142]),
    ];
    for (name, counts) in cases {
        let (reader, units) = read_fixture(name);
        let counted: Vec<usize> = (0..counts.len())
            .map(|t| of_track(&units, t).len())
            .collect();
        assert_eq!(counted, counts, "{name}");
        for track in reader.tracks() {
            let mine: Vec<AccessUnit> =
                of_track(&units, track.index).into_iter().cloned().collect();
            if track.kind() == TrackKind::Video {
                assert_consistent_timing(&mine);
                assert!(mine[0].keyframe, "{name}: starts at a key frame");
            }
            if track.kind() == TrackKind::Audio {
                for pair in mine.windows(2) {
                    assert_eq!(
                        pair[0].pts + i64::from(pair[0].duration),
                        pair[1].pts,
                        "{name} track {}: audio back to back",
                        track.index
                    );
                }
            }
        }
    }
}

#[test]
fn tracks_are_described() {
    let (reader, _) = read_fixture("mkv_h264_aac_bframes.mkv");
    let [video, audio] = reader.tracks() else {
        panic!()
    };
    assert_eq!(video.framing, NalFraming::LengthPrefixed(4));
    assert_eq!(video.config.parameter_sets.len(), 2);
    assert_eq!(video.profile.as_deref(), Some("High"));
    assert!(audio.config.extradata.starts_with(&[0x11, 0x90]));
    assert_eq!(
        (audio.clock_rate, audio.audio().unwrap().channels),
        (48_000, 2)
    );
    let (reader, units) = read_fixture("mkv_hevc_opus.mkv");
    assert_eq!(reader.tracks()[0].config.parameter_sets.len(), 3);
    // Opus: CodecDelay (312 samples) puts the priming before 0.
    assert_eq!(of_track(&units, 1)[0].pts, -312);
    let (reader, _) = read_fixture("webm_vp9_opus.webm");
    let detected = |name: &str| crate::media::detect(&fixture(name), None).map(|f| f.name);
    assert_eq!(detected("webm_vp9_opus.webm"), Some("webm"));
    assert_eq!(detected("mka_ac3_pcm.mka"), Some("matroska"));
    assert_eq!(reader.tracks()[0].profile.as_deref(), Some("Profile 0"));
    let (reader, _) = read_fixture("mkv_theora_srt.mkv");
    assert_eq!(reader.tracks()[1].codec.name(), "subrip");
}

/// ffmpeg delays the video by the AAC priming so that both start in
/// sync; the B-frames' DTS trail their PTS.
#[test]
fn first_timestamps() {
    let (_, units) = read_fixture("mkv_h264_aac_bframes.mkv");
    let video = of_track(&units, 0);
    assert_eq!((video[0].pts, video[0].dts), (21 * 90, 21 * 90 - 2 * 3600));
    assert_eq!(of_track(&units, 1)[0].pts, 0);
}

/// Unknown-size Segment and Clusters, no Cues: the same units as the
/// file with sizes, and seeking scans.
#[test]
fn live_files_read_and_seek() {
    let (_, units) = read_fixture("mkv_live_h264_mp3.mkv");
    let mut reader = open(fixture("mkv_live_h264_mp3.mkv")).unwrap();
    check_seek(&mut reader, &units, Duration::from_millis(1500));
}

/// A seek lands on the key frame at or before the time, audio resumes
/// with the frame containing it, and reading goes on as a straight read.
fn check_seek(reader: &mut MatroskaReader, all: &[AccessUnit], time: Duration) {
    let reached = reader.seek(time).unwrap();
    assert!(reached <= time);
    let (after, error) = read_all(reader);
    assert!(error.is_none());
    let video_first = after.iter().find(|u| u.track == 0).unwrap();
    assert!(video_first.keyframe);
    let key_ns = reader.ticks_ns(0, video_first.pts);
    assert_eq!(Duration::from_nanos(key_ns as u64), reached);
    // The key frame is the last one at or before the time.
    let keys: Vec<&AccessUnit> = all
        .iter()
        .filter(|u| {
            u.track == 0 && u.keyframe && reader.ticks_ns(0, u.pts) <= time.as_nanos() as i64
        })
        .collect();
    assert_eq!(keys.last().unwrap().pts, video_first.pts);
    // Every track reads on as the straight read from where it resumes.
    for track in 0..reader.tracks().len() {
        let mine: Vec<&AccessUnit> = of_track(&after, track);
        let straight: Vec<&AccessUnit> = of_track(all, track);
        let Some(first) = mine.first() else { continue };
        let at = straight.iter().position(|u| u.pts == first.pts).unwrap();
        assert_eq!(&straight[at..], &mine[..], "track {track} after {time:?}");
        if reader.tracks()[track].kind() == TrackKind::Audio {
            let start = reader.ticks_ns(track, first.pts);
            let end = reader.ticks_ns(track, first.pts + i64::from(first.duration));
            assert!(
                start <= key_ns && key_ns < end,
                "audio frame contains the key frame"
            );
        }
    }
}

#[test]
fn seeks_with_cues() {
    for name in [
        "mkv_h264_aac_bframes.mkv",
        "webm_vp8_vorbis.webm",
        "mkv_hevc_opus.mkv",
    ] {
        let (_, all) = read_fixture(name);
        let mut reader = open(fixture(name)).unwrap();
        assert!(reader.cues().unwrap().len() >= 2, "{name} has Cues");
        for ms in [1700, 300, 1000, 1999] {
            check_seek(&mut reader, &all, Duration::from_millis(ms));
        }
        assert_eq!(reader.seek(Duration::ZERO).unwrap(), Duration::ZERO);
        let (again, _) = read_all(&mut reader);
        assert_eq!(again, all, "{name}: from the start again");
    }
}

#[test]
fn seeking_past_the_end_ends() {
    let mut reader = open(fixture("mkv_av1_opus.mkv")).unwrap();
    let reached = reader.seek(Duration::from_secs(3600)).unwrap();
    assert!(reached >= Duration::from_secs(1) && reached < Duration::from_millis(1100));
    assert_eq!(reader.read_unit().unwrap(), None);
    let reached = reader.seek(Duration::MAX).unwrap();
    assert!(reached < Duration::from_secs(2));
}

/// Cut at every tenth: opens (but for cuts before the first block) and
/// reads a prefix of the whole file's units without an error.
#[test]
fn truncated_files_read_their_whole_blocks() {
    for name in [
        "mkv_h264_aac_bframes.mkv",
        "mkv_live_h264_mp3.mkv",
        "webm_vp9_opus.webm",
    ] {
        let data = fixture(name);
        let (_, all) = read_fixture(name);
        for tenth in 1..10 {
            let cut = data[..data.len() * tenth / 10].to_vec();
            let mut reader = match open(cut) {
                Ok(reader) => reader,
                Err(e) => {
                    assert!(
                        matches!(e, MediaError::Truncated { .. }),
                        "{name} {tenth}: {e}"
                    );
                    continue;
                }
            };
            let (units, error) = read_all(&mut reader);
            assert!(error.is_none(), "{name} {tenth}: {error:?}");
            assert!(!units.is_empty());
            // The same frames; NPT 0 may move when a track's first block
            // is cut off.
            let frames = |units: &[AccessUnit]| -> Vec<(usize, Bytes)> {
                units.iter().map(|u| (u.track, u.data.clone())).collect()
            };
            assert!(
                frames(&units) == frames(&all[..units.len()]),
                "{name} cut at {tenth}/10"
            );
        }
    }
}

#[test]
fn hostile_files() {
    // A 4 GiB block in a 1 KiB file: no whole block, one error.
    let error = open(fixture("bad/mkv_absurd_length.mkv")).err().unwrap();
    assert_eq!(
        error.to_string(),
        "truncated at byte 635: no whole block in the file"
    );
    // A corrupt Cluster size: reading resumes at the next Cluster.
    let mut reader = open(fixture("bad/mkv_corrupt_size.mkv")).unwrap();
    let (units, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert!(units.len() > 50 && units.len() < 217, "{}", units.len());
    // A lace lying about its count: that block is skipped, the rest read.
    let mut reader = open(fixture("bad/mkv_lacing_lie.mkv")).unwrap();
    let (units, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(units.len(), 75 + 141);
    // Not EBML, EBML without a Segment, a Segment without Tracks.
    assert!(open(b"\x1a\x45\xdf\xa3\x80".to_vec()).is_err());
    assert!(open(b"junk".to_vec()).is_err());
    let no_tracks = b"\x1a\x45\xdf\xa3\x80\x18\x53\x80\x67\x85\xec\x83\0\0\0".to_vec();
    assert_eq!(
        open(no_tracks).err().unwrap().to_string(),
        "invalid data at byte 10: no Tracks element"
    );
}

/// Elements of unknown size nested in a known-size Segment, a zero-size
/// Cluster, and junk between Clusters: no loop, no panic.
#[test]
fn zero_sizes_and_junk_end() {
    let data = fixture("mkv_lipsync_h264_aac.mkv");
    let first_cluster = memchr::memmem::find(&data, &id::CLUSTER.to_be_bytes()).unwrap();
    let mut odd = data[..first_cluster].to_vec();
    odd.extend_from_slice(&[0x1f, 0x43, 0xb6, 0x75, 0x80]); // empty Cluster
    odd.extend_from_slice(b"\x00\x00junk");
    odd.extend_from_slice(&data[first_cluster..]);
    let mut reader = open(odd).unwrap();
    let (units, error) = read_all(&mut reader);
    assert!(error.is_none());
    assert_eq!(units.len(), 75 + 142);
}
