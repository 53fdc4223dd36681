//! EBML (RFC 8794): variable-size integers, element headers, and the
//! values of elements held in memory (the small header elements of a
//! Matroska file; blocks are read by `cluster.rs`).

/// Element IDs (RFC 8794 §11.2, RFC 9559 §5.1), with their marker bits.
pub(super) mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const SEEK_HEAD: u32 = 0x114D_9B74;
    pub const SEEK: u32 = 0x4DBB;
    pub const SEEK_ID: u32 = 0x53AB;
    pub const SEEK_POSITION: u32 = 0x53AC;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const FLAG_ENABLED: u32 = 0xB9;
    pub const DEFAULT_DURATION: u32 = 0x23_E383;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const CODEC_DELAY: u32 = 0x56AA;
    pub const SEEK_PRE_ROLL: u32 = 0x56BB;
    pub const CONTENT_ENCODINGS: u32 = 0x6D80;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const DISPLAY_WIDTH: u32 = 0x54B0;
    pub const DISPLAY_HEIGHT: u32 = 0x54BA;
    pub const DISPLAY_UNIT: u32 = 0x54B2;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const BIT_DEPTH: u32 = 0x6264;
    pub const CUES: u32 = 0x1C53_BB6B;
    pub const CUE_POINT: u32 = 0xBB;
    pub const CUE_TIME: u32 = 0xB3;
    pub const CUE_TRACK_POSITIONS: u32 = 0xB7;
    pub const CUE_TRACK: u32 = 0xF7;
    pub const CUE_CLUSTER_POSITION: u32 = 0xF1;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
    pub const BLOCK_GROUP: u32 = 0xA0;
    pub const BLOCK: u32 = 0xA1;
    pub const BLOCK_DURATION: u32 = 0x9B;
    pub const REFERENCE_BLOCK: u32 = 0xFB;
    pub const VOID: u32 = 0xEC;
    pub const CRC32: u32 = 0xBF;
    pub const POSITION: u32 = 0xA7;
    pub const PREV_SIZE: u32 = 0xAB;
    pub const SILENT_TRACKS: u32 = 0x5854;
    pub const ENCRYPTED_BLOCK: u32 = 0xAF;
    pub const CHAPTERS: u32 = 0x1043_A770;
    pub const TAGS: u32 = 0x1254_C367;
    pub const ATTACHMENTS: u32 = 0x1941_A469;
}

/// Whether `id` may be a child of a Cluster (RFC 9559 §5.1.3): what ends
/// a Cluster of unknown size is the first element that may not (§6.2).
pub(super) fn in_cluster(id: u32) -> bool {
    matches!(
        id,
        id::TIMESTAMP
            | id::SIMPLE_BLOCK
            | id::BLOCK_GROUP
            | id::POSITION
            | id::PREV_SIZE
            | id::SILENT_TRACKS
            | id::ENCRYPTED_BLOCK
            | id::VOID
            | id::CRC32
    )
}

/// Whether `id` is a child of a Segment (RFC 9559 §5.1).
pub(super) fn in_segment(id: u32) -> bool {
    matches!(
        id,
        id::SEEK_HEAD
            | id::INFO
            | id::TRACKS
            | id::CUES
            | id::CLUSTER
            | id::CHAPTERS
            | id::TAGS
            | id::ATTACHMENTS
            | id::VOID
            | id::CRC32
    )
}

/// Why bytes are not an element header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum HeaderError {
    /// The bytes end inside the header.
    Cut,
    /// A variable-size integer with no length marker in its first byte, an
    /// ID longer than 4 bytes, or a reserved ID (all ones).
    Invalid,
}

/// An element header: its ID (marker bits kept, as IDs are written),
/// the size of its body (`None`: unknown, RFC 8794 §6.2) and the length
/// of the header itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Header {
    pub id: u32,
    pub size: Option<u64>,
    pub len: usize,
}

impl Header {
    /// The element header at the start of `data` (RFC 8794 §4, §5).
    pub fn parse(data: &[u8]) -> Result<Header, HeaderError> {
        let (raw_id, id_len) = vint(data, true)?;
        if id_len > 4 || raw_id == (1 << (7 * id_len as u64 + id_len as u64)) - 1 {
            return Err(HeaderError::Invalid);
        }
        let (size, size_len) = vint(&data[id_len..], false)?;
        let unknown = size == (1u64 << (7 * size_len)) - 1;
        Ok(Header {
            id: raw_id as u32,
            size: (!unknown).then_some(size),
            len: id_len + size_len,
        })
    }
}

/// A variable-size integer at the start of `data`: its value (with the
/// length marker when `keep_marker`, as element IDs are compared) and its
/// length (RFC 8794 §4).
pub(super) fn vint(data: &[u8], keep_marker: bool) -> Result<(u64, usize), HeaderError> {
    let &first = data.first().ok_or(HeaderError::Cut)?;
    if first == 0 {
        return Err(HeaderError::Invalid);
    }
    let len = first.leading_zeros() as usize + 1;
    let bytes = data.get(..len).ok_or(HeaderError::Cut)?;
    let first = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & ((0x80 >> (len - 1)) - 1)
    };
    let value = bytes[1..]
        .iter()
        .fold(first, |v, &b| (v << 8) | u64::from(b));
    Ok((value, len))
}

/// A signed variable-size integer (EBML lacing sizes after the first,
/// RFC 9559 §10.3.3): the unsigned value less half its range.
pub(super) fn signed_vint(data: &[u8]) -> Result<(i64, usize), HeaderError> {
    let (value, len) = vint(data, false)?;
    let bias = (1i64 << (7 * len - 1)) - 1;
    Ok((value as i64 - bias, len))
}

/// An unsigned integer element's body (RFC 8794 §7.2: 0 to 8 bytes).
pub(super) fn uint(body: &[u8]) -> Option<u64> {
    (body.len() <= 8).then(|| body.iter().fold(0, |v, &b| (v << 8) | u64::from(b)))
}

/// A signed integer element's body (RFC 8794 §7.1).
pub(super) fn int(body: &[u8]) -> Option<i64> {
    let unsigned = uint(body)?;
    let bits = 8 * body.len() as u32;
    Some(if bits == 0 || bits == 64 {
        unsigned as i64
    } else {
        ((unsigned << (64 - bits)) as i64) >> (64 - bits)
    })
}

/// A float element's body (RFC 8794 §7.3: 0, 4 or 8 bytes).
pub(super) fn float(body: &[u8]) -> Option<f64> {
    match body.len() {
        0 => Some(0.0),
        4 => Some(f64::from(f32::from_be_bytes(body.try_into().ok()?))),
        8 => Some(f64::from_be_bytes(body.try_into().ok()?)),
        _ => None,
    }
}

/// A string element's body (RFC 8794 §7.4, §7.5): up to the first NUL.
pub(super) fn string(body: &[u8]) -> String {
    let end = memchr::memchr(0, body).unwrap_or(body.len());
    String::from_utf8_lossy(&body[..end]).into_owned()
}

/// One child element of a master element held in memory.
#[derive(Clone, Copy, Debug)]
pub(super) struct Child<'a> {
    pub id: u32,
    pub body: &'a [u8],
}

/// The children of a master element's body, in order; iteration stops at
/// the first malformed or overrunning child, reporting its offset in
/// the body (an unknown size is malformed here: these elements are whole).
pub(super) struct Children<'a> {
    body: &'a [u8],
    pos: usize,
    /// Where a malformed child starts, once one is met.
    pub malformed: Option<usize>,
}

impl<'a> Children<'a> {
    pub fn of(body: &'a [u8]) -> Children<'a> {
        Children {
            body,
            pos: 0,
            malformed: None,
        }
    }
}

impl<'a> Iterator for Children<'a> {
    type Item = Child<'a>;

    fn next(&mut self) -> Option<Child<'a>> {
        if self.pos >= self.body.len() || self.malformed.is_some() {
            return None;
        }
        let rest = &self.body[self.pos..];
        let child = Header::parse(rest).ok().and_then(|h| {
            let size = usize::try_from(h.size?).ok()?;
            let body = rest.get(h.len..h.len.checked_add(size)?)?;
            Some((h.id, body, h.len + size))
        });
        match child {
            Some((id, body, len)) => {
                self.pos += len;
                Some(Child { id, body })
            }
            None => {
                self.malformed = Some(self.pos);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_size_integers() {
        assert_eq!(vint(&[0x81], false), Ok((1, 1)));
        assert_eq!(vint(&[0x40, 0x02], false), Ok((2, 2)));
        assert_eq!(vint(&[0x1A, 0x45, 0xDF, 0xA3], true), Ok((0x1A45_DFA3, 4)));
        assert_eq!(vint(&[0x00, 0x01], false), Err(HeaderError::Invalid));
        assert_eq!(vint(&[0x20, 0x01], false), Err(HeaderError::Cut));
        assert_eq!(vint(&[], false), Err(HeaderError::Cut));
        let eight = [0x01, 0, 0, 0, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(vint(&eight, false), Ok((0xffff_ffff, 8)));
        // Signed lacing sizes: the value less 2^(7n-1) - 1.
        assert_eq!(signed_vint(&[0xBF]), Ok((0, 1)));
        assert_eq!(signed_vint(&[0xBE]), Ok((-1, 1)));
        assert_eq!(signed_vint(&[0x60, 0x00]), Ok((1, 2)));
    }

    #[test]
    fn headers_with_unknown_and_reserved_sizes() {
        let cluster = [0x1F, 0x43, 0xB6, 0x75, 0xFF];
        assert_eq!(
            Header::parse(&cluster),
            Ok(Header {
                id: id::CLUSTER,
                size: None,
                len: 5
            })
        );
        let eight_ones = [
            0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert_eq!(Header::parse(&eight_ones).unwrap().size, None);
        // IDs longer than 4 bytes and the all-ones ID are invalid.
        assert_eq!(
            Header::parse(&[0x08, 0, 0, 0, 1, 0x80]),
            Err(HeaderError::Invalid)
        );
        assert_eq!(Header::parse(&[0xFF, 0x80]), Err(HeaderError::Invalid));
        assert_eq!(Header::parse(&[0xA3]), Err(HeaderError::Cut));
    }

    #[test]
    fn values() {
        assert_eq!(uint(&[]), Some(0));
        assert_eq!(uint(&[0x0F, 0x42, 0x40]), Some(1_000_000));
        assert_eq!(uint(&[0; 9]), None);
        assert_eq!(int(&[0xFF, 0xFE]), Some(-2));
        assert_eq!(int(&[0x7F]), Some(127));
        assert_eq!(
            float(&[0x40, 0x49, 0x0F, 0xDB]).map(|f| f as f32),
            Some(std::f32::consts::PI)
        );
        assert_eq!(float(&[1, 2, 3]), None);
        assert_eq!(string(b"webm\0\0"), "webm");
    }

    #[test]
    fn children_stop_at_the_first_malformed_one() {
        // TrackNumber 1, CodecID "V_VP8", then a child overrunning the body.
        let body = [
            0xD7, 0x81, 0x01, 0x86, 0x85, b'V', b'_', b'V', b'P', b'8', 0x83, 0x85, 1,
        ];
        let mut children = Children::of(&body);
        let ids: Vec<u32> = children.by_ref().map(|c| c.id).collect();
        assert_eq!(ids, [id::TRACK_NUMBER, id::CODEC_ID]);
        assert_eq!(children.malformed, Some(10));
    }
}
