//! The bytes of a capture waiting for one vectored write: the small
//! headers pcap-file and etherparse write copied into an arena, the
//! payloads kept as shared slices, so that media bytes are not copied
//! before the kernel's copy.

use std::cell::RefCell;
use std::io::{self, IoSlice, Write};
use std::rc::Rc;

use bytes::Bytes;

/// Bytes waiting for a vectored write: small headers copied into an arena,
/// payloads kept as shared slices (no copy until the kernel's).
#[derive(Default)]
pub struct Pending {
    arena: Vec<u8>,
    parts: Vec<Part>,
    /// Bytes pending.
    pub len: usize,
    /// Payloads written, kept for [`super::CaptureWriter::take_written`] rather
    /// than dropped (when `keep_written`).
    pub written: Vec<Bytes>,
    /// Whether drained payloads go to `written`.
    pub keep_written: bool,
}

enum Part {
    Arena(std::ops::Range<usize>),
    Shared(Bytes),
}

impl Pending {
    /// Adds a payload, written after what is pending.
    pub fn push_shared(&mut self, data: Bytes) {
        self.len += data.len();
        self.parts.push(Part::Shared(data));
    }

    /// Forgets what is pending (keeping the payloads when `keep_written`).
    pub fn clear(&mut self) {
        self.arena.clear();
        if self.keep_written {
            let written = &mut self.written;
            written.extend(self.parts.drain(..).filter_map(|p| match p {
                Part::Shared(b) => Some(b),
                Part::Arena(_) => None,
            }));
        }
        self.parts.clear();
        self.len = 0;
    }

    /// Writes everything to `out` and empties the buffers.
    pub fn drain_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        let mut slices: Vec<IoSlice<'_>> = self
            .parts
            .iter()
            .map(|p| match p {
                Part::Arena(r) => IoSlice::new(&self.arena[r.clone()]),
                Part::Shared(b) => IoSlice::new(b),
            })
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            // The kernel takes at most IOV_MAX (1024) slices at once.
            let n = rest.len().min(1024);
            match out.write_vectored(&rest[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => IoSlice::advance_slices(&mut rest, written),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.clear();
        Ok(())
    }
}

/// What pcap-file writes (file and record headers, pcapng blocks) goes into
/// the arena of a shared [`Pending`].
pub struct ArenaSink(pub Rc<RefCell<Pending>>);

impl Write for ArenaSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut p = self.0.borrow_mut();
        let start = p.arena.len();
        p.arena.extend_from_slice(data);
        p.len += data.len();
        match p.parts.last_mut() {
            Some(Part::Arena(r)) if r.end == start => r.end += data.len(),
            _ => p.parts.push(Part::Arena(start..start + data.len())),
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
