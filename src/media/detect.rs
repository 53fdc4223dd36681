//! Format detection: content first, extension second.
//!
//! live555MediaServer trusts the file name alone; we look at the bytes, so a
//! `.mp3` that holds ADTS is read as AAC and a `.264` that holds H.265 as
//! H.265. The extension decides only when the content is ambiguous.

use std::fmt;
use std::path::Path;

use crate::codec::{adts, mpeg_audio, nal, FrameChain};

use super::{BytesReader, MediaError, Result};

/// A container or elementary-stream format, named as `probe` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// H.264 Annex B elementary stream.
    H264,
    /// H.265 Annex B elementary stream.
    Hevc,
    /// MPEG-1/2/2.5 audio layer I–III elementary stream (ffprobe calls it `mp3`).
    MpegAudio,
    /// AAC in ADTS frames.
    Aac,
    /// RIFF/RF64 WAVE.
    Wav,
    /// MPEG-1/2 program stream.
    MpegPs,
    /// MPEG-2 transport stream.
    MpegTs,
    /// Matroska.
    Matroska,
    /// WebM (Matroska with the `webm` DocType).
    Webm,
    /// Ogg.
    Ogg,
    /// ISO base media file format (MP4, MOV).
    Mp4,
}

impl Format {
    /// The name in `probe` output (`format` key).
    pub fn name(self) -> &'static str {
        match self {
            Format::H264 => "h264",
            Format::Hevc => "hevc",
            Format::MpegAudio => "mp3",
            Format::Aac => "aac",
            Format::Wav => "wav",
            Format::MpegPs => "mpeg",
            Format::MpegTs => "mpegts",
            Format::Matroska => "matroska",
            Format::Webm => "webm",
            Format::Ogg => "ogg",
            Format::Mp4 => "mp4",
        }
    }

    /// A human-readable name for messages.
    pub fn long_name(self) -> &'static str {
        match self {
            Format::H264 => "H.264 elementary stream",
            Format::Hevc => "H.265 elementary stream",
            Format::MpegAudio => "MPEG audio",
            Format::Aac => "AAC (ADTS)",
            Format::Wav => "WAV",
            Format::MpegPs => "MPEG program stream",
            Format::MpegTs => "MPEG transport stream",
            Format::Matroska => "Matroska",
            Format::Webm => "WebM",
            Format::Ogg => "Ogg",
            Format::Mp4 => "MP4",
        }
    }

    /// The format a file extension (lower case, without the dot) suggests.
    pub fn from_extension(ext: &str) -> Option<Format> {
        Some(match ext {
            "264" | "h264" | "avc" | "jsv" => Format::H264,
            "265" | "h265" | "hevc" => Format::Hevc,
            "mp3" | "mp2" | "mp1" | "mpa" => Format::MpegAudio,
            "aac" | "adts" => Format::Aac,
            "wav" | "wave" | "rf64" => Format::Wav,
            "mpg" | "mpeg" | "vob" | "ps" | "m2p" => Format::MpegPs,
            "ts" | "m2ts" | "mts" | "trp" => Format::MpegTs,
            "mkv" | "mka" | "mks" => Format::Matroska,
            "webm" => Format::Webm,
            "ogg" | "ogv" | "oga" | "opus" | "spx" => Format::Ogg,
            "mp4" | "m4v" | "m4a" | "mov" | "3gp" => Format::Mp4,
            _ => return None,
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How many bytes of the head of a file detection looks at (after an ID3v2 tag).
const SNIFF_LEN: usize = 64 * 1024;

/// Most ID3v2 tags in a row that detection looks past.
const STACKED_TAGS: usize = 8;

/// Detects the format of the file at `path`.
pub fn detect_path(path: &Path) -> Result<Format> {
    let mut reader = BytesReader::open(path)?;
    detect_reader(&mut reader, super::extension(path).as_deref())
}

/// Detects the format of the input behind `reader` (left positioned at its
/// start), using `extension` only when the content is not conclusive.
pub fn detect_reader(reader: &mut BytesReader, extension: Option<&str>) -> Result<Format> {
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
    let hint = extension.and_then(Format::from_extension);
    let sniffed = format!(
        "the first {} bytes{}",
        after_id3.len(),
        if id3 > 0 {
            format!(" after a {id3}-byte ID3v2 tag")
        } else {
            String::new()
        }
    );
    let Some((format, evidence)) = sniff(&after_id3, hint) else {
        tracing::debug!("no format matches {sniffed}");
        return Err(MediaError::UnknownFormat(match extension {
            Some(ext) if hint.is_some() => format!("the content does not look like a .{ext} file"),
            _ => "the content matches no format mediatool reads".into(),
        }));
    };
    tracing::debug!(
        "format {format} from the content ({evidence}, in {sniffed}); the extension {}",
        match hint {
            Some(h) if h == format => "agrees",
            Some(_) => "says otherwise",
            None => "names no format",
        }
    );
    Ok(format)
}

/// The first [`SNIFF_LEN`] bytes of what a reader buffered (a refill may
/// bring more).
fn sniff_window(buffered: &[u8]) -> &[u8] {
    &buffered[..buffered.len().min(SNIFF_LEN)]
}

/// Detects a format from the first bytes of a file (after any ID3v2 tag).
/// `hint` (the extension's format) breaks ties between plausible readings.
pub fn detect(head: &[u8], hint: Option<Format>) -> Option<Format> {
    sniff(head, hint).map(|(format, _)| format)
}

/// What a detection rests on, strongest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Evidence {
    /// A signature at a fixed place (RIFF, EBML, OggS, ftyp...).
    Signature,
    /// Frames or NAL units from the first byte, one reading only.
    Frames,
    /// Frames or NAL units from the first byte, read several ways; the
    /// extension chose.
    FramesAndExtension,
    /// An Annex B stream after junk (cut inside a NAL unit) whose
    /// parameter sets follow.
    AnnexBAfterJunk,
    /// Four whole audio frames after junk.
    AudioAfterJunk,
    /// A sane run of NAL unit headers after junk, without parameter sets.
    NalUnitsAfterJunk,
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Evidence::Signature => "signature",
            Evidence::Frames => "frames from the first byte",
            Evidence::FramesAndExtension => {
                "frames from the first byte, several readings: the extension chose"
            }
            Evidence::AnnexBAfterJunk => "start codes and parameter sets after junk",
            Evidence::AudioAfterJunk => "four audio frames after junk",
            Evidence::NalUnitsAfterJunk => "NAL units after junk, no parameter set yet",
        })
    }
}

/// Bytes an Annex B stream may have before its first start code and still
/// count as starting with one: `leading_zero_8bits` and a `zero_byte`
/// (H.264 §B.1.1), give or take.
const ANNEXB_ZERO_PREFIX: usize = 8;

/// [`detect`], saying on what: a signature or frames from the first byte
/// (the extension choosing among several readings), then an Annex B stream
/// after junk with its parameter sets (a stream cut inside a NAL unit),
/// then audio frames after junk, then a sane run of NAL units after junk.
fn sniff(head: &[u8], hint: Option<Format>) -> Option<(Format, Evidence)> {
    if let Some(format) = magic(head) {
        return Some((format, Evidence::Signature));
    }
    // Elementary streams: accept a reading only when the bytes bear it out.
    let mut plausible = Vec::new();
    if adts::starts_with_frames(head, 3, FrameChain::MayBeCut) {
        plausible.push(Format::Aac);
    }
    if mpeg_audio::starts_with_frames(head, 3, FrameChain::MayBeCut) {
        plausible.push(Format::MpegAudio);
    }
    let annexb = annexb_codec(head);
    if let Some(a) = annexb.filter(|a| a.start <= ANNEXB_ZERO_PREFIX) {
        plausible.push(a.format);
    }
    match (hint, plausible.as_slice()) {
        (_, [only]) => Some((*only, Evidence::Frames)),
        (Some(h), several) if several.contains(&h) => Some((h, Evidence::FramesAndExtension)),
        (_, [first, ..]) => Some((*first, Evidence::Frames)),
        (_, []) => annexb
            .filter(|a| a.parameter_set)
            .map(|a| (a.format, Evidence::AnnexBAfterJunk))
            .or_else(|| audio_after_junk(head).map(|f| (f, Evidence::AudioAfterJunk)))
            .or_else(|| {
                annexb
                    .filter(|a| a.sane)
                    .map(|a| (a.format, Evidence::NalUnitsAfterJunk))
            }),
    }
}

/// Audio frames that start after some junk (padding after an ID3v2 tag, a
/// damaged first frame): the first offset where four consecutive frames of
/// one stream agree, all four within `head`, which random bytes
/// practically never produce.
fn audio_after_junk(head: &[u8]) -> Option<Format> {
    memchr::memchr_iter(0xff, head).find_map(|i| {
        let rest = &head[i..];
        if adts::starts_with_frames(rest, 4, FrameChain::Whole) {
            Some(Format::Aac)
        } else if mpeg_audio::starts_with_frames(rest, 4, FrameChain::Whole) {
            Some(Format::MpegAudio)
        } else {
            None
        }
    })
}

/// Formats with a signature at a fixed place.
fn magic(head: &[u8]) -> Option<Format> {
    let at = |offset: usize, sig: &[u8]| head.get(offset..offset + sig.len()) == Some(sig);
    if (at(0, b"RIFF") || at(0, b"RF64") || at(0, b"BW64")) && at(8, b"WAVE") {
        return Some(Format::Wav);
    }
    if at(0, &[0x1a, 0x45, 0xdf, 0xa3]) {
        // The EBML header's DocType element (0x4282) says "webm" or "matroska".
        let header = &head[..head.len().min(64)];
        let webm = memchr::memmem::find(header, b"\x42\x82")
            .is_some_and(|i| header[i..].windows(4).any(|w| w == b"webm"));
        return Some(if webm { Format::Webm } else { Format::Matroska });
    }
    if at(0, b"OggS") {
        return Some(Format::Ogg);
    }
    if at(4, b"ftyp")
        || (at(4, b"moov") || at(4, b"mdat") || at(4, b"free") || at(4, b"wide")) && head.len() >= 8
    {
        return Some(Format::Mp4);
    }
    if at(0, &[0, 0, 1, 0xba]) {
        return Some(Format::MpegPs);
    }
    let ts_sync = |packet: usize| (0..4).all(|i| head.get(i * packet) == Some(&0x47));
    if ts_sync(188)
        || head.get(4) == Some(&0x47) && (0..4).all(|i| head.get(4 + i * 192) == Some(&0x47))
    {
        return Some(Format::MpegTs);
    }
    None
}

/// Length of an ID3v2 tag at the start of `head` (header, body and footer),
/// 0 when there is none (ID3v2.4 §3.1: the size is a 28-bit syncsafe integer).
pub fn id3v2_len(head: &[u8]) -> usize {
    match head {
        [b'I', b'D', b'3', major, _, flags, s @ ..]
            if *major < 0xff && s.len() >= 4 && s[..4].iter().all(|b| b & 0x80 == 0) =>
        {
            let size = s[..4]
                .iter()
                .fold(0usize, |acc, &b| (acc << 7) | usize::from(b));
            let footer = if flags & 0x10 != 0 { 10 } else { 0 };
            10 + size + footer
        }
        _ => 0,
    }
}

/// An Annex B reading of the head of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct AnnexB {
    /// H.264 or H.265.
    format: Format,
    /// Offset of the first start code.
    start: usize,
    /// A sequence parameter set (H.265: or a VPS) is among the NAL units.
    parameter_set: bool,
    /// At least [`SANE_UNITS`] NAL units, none of whose headers breaks
    /// the codec's rules.
    sane: bool,
}

/// NAL units after junk that make a sane sequence without a parameter set.
const SANE_UNITS: usize = 4;

/// How well the NAL unit headers of a head of file read as one codec.
#[derive(Clone, Copy, Debug, Default)]
struct Score {
    points: i32,
    /// Headers that break the codec's rules or are reserved.
    faults: u32,
    parameter_set: bool,
}

impl Score {
    fn add(&mut self, points: i32) {
        self.points += points;
        self.faults += u32::from(points < 0);
    }
}

/// Whether an Annex B byte stream's NAL headers read as H.264 or H.265,
/// from its first start code within `head` on (the bytes before it: a
/// stream cut inside a NAL unit).
///
/// Both start with start codes; the first NAL units tell them apart: H.265
/// headers are two bytes with `nuh_temporal_id_plus1 != 0` and parameter sets
/// of types 32–34 (H.265 §7.4.2.2, Table 7-1), H.264 headers one byte with
/// SPS/PPS types 7/8 (H.264 §7.4.1, Table 7-1).
fn annexb_codec(head: &[u8]) -> Option<AnnexB> {
    let start = nal::find_start_code(head, 0)?;
    let (mut h264, mut hevc, mut units) = (Score::default(), Score::default(), 0);
    for range in nal::annexb_ranges(head).take(32) {
        let nal = &head[range];
        units += 1;
        let Some(&b0) = nal.first() else { continue };
        if b0 & 0x80 != 0 {
            return None; // forbidden_zero_bit set in either syntax
        }
        match b0 & 0x1f {
            7 => {
                h264.add(3);
                h264.parameter_set = true;
            }
            8 => h264.add(3),
            1 | 5 | 6 | 9 => h264.add(1),
            0 | 24..=31 => h264.add(-3),
            _ => {}
        }
        if let Some(&b1) = nal.get(1) {
            let layer_id = (u16::from(b0 & 1) << 5) | u16::from(b1 >> 3);
            if b1 & 7 == 0 || layer_id > 0 {
                hevc.add(-3);
            } else {
                match (b0 >> 1) & 0x3f {
                    32 | 33 => {
                        hevc.add(3);
                        hevc.parameter_set = true;
                    }
                    34 => hevc.add(3),
                    0..=9 | 16..=21 | 35 | 39 | 40 => hevc.add(1),
                    36..=38 => {} // end of sequence or bitstream, filler data
                    _ => hevc.add(-1),
                }
            }
        }
    }
    let (format, score) = match h264.points.cmp(&hevc.points) {
        std::cmp::Ordering::Greater if h264.points > 0 => (Format::H264, h264),
        std::cmp::Ordering::Less if hevc.points > 0 => (Format::Hevc, hevc),
        _ => return None,
    };
    Some(AnnexB {
        format,
        start,
        parameter_set: score.parameter_set && score.faults == 0,
        sane: units >= SANE_UNITS && score.faults == 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        assert_eq!(detect(&wav, None), Some(Format::Wav));
        wav[..4].copy_from_slice(b"RF64");
        assert_eq!(detect(&wav, None), Some(Format::Wav));
        assert_eq!(detect(b"OggS\0\x02", None), Some(Format::Ogg));
        assert_eq!(detect(b"\0\0\0\x20ftypisom", None), Some(Format::Mp4));
        assert_eq!(detect(&[0, 0, 1, 0xba, 0x44], None), Some(Format::MpegPs));
        let mut ts = vec![0u8; 188 * 4];
        (0..4).for_each(|i| ts[i * 188] = 0x47);
        assert_eq!(detect(&ts, None), Some(Format::MpegTs));
        let ebml = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x84webm";
        assert_eq!(detect(ebml, None), Some(Format::Webm));
        let ebml = b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska";
        assert_eq!(detect(ebml, None), Some(Format::Matroska));
    }

    #[test]
    fn annexb_h264_and_hevc() {
        let h264 = [
            0, 0, 0, 1, 0x67, 0x64, 0, 0x1f, 0, 0, 0, 1, 0x68, 0xee, 0x3c, 0x80, 0, 0, 1, 0x65,
            0x88,
        ];
        assert_eq!(detect(&h264, None), Some(Format::H264));
        let hevc = [
            0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 0, 1, 0x42, 0x01, 0x01, 0, 0, 0, 1, 0x44, 0x01,
            0xc1, 0, 0, 1, 0x26, 0x01, 0xaf,
        ];
        assert_eq!(detect(&hevc, None), Some(Format::Hevc));
        // The extension does not override content.
        assert_eq!(detect(&hevc, Some(Format::H264)), Some(Format::Hevc));
    }

    #[test]
    fn garbage_and_text_are_unknown() {
        assert_eq!(
            detect(b"hello, world\nthis is text\n", Some(Format::H264)),
            None
        );
        assert_eq!(detect(&[], None), None);
        assert_eq!(detect(&[0xff; 64], None), None);
    }

    #[test]
    fn audio_after_leading_junk() {
        let frame = mp3_frame;
        let mut data = b"junk\0\0\0 padding".to_vec();
        (0..4).for_each(|_| frame(&mut data));
        assert_eq!(detect(&data, None), Some(Format::MpegAudio));
        // Three frames after junk are not enough to trust a sync word.
        let mut short = b"junk".to_vec();
        (0..3).for_each(|_| frame(&mut short));
        short.extend_from_slice(&[0x12; 500]);
        assert_eq!(detect(&short, None), None);
    }

    /// The Annex B fixtures cut inside a NAL unit at each tenth: the first
    /// start code comes after junk.
    #[test]
    fn annexb_streams_cut_mid_nal_are_recognized() {
        use crate::media::testing::fixture;
        for (name, format) in [
            ("h264_bframes.264", Format::H264),
            ("h264_baseline.h264", Format::H264),
            ("h264_odd_ntsc_slices.264", Format::H264),
            ("hevc_bframes.265", Format::Hevc),
            ("hevc_odd_ntsc.h265", Format::Hevc),
        ] {
            let data = fixture(name);
            for tenth in 1..8 {
                let cut = &data[data.len() * tenth / 10..];
                let head = &cut[..cut.len().min(SNIFF_LEN)];
                assert_eq!(detect(head, None), Some(format), "{name} from {tenth}/10");
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
        (0..5).for_each(|_| mp3_frame(&mut data));
        assert_eq!(audio_after_junk(&data), Some(Format::MpegAudio));
        assert_eq!(
            sniff(&data, Some(Format::MpegAudio)),
            Some((Format::H264, Evidence::AnnexBAfterJunk))
        );
        // Without the SPS the stream is only a run of NAL units: audio wins.
        let without_sps = [&data[..15], &data[25..]].concat();
        assert_eq!(
            sniff(&without_sps, None),
            Some((Format::MpegAudio, Evidence::AudioAfterJunk))
        );
    }

    #[test]
    fn a_false_sync_near_the_end_is_not_audio() {
        // Junk, then three frames and a fourth header claiming more bytes
        // than the head holds: not four whole frames.
        let mut data = vec![0x12; 100];
        (0..3).for_each(|_| mp3_frame(&mut data));
        data.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64, 0x55]);
        assert_eq!(audio_after_junk(&data), None);
        assert_eq!(detect(&data, Some(Format::MpegAudio)), None);
    }

    /// PCM samples whose WAVE header was cut off are no format at all, at
    /// any offset (a false MPEG audio or ADTS sync in them was read as a
    /// stream, and its reader's complaint was the message).
    #[test]
    fn pcm_without_its_header_is_unrecognized() {
        use crate::media::testing::fixture;
        for name in [
            "wav_s16_44k_stereo.wav",
            "wav_s24_48k_stereo_extensible.wav",
        ] {
            let data = fixture(name);
            for cut in [30, 44, 45, 1001, 4096] {
                let head = &data[cut..(cut + SNIFF_LEN).min(data.len())];
                assert_eq!(detect(head, Some(Format::Wav)), None, "{name} from {cut}");
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
            sniff(&data, None),
            Some((Format::H264, Evidence::NalUnitsAfterJunk))
        );
        // Three units are not a run.
        assert_eq!(sniff(&data[..41], None), None);
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
        assert_eq!(detect_reader(&mut reader, None).unwrap(), Format::MpegAudio);
        assert_eq!(reader.position(), 0);
        // Two tags in a row, the second hiding four ADTS frames (an
        // embedded clip): detection looks past both.
        let aac = crate::media::testing::fixture("audio_48k_mono.aac");
        let clip = &aac[..1000];
        let mut hiding = b"ID3\x03\0\0\0\0\x07\x68".to_vec();
        hiding.extend_from_slice(clip);
        let stacked = [&data[..267], &hiding[..], &data[267..]].concat();
        let mut reader = BytesReader::from_bytes(stacked);
        assert_eq!(detect_reader(&mut reader, None).unwrap(), Format::MpegAudio);
        assert_eq!(reader.position(), 0);
        // A tag claiming 256 MiB in a small file: nothing after it, and the
        // claim is not buffered.
        data[6..10].copy_from_slice(&[0x7f; 4]);
        let mut reader = BytesReader::from_bytes(data);
        let error = detect_reader(&mut reader, Some("mp3")).unwrap_err();
        assert!(matches!(error, MediaError::UnknownFormat(_)), "{error}");
        assert_eq!((reader.position(), reader.buffered().len()), (0, 0));
    }

    #[test]
    fn id3_length() {
        assert_eq!(id3v2_len(b"ID3\x04\0\0\0\0\x02\x01rest"), 10 + 257);
        assert_eq!(id3v2_len(b"ID3\x04\0\x10\0\0\0\x05"), 25);
        assert_eq!(id3v2_len(b"ID3\x04\0\0\0\x80\0\0"), 0);
        assert_eq!(id3v2_len(b"RIFF"), 0);
    }
}
