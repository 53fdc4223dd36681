//! Output order of decoded pictures: the "bumping" process of the decoded
//! picture buffer (ITU-T H.264 §C.4.5.3, ITU-T H.265 §C.5.2.2–C.5.2.4),
//! emulated on picture order counts alone to number the pictures of an
//! elementary stream in presentation order.
//!
//! The buffer model is the one players and muxers use: at most
//! `num_reorder_frames` (H.264 §E.2.1) or `sps_max_num_reorder_pics`
//! (H.265 §7.4.3.2.1) pictures wait for output, and the one with the
//! smallest POC leaves first. Readers push each access unit in decoding
//! order with its POC and take it back, in decoding order, once its output
//! index (its PTS) is known.

use std::collections::VecDeque;

/// Largest reorder depth: a decoded picture buffer holds at most 16 frames
/// (H.264 §A.3.1 item h, H.265 §A.4.2).
const MAX_REORDER_DEPTH: u32 = 16;

/// How many pictures may be decoded after a picture, beyond the reorder
/// depth, before it is output regardless of its POC: bounds the units a
/// reader holds back when POCs go backwards without a flush.
const MAX_OUTPUT_DELAY: u64 = 128;

/// How output numbers (counted from the last restart) become output
/// indexes (counted from the start of the stream).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Numbering {
    /// Output index = `base` + output number.
    Known { base: i64 },
    /// After a restart at a key frame whose output index in a read from the
    /// start is `output_index`: the first picture pushed is that key frame
    /// (`seq`, once pushed), and its output number fixes the base. Pictures
    /// that precede a key frame in decoding order precede it, and the
    /// pictures that lead it, in output order (H.265 IRAP pictures,
    /// §7.4.2.2; H.264 IDR pictures flush, and an I picture with a recovery
    /// point has POCs above those of earlier pictures in streams as encoders
    /// write them), so every picture read after the restart is numbered
    /// exactly as in a read from the start.
    ///
    /// The base is never set below the key frame's decode index: in a
    /// stream that keeps the rules above it equals it, and a corrupt one
    /// (a picture before the key frame in decoding order output after it)
    /// must still get no output index below its decode index less the
    /// reorder depth, i.e. no DTS after its PTS.
    Anchored { anchor: Anchor, seq: Option<u64> },
}

/// Where a restart at a key frame stands in a read from the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Anchor {
    /// The key frame's output index.
    pub output_index: i64,
    /// Its decode index.
    pub decode_index: i64,
}

/// Pictures in decoding order, numbered in output order by the bumping
/// process, each holding its reader's unit (`T`) until then.
#[derive(Debug)]
pub(super) struct OutputOrder<T> {
    /// Pictures that may wait for output.
    depth: usize,
    /// Decoding order from the oldest picture not yet popped, each with its
    /// output number once output.
    queue: VecDeque<(T, Option<i64>)>,
    /// Sequence number (position in decoding order since the last restart)
    /// of `queue[0]`.
    front_seq: u64,
    /// POC and sequence number of the pictures not yet output.
    waiting: Vec<(i64, u64)>,
    /// Output numbers handed out since the last restart.
    outputs: i64,
    numbering: Numbering,
    /// The largest output index popped since the last restart.
    max_popped: Option<i64>,
    /// Every unit popped before the last one has a lower output index.
    clean_cut: bool,
}

impl<T> OutputOrder<T> {
    /// An empty buffer in which `reorder_depth` pictures (at most 16) wait.
    pub fn new(reorder_depth: u32) -> OutputOrder<T> {
        OutputOrder {
            depth: reorder_depth.min(MAX_REORDER_DEPTH) as usize,
            queue: VecDeque::new(),
            front_seq: 0,
            waiting: Vec::new(),
            outputs: 0,
            numbering: Numbering::Known { base: 0 },
            max_popped: None,
            clean_cut: true,
        }
    }

    /// The units waiting, in decoding order.
    pub fn units_mut(&mut self) -> impl Iterator<Item = &mut T> {
        self.queue.iter_mut().map(|(unit, _)| unit)
    }

    /// Empties the buffer to start over: at the start of the stream
    /// (`anchor` `None`), or at the key frame `anchor` of a read from the
    /// start, which must be the next picture pushed; every picture after it
    /// in decoding order must be pushed too (a reader that skips one pushes
    /// it all the same and drops it when it comes back).
    pub fn restart(&mut self, anchor: Option<Anchor>) {
        self.queue.clear();
        self.front_seq = 0;
        self.waiting.clear();
        self.outputs = 0;
        self.max_popped = None;
        self.clean_cut = true;
        self.numbering = match anchor {
            None => Numbering::Known { base: 0 },
            Some(anchor) => Numbering::Anchored { anchor, seq: None },
        };
    }

    /// Adds the next picture in decoding order with its POC
    /// (`PicOrderCnt`, `PicOrderCntVal`) and its unit, then outputs the
    /// smallest POCs while more than the reorder depth wait (§C.4.5.3,
    /// §C.5.2.3), and while a picture has waited longer than the depth plus
    /// [`MAX_OUTPUT_DELAY`] pictures.
    pub fn push(&mut self, poc: i64, unit: T) {
        let seq = self.front_seq + self.queue.len() as u64;
        if let Numbering::Anchored {
            seq: anchor @ None, ..
        } = &mut self.numbering
        {
            *anchor = Some(seq);
        }
        self.waiting.push((poc, seq));
        self.queue.push_back((unit, None));
        while self.waiting.len() > self.depth {
            self.bump();
        }
        let patience = self.depth as u64 + MAX_OUTPUT_DELAY;
        while let Some(oldest) = self.waiting.iter().map(|&(_, seq)| seq).min() {
            if oldest + patience > seq {
                break;
            }
            self.bump();
        }
    }

    /// Outputs every waiting picture: before a picture that starts over
    /// (H.264 IDR or memory_management_control_operation 5, §C.4.4; H.265
    /// IRAP with NoRaslOutputFlag, §C.5.2.2) and at the end of the stream.
    pub fn flush(&mut self) {
        while !self.waiting.is_empty() {
            self.bump();
        }
    }

    /// The oldest unit in decoding order with its output index, once it has
    /// been output.
    pub fn pop(&mut self) -> Option<(T, i64)> {
        let number = self.queue.front()?.1?;
        let Numbering::Known { base } = self.numbering else {
            return None;
        };
        let (unit, _) = self.queue.pop_front()?;
        self.front_seq += 1;
        let index = base + number;
        self.clean_cut = self.max_popped.is_none_or(|max| max < index);
        self.max_popped = Some(self.max_popped.map_or(index, |max| max.max(index)));
        Some((unit, index))
    }

    /// Whether every unit popped before the last one (since the start or a
    /// restart at a key frame that was a clean cut) has a lower output index:
    /// then a restart at the last one, as an [`Anchor`], numbers what follows
    /// exactly as this reading does. Streams that keep the output order
    /// rules of key frames always cut clean there; a corrupt one may not.
    pub fn is_clean_cut(&self) -> bool {
        self.clean_cut
    }

    /// The oldest unit in decoding order not yet popped.
    pub fn front(&self) -> Option<&T> {
        self.queue.front().map(|(unit, _)| unit)
    }

    /// Output index one past the last picture output, when known.
    pub fn end(&self) -> Option<i64> {
        match self.numbering {
            Numbering::Known { base } => Some(base + self.outputs),
            Numbering::Anchored { .. } => None,
        }
    }

    /// The bumping process (§C.4.5.3, §C.5.2.4): outputs the waiting picture
    /// with the smallest POC, the earlier in decoding order on a tie.
    fn bump(&mut self) {
        let Some(i) = (0..self.waiting.len()).min_by_key(|&i| self.waiting[i]) else {
            return;
        };
        let (_, seq) = self.waiting.swap_remove(i);
        let number = self.outputs;
        self.outputs += 1;
        if let Numbering::Anchored {
            anchor,
            seq: Some(anchor_seq),
        } = self.numbering
        {
            if anchor_seq == seq {
                self.numbering = Numbering::Known {
                    base: (anchor.output_index - number).max(anchor.decode_index),
                };
            }
        }
        if let Some((_, slot)) = seq
            .checked_sub(self.front_seq)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.queue.get_mut(i))
        {
            *slot = Some(number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pushes `(poc, flush_before)` pictures with their decode index as the
    /// unit, popping as it goes; returns each picture's output index, by
    /// decode index.
    fn output_indexes(order: &mut OutputOrder<usize>, pocs: &[(i64, bool)]) -> Vec<i64> {
        let mut out = vec![-1; pocs.len()];
        let mut take = |order: &mut OutputOrder<usize>| {
            while let Some((decode_index, output_index)) = order.pop() {
                out[decode_index] = output_index;
            }
        };
        for (decode_index, &(poc, flush)) in pocs.iter().enumerate() {
            if flush {
                order.flush();
            }
            order.push(poc, decode_index);
            take(order);
        }
        order.flush();
        take(order);
        out
    }

    #[test]
    fn reorders_within_the_depth_and_flushes() {
        // I0 P8 B4 b2 b6 | IDR: output order I0 b2 B4 b6 P8 | I0 ...
        let pocs = [
            (0, true),
            (8, false),
            (4, false),
            (2, false),
            (6, false),
            (0, true),
            (4, false),
            (2, false),
        ];
        let mut order = OutputOrder::new(2);
        assert_eq!(output_indexes(&mut order, &pocs), [0, 4, 2, 1, 3, 5, 7, 6]);
        assert_eq!(order.end(), Some(8));
        assert!(order.front().is_none());
        // With depth 0 the output order is the decoding order.
        let mut order = OutputOrder::new(0);
        assert_eq!(output_indexes(&mut order, &pocs), [0, 1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn units_come_back_in_decoding_order_once_output() {
        let mut order = OutputOrder::new(2);
        order.push(0, 'I');
        assert_eq!(order.pop(), None, "the I picture may still be preceded");
        order.push(4, 'P');
        order.push(2, 'B');
        assert_eq!(order.pop(), Some(('I', 0)));
        assert_eq!(order.pop(), None);
        assert_eq!(order.front(), Some(&'P'));
        order.push(1, 'b');
        order.push(3, 'b');
        assert_eq!(order.pop(), None, "P waits for b3");
        order.push(8, 'P');
        assert_eq!(order.pop(), None, "P4 and P8 wait");
        order.flush();
        assert_eq!(order.pop(), Some(('P', 4)));
        assert_eq!(order.pop(), Some(('B', 2)));
        assert_eq!(order.pop(), Some(('b', 1)));
        assert_eq!(order.pop(), Some(('b', 3)));
        assert_eq!(order.pop(), Some(('P', 5)));
        assert_eq!(order.pop(), None);
        assert_eq!(order.end(), Some(6));
    }

    #[test]
    fn output_index_never_trails_decode_index_by_more_than_depth() {
        let pocs: Vec<(i64, bool)> = (0..200)
            .map(|i: i64| ((i * 7919) % 13 - 6, i % 37 == 0))
            .collect();
        for depth in 0..5u32 {
            let mut order = OutputOrder::new(depth);
            let out = output_indexes(&mut order, &pocs);
            for (d, &o) in out.iter().enumerate() {
                assert!(
                    o + i64::from(depth) >= d as i64,
                    "depth {depth} picture {d}"
                );
            }
            let mut sorted = out.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..200).collect::<Vec<i64>>());
        }
    }

    #[test]
    fn a_picture_waits_for_output_a_bounded_time() {
        // A POC far ahead, then pictures that all come before it.
        let mut pocs = vec![(0, true), (1_000_000, false)];
        pocs.extend((1..400).map(|poc| (poc, false)));
        let mut order = OutputOrder::new(2);
        let out = output_indexes(&mut order, &pocs);
        let delay = 2 + MAX_OUTPUT_DELAY as i64;
        // Picture 1 is output when picture 1 + delay arrives, right after the
        // pictures 0 and 2 ..= 1 + delay.
        assert_eq!(out[1], delay + 1);
        for (d, &o) in out.iter().enumerate() {
            assert!(o + delay >= d as i64, "picture {d} output {o}");
        }
    }

    #[test]
    fn decreasing_pocs_cannot_grow_the_queue_without_bound() {
        let mut order = OutputOrder::new(1);
        order.push(1_000_000, ());
        for poc in (0..10_000).rev() {
            order.push(poc, ());
            assert!(order.queue.len() as u64 <= 1 + MAX_OUTPUT_DELAY + 1);
            while order.pop().is_some() {}
        }
    }

    #[test]
    fn a_new_sequence_outputs_everything_before_it() {
        let pocs = [(0, true), (2, false), (1, false), (0, true), (1, false)];
        let mut order = OutputOrder::new(1);
        assert_eq!(output_indexes(&mut order, &pocs), [0, 2, 1, 3, 4]);
    }

    #[test]
    fn the_anchor_sets_the_numbering_after_a_restart() {
        let mut order = OutputOrder::new(2);
        order.push(0, 0);
        // An IDR with output index 10 in a full read, then two RADL pictures.
        let anchor = Anchor {
            output_index: 10,
            decode_index: 8,
        };
        order.restart(Some(anchor));
        for (i, poc) in [0, -2, -1, 2].into_iter().enumerate() {
            order.push(poc, i);
        }
        assert_eq!((order.pop(), order.end()), (None, None), "IDR not output");
        order.push(1, 4);
        assert_eq!(order.end(), Some(11));
        order.flush();
        let indexes: Vec<(usize, i64)> = std::iter::from_fn(|| order.pop()).collect();
        assert_eq!(indexes, [(0, 10), (1, 8), (2, 9), (3, 12), (4, 11)]);
        assert_eq!(order.end(), Some(13));
        // An anchor whose earlier pictures were output after it (corrupt
        // POCs): numbering starts no lower than the decode index.
        order.restart(Some(Anchor {
            output_index: 5,
            ..anchor
        }));
        for (i, poc) in [0, -2, -1].into_iter().enumerate() {
            order.push(poc, i);
        }
        order.flush();
        let indexes: Vec<(usize, i64)> = std::iter::from_fn(|| order.pop()).collect();
        assert_eq!(indexes, [(0, 10), (1, 8), (2, 9)]);
        order.restart(None);
        order.push(7, 0);
        order.flush();
        assert_eq!(order.pop(), Some((0, 0)));
    }
}
