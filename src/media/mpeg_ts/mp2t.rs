//! A transport stream served whole, as one RFC 2250 MP2T stream (what
//! set-top boxes and IPTV clients expect): one track of [`Codec::Mp2t`]
//! whose units are runs of whole 188-byte packets (192-byte M2TS packets
//! lose their 4-byte arrival time stamp), paced by the program's PCR.
//!
//! A run goes from a packet carrying a PCR of the program up to the next
//! one (at most [`MAX_RUN`] packets); it is due when its PCR says and
//! lasts until the next PCR, so the packetizer spreads its packets over the
//! interval as the PCR does (`rtp/mp2t.rs`). Packets before the first PCR
//! are due with it; a run without a PCR of its own (one cut at
//! [`MAX_RUN`]) follows the one before at that one's packet rate, as does
//! the last run of the file. The PCR's 27 MHz clock is the track's clock;
//! presentation time 0 is the first PCR, and PCR discontinuities are
//! bridged as in the tracks reading (`mpeg_pes::timeline`).
//!
//! Seeking finds the key frame as the tracks reading does (the elementary
//! streams are read for it) and restarts the packets at the earliest PES
//! packet needed, the program's PAT and PMT packets sent first so that a
//! receiver that joins there can decode.

use std::time::Duration;

use bytes::{Bytes, BytesMut};

use super::packet::{PacketHeader, SYNC_BYTE, TS_PACKET};
use super::{TransportStreamReader, TsLayer};
use crate::media::mpeg_pes::engine::{Engine, SystemLayer};
use crate::media::mpeg_pes::timeline::Timeline;
use crate::media::{AccessUnit, BytesReader, Demuxer, MediaError, ReaderFormat, Result, Track};
use crate::vocab::clock::{sample_at, time_of};
use crate::vocab::Codec;

/// The reading of a transport stream as one MP2T track, chosen by the
/// `ts_mode: mp2t` option (see [`crate::media::ReadOptions`]); detection
/// never picks it.
pub static READ_AS_MP2T: ReaderFormat = ReaderFormat {
    name: "mpegts",
    long_name: "MPEG transport stream, served whole as MP2T",
    extensions: &[],
    sniff: super::sniff,
    open: |input| Ok(Box::new(Mp2tReader::new(input)?)),
};

/// The clock of MP2T units: the PCR's 27 MHz.
pub(crate) const CLOCK_RATE: u32 = 27_000_000;

/// Most packets in one run: a stream without PCR for this long is cut into
/// runs anyway (768 KiB).
pub(crate) const MAX_RUN: usize = 4096;

/// A run of packets read.
#[derive(Clone, Debug)]
struct Run {
    /// Whole 188-byte packets.
    data: Bytes,
    packets: usize,
    /// The 27 MHz continuous time of its first packet's PCR, if it has one.
    pcr: Option<i64>,
}

/// Reads a transport stream as runs of packets.
pub struct Mp2tReader {
    /// The tracks reading of the same file, which seeking uses.
    engine: Engine<TsLayer>,
    tracks: Vec<Track>,
    timeline: Timeline,
    /// The 27 MHz continuous time of presentation time 0: the first PCR.
    origin: i64,
    /// The run after the one handed out last (read ahead for its PCR).
    next: Option<Run>,
    /// When the last run handed out ended.
    cursor: Option<i64>,
    /// 27 MHz ticks per packet of the last PCR interval.
    per_packet: Option<f64>,
    /// Packets to send before the next run (PAT and PMT, after a seek).
    prefix: Option<Bytes>,
    ended: bool,
}

impl Mp2tReader {
    /// Opens a transport stream to serve whole.
    pub fn new(input: BytesReader) -> Result<Mp2tReader> {
        let mut engine = TransportStreamReader::new(input)?.into_engine();
        let layer = engine.layer_mut();
        let start = layer.data_start();
        let first = layer.clock_after(start, crate::media::mpeg_pes::engine::SCAN_LIMIT)?;
        layer.restart(start)?;
        let Some((_, base)) = first else {
            return Err(MediaError::Unsupported(
                "serving a transport stream whole (MP2T) needs a PCR to pace it; this one has \
                 none in its first 16 MiB"
                    .into(),
            ));
        };
        let mut track = Track::new(0, Codec::Mp2t, CLOCK_RATE);
        track.bit_rate = None;
        let mut timeline = Timeline::default();
        let origin = timeline.clock(base, start, false) * 300;
        timeline.rewind();
        Ok(Mp2tReader {
            engine,
            tracks: vec![track],
            timeline,
            origin,
            next: None,
            cursor: None,
            per_packet: None,
            prefix: None,
            ended: false,
        })
    }

    /// The next run of packets, from a PCR packet of the program up to the
    /// next one; `None` at the end of the file.
    fn read_run(&mut self) -> Result<Option<Run>> {
        let layer = self.engine.layer_mut();
        let framing = layer.framing();
        let pcr_pid = layer.pcr_pid();
        let Some(offset) = layer.next_packet()? else {
            return Ok(None);
        };
        let input = layer.input_mut();
        let mut count = 0;
        let mut pcr = None;
        loop {
            let need = (count + 1) * framing.len;
            let buf = input.peek(need)?;
            if buf.len() < need {
                break;
            }
            let packet = &buf[count * framing.len + framing.prefix..][..TS_PACKET];
            if packet[0] != SYNC_BYTE {
                // Junk follows: the next run starts after it.
                break;
            }
            if let Ok(PacketHeader {
                pid,
                pcr: Some((base, extension)),
                discontinuity,
                ..
            }) = PacketHeader::parse(packet)
            {
                if Some(pid) == pcr_pid {
                    if count > 0 {
                        break;
                    }
                    pcr = Some((base, extension, discontinuity));
                }
            }
            count += 1;
            if count == MAX_RUN {
                break;
            }
        }
        let data = if framing.prefix == 0 {
            input.take(count * TS_PACKET)
        } else {
            let mut out = BytesMut::with_capacity(count * TS_PACKET);
            let all = input.take(count * framing.len);
            for packet in all.chunks_exact(framing.len) {
                out.extend_from_slice(&packet[framing.prefix..]);
            }
            out.freeze()
        };
        let pcr = pcr.map(|(base, extension, discontinuity)| {
            self.timeline.clock(base, offset, discontinuity) * 300 + i64::from(extension)
        });
        Ok(Some(Run {
            data,
            packets: count,
            pcr,
        }))
    }
}

impl Demuxer for Mp2tReader {
    fn format(&self) -> &'static ReaderFormat {
        &READ_AS_MP2T
    }

    fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    fn read_unit(&mut self) -> Result<Option<AccessUnit>> {
        if self.ended {
            return Ok(None);
        }
        let run = match self.next.take() {
            Some(run) => run,
            None => match self.read_run()? {
                Some(run) => run,
                None => {
                    self.ended = true;
                    return Ok(None);
                }
            },
        };
        self.next = self.read_run()?;
        let next_pcr = self.next.as_ref().and_then(|r| r.pcr);
        let start = run.pcr.or(self.cursor).or(next_pcr).unwrap_or(self.origin);
        let duration = match next_pcr {
            Some(next) if next >= start => {
                if run.pcr.is_some() {
                    self.per_packet = Some((next - start) as f64 / run.packets as f64);
                }
                next - start
            }
            _ => self
                .per_packet
                .map_or(0, |rate| (rate * run.packets as f64).round() as i64),
        };
        self.cursor = Some(start + duration);
        let data = match self.prefix.take() {
            Some(prefix) => [prefix, run.data].concat().into(),
            None => run.data,
        };
        Ok(Some(AccessUnit {
            track: 0,
            pts: start - self.origin,
            dts: start - self.origin,
            duration: u32::try_from(duration).unwrap_or(u32::MAX),
            keyframe: true,
            data,
        }))
    }

    /// Seeks the tracks reading (the key frame at or before the PTS
    /// `time` after the first PCR, the other tracks aligned) and sends the
    /// packets from where it restarted; returns when the first of them is
    /// due.
    fn seek(&mut self, time: Duration) -> Result<Duration> {
        let ticks = i64::try_from(sample_at(time, 90_000)).unwrap_or(i64::MAX);
        let target = (self.origin / 300).saturating_add(ticks);
        let relative = target.saturating_sub(self.engine.origin()).max(0);
        if time.is_zero() {
            // The start: every packet from the first.
            let start = self.engine.layer_mut().data_start();
            self.engine.layer_mut().restart(start)?;
        } else {
            self.engine
                .seek(time_of(u64::try_from(relative).unwrap_or(0), 90_000))?;
        }
        let layer = self.engine.layer_mut();
        let restart = layer.position();
        let start = layer.data_start();
        let first_pcr = layer.clock_after(restart, crate::media::mpeg_pes::engine::SCAN_LIMIT)?;
        layer.restart(restart)?;
        self.prefix = (restart > start)
            .then(|| {
                layer
                    .psi_packets()
                    .cloned()
                    .collect::<Vec<Bytes>>()
                    .concat()
                    .into()
            })
            .filter(|p: &Bytes| !p.is_empty());
        if restart <= start {
            self.timeline.rewind();
        } else {
            self.timeline
                .restart(restart, first_pcr.map(|(_, raw)| raw));
        }
        self.next = None;
        self.cursor = None;
        self.ended = false;
        let at = match first_pcr {
            Some((offset, raw)) if restart > start => self.timeline.clock_at(raw, offset) * 300,
            Some(_) => self.origin,
            None => {
                // Nothing paced after the key frame: the end.
                self.ended = true;
                return Ok(time);
            }
        };
        let npt = (at - self.origin).max(0);
        Ok(time_of(u64::try_from(npt).unwrap_or(0), CLOCK_RATE))
    }
}
