//! Metadata tags wrapped around audio elementary streams (MP3, AAC ADTS):
//! ID3v2 at the start (ID3v2.4.0 structure §3.1, §3.4; ID3v2.2 and v2.3
//! share its 10-byte tag header), and ID3v1, APEv2, Lyrics3 or an appended
//! ID3v2 at the end. Readers skip them by their stated sizes, never looking
//! inside (a cover picture or an embedded clip may hold what looks like a
//! frame sync); they are not audio.

use super::{BytesReader, MediaError, Result};

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

/// Skips every ID3v2 tag at the reader's position (a file may carry several
/// in a row); returns how many bytes they took.
pub(super) fn skip_id3v2(input: &mut BytesReader) -> Result<u64> {
    let start = input.position();
    loop {
        let pos = input.position();
        let len = id3v2_len(input.peek(10)?) as u64;
        if len == 0 {
            return Ok(pos - start);
        }
        let remain = input.size().saturating_sub(pos);
        if len > remain {
            return Err(MediaError::truncated(
                pos,
                format!("ID3v2 tag needs {len} bytes, {remain} remain"),
            ));
        }
        input.skip(len)?;
    }
}

/// The file offset where audio data ends: the file size minus the tags at
/// its end, never below `floor`. Leaves the reader at `floor`.
///
/// Recognised, in any stacking order: ID3v1 (`TAG`, 128 bytes), APEv2/APEv1
/// (32-byte `APETAGEX` footer whose size counts items and footer, plus a
/// 32-byte header when flag bit 31 says so), Lyrics3 v2.00 (`LYRICSBEGIN`,
/// fields, a 6-digit size, `LYRICS200`) and v1.00 (`LYRICSBEGIN` ...
/// `LYRICSEND`, at most 5100 bytes of lyrics), which sit before an ID3v1
/// tag, and an ID3v2.4 tag with a footer (`3DI`, §3.4). A last frame cut
/// short and tagged afterwards then shows as cut, not as a frame running
/// into the tag.
pub(super) fn data_end(input: &mut BytesReader, floor: u64) -> Result<u64> {
    let mut end = input.size();
    // Each step removes one tag: one step per kind, and one to find none.
    for _ in 0..5 {
        let room = end.saturating_sub(floor);
        if room >= 128 && read_at(input, end - 128, 3)? == b"TAG" {
            end -= 128;
            continue;
        }
        if room >= 32 {
            let footer = read_at(input, end - 32, 32)?;
            if footer.len() == 32 && footer.starts_with(b"APETAGEX") {
                let size = u64::from(le32(&footer[12..16]));
                let header = if le32(&footer[20..24]) & 0x8000_0000 != 0 {
                    32
                } else {
                    0
                };
                let total = size + header;
                if (32..=room).contains(&total) {
                    end -= total;
                    continue;
                }
            }
        }
        if let Some(len) = lyrics3_len(input, end, room)? {
            end -= len;
            continue;
        }
        if room >= 20 {
            let footer = read_at(input, end - 10, 10)?;
            if footer.len() == 10
                && footer.starts_with(b"3DI")
                && footer[6..10].iter().all(|b| b & 0x80 == 0)
            {
                let size = footer[6..10]
                    .iter()
                    .fold(0u64, |acc, &b| (acc << 7) | u64::from(b));
                let total = 20 + size;
                if total <= room {
                    end -= total;
                    continue;
                }
            }
        }
        break;
    }
    input.seek(floor)?;
    Ok(end)
}

/// `LYRICSBEGIN`, which opens both Lyrics3 versions.
const LYRICS_BEGIN: &[u8] = b"LYRICSBEGIN";

/// Most bytes of lyrics in a Lyrics3 v1.00 tag.
const LYRICS3V1_MAX: u64 = 5100;

/// Length of the Lyrics3 tag that ends at `end`, if one does, within the
/// `room` bytes above the floor (Lyrics3 v2.00: its size field counts from
/// `LYRICSBEGIN` up to the size field; v1.00: found by its `LYRICSBEGIN`).
fn lyrics3_len(input: &mut BytesReader, end: u64, room: u64) -> Result<Option<u64>> {
    const V2_TAIL: u64 = 6 + 9; // size digits + "LYRICS200"
    let begins_at = |input: &mut BytesReader, len: u64| -> Result<bool> {
        Ok(len <= room && read_at(input, end - len, LYRICS_BEGIN.len())? == LYRICS_BEGIN)
    };
    if room >= V2_TAIL + LYRICS_BEGIN.len() as u64 {
        let tail = read_at(input, end - V2_TAIL, V2_TAIL as usize)?;
        if tail.ends_with(b"LYRICS200") && tail[..6].iter().all(u8::is_ascii_digit) {
            let size = tail[..6]
                .iter()
                .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0'));
            let len = size + V2_TAIL;
            return Ok(begins_at(input, len)?.then_some(len));
        }
    }
    const V1_END: &[u8] = b"LYRICSEND";
    let min = (LYRICS_BEGIN.len() + V1_END.len()) as u64;
    if room >= min && read_at(input, end - V1_END.len() as u64, V1_END.len())? == V1_END {
        let window = (min + LYRICS3V1_MAX).min(room);
        let tail = read_at(input, end - window, window as usize)?;
        if let Some(at) = memchr::memmem::rfind(&tail, LYRICS_BEGIN) {
            return Ok(Some(window - at as u64));
        }
    }
    Ok(None)
}

fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// `len` bytes at `offset` (fewer at the end of the input).
fn read_at(input: &mut BytesReader, offset: u64, len: usize) -> Result<Vec<u8>> {
    input.seek(offset)?;
    let buf = input.peek(len)?;
    Ok(buf[..buf.len().min(len)].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id3_length() {
        assert_eq!(id3v2_len(b"ID3\x04\0\0\0\0\x02\x01rest"), 10 + 257);
        assert_eq!(id3v2_len(b"ID3\x04\0\x10\0\0\0\x05"), 25);
        assert_eq!(id3v2_len(b"ID3\x04\0\0\0\x80\0\0"), 0);
        assert_eq!(id3v2_len(b"RIFF"), 0);
    }

    fn ape_footer(size: u32, with_header: bool) -> Vec<u8> {
        let mut f = b"APETAGEX".to_vec();
        f.extend_from_slice(&2000u32.to_le_bytes());
        f.extend_from_slice(&size.to_le_bytes());
        f.extend_from_slice(&1u32.to_le_bytes());
        let flags: u32 = if with_header { 0xa000_0000 } else { 0 };
        f.extend_from_slice(&flags.to_le_bytes());
        f.extend_from_slice(&[0; 8]);
        f
    }

    #[test]
    fn skips_stacked_id3v2_tags_with_footer() {
        let mut data = b"ID3\x04\0\x10\0\0\0\x05".to_vec(); // 5-byte body + footer
        data.extend_from_slice(&[0; 5]);
        data.extend_from_slice(b"3DI\x04\0\x10\0\0\0\x05");
        data.extend_from_slice(b"ID3\x03\0\0\0\0\0\x02\0\0");
        data.extend_from_slice(b"\xff\xfb");
        let mut input = BytesReader::from_bytes(data);
        assert_eq!(skip_id3v2(&mut input).unwrap(), 25 + 12);
        assert_eq!(input.buffered(), b"\xff\xfb");
    }

    #[test]
    fn id3v2_larger_than_the_file_is_truncation() {
        let mut input = BytesReader::from_bytes(b"ID3\x04\0\0\0\0\x7f\x7f tiny".to_vec());
        let err = skip_id3v2(&mut input).unwrap_err();
        assert!(
            matches!(err, MediaError::Truncated { offset: 0, .. }),
            "{err}"
        );
    }

    #[test]
    fn finds_the_end_before_ape_and_id3v1() {
        let mut data = vec![0xaa; 1000];
        let ape_body = 40;
        data.extend_from_slice(&ape_footer(0, true)[..]); // APE header (same layout)
        data.extend_from_slice(&[1; 40]);
        data.extend_from_slice(&ape_footer(ape_body + 32, true));
        let mut id3v1 = b"TAG".to_vec();
        id3v1.resize(128, 0);
        data.extend_from_slice(&id3v1);
        let mut input = BytesReader::from_bytes(data);
        assert_eq!(data_end(&mut input, 0).unwrap(), 1000);
        assert_eq!(input.position(), 0);
    }

    fn lyrics3v2(lyrics: &[u8]) -> Vec<u8> {
        let mut tag = b"LYRICSBEGININD0000210LYR".to_vec();
        tag.extend_from_slice(format!("{:05}", lyrics.len()).as_bytes());
        tag.extend_from_slice(lyrics);
        let size = format!("{:06}", tag.len());
        tag.extend_from_slice(size.as_bytes());
        tag.extend_from_slice(b"LYRICS200");
        tag
    }

    #[test]
    fn finds_the_end_before_lyrics3_tags() {
        let mut id3v1 = b"TAG".to_vec();
        id3v1.resize(128, 0);
        let audio = vec![0xaa; 700];
        let v1 = [&b"LYRICSBEGIN"[..], b"[00:01]la la", b"LYRICSEND"].concat();
        let ape = [ape_footer(0, true), vec![1; 40], ape_footer(72, true)].concat();
        for tags in [
            [lyrics3v2(b"[00:01]la la"), id3v1.clone()].concat(),
            [v1.clone(), id3v1.clone()].concat(),
            [ape.clone(), lyrics3v2(b"x"), id3v1.clone()].concat(),
            [lyrics3v2(b"x"), ape, id3v1.clone()].concat(),
            v1,
        ] {
            let mut input = BytesReader::from_bytes([audio.clone(), tags].concat());
            assert_eq!(data_end(&mut input, 0).unwrap(), 700);
        }
        // A size field pointing at something else, and an end marker
        // without its beginning, are audio.
        let mut bad = lyrics3v2(b"x");
        let n = bad.len();
        bad[n - 15..n - 9].copy_from_slice(b"000099");
        let mut input = BytesReader::from_bytes([audio.clone(), bad].concat());
        assert_eq!(data_end(&mut input, 0).unwrap(), 700 + n as u64);
        let mut input = BytesReader::from_bytes([audio, b"LYRICSEND".to_vec()].concat());
        assert_eq!(data_end(&mut input, 0).unwrap(), 709);
    }

    #[test]
    fn ignores_implausible_tag_sizes() {
        let mut data = vec![0xaa; 100];
        data.extend_from_slice(&ape_footer(0xffff_fff0, false));
        let mut input = BytesReader::from_bytes(data);
        assert_eq!(data_end(&mut input, 0).unwrap(), 132);
        let mut input = BytesReader::from_bytes(b"TAG".to_vec());
        assert_eq!(data_end(&mut input, 0).unwrap(), 3);
    }
}
