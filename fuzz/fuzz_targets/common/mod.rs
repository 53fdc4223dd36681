//! What each fuzz target does with its input, one function per target in
//! the modules below, and [`TARGETS`], the registry of them by name: a
//! target's file in `fuzz_targets/` only names its entry, and
//! `tests/fuzz_regressions.rs` (a plain `cargo test`, no libFuzzer) runs
//! each input of `fuzz/regressions/<target>/` through the same function.
//!
//! Adding a target: its function here, one line in [`TARGETS`], a
//! three-line file in `fuzz_targets/`, its `[[bin]]` in `fuzz/Cargo.toml`,
//! and seeds in `fuzz/corpus/<target>/`.

mod auth;
mod config;
mod payloads;
mod readers;
mod rtp;
mod rtsp;
mod syntax;

use mediatool::vocab::Codec;

/// A fuzz target: its name (its binary's) and what it does with an input.
pub type Target = (&'static str, fn(&[u8]));

/// Every fuzz target.
pub const TARGETS: &[Target] = &[
    // The readers, each opening its input as one format.
    ("h264", |d| readers::read_as("h264", d)),
    ("hevc", |d| readers::read_as("hevc", d)),
    ("mpeg_audio", |d| readers::read_as("mp3", d)),
    ("adts", |d| readers::read_as("aac", d)),
    ("wav", |d| readers::read_as("wav", d)),
    ("matroska", |d| readers::read_as("matroska", d)),
    ("ogg", readers::ogg),
    ("mp4", readers::mp4),
    ("mpeg_ps", |d| readers::read_as("mpeg", d)),
    ("mpeg_ts", readers::mpeg_ts),
    ("ac3", readers::ac3),
    ("detect", readers::detect_format),
    // Codec syntax.
    ("h264_syntax", syntax::h264),
    ("hevc_syntax", syntax::hevc),
    ("audio_headers", syntax::audio_headers),
    ("video_headers", payloads::video_headers),
    // RTP: every registered depacketizer, then the formats' own checks.
    ("depacketize", rtp::depacketize),
    ("rtp_vp8", |d| {
        payloads::video_round_trip("VP8", Codec::Vp8, d)
    }),
    ("rtp_vp9", |d| {
        payloads::video_round_trip("VP9", Codec::Vp9, d)
    }),
    ("rtp_av1", |d| {
        payloads::video_round_trip("AV1", Codec::Av1, d)
    }),
    ("rtp_mpv", |d| {
        payloads::video_round_trip("MPV", Codec::Mpeg2Video, d)
    }),
    ("rtp_opus", payloads::opus),
    ("rtp_xiph", payloads::xiph),
    ("rtp_ac3", payloads::ac3),
    // The server.
    ("rtsp_request", rtsp::request),
    ("rtsp_headers", rtsp::headers),
    ("rtsp_url", rtsp::url_path),
    ("serve_requests", rtsp::serve),
    ("digest", auth::authorization),
    ("config_yaml", config::yaml),
];

/// Runs target `name` on `data`; panics for a name not in [`TARGETS`].
pub fn run(name: &str, data: &[u8]) {
    let (_, target) = TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no fuzz target {name}"));
    target(data);
}
