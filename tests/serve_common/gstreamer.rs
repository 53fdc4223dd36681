//! GStreamer's `rtspsrc` driven by gst-launch-1.0 as a test client: the
//! pipeline pieces and the reading of its result that every such test
//! shares (serve_gstreamer, serve_mpeg, serve_ogg).
//!
//! Decoded output is counted by size (see ../shared/dependencies.md:
//! fakesink under-counts): video scaled to 16x16 GRAY8, 256 bytes a frame;
//! audio as mono 16-bit samples.

use std::path::Path;
use std::process::Output;

/// The end of a branch: video to 16x16 GRAY8, audio to mono 16-bit
/// samples, written to `out`.
pub fn raw_sink(kind: &str, out: &Path) -> String {
    let caps = if kind == "video" {
        "videoconvert ! videoscale ! video/x-raw,format=GRAY8,width=16,height=16"
    } else {
        "audioconvert ! audio/x-raw,format=S16LE,channels=1"
    };
    format!("{caps} ! filesink location={}", out.display())
}

/// A branch that takes the pad of rtspsrc `src` whose caps match
/// `rtp_caps` (`application/x-rtp,media=video`), decodes it and writes
/// [`raw_sink`] `out`.
///
/// The pad is picked by a `capsfilter` element, never by caps written on
/// the link (`src. ! application/x-rtp,media=video ! decodebin`). For caps
/// on a link gst-launch-1.0 (1.22) makes a capsfilter each time a pad
/// appears, links it to the branch's decoder and only then tries the pad,
/// undoing both when the pad does not fit. rtspsrc adds each track's pad
/// from a thread of its own; when two come at once, one track's failed try
/// holds the other branch's decoder at that instant, the other track's
/// link fails ("Delayed linking failed", hidden by `-q`), its sink never
/// prerolls and the pipeline waits forever. That is how CI hung in
/// serve_ogg. Here, serve_ogg's pipeline run 69 times three at a time hung
/// 3 times (gst-launch's log showing the failed link); with the capsfilter
/// element, 150 runs, none.
pub fn decoding_branch(src: &str, rtp_caps: &str, kind: &str, out: &Path) -> String {
    format!(
        "{src}. ! capsfilter caps={rtp_caps} ! queue ! decodebin ! {}",
        raw_sink(kind, out)
    )
}

/// Frames (video) or samples (audio) written to `out` by a [`raw_sink`].
pub fn decoded(kind: &str, out: &Path) -> u64 {
    let bytes = std::fs::metadata(out).map_or(0, |m| m.len());
    if kind == "video" {
        bytes / 256
    } else {
        bytes / 2
    }
}

/// Whether gst-launch-1.0 ended cleanly: status 0 and nothing on stderr,
/// or only rtspsrc's races as it tears down:
/// - After the last buffer rtspsrc sometimes sends its PAUSE on the
///   connection its TEARDOWN has just closed and reports "Could not send
///   message. (Received end-of-file)" (over UDP and TCP alike; the
///   server's log shows TEARDOWN answered 200 and the client closing).
/// - With the machine busy, its clean-up sometimes runs twice and
///   disconnects signal handlers it has already disconnected: GLib warns
///   "instance '0x...' has no handler with id '8'", a warning that leaves
///   the status alone (seen once in a clean-clone CI run, GStreamer
///   1.22.0).
///
/// Neither is a decoding error: a caller accepts them only with
/// everything decoded.
pub fn ended_cleanly(output: &Output) -> bool {
    let stderr = String::from_utf8_lossy(&output.stderr);
    let rest: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_handler_disconnected_twice(l))
        .collect();
    let teardown_race = rest.iter().any(|l| l.contains("Received end-of-file"))
        && rest
            .iter()
            .filter(|l| l.starts_with("ERROR:"))
            .all(|l| l.contains("Could not write to resource"));
    (output.status.success() && rest.is_empty()) || teardown_race
}

/// GLib's warning for a signal handler disconnected twice (see
/// [`ended_cleanly`]).
fn is_handler_disconnected_twice(line: &str) -> bool {
    line.contains("GLib-GObject-WARNING") && line.contains("has no handler with id")
}
