//! Client transcripts replayed against `mediatool serve`: the exact request
//! sequences of ffmpeg/ffprobe, GStreamer rtspsrc and retina (recorded from
//! real runs), of live555's openRTSP and VLC and of ExoPlayer/Media3
//! (reconstructed from their source), in `tests/transcripts/` (format and
//! provenance in its README.md). Each replay checks every answer: the status,
//! the headers that client reads (CSeq, Public, Content-Base, Content-Type,
//! the SDP, Transport, Session, Range, RTP-Info, WWW-Authenticate as its own
//! parser reads them) and the first RTP packet after PLAY.
//!
//! ExoPlayer/Media3's sequence is also replayed on every fixture served,
//! multi-track files included ([`exoplayer_plays_every_fixture`]).

mod common;
mod serve_common;
mod transcript_replay;

use transcript_replay::{all_names, replay, replay_text};

/// One test per transcript, and the list of all of them.
macro_rules! transcripts {
    ($($(#[$attr:meta])* $test:ident => $name:literal;)*) => {
        /// Every transcript this file replays.
        const REPLAYED: &[&str] = &[$($name),*];
        $(
            #[test]
            $(#[$attr])*
            fn $test() {
                replay($name);
            }
        )*
    };
}

transcripts! {
    ffprobe_udp => "ffprobe-udp";
    ffprobe_tcp => "ffprobe-tcp";
    ffprobe_udp_digest => "ffprobe-udp-digest";
    ffprobe_tcp_digest => "ffprobe-tcp-digest";
    ffmpeg_udp_seek => "ffmpeg-udp-seek";
    gstreamer_udp => "gstreamer-udp";
    gstreamer_tcp => "gstreamer-tcp";
    gstreamer_udp_digest => "gstreamer-udp-digest";
    retina_udp => "retina-udp";
    retina_tcp => "retina-tcp";
    retina_tcp_digest => "retina-tcp-digest";
    openrtsp_udp => "openrtsp-udp";
    openrtsp_tcp_digest => "openrtsp-tcp-digest";
    vlc_udp => "vlc-udp";
    exoplayer_udp => "exoplayer-udp";
    exoplayer_tcp => "exoplayer-tcp";
    exoplayer_udp_digest => "exoplayer-udp-digest";
}

#[test]
fn every_transcript_is_replayed() {
    let mut listed: Vec<String> = REPLAYED.iter().map(|s| (*s).to_owned()).collect();
    listed.sort();
    assert_eq!(
        all_names(),
        listed,
        "tests/transcripts/*.txt and REPLAYED differ"
    );
}

/// The requests of `exoplayer-tcp.txt` for fixture `name` (its path under
/// `fixtures/`) of streamed tracks `indexes`: one SETUP per track, each on
/// its own interleaved channel pair, then PLAY, a keep-alive and TEARDOWN.
fn exoplayer_transcript(name: &str, indexes: &[usize]) -> String {
    const HEAD: &str = "User-Agent: AndroidXMedia3/1.9.0";
    const SESSION: &str = "Session: 0123456789ABCDEF0123456789ABCDEF";
    let url = format!("rtsp://127.0.0.1:8554/{name}");
    let mut text = format!(
        "# client: ExoPlayer / AndroidX Media3 RtspMediaSource\n\
         # source: exoplayer-tcp.txt with one SETUP per track\n\
         # file: {name}\n# server: 127.0.0.1:8554\n#\n"
    );
    let mut cseq = 0;
    let mut request = |line: String, headers: &[&str]| {
        text += &format!(">>> 200\n{line} RTSP/1.0\n{HEAD}\nCSeq: {cseq}\n");
        for header in headers {
            text += &format!("{header}\n");
        }
        text += "\n";
        cseq += 1;
    };
    request(format!("OPTIONS {url}"), &[]);
    request(format!("DESCRIBE {url}"), &["Accept: application/sdp"]);
    for (i, index) in indexes.iter().enumerate() {
        let transport = format!(
            "Transport: RTP/AVP/TCP;unicast;interleaved={}-{}",
            2 * i,
            2 * i + 1
        );
        let session: &[&str] = if i == 0 { &[] } else { &[SESSION] };
        let headers: Vec<&str> = session
            .iter()
            .copied()
            .chain([transport.as_str()])
            .collect();
        request(format!("SETUP {url}/track{index}"), &headers);
    }
    request(format!("PLAY {url}"), &[SESSION, "Range: npt=0.000-"]);
    request(format!("OPTIONS {url}"), &[SESSION]);
    request(format!("TEARDOWN {url}"), &[SESSION]);
    text
}

/// ExoPlayer/Media3's request sequence on every fixture `serve` streams,
/// with every track set up, checked as Media3 reads the answers (issue 12):
/// each SDP has a `t=` line and no empty `i=` line, each H.264 track its
/// SPS and PPS in `sprop-parameter-sets`, and the PLAY answer one RTP-Info
/// entry per track whose url is that track's control URL; each track's
/// first packet is the one RTP-Info names.
#[test]
fn exoplayer_plays_every_fixture() {
    let (mut multi_track, mut h264) = (0, 0);
    for file in common::media_fixtures()
        .into_iter()
        .filter(|f| common::streamable(f))
    {
        let name = file
            .strip_prefix(common::fixtures())
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let info = mediatool::media::inspect(&file).unwrap();
        let (tracks, _) = mediatool::sdp::streamable_tracks(&info, &Default::default());
        let indexes: Vec<usize> = tracks.iter().map(|t| t.index).collect();
        multi_track += usize::from(indexes.len() > 1);
        h264 += usize::from(tracks.iter().any(|t| t.payload.encoding == "H264"));
        replay_text(
            &format!("exoplayer-{name}"),
            &exoplayer_transcript(&name, &indexes),
        );
    }
    assert!(
        multi_track >= 5 && h264 >= 5,
        "{multi_track} multi-track and {h264} H.264 fixtures"
    );
}
