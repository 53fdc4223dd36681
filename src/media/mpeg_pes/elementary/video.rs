//! Video elementary streams cut into access units, as their bytes arrive:
//! MPEG-1/2 video (ISO/IEC 11172-2 §2.4.2, ISO/IEC 13818-2 §6.2: a picture
//! with the sequence and GOP headers before it), H.264 (ITU-T H.264
//! §7.4.1.2.3) and H.265 (ITU-T H.265 §7.4.2.4.4) in Annex B framing.
//!
//! Start codes are found with memchr's `memmem`, each byte examined once
//! however the stream is split into PES packets: a unit ends where the
//! next one starts (a sequence header, GOP header or picture after a
//! picture's slices; an access unit delimiter, parameter set, SEI or first
//! slice after a picture's VCL NAL units), so it is cut when the next one's
//! first bytes have arrived, or at the end of the stream.
//!
//! Key frames: H.264 IDR pictures and pictures with a recovery point SEI
//! (§D.2.8); H.265 IRAP pictures; MPEG I-pictures that open a group of
//! pictures (a GOP or sequence header before them: where a decoder can
//! start, with the sequence header the MPV payload format repeats before
//! each group, RFC 2250 §3.1). A stream whose first bytes are
//! the tail of a unit (reading restarted inside one) yields that tail as
//! a unit that does not start properly: the caller drops it.

use bytes::Bytes;
use memchr::memmem;

use crate::codec::h264::{
    self, first_mb_in_slice, has_slice_header, is_vcl, nal_type as h264_type, nal_unit_type,
    recovery_point, SpsInfo,
};
use crate::codec::hevc::{self, nal_type as hevc_type, NalHeader, StreamParams};
use crate::codec::mpeg_video::{
    extension_id, picture_type, start_code, PictureHeader, SequenceExtension, SequenceHeader,
};
use crate::codec::nal::trim_trailing_zeros;
use crate::media::frame_clock::{fits_clock, CLOCK_RATE};
use crate::media::{Level, Track, TrackParams, VideoParams};
use crate::vocab::{Codec, Rational};

/// The coding of a video stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VideoCodec {
    /// MPEG-1 or MPEG-2 video (told apart by the sequence extension).
    Mpeg,
    /// H.264.
    H264,
    /// H.265.
    Hevc,
}

/// Bytes wanted after a start code prefix before it is examined: the
/// start code value and enough of the syntax after it to tell where a
/// picture starts (a slice's `first_mb_in_slice`, a picture's coding type).
const LOOKAHEAD: usize = 3 + 8;

/// Largest parameter set or SEI NAL unit kept for parsing: bigger ones are
/// not real (a 4K H.265 SPS is a few hundred bytes).
const MAX_HEADER_NAL: usize = 64 << 10;

/// What the splitter found about one access unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct VideoUnit {
    /// Where it ends in the buffer (its first byte is at 0).
    pub len: usize,
    /// Where the byte that its PES timestamps refer to is: the picture
    /// start code (MPEG), the unit's start (H.264, H.265).
    pub anchor: usize,
    /// A random access point.
    pub keyframe: bool,
    /// It starts where an access unit starts (not the tail of one).
    pub whole: bool,
    /// Its place in display order within its group, in frames: MPEG's
    /// `temporal_reference`, H.264's picture order count halved (two per
    /// frame), H.265's picture order count.
    pub order: Option<i64>,
    /// It opens a group in which `order` counts afresh: an MPEG GOP or
    /// sequence header, an H.264 IDR picture (or MMCO 5), an H.265 IRAP
    /// picture whose order count restarts.
    pub new_group: bool,
}

/// The access unit being assembled.
#[derive(Clone, Copy, Debug, Default)]
struct Building {
    /// Where it starts in the buffer.
    start: usize,
    /// MPEG: where its picture start code is, once found.
    picture: Option<usize>,
    /// It began with a unit-starting start code.
    whole: bool,
    /// A slice (VCL NAL unit) was seen.
    sliced: bool,
    /// H.264 IDR / recovery point, H.265 IRAP.
    random_access: bool,
    /// MPEG: a sequence header is part of it.
    sequence_header: bool,
    /// MPEG: `picture_coding_type`.
    picture_type: u8,
    /// MPEG: `temporal_reference`.
    temporal_reference: Option<u16>,
    /// H.264, H.265: where the NAL unit header of its first slice is.
    first_slice: Option<usize>,
    /// MPEG: a GOP header is part of it.
    group: bool,
}

/// A parameter set, SEI or MPEG sequence header whose end is not found yet.
#[derive(Clone, Copy, Debug)]
struct Pending {
    /// Where its bytes start: its NAL unit header (MPEG: its start code).
    start: usize,
    /// NAL unit type (MPEG: the start code value).
    kind: u8,
}

/// Cuts a video elementary stream into access units and describes it.
pub(super) struct VideoSplitter {
    codec: Option<VideoCodec>,
    start_codes: memmem::Finder<'static>,
    /// Start codes before this buffer position have been examined.
    scanned: usize,
    /// The unit in progress, once one started.
    building: Option<Building>,
    pending: Option<Pending>,
    headers: Headers,
    order: PictureOrder,
}

/// The state that numbers H.264 and H.265 pictures in display order: the
/// parameter sets slice headers are parsed with and the picture order
/// count decoder (ITU-T H.264 §8.2.1, H.265 §8.3.1).
#[derive(Default)]
struct PictureOrder {
    h264: h264_reader::Context,
    h264_poc: h264::PocDecoder,
    hevc: hevc::ParameterSets,
    hevc_poc: hevc::PocDecoder,
    /// No H.265 picture was numbered since the last reset: an IRAP
    /// picture first has its NoRaslOutputFlag set (§8.1.3).
    hevc_started: bool,
}

impl PictureOrder {
    /// Takes a parameter set NAL unit into account.
    fn parameter_set(&mut self, codec: VideoCodec, nal: &[u8]) {
        match codec {
            VideoCodec::H264 => match nal_unit_type(nal[0]) {
                h264_type::SPS => {
                    if let Ok(sps) = h264::parse_sps(nal) {
                        self.h264.put_seq_param_set(sps);
                    }
                }
                h264_type::PPS => {
                    if let Ok(pps) = h264::parse_pps(&self.h264, nal) {
                        self.h264.put_pic_param_set(pps);
                    }
                }
                _ => {}
            },
            VideoCodec::Hevc => {
                let _ = self.hevc.update(nal);
            }
            VideoCodec::Mpeg => {}
        }
    }

    /// The display order (in frames) of the picture whose first slice NAL
    /// unit is `slice`, and whether its count restarts there.
    fn of(&mut self, codec: VideoCodec, slice: &[u8]) -> Option<(i64, bool)> {
        match codec {
            VideoCodec::H264 => {
                let (info, sps) = h264::SliceInfo::parse(&self.h264, slice).ok()?;
                let poc = self.h264_poc.decode(sps, &info);
                Some((poc.div_euclid(2), info.is_idr() || info.mmco5))
            }
            VideoCodec::Hevc => {
                let header = NalHeader::parse(slice)?;
                let slice_header = hevc::SliceHeader::parse(slice, &self.hevc).ok()?;
                let restart =
                    header.is_idr() || header.is_bla() || (header.is_irap() && !self.hevc_started);
                self.hevc_started = true;
                let poc = self.hevc_poc.decode(header, &slice_header, restart);
                Some((poc, restart))
            }
            VideoCodec::Mpeg => None,
        }
    }
}

/// The headers a track description is made of, as coded.
#[derive(Default)]
struct Headers {
    /// H.264: SPS and PPS NAL units; H.265: VPS, SPS and PPS (each
    /// distinct one seen, up to 64).
    parameter_sets: Vec<Bytes>,
    /// MPEG: the first sequence header with its extensions, start codes
    /// included.
    sequence: Option<Bytes>,
    /// The description, from the first key frame with its headers.
    track: Option<Track>,
}

impl VideoSplitter {
    /// A splitter for `codec`; `None`: told by the first start code.
    pub fn new(codec: Option<VideoCodec>) -> VideoSplitter {
        VideoSplitter {
            codec,
            start_codes: memmem::Finder::new(&[0u8, 0, 1]).into_owned(),
            scanned: 0,
            building: None,
            pending: None,
            headers: Headers::default(),
            order: PictureOrder::default(),
        }
    }

    /// Forgets the unit in progress (the buffer was emptied); what was
    /// learnt about the stream stays.
    pub fn reset(&mut self) {
        self.scanned = 0;
        self.building = None;
        self.pending = None;
        self.order.h264_poc = h264::PocDecoder::new();
        self.order.hevc_poc = hevc::PocDecoder::new();
        self.order.hevc_started = false;
    }

    /// The track, once the stream described itself.
    pub fn track(&self) -> Option<&Track> {
        self.headers.track.as_ref()
    }

    /// The buffer's first `n` bytes were taken: positions move down.
    pub fn consumed(&mut self, n: usize) {
        self.scanned = self.scanned.saturating_sub(n);
        if let Some(b) = &mut self.building {
            b.start = b.start.saturating_sub(n);
            b.picture = b.picture.map(|p| p.saturating_sub(n));
        }
        if let Some(pending) = &mut self.pending {
            pending.start = pending.start.saturating_sub(n);
        }
    }

    /// The next whole access unit at the start of `buf`, once its end has
    /// arrived (or `eof`: nothing more comes); `Err(n)` for `n` bytes of
    /// junk before the first start code, which the caller drops first;
    /// `None` until more bytes come.
    pub fn next(&mut self, buf: &[u8], eof: bool) -> Option<Result<VideoUnit, usize>> {
        loop {
            let Some(at) = self.start_codes.find(&buf[self.scanned.min(buf.len())..]) else {
                // Keep the last two bytes: a prefix may be cut there.
                self.scanned = self.scanned.max(buf.len().saturating_sub(2));
                return self.finish(buf, eof);
            };
            let p = self.scanned + at;
            if buf.len() < p + LOOKAHEAD && !eof {
                self.scanned = p;
                return None;
            }
            let Some(&value) = buf.get(p + 3) else {
                self.scanned = p;
                return self.finish(buf, eof);
            };
            let codec = *self.codec.get_or_insert_with(|| sniff(value));
            // The syntax after the prefix, as much as the checks need (a
            // NAL unit parser given more would read on into the next ones).
            let syntax = &buf[p + 3..buf.len().min(p + LOOKAHEAD)];
            let start = unit_start(Some(codec), buf, p);
            if self.building.is_none() && start > 0 {
                self.scanned = p;
                return Some(Err(start));
            }
            if self
                .building
                .is_some_and(|b| starts_unit(codec, &b, syntax))
            {
                self.end_pending(buf, start);
                // This start code opens the next unit: examined again then.
                self.scanned = p;
                return self.cut(buf, start).map(Ok);
            }
            if !(codec == VideoCodec::Mpeg
                && matches!(value, start_code::EXTENSION | start_code::USER_DATA))
            {
                self.end_pending(buf, start);
            }
            let mut b = self.building.take().unwrap_or(Building {
                start,
                whole: opens_unit(codec, syntax),
                ..Building::default()
            });
            self.record(&mut b, codec, syntax, p);
            self.building = Some(b);
            self.scanned = p + 3;
        }
    }

    /// At the end of the data: the unit in progress ends there.
    fn finish(&mut self, buf: &[u8], eof: bool) -> Option<Result<VideoUnit, usize>> {
        if !eof {
            return None;
        }
        if self.building.is_none() {
            return (!buf.is_empty()).then_some(Err(buf.len()));
        }
        self.end_pending(buf, buf.len());
        let unit = self.cut(buf, buf.len());
        self.reset();
        unit.map(Ok)
    }

    /// What the start code at `p`, with `syntax` after its prefix, says
    /// about the unit `b`.
    fn record(&mut self, b: &mut Building, codec: VideoCodec, syntax: &[u8], p: usize) {
        let value = syntax[0];
        match codec {
            VideoCodec::Mpeg => match value {
                start_code::SEQUENCE_HEADER => {
                    b.sequence_header = true;
                    if self.headers.sequence.is_none() {
                        self.pending = Some(Pending {
                            start: p,
                            kind: value,
                        });
                    }
                }
                start_code::PICTURE => {
                    b.picture = Some(p);
                    if let Ok(h) = PictureHeader::parse(&syntax[1..]) {
                        b.picture_type = h.picture_type;
                        b.temporal_reference = Some(h.temporal_reference);
                    }
                }
                start_code::GROUP => b.group = true,
                code if start_code::is_slice(code) => b.sliced = true,
                _ => {}
            },
            VideoCodec::H264 => {
                if value & 0x80 != 0 {
                    return;
                }
                let t = nal_unit_type(value);
                if is_vcl(t) {
                    b.sliced = true;
                    b.random_access |= t == h264_type::IDR;
                    b.first_slice.get_or_insert(p + 3);
                } else if matches!(t, h264_type::SEI | h264_type::SPS | h264_type::PPS) {
                    self.pending = Some(Pending {
                        start: p + 3,
                        kind: t,
                    });
                }
            }
            VideoCodec::Hevc => {
                let Some(header) = NalHeader::parse(syntax) else {
                    return;
                };
                if header.is_vcl() {
                    b.sliced = true;
                    b.random_access |= header.is_irap();
                    b.first_slice.get_or_insert(p + 3);
                } else if (hevc_type::VPS..=hevc_type::PPS).contains(&header.nal_type) {
                    self.pending = Some(Pending {
                        start: p + 3,
                        kind: header.nal_type,
                    });
                }
            }
        }
    }

    /// The unit in progress, ending at `end` of `buf`; `None` when none
    /// was.
    fn cut(&mut self, buf: &[u8], end: usize) -> Option<VideoUnit> {
        let b = self.building.take()?;
        // The slice header: what a parser needs (more is never read).
        let order = match (self.codec, b.first_slice) {
            (Some(codec), Some(at)) => self.order.of(codec, &buf[at..end.min(at + 256).max(at)]),
            _ => None,
        };
        debug_assert_eq!(b.start, 0, "junk is taken before a unit starts");
        let keyframe = match self.codec {
            Some(VideoCodec::Mpeg) => {
                b.picture_type == picture_type::I && (b.sequence_header || b.group)
            }
            _ => b.random_access,
        };
        if keyframe && self.headers.track.is_none() {
            self.headers.track = self.describe();
        }
        Some(VideoUnit {
            len: end,
            anchor: b.picture.unwrap_or(b.start).min(end),
            keyframe,
            whole: b.whole,
            order: match self.codec {
                Some(VideoCodec::Mpeg) => b.temporal_reference.map(i64::from),
                _ => order.map(|(order, _)| order),
            },
            new_group: match self.codec {
                Some(VideoCodec::Mpeg) => b.group || b.sequence_header,
                _ => order.is_some_and(|(_, restart)| restart),
            },
        })
    }

    /// Ends the header in progress at `end`, keeping it for the
    /// description (an SEI: noting a recovery point).
    fn end_pending(&mut self, buf: &[u8], end: usize) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let bytes = &buf[pending.start..end.max(pending.start)];
        // NAL units end at their last non-zero byte (an RBSP's stop bit);
        // MPEG headers may end in zero bits that are theirs.
        let bytes = match self.codec {
            Some(VideoCodec::Mpeg) => bytes,
            _ => &bytes[..trim_trailing_zeros(bytes)],
        };
        if bytes.is_empty() || bytes.len() > MAX_HEADER_NAL {
            return;
        }
        match self.codec {
            Some(VideoCodec::Mpeg) => {
                self.headers.sequence = Some(Bytes::copy_from_slice(bytes));
            }
            Some(VideoCodec::H264) if pending.kind == h264_type::SEI => {
                if let (Some(_), Some(b)) = (recovery_point(bytes), &mut self.building) {
                    b.random_access = true;
                }
            }
            Some(codec) => {
                self.order.parameter_set(codec, bytes);
                let sets = &mut self.headers.parameter_sets;
                if sets.len() < 64 && !sets.iter().any(|s| s[..] == *bytes) {
                    sets.push(Bytes::copy_from_slice(bytes));
                }
            }
            None => {}
        }
    }

    /// The track the headers seen describe, if they do.
    fn describe(&self) -> Option<Track> {
        match self.codec? {
            VideoCodec::Mpeg => mpeg_track(self.headers.sequence.as_ref()?),
            VideoCodec::H264 => {
                let of_type = |t: u8| {
                    self.headers
                        .parameter_sets
                        .iter()
                        .filter(move |n| nal_unit_type(n[0]) == t)
                };
                let sps = of_type(h264_type::SPS).next()?;
                let info = SpsInfo::new(&h264::parse_sps(sps).ok()?).ok()?;
                let sets = of_type(h264_type::SPS)
                    .take(1)
                    .chain(of_type(h264_type::PPS))
                    .cloned()
                    .collect();
                Some(crate::media::h264::video_track(&info, sets))
            }
            VideoCodec::Hevc => {
                let sets = &self.headers.parameter_sets;
                let params = StreamParams::from_nal_units(sets.iter().map(|n| &n[..]))?;
                let rate = if fits_clock(params.frame_rate) {
                    params.frame_rate
                } else {
                    crate::codec::DEFAULT_FRAME_RATE
                };
                let mut ordered: Vec<Bytes> = Vec::new();
                for t in [hevc_type::VPS, hevc_type::SPS, hevc_type::PPS] {
                    ordered.extend(
                        sets.iter()
                            .filter(|n| NalHeader::parse(n).is_some_and(|h| h.nal_type == t))
                            .cloned(),
                    );
                }
                Some(crate::media::hevc::video_track(&params, rate, ordered))
            }
        }
    }
}

/// Whether the start code whose syntax (value byte on) is `syntax` opens
/// a new unit after the unit `b` (which has a slice).
fn starts_unit(codec: VideoCodec, b: &Building, syntax: &[u8]) -> bool {
    b.sliced
        && match codec {
            VideoCodec::Mpeg => matches!(
                syntax[0],
                start_code::SEQUENCE_HEADER | start_code::GROUP | start_code::PICTURE
            ),
            _ => opens_unit(codec, syntax),
        }
}

/// Whether the start code whose syntax is `syntax` can be the first of an
/// access unit: an MPEG sequence header, GOP or picture; an H.264 access
/// unit delimiter, SEI, parameter set (§7.4.1.2.3) or a slice with
/// `first_mb_in_slice` 0; an H.265 unit that starts one (§7.4.2.4.4).
fn opens_unit(codec: VideoCodec, syntax: &[u8]) -> bool {
    let value = syntax[0];
    match codec {
        VideoCodec::Mpeg => matches!(
            value,
            start_code::SEQUENCE_HEADER | start_code::GROUP | start_code::PICTURE
        ),
        VideoCodec::H264 => {
            let t = nal_unit_type(value);
            value & 0x80 == 0
                && (h264::starts_access_unit(t)
                    || (has_slice_header(t) && first_mb_in_slice(syntax) == Some(0)))
        }
        VideoCodec::Hevc => NalHeader::parse(syntax).is_some_and(|h| {
            h.starts_access_unit(hevc::first_slice_segment_in_pic(syntax).unwrap_or(false))
        }),
    }
}

/// Where the unit whose start code prefix is at `p` starts: in H.264 and
/// H.265, at the `zero_byte` before it when there is one (a 4-byte start
/// code, §B.1.2 of each); in MPEG video at the prefix (a zero byte before
/// it may end the header before, whose last fields can be zero).
fn unit_start(codec: Option<VideoCodec>, buf: &[u8], p: usize) -> usize {
    if codec != Some(VideoCodec::Mpeg) && p > 0 && buf[p - 1] == 0 {
        p - 1
    } else {
        p
    }
}

/// The coding of a video stream whose first start code value is `value`:
/// an MPEG sequence header, GOP or picture; else an H.265 access unit
/// delimiter or parameter set; else H.264.
pub(crate) fn sniff(value: u8) -> VideoCodec {
    match value {
        start_code::SEQUENCE_HEADER | start_code::GROUP | start_code::PICTURE => VideoCodec::Mpeg,
        v if matches!((v >> 1) & 0x3f, 32..=35) && v & 0x81 == 0 => VideoCodec::Hevc,
        _ => VideoCodec::H264,
    }
}

/// Sample aspect ratios of MPEG-1 `pel_aspect_ratio` codes 1–14 (ISO/IEC
/// 11172-2 §2.4.3.2 gives height/width), as FFmpeg reports them: the
/// inverse of the table's ratio as the nearest fraction of terms up to
/// 255 (`av_d2q(1 / ratio, 255)`).
const MPEG1_SAR: [(u32, u32); 14] = [
    (1, 1),
    (49, 33),
    (64, 45),
    (239, 182),
    (36, 29),
    (32, 27),
    (169, 151),
    (178, 163),
    (54, 53),
    (196, 201),
    (187, 200),
    (200, 219),
    (127, 147),
    (134, 161),
];

/// The track an MPEG sequence header (start code included, with its
/// extensions after it) describes.
fn mpeg_track(sequence: &Bytes) -> Option<Track> {
    let header = SequenceHeader::parse(sequence.get(4..)?).ok()?;
    let extension = crate::codec::mpeg_video::start_codes(sequence)
        .filter(|c| c.code == start_code::EXTENSION)
        .find(|c| sequence.get(c.body()).map(|b| b >> 4) == Some(extension_id::SEQUENCE))
        .and_then(|c| SequenceExtension::parse(&sequence[c.body()..]).ok());
    let ext = extension.as_ref();
    let (width, height) = (header.width(ext), header.height(ext));
    let code = header.aspect_ratio_code;
    let sample_aspect_ratio = match ext {
        // ISO/IEC 13818-2 Table 6-3: display aspect ratios; the sample
        // one is DAR × height / width (FFmpeg ignores the display size).
        Some(_) => match code {
            1 => Rational::new(1, 1),
            2..=4 => {
                let (n, d) = [(4, 3), (16, 9), (221, 100)][usize::from(code - 2)];
                Rational::reduced(n * u64::from(height), d * u64::from(width))
            }
            _ => None,
        },
        None => MPEG1_SAR
            .get(usize::from(code).wrapping_sub(1))
            .and_then(|&(n, d)| Rational::new(n, d)),
    };
    let mut track = Track::new(
        0,
        if ext.is_some() {
            Codec::Mpeg2Video
        } else {
            Codec::Mpeg1Video
        },
        CLOCK_RATE,
    );
    track.config.extradata = sequence.clone();
    track.profile = ext.and_then(|e| e.profile_name()).map(str::to_owned);
    // 0x3ffff: variable bit rate (ISO/IEC 11172-2 §2.4.3.2).
    track.bit_rate = (header.bit_rate_value != 0x3ffff).then(|| header.bit_rate(ext));
    let rate = header.frame_rate(ext).filter(|&r| fits_clock(r));
    track.params = TrackParams::Video(VideoParams {
        frame_rate: rate,
        sample_aspect_ratio,
        pix_fmt: Some(ext.map_or("yuv420p", |e| e.pix_fmt())),
        level: ext.map(|e| Level {
            idc: u32::from(e.level()),
            name: match e.level() {
                4 => "High",
                6 => "High 1440",
                8 => "Main",
                10 => "Low",
                _ => "",
            }
            .to_owned(),
        }),
        ..VideoParams::new(width, height)
    });
    Some(track)
}

#[cfg(test)]
mod tests {
    use std::ops::Range;

    use super::*;
    use crate::vocab::testing::fixture;

    /// Cuts `data` fed in `chunk`-byte pieces, as a PES reader would.
    fn split(
        codec: Option<VideoCodec>,
        data: &[u8],
        chunk: usize,
    ) -> (Vec<(Range<usize>, VideoUnit)>, VideoSplitter) {
        let mut s = VideoSplitter::new(codec);
        let mut units = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut base = 0;
        let mut fed = 0;
        loop {
            let eof = fed == data.len();
            match s.next(&buf, eof) {
                Some(Ok(unit)) => {
                    units.push((base..base + unit.len, unit));
                    buf.drain(..unit.len);
                    s.consumed(unit.len);
                    base += unit.len;
                }
                Some(Err(junk)) => {
                    buf.drain(..junk);
                    s.consumed(junk);
                    base += junk;
                }
                None if eof => return (units, s),
                None => {
                    let n = chunk.min(data.len() - fed);
                    buf.extend_from_slice(&data[fed..fed + n]);
                    fed += n;
                }
            }
        }
    }

    #[test]
    fn h264_and_hevc_fixtures_split_as_their_readers_do() {
        for (name, codec, frames) in [
            ("h264_bframes.264", VideoCodec::H264, 50),
            ("h264_odd_ntsc_slices.264", VideoCodec::H264, 60),
            ("hevc_bframes.265", VideoCodec::Hevc, 50),
        ] {
            let data = fixture(name);
            for chunk in [184, 2000, 1 << 20] {
                let (units, s) = split(None, &data, chunk);
                assert_eq!(units.len(), frames, "{name} in {chunk}-byte pieces");
                assert!(units.iter().all(|(_, u)| u.whole && u.anchor == 0));
                assert!(units[0].1.keyframe, "{name}");
                assert_eq!(units.last().unwrap().0.end, data.len());
                let track = s.track().unwrap();
                assert_eq!(
                    track.codec,
                    if codec == VideoCodec::H264 {
                        Codec::H264
                    } else {
                        Codec::Hevc
                    }
                );
                assert!(track.video().is_some());
            }
        }
    }

    #[test]
    fn a_tail_first_is_not_whole_and_junk_is_dropped() {
        let data = fixture("h264_bframes.264");
        let (whole, _) = split(None, &data, 4096);
        // From inside the first unit's slice data: junk up to the next
        // start code, which opens the second unit.
        let from = whole[0].0.end - 100;
        let (units, _) = split(Some(VideoCodec::H264), &data[from..], 4096);
        assert_eq!(units.len(), whole.len() - 1);
        assert!(units[0].1.whole);
    }
}
