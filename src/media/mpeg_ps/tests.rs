use super::*;
use crate::media::testing::{
    capture_warnings, check_track_seeks, check_track_truncations, read_all, track_units, Opener,
};
use crate::vocab::testing::fixture;
use crate::vocab::{Codec, PcmFormat};

const OPEN: Opener = |input| Ok(Box::new(ProgramStreamReader::new(input)?));

/// Opens `data` and reads it whole, cleanly.
fn read(data: Vec<u8>) -> (Vec<Track>, Vec<AccessUnit>) {
    let mut reader = OPEN(BytesReader::from_bytes(data)).unwrap();
    let (units, error) = read_all(reader.as_mut());
    assert!(error.is_none(), "{error:?}");
    (reader.tracks().to_vec(), units)
}

/// Per track: codec and frame count (for PCM: sample frames).
fn summary(tracks: &[Track], units: &[AccessUnit]) -> Vec<(String, u64)> {
    (0..tracks.len())
        .map(|t| {
            let mine = track_units(units, t);
            let count = match tracks[t].codec {
                Codec::Pcm(_) => mine.iter().map(|u| u64::from(u.duration)).sum(),
                _ => mine.len() as u64,
            };
            (tracks[t].codec.to_string(), count)
        })
        .collect()
}

/// The codecs, parameters and frame counts ffprobe (FFmpeg 5.1, with
/// `-count_frames`; for LPCM the samples it decodes) reports for the
/// program stream fixtures.
#[test]
fn fixtures_match_ffprobe() {
    let cases: [(&str, &[(&str, u64)]); 3] = [
        ("mpeg1_system.mpg", &[("mpeg1video", 50), ("mp2", 77)]),
        (
            "mpeg2_ac3_lpcm.vob",
            &[("mpeg2video", 25), ("ac3", 32), ("pcm_s16be", 48000)],
        ),
        ("ps_h264_mp2.mpg", &[("h264", 25), ("mp2", 42)]),
    ];
    for (name, want) in cases {
        let (tracks, units) = read(fixture(name));
        let want: Vec<(String, u64)> = want.iter().map(|&(c, n)| (c.to_owned(), n)).collect();
        assert_eq!(summary(&tracks, &units), want, "{name}");
        let video = track_units(&units, 0);
        assert!(video[0].keyframe, "{name}");
        let mut pts: Vec<i64> = video.iter().map(|u| u.pts).collect();
        pts.sort_unstable();
        assert!(
            pts.windows(2).all(|w| w[1] - w[0] == 3600),
            "{name}: {pts:?}"
        );
        assert!(video.windows(2).all(|w| w[0].dts < w[1].dts), "{name}");
        assert!(video.iter().all(|u| u.pts >= u.dts), "{name}");
        assert_eq!(units.iter().map(|u| u.pts).min(), Some(0), "{name}");
    }
    let (tracks, _) = read(fixture("mpeg1_system.mpg"));
    let video = tracks[0].video().unwrap();
    assert_eq!(
        (video.width, video.height, video.pix_fmt),
        (160, 120, Some("yuv420p"))
    );
    assert_eq!(video.sample_aspect_ratio, crate::vocab::Rational::new(1, 1));
    assert_eq!(
        (tracks[0].profile.as_deref(), video.level.as_ref()),
        (None, None)
    );
    let audio = tracks[1].audio().unwrap();
    assert_eq!((audio.sample_rate, audio.channels), (44100, 1));
    let (tracks, units) = read(fixture("mpeg2_ac3_lpcm.vob"));
    let video = tracks[0].video().unwrap();
    assert_eq!(tracks[0].profile.as_deref(), Some("Main"));
    assert_eq!(video.level.as_ref().map(|l| l.idc), Some(8));
    assert_eq!(video.sample_aspect_ratio, crate::vocab::Rational::new(1, 1));
    // The sequence header (and extension) for the MPV payload format.
    assert_eq!(&tracks[0].config.extradata[..4], &[0, 0, 1, 0xb3]);
    assert_eq!(tracks[2].codec, Codec::Pcm(PcmFormat::S16Be));
    let audio = tracks[2].audio().unwrap();
    assert_eq!(
        (audio.sample_rate, audio.channels, audio.block_align),
        (48000, 1, Some(2))
    );
    // LPCM: sample counts end to end.
    let pcm = track_units(&units, 2);
    assert!(pcm
        .windows(2)
        .all(|w| w[1].pts == w[0].pts + i64::from(w[0].duration)));
}

#[test]
fn truncations_and_seeks_agree_with_a_straight_read() {
    for (name, pcm_slack) in [
        ("mpeg1_system.mpg", 0),
        // FFmpeg's LPCM timestamps name the start of its 480-sample
        // frames, not of the packets: a restart is off by less than one.
        ("mpeg2_ac3_lpcm.vob", 480),
        ("ps_h264_mp2.mpg", 0),
    ] {
        let data = fixture(name);
        let (_, full) = read(data.clone());
        check_track_truncations(&data, OPEN, &full);
        check_track_seeks(&data, OPEN, &full, pcm_slack);
    }
}

/// A last packet whose length runs past the end of the file: its whole
/// units are read, the one it cuts dropped with a warning.
#[test]
fn a_packet_past_the_end() {
    let ((tracks, units), warnings) = capture_warnings(|| read(fixture("bad/ps_pes_past_end.mpg")));
    assert_eq!(
        summary(&tracks, &units),
        [("mpeg1video".to_owned(), 4), ("mp2".to_owned(), 9)]
    );
    assert_eq!(
        warnings,
        [
            "MPEG-PS stream 0xe0: last access unit cut short by the end of the data: dropped",
            "MPEG-PS stream 0xc0: last frame cut short by the end of the data: dropped"
        ]
    );
}

/// Junk between packs is skipped with one warning; a file of junk is one
/// clear error.
#[test]
fn junk_between_packs_and_no_packs() {
    let data = fixture("mpeg1_system.mpg");
    let (_, full) = read(data.clone());
    let mut junky = data[..16384].to_vec();
    junky.extend_from_slice(&[0x12; 1000]);
    junky.extend_from_slice(&data[16384..]);
    let ((tracks, units), warnings) = capture_warnings(|| read(junky));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("skipped"), "{warnings:?}");
    // What the junk replaced is lost: a unit or two.
    for t in 0..tracks.len() {
        let (ours, straight) = (track_units(&units, t).len(), track_units(&full, t).len());
        assert!(
            ours + 3 >= straight && ours <= straight,
            "track {t}: {ours} of {straight}"
        );
    }
    for data in [
        fixture("bad/random.bin"),
        vec![0; 5000],
        vec![0, 0, 1, 0xba],
    ] {
        let error = OPEN(BytesReader::from_bytes(data)).err().unwrap();
        assert!(matches!(error, MediaError::Invalid { .. }), "{error}");
    }
}

/// A program stream map types the video stream: its codec is taken from
/// it, not sniffed (an H.264 stream typed as H.264; the map's CRC is not
/// needed).
#[test]
fn the_program_stream_map_types_streams() {
    let data = fixture("ps_h264_mp2.mpg");
    // FFmpeg numbers the video stream 0xE2 here.
    let video = data
        .windows(4)
        .find(|w| w[..3] == [0, 0, 1] && stream_id::is_video(w[3]))
        .unwrap()[3];
    let map = |stream_type: u8| {
        let entries = [stream_type, video, 0, 0, 0x03, 0xc0, 0, 0];
        let mut psm = vec![0, 0, 1, 0xbc, 0, 0, 0x80, 0x01, 0, 0];
        psm.extend_from_slice(&(entries.len() as u16).to_be_bytes());
        psm.extend_from_slice(&entries);
        psm.extend_from_slice(&[0; 4]);
        let len = (psm.len() - 6) as u16;
        psm[4..6].copy_from_slice(&len.to_be_bytes());
        psm
    };
    let first_pack_end = pack_header(&data).unwrap().1;
    for (stream_type, codec) in [(0x1b, Codec::H264), (0x02, Codec::Mpeg2Video)] {
        let mut typed = data[..first_pack_end].to_vec();
        typed.extend(map(stream_type));
        typed.extend_from_slice(&data[first_pack_end..]);
        let opened = OPEN(BytesReader::from_bytes(typed));
        match codec {
            Codec::H264 => assert_eq!(opened.unwrap().tracks()[0].codec, codec),
            // H.264 read as MPEG video finds no picture: the video track is
            // left out, the audio read.
            _ => assert_eq!(opened.unwrap().tracks()[0].codec, Codec::Mp2),
        }
    }
    assert_eq!(
        program_stream_map(&map(0x24)),
        Some(vec![(video, 0x24), (0xc0, 0x03)])
    );
}

#[test]
fn pack_headers_of_both_forms() {
    // MPEG-1: '0010', SCR 90000.
    let scr = crate::media::mpeg_pes::timestamp;
    let mpeg1 = fixture("mpeg1_system.mpg");
    let (value, len) = pack_header(&mpeg1).unwrap();
    assert_eq!((value, len), (scr(&mpeg1[4..]), 12));
    let vob = fixture("mpeg2_ac3_lpcm.vob");
    let (_, len) = pack_header(&vob).unwrap();
    assert_eq!(len, 14);
    assert_eq!(pack_header(&vob[..13]), None);
    assert_eq!(
        pack_header(&[0, 0, 1, 0xba, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        None
    );
}
