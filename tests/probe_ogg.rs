//! `mediatool probe` on damaged Ogg files: each plays what is whole, with
//! one `warning:` line naming the damage and its byte offset, and counts
//! what ffprobe decodes of it.

mod common;

use common::Bounded;
use std::process::Output;

fn probe(name: &str) -> Output {
    assert_cmd::Command::cargo_bin("mediatool")
        .unwrap()
        .args(["probe", "--format", "json"])
        .arg(common::fixtures().join(name))
        .output_bounded()
}

#[test]
fn damaged_ogg_files_play_with_one_warning() {
    // (file, the warning's text, frames per track)
    let cases: [(&str, &str, &[u64]); 5] = [
        (
            "bad/ogg_bad_crc.ogv",
            "page fails its CRC: skipped to the next page",
            &[49, 88],
        ),
        (
            "bad/ogg_lying_segments.ogv",
            "page fails its CRC: skipped to the next page",
            &[39, 88],
        ),
        (
            "bad/ogg_absurd_length.ogg",
            "last page cut short (needs 19502 bytes, 382 remain): dropped",
            &[45],
        ),
        (
            "bad/ogg_chained_other_rate.ogg",
            "a chained stream (vorbis, 22050 Hz, 1 channels) that no track of the first chain can carry",
            &[32],
        ),
        (
            "bad/ogg_absurd_theora.ogv",
            "last page cut short",
            &[13, 0],
        ),
    ];
    for (name, warning, frames) in cases {
        let out = probe(name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {stderr}");
        assert!(
            lines[0].starts_with(&format!(
                "warning: {}: Ogg, byte ",
                common::fixtures().join(name).display()
            )) && lines[0].contains(warning),
            "{name}: {stderr}"
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let got: Vec<u64> = report["tracks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["frames"].as_u64().unwrap())
            .collect();
        assert_eq!(got, frames, "{name}");
    }
}

/// What ffprobe decodes of the damaged files agrees (its Vorbis count is
/// one less: it outputs nothing for the first packet).
#[test]
fn ffprobe_decodes_as_many_frames_of_the_damaged_files() {
    if !common::require_tool("ffprobe") {
        return;
    }
    for (name, frames) in [
        ("bad/ogg_bad_crc.ogv", [49, 87]),
        ("bad/ogg_lying_segments.ogv", [39, 87]),
    ] {
        let streams = common::ffprobe_streams(&common::fixtures().join(name));
        let theirs: Vec<u64> = streams
            .iter()
            .map(|s| s["nb_read_frames"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(theirs, frames, "{name}");
    }
}
