//! Metadata tags wrapped around audio elementary streams (MP3, AAC ADTS):
//! ID3v2 at the start (ID3v2.4.0 structure §3.1, §3.4), and ID3v1, APEv2 or
//! an appended ID3v2 at the end. Readers skip them; they are not audio.

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
/// 32-byte header when flag bit 31 says so) and an ID3v2.4 tag with a footer
/// (`3DI`, §3.4).
pub(super) fn data_end(input: &mut BytesReader, floor: u64) -> Result<u64> {
    let mut end = input.size();
    // Each step removes one tag; four covers every combination seen in practice.
    for _ in 0..4 {
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
