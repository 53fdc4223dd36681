//! A table of fixed-size entries where it lies in the file (a sample table
//! box's body), read one small block at a time: however many entries a
//! table holds, a reader keeps [`BLOCK`] bytes of it.

use crate::media::{BytesReader, Result};

/// Bytes of a table kept in memory at once.
const BLOCK: usize = 2048;

/// Where a table's entries lie: the first one's file offset, how many the
/// box holds (its stated count, cut to the box), and each one's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Table {
    /// File offset of the first entry.
    pub offset: u64,
    /// Entries the box holds.
    pub count: u32,
    /// Bytes per entry (1 to 12); 0 for a table of 4-bit entries (`stz2`).
    pub entry_size: u8,
}

impl Table {
    /// A table of `stated` entries of `entry_size` bytes from `offset` in a
    /// box ending at `end`, cut to what the box holds; also whether it was
    /// cut.
    pub fn new(offset: u64, stated: u32, entry_size: u8, end: u64) -> (Table, bool) {
        let room = end.saturating_sub(offset);
        let fits = match entry_size {
            0 => room.saturating_mul(2),
            n => room / u64::from(n),
        };
        let count = u64::from(stated).min(fits) as u32;
        (
            Table {
                offset,
                count,
                entry_size,
            },
            count < stated,
        )
    }

    /// Bytes of the entries `first..first + n`.
    fn span(&self, first: u32, n: u32) -> (u64, usize) {
        match self.entry_size {
            0 => (
                self.offset + u64::from(first / 2),
                (first % 2 + n).div_ceil(2) as usize,
            ),
            size => (
                self.offset + u64::from(first) * u64::from(size),
                n as usize * usize::from(size),
            ),
        }
    }
}

/// Random access to a [`Table`]'s entries through a block cache: reading
/// them in order costs one file read per block.
#[derive(Clone, Debug, Default)]
pub(super) struct Entries {
    pub table: Table,
    block: Vec<u8>,
    /// Index of the first entry in `block`.
    first: u32,
    /// Entries in `block`.
    held: u32,
}

impl Entries {
    pub fn new(table: Table) -> Entries {
        Entries {
            table,
            block: Vec::new(),
            first: 0,
            held: 0,
        }
    }

    /// Entries in the table.
    pub fn len(&self) -> u32 {
        self.table.count
    }

    /// Entry `index`'s bytes, for a table of byte-sized entries; `None`
    /// past the end of the table, or of the file.
    pub fn get(&mut self, input: &mut BytesReader, index: u32) -> Result<Option<&[u8]>> {
        if !self.ensure(input, index)? || self.table.entry_size == 0 {
            return Ok(None);
        }
        let size = usize::from(self.table.entry_size);
        let at = (index - self.first) as usize;
        Ok(Some(&self.block[at * size..(at + 1) * size]))
    }

    /// Entry `index` as a big-endian number of its size (4-bit entries
    /// high nibble first).
    pub fn number(&mut self, input: &mut BytesReader, index: u32) -> Result<Option<u64>> {
        if !self.ensure(input, index)? {
            return Ok(None);
        }
        if self.table.entry_size == 0 {
            let byte = self.block[((index - self.first) / 2) as usize];
            let nibble = if index.is_multiple_of(2) {
                byte >> 4
            } else {
                byte & 0x0f
            };
            return Ok(Some(u64::from(nibble)));
        }
        Ok(self
            .get(input, index)?
            .map(|b| b.iter().fold(0u64, |n, &b| n << 8 | u64::from(b))))
    }

    /// Whether entry `index` is held, loading its block if needed.
    fn ensure(&mut self, input: &mut BytesReader, index: u32) -> Result<bool> {
        if index >= self.table.count {
            return Ok(false);
        }
        if !(self.first..self.first + self.held).contains(&index) {
            self.load(input, index)?;
        }
        Ok(index < self.first + self.held)
    }

    /// Reads the block starting at entry `index`.
    fn load(&mut self, input: &mut BytesReader, index: u32) -> Result<()> {
        let per_block = match self.table.entry_size {
            0 => (BLOCK * 2) as u32,
            n => (BLOCK / usize::from(n)) as u32,
        };
        // Start on an even entry so 4-bit entries pair up within bytes.
        let first = index - index % 2;
        let n = per_block.min(self.table.count - first);
        let (offset, len) = self.table.span(first, n);
        self.block.clear();
        self.block.resize(len, 0);
        let got = input.read_at(offset, &mut self.block)?;
        self.block.truncate(got);
        self.first = first;
        self.held = match self.table.entry_size {
            0 => (got as u32 * 2).min(n),
            size => (got / usize::from(size)) as u32,
        };
        Ok(())
    }
}
