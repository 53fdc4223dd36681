//! The codec mappings of Ogg: how each codec's first packet names it, how
//! many header packets follow, what its granule position counts, and how
//! long each data packet lasts.
//!
//! | codec | first packet | headers | granule position | packet duration |
//! | --- | --- | --- | --- | --- |
//! | Vorbis (Vorbis I §4.2, §A.2) | `\x01vorbis` | 3 | samples at the end of the last packet completed | `previous/4 + current/4` block sizes (§1.3.2), 0 for the first |
//! | Theora (Theora §6, §A.2) | `\x80theora` | 3 | key frame number `<< KFGSHIFT` + frames since | one frame |
//! | Opus (RFC 7845 §3–§5) | `OpusHead` | 2 | samples at 48 kHz, pre-skip included (§4) | the TOC's (RFC 6716 §3.1) |
//! | Speex (Speex manual §7.2) | `Speex   ` | 2 + `extra_headers` | samples | `frames_per_packet × frame_size` |
//! | FLAC (Ogg FLAC mapping 1.0) | `\x7fFLAC` | 1 + the count it states | samples | the frame header's block size (RFC 9639 §9.1.1) |
//!
//! Positions here are in the granule's units (samples, or frames for
//! Theora), the position of a packet's end; [`Mapping::ticks`] turns them
//! into the track's clock.

use bytes::Bytes;

use super::super::{AudioParams, Track, TrackParams, VideoParams};
use crate::codec::flac::{self, StreamInfo};
use crate::codec::header::HeaderError;
use crate::codec::opus::{self, OpusHead};
use crate::codec::speex::SpeexHeader;
use crate::codec::theora;
use crate::codec::vorbis::{self, samples_between, VorbisTiming};
use crate::codec::xiph::XiphHeaders;
use crate::vocab::{Codec, TrackKind};

/// The RTP clock of Theora, which its units are timed in
/// (draft-barbato-avt-rtp-theora §2.2).
const THEORA_CLOCK: u32 = 90_000;

/// What a logical stream's first packet says it carries.
pub(super) enum Identified {
    /// A codec this reader reads, and how many header packets it has
    /// (`None`: until the first audio frame, for FLAC streams that do not
    /// state it).
    Codec(Mapping, Option<usize>),
    /// An Ogg Skeleton stream (metadata about the others): not a track.
    Skeleton,
    /// Something else, named for the warning.
    Unknown(String),
}

/// A codec mapping and the state its packet durations need.
#[derive(Clone, Debug)]
pub(super) enum Mapping {
    /// Vorbis, with its modes' block sizes once the setup header is read,
    /// and the previous packet's block size.
    Vorbis {
        /// From the identification and setup headers.
        timing: Option<VorbisTiming>,
        /// The block size of the packet before; `None` at the start of the
        /// stream and after a discontinuity, where a decoder outputs
        /// nothing for the first packet.
        previous: Option<u16>,
    },
    /// Theora.
    Theora(theora::Identification),
    /// Opus.
    Opus(OpusHead),
    /// Speex (described, not streamed).
    Speex(SpeexHeader),
    /// FLAC (described, not streamed).
    Flac(StreamInfo),
}

/// Names the codec of the stream whose first packet is `packet`.
pub(super) fn identify(packet: &[u8]) -> Result<Identified, HeaderError> {
    Ok(if packet.starts_with(b"\x01vorbis") {
        vorbis::Identification::parse(packet)?;
        Identified::Codec(
            Mapping::Vorbis {
                timing: None,
                previous: None,
            },
            Some(3),
        )
    } else if packet.starts_with(b"\x80theora") {
        Identified::Codec(
            Mapping::Theora(theora::Identification::parse(packet)?),
            Some(3),
        )
    } else if packet.starts_with(b"OpusHead") {
        Identified::Codec(Mapping::Opus(OpusHead::parse(packet)?), Some(2))
    } else if SpeexHeader::is_header(packet) {
        let header = SpeexHeader::parse(packet)?;
        let headers = 2 + header.extra_headers as usize;
        Identified::Codec(Mapping::Speex(header), Some(headers))
    } else if packet.starts_with(b"\x7fFLAC") {
        // 0x7F "FLAC", version 1.0, header packets after this one (16
        // bits, 0: unknown), "fLaC", then the STREAMINFO block with its
        // 4-byte block header.
        if packet.len() < 13 || &packet[9..13] != b"fLaC" {
            return Err(HeaderError::at(9, "Ogg FLAC header without fLaC"));
        }
        let info = StreamInfo::parse(packet.get(17..).unwrap_or_default())
            .map_err(|e| HeaderError::at(17 + e.offset, e.reason))?;
        let more = usize::from(u16::from_be_bytes([packet[7], packet[8]]));
        Identified::Codec(Mapping::Flac(info), (more > 0).then_some(1 + more))
    } else if packet.starts_with(b"fishead\0") {
        Identified::Skeleton
    } else {
        let name: String = packet
            .iter()
            .take(8)
            .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
            .collect();
        Identified::Unknown(name)
    })
}

impl Mapping {
    /// The codec's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            Mapping::Vorbis { .. } => "Vorbis",
            Mapping::Theora(_) => "Theora",
            Mapping::Opus(_) => "Opus",
            Mapping::Speex(_) => "Speex",
            Mapping::Flac(_) => "FLAC",
        }
    }

    /// Whether `packet`, met while a FLAC stream's header count is
    /// unknown, is still a header (a metadata block, not a frame).
    pub fn is_header(&self, packet: &[u8]) -> bool {
        !matches!(self, Mapping::Flac(_)) || packet.first().is_some_and(|&b| b != 0xff)
    }

    /// Reads the complete header packets (the first one included) and
    /// describes the track they make, as `index`; also returns what a later
    /// chain's stream must share with it to continue the track (what the
    /// SDP states of it).
    pub fn describe(
        &mut self,
        index: usize,
        headers: &[Bytes],
    ) -> Result<(Track, Bytes), HeaderError> {
        let xiph = || -> Result<XiphHeaders, HeaderError> {
            match headers {
                [identification, comment, setup, ..] => Ok(XiphHeaders {
                    identification: identification.clone(),
                    comment: comment.clone(),
                    setup: setup.clone(),
                }),
                _ => Err(HeaderError::at(0, "fewer than 3 header packets")),
            }
        };
        let first = &headers[0];
        Ok(match self {
            Mapping::Vorbis { timing, .. } => {
                let xiph = xiph()?;
                let t = VorbisTiming::from_headers(&xiph)?;
                let id = t.identification;
                let mut track = Track::new(index, Codec::Vorbis, id.sample_rate);
                track.bit_rate = u64::try_from(id.bitrate_nominal).ok().filter(|&b| b > 0);
                track.params =
                    TrackParams::Audio(AudioParams::new(id.sample_rate, u16::from(id.channels)));
                track.config.extradata = xiph.to_codec_private();
                *timing = Some(t);
                let key = [&xiph.identification[..], &xiph.setup[..]].concat();
                (track, Bytes::from(key))
            }
            Mapping::Theora(id) => {
                let xiph = xiph()?;
                let mut track = Track::new(index, Codec::Theora, THEORA_CLOCK);
                let (width, height) = id.display_size();
                track.params = TrackParams::Video(VideoParams {
                    frame_rate: Some(id.frame_rate),
                    sample_aspect_ratio: id.pixel_aspect,
                    pix_fmt: Some(id.pixel_format.name()),
                    ..VideoParams::new(width, height)
                });
                track.bit_rate = Some(u64::from(id.bit_rate)).filter(|&b| b > 0);
                track.config.extradata = xiph.to_codec_private();
                let key = [&xiph.identification[..], &xiph.setup[..]].concat();
                (track, Bytes::from(key))
            }
            Mapping::Opus(head) => {
                let mut track = Track::new(index, Codec::Opus, opus::SAMPLE_RATE);
                track.params = TrackParams::Audio(AudioParams::new(
                    opus::SAMPLE_RATE,
                    u16::from(head.channels),
                ));
                track.config.extradata = first.clone();
                (track, Bytes::from(vec![head.channels, head.mapping_family]))
            }
            Mapping::Speex(header) => {
                let codec = Codec::Other(TrackKind::Audio, "speex".into());
                let mut track = Track::new(index, codec, header.sample_rate);
                track.params =
                    TrackParams::Audio(AudioParams::new(header.sample_rate, header.channels));
                track.bit_rate = u64::try_from(header.bit_rate).ok().filter(|&b| b > 0);
                let key = [
                    &header.sample_rate.to_le_bytes()[..],
                    &header.channels.to_le_bytes(),
                ];
                (track, Bytes::from(key.concat()))
            }
            Mapping::Flac(info) => {
                let codec = Codec::Other(TrackKind::Audio, "flac".into());
                let mut track = Track::new(index, codec, info.sample_rate);
                track.params =
                    TrackParams::Audio(AudioParams::new(info.sample_rate, info.channels));
                let key = [
                    &info.sample_rate.to_le_bytes()[..],
                    &info.channels.to_le_bytes(),
                ];
                (track, Bytes::from(key.concat()))
            }
        })
    }

    /// The duration of data packet `packet`, in positions, and whether it
    /// is a random access point. A packet that does not parse is an error
    /// (the caller drops it).
    pub fn packet(&mut self, packet: &[u8]) -> Result<(u64, bool), HeaderError> {
        Ok(match self {
            Mapping::Vorbis { timing, previous } => {
                let timing = timing
                    .as_ref()
                    .ok_or_else(|| HeaderError::at(0, "Vorbis packet before the setup header"))?;
                let current = timing.blocksize(packet)?;
                let samples = previous.map_or(0, |p| samples_between(p, current));
                *previous = Some(current);
                (u64::from(samples), true)
            }
            Mapping::Theora(_) => {
                if packet.first().is_some_and(|b| b & 0x80 != 0) {
                    return Err(HeaderError::at(0, "Theora header packet among frames"));
                }
                (1, theora::is_keyframe(packet))
            }
            Mapping::Opus(_) => (u64::from(opus::packet_samples(packet)?), true),
            Mapping::Speex(header) => (u64::from(header.packet_samples()), true),
            Mapping::Flac(_) => (u64::from(flac::block_size(packet)?), true),
        })
    }

    /// The packets that follow are not the ones after the last packet seen
    /// (a seek, a lost page): a Vorbis decoder starting there outputs
    /// nothing for the first.
    pub fn discontinuity(&mut self) {
        if let Mapping::Vorbis { previous, .. } = self {
            *previous = None;
        }
    }

    /// The position at the end of the last packet completed on a page of
    /// granule position `granule`.
    pub fn position(&self, granule: u64) -> i64 {
        let position = match self {
            Mapping::Theora(id) => id.frames_at(granule),
            _ => granule,
        };
        i64::try_from(position).unwrap_or(i64::MAX)
    }

    /// The time of `position` in the track's clock (Opus: its PCM sample
    /// position, the granule position less the pre-skip, RFC 7845 §4.2).
    pub fn ticks(&self, position: i64) -> i64 {
        match self {
            Mapping::Theora(id) => {
                let rate = id.frame_rate;
                let num = i128::from(position) * i128::from(THEORA_CLOCK) * i128::from(rate.den);
                let den = i128::from(rate.num);
                i64::try_from((2 * num + den).div_euclid(2 * den)).unwrap_or(i64::MAX)
            }
            Mapping::Opus(head) => position.saturating_sub(i64::from(head.pre_skip)),
            _ => position,
        }
    }

    /// Where the output of a stream whose first packet starts at
    /// `position` begins, in the track's clock: Opus decoders discard the
    /// pre-skip (RFC 7845 §4.2).
    pub fn output_start(&self, position: i64) -> i64 {
        match self {
            Mapping::Opus(_) => position,
            _ => self.ticks(position),
        }
    }

    /// The position where the unit covering track time `ticks` starts
    /// (Theora: the index of the frame containing it, from 0): a page
    /// whose position is at most this holds only earlier units, which is
    /// what seeking bisects for.
    pub fn position_of(&self, ticks: i64) -> i64 {
        match self {
            Mapping::Theora(id) => {
                let rate = id.frame_rate;
                let frames = i128::from(ticks) * i128::from(rate.num)
                    / (i128::from(THEORA_CLOCK) * i128::from(rate.den));
                i64::try_from(frames).unwrap_or(i64::MAX)
            }
            Mapping::Opus(head) => ticks.saturating_add(i64::from(head.pre_skip)),
            _ => ticks,
        }
    }

    /// The key frame number a Theora granule position names (§A.2.3):
    /// the frame count up to and including it, as [`position`](Self::position) counts.
    pub fn keyframe_position(&self, granule: u64) -> Option<i64> {
        match self {
            Mapping::Theora(id) => {
                let shift = u32::from(id.keyframe_shift);
                let key = granule.checked_shr(shift).unwrap_or(0);
                Some(self.position(key.checked_shl(shift).unwrap_or(0)))
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codecs_are_named_by_their_first_packet() {
        let vorbis = crate::codec::vorbis::tests::identification(2, 44100);
        assert!(matches!(
            identify(&vorbis),
            Ok(Identified::Codec(Mapping::Vorbis { .. }, Some(3)))
        ));
        let theora = crate::codec::theora::tests::identification();
        assert!(matches!(
            identify(&theora),
            Ok(Identified::Codec(Mapping::Theora(_), Some(3)))
        ));
        let speex = crate::codec::speex::tests::header(16000, 1);
        assert!(matches!(
            identify(&speex),
            Ok(Identified::Codec(Mapping::Speex(_), Some(2)))
        ));
        assert!(matches!(
            identify(b"fishead\0rest"),
            Ok(Identified::Skeleton)
        ));
        match identify(b"\x80kate\0\0\0more") {
            Ok(Identified::Unknown(name)) => assert_eq!(name, ".kate..."),
            _ => panic!("not unknown"),
        }
        assert!(identify(b"\x01vorbis\0").is_err());
        assert!(identify(b"OpusHead").is_err());
        assert!(identify(b"\x7fFLAC\x01\x00\x00\x00fLaX").is_err());
    }

    #[test]
    fn theora_times_frames_on_the_90_khz_clock() {
        let id =
            theora::Identification::parse(&crate::codec::theora::tests::identification()).unwrap();
        let theora = Mapping::Theora(id);
        // 25 fps: 3600 ticks a frame; granule 2 << 6 | 3 ends frame 5.
        assert_eq!(theora.position((2 << 6) | 3), 5);
        assert_eq!(theora.ticks(5), 18000);
        assert_eq!(theora.position_of(18000), 5);
        assert_eq!(theora.position_of(17999), 4);
        assert_eq!(theora.keyframe_position((2 << 6) | 3), Some(2));
    }
}
