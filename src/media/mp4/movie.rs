//! The movie box (`moov`, ISO/IEC 14496-12 §8.2–§8.8): its tracks' headers,
//! sample descriptions and edit lists read and kept (they are small), their
//! sample tables located, not read (they may be megabytes).

use super::boxes::{name, read_body, read_header, BoxHeader, Children, Fields, FourCc};
use super::entries::Table;
use super::sample_table::{Sizes, TableBoxes};
use crate::media::{BytesReader, MediaError, Result};

/// Tracks a movie may have; more is not a movie anyone made.
const MAX_TRACKS: usize = 256;

/// Largest sample description box read (codec configurations are small).
const MAX_STSD: u64 = 1 << 20;

/// Largest header box read (`mvhd`, `tkhd`, `mdhd`, `trex`...).
const MAX_HEADER: u64 = 4096;

/// Edit list entries kept: the empty edits before the first media edit
/// and that edit are all this reader applies.
const MAX_EDITS: u32 = 64;

/// What the movie box says.
#[derive(Clone, Debug, Default)]
pub(super) struct Movie {
    /// `mvhd` timescale: the unit of edit list durations.
    pub timescale: u32,
    pub traks: Vec<Trak>,
    /// `mvex/trex` defaults, by track id: the movie is fragmented.
    pub trex: Vec<Trex>,
    /// `mvex` is present: samples come in movie fragments.
    pub fragmented: bool,
}

/// One `trak` box.
#[derive(Clone, Debug, Default)]
pub(super) struct Trak {
    /// File offset of the `trak` box, for messages.
    pub start: u64,
    /// `tkhd` `track_ID`.
    pub track_id: u32,
    /// `mdia/hdlr` `handler_type`: `vide`, `soun`, `text`, `tmcd`...
    pub handler: FourCc,
    /// `mdhd` timescale: the unit of the track's times.
    pub timescale: u32,
    /// `mdhd` duration.
    pub duration: u64,
    /// `tkhd` width and height (16.16 fixed point, integer part).
    pub width: u32,
    pub height: u32,
    /// The first sample description, if any.
    pub entry: Option<SampleEntry>,
    /// Sample descriptions in `stsd`.
    pub entry_count: u32,
    /// The edit list (at most [`MAX_EDITS`] entries), and whether it had more.
    pub edits: Vec<Edit>,
    pub more_edits: bool,
    /// The sample table.
    pub tables: TableBoxes,
    /// Tables cut to their box (the box claimed more entries than it holds).
    pub cut_tables: Vec<String>,
    /// Track ids its `tref/chap` box names: its chapter tracks.
    pub chapters: Vec<u32>,
    /// `cslg` `compositionToDTSShift` (§8.6.1.4), when stated.
    pub dts_shift: Option<i64>,
}

/// A sample entry of `stsd` (ISO/IEC 14496-12 §8.5.2): its type and body.
#[derive(Clone, Debug, Default)]
pub(super) struct SampleEntry {
    pub kind: FourCc,
    /// File offset of its body.
    pub offset: u64,
    pub body: Vec<u8>,
}

/// One `elst` entry (§8.6.6), in movie and media timescales.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Edit {
    /// `segment_duration`, in the movie timescale.
    pub duration: u64,
    /// `media_time`, in the media timescale; -1 for an empty edit.
    pub media_time: i64,
    /// `media_rate` as 16.16 fixed point.
    pub rate: i32,
}

/// A `trex` box (§8.8.3): a track's fragment defaults.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Trex {
    pub track_id: u32,
    pub description_index: u32,
    pub duration: u32,
    pub size: u32,
    pub flags: u32,
}

/// Reads the movie box `moov`.
pub(super) fn read_movie(input: &mut BytesReader, moov: &BoxHeader) -> Result<Movie> {
    let mut movie = Movie::default();
    let mut children = Children::of(moov, 0);
    while let Some(child) = children.next(input)? {
        match &child.kind {
            b"mvhd" => {
                let body = read_body(input, &child, MAX_HEADER)?;
                let mut f = Fields::new(&body, child.body, "mvhd");
                let version = f.u8()?;
                f.skip(3)?;
                f.skip(if version == 1 { 16 } else { 8 })?;
                movie.timescale = f.u32()?;
            }
            b"trak" if movie.traks.len() < MAX_TRACKS => {
                movie.traks.push(read_trak(input, &child)?);
            }
            b"trak" => {
                tracing::warn!(
                    "MP4 movie at byte {}: more than {MAX_TRACKS} tracks; the rest are ignored",
                    moov.start
                );
            }
            b"mvex" => {
                movie.fragmented = true;
                let mut inner = Children::of(&child, 0);
                while let Some(item) = inner.next(input)? {
                    if &item.kind == b"trex" && movie.trex.len() < MAX_TRACKS {
                        let body = read_body(input, &item, MAX_HEADER)?;
                        let mut f = Fields::new(&body, item.body, "trex");
                        f.skip(4)?;
                        movie.trex.push(Trex {
                            track_id: f.u32()?,
                            description_index: f.u32()?,
                            duration: f.u32()?,
                            size: f.u32()?,
                            flags: f.u32()?,
                        });
                    }
                }
            }
            _ => {}
        }
    }
    if movie.timescale == 0 {
        movie.timescale = 1000;
    }
    Ok(movie)
}

/// Reads a `trak` box: its headers, edit list, description and the
/// places of its tables.
fn read_trak(input: &mut BytesReader, trak: &BoxHeader) -> Result<Trak> {
    let mut out = Trak {
        start: trak.start,
        ..Trak::default()
    };
    let mut children = Children::of(trak, 0);
    while let Some(child) = children.next(input)? {
        match &child.kind {
            b"tkhd" => {
                let body = read_body(input, &child, MAX_HEADER)?;
                let mut f = Fields::new(&body, child.body, "tkhd");
                let version = f.u8()?;
                f.skip(3)?;
                f.skip(if version == 1 { 16 } else { 8 })?;
                out.track_id = f.u32()?;
                // reserved, duration, reserved[2], layer, alternate_group,
                // volume, reserved, matrix[9]
                f.skip(4 + if version == 1 { 8 } else { 4 } + 8 + 8 + 36)?;
                out.width = f.u32()? >> 16;
                out.height = f.u32()? >> 16;
            }
            b"edts" => {
                let mut inner = Children::of(&child, 0);
                while let Some(item) = inner.next(input)? {
                    if &item.kind == b"elst" {
                        (out.edits, out.more_edits) = read_edits(input, &item)?;
                    }
                }
            }
            b"mdia" => read_mdia(input, &child, &mut out)?,
            b"tref" => {
                let mut inner = Children::of(&child, 0);
                while let Some(item) = inner.next(input)? {
                    if &item.kind == b"chap" {
                        let body = read_body(input, &item, MAX_HEADER)?;
                        out.chapters.extend(
                            body.chunks_exact(4)
                                .map(|id| u32::from_be_bytes(id.try_into().expect("4 bytes"))),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// The first [`MAX_EDITS`] entries of an `elst` box, and whether it has
/// more.
fn read_edits(input: &mut BytesReader, elst: &BoxHeader) -> Result<(Vec<Edit>, bool)> {
    let mut head = [0u8; 8];
    if input.read_at(elst.body, &mut head)? < 8 || elst.body_len() < 8 {
        return Err(MediaError::invalid(
            elst.start,
            "the 'elst' box is too short",
        ));
    }
    let version = head[0];
    let stated = u32::from_be_bytes(head[4..8].try_into().expect("4 bytes"));
    let entry_len: u64 = if version == 1 { 20 } else { 12 };
    let (table, _) = Table::new(elst.body + 8, stated, entry_len as u8, elst.end);
    let count = table.count.min(MAX_EDITS);
    let mut body = vec![0u8; (u64::from(count) * entry_len) as usize];
    let got = input.read_at(elst.body + 8, &mut body)?;
    body.truncate(got);
    let mut f = Fields::new(&body, elst.body + 8, "elst");
    let mut edits = Vec::new();
    while f.remaining() as u64 >= entry_len {
        let (duration, media_time) = if version == 1 {
            (f.u64()?, f.u64()? as i64)
        } else {
            (u64::from(f.u32()?), i64::from(f.u32()? as i32))
        };
        edits.push(Edit {
            duration,
            media_time,
            rate: f.u32()? as i32,
        });
    }
    Ok((edits, table.count > count))
}

/// Reads a `mdia` box into `out`.
fn read_mdia(input: &mut BytesReader, mdia: &BoxHeader, out: &mut Trak) -> Result<()> {
    let mut children = Children::of(mdia, 0);
    while let Some(child) = children.next(input)? {
        match &child.kind {
            b"mdhd" => {
                let body = read_body(input, &child, MAX_HEADER)?;
                let mut f = Fields::new(&body, child.body, "mdhd");
                let version = f.u8()?;
                f.skip(3)?;
                f.skip(if version == 1 { 16 } else { 8 })?;
                out.timescale = f.u32()?;
                out.duration = f.u32_or_u64(version)?;
            }
            b"hdlr" => {
                let mut head = [0u8; 12];
                if input.read_at(child.body, &mut head)? == 12 && child.body_len() >= 12 {
                    out.handler = [head[8], head[9], head[10], head[11]];
                }
            }
            b"minf" => {
                let mut inner = Children::of(&child, 0);
                while let Some(item) = inner.next(input)? {
                    if &item.kind == b"stbl" {
                        read_stbl(input, &item, out)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Reads a `stbl` box into `out`: the first sample description, and where
/// each table's entries lie.
fn read_stbl(input: &mut BytesReader, stbl: &BoxHeader, out: &mut Trak) -> Result<()> {
    let mut children = Children::of(stbl, 0);
    let mut sizes_found = false;
    while let Some(child) = children.next(input)? {
        // Version/flags, then the fields before the entries.
        let (fields, entry_size): (usize, u8) = match &child.kind {
            b"stsd" => {
                read_stsd(input, &child, out)?;
                continue;
            }
            b"cslg" => {
                let body = read_body(input, &child, MAX_HEADER)?;
                let mut f = Fields::new(&body, child.body, "cslg");
                let version = f.u8()?;
                f.skip(3)?;
                out.dts_shift = Some(if version == 1 {
                    f.u64()? as i64
                } else {
                    i64::from(f.u32()? as i32)
                });
                continue;
            }
            b"stts" | b"ctts" => (4, 8),
            b"stsc" => (4, 12),
            b"stco" | b"stss" => (4, 4),
            b"co64" => (4, 8),
            b"stsz" => (8, 4),
            b"stz2" => (8, 0),
            _ => continue,
        };
        let mut head = [0u8; 12];
        let len = fields + 4;
        if child.body_len() < len as u64 || input.read_at(child.body, &mut head[..len])? < len {
            return Err(MediaError::invalid(
                child.start,
                format!("the '{}' box is too short", name(child.kind)),
            ));
        }
        let word = |at: usize| u32::from_be_bytes(head[at..at + 4].try_into().expect("4 bytes"));
        let stated = word(fields);
        let entry_size = match &child.kind {
            b"stz2" => match head[7] {
                4 => 0,
                8 => 1,
                16 => 2,
                other => {
                    return Err(MediaError::invalid(
                        child.start,
                        format!("'stz2' field size {other} (4, 8 or 16 allowed)"),
                    ))
                }
            },
            _ => entry_size,
        };
        let constant_size = (&child.kind == b"stsz")
            .then(|| word(4))
            .filter(|&s| s != 0);
        let (table, cut) = Table::new(child.body + len as u64, stated, entry_size, child.end);
        if cut && constant_size.is_none() {
            out.cut_tables.push(name(child.kind));
        }
        match &child.kind {
            b"stts" => out.tables.stts = table,
            b"ctts" => out.tables.ctts = Some(table),
            b"stsc" => out.tables.stsc = table,
            b"stco" | b"co64" => out.tables.chunks = table,
            b"stss" => out.tables.stss = Some(table),
            b"stsz" | b"stz2" if !sizes_found => {
                sizes_found = true;
                out.tables.sample_count = stated;
                out.tables.sizes = match constant_size {
                    Some(size) => Sizes::Constant(size),
                    None => Sizes::Each(table),
                };
            }
            _ => {}
        }
    }
    // A size table cut short holds fewer samples than it states.
    if let Sizes::Each(table) = out.tables.sizes {
        out.tables.sample_count = out.tables.sample_count.min(table.count);
    }
    Ok(())
}

/// Reads the first sample description of a `stsd` box, and the count.
fn read_stsd(input: &mut BytesReader, stsd: &BoxHeader, out: &mut Trak) -> Result<()> {
    let mut head = [0u8; 8];
    if stsd.body_len() < 8 || input.read_at(stsd.body, &mut head)? < 8 {
        return Err(MediaError::invalid(
            stsd.start,
            "the 'stsd' box is too short",
        ));
    }
    out.entry_count = u32::from_be_bytes(head[4..8].try_into().expect("4 bytes"));
    if out.entry_count == 0 {
        return Ok(());
    }
    let Some(entry) = read_header(input, stsd.body + 8, stsd.end)? else {
        return Ok(());
    };
    out.entry = Some(SampleEntry {
        kind: entry.kind,
        offset: entry.body,
        body: read_body(input, &entry, MAX_STSD)?,
    });
    Ok(())
}
