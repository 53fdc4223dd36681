//! Incremental, zero-copy reading of a file: a window of buffered bytes that
//! readers peek into and split off as [`Bytes`] without copying.
//!
//! A reader can be parked ([`BytesReader::park`]): it closes its file and
//! lets go of its buffers, keeping its position, and opens the file again
//! at the next read (a paused RTSP session holds no descriptor and no read
//! buffer).

use std::collections::VecDeque;
use std::fs::{FileType, OpenOptions};
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{MediaError, Result};

/// How much one refill asks the operating system for.
const CHUNK: usize = 1 << 20;

/// Replaced buffers kept for reuse while slices of them are alive (a
/// consumer may hold a few chunks' worth of slices, e.g. packets queued
/// for writing).
const SPARES: usize = 8;

/// What a [`BytesReader`] reads from: a file, or bytes in memory (tests, fuzzing).
trait Input: Read + Seek + Send {}
impl<T: Read + Seek + Send> Input for T {}

/// A buffered reader over a seekable input that hands out the bytes it has
/// read as reference-counted [`Bytes`] slices.
///
/// Memory stays bounded by the largest structure a reader asks to see at once
/// plus one chunk, whatever the size of the file.
pub struct BytesReader {
    /// The input; `None` while parked.
    input: Option<Box<dyn Input>>,
    /// The file the input is, to open again after [`park`](Self::park);
    /// `None` for bytes in memory.
    origin: Option<Origin>,
    /// While parked: the offset the input is opened again at.
    parked_at: u64,
    /// Buffered bytes, starting at file offset `offset`: a slice of the
    /// latest read buffer, which the slices already taken share.
    buf: Bytes,
    /// The latest buffers replaced while slices taken from them were still
    /// alive, oldest first: a read that needs a new buffer reuses one whose
    /// slices are all dropped (fresh memory costs page faults).
    spares: VecDeque<Bytes>,
    offset: u64,
    /// Stretches of the file left out of the buffer by
    /// [`drop_tail`](Self::drop_tail): (buffer position where they were,
    /// length), ascending.
    gaps: VecDeque<(usize, u64)>,
    size: u64,
    eof: bool,
    /// Bytes asked for per refill.
    chunk: usize,
    /// How many replaced buffers `spares` keeps.
    max_spares: usize,
    /// Set by [`with_chunk`](Self::with_chunk): buffers sized to what they
    /// hold, not doubled.
    paced: bool,
}

impl BytesReader {
    /// Opens a regular file for reading, once: detection and the reader
    /// that follows share this one open file.
    ///
    /// Anything else is refused with [`MediaError::NotRegularFile`]: readers
    /// seek (to look past an ID3v2 tag, to rewind after describing a
    /// stream, to serve a range), and a pipe's size is unknown. The file is
    /// opened with `O_NONBLOCK` (POSIX.1-2017 open(), which for a FIFO
    /// returns at once instead of waiting for a writer) and checked with
    /// fstat before any read; on a regular file the flag changes nothing.
    pub fn open(path: &Path) -> Result<BytesReader> {
        let (file, metadata) = open_regular(path)?;
        let mut reader = BytesReader::with_input(Box::new(file), metadata.len());
        reader.origin = Some(Origin {
            path: path.to_owned(),
            identity: Identity::of(&metadata),
        });
        Ok(reader)
    }

    /// Reads from bytes in memory.
    pub fn from_bytes(data: impl Into<Vec<u8>>) -> BytesReader {
        let data = data.into();
        let size = data.len() as u64;
        BytesReader::with_input(Box::new(Cursor::new(data)), size)
    }

    fn with_input(input: Box<dyn Input>, size: u64) -> BytesReader {
        BytesReader {
            input: Some(input),
            origin: None,
            parked_at: 0,
            buf: Bytes::new(),
            spares: VecDeque::new(),
            offset: 0,
            gaps: VecDeque::new(),
            size,
            eof: false,
            chunk: CHUNK,
            max_spares: SPARES,
            paced: false,
        }
    }

    /// Refills `chunk` bytes at a time instead of 1 MiB (at least 4 KiB),
    /// keeping no spare buffer instead of eight, and sizing buffers to
    /// what they hold rather than doubling them: what a server holding many
    /// files open at once wants, since a chunk stays in memory while any
    /// unit sliced from it is alive, and a paced reader gains little from
    /// reusing memory.
    pub fn with_chunk(mut self, chunk: usize) -> BytesReader {
        self.chunk = chunk.max(4096);
        self.max_spares = 0;
        self.paced = true;
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

    /// File offset of the byte at buffer position `index` (past the
    /// stretches [`drop_tail`](Self::drop_tail) left out before it).
    pub fn offset_of(&self, index: usize) -> u64 {
        let dropped: u64 = self
            .gaps
            .iter()
            .take_while(|&&(at, _)| at <= index)
            .map(|&(_, len)| len)
            .sum();
        self.offset + index as u64 + dropped
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
    ///
    /// `read_to_end` reads into the spare capacity of the buffer from
    /// `buffer_for_more`: nothing is zero-filled
    /// first.
    pub fn fill_more(&mut self) -> io::Result<usize> {
        if self.eof {
            return Ok(0);
        }
        let chunk = self.chunk as u64;
        self.input()?;
        let mut next = self.buffer_for_more();
        let len = next.len();
        let Some(input) = self.input.as_mut() else {
            return Err(io::Error::other("input closed"));
        };
        // Bytes read before an error are kept (read_to_end appends them).
        let result = input.take(chunk).read_to_end(&mut next);
        let filled = next.len() - len;
        self.buf = Bytes::from(next);
        result?;
        if filled < self.chunk {
            self.eof = true;
        }
        Ok(filled)
    }

    /// A buffer holding the bytes still buffered, with room for one more
    /// chunk: the current buffer when no slice taken from it is alive (the
    /// bytes move to its front), grown in place if it lacks the room;
    /// otherwise a copy in an [`empty_buffer`](Self::empty_buffer), the
    /// current one joining the spares.
    ///
    /// Growing in place (`Vec::reserve`: a `realloc`, which the system
    /// allocator does for large blocks by remapping pages, without a copy)
    /// keeps a structure that spans many chunks, such as a huge or hostile
    /// access unit, at about its own size in memory, not twice it.
    fn buffer_for_more(&mut self) -> Vec<u8> {
        let buffered = std::mem::take(&mut self.buf);
        let needed = buffered.len() + self.chunk;
        match buffered.try_into_mut() {
            Ok(unique) => {
                let mut current = Vec::from(unique);
                if !self.paced {
                    current.reserve(needed - current.len());
                } else {
                    // A reader of small chunks grows by what it needs, not
                    // by doubling: its buffer stays the size of what it
                    // holds (a unit and a chunk), session after session.
                    current.reserve_exact(needed - current.len());
                }
                current
            }
            Err(shared) => {
                let mut next = self.empty_buffer(needed);
                next.extend_from_slice(&shared);
                if self.max_spares > 0 {
                    if self.spares.len() >= self.max_spares {
                        self.spares.pop_front();
                    }
                    self.spares.push_back(shared);
                }
                next
            }
        }
    }

    /// An empty buffer of at least `needed` bytes: a spare one if no slice
    /// of it is alive any more, else a new one of twice `needed` less a
    /// chunk, so that a structure spanning many chunks is copied O(1) times
    /// per byte, and (but for a reader of small chunks, whose consumers
    /// keep slices of most buffers alive: every byte of room would stay
    /// idle with them) at least two chunks.
    fn empty_buffer(&mut self, needed: usize) -> Vec<u8> {
        while let Some(i) = self.spares.iter().position(Bytes::is_unique) {
            let Some(Ok(mut free)) = self.spares.remove(i).map(Bytes::try_into_mut) else {
                continue;
            };
            free.clear();
            let free = Vec::from(free);
            if free.capacity() >= needed {
                return free;
            }
        }
        let chunk = self.chunk;
        let capacity = (2 * (needed - chunk)).max(needed);
        if !self.paced {
            Vec::with_capacity(capacity.max(2 * chunk))
        } else {
            Vec::with_capacity(capacity)
        }
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
        let taken = self.buf.split_to(n);
        self.offset += n as u64;
        // Stretches dropped at or before the new front were passed too.
        while let Some(&(at, len)) = self.gaps.front() {
            if at > n {
                break;
            }
            self.offset += len;
            self.gaps.pop_front();
        }
        for (at, _) in &mut self.gaps {
            *at -= n;
        }
        taken
    }

    /// Drops the buffered bytes from buffer position `from` on, which the
    /// caller has no use for (a run of zero bytes that pads a stream), and
    /// counts them as read: [`position`](Self::position) stays the file
    /// offset of the first buffered byte once [`take`](Self::take) passes
    /// the place they were. The bytes buffered before `from` and the
    /// bytes read next join without them.
    pub fn drop_tail(&mut self, from: usize) {
        let dropped = self.buf.len().saturating_sub(from) as u64;
        if dropped == 0 {
            return;
        }
        self.buf.truncate(from);
        match self.gaps.back_mut() {
            Some((at, len)) if *at == from => *len += dropped,
            _ => self.gaps.push_back((from, dropped)),
        }
    }

    /// Discards `n` bytes, reading past the buffer if needed; returns how many
    /// were skipped (fewer only at the end of the input).
    pub fn skip(&mut self, n: u64) -> io::Result<u64> {
        let buffered = self.buf.len() as u64;
        if n <= buffered {
            self.take(n as usize);
            return Ok(n);
        }
        // The file offset after the buffer, past any dropped stretch.
        let after_buffer =
            self.offset + buffered + self.gaps.iter().map(|&(_, len)| len).sum::<u64>();
        let target = (after_buffer + (n - buffered)).min(self.size.max(after_buffer));
        let start = self.offset;
        self.seek(target)?;
        Ok(target - start)
    }

    /// Reads up to `buf.len()` bytes at file offset `offset` into `buf`,
    /// leaving the window (its bytes and [`position`](Self::position))
    /// as it was: what a reader needs to consult an index or table stored
    /// elsewhere in the file (an MP4 sample table) between units. Returns
    /// how many bytes were read, fewer only at the end of the input.
    /// Served from the buffer when it holds the whole range.
    pub fn read_at(&mut self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        if self.gaps.is_empty() {
            if let Some(start) = offset.checked_sub(self.offset) {
                let start = usize::try_from(start).unwrap_or(usize::MAX);
                if let Some(held) = self.buf.get(start..start.saturating_add(buf.len())) {
                    buf.copy_from_slice(held);
                    return Ok(buf.len());
                }
            }
        }
        let input = self.input()?;
        let resume = input.stream_position()?;
        input.seek(SeekFrom::Start(offset))?;
        let mut filled = 0;
        let result = loop {
            match input.read(&mut buf[filled..]) {
                Ok(0) => break Ok(filled),
                Ok(n) => {
                    filled += n;
                    if filled == buf.len() {
                        break Ok(filled);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        input.seek(SeekFrom::Start(resume))?;
        result
    }

    /// Moves to file offset `offset`, dropping the buffer. A parked reader
    /// stays parked, to open its file at `offset` when it next reads.
    pub fn seek(&mut self, offset: u64) -> io::Result<()> {
        match self.input.as_mut() {
            Some(input) => {
                input.seek(SeekFrom::Start(offset))?;
            }
            None => self.parked_at = offset,
        }
        self.buf = Bytes::new();
        self.spares.clear();
        self.gaps.clear();
        self.offset = offset;
        self.eof = false;
        Ok(())
    }
}

impl BytesReader {
    /// Closes the file and lets go of the read buffers (slices taken from
    /// them live on by themselves), keeping the position and what is
    /// buffered and not taken (copied to fit): the next read opens the
    /// file again where the buffer ends. Input in memory is not parked.
    ///
    /// The file opened again must be the one opened first (same device and
    /// inode): a file replaced meanwhile is a read error, not other bytes.
    pub fn park(&mut self) {
        if self.origin.is_none() || self.input.is_none() {
            return;
        }
        let gaps: u64 = self.gaps.iter().map(|&(_, len)| len).sum();
        self.parked_at = self.offset + self.buf.len() as u64 + gaps;
        self.buf = Bytes::copy_from_slice(&self.buf);
        self.spares = VecDeque::new();
        self.input = None;
    }

    /// Whether the reader is parked (its file closed).
    pub fn is_parked(&self) -> bool {
        self.input.is_none()
    }

    /// The input, opened again at the parked position if the reader was
    /// parked.
    fn input(&mut self) -> io::Result<&mut Box<dyn Input>> {
        if self.input.is_none() {
            let origin = self
                .origin
                .as_ref()
                .ok_or_else(|| io::Error::other("input closed"))?;
            let (mut file, metadata) = open_regular(&origin.path).map_err(|e| match e {
                MediaError::Io(io) => io,
                other => io::Error::other(other.to_string()),
            })?;
            if Identity::of(&metadata) != origin.identity {
                return Err(io::Error::other(format!(
                    "{} was replaced while paused",
                    origin.path.display()
                )));
            }
            file.seek(SeekFrom::Start(self.parked_at))?;
            self.input = Some(Box::new(file));
        }
        self.input
            .as_mut()
            .ok_or_else(|| io::Error::other("input closed"))
    }
}

/// Replaces each of `slices` by a slice of one new buffer holding them
/// all, one after another: one allocation of their total size, sharing no
/// read buffer. What a parked reader's consumers do with the slices they
/// keep, so that those keep no read buffer alive.
pub fn compact(mut slices: Vec<&mut Bytes>) {
    let total: usize = slices.iter().map(|b| b.len()).sum();
    let mut joined = bytes::BytesMut::with_capacity(total);
    for slice in &slices {
        joined.extend_from_slice(slice);
    }
    let mut joined = joined.freeze();
    for slice in &mut slices {
        let len = slice.len();
        **slice = joined.split_to(len);
    }
}

/// The file a reader reads, to open it again after parking.
struct Origin {
    path: PathBuf,
    identity: Identity,
}

/// What tells a file from another one put in its place: its device and
/// inode on Unix; elsewhere nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Identity(#[cfg(unix)] (u64, u64));

impl Identity {
    fn of(metadata: &std::fs::Metadata) -> Identity {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt as _;
            Identity((metadata.dev(), metadata.ino()))
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Identity()
        }
    }
}

/// Opens a regular file for reading. The file is opened with `O_NONBLOCK`
/// (POSIX.1-2017 open(), which for a FIFO returns at once instead of
/// waiting for a writer) and checked with fstat before any read; on a
/// regular file the flag changes nothing.
fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata)> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK);
    let file = options.open(path)?;
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(MediaError::NotRegularFile(file_kind(metadata.file_type())));
    }
    Ok((file, metadata))
}

/// What a file that is not a regular file is, for messages.
fn file_kind(file_type: FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a pipe or FIFO";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return "a device";
        }
    }
    if file_type.is_dir() {
        "a directory"
    } else {
        "a special file"
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

    /// Bytes dropped from the tail of the buffer are counted as read: the
    /// position after taking past them is their end, and a skip beyond
    /// the buffer lands where it would have without them.
    #[test]
    fn dropped_tails_keep_offsets_right() {
        let mut data = b"head".to_vec();
        data.resize(4100, 0);
        data.extend_from_slice(b"tail");
        let mut reader = BytesReader::from_bytes(data.clone()).with_chunk(4096);
        reader.peek(4096).unwrap();
        reader.drop_tail(6);
        assert_eq!(reader.buffered(), b"head\0\0");
        reader.fill_more().unwrap();
        assert_eq!(reader.buffered(), b"head\0\0\0\0\0\0tail");
        assert_eq!([5, 6, 10].map(|i| reader.offset_of(i)), [5, 4096, 4100]);
        assert_eq!(&reader.take(4)[..], b"head");
        assert_eq!(reader.position(), 4);
        reader.take(2);
        assert_eq!(reader.position(), 4096);
        reader.take(4);
        assert_eq!(reader.position(), 4100);
        assert_eq!(reader.buffered(), b"tail");
        // A skip past the buffer and a dropped stretch.
        let mut reader = BytesReader::from_bytes(data).with_chunk(4096);
        reader.peek(4096).unwrap();
        reader.drop_tail(100);
        assert_eq!(reader.skip(101).unwrap(), 4097);
        assert_eq!(reader.position(), 4097);
    }

    /// Reads elsewhere leave the window alone, from the buffer or the file.
    #[test]
    fn reads_at_an_offset_keep_the_window() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        let mut reader = BytesReader::from_bytes(data.clone()).with_chunk(4096);
        reader.peek(10).unwrap();
        reader.take(10);
        let mut buf = [0u8; 100];
        for offset in [0u64, 50, 4000, 19_950] {
            let n = reader.read_at(offset, &mut buf).unwrap();
            let want = &data[offset as usize..(offset as usize + 100).min(data.len())];
            assert_eq!(&buf[..n], want, "at {offset}");
        }
        assert_eq!(reader.read_at(30_000, &mut buf).unwrap(), 0);
        assert_eq!(reader.position(), 10);
        assert_eq!(reader.peek(5000).unwrap()[..4990], data[10..5000]);
    }

    /// A parked reader closes its file and reads on from where it was,
    /// the same bytes, once the file is opened again; a seek while parked
    /// is done at that reopening. A file replaced meanwhile is an error.
    #[test]
    fn a_parked_reader_reopens_its_file_where_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data");
        let data: Vec<u8> = (0..50_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut reader = BytesReader::open(&path).unwrap().with_chunk(4096);
        let mut out = reader.peek(6000).unwrap()[..6000].to_vec();
        let first = reader.take(6000);
        reader.park();
        assert!(reader.is_parked());
        // What was buffered and not taken is still there.
        assert_eq!(reader.buffered(), &data[6000..8192]);
        assert_eq!(&first[..], &out[..]);
        while out.len() < 30_000 {
            let n = reader.peek(1000).unwrap().len().min(1000);
            out.extend_from_slice(&reader.take(n));
            reader.park();
        }
        assert!(!reader.is_parked() || reader.buffered().len() >= 1000);
        assert_eq!(out, &data[..30_000]);
        reader.park();
        reader.seek(40_000).unwrap();
        assert!(reader.is_parked());
        assert_eq!(reader.peek(10).unwrap()[..10], data[40_000..40_010]);
        assert_eq!(reader.position(), 40_000);
        // Replaced (a new inode at the same path) while parked.
        reader.park();
        reader.seek(0).unwrap();
        let other = dir.path().join("other");
        std::fs::write(&other, &data).unwrap();
        std::fs::rename(&other, &path).unwrap();
        match reader.peek(1) {
            Err(error) => assert!(error.to_string().contains("replaced"), "{error}"),
            Ok(bytes) => panic!("{} bytes read from a replaced file", bytes.len()),
        }
        // Bytes in memory are not parked.
        let mut memory = BytesReader::from_bytes(data.clone());
        memory.peek(10).unwrap();
        memory.park();
        assert!(!memory.is_parked());
    }

    #[test]
    fn only_regular_files_open() {
        let dir = tempfile::tempdir().unwrap();
        let error = |path: &Path| BytesReader::open(path).err().unwrap().to_string();
        assert_eq!(
            error(dir.path()),
            "a directory, not a regular file (a seekable file is needed)"
        );
        #[cfg(unix)]
        {
            assert!(error(Path::new("/dev/null")).starts_with("a device,"));
            // Opening a FIFO without a writer must not block.
            let fifo = dir.path().join("fifo");
            let status = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(status.success());
            assert!(error(&fifo).starts_with("a pipe or FIFO,"));
        }
        let file = dir.path().join("file");
        std::fs::write(&file, b"abc").unwrap();
        let mut reader = BytesReader::open(&file).unwrap();
        assert_eq!((reader.size(), reader.peek(3).unwrap()), (3, &b"abc"[..]));
    }
}
