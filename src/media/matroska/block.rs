//! Blocks (RFC 9559 §10): the header of a SimpleBlock or a BlockGroup's
//! Block, and the frames its lacing packs (§10.3: Xiph, EBML, fixed-size).

use std::ops::Range;

use smallvec::SmallVec;

use super::ebml::{signed_vint, vint};

/// Most frames one lace holds: its count byte is the number less one.
const MAX_LACED: usize = 256;

/// A block's header and where its frames lie in its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Block {
    /// The track number it belongs to.
    pub track: u64,
    /// Timestamp relative to the Cluster's, in TimestampScale units.
    pub relative: i16,
    /// SimpleBlock's keyframe flag (a BlockGroup's Block has none: the
    /// caller knows from its ReferenceBlocks).
    pub keyframe: bool,
    /// The frames, as ranges of the block body, in order.
    pub frames: SmallVec<[Range<usize>; 1]>,
}

/// Why a block cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum BlockError {
    /// The header is cut or its track number malformed.
    Header,
    /// The lace sizes do not add up to the block's bytes.
    Lacing(&'static str),
}

impl Block {
    /// Parses the block `body` (the element's data, after its header).
    pub fn parse(body: &[u8]) -> Result<Block, BlockError> {
        let (track, len) = vint(body, false).map_err(|_| BlockError::Header)?;
        let head = body.get(len..len + 3).ok_or(BlockError::Header)?;
        let relative = i16::from_be_bytes([head[0], head[1]]);
        let flags = head[2];
        let start = len + 3;
        let frames = match (flags >> 1) & 3 {
            0 => SmallVec::from_elem(start..body.len(), 1),
            lacing => laced(body, start, lacing)?,
        };
        Ok(Block {
            track,
            relative,
            keyframe: flags & 0x80 != 0,
            frames,
        })
    }
}

/// The frames of a laced block whose lace header starts at `start`:
/// Xiph (1), fixed-size (2) or EBML (3) lacing (RFC 9559 §10.3). Every
/// frame but the last has its size coded; the last takes the rest, and
/// must not be negative.
fn laced(body: &[u8], start: usize, lacing: u8) -> Result<SmallVec<[Range<usize>; 1]>, BlockError> {
    let &count_minus_one = body.get(start).ok_or(BlockError::Lacing("no lace count"))?;
    let count = usize::from(count_minus_one) + 1;
    debug_assert!(count <= MAX_LACED);
    let mut pos = start + 1;
    let mut sizes: SmallVec<[usize; 16]> = SmallVec::new();
    match lacing {
        1 => {
            for _ in 1..count {
                let mut size = 0usize;
                loop {
                    let &b = body
                        .get(pos)
                        .ok_or(BlockError::Lacing("Xiph lace sizes cut short"))?;
                    pos += 1;
                    size += usize::from(b);
                    if b != 255 {
                        break;
                    }
                }
                sizes.push(size);
            }
        }
        3 => {
            let (first, len) = vint(body.get(pos..).unwrap_or_default(), false)
                .map_err(|_| BlockError::Lacing("EBML lace size malformed"))?;
            pos += len;
            let mut size = i64::try_from(first).map_err(|_| BlockError::Lacing("lace too big"))?;
            if count > 1 {
                sizes.push(usize::try_from(size).map_err(|_| BlockError::Lacing("lace too big"))?);
            }
            for _ in 2..count {
                let (delta, len) = signed_vint(body.get(pos..).unwrap_or_default())
                    .map_err(|_| BlockError::Lacing("EBML lace size malformed"))?;
                pos += len;
                size = size
                    .checked_add(delta)
                    .filter(|s| *s >= 0)
                    .ok_or(BlockError::Lacing("negative EBML lace size"))?;
                sizes.push(size as usize);
            }
        }
        _ => {
            let data = body.len().saturating_sub(pos);
            if !data.is_multiple_of(count) {
                return Err(BlockError::Lacing(
                    "fixed-size lace not a multiple of its frame count",
                ));
            }
            sizes.extend(std::iter::repeat_n(data / count, count - 1));
        }
    }
    let coded: usize = sizes
        .iter()
        .try_fold(0usize, |sum, &s| sum.checked_add(s))
        .ok_or(BlockError::Lacing("lace sizes overflow"))?;
    let end = pos
        .checked_add(coded)
        .filter(|&end| end <= body.len())
        .ok_or(BlockError::Lacing("lace sizes overrun the block"))?;
    let mut frames = SmallVec::with_capacity(count);
    for size in sizes {
        frames.push(pos..pos + size);
        pos += size;
    }
    frames.push(end..body.len());
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block of track 1 at +2 with `flags` and `rest` after its header.
    fn block(flags: u8, rest: &[u8]) -> Vec<u8> {
        [&[0x81, 0, 2, flags][..], rest].concat()
    }

    #[test]
    fn unlaced() {
        let b = Block::parse(&block(0x80, b"frame")).unwrap();
        assert_eq!((b.track, b.relative, b.keyframe), (1, 2, true));
        assert_eq!((b.frames.len(), b.frames[0].clone()), (1, 4..9));
        assert_eq!(Block::parse(&[0x81, 0]), Err(BlockError::Header));
    }

    #[test]
    fn the_three_lacings() {
        // Xiph: 3 frames of 300, 2 and the rest (4).
        let mut xiph = vec![2, 255, 45, 2];
        xiph.resize(4 + 306, 7);
        let b = Block::parse(&block(0x02, &xiph)).unwrap();
        let sizes: Vec<usize> = b.frames.iter().map(|r| r.len()).collect();
        assert_eq!(sizes, [300, 2, 4]);
        assert_eq!(b.frames[0].start, 8);
        // EBML: 3 frames of 5, 5 - 1 and the rest (2).
        let mut ebml = vec![2, 0x85, 0xBE];
        ebml.resize(3 + 11, 7);
        let sizes: Vec<usize> = Block::parse(&block(0x06, &ebml))
            .unwrap()
            .frames
            .iter()
            .map(|r| r.len())
            .collect();
        assert_eq!(sizes, [5, 4, 2]);
        // Fixed: 4 frames of 3.
        let mut fixed = vec![3];
        fixed.resize(13, 7);
        let b = Block::parse(&block(0x04, &fixed)).unwrap();
        assert!(b.frames.iter().all(|r| r.len() == 3) && b.frames.len() == 4);
    }

    #[test]
    fn lying_laces_are_refused() {
        // 255 frames claimed by an EBML lace with 4 bytes after its header.
        assert!(Block::parse(&block(0x06, &[0xFE, 0x90, 1, 2, 3])).is_err());
        // Xiph sizes overrunning, or cut.
        assert!(Block::parse(&block(0x02, &[1, 200, 1, 2])).is_err());
        assert!(Block::parse(&block(0x02, &[1, 255])).is_err());
        // EBML sizes going negative.
        assert!(Block::parse(&block(0x06, &[2, 0x81, 0x80, 1, 2])).is_err());
        // Fixed sizes that do not divide the data, and no count at all.
        assert!(Block::parse(&block(0x04, &[1, 1, 2, 3])).is_err());
        assert!(Block::parse(&block(0x04, &[])).is_err());
    }
}
