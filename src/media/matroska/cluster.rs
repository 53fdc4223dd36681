//! The Clusters of a Segment, read incrementally: each SimpleBlock and
//! BlockGroup with its cluster's timestamp, whether the Cluster's size is
//! known or not (RFC 9559 §6.2 and RFC 8794 §6.2: an element of unknown
//! size ends at the first element that cannot be its child, as live
//! recorders write Clusters).
//!
//! Damage is survived where it can be: a block whose lacing does not add
//! up is skipped; bytes that are not an element (a corrupt size, junk)
//! are passed by looking for the next Cluster's ID; a last block cut by
//! the end of the file is dropped. Each with one warning per kind.

use bytes::Bytes;

use super::block::{Block, BlockError};
use super::ebml::{id, in_cluster, in_segment, int, uint, Children, Header, HeaderError};
use crate::media::{BytesReader, Result};

/// Bytes of the longest element header: a 4-byte ID and an 8-byte size.
const MAX_HEADER: usize = 12;

/// One block read from a Cluster.
#[derive(Clone, Debug)]
pub(super) struct RawBlock {
    /// Absolute timestamp: the Cluster's plus the block's relative one, in
    /// TimestampScale units.
    pub timestamp: i64,
    /// A SimpleBlock's keyframe flag, or a BlockGroup without a
    /// ReferenceBlock (RFC 9559 §10.2).
    pub keyframe: bool,
    /// BlockGroup's BlockDuration, in TimestampScale units.
    pub duration: Option<u64>,
    /// The header and the frame ranges of `body`.
    pub block: Block,
    /// The Block's bytes.
    pub body: Bytes,
}

/// Problems reported once per reader.
#[derive(Clone, Copy)]
enum Damage {
    Lacing = 1,
    Junk = 2,
    Cut = 4,
    NoTimestamp = 8,
    SecondSegment = 16,
}

/// Where reading is in the Segment.
#[derive(Clone, Copy, Debug)]
struct InCluster {
    /// End of the Cluster's body; `None` for an unknown size.
    end: Option<u64>,
    /// Its Timestamp element, once read.
    timestamp: Option<u64>,
}

/// Reads the blocks of a Segment's Clusters from a [`BytesReader`].
pub(super) struct Clusters {
    /// End of the Segment's body (the file's end for an unknown size).
    segment_end: u64,
    cluster: Option<InCluster>,
    /// The end of the file or Segment was reached.
    done: bool,
    warned: u8,
    /// Warnings held until a block is returned: a file with no whole block
    /// is one error, not warnings and an error.
    held: Vec<String>,
    /// A block was returned.
    any_block: bool,
}

impl Clusters {
    /// Reads from the current position of the input, at Segment level, up
    /// to `segment_end`.
    pub fn new(segment_end: u64) -> Clusters {
        Clusters {
            segment_end,
            cluster: None,
            done: false,
            warned: 0,
            held: Vec::new(),
            any_block: false,
        }
    }

    /// Repositions at the Cluster starting at `offset` (an element header),
    /// or at Segment level.
    pub fn restart(&mut self, input: &mut BytesReader, offset: u64) -> Result<()> {
        input.seek(offset)?;
        self.cluster = None;
        self.done = false;
        Ok(())
    }

    fn warn(&mut self, damage: Damage, offset: u64, message: &str) {
        let bit = damage as u8;
        if self.warned & bit == 0 {
            self.warned |= bit;
            let message = format!("Matroska file, byte {offset}: {message}");
            if self.any_block {
                tracing::warn!("{message}");
            } else {
                self.held.push(message);
            }
        }
    }

    /// Logs the warnings held back, once a block is returned.
    fn returned_block(&mut self) {
        if !self.any_block {
            self.any_block = true;
            for message in self.held.drain(..) {
                tracing::warn!("{message}");
            }
        }
    }

    /// The next block, `None` at the end of the Segment (or of the file).
    pub fn next_block(&mut self, input: &mut BytesReader) -> Result<Option<RawBlock>> {
        while !self.done {
            let pos = input.position();
            if let Some(end) = self.cluster.and_then(|c| c.end) {
                if pos >= end {
                    self.cluster = None;
                }
            }
            if pos >= self.segment_end.min(input.size()) {
                self.done = true;
                break;
            }
            let header = match Header::parse(input.peek(MAX_HEADER)?) {
                Ok(header) => header,
                Err(HeaderError::Cut) => {
                    self.warn(Damage::Cut, pos, "the file ends inside an element header");
                    self.done = true;
                    break;
                }
                Err(HeaderError::Invalid) => {
                    self.resync(input, pos, "bytes that are not an element")?;
                    continue;
                }
            };
            let body_start = pos + header.len as u64;
            let end = header.size.map(|s| body_start.saturating_add(s));
            match self.cluster {
                Some(cluster) if in_cluster(header.id) => {
                    let Some(end) = end else {
                        self.resync(input, pos, "a block of unknown size")?;
                        continue;
                    };
                    if end > input.size() {
                        self.warn(
                            Damage::Cut,
                            pos,
                            &format!(
                                "an element of {} bytes runs past the end of the file \
                                 (cut short); reading stops",
                                end - pos
                            ),
                        );
                        self.done = true;
                        break;
                    }
                    if cluster.end.is_some_and(|cluster_end| end > cluster_end) {
                        self.resync(input, pos, "an element overruns its Cluster")?;
                        continue;
                    }
                    if let Some(block) = self.cluster_child(input, header, pos, end)? {
                        self.returned_block();
                        return Ok(Some(block));
                    }
                }
                // An unknown-size Cluster ends at an element it cannot hold.
                Some(InCluster { end: None, .. }) => self.cluster = None,
                Some(_) => {
                    self.resync(input, pos, "an element that does not belong in a Cluster")?;
                }
                None => self.segment_child(input, header, pos, end)?,
            }
        }
        Ok(None)
    }

    /// Reads one child of a Cluster (whole, ending at `end`): a block is
    /// returned, a Timestamp kept, anything else skipped.
    fn cluster_child(
        &mut self,
        input: &mut BytesReader,
        header: Header,
        pos: u64,
        end: u64,
    ) -> Result<Option<RawBlock>> {
        let len = usize::try_from(end - pos).unwrap_or(usize::MAX);
        if !matches!(
            header.id,
            id::SIMPLE_BLOCK | id::BLOCK_GROUP | id::TIMESTAMP
        ) {
            input.skip(end - pos)?;
            return Ok(None);
        }
        input.peek(len)?;
        let element = input.take(len);
        let body = element.slice(header.len..);
        if header.id == id::TIMESTAMP {
            if let Some(cluster) = &mut self.cluster {
                cluster.timestamp = uint(&body);
            }
            return Ok(None);
        }
        let cluster_ts = match self.cluster.and_then(|c| c.timestamp) {
            Some(ts) => ts,
            None => {
                self.warn(
                    Damage::NoTimestamp,
                    pos,
                    "a Cluster without a Timestamp; 0 assumed",
                );
                0
            }
        };
        let parsed = if header.id == id::SIMPLE_BLOCK {
            Block::parse(&body).map(|block| (block, body.clone(), None, None))
        } else {
            block_group(&body)
        };
        match parsed {
            Ok((block, body, duration, reference)) => {
                let keyframe = match reference {
                    Some(has_reference) => !has_reference,
                    None => block.keyframe,
                };
                let timestamp = i64::try_from(cluster_ts)
                    .unwrap_or(i64::MAX)
                    .saturating_add(i64::from(block.relative));
                Ok(Some(RawBlock {
                    timestamp,
                    keyframe,
                    duration,
                    block,
                    body,
                }))
            }
            Err(BlockError::Header) => {
                self.warn(
                    Damage::Lacing,
                    pos,
                    "a block whose header is malformed; skipped",
                );
                Ok(None)
            }
            Err(BlockError::Lacing(why)) => {
                let message = format!("a block whose lacing is wrong ({why}); skipped");
                self.warn(Damage::Lacing, pos, &message);
                Ok(None)
            }
        }
    }

    /// Handles an element at Segment level: enters a Cluster, skips the
    /// rest; the end of the Segment, a second Segment or junk stop or
    /// resynchronise.
    fn segment_child(
        &mut self,
        input: &mut BytesReader,
        header: Header,
        pos: u64,
        end: Option<u64>,
    ) -> Result<()> {
        match (header.id, end) {
            (id::CLUSTER, _) => {
                input.skip(header.len as u64)?;
                self.cluster = Some(InCluster {
                    end,
                    timestamp: None,
                });
            }
            (id::EBML | id::SEGMENT, _) => {
                self.warn(
                    Damage::SecondSegment,
                    pos,
                    "a second Segment follows the first; it is not read",
                );
                self.done = true;
            }
            (id, Some(end)) if in_segment(id) => {
                input.skip(end - pos)?;
            }
            _ => self.resync(input, pos, "an element that does not belong in a Segment")?,
        }
        Ok(())
    }

    /// Passes damaged bytes at `pos`: reading goes on at the next Cluster
    /// ID after them (whose header must parse), or ends.
    fn resync(&mut self, input: &mut BytesReader, pos: u64, what: &str) -> Result<()> {
        self.warn(
            Damage::Junk,
            pos,
            &format!("{what}; skipped to the next Cluster"),
        );
        self.cluster = None;
        let cluster_id = id::CLUSTER.to_be_bytes();
        input.peek(1)?;
        input.take(1);
        loop {
            let found = memchr::memmem::find_iter(input.buffered(), &cluster_id)
                .find(|&i| Header::parse(&input.buffered()[i..]) != Err(HeaderError::Invalid));
            if let Some(i) = found {
                input.take(i);
                return Ok(());
            }
            // Keep the bytes that may begin an ID cut by the buffer's end.
            let keep = input.buffered().len().min(cluster_id.len() - 1);
            let drop = input.buffered().len() - keep;
            input.take(drop);
            if input.fill_more()? == 0 {
                input.take(input.buffered().len());
                self.done = true;
                return Ok(());
            }
        }
    }
}

/// A BlockGroup's Block, its bytes, BlockDuration and whether it has a
/// ReferenceBlock.
type GroupParts = (Block, Bytes, Option<u64>, Option<bool>);

fn block_group(group: &Bytes) -> Result<GroupParts, BlockError> {
    let (mut block, mut duration, mut reference) = (None, None, false);
    for child in Children::of(group) {
        match child.id {
            id::BLOCK => {
                let start = child.body.as_ptr() as usize - group.as_ptr() as usize;
                block = Some(group.slice(start..start + child.body.len()));
            }
            id::BLOCK_DURATION => duration = uint(child.body),
            id::REFERENCE_BLOCK => reference |= int(child.body).is_some(),
            _ => {}
        }
    }
    let body = block.ok_or(BlockError::Header)?;
    Ok((Block::parse(&body)?, body, duration, Some(reference)))
}
