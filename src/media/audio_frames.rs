//! Reading audio elementary streams made of self-delimiting frames that
//! start with a sync word: MPEG audio (ISO/IEC 11172-3 §2.4.1.2–3) and AAC
//! ADTS (ISO/IEC 13818-7 §6.2). Both readers share this: skipping tags,
//! finding the first frame, validating a sync by the headers that follow it,
//! resynchronising after junk, dropping a last frame cut short, and the seek
//! index. Only the header syntax differs ([`FrameSyntax`]).
//!
//! **Truncation policy.** Whole frames are served. A last frame whose header
//! states more bytes than the data holds (a file cut by an interrupted
//! download, `head`, or a tag written over the end) is dropped with one
//! warning per reader; only a stream with no whole frame before the cut is
//! an error ([`MediaError::Truncated`]).
//!
//! An 11/12-bit sync word occurs by chance about once every 4 KB of random
//! data, so a candidate is trusted only when the next frame header sits where
//! its length says and belongs to the same stream.

use bytes::Bytes;

use super::{audio_tags, BytesReader, MediaError, Result};

/// The header syntax of one frame-based audio format.
pub(super) trait FrameSyntax {
    /// A parsed frame header.
    type Header: Copy;
    /// The format's name in messages ("MPEG audio", "ADTS").
    const NAME: &'static str;
    /// Bytes [`parse`](Self::parse) needs.
    const HEADER_LEN: usize;
    /// The first byte of every frame's sync word (MPEG audio and ADTS:
    /// 0xFF; AC-3: 0x0B).
    const SYNC_BYTE: u8 = 0xff;
    /// Parses a header at the start of `bytes` (at least `HEADER_LEN` long).
    fn parse(bytes: &[u8]) -> Option<Self::Header>;
    /// Why a header that [`parse`](Self::parse) rejects is a valid one this
    /// reader cannot handle (e.g. MPEG free format), if it is.
    fn unsupported(_bytes: &[u8]) -> Option<String> {
        None
    }
    /// Length of the whole frame, header included (never 0).
    fn frame_len(header: &Self::Header) -> usize;
    /// Samples per channel the frame decodes to.
    fn samples(header: &Self::Header) -> u32;
    /// Sampling frequency in Hz.
    fn sample_rate(header: &Self::Header) -> u32;
    /// Whether `b` can follow `a` in one stream.
    fn same_stream(a: &Self::Header, b: &Self::Header) -> bool;
}

/// One frame, as found in the file.
pub(super) struct Frame<H> {
    /// Its parsed header.
    pub header: H,
    /// File offset of its first byte.
    pub offset: u64,
    /// Samples (per channel) of all frames before it: its start time.
    pub sample: u64,
    /// The whole frame, header included.
    pub data: Bytes,
}

/// Bytes of an ID3v2 tag header (ID3v2.4.0 structure §3.1).
const ID3V2_HEADER_LEN: usize = 10;

/// How far the search for the first frame goes before giving up.
const SEARCH_LIMIT: u64 = 1 << 20;

/// Frames that must follow a candidate first frame (when the data does not
/// end sooner) before it is trusted.
const OPEN_FOLLOWERS: usize = 2;

/// Frames that must follow a candidate after junk.
const RESYNC_FOLLOWERS: usize = 1;

/// Where a straight read of the file ends.
struct End {
    /// Samples of all complete frames.
    samples: u64,
    /// A last frame cut short, dropped.
    cut: Option<Cut>,
}

/// A last frame cut short by the end of the data.
#[derive(Clone, Copy)]
struct Cut {
    /// File offset of its first byte.
    offset: u64,
    /// Bytes its header states (the header's own length when the data ends
    /// inside the header).
    needs: usize,
    /// Bytes of it the data holds.
    remain: u64,
    /// The data ends inside the header itself.
    in_header: bool,
}

impl Cut {
    /// What is missing, as messages say it.
    fn shortfall(&self) -> String {
        let what = if self.in_header {
            "its header needs"
        } else {
            "needs"
        };
        format!("{what} {} bytes, {} remain", self.needs, self.remain)
    }
}

/// A frame start recorded for seeking.
#[derive(Clone, Copy)]
struct IndexEntry {
    sample: u64,
    offset: u64,
}

/// Sequential frame reader with resynchronisation and a sparse seek index
/// (one entry per second of audio, built as the file is read or scanned).
pub(super) struct FrameScanner<S: FrameSyntax> {
    input: BytesReader,
    /// The first frame's header: fixes the stream's parameters.
    first: S::Header,
    /// Where the audio data ends (before trailing tags).
    data_end: u64,
    /// Start sample of the next frame read from `input`.
    next_sample: u64,
    /// A frame handed back by [`unread`](Self::unread) or found by a seek.
    pending: Option<Frame<S::Header>>,
    /// Set once the end of the data has been reached.
    end: Option<End>,
    index: Vec<IndexEntry>,
    /// Whether junk has been reported already (once per reader).
    warned: bool,
    /// Whether a dropped last frame has been reported already (once per
    /// reader, however often the end is read again: seeks, `--loop`).
    warned_cut: bool,
    /// Samples at the start that decode to no output (an MP3 encoder's
    /// delay, which FFmpeg's decoder trims): a cut with no more than these
    /// before it leaves nothing whole to play.
    priming: u64,
}

impl<S: FrameSyntax> FrameScanner<S> {
    /// Parks the input (see [`BytesReader::park`]), with the frame
    /// waiting, if any, copied out of the read buffer.
    pub fn park(&mut self) {
        self.input.park();
        super::compact(self.pending.iter_mut().map(|f| &mut f.data).collect());
    }

    /// Skips leading ID3v2 tags, bounds the data before trailing tags and
    /// positions at the first frame that the following frames confirm.
    pub fn open(mut input: BytesReader) -> Result<Self> {
        if input.peek(1)?.is_empty() {
            return Err(MediaError::Empty);
        }
        audio_tags::skip_id3v2(&mut input)?;
        let start = input.position();
        let data_end = audio_tags::data_end(&mut input, start)?;
        let limit = data_end.min(start.saturating_add(SEARCH_LIMIT));
        let first = loop {
            let pos = input.position();
            let tag = tag_len(&mut input, data_end)?;
            if tag > 0 {
                // Another ID3v2 tag after junk: skipped by its size, so that
                // nothing inside it (a cover picture's 0xFFE2 marker, an
                // embedded clip) is taken for a frame.
                input.skip(tag)?;
                continue;
            }
            if pos >= limit {
                return Err(MediaError::invalid(
                    start,
                    if data_end == start {
                        "no audio data after the tags".to_owned()
                    } else {
                        format!(
                            "no {} frames found in the {} bytes from here",
                            S::NAME,
                            limit - start
                        )
                    },
                ));
            }
            if let Some(header) = confirmed_header::<S>(&mut input, data_end, None, OPEN_FOLLOWERS)?
            {
                if pos > start {
                    tracing::warn!(
                        "{}: skipped {} bytes of junk before the first frame at byte {pos}",
                        S::NAME,
                        pos - start
                    );
                }
                break header;
            }
            if pos == start {
                let head = input.peek(S::HEADER_LEN)?;
                if let Some(reason) = S::unsupported(head) {
                    return Err(MediaError::Unsupported(reason));
                }
            }
            skip_to_sync(&mut input, limit, S::SYNC_BYTE)?;
        };
        let offset = input.position();
        Ok(FrameScanner {
            input,
            first,
            data_end,
            next_sample: 0,
            pending: None,
            end: None,
            index: vec![IndexEntry { sample: 0, offset }],
            warned: false,
            warned_cut: false,
            priming: 0,
        })
    }

    /// The header of the first frame.
    pub fn first(&self) -> &S::Header {
        &self.first
    }

    /// Size of the input in bytes.
    pub fn file_size(&self) -> u64 {
        self.input.size()
    }

    /// Makes the next frame the start of the stream (sample 0), after the
    /// caller consumed a leading frame that is not audio (an MP3 Xing tag).
    pub fn restart_here(&mut self) {
        self.pending = None;
        self.next_sample = 0;
        self.index = vec![IndexEntry {
            sample: 0,
            offset: self.input.position(),
        }];
    }

    /// Declares the first `samples` of the stream as decoding to no output:
    /// a last frame cut short with no more than these before it is an
    /// error, not a stream.
    pub fn set_priming(&mut self, samples: u64) {
        self.priming = samples;
    }

    /// File offset where the stream's samples start (after a leading
    /// frame that is not audio, once [`restart_here`](Self::restart_here)
    /// skipped it).
    pub fn data_start(&self) -> u64 {
        self.index[0].offset
    }

    /// Hands `frame` back: the next [`next_frame`](Self::next_frame) returns it.
    pub fn unread(&mut self, frame: Frame<S::Header>) {
        self.pending = Some(frame);
    }

    /// Total samples of the stream, once the end has been reached.
    pub fn end_sample(&self) -> Option<u64> {
        self.end.as_ref().map(|end| end.samples)
    }

    /// The next frame; `Ok(None)` at the end of the data, a last frame cut
    /// short being dropped (see the module's truncation policy). A cut
    /// before any whole frame of the stream (past its
    /// [priming](Self::set_priming)) is [`MediaError::Truncated`] (again on
    /// every later call).
    pub fn next_frame(&mut self) -> Result<Option<Frame<S::Header>>> {
        if let Some(frame) = self.pending.take() {
            return Ok(Some(frame));
        }
        if let Some(end) = &self.end {
            return match &end.cut {
                Some(cut) if end.samples <= self.priming => Err(MediaError::truncated(
                    cut.offset,
                    format!("{} frame {}", S::NAME, cut.shortfall()),
                )),
                _ => Ok(None),
            };
        }
        loop {
            let pos = self.input.position();
            let remain = self.data_end.saturating_sub(pos);
            if remain == 0 {
                return self.finish(None);
            }
            let tag = tag_len(&mut self.input, self.data_end)?;
            if tag > 0 {
                // A tag between frames (concatenated files): not junk.
                self.input.skip(tag)?;
                continue;
            }
            let head = self.input.peek(S::HEADER_LEN)?;
            let head = &head[..head.len().min(saturating_usize(remain))];
            if head.len() < S::HEADER_LEN && head.first() == Some(&S::SYNC_BYTE) {
                return self.finish(Some(Cut {
                    offset: pos,
                    needs: S::HEADER_LEN,
                    remain,
                    in_header: true,
                }));
            }
            let header = S::parse(head).filter(|h| S::same_stream(&self.first, h));
            let Some(header) = header else {
                self.resync()?;
                continue;
            };
            let len = S::frame_len(&header);
            let available = self.input.peek(len)?.len();
            if (len as u64) > remain || available < len {
                return self.finish(Some(Cut {
                    offset: pos,
                    needs: len,
                    remain: remain.min(available as u64),
                    in_header: false,
                }));
            }
            let frame = Frame {
                header,
                offset: pos,
                sample: self.next_sample,
                data: self.input.take(len),
            };
            self.next_sample += u64::from(S::samples(&header));
            let last = self.index.last().map_or(0, |e| e.sample);
            if frame.sample >= last + u64::from(S::sample_rate(&header)) {
                self.index.push(IndexEntry {
                    sample: frame.sample,
                    offset: pos,
                });
            }
            return Ok(Some(frame));
        }
    }

    /// Positions at the frame containing sample `target` (scanning forward
    /// from the nearest index entry) and returns that frame's start sample;
    /// `None` when `target` is past the end, leaving the reader at the end.
    /// What follows is exactly what a straight read yields from there.
    pub fn seek_to_sample(&mut self, target: u64) -> Result<Option<u64>> {
        if self.end_sample().is_some_and(|end| target >= end) {
            self.pending = None;
            return Ok(None);
        }
        let entry = self.index[self.index.partition_point(|e| e.sample <= target) - 1];
        let current = self
            .pending
            .as_ref()
            .map_or(self.next_sample, |frame| frame.sample);
        let resume = self.end.is_none() && entry.sample <= current && current <= target;
        if !resume {
            self.pending = None;
            self.end = None;
            self.input.seek(entry.offset)?;
            self.next_sample = entry.sample;
        }
        loop {
            match self.next_frame() {
                Ok(Some(frame)) => {
                    if frame.sample + u64::from(S::samples(&frame.header)) > target {
                        let sample = frame.sample;
                        self.pending = Some(frame);
                        return Ok(Some(sample));
                    }
                }
                Ok(None) => return Ok(None),
                // A stream without a whole frame has nothing to seek to.
                Err(MediaError::Truncated { .. }) if self.end.is_some() => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Records the end of the stream and returns what reading there yields;
    /// reports a dropped last frame (once per reader).
    fn finish(&mut self, cut: Option<Cut>) -> Result<Option<Frame<S::Header>>> {
        if let Some(cut) = cut.filter(|_| self.next_sample > self.priming && !self.warned_cut) {
            self.warned_cut = true;
            tracing::warn!(
                "{}: last frame cut short at byte {} ({}): dropped",
                S::NAME,
                cut.offset,
                cut.shortfall()
            );
        }
        self.end = Some(End {
            samples: self.next_sample,
            cut,
        });
        self.next_frame()
    }

    /// Skips junk up to the next confirmed frame (or the end of the data),
    /// reporting the first such gap of the file.
    fn resync(&mut self) -> Result<()> {
        let start = self.input.position();
        loop {
            skip_to_sync(&mut self.input, self.data_end, S::SYNC_BYTE)?;
            let pos = self.input.position();
            let found = pos >= self.data_end
                || tag_len(&mut self.input, self.data_end)? > 0
                || confirmed_header::<S>(
                    &mut self.input,
                    self.data_end,
                    Some(&self.first),
                    RESYNC_FOLLOWERS,
                )?
                .is_some();
            if found {
                if !self.warned {
                    self.warned = true;
                    tracing::warn!(
                        "{}: skipped {} bytes of junk at byte {start}",
                        S::NAME,
                        pos - start
                    );
                }
                return Ok(());
            }
        }
    }
}

/// `n` as a `usize`, saturating.
fn saturating_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// Length of the ID3v2 tag at the reader's position if one starts there and
/// ends by `data_end`, else 0 (a tag header claiming more is junk).
fn tag_len(input: &mut BytesReader, data_end: u64) -> Result<u64> {
    let len = audio_tags::id3v2_len(input.peek(ID3V2_HEADER_LEN)?) as u64;
    let room = data_end.saturating_sub(input.position());
    Ok(if len <= room { len } else { 0 })
}

/// Advances past the current byte to the next `sync` byte (a possible
/// sync word) or `I` (a possible ID3v2 tag, which must be skipped whole),
/// or to `limit`.
fn skip_to_sync(input: &mut BytesReader, limit: u64, sync: u8) -> Result<()> {
    input.skip(1)?;
    loop {
        let pos = input.position();
        if pos >= limit {
            return Ok(());
        }
        let buf = input.peek(1)?;
        if buf.is_empty() {
            // The file shrank since it was opened.
            return Err(MediaError::truncated(
                pos,
                "the file ends here, before the size it had when opened",
            ));
        }
        let window = &buf[..buf.len().min(saturating_usize(limit - pos))];
        match memchr::memchr2(sync, b'I', window) {
            Some(i) => {
                input.skip(i as u64)?;
                return Ok(());
            }
            None => {
                let n = window.len() as u64;
                input.skip(n)?;
            }
        }
    }
}

/// The header at the reader's position if it starts a chain of frames of one
/// stream (and of `reference`'s stream, if given): `followers` more headers
/// where the lengths say, or frames that end exactly at `data_end`, or at
/// least one follower before the data ends inside a frame.
fn confirmed_header<S: FrameSyntax>(
    input: &mut BytesReader,
    data_end: u64,
    reference: Option<&S::Header>,
    followers: usize,
) -> Result<Option<S::Header>> {
    let avail = data_end.saturating_sub(input.position());
    let mut first: Option<S::Header> = None;
    let mut matched = 0;
    let mut off = 0u64;
    loop {
        if off == avail {
            return Ok(first);
        }
        let cut = first.filter(|_| matched >= 1);
        if off > avail {
            return Ok(cut);
        }
        let at = saturating_usize(off);
        let buf = input.peek(at.saturating_add(S::HEADER_LEN))?;
        let end = buf.len().min(saturating_usize(avail));
        let head = buf.get(at..end).unwrap_or(&[]);
        if head.len() < S::HEADER_LEN {
            return Ok(cut);
        }
        let Some(header) = S::parse(head) else {
            return Ok(None);
        };
        if !first
            .as_ref()
            .or(reference)
            .is_none_or(|f| S::same_stream(f, &header))
        {
            return Ok(None);
        }
        if first.is_none() {
            first = Some(header);
        } else {
            matched += 1;
            if matched >= followers {
                return Ok(first);
            }
        }
        off += S::frame_len(&header) as u64;
    }
}
