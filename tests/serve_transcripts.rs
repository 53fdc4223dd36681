//! Client transcripts replayed against `mediatool serve`: the exact request
//! sequences of ffmpeg/ffprobe, GStreamer rtspsrc and retina (recorded from
//! real runs), of live555's openRTSP and VLC and of ExoPlayer/Media3
//! (reconstructed from their source), in `tests/transcripts/` (format and
//! provenance in its README.md). Each replay checks every answer: the status,
//! the headers that client reads (CSeq, Public, Content-Base, Content-Type,
//! the SDP, Transport, Session, Range, RTP-Info, WWW-Authenticate as its own
//! parser reads them) and the first RTP packet after PLAY.
//!
//! Multi-track files do not exist yet: the RTP-Info checks are written for N
//! tracks but exercised with single-track files only.

mod common;
mod serve_common;
mod transcript_replay;

use transcript_replay::{all_names, replay};

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
