//! MPEG-1/2 video over RTP, RFC 2250 §3 (`MPV`, static payload type 32,
//! RFC 3551 §6): the 4-byte video-specific header (§3.4), and for MPEG-2
//! pictures the 4-byte MPEG-2 video-specific header extension (§3.4.1),
//! before a run of whole slices or a fragment of one; the marker bit on a
//! picture's last packet (§2).
//!
//! Sent: TR, P and the motion vector fields from the picture header; S on
//! the packet holding a sequence header; B and E at slice boundaries (a
//! packet starts at a slice, or at the headers before the first; a slice
//! larger than a packet is fragmented, §3.2); T=1 with the picture coding
//! extension's fields for MPEG-2 (and the composite display fields when D
//! is set). The sequence header (with its extensions) is repeated before
//! each GOP that lacks it, so a receiver can start at any GOP. Not sent: the
//! AN and N bits (AN=0: the N bit is unused, §3.4), and the optional
//! extensions after the MPEG-2 header extension (E=0): the bitstream
//! carries them. The depacketizer reads every header field and skips those
//! extensions.

use bytes::Bytes;

use super::frame_assembly::FrameAssembler;
use super::{
    boxed, Depacketizer, Packetizer, PayloadDescription, PayloadFormat, PayloadHeader,
    ReceivedPacket, ReceivedUnit, RtpError, RtpPayload,
};
use crate::codec::mpeg_video::{
    extension_id, extension_id_at, start_code, start_codes, PictureCodingExtension, PictureHeader,
};
use crate::media::{AccessUnit, Track};
use crate::vocab::clock::rescale;
use crate::vocab::{Codec, TrackKind};

/// RTP clock of MPV (RFC 3551 §6, RFC 2250 §3.3).
const CLOCK: u32 = 90000;

/// The static payload type of MPV (RFC 3551 Table 5).
const PAYLOAD_TYPE: u8 = 32;

/// Bytes of the video-specific header, of the MPEG-2 header extension,
/// and of the composite display fields after it (§3.4, §3.4.1).
const HEADER_LEN: usize = 4;
const EXTENSION_LEN: usize = 4;

/// Bits of the video-specific header (§3.4).
const T: u32 = 1 << 26;
const S: u32 = 1 << 13;
const B: u32 = 1 << 12;
const E: u32 = 1 << 11;
/// Bits of the MPEG-2 header extension (§3.4.1): E (extensions follow)
/// and D (composite display fields follow).
const EXT_E: u32 = 1 << 30;
const EXT_D: u32 = 1;

/// The registry entry: `MPV/90000`, payload type 32.
pub const FORMAT: PayloadFormat = PayloadFormat {
    encodings: &["MPV"],
    packetizer: |track, _| {
        matches!(track.codec, Codec::Mpeg1Video | Codec::Mpeg2Video)
            .then(|| boxed(Ok(MpvPacketizer::new(track))))
    },
    depacketizer: |_| Ok(Box::new(MpvDepacketizer::new())),
};

/// Where the headers and slices of one picture are.
#[derive(Default)]
struct Layout {
    /// The sequence header and what follows it up to the GOP header,
    /// picture or first slice: its extensions and user data.
    sequence_headers: Option<std::ops::Range<usize>>,
    /// Whether a GOP header is present.
    gop: bool,
    picture: Option<PictureHeader>,
    coding_extension: Option<PictureCodingExtension>,
    /// Offsets of the slice start codes.
    slices: Vec<usize>,
}

impl Layout {
    fn of(data: &[u8]) -> Layout {
        let mut layout = Layout::default();
        let mut sequence_start = None;
        for c in start_codes(data) {
            let end_sequence = |layout: &mut Layout, start: &mut Option<usize>| {
                if let Some(from) = start.take() {
                    layout.sequence_headers = Some(from..c.offset);
                }
            };
            match c.code {
                start_code::SEQUENCE_HEADER => sequence_start = Some(c.offset),
                start_code::GROUP => {
                    end_sequence(&mut layout, &mut sequence_start);
                    layout.gop = true;
                }
                start_code::PICTURE => {
                    end_sequence(&mut layout, &mut sequence_start);
                    layout.picture = PictureHeader::parse(&data[c.body()..]).ok();
                }
                start_code::EXTENSION
                    if layout.picture.is_some()
                        && extension_id_at(data, &c) == Some(extension_id::PICTURE_CODING) =>
                {
                    layout.coding_extension = PictureCodingExtension::parse(&data[c.body()..]).ok();
                }
                code if start_code::is_slice(code) => {
                    end_sequence(&mut layout, &mut sequence_start);
                    layout.slices.push(c.offset);
                }
                _ => {}
            }
        }
        if let Some(from) = sequence_start {
            layout.sequence_headers = Some(from..data.len());
        }
        layout
    }

    /// The video-specific header (§3.4) without S, B and E, and the MPEG-2
    /// header extension words (§3.4.1) when `mpeg2`.
    fn header_words(&self, mpeg2: bool) -> (u32, Option<(u32, Option<u32>)>) {
        let mut word = 0;
        if let Some(p) = &self.picture {
            word |= u32::from(p.temporal_reference) << 16 | u32::from(p.picture_type) << 8;
            if let Some((full_pel, f_code)) = p.backward {
                word |= u32::from(full_pel) << 7 | u32::from(f_code) << 4;
            }
            if let Some((full_pel, f_code)) = p.forward {
                word |= u32::from(full_pel) << 3 | u32::from(f_code);
            }
        }
        let extension = self.coding_extension.filter(|_| mpeg2).map(|e| {
            let f = e.f_code;
            let flags = [
                e.top_field_first,
                e.frame_pred_frame_dct,
                e.concealment_motion_vectors,
                e.q_scale_type,
                e.intra_vlc_format,
                e.alternate_scan,
                e.repeat_first_field,
                e.chroma_420_type,
                e.progressive_frame,
                e.composite_display.is_some(),
            ]
            .iter()
            .fold(0u32, |acc, &flag| acc << 1 | u32::from(flag));
            let ext = u32::from(f[0][0]) << 26
                | u32::from(f[0][1]) << 22
                | u32::from(f[1][0]) << 18
                | u32::from(f[1][1]) << 14
                | u32::from(e.intra_dc_precision) << 12
                | u32::from(e.picture_structure) << 10
                | flags;
            (ext, e.composite_display)
        });
        if extension.is_some() {
            word |= T;
        }
        (word, extension)
    }
}

/// RFC 2250 MPV packetizer.
pub struct MpvPacketizer {
    clock_rate: u32,
    mpeg2: bool,
    /// The latest sequence header with its extensions, repeated before GOPs
    /// that lack one.
    sequence_headers: Option<Bytes>,
}

impl MpvPacketizer {
    /// A packetizer for an MPEG-1 or MPEG-2 video track; a sequence header
    /// in its configuration (MP4 and Matroska keep one there) is the first
    /// to repeat.
    pub fn new(track: &Track) -> MpvPacketizer {
        let config = &track.config.extradata;
        let sequence_headers = Layout::of(config)
            .sequence_headers
            .map(|range| config.slice(range));
        MpvPacketizer {
            clock_rate: track.clock_rate,
            mpeg2: track.codec == Codec::Mpeg2Video,
            sequence_headers,
        }
    }
}

impl Packetizer for MpvPacketizer {
    /// RFC 3551 §6: `MPV/90000`, payload type 32, no parameters.
    fn description(&self) -> PayloadDescription {
        PayloadDescription {
            media: TrackKind::Video,
            static_payload_type: Some(PAYLOAD_TYPE),
            encoding: "MPV",
            clock_rate: CLOCK,
            channels: None,
            fmtp: None,
        }
    }

    /// The longest header (with the MPEG-2 extension and composite display
    /// fields) and a start code: a picture's first packet holds the start
    /// code a receiver recognizes it by.
    fn min_payload(&self) -> usize {
        let start_code = 4;
        if self.mpeg2 {
            HEADER_LEN + 2 * EXTENSION_LEN + start_code
        } else {
            HEADER_LEN + start_code
        }
    }

    fn append_payloads(
        &mut self,
        unit: &AccessUnit,
        max_payload: usize,
        out: &mut Vec<RtpPayload>,
    ) -> Result<(), RtpError> {
        if unit.data.is_empty() {
            return Err(RtpError::BadUnit("empty MPEG video picture".into()));
        }
        let mut data = unit.data.clone();
        let mut layout = Layout::of(&data);
        match (&layout.sequence_headers, &self.sequence_headers) {
            (Some(range), _) => self.sequence_headers = Some(data.slice(range.clone())),
            (None, Some(stored)) if layout.gop => {
                data = [&stored[..], &data[..]].concat().into();
                layout = Layout::of(&data);
            }
            _ => {}
        }
        let (word, extension) = layout.header_words(self.mpeg2);
        let mut header = PayloadHeader::new();
        header.extend_from_slice(&word.to_be_bytes());
        if let Some((ext, composite)) = extension {
            header.extend_from_slice(&ext.to_be_bytes());
            if let Some(fields) = composite {
                header.extend_from_slice(&fields.to_be_bytes());
            }
        }
        let chunk = max_payload - header.len();
        // Packets start at slices, the headers going with the first slice.
        let cuts: Vec<usize> = layout
            .slices
            .iter()
            .skip(1)
            .copied()
            .chain(std::iter::once(data.len()))
            .collect();
        let timestamp = rescale(unit.pts, self.clock_rate, CLOCK) as u32;
        let sequence_at = layout.sequence_headers.as_ref().map(|r| r.start);
        let first = out.len();
        let mut emit = |range: std::ops::Range<usize>, begin: bool, end: bool| {
            let mut word = word;
            if sequence_at.is_some_and(|at| range.contains(&at)) {
                word |= S;
            }
            if begin {
                word |= B;
            }
            if end {
                word |= E;
            }
            let mut header = header.clone();
            header[..4].copy_from_slice(&word.to_be_bytes());
            out.push(RtpPayload {
                header,
                data: data.slice(range),
                marker: false,
                timestamp,
            });
        };
        let (mut pos, mut next_cut) = (0, 0);
        while pos < data.len() {
            // Whole slices while they fit.
            let mut end = pos;
            while next_cut < cuts.len() && cuts[next_cut] - pos <= chunk {
                end = cuts[next_cut];
                next_cut += 1;
            }
            if end > pos {
                emit(pos..end, true, true);
                pos = end;
                continue;
            }
            // A slice larger than a packet, in fragments.
            let slice_end = cuts[next_cut];
            next_cut += 1;
            let slice_start = pos;
            while pos < slice_end {
                let piece_end = (pos + chunk).min(slice_end);
                emit(pos..piece_end, pos == slice_start, piece_end == slice_end);
                pos = piece_end;
            }
        }
        if let Some(last) = out[first..].last_mut() {
            last.marker = true;
        }
        Ok(())
    }
}

/// The fields of an RFC 2250 §3.4 video-specific header a receiver needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoHeader {
    /// TR: the picture's temporal reference.
    pub temporal_reference: u16,
    /// P: picture coding type (1 I, 2 P, 3 B, 4 D).
    pub picture_type: u8,
    /// S: a sequence header is in the packet.
    pub sequence_header: bool,
    /// B: the payload starts at a slice (or the headers before one).
    pub begin_slice: bool,
    /// E: the payload ends at the end of a slice.
    pub end_slice: bool,
    /// Bytes of the headers: 4, plus the MPEG-2 extension and what follows
    /// it.
    pub len: usize,
}

impl VideoHeader {
    /// Parses the headers at the start of a payload.
    pub fn parse(p: &[u8]) -> Result<VideoHeader, &'static str> {
        let word = |at: usize| -> Result<u32, &'static str> {
            p.get(at..at + 4)
                .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
                .ok_or("video-specific header cut off")
        };
        let main = word(0)?;
        let mut len = HEADER_LEN;
        if main & T != 0 {
            let ext = word(len)?;
            len += EXTENSION_LEN;
            if ext & EXT_D != 0 {
                word(len)?;
                len += EXTENSION_LEN;
            }
            if ext & EXT_E != 0 {
                // The first byte gives the extensions' length in 32-bit
                // words, itself included.
                let words = *p.get(len).ok_or("extensions cut off")?;
                if words == 0 {
                    return Err("extensions of zero length");
                }
                len += 4 * usize::from(words);
            }
        }
        if p.len() <= len {
            return Err("no MPEG video data after the header");
        }
        Ok(VideoHeader {
            temporal_reference: (main >> 16 & 0x3ff) as u16,
            picture_type: (main >> 8 & 7) as u8,
            sequence_header: main & S != 0,
            begin_slice: main & B != 0,
            end_slice: main & E != 0,
            len,
        })
    }
}

/// RFC 2250 MPV depacketizer: a picture runs from the packet that starts
/// it to the one with the marker bit. A packet starts a picture when no
/// picture of its timestamp is being assembled, B is set and its data
/// starts with a start code other than a slice's (a sequence, GOP or
/// picture header); a picture's later packets may start with such a start
/// code too (FFmpeg cuts before a picture header that does not fit).
pub struct MpvDepacketizer {
    frames: FrameAssembler,
}

impl MpvDepacketizer {
    /// Nothing received yet.
    pub fn new() -> MpvDepacketizer {
        MpvDepacketizer {
            frames: FrameAssembler::new("MPV"),
        }
    }
}

impl Default for MpvDepacketizer {
    fn default() -> Self {
        MpvDepacketizer::new()
    }
}

impl Depacketizer for MpvDepacketizer {
    fn push(
        &mut self,
        packet: &ReceivedPacket,
        out: &mut Vec<ReceivedUnit>,
    ) -> Result<(), RtpError> {
        self.frames.receive(packet.sequence);
        let h = VideoHeader::parse(&packet.payload).map_err(|e| self.frames.malformed(e))?;
        let data = &packet.payload[h.len..];
        let continues = self.frames.frame_timestamp() == Some(packet.timestamp);
        if let [0, 0, 1, code, ..] = data {
            if h.begin_slice && !continues && !start_code::is_slice(*code) {
                self.frames.start(packet.timestamp);
            }
        }
        self.frames.append(packet.timestamp, &[data])?;
        if packet.marker {
            self.frames.end(out);
        }
        Ok(())
    }

    fn finish(&mut self, _out: &mut Vec<ReceivedUnit>) {
        self.frames.drop_frame();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::bits::pack;
    use crate::rtp::tests::{depacketize, packet, receive, unit};
    use proptest::prelude::*;

    fn sc(code: u8, body: &[u8]) -> Vec<u8> {
        [&[0, 0, 1, code][..], body].concat()
    }

    const SEQUENCE: [u8; 8] = [0x0a, 0x00, 0x78, 0x23, 0xff, 0xff, 0xe0, 0x28];
    const SEQUENCE_EXTENSION: [u8; 6] = [0x14, 0x8a, 0x00, 0x01, 0x00, 0x00];

    /// A B picture (TR 3, forward f_code 7 full pel, backward f_code 2)
    /// with a picture coding extension (f_codes 1 2 / 3 4, frame, top field
    /// first, progressive) and `slices` of `len` bytes.
    fn b_picture(slices: usize, len: usize) -> Vec<u8> {
        let mut p = sc(
            0x00,
            &pack(&[
                (10, 3),
                (3, 3),
                (16, 0xffff),
                (1, 1),
                (3, 7),
                (1, 0),
                (3, 2),
            ]),
        );
        p.extend(sc(
            0xb5,
            &pack(&[
                (4, 8),
                (4, 1),
                (4, 2),
                (4, 3),
                (4, 4),
                (2, 0),
                (2, 3),
                (1, 1),
                (7, 0),
                (1, 1),
                (1, 0),
            ]),
        ));
        for i in 0..slices {
            let mut body = vec![0x5a; len - 4];
            body[0] = i as u8;
            p.extend(sc(1 + i as u8, &body));
        }
        p
    }

    fn gop() -> Vec<u8> {
        sc(0xb8, &[0x00, 0x08, 0x00, 0x40])
    }

    fn sequence() -> Vec<u8> {
        [sc(0xb3, &SEQUENCE), sc(0xb5, &SEQUENCE_EXTENSION)].concat()
    }

    fn packetizer(codec: Codec) -> MpvPacketizer {
        MpvPacketizer::new(&Track::new(0, codec, 90000))
    }

    #[test]
    fn mpeg2_headers_slices_and_markers() {
        let picture = [sequence(), gop(), b_picture(3, 100)].concat();
        let mut p = packetizer(Codec::Mpeg2Video);
        assert_eq!(p.description().payload_type(5), 32);
        assert_eq!(p.description().rtpmap(), "MPV/90000");
        let mut out = Vec::new();
        p.packetize(&unit(7, picture.clone()), 260, &mut out)
            .unwrap();
        // Headers and two slices, then the third slice.
        assert_eq!(out.len(), 2);
        let first_len = picture.len() - 100;
        assert_eq!(out[0].data.len(), first_len);
        // T, TR 3, S, B, E, P=3, FBV 0 BFC 2, FFV 1 FFC 7.
        assert_eq!(out[0].header[..4], [0x04, 0x03, 0x3b, 0x2f]);
        assert_eq!(out[1].header[..4], [0x04, 0x03, 0x1b, 0x2f]);
        // f_codes 1 2 3 4, DC 0, PS 3, T=1, progressive (G).
        assert_eq!(out[0].header[4..], [0x04, 0x8d, 0x0e, 0x02]);
        assert_eq!(
            out.iter().map(|p| p.marker).collect::<Vec<_>>(),
            [false, true]
        );
        let back = depacketize(&mut MpvDepacketizer::new(), &receive(&out));
        assert_eq!(
            back,
            [ReceivedUnit {
                timestamp: 7,
                data: picture.into()
            }]
        );
    }

    #[test]
    fn large_slices_are_fragmented_with_b_and_e() {
        let picture = [gop(), b_picture(2, 300)].concat();
        let mut out = Vec::new();
        packetizer(Codec::Mpeg1Video)
            .packetize(&unit(0, picture.clone()), 204, &mut out)
            .unwrap();
        // MPEG-1: no extension header; the first slice with the headers
        // (326 bytes) in two pieces, the second (300) in two.
        assert!(out.iter().all(|p| p.header.len() == 4 && p.len() <= 204));
        let be: Vec<u8> = out.iter().map(|p| p.header[2] & 0x18).collect();
        assert_eq!(be, [0x10, 0x08, 0x10, 0x08]);
        let back = depacketize(&mut MpvDepacketizer::new(), &receive(&out));
        assert_eq!(back[0].data, picture);
    }

    #[test]
    fn the_sequence_header_is_repeated_before_gops() {
        let mut track = Track::new(0, Codec::Mpeg2Video, 90000);
        track.config.extradata = sequence().into();
        let mut p = MpvPacketizer::new(&track);
        let mut out = Vec::new();
        let with_gop = [gop(), b_picture(1, 20)].concat();
        p.packetize(&unit(0, with_gop.clone()), 1400, &mut out)
            .unwrap();
        p.packetize(&unit(3600, b_picture(1, 20)), 1400, &mut out)
            .unwrap();
        assert_eq!(out[0].header[2] & 0x20, 0x20, "S");
        assert_eq!(out[1].header[2] & 0x20, 0);
        let back = depacketize(&mut MpvDepacketizer::new(), &receive(&out));
        assert_eq!(back[0].data, [sequence(), with_gop].concat());
        assert_eq!(back[1].data, b_picture(1, 20));
    }

    #[test]
    fn composite_display_and_extensions_are_read() {
        // T with D and E: 4 + 4 + 4 + 8 bytes of headers.
        let mut payload = vec![0x04, 0x00, 0x19, 0x01, 0x40, 0x00, 0x00, 0x01, 0, 0, 0, 0];
        payload.extend([2, 0, 0, 0, 0, 0, 0, 0]);
        payload.extend(sc(0xb3, &SEQUENCE));
        let h = VideoHeader::parse(&payload).unwrap();
        assert_eq!((h.len, h.picture_type, h.begin_slice), (20, 1, true));
        for cut in 0..=20 {
            assert!(VideoHeader::parse(&payload[..cut]).is_err(), "{cut}");
        }
        let mut zero = payload.clone();
        zero[12] = 0;
        assert!(VideoHeader::parse(&zero).is_err());
        let mut d = MpvDepacketizer::new();
        let mut out = Vec::new();
        let mut p = packet(0, 1, &payload);
        p.marker = true;
        d.push(&p, &mut out).unwrap();
        assert_eq!(out[0].data, sc(0xb3, &SEQUENCE));
    }

    #[test]
    fn pictures_without_their_first_packet_are_dropped() {
        let pictures = [[gop(), b_picture(3, 100)].concat(), b_picture(3, 100)];
        let mut p = packetizer(Codec::Mpeg2Video);
        let mut payloads = Vec::new();
        for (i, pic) in pictures.iter().enumerate() {
            p.packetize(&unit(i as i64 * 3600, pic.clone()), 120, &mut payloads)
                .unwrap();
        }
        let mut packets = receive(&payloads);
        packets.remove(0);
        let back = depacketize(&mut MpvDepacketizer::new(), &packets);
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].data, pictures[1]);
    }

    #[test]
    fn fragments_starting_at_a_start_code_continue_the_picture() {
        // No slices: the headers are cut in 10-byte pieces (B=0 after the
        // first), one of which starts at the picture start code.
        let picture = [sequence(), gop(), b_picture(0, 0)].concat();
        let mut out = Vec::new();
        packetizer(Codec::Mpeg2Video)
            .packetize(&unit(0, picture.clone()), 18, &mut out)
            .unwrap();
        assert!(out[1..].iter().any(|p| p.data.starts_with(&[0, 0, 1, 0])));
        let back = depacketize(&mut MpvDepacketizer::new(), &receive(&out));
        assert_eq!(back[0].data, picture);
    }

    #[test]
    fn a_picture_header_in_a_later_packet_continues_the_picture() {
        // As FFmpeg cuts when the headers and first slice do not fit: the
        // sequence and GOP headers alone, then the picture with B=1.
        let mut d = MpvDepacketizer::new();
        let mut out = Vec::new();
        let first = [&[0, 0, 0x38, 0][..], &sequence(), &gop()].concat();
        d.push(&packet(0, 9, &first), &mut out).unwrap();
        let mut second = packet(1, 9, &[&[0, 3, 0x1b, 0x2f][..], &b_picture(1, 10)].concat());
        second.marker = true;
        d.push(&second, &mut out).unwrap();
        assert_eq!(out[0].data, [sequence(), gop(), b_picture(1, 10)].concat());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]

        #[test]
        fn any_pictures_round_trip_at_any_payload_size(
            pictures in prop::collection::vec((0usize..6, 5usize..2000, any::<bool>()), 1..5),
            max in 16usize..1500,
        ) {
            let mut p = packetizer(Codec::Mpeg2Video);
            let mut payloads = Vec::new();
            let mut expected = Vec::new();
            for (i, &(slices, len, with_sequence)) in pictures.iter().enumerate() {
                let head = if with_sequence { [sequence(), gop()].concat() } else { Vec::new() };
                let data: Bytes = [head, b_picture(slices, len)].concat().into();
                p.packetize(&unit(i as i64 * 3600, data.clone()), max, &mut payloads).unwrap();
                expected.push(ReceivedUnit { timestamp: i as u32 * 3600, data });
            }
            prop_assert!(payloads.iter().all(|p| p.len() <= max));
            let out = depacketize(&mut MpvDepacketizer::new(), &receive(&payloads));
            prop_assert_eq!(out, expected);
        }
    }
}
