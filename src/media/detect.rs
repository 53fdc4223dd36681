//! Format detection: content first, extension second.
//!
//! live555MediaServer trusts the file name alone; we look at the bytes, so a
//! `.mp3` that holds ADTS is read as AAC and a `.264` that holds H.265 as
//! H.265. Each reader in [`READERS`] says what the head of a file shows of
//! its format ([`Evidence`]); the strongest evidence wins, and the
//! extension decides only between readings of equal strength.

use std::fmt;
use std::path::Path;

use super::audio_tags::id3v2_len;
use super::{BytesReader, MediaError, ReaderFormat, Result, READERS};

/// How many bytes of the head of a file detection looks at (after an ID3v2 tag).
const SNIFF_LEN: usize = 64 * 1024;

/// Most ID3v2 tags in a row that detection looks past.
const STACKED_TAGS: usize = 8;

/// What the head of a file shows of a format. The variants are in order of
/// confidence, strongest first: detection ranks readings by this order
/// ([`Ord`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Evidence {
    /// A signature at a fixed place (RIFF/WAVE...).
    Signature,
    /// Frames or NAL units from the first byte.
    Frames,
    /// An Annex B stream after junk (cut inside a NAL unit) whose
    /// parameter sets follow.
    AnnexBAfterJunk,
    /// Four whole audio frames after junk; the earlier, the stronger.
    AudioAfterJunk {
        /// Where the first frame starts in the head of the file.
        offset: usize,
    },
    /// A sane run of NAL unit headers after junk, without parameter sets.
    NalUnitsAfterJunk,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::Signature => "signature",
            Evidence::Frames => "frames from the first byte",
            Evidence::AnnexBAfterJunk => "start codes and parameter sets after junk",
            Evidence::AudioAfterJunk { .. } => "four audio frames after junk",
            Evidence::NalUnitsAfterJunk => "NAL units after junk, no parameter set yet",
        })
    }
}

/// The reader whose extensions include `ext` (lower case, without the dot).
fn reader_for_extension(ext: &str) -> Option<&'static ReaderFormat> {
    READERS
        .iter()
        .copied()
        .find(|f| f.extensions.contains(&ext))
}

/// Detects the format of the file at `path`.
pub fn detect_path(path: &Path) -> Result<&'static ReaderFormat> {
    let mut reader = BytesReader::open(path)?;
    detect_reader(&mut reader, super::extension(path).as_deref())
}

/// Detects the format of the input behind `reader` (left positioned at its
/// start), using `extension` only when the content is not conclusive.
pub fn detect_reader(
    reader: &mut BytesReader,
    extension: Option<&str>,
) -> Result<&'static ReaderFormat> {
    let head = sniff_window(reader.peek(SNIFF_LEN)?);
    if head.is_empty() {
        return Err(MediaError::Empty);
    }
    let mut id3 = id3v2_len(head);
    let after_id3 = if id3 > 0 {
        // Past the tags (a file may carry a few in a row) without buffering
        // them: their sizes come from the file (up to 256 MiB each), and
        // nothing inside them (a cover picture, an embedded clip) is sniffed.
        let mut after = Vec::new();
        for _ in 0..STACKED_TAGS {
            reader.seek(id3 as u64)?;
            after = sniff_window(reader.peek(SNIFF_LEN)?).to_vec();
            match id3v2_len(&after) {
                0 => break,
                next => id3 += next,
            }
        }
        reader.seek(0)?;
        after
    } else {
        head.to_vec()
    };
    let hint = extension.and_then(reader_for_extension);
    // The format the extension names.
    let named = hint.map(|f| f.name);
    let agreement = |name: &str| match named {
        Some(n) if n == name => "agrees",
        Some(_) => "says otherwise",
        None => "names no format",
    };
    let sniffed = format!(
        "the first {} bytes{}",
        after_id3.len(),
        if id3 > 0 {
            format!(" after a {id3}-byte ID3v2 tag")
        } else {
            String::new()
        }
    );
    let detection = match identify(&after_id3, hint) {
        Identified::Reader(detection) => detection,
        Identified::Nothing => {
            tracing::debug!("no format matches {sniffed}");
            return Err(MediaError::UnknownFormat(match extension {
                Some(ext) if named.is_some() => {
                    format!("the content does not look like a .{ext} file")
                }
                _ => "the content matches no format mediatool reads".into(),
            }));
        }
    };
    tracing::debug!(
        "format {} from the content ({}{}, in {sniffed}); the extension {}",
        detection.format,
        detection.evidence,
        if detection.extension_chose {
            ", several readings: the extension chose"
        } else {
            ""
        },
        agreement(detection.format.name)
    );
    Ok(detection.format)
}

/// The first [`SNIFF_LEN`] bytes of what a reader buffered (a refill may
/// bring more).
fn sniff_window(buffered: &[u8]) -> &[u8] {
    &buffered[..buffered.len().min(SNIFF_LEN)]
}

/// Detects a format from the first bytes of a file (after any ID3v2 tag).
/// The format `extension` names breaks ties between equally strong
/// readings.
pub fn detect(head: &[u8], extension: Option<&str>) -> Option<&'static ReaderFormat> {
    match identify(head, extension.and_then(reader_for_extension)) {
        Identified::Reader(detection) => Some(detection.format),
        Identified::Nothing => None,
    }
}

/// What detection made of the head of a file.
enum Identified {
    /// A reader's format.
    Reader(Detection),
    /// No format.
    Nothing,
}

/// A reader's reading of the head of a file, and what it rests on.
#[derive(Clone, Copy, Debug)]
struct Detection {
    format: &'static ReaderFormat,
    evidence: Evidence,
    /// Other formats read as well; the extension chose this one.
    extension_chose: bool,
}

/// Ranks every reader's reading of `head`: a reader's signature, then the
/// strongest evidence, `hint`
/// (the extension's format) choosing between equally strong readings and
/// the order of [`READERS`] when it names none of them.
fn identify(head: &[u8], hint: Option<&'static ReaderFormat>) -> Identified {
    let readings: Vec<(&'static ReaderFormat, Evidence)> = READERS
        .iter()
        .filter_map(|&format| (format.sniff)(head).map(|evidence| (format, evidence)))
        .collect();
    let best = readings.iter().map(|&(_, evidence)| evidence).min();
    let Some(evidence) = best else {
        return Identified::Nothing;
    };
    let tied: Vec<&'static ReaderFormat> = readings
        .iter()
        .filter(|&&(_, e)| e == evidence)
        .map(|&(format, _)| format)
        .collect();
    let chosen = hint.filter(|h| tied.len() > 1 && tied.contains(h));
    Identified::Reader(Detection {
        format: chosen.unwrap_or(tied[0]),
        evidence,
        extension_chose: chosen.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::adts::AdtsHeader;
    use crate::media::{adts, h264, mpeg_audio, wav};
    use crate::vocab::testing::fixture;

    /// The format `detect` reads in `head`, by name.
    fn detected(head: &[u8], extension: Option<&str>) -> Option<&'static str> {
        detect(head, extension).map(|f| f.name)
    }

    /// What `identify` makes of `head`: the reader and its evidence.
    fn reading(
        head: &[u8],
        hint: Option<&'static ReaderFormat>,
    ) -> Option<(&'static str, Evidence)> {
        match identify(head, hint) {
            Identified::Reader(d) => Some((d.format.name, d.evidence)),
            _ => None,
        }
    }

    #[test]
    fn the_registry_names_each_format_and_extension_once() {
        let mut names: Vec<&str> = READERS.iter().map(|f| f.name).collect();
        let mut extensions: Vec<&str> =
            READERS.iter().flat_map(|f| f.extensions).copied().collect();
        for list in [&mut names, &mut extensions] {
            let count = list.len();
            list.sort_unstable();
            list.dedup();
            assert_eq!(list.len(), count, "listed twice: {list:?}");
        }
        for format in READERS {
            assert_eq!(
                format.extensions[0],
                format.extensions[0].to_ascii_lowercase()
            );
            assert_eq!(reader_for_extension(format.extensions[0]), Some(*format));
        }
    }

    /// The order of the README's probe section: a signature, frames from
    /// the first byte, a cut Annex B stream with its parameter sets, audio
    /// after junk (the earlier the better), NAL units after junk.
    #[test]
    fn evidence_ranks_strongest_first() {
        let ranked = [
            Evidence::Signature,
            Evidence::Frames,
            Evidence::AnnexBAfterJunk,
            Evidence::AudioAfterJunk { offset: 0 },
            Evidence::AudioAfterJunk { offset: 1 },
            Evidence::AudioAfterJunk { offset: SNIFF_LEN },
            Evidence::NalUnitsAfterJunk,
        ];
        assert!(ranked.windows(2).all(|w| w[0] < w[1]), "{ranked:?}");
    }

    #[test]
    fn wav_by_its_signature() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        assert_eq!(detected(&wav, None), Some("wav"));
        wav[..4].copy_from_slice(b"RF64");
        assert_eq!(reading(&wav, None), Some(("wav", Evidence::Signature)));
        wav[8..12].copy_from_slice(b"AVI ");
        assert_eq!(detected(&wav, None), None);
    }

    #[test]
    fn system_streams_by_their_signatures() {
        let mut ts = vec![0u8; 188 * 4];
        (0..4).for_each(|i| ts[i * 188] = 0x47);
        // A TS packet payload holding H.264 with its parameter sets.
        ts[20..32].copy_from_slice(&[0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 1, 0x68]);
        assert_eq!((h264::FORMAT.sniff)(&ts), Some(Evidence::AnnexBAfterJunk));
        assert_eq!(reading(&ts, None), Some(("mpegts", Evidence::Signature)));
        let ps = fixture("mpeg1_system.mpg");
        assert_eq!(
            reading(&ps, Some(&h264::FORMAT)),
            Some(("mpeg", Evidence::Signature))
        );
        assert_eq!(
            detected(&fixture("m2ts_mpeg2_ac3.m2ts"), None),
            Some("mpegts")
        );
        assert_eq!(
            detected(&fixture("audio_48k_stereo.ac3"), None),
            Some("ac3")
        );
        assert_eq!(
            detected(&fixture("audio_44k_5.1.eac3"), Some("ac3")),
            Some("eac3")
        );
    }

    #[test]
    fn annexb_h264_and_hevc() {
        let h264 = [
            0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 1, 0x65,
            0x88,
        ];
        assert_eq!(detected(&h264, None), Some("h264"));
        let hevc = [
            0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 0, 1, 0x42, 0x01, 0x01, 0, 0, 0, 1, 0x44, 0x01,
            0xc1, 0, 0, 1, 0x26, 0x01, 0xaf,
        ];
        assert_eq!(detected(&hevc, None), Some("hevc"));
        // The extension does not override content.
        assert_eq!(detected(&hevc, Some("264")), Some("hevc"));
    }

    #[test]
    fn garbage_and_text_are_unknown() {
        assert_eq!(
            detected(b"hello, world\nthis is text\n", Some("h264")),
            None
        );
        assert_eq!(detected(&[], None), None);
        assert_eq!(detected(&[0xff; 64], None), None);
    }

    /// ADTS frames whose payloads hold start codes and H.264 NAL unit
    /// headers read both ways from the first byte: the extension chooses,
    /// and without one (or with one naming neither) the first reader
    /// listed.
    #[test]
    fn the_extension_breaks_ties_between_readings() {
        let frame = |payload: &[u8]| {
            let len = 7 + payload.len();
            let mut frame = vec![0xff, 0xf1, 0x4c, 0x40 | (len >> 11) as u8, (len >> 3) as u8];
            frame.extend_from_slice(&[((len & 7) << 5) as u8 | 0x1f, 0xfc]);
            frame.extend_from_slice(payload);
            frame
        };
        let data = [
            frame(&[0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac]),
            frame(&[0, 0, 1, 0x68, 0xee, 0x3c, 0x80]),
            frame(&[0, 0, 1, 0x65, 0x88, 0x84, 0x21]),
        ]
        .concat();
        let frames = |name| Some((name, Evidence::Frames));
        assert_eq!(reading(&data, None), frames("aac"));
        assert_eq!(reading(&data, Some(&h264::FORMAT)), frames("h264"));
        assert_eq!(reading(&data, Some(&adts::FORMAT)), frames("aac"));
        assert_eq!(reading(&data, Some(&wav::FORMAT)), frames("aac"));
        let mut reader = BytesReader::from_bytes(data);
        assert_eq!(
            detect_reader(&mut reader, Some("264")).unwrap().name,
            "h264"
        );
    }

    #[test]
    fn audio_after_leading_junk() {
        let frame = mp3_frame;
        let mut data = b"junk\0\0\0 padding".to_vec();
        (0..4).for_each(|_| frame(&mut data));
        assert_eq!(detected(&data, None), Some("mp3"));
        // Three frames after junk are not enough to trust a sync word.
        let mut short = b"junk".to_vec();
        (0..3).for_each(|_| frame(&mut short));
        short.extend_from_slice(&[0x12; 500]);
        assert_eq!(detected(&short, None), None);
    }

    /// The Annex B fixtures cut inside a NAL unit at each tenth: the first
    /// start code comes after junk.
    #[test]
    fn annexb_streams_cut_mid_nal_are_recognized() {
        for (name, format) in [
            ("h264_bframes.264", "h264"),
            ("h264_baseline.h264", "h264"),
            ("h264_odd_ntsc_slices.264", "h264"),
            ("hevc_bframes.265", "hevc"),
            ("hevc_odd_ntsc.h265", "hevc"),
        ] {
            let data = fixture(name);
            for tenth in 1..8 {
                let cut = &data[data.len() * tenth / 10..];
                let head = &cut[..cut.len().min(SNIFF_LEN)];
                assert_eq!(detected(head, None), Some(format), "{name} from {tenth}/10");
            }
        }
    }

    /// One MPEG audio frame header and its body, 417 bytes long.
    fn mp3_frame(out: &mut Vec<u8>) {
        out.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        out.resize(out.len() + 413, 0x55);
    }

    #[test]
    fn annexb_with_parameter_sets_beats_audio_after_junk() {
        // Junk, then SPS, PPS and a slice whose data happens to hold a
        // chain of MPEG audio frames.
        let mut data = b"junk from a cut".to_vec();
        data.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0xac, 0xd9]);
        data.extend_from_slice(&[0, 0, 1, 0x68, 0xee, 0x3c, 0x80]);
        data.extend_from_slice(&[0, 0, 1, 0x65, 0x88, 0x84]);
        let audio_at = data.len();
        (0..5).for_each(|_| mp3_frame(&mut data));
        let audio = Evidence::AudioAfterJunk { offset: audio_at };
        assert_eq!((mpeg_audio::FORMAT.sniff)(&data), Some(audio));
        assert_eq!(
            reading(&data, Some(&mpeg_audio::FORMAT)),
            Some(("h264", Evidence::AnnexBAfterJunk))
        );
        // Without the SPS the two NAL units are no evidence: audio wins.
        let without_sps = [&data[..15], &data[25..]].concat();
        assert_eq!((h264::FORMAT.sniff)(&without_sps), None);
        let audio = Evidence::AudioAfterJunk {
            offset: audio_at - 10,
        };
        assert_eq!(reading(&without_sps, None), Some(("mp3", audio)));
    }

    /// Audio after junk: the chain that starts first wins, whichever
    /// reader's it is.
    #[test]
    fn the_earliest_audio_after_junk_wins() {
        let adts = fixture("audio_48k_mono.aac");
        let adts_frames = |n: usize| {
            let frame_len = |at: usize| AdtsHeader::parse(&adts[at..]).unwrap().frame_len;
            let end = (0..n).fold(0, |end, _| end + frame_len(end));
            adts[..end].to_vec()
        };
        let mut mp3 = Vec::new();
        (0..4).for_each(|_| mp3_frame(&mut mp3));
        let junk = b"junk\0\0\0 padding".to_vec();
        let mp3_first = [junk.clone(), mp3.clone(), adts_frames(4)].concat();
        let adts_first = [junk, adts_frames(4), mp3].concat();
        assert_eq!(
            reading(&mp3_first, Some(&adts::FORMAT)),
            Some(("mp3", Evidence::AudioAfterJunk { offset: 15 }))
        );
        assert_eq!(
            reading(&adts_first, Some(&mpeg_audio::FORMAT)),
            Some(("aac", Evidence::AudioAfterJunk { offset: 15 }))
        );
        for (data, later) in [
            (&mp3_first, &adts::FORMAT),
            (&adts_first, &mpeg_audio::FORMAT),
        ] {
            assert!(
                matches!((later.sniff)(data), Some(Evidence::AudioAfterJunk { offset }) if offset > 15),
                "{later:?}"
            );
        }
    }

    #[test]
    fn a_false_sync_near_the_end_is_not_audio() {
        // Junk, then three frames and a fourth header claiming more bytes
        // than the head holds: not four whole frames.
        let mut data = vec![0x12; 100];
        (0..3).for_each(|_| mp3_frame(&mut data));
        data.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64, 0x55]);
        assert_eq!((mpeg_audio::FORMAT.sniff)(&data), None);
        assert_eq!(detected(&data, Some("mp3")), None);
    }

    /// PCM samples whose WAVE header was cut off are no format at all, at
    /// any offset (a false MPEG audio or ADTS sync in them was read as a
    /// stream, and its reader's complaint was the message).
    #[test]
    fn pcm_without_its_header_is_unrecognized() {
        for name in [
            "wav_s16_44k_stereo.wav",
            "wav_s24_48k_stereo_extensible.wav",
        ] {
            let data = fixture(name);
            for cut in [30, 44, 45, 1001, 4096] {
                let head = &data[cut..(cut + SNIFF_LEN).min(data.len())];
                assert_eq!(detected(head, Some("wav")), None, "{name} from {cut}");
            }
            let mut reader = BytesReader::from_bytes(data[44..].to_vec());
            let error = detect_reader(&mut reader, Some("wav")).unwrap_err();
            assert_eq!(
                error.to_string(),
                "unrecognized format: the content does not look like a .wav file"
            );
        }
    }

    /// A sane run of NAL units after junk without a parameter set is
    /// H.264 to detection, and its reader says plainly what is missing.
    #[test]
    fn nal_units_without_parameter_sets_after_junk() {
        let mut data = vec![0x12u8; 20];
        for _ in 0..6 {
            // Non-IDR slices.
            data.extend_from_slice(&[0, 0, 1, 0x41, 0x9a, 0x21, 0x7c]);
        }
        assert_eq!(
            reading(&data, None),
            Some(("h264", Evidence::NalUnitsAfterJunk))
        );
        // Three units are not a run.
        assert_eq!(reading(&data[..41], None), None);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slices.bin");
        std::fs::write(&path, &data).unwrap();
        let error = crate::media::open(&path).err().unwrap();
        assert_eq!(
            error.to_string(),
            "invalid data at byte 0: not an H.264 stream: no sequence parameter set in the file"
        );
    }

    #[test]
    fn reader_detection_looks_past_an_id3v2_tag() {
        let mut data = b"ID3\x04\0\0\0\0\x02\x01".to_vec();
        data.resize(10 + 257, 0);
        for _ in 0..4 {
            data.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
            data.resize(data.len() + 413, 0x55);
        }
        let mut reader = BytesReader::from_bytes(data.clone());
        assert_eq!(
            detect_reader(&mut reader, None).unwrap(),
            &mpeg_audio::FORMAT
        );
        assert_eq!(reader.position(), 0);
        // Two tags in a row, the second hiding four ADTS frames (an
        // embedded clip): detection looks past both.
        let aac = crate::vocab::testing::fixture("audio_48k_mono.aac");
        let clip = &aac[..1000];
        let mut hiding = b"ID3\x03\0\0\0\0\x07\x68".to_vec();
        hiding.extend_from_slice(clip);
        let stacked = [&data[..267], &hiding[..], &data[267..]].concat();
        let mut reader = BytesReader::from_bytes(stacked);
        assert_eq!(
            detect_reader(&mut reader, None).unwrap(),
            &mpeg_audio::FORMAT
        );
        assert_eq!(reader.position(), 0);
        // A tag claiming 256 MiB in a small file: nothing after it, and the
        // claim is not buffered.
        data[6..10].copy_from_slice(&[0x7f; 4]);
        let mut reader = BytesReader::from_bytes(data);
        let error = detect_reader(&mut reader, Some("mp3")).unwrap_err();
        assert!(matches!(error, MediaError::UnknownFormat(_)), "{error}");
        assert_eq!((reader.position(), reader.buffered().len()), (0, 0));
    }
}
