//! Multi-track sessions with a raw client (RFC 2326): one SDP with a
//! track per stream (a subtitle track left out), aggregate and per-track
//! SETUP, aggregate PLAY with one RTP-Info entry per track, 459/460,
//! PAUSE and PLAY resuming exactly, per-track TEARDOWN, and `Range:
//! npt=` seeking in Matroska (video key frame, audio aligned).

mod common;
mod serve_common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use mediatool::media::{self, AccessUnit};
use serve_common::{Rtsp, TestServer};

const MOVIE: (&str, &str) = ("movie.mkv", "mkv_h264_aac_bframes.mkv");
const SUBTITLED: (&str, &str) = ("subtitled.mkv", "mkv_theora_srt.mkv");

fn tcp(channel: u8) -> String {
    format!("RTP/AVP/TCP;unicast;interleaved={channel}-{}", channel + 1)
}

/// One RTP-Info entry: url, seq, rtptime.
#[derive(Debug, PartialEq, Eq)]
struct Info {
    url: String,
    seq: u16,
    rtptime: u32,
}

fn rtp_info(value: &str) -> Vec<Info> {
    value
        .split(',')
        .map(|entry| {
            let mut info = Info {
                url: String::new(),
                seq: 0,
                rtptime: 0,
            };
            for field in entry.trim().split(';') {
                let (key, v) = field.split_once('=').unwrap();
                match key {
                    "url" => info.url = v.to_owned(),
                    "seq" => info.seq = v.parse().unwrap(),
                    "rtptime" => info.rtptime = v.parse().unwrap(),
                    other => panic!("RTP-Info field {other}"),
                }
            }
            info
        })
        .collect()
}

/// (sequence number, timestamp) of an RTP packet.
fn seq_ts(packet: &[u8]) -> (u16, u32) {
    (
        u16::from_be_bytes([packet[2], packet[3]]),
        u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
    )
}

/// Reads interleaved frames for `time`; the RTP ones by channel.
fn receive(c: &mut Rtsp, time: Duration) -> BTreeMap<u8, Vec<Vec<u8>>> {
    let until = Instant::now() + time;
    let mut by_channel: BTreeMap<u8, Vec<Vec<u8>>> = BTreeMap::new();
    for (channel, data) in c.frames.drain(..) {
        by_channel.entry(channel).or_default().push(data);
    }
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        c.set_read_timeout(left.max(Duration::from_millis(1)));
        match c.read_item() {
            Some(serve_common::Item::Frame(channel, data)) => {
                by_channel.entry(channel).or_default().push(data)
            }
            Some(serve_common::Item::Reply(r)) => panic!("unexpected reply {r:?}"),
            None => break,
        }
    }
    c.set_read_timeout(Duration::from_secs(10));
    by_channel
}

/// Each track's units, as the reader reads the fixture.
fn fixture_units(name: &str) -> (Vec<media::Track>, Vec<AccessUnit>) {
    let mut demuxer = media::open(&common::fixtures().join(name)).unwrap();
    let mut units = Vec::new();
    while let Some(unit) = demuxer.read_unit().unwrap() {
        units.push(unit);
    }
    (demuxer.tracks().to_vec(), units)
}

/// The RTP clocks of the tracks in the SDP.
fn clocks(sdp: &str) -> Vec<u32> {
    sdp.lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .map(|l| l.split('/').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn a_two_track_session_end_to_end() {
    let server = TestServer::start(&[MOVIE, SUBTITLED], &[]);
    let mut c = server.connect();
    let url = server.url(MOVIE.0);
    // One SDP, a track per stream; the subtitle track left out.
    let describe = c.request("DESCRIBE", &url, &[]);
    assert_eq!(describe.status, 200);
    assert_eq!(describe.body.matches("m=").count(), 2, "{}", describe.body);
    assert!(
        describe.body.contains("a=control:track0\r\n")
            && describe.body.contains("a=control:track1\r\n")
    );
    let sdp_clocks = clocks(&describe.body);
    assert_eq!(sdp_clocks, [90_000, 48_000]);
    let subtitled = c.request("DESCRIBE", &server.url(SUBTITLED.0), &[]);
    assert_eq!(
        subtitled.body.matches("m=").count(),
        1,
        "{}",
        subtitled.body
    );
    assert!(subtitled.body.contains("m=video") && !subtitled.body.contains("track1"));
    // The subtitle track is not served; its video is, alone (its aggregate
    // URL names it).
    let subtitles = format!("{}/track1", server.url(SUBTITLED.0));
    assert_eq!(
        c.request("SETUP", &subtitles, &[("Transport", &tcp(0))])
            .status,
        404
    );
    let alone = c.request("SETUP", &server.url(SUBTITLED.0), &[("Transport", &tcp(0))]);
    assert_eq!(alone.status, 200);
    assert_eq!(
        c.request(
            "TEARDOWN",
            &server.url(SUBTITLED.0),
            &[("Session", &alone.session())]
        )
        .status,
        200
    );

    // The aggregate URL of a two-track file cannot be set up (459).
    assert_eq!(
        c.request("SETUP", &url, &[("Transport", &tcp(0))]).status,
        459
    );
    let setup = c.request("SETUP", &format!("{url}/track0"), &[("Transport", &tcp(0))]);
    assert_eq!(setup.status, 200, "{setup:?}");
    let id = setup.session();
    let session = ("Session", id.as_str());
    let audio = c.request(
        "SETUP",
        &format!("{url}/track1"),
        &[session, ("Transport", &tcp(2))],
    );
    assert_eq!(audio.status, 200, "{audio:?}");
    assert!(audio
        .header("Transport")
        .unwrap()
        .contains("interleaved=2-3"));
    // A track of another file in the session: 459.
    let other = format!("{}/track0", server.url(SUBTITLED.0));
    assert_eq!(
        c.request("SETUP", &other, &[session, ("Transport", &tcp(4))])
            .status,
        459
    );
    // PLAY and PAUSE of one track of several: 460.
    assert_eq!(
        c.request("PLAY", &format!("{url}/track0"), &[session])
            .status,
        460
    );

    let play = c.request("PLAY", &url, &[session]);
    assert_eq!(play.status, 200, "{play:?}");
    assert_eq!(play.header("Range"), Some("npt=0.000-"));
    let infos = rtp_info(play.header("RTP-Info").unwrap());
    assert_eq!(infos.len(), 2);
    for (i, info) in infos.iter().enumerate() {
        assert_eq!(info.url, format!("{url}/track{i}"));
    }
    let packets = receive(&mut c, Duration::from_millis(600));
    // Each track's first packet is the one RTP-Info names, its timestamp
    // its first unit's time after the npt on the track's clock.
    let (tracks, units) = fixture_units(MOVIE.1);
    for (i, info) in infos.iter().enumerate() {
        let first = &packets[&(2 * i as u8)][0];
        let (seq, ts) = seq_ts(first);
        assert_eq!(seq, info.seq, "track {i}");
        let unit = units.iter().find(|u| u.track == i).unwrap();
        let rate = tracks[i].clock_rate;
        let expected = unit.pts * i64::from(sdp_clocks[i]) / i64::from(rate);
        assert_eq!(
            ts.wrapping_sub(info.rtptime) as i32 as i64,
            expected,
            "track {i}"
        );
    }

    // PAUSE of one track: 460; of the presentation: the next PLAY resumes
    // with the packets after the last ones sent.
    assert_eq!(
        c.request("PAUSE", &format!("{url}/track1"), &[session])
            .status,
        460
    );
    assert_eq!(c.request("PAUSE", &url, &[session]).status, 200);
    let sent = receive(&mut c, Duration::from_millis(100));
    let mut last: BTreeMap<u8, u16> = BTreeMap::new();
    for (channel, frames) in packets.iter().chain(&sent) {
        if channel % 2 == 0 {
            if let Some(f) = frames.last() {
                last.insert(*channel, seq_ts(f).0);
            }
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        receive(&mut c, Duration::from_millis(50))
            .keys()
            .all(|ch| ch % 2 == 1),
        "nothing sent while paused"
    );
    let resumed = c.request("PLAY", &url, &[session]);
    assert_eq!(resumed.status, 200);
    let infos = rtp_info(resumed.header("RTP-Info").unwrap());
    for (i, info) in infos.iter().enumerate() {
        assert_eq!(
            info.seq,
            last[&(2 * i as u8)].wrapping_add(1),
            "track {i} resumes exactly"
        );
    }
    let after = receive(&mut c, Duration::from_millis(300));
    for (i, info) in infos.iter().enumerate() {
        assert_eq!(seq_ts(&after[&(2 * i as u8)][0]).0, info.seq);
    }

    // One track torn down: not while playing (455), then after PAUSE; the
    // session goes on with the other.
    assert_eq!(
        c.request("TEARDOWN", &format!("{url}/track1"), &[session])
            .status,
        455
    );
    assert_eq!(c.request("PAUSE", &url, &[session]).status, 200);
    assert_eq!(
        c.request("TEARDOWN", &format!("{url}/track1"), &[session])
            .status,
        200
    );
    let alone = c.request("PLAY", &url, &[session]);
    assert_eq!(alone.status, 200, "{alone:?}");
    let infos = rtp_info(alone.header("RTP-Info").unwrap());
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].url, format!("{url}/track0"));
    let only = receive(&mut c, Duration::from_millis(300));
    assert!(
        only.contains_key(&0) && !only.contains_key(&2),
        "{:?}",
        only.keys()
    );
    assert_eq!(c.request("TEARDOWN", &url, &[session]).status, 200);
    assert_eq!(c.request("PLAY", &url, &[session]).status, 454);
}

/// `Range: npt=` in Matroska: video from the key frame at or before the
/// time, Range saying its time; audio from the frame containing it; both
/// first packets named by RTP-Info and mapped to that npt.
#[test]
fn seeking_in_matroska_lands_on_a_key_frame_with_audio_aligned() {
    let server = TestServer::start(&[MOVIE], &[]);
    let mut c = server.connect();
    let url = server.url(MOVIE.0);
    let sdp = c.request("DESCRIBE", &url, &[]).body;
    let sdp_clocks = clocks(&sdp);
    let setup = c.request("SETUP", &format!("{url}/track0"), &[("Transport", &tcp(0))]);
    let id = setup.session();
    let session = ("Session", id.as_str());
    c.request(
        "SETUP",
        &format!("{url}/track1"),
        &[session, ("Transport", &tcp(2))],
    );
    let (tracks, units) = fixture_units(MOVIE.1);
    for (ms, key_ms) in [(1300u64, 1021u64), (500, 21), (1021, 1021)] {
        let range = format!("npt={}.{:03}-", ms / 1000, ms % 1000);
        let play = c.request("PLAY", &url, &[session, ("Range", &range)]);
        assert_eq!(play.status, 200, "{play:?}");
        assert_eq!(
            play.header("Range"),
            Some(format!("npt={}.{:03}-", key_ms / 1000, key_ms % 1000).as_str()),
            "{range}"
        );
        let infos = rtp_info(play.header("RTP-Info").unwrap());
        let packets = receive(&mut c, Duration::from_millis(400));
        // Video: a key frame at the npt.
        let (seq, ts) = seq_ts(&packets[&0][0]);
        assert_eq!((seq, ts), (infos[0].seq, infos[0].rtptime), "{range}");
        // Audio: the frame containing the npt.
        let (seq, ts) = seq_ts(&packets[&2][0]);
        assert_eq!(seq, infos[1].seq);
        let before = i64::from(infos[1].rtptime.wrapping_sub(ts) as i32);
        let frame = units.iter().find(|u| u.track == 1).unwrap().duration;
        let frame = i64::from(frame) * i64::from(sdp_clocks[1]) / i64::from(tracks[1].clock_rate);
        assert!(
            (0..frame).contains(&before),
            "{range}: audio starts {before} ticks before"
        );
        assert_eq!(c.request("PAUSE", &url, &[session]).status, 200);
        receive(&mut c, Duration::from_millis(50));
    }
}
