//! Incremental, zero-copy reading of a file: a window of buffered bytes that
//! readers peek into and split off as [`Bytes`] without copying.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use bytes::{Bytes, BytesMut};

/// How much one refill asks the operating system for.
const CHUNK: usize = 1 << 20;

/// What a [`BytesReader`] reads from: a file, or bytes in memory (tests, fuzzing).
trait Input: Read + Seek + Send {}
impl<T: Read + Seek + Send> Input for T {}

/// A buffered reader over a seekable input that hands out the bytes it has
/// read as reference-counted [`Bytes`] slices.
///
/// Memory stays bounded by the largest structure a reader asks to see at once
/// plus one chunk, whatever the size of the file.
pub struct BytesReader {
    input: Box<dyn Input>,
    /// Buffered bytes, starting at file offset `offset`.
    buf: BytesMut,
    offset: u64,
    size: u64,
    eof: bool,
    /// Bytes asked for per refill.
    chunk: usize,
}

impl BytesReader {
    /// Opens a file for reading.
    pub fn open(path: &Path) -> io::Result<BytesReader> {
        let file = File::open(path)?;
        let size = file.metadata()?.len();
        Ok(BytesReader::with_input(Box::new(file), size))
    }

    /// Reads from bytes in memory.
    pub fn from_bytes(data: impl Into<Vec<u8>>) -> BytesReader {
        let data = data.into();
        let size = data.len() as u64;
        BytesReader::with_input(Box::new(Cursor::new(data)), size)
    }

    fn with_input(input: Box<dyn Input>, size: u64) -> BytesReader {
        BytesReader {
            input,
            buf: BytesMut::new(),
            offset: 0,
            size,
            eof: false,
            chunk: CHUNK,
        }
    }

    /// Refills `chunk` bytes at a time instead of 1 MiB (at least 4 KiB):
    /// what a server holding many files open at once wants, since a chunk
    /// stays in memory while any unit sliced from it is alive.
    pub fn with_chunk(mut self, chunk: usize) -> BytesReader {
        self.chunk = chunk.max(4096);
        self
    }

    /// Size of the input in bytes when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// File offset of the first buffered byte, i.e. of the next byte to consume.
    pub fn position(&self) -> u64 {
        self.offset
    }

    /// The buffered bytes, starting at [`position`](Self::position).
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Whether the input has been read to its end (what is buffered is all
    /// that is left).
    pub fn at_eof(&self) -> bool {
        self.eof
    }

    /// Reads one more chunk into the buffer; returns how many bytes were
    /// added (0 at the end of the input).
    pub fn fill_more(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let len = self.buf.len();
        let chunk = self.chunk;
        self.buf.reserve(chunk);
        self.buf.resize(len + chunk, 0);
        let mut filled = 0;
        let result = loop {
            match self.input.read(&mut self.buf[len + filled..]) {
                Ok(0) => {
                    self.eof = true;
                    break Ok(());
                }
                Ok(n) => {
                    filled += n;
                    if filled == chunk {
                        break Ok(());
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.buf.truncate(len + filled);
        result.map(|()| filled)
    }

    /// Buffers at least `n` bytes if the input has them; returns the buffered
    /// bytes, which are shorter than `n` only at the end of the input.
    pub fn peek(&mut self, n: usize) -> io::Result<&[u8]> {
        while self.buf.len() < n && self.fill_more()? > 0 {}
        Ok(&self.buf)
    }

    /// Removes the first `n` buffered bytes and returns them without copying.
    ///
    /// # Panics
    /// If fewer than `n` bytes are buffered; call [`peek`](Self::peek) first.
    pub fn take(&mut self, n: usize) -> Bytes {
        self.offset += n as u64;
        self.buf.split_to(n).freeze()
    }

    /// Discards `n` bytes, reading past the buffer if needed; returns how many
    /// were skipped (fewer only at the end of the input).
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        let buffered = self.buf.len() as u64;
        if n <= buffered {
            self.take(n as usize);
            return Ok(n);
        }
        let start = self.offset;
        let target = start.saturating_add(n).min(self.size.max(start + buffered));
        self.seek(target)?;
        Ok(target - start)
    }

    /// Moves to file offset `offset`, dropping the buffer.
    pub fn seek(&mut self, offset: u64) -> io::Result<()> {
        self.input.seek(SeekFrom::Start(offset))?;
        self.buf = BytesMut::new();
        self.offset = offset;
        self.eof = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_chunks_read_the_same_bytes() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = BytesReader::from_bytes(data.clone()).with_chunk(1);
        // At least 4 KiB a refill, however small the request.
        assert_eq!(reader.fill_more().unwrap(), 4096);
        let mut out = Vec::new();
        while out.len() < data.len() {
            let n = reader.peek(5000).unwrap().len().min(5000);
            out.extend_from_slice(&reader.take(n));
        }
        assert_eq!(out, data);
        assert!(reader.peek(1).unwrap().is_empty());
    }
}
