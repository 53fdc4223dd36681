//! MPEG transport stream demux throughput and memory on a large file, side
//! by side with ffprobe (`-show_packets`: every packet parsed and printed,
//! nothing decoded) and GStreamer (`filesrc ! tsdemux ! fakesink` on each
//! stream), in one run.
//!
//! Run: `cargo bench --bench demux_mpeg` (MEDIATOOL_BENCH_MB sets the
//! large file's size, default 500). The input is a 40 s 720p 8 Mbit/s
//! H.264 clip with B-frames and 128 kbit/s AAC, muxed by ffmpeg into a
//! transport stream once, then looped without re-encoding to the size
//! wanted; it lives in `target/bench-data/`.
//!
//! Figures: file bytes demuxed per second (warm page cache: every access
//! unit of every track read, as `probe` counts them; and the whole stream
//! read as MP2T runs, as `serve --ts-mode mp2t` sends it) and the peak
//! resident memory of a process that does nothing else, for a file a tenth
//! of the size and the large one: memory must not grow with file size.

mod support;

use support::demux::{DemuxBench, H264_AAC_720P};
use support::FFPROBE_SHOW_PACKETS;

fn main() {
    DemuxBench {
        title: "MPEG-TS demux benchmark: H.264 720p 8 Mbit/s with B-frames + AAC, looped",
        clip: "clip720p-8M-aac.ts",
        encoder: H264_AAC_720P,
        ts_modes: true,
        ffprobe: FFPROBE_SHOW_PACKETS,
        gstreamer: "tsdemux name=d d. ! queue ! fakesink d. ! queue ! fakesink",
    }
    .run();
}
