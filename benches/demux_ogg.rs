//! Ogg demux throughput and memory on a large file, side by side with
//! ffprobe (`-show_packets`: every packet parsed and printed, nothing
//! decoded) and GStreamer (`filesrc ! oggdemux ! fakesink`), in one run.
//!
//! Run: `cargo bench --bench demux_ogg` (MEDIATOOL_BENCH_MB sets the large
//! file's size, default 500). The input is a 40 s 720p Theora clip at about
//! 8 Mbit/s with 128 kbit/s Vorbis, muxed by ffmpeg into Ogg once, then
//! looped without re-encoding to the size wanted; it lives in
//! `target/bench-data/`.
//!
//! Figures: file bytes demuxed per second (warm page cache: every page's
//! CRC checked, every packet of every track read and timed, as `probe`
//! counts them) and the peak resident memory of a process that does
//! nothing else, for a file a tenth of the size and the large one: memory
//! must not grow with file size.

mod support;

use support::demux::DemuxBench;
use support::{FFPROBE_SHOW_PACKETS, PICTURE_720P_40S, TONE_40S};

fn main() {
    DemuxBench {
        title: "Ogg demux benchmark: Theora 720p ~8 Mbit/s + Vorbis 128 kbit/s, looped",
        clip: "clip720p-8M-vorbis.ogv",
        encoder: &[
            PICTURE_720P_40S,
            TONE_40S,
            &["-c:v", "libtheora", "-b:v", "8M", "-g", "50"],
            &["-c:a", "libvorbis", "-b:a", "128k"],
        ],
        ts_modes: false,
        ffprobe: FFPROBE_SHOW_PACKETS,
        gstreamer: "oggdemux name=d d. ! queue ! fakesink d. ! queue ! fakesink",
    }
    .run();
}
