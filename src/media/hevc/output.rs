//! Output order of decoded pictures: the "bumping" process of the decoded
//! picture buffer (ITU-T H.265 §C.5.2.2–C.5.2.4), emulated on picture order
//! counts alone to number pictures in presentation order.

use std::collections::VecDeque;

use bytes::Bytes;

/// Pictures held back before the oldest one is output regardless, so that a
/// stream whose POCs keep decreasing cannot grow the queue without bound
/// (a conforming stream never holds more than 16 + 1).
const MAX_PENDING: usize = 64;

/// A decoded picture awaiting its place in output order.
#[derive(Debug)]
pub(super) struct Decoded {
    /// File offset of its access unit.
    pub offset: u64,
    /// The access unit bytes.
    pub data: Bytes,
    /// `PicOrderCntVal`.
    pub poc: i64,
    /// Position in decoding order from the start of the stream.
    pub decode_index: i64,
    /// An IRAP picture.
    pub keyframe: bool,
    /// An IRAP picture with NoRaslOutputFlag: every earlier picture is
    /// output before it (§C.5.2.2).
    pub flush_before: bool,
    /// NoRaslOutputFlag of the picture in a read from the start of the file.
    pub no_rasl_output: bool,
    /// For the picture a seek started at: its output index in a read from
    /// the start, which anchors the numbering of everything after it.
    pub anchor: Option<i64>,
}

/// Pictures in decoding order, numbered in output order as the bumping
/// process outputs them.
#[derive(Debug)]
pub(super) struct OutputOrder {
    /// `sps_max_num_reorder_pics`: pictures the buffer may hold.
    reorder: usize,
    /// Decoding order, each with its output number once output.
    queue: VecDeque<(Decoded, Option<i64>)>,
    /// Sequence number (in decoding order) of `queue[0]`.
    front_seq: u64,
    /// POC and sequence number of the pictures not yet output.
    waiting: Vec<(i64, u64)>,
    /// Output numbers handed out so far.
    outputs: i64,
    /// Added to output numbers to give output indexes from the start of the
    /// file; `None` after a seek until the anchor picture is output.
    base: Option<i64>,
}

impl OutputOrder {
    /// An empty buffer that holds up to `reorder` pictures.
    pub fn new(reorder: u8) -> OutputOrder {
        OutputOrder {
            reorder: usize::from(reorder),
            queue: VecDeque::new(),
            front_seq: 0,
            waiting: Vec::new(),
            outputs: 0,
            base: Some(0),
        }
    }

    /// Empties the buffer to start over (at the file start or after a seek).
    pub fn clear(&mut self) {
        *self = OutputOrder::new(self.reorder as u8);
    }

    /// Adds the next picture in decoding order (§C.5.2.3): output all
    /// waiting pictures first if it starts a new coded video sequence, then
    /// output the lowest POCs while more than `reorder` pictures wait.
    pub fn push(&mut self, picture: Decoded) {
        if picture.flush_before {
            self.flush();
        }
        if picture.anchor.is_some() {
            self.base = None;
        }
        let seq = self.front_seq + self.queue.len() as u64;
        self.waiting.push((picture.poc, seq));
        self.queue.push_back((picture, None));
        while self.waiting.len() > self.reorder {
            self.bump();
        }
        if self.queue.len() > MAX_PENDING {
            let front = self.front_seq;
            self.waiting.retain(|&(_, seq)| seq != front);
            self.output(front);
        }
    }

    /// Outputs every waiting picture (end of stream, §C.5.2.2 flush).
    pub fn flush(&mut self) {
        while !self.waiting.is_empty() {
            self.bump();
        }
    }

    /// The oldest picture in decoding order with its output index, once it
    /// has been output.
    pub fn pop(&mut self) -> Option<(Decoded, i64)> {
        let number = self.queue.front()?.1?;
        let base = self.base?;
        let (picture, _) = self.queue.pop_front()?;
        self.front_seq += 1;
        Some((picture, base + number))
    }

    /// Output index one past the last picture output, when known.
    pub fn end(&self) -> Option<i64> {
        self.base.map(|base| base + self.outputs)
    }

    /// The bumping process (§C.5.2.4): outputs the waiting picture with the
    /// smallest POC.
    fn bump(&mut self) {
        let Some(i) = (0..self.waiting.len()).min_by_key(|&i| self.waiting[i]) else {
            return;
        };
        let (_, seq) = self.waiting.swap_remove(i);
        self.output(seq);
    }

    fn output(&mut self, seq: u64) {
        let number = self.outputs;
        self.outputs += 1;
        let Some((picture, slot)) = seq
            .checked_sub(self.front_seq)
            .and_then(|i| usize::try_from(i).ok())
            .and_then(|i| self.queue.get_mut(i))
        else {
            return;
        };
        *slot = Some(number);
        if let Some(anchor) = picture.anchor {
            self.base = Some(anchor - number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(poc: i64, flush_before: bool) -> Decoded {
        Decoded {
            offset: 0,
            data: Bytes::new(),
            poc,
            decode_index: 0,
            keyframe: flush_before,
            flush_before,
            no_rasl_output: flush_before,
            anchor: None,
        }
    }

    fn run(reorder: u8, pocs: &[(i64, bool)]) -> Vec<(i64, i64)> {
        let mut order = OutputOrder::new(reorder);
        let mut out = Vec::new();
        for &(poc, flush) in pocs {
            order.push(picture(poc, flush));
            while let Some((p, index)) = order.pop() {
                out.push((p.poc, index));
            }
        }
        order.flush();
        while let Some((p, index)) = order.pop() {
            out.push((p.poc, index));
        }
        out
    }

    #[test]
    fn pictures_come_out_in_decoding_order_numbered_by_poc() {
        let pocs = [
            (0, true),
            (4, false),
            (2, false),
            (1, false),
            (3, false),
            (8, false),
        ];
        assert_eq!(
            run(2, &pocs),
            [(0, 0), (4, 4), (2, 2), (1, 1), (3, 3), (8, 5)]
        );
    }

    #[test]
    fn a_new_sequence_outputs_everything_before_it() {
        let pocs = [(0, true), (2, false), (1, false), (0, true), (1, false)];
        assert_eq!(run(1, &pocs), [(0, 0), (2, 2), (1, 1), (0, 3), (1, 4)]);
    }

    #[test]
    fn the_anchor_sets_the_numbering_after_a_seek() {
        let mut order = OutputOrder::new(2);
        // An IDR with output index 10 in a full read, after two RADL pictures.
        order.push(Decoded {
            anchor: Some(10),
            ..picture(0, true)
        });
        for poc in [-2, -1, 2, 1] {
            order.push(picture(poc, false));
        }
        order.flush();
        let indexes: Vec<(i64, i64)> = std::iter::from_fn(|| order.pop())
            .map(|(p, i)| (p.poc, i))
            .collect();
        assert_eq!(indexes, [(0, 10), (-2, 8), (-1, 9), (2, 12), (1, 11)]);
        assert_eq!(order.end(), Some(13));
    }

    #[test]
    fn decreasing_pocs_cannot_grow_the_queue_without_bound() {
        let mut order = OutputOrder::new(1);
        order.push(picture(1_000_000, true));
        for poc in (0..10_000).rev() {
            order.push(picture(poc, false));
            assert!(order.queue.len() <= MAX_PENDING + 1);
            while order.pop().is_some() {}
        }
    }
}
