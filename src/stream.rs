//! The media pipeline shared by `packetize` and `serve`: access units from a
//! [`Demuxer`] through each track's payload format and RTP sender, merged
//! into one sequence of timed outgoing RTP and RTCP packets.
//!
//! Pure and synchronous: nothing here sleeps or does I/O beyond the
//! demuxer's reads. Each packet carries the time at which a sender pacing in
//! real time would send it, derived from the media timestamps; a server
//! sleeps until then, `packetize` stamps captures with it.
//!
//! # Timelines
//!
//! *Send time* is one monotonic timeline for the life of the stream (it does
//! not restart at a seek or a loop). A segment starts at media time `T` at
//! send time `S`, when everything sent before has been presented. With
//! `D0` the lowest decoding time of the segment's first units, its media
//! are presented from `E = S + max(0, T - D0)`, and a unit with decoding
//! time `dts` goes out at `E + dts - T`: the first unit at `S` (when it is
//! decoded before `T`: a key frame followed by B-frames, an audio frame
//! that starts before a seek position), the others keeping their
//! decoding-time spacing, as a sender pacing by decoding time does. RTP
//! timestamps follow the same timeline: the RTP time of send time `s` is
//! `base + s * rate` (RFC 3550 §5.1: a random base, then a clock advancing
//! with the media), so a unit's timestamp is `base + (E + pts - T) * rate`
//! and a unit goes out by its presentation time (but for the leading
//! pictures of an open GOP after a seek: decoded after the segment's key
//! frame, presented before it). Sequence numbers and timestamps continue
//! across seeks and loops, and every sender report maps wall-clock
//! `anchor + s` to RTP time `base + s * rate` (§6.4.1) for all tracks
//! alike, which is what receivers need for lip sync.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use crate::media::{AccessUnit, Demuxer, MediaError};
use crate::rtp::rtcp::RtcpMessage;
use crate::rtp::{
    self, rtcp, PacketHead, Packetizer, PayloadDescription, RtpError, RtpPayload, RtpSender,
    SenderOptions, RTP_HEADER_LEN,
};
use crate::vocab::clock::rescale;
use crate::vocab::TrackKind;

/// Nanoseconds per second: the resolution of the stream's timelines, much
/// finer than any RTP clock, so conversions to and from it are exact.
const NS: u32 = 1_000_000_000;

/// Units buffered while waiting for a slow track before the earliest is sent
/// anyway (bounds memory when a selected track is sparse).
const MAX_QUEUED_UNITS: usize = 512;

/// How far past the play position [`MediaStream::cue`] generates packets
/// looking for a track's first one (ns): bounds what a track that never
/// comes costs.
const CUE_LIMIT: i64 = 2 * NS as i64;

/// How long after the end of the presentation the RTCP BYE of an ending
/// stream or range goes out (RFC 3550 §6.6 sets no time; §6.3.7 allows a
/// delay). Receivers stop at BYE, and ffmpeg reads a stream's RTCP socket
/// before its RTP socket when both hold data, as GStreamer's UDP sources
/// stop on BYE with packets still unread: a receiver that wakes late (a
/// loaded machine) would drop its last packets if the BYE came at once.
pub const BYE_GRACE: Duration = Duration::from_millis(500);

/// What a [`MediaStream`] sends and how.
#[derive(Clone, Debug)]
pub struct StreamConfig {
    /// File track indexes to stream; empty means every track RTP can carry.
    pub tracks: Vec<usize>,
    /// Largest RTP payload in bytes (see [`max_payload_for_mtu`]).
    pub max_payload: usize,
    /// Media time between RTCP sender reports of a track (RFC 3550 §6.2
    /// suggests 5 s as the minimum interval).
    pub rtcp_interval: Duration,
    /// Restart at the end of the file instead of ending the stream.
    pub looping: bool,
    /// The RTCP CNAME of every track (RFC 3550 §6.5.1: one per session
    /// participant, `user@host` style).
    pub cname: String,
    /// Wall-clock time of send time zero: the NTP side of the sender
    /// reports until [`MediaStream::play`] sets it again.
    pub wallclock: SystemTime,
    /// RTP header fields to use instead of random ones, by file track index.
    pub senders: BTreeMap<usize, SenderOptions>,
}

impl Default for StreamConfig {
    fn default() -> StreamConfig {
        StreamConfig {
            tracks: Vec::new(),
            max_payload: max_payload_for_mtu(1500, false).unwrap_or(1460),
            rtcp_interval: Duration::from_secs(5),
            looping: false,
            cname: format!("mediatool@{}", hostname()),
            wallclock: SystemTime::now(),
            senders: BTreeMap::new(),
        }
    }
}

/// The largest RTP payload an IP packet of `mtu` bytes can carry over UDP:
/// the MTU minus the IPv4 (20) or IPv6 (40) header, UDP (8) and RTP (12)
/// headers. `None` when nothing is left.
pub fn max_payload_for_mtu(mtu: usize, ipv6: bool) -> Option<usize> {
    let ip = if ipv6 { 40 } else { 20 };
    mtu.checked_sub(ip + 8 + RTP_HEADER_LEN).filter(|&n| n > 0)
}

/// The machine's name, read once (every stream's default CNAME has it).
fn hostname() -> &'static str {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_owned())
    })
}

/// Why a stream cannot start or continue.
#[derive(Debug, thiserror::Error)]
pub enum StreamError {
    /// Reading the file failed.
    #[error(transparent)]
    Media(#[from] MediaError),
    /// A track's payload format refused the track or one of its units.
    #[error("track {track}: {error}")]
    Rtp {
        /// File track index.
        track: usize,
        /// What the payload format said: in the message, and so not the
        /// error's `source()` too (a printed chain would repeat it).
        error: RtpError,
    },
    /// A selected track index the file does not have.
    #[error("track {track} does not exist: the file has {count} track(s), 0 to {last}", last = count.saturating_sub(1))]
    NoSuchTrack {
        /// The index asked for.
        track: usize,
        /// How many tracks the file has.
        count: usize,
    },
    /// No track of the file can be carried over RTP.
    #[error("no track can be streamed over RTP{0}")]
    NothingToStream(String),
}

/// One track of a stream as the session description and RTSP need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamTrack {
    /// File track index.
    pub index: usize,
    /// The payload format in SDP terms.
    pub description: PayloadDescription,
    /// The payload type in the RTP headers.
    pub payload_type: u8,
    /// The SSRC of the track's RTP sender.
    pub ssrc: u32,
}

/// RTP or RTCP: which of a track's two ports the packet goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// An RTP data packet.
    Rtp,
    /// A compound RTCP packet.
    Rtcp,
}

/// One packet to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingPacket {
    /// When to send it, on the stream's send timeline (see the module docs).
    pub send_time: Duration,
    /// File track index.
    pub track: usize,
    /// RTP or RTCP.
    pub kind: PacketKind,
    /// The whole packet, RTP header included.
    pub data: Bytes,
}

/// One packet to send with its bytes in two parts, which follow each other
/// on the wire: what [`MediaStream::next_packet_parts`] returns, for a
/// sender that writes vectored and so never copies the media.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketParts {
    /// When to send it, on the stream's send timeline (see the module docs).
    pub send_time: Duration,
    /// File track index.
    pub track: usize,
    /// RTP or RTCP.
    pub kind: PacketKind,
    /// RTP: the RTP header and the payload format header; RTCP: empty.
    pub head: PacketHead,
    /// RTP: the media bytes, a slice of the access unit where the payload
    /// format allows; RTCP: the whole packet.
    pub body: Bytes,
}

impl PacketParts {
    /// The packet's length in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.body.len()
    }

    /// Whether the packet is empty (never true for a stream's packets).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The packet in one buffer (the media copied after the head; an RTCP
    /// packet is not copied).
    pub fn join(self) -> OutgoingPacket {
        let data = if self.head.is_empty() {
            self.body
        } else {
            let mut data = Vec::with_capacity(self.len());
            data.extend_from_slice(&self.head);
            data.extend_from_slice(&self.body);
            data.into()
        };
        OutgoingPacket {
            send_time: self.send_time,
            track: self.track,
            kind: self.kind,
            data,
        }
    }
}

impl From<OutgoingPacket> for PacketParts {
    fn from(packet: OutgoingPacket) -> PacketParts {
        PacketParts {
            send_time: packet.send_time,
            track: packet.track,
            kind: packet.kind,
            head: PacketHead::new(),
            body: packet.data,
        }
    }
}

/// Where a track resumes after [`MediaStream::play`]: the RTSP `RTP-Info`
/// fields (RFC 2326 §12.33).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpInfo {
    /// File track index.
    pub track: usize,
    /// Sequence number of the next RTP packet of the track.
    pub sequence: u16,
    /// The RTP timestamp of the track's next packet when it is queued (see
    /// [`MediaStream::cue`]), else the one of the play position (`npt` of
    /// [`PlayStart`]) as RFC 2326 §12.33 defines `rtptime`. They are equal
    /// but for audio after a seek, which starts with the frame containing
    /// the position: clients map the first packet to `npt`.
    pub rtptime: u32,
}

/// What [`MediaStream::play`] reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlayStart {
    /// The media position playback resumes at (RTSP `Range: npt=`).
    pub npt: Duration,
    /// The send time that maps to the wall-clock instant given to `play`:
    /// send the packet stamped `t` at `that instant + (t - send_time)`.
    pub send_time: Duration,
    /// One entry per track.
    pub rtp_info: Vec<RtpInfo>,
}

/// Per-track state of a stream.
struct TrackState {
    index: usize,
    kind: TrackKind,
    /// The track's timestamp clock (units' PTS/DTS).
    clock_rate: u32,
    /// The payload format's RTP clock.
    rtp_clock: u32,
    packetizer: Box<dyn Packetizer>,
    sender: RtpSender,
    description: PayloadDescription,
    queue: VecDeque<AccessUnit>,
    /// RTP ticks added to the packetizer's timestamps in this segment.
    ts_offset: i64,
    /// After a seek: drop units ending at or before this media time (ns),
    /// until one is kept (audio aligned to the video key frame).
    skip_until: Option<i64>,
    /// The end of the presentation of the units sent so far (their PTS
    /// plus duration), on the send timeline (ns).
    sent_end: i64,
    /// When the next sender report is due (ns on the send timeline).
    next_report: i64,
}

/// A generated packet waiting for its turn: ordered by send time, then by
/// generation order.
struct Queued {
    send: i64,
    order: u64,
    item: QueuedItem,
}

/// What waits in the queue.
enum QueuedItem {
    /// An RTP packet.
    Packet(PacketParts),
    /// A compound sender report (RFC 3550 §6.4.1) of `tracks[pos]`, with
    /// the counts `sender` had when it fell due. It is made when released,
    /// so that its wall-clock time follows the latest
    /// [`play`](MediaStream::play).
    Report {
        pos: usize,
        sender: RtpSender,
        /// Ends with the BYE of the end of the stream (§6.6).
        bye: bool,
    },
}

impl Queued {
    /// The RTP packet of file track `track`, if that is what this is.
    fn rtp_of(&self, track: usize) -> Option<&PacketParts> {
        match &self.item {
            QueuedItem::Packet(p) if p.track == track && p.kind == PacketKind::Rtp => Some(p),
            _ => None,
        }
    }
}

impl PartialEq for Queued {
    fn eq(&self, other: &Queued) -> bool {
        (self.send, self.order) == (other.send, other.order)
    }
}

impl Eq for Queued {}

impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Queued) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Queued {
    fn cmp(&self, other: &Queued) -> std::cmp::Ordering {
        (self.send, self.order).cmp(&(other.send, other.order))
    }
}

/// A file as a timed sequence of RTP and RTCP packets. See the module docs.
pub struct MediaStream {
    demuxer: Box<dyn Demuxer>,
    tracks: Vec<TrackState>,
    /// File track index -> position in `tracks`.
    by_index: Vec<Option<usize>>,
    /// Packets generated and not yet returned, earliest first.
    out: BinaryHeap<Reverse<Queued>>,
    /// Packets returned and handed back by [`unread`](Self::unread):
    /// returned again before `out`.
    returned: VecDeque<PacketParts>,
    /// Packets generated so far (the tie-break of `out`).
    generated: u64,
    payloads: Vec<RtpPayload>,
    max_payload: usize,
    rtcp_interval: i64,
    looping: bool,
    cname: String,
    /// Wall-clock time of send time zero.
    anchor: SystemTime,
    /// Send time at which the current segment's media time
    /// `segment_start` is presented (ns): `E` in the module docs.
    epoch: i64,
    /// Whether `epoch` still waits for the segment's first unit (see
    /// [`fix_origin`](Self::fix_origin)).
    origin_pending: bool,
    /// Media time the current segment starts at (ns).
    segment_start: i64,
    /// Send time of the latest unit generated (ns).
    cursor: i64,
    /// The latest send time of any packet generated (ns).
    last_send: i64,
    units_in_segment: u64,
    demux_done: bool,
    pending_error: Option<MediaError>,
    finished: bool,
    bytes_read: u64,
}

impl MediaStream {
    /// A stream of `config.tracks` of `demuxer`, positioned at its start.
    pub fn new(
        demuxer: Box<dyn Demuxer>,
        config: StreamConfig,
    ) -> Result<MediaStream, StreamError> {
        let file_tracks = demuxer.tracks().to_vec();
        let explicit = !config.tracks.is_empty();
        let mut wanted: Vec<usize> = if explicit {
            config.tracks.clone()
        } else {
            (0..file_tracks.len()).collect()
        };
        // Each track once, in the order first asked for.
        let mut seen = std::collections::HashSet::new();
        wanted.retain(|&i| seen.insert(i));
        let mut tracks = Vec::new();
        let mut skipped = Vec::new();
        for index in wanted {
            let track = file_tracks.get(index).ok_or(StreamError::NoSuchTrack {
                track: index,
                count: file_tracks.len(),
            })?;
            let packetizer = match rtp::packetizer(track) {
                Ok(p) => p,
                Err(error) if explicit => {
                    return Err(StreamError::Rtp {
                        track: index,
                        error,
                    })
                }
                Err(e) => {
                    tracing::warn!("track {index} is not streamed: {e}");
                    skipped.push(format!("track {index}: {e}"));
                    continue;
                }
            };
            if packetizer.min_payload() > config.max_payload {
                return Err(StreamError::Rtp {
                    track: index,
                    error: RtpError::PayloadTooSmall {
                        format: packetizer.description().encoding,
                        needed: packetizer.min_payload(),
                        available: config.max_payload,
                    },
                });
            }
            let description = packetizer.description();
            let options = config.senders.get(&index).copied().unwrap_or_default();
            let sender = RtpSender::new(
                description.payload_type(index),
                description.clock_rate,
                options,
            );
            tracks.push(TrackState {
                index,
                kind: track.kind(),
                clock_rate: track.clock_rate.max(1),
                rtp_clock: description.clock_rate.max(1),
                packetizer,
                sender,
                description,
                queue: VecDeque::new(),
                ts_offset: 0,
                skip_until: None,
                sent_end: 0,
                next_report: 0,
            });
        }
        if tracks.is_empty() {
            let why = if skipped.is_empty() {
                String::new()
            } else {
                format!(" ({})", skipped.join("; "))
            };
            return Err(StreamError::NothingToStream(why));
        }
        let mut by_index = vec![None; file_tracks.len()];
        for (pos, t) in tracks.iter().enumerate() {
            by_index[t.index] = Some(pos);
        }
        Ok(MediaStream {
            demuxer,
            tracks,
            by_index,
            out: BinaryHeap::new(),
            returned: VecDeque::new(),
            generated: 0,
            payloads: Vec::new(),
            max_payload: config.max_payload,
            rtcp_interval: duration_ns(config.rtcp_interval).max(1),
            looping: config.looping,
            cname: config.cname,
            anchor: config.wallclock,
            epoch: 0,
            origin_pending: true,
            segment_start: 0,
            cursor: 0,
            last_send: 0,
            units_in_segment: 0,
            demux_done: false,
            pending_error: None,
            finished: false,
            bytes_read: 0,
        })
    }

    /// The streamed tracks, in file track order as selected.
    pub fn tracks(&self) -> Vec<StreamTrack> {
        self.tracks
            .iter()
            .map(|t| StreamTrack {
                index: t.index,
                description: t.description.clone(),
                payload_type: t.sender.payload_type(),
                ssrc: t.sender.ssrc(),
            })
            .collect()
    }

    /// Bytes of access-unit data read from the file so far (for progress).
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The media position (NPT) of the send cursor: where playback is.
    pub fn position(&self) -> Duration {
        ns_duration(self.segment_start + (self.cursor - self.epoch).max(0))
    }

    /// The next packet in send order, `Ok(None)` after the final RTCP BYE.
    ///
    /// A read error is returned after every packet of the units read before
    /// it; the stream then ends (or can be [`seek`](Self::seek)ed).
    pub fn next_packet(&mut self) -> Result<Option<OutgoingPacket>, StreamError> {
        Ok(self.next_packet_parts()?.map(PacketParts::join))
    }

    /// [`next_packet`](Self::next_packet) with the packet's bytes in two
    /// parts, not joined.
    pub fn next_packet_parts(&mut self) -> Result<Option<PacketParts>, StreamError> {
        if let Some(packet) = self.returned.pop_front() {
            return Ok(Some(packet));
        }
        loop {
            if let Some(Reverse(first)) = self.out.peek() {
                // Release a packet once no unit still to packetize can
                // produce an earlier one.
                let due = first.send;
                let release = self.finished
                    || self
                        .next_track()
                        .is_none_or(|pos| due <= self.unit_send_time(pos));
                if release {
                    if let Some(Reverse(queued)) = self.out.pop() {
                        return Ok(Some(self.release(queued)));
                    }
                }
            }
            if !self.generate()? {
                return Ok(None);
            }
        }
    }

    /// Generates what comes next: the packets of the next unit, or at the
    /// end of the file the restart of a loop or the final BYE; `false` once
    /// the stream is finished.
    fn generate(&mut self) -> Result<bool, StreamError> {
        if self.finished {
            return Ok(false);
        }
        if let Some(pos) = self.next_track() {
            self.send_unit(pos)?;
        } else if let Some(e) = self.pending_error.take() {
            self.finished = true;
            return Err(e.into());
        } else if self.looping && self.units_in_segment > 0 {
            self.restart(Duration::ZERO)?;
        } else {
            // The BYE goes out a grace period after the last unit's
            // presentation ends, not with its last packet: a receiver that
            // stops at BYE (ffmpeg, GStreamer) still has that unit to take
            // from its RTP socket, and RTCP arrives on another socket.
            let end = self.presentation_end() + BYE_GRACE.as_nanos() as i64;
            for pos in 0..self.tracks.len() {
                self.enqueue_report(pos, end, true);
            }
            self.finished = true;
        }
        Ok(true)
    }

    /// Repositions the stream at the key frame at or before `npt` (audio
    /// tracks start at the frame containing that key frame's time) and
    /// returns the position reached. Packets not yet returned are dropped
    /// and their sequence numbers reused: numbering continues without gaps,
    /// and timestamps continue past everything already sent.
    pub fn seek(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        self.finished = false;
        self.restart(npt)
    }

    /// Takes back packets this stream returned that were never sent (a
    /// sender reading ahead stopped), in the order they were returned:
    /// they are returned again before anything else, so a later
    /// [`play`](Self::play) starts at the first of them and a
    /// [`seek`](Self::seek) reuses their sequence numbers. Sender reports
    /// among them are dropped and fall due again, to be made with the
    /// wall clock of the next `play` (RFC 3550 §6.4.1); the final BYE is
    /// made again in its turn.
    pub fn unread(&mut self, packets: impl IntoIterator<Item = PacketParts>) {
        let mut back = VecDeque::new();
        for packet in packets {
            if packet.kind == PacketKind::Rtp {
                back.push_back(packet);
                continue;
            }
            let Some(pos) = self.by_index.get(packet.track).copied().flatten() else {
                continue;
            };
            let at = duration_ns(packet.send_time);
            if rtcp::parse(&packet.body)
                .is_ok_and(|m| m.iter().any(|m| matches!(m, RtcpMessage::Bye { .. })))
            {
                self.enqueue_report(pos, at, true);
            } else {
                let t = &mut self.tracks[pos];
                t.next_report = t.next_report.min(at);
            }
        }
        back.append(&mut self.returned);
        self.returned = back;
    }

    /// Whether the stream has ended and returned everything: its final
    /// BYE, a read error, or [`goodbye`](Self::goodbye). A
    /// [`seek`](Self::seek) starts it again.
    pub fn has_ended(&self) -> bool {
        self.finished && self.out.is_empty() && self.returned.is_empty()
    }

    /// Generates packets until every track's next RTP packet is queued
    /// (or the stream ends, or 2 s of send time are queued), so that
    /// [`play`](Self::play) names those packets in RTP-Info. Reads the
    /// file.
    pub fn cue(&mut self) -> Result<(), StreamError> {
        let from = self.next_send_time();
        loop {
            let cued = self
                .tracks
                .iter()
                .all(|t| self.first_queued_rtp(t.index).is_some());
            // Every unit of the segment packetized (a track that ends
            // early has nothing to cue): the loop restart, the final BYE or
            // a read error come from `next_packet`, after what is queued.
            let exhausted = self.next_track().is_none();
            if cued || exhausted || self.finished || self.last_send - from > CUE_LIMIT {
                return Ok(());
            }
            self.generate()?;
        }
    }

    /// Declares that the next packet goes out at wall-clock `now`
    /// (playback starts or resumes): sender reports from now on map their
    /// send time to the wall clock from there (RFC 3550 §6.4.1). Returns
    /// where playback resumes and the RTP-Info of every track for the RTSP
    /// PLAY response (RFC 2326 §12.33); [`cue`](Self::cue) first for the
    /// exact first packet of each track.
    pub fn play(&mut self, now: SystemTime) -> PlayStart {
        let send_time = self.next_send_time();
        self.anchor = now.checked_sub(ns_duration(send_time)).unwrap_or(now);
        let rtp_info = self
            .tracks
            .iter()
            .map(|t| {
                let first = self
                    .first_queued_rtp(t.index)
                    .and_then(|p| rtp_sequence_and_timestamp(&p.head));
                let (sequence, rtptime) = first.unwrap_or_else(|| {
                    (
                        t.sender.next_sequence(),
                        t.sender.rtp_timestamp(ticks(send_time, t.rtp_clock)),
                    )
                });
                RtpInfo {
                    track: t.index,
                    sequence,
                    rtptime,
                }
            })
            .collect();
        PlayStart {
            npt: ns_duration(self.segment_start + (send_time - self.epoch).max(0)),
            send_time: ns_duration(send_time),
            rtp_info,
        }
    }

    /// Ends the stream now: a compound sender report, SDES and BYE for every
    /// track (RFC 3550 §6.6), stamped with the send time of the next packet
    /// that would have gone (what was read ahead and taken back with
    /// [`unread`](Self::unread) does not count as sent). Packets not yet
    /// returned are dropped (their sequence numbers reused after a
    /// [`seek`](Self::seek)), and later calls to
    /// [`next_packet`](Self::next_packet) return `None`.
    ///
    /// At the end of the file the stream sends its own BYE, at the end of
    /// the presentation of the last unit.
    pub fn goodbye(&mut self, reason: &str) -> Vec<OutgoingPacket> {
        let now = self.next_send_time();
        self.drop_unsent();
        self.finished = true;
        (0..self.tracks.len())
            .map(|pos| {
                let t = &self.tracks[pos];
                self.report(pos, &t.sender, now, Some(reason)).join()
            })
            .collect()
    }

    /// The send time of the next packet to return (ns).
    fn next_send_time(&self) -> i64 {
        match (self.returned.front(), self.out.peek()) {
            (Some(packet), _) => duration_ns(packet.send_time),
            (None, Some(Reverse(queued))) => queued.send,
            (None, None) => self.cursor,
        }
    }

    /// The first RTP packet of file track `track` still to return.
    fn first_queued_rtp(&self, track: usize) -> Option<&PacketParts> {
        let returned = self
            .returned
            .iter()
            .find(|p| p.track == track && p.kind == PacketKind::Rtp);
        returned.or_else(|| {
            self.out
                .iter()
                .map(|Reverse(q)| q)
                .filter(|q| q.rtp_of(track).is_some())
                .min()
                .and_then(|q| q.rtp_of(track))
        })
    }

    /// The send time at which the presentation of everything sent so far
    /// ends (ns): the latest unit's PTS plus duration, or the latest packet
    /// if that is later.
    fn presentation_end(&self) -> i64 {
        self.tracks
            .iter()
            .map(|t| t.sent_end)
            .fold(self.last_send, i64::max)
    }

    /// Drops every packet not yet returned, giving back the sequence
    /// numbers of the RTP ones.
    fn drop_unsent(&mut self) {
        let queued = self.out.drain().filter_map(|Reverse(q)| match q.item {
            QueuedItem::Packet(packet) => Some(packet),
            QueuedItem::Report { .. } => None,
        });
        let unsent: Vec<PacketParts> = self.returned.drain(..).chain(queued).collect();
        for packet in unsent {
            if packet.kind == PacketKind::Rtp {
                if let Some(pos) = self.by_index.get(packet.track).copied().flatten() {
                    self.tracks[pos]
                        .sender
                        .unsend(packet.len() - RTP_HEADER_LEN);
                }
            }
        }
    }

    /// Seeks the demuxer and starts a new segment at the end of everything
    /// sent so far.
    fn restart(&mut self, npt: Duration) -> Result<Duration, StreamError> {
        self.drop_unsent();
        let reached = self.demuxer.seek(npt)?;
        let start = duration_ns(reached);
        let epoch = self.presentation_end().max(self.cursor);
        self.epoch = epoch;
        self.origin_pending = true;
        self.cursor = epoch;
        self.segment_start = start;
        self.units_in_segment = 0;
        self.demux_done = false;
        self.pending_error = None;
        for t in &mut self.tracks {
            t.queue.clear();
            t.ts_offset = ticks(epoch - start, t.rtp_clock);
            t.skip_until = (t.kind != TrackKind::Video && start > 0).then_some(start);
        }
        Ok(reached)
    }

    /// The track whose queued unit goes next (a k-way merge of the
    /// per-track queues by decoding time), reading the demuxer until every
    /// track has a unit queued, the file ends, or too much is buffered.
    fn next_track(&mut self) -> Option<usize> {
        loop {
            let queued: usize = self.tracks.iter().map(|t| t.queue.len()).sum();
            let all_have_one = self.tracks.iter().all(|t| !t.queue.is_empty());
            if self.demux_done || all_have_one || queued >= MAX_QUEUED_UNITS {
                let (dts, pos) = self
                    .tracks
                    .iter()
                    .enumerate()
                    .filter_map(|(pos, t)| t.queue.front().map(|u| (ns(u.dts, t.clock_rate), pos)))
                    .min()?;
                if self.origin_pending {
                    self.fix_origin(dts);
                }
                return Some(pos);
            }
            match self.demuxer.read_unit() {
                Ok(Some(unit)) => self.route(unit),
                Ok(None) => self.demux_done = true,
                Err(e) => {
                    self.demux_done = true;
                    self.pending_error = Some(e);
                }
            }
        }
    }

    /// Fixes when the current segment is presented from the decoding time
    /// of its first unit, `first_dts` (ns): a unit decoded before the
    /// segment's start moves the presentation, and the RTP timestamps, that
    /// much later, so that the first unit goes out when the segment starts
    /// and the others keep their decoding-time spacing (see the module
    /// docs).
    fn fix_origin(&mut self, first_dts: i64) {
        self.origin_pending = false;
        self.epoch += (self.segment_start - first_dts).max(0);
        for t in &mut self.tracks {
            t.ts_offset = ticks(self.epoch - self.segment_start, t.rtp_clock);
        }
    }

    /// When the unit at the head of track `pos`'s queue is sent (ns): at
    /// its decoding time on the segment's timeline, never before a unit
    /// generated earlier.
    fn unit_send_time(&self, pos: usize) -> i64 {
        let t = &self.tracks[pos];
        let dts = t.queue.front().map_or(0, |u| ns(u.dts, t.clock_rate));
        self.cursor.max(self.epoch + dts - self.segment_start)
    }

    fn enqueue(&mut self, send: i64, item: QueuedItem) {
        self.last_send = self.last_send.max(send);
        self.generated += 1;
        self.out.push(Reverse(Queued {
            send,
            order: self.generated,
            item,
        }));
    }

    /// Queues a sender report of `tracks[pos]` at send time `at` (ns) with
    /// the track's counts as they are now.
    fn enqueue_report(&mut self, pos: usize, at: i64, bye: bool) {
        let sender = self.tracks[pos].sender.clone();
        self.enqueue(at, QueuedItem::Report { pos, sender, bye });
    }

    /// The packet of a queued item leaving the queue.
    fn release(&self, queued: Queued) -> PacketParts {
        match queued.item {
            QueuedItem::Packet(packet) => packet,
            QueuedItem::Report { pos, sender, bye } => {
                self.report(pos, &sender, queued.send, bye.then_some("end of stream"))
            }
        }
    }

    /// Queues a unit read from the demuxer on its track, unless the track is
    /// not streamed or the unit ends before a seek target.
    fn route(&mut self, unit: AccessUnit) {
        self.bytes_read += unit.data.len() as u64;
        let Some(pos) = self.by_index.get(unit.track).copied().flatten() else {
            return;
        };
        let t = &mut self.tracks[pos];
        if let Some(until) = t.skip_until {
            let end = ns(unit.pts + i64::from(unit.duration), t.clock_rate);
            if end <= until {
                return;
            }
            t.skip_until = None;
        }
        t.queue.push_back(unit);
    }

    /// Packetizes the unit at the head of track `pos`'s queue into RTP
    /// packets, and adds a sender report when one is due. Packets of one
    /// unit with later timestamps (PCM split by the MTU or 20 ms) are sent
    /// that much later.
    fn send_unit(&mut self, pos: usize) -> Result<(), StreamError> {
        let send = self.unit_send_time(pos);
        let t = &mut self.tracks[pos];
        let Some(unit) = t.queue.pop_front() else {
            return Ok(());
        };
        self.cursor = send;
        self.units_in_segment += 1;
        self.payloads.clear();
        t.packetizer
            .packetize(&unit, self.max_payload, &mut self.payloads)
            .map_err(|error| StreamError::Rtp {
                track: t.index,
                error,
            })?;
        let unit_ts = rescale(unit.pts, t.clock_rate, t.rtp_clock) as u32;
        // Each packet's head, and its media as a slice of the unit.
        let mut packets = Vec::with_capacity(self.payloads.len());
        for payload in &self.payloads {
            let mut head = PacketHead::new();
            t.sender.write_head(payload, t.ts_offset, &mut head);
            let later = i64::from(payload.timestamp.wrapping_sub(unit_ts) as i32).max(0);
            packets.push((
                send + ns(later, t.rtp_clock),
                PacketParts {
                    send_time: Duration::ZERO,
                    track: t.index,
                    kind: PacketKind::Rtp,
                    head,
                    body: payload.data.clone(),
                },
            ));
        }
        let end = ns(unit.pts + i64::from(unit.duration), t.clock_rate);
        t.sent_end = t.sent_end.max(self.epoch + end - self.segment_start);
        let report_due = send >= t.next_report;
        if report_due {
            t.next_report = send + self.rtcp_interval;
        }
        // The report follows the unit's last packet, so its counts are of
        // packets sent by then (RFC 3550 §6.4.1).
        let mut last = send;
        for (at, mut packet) in packets {
            packet.send_time = ns_duration(at);
            last = at;
            self.enqueue(at, QueuedItem::Packet(packet));
        }
        if report_due {
            self.enqueue_report(pos, last, false);
        }
        Ok(())
    }

    /// A compound RTCP packet for track `tracks[pos]` with the counts of
    /// `sender`, at send time `at` (ns), mapped to the wall clock of the
    /// latest [`play`](Self::play) (RFC 3550 §6.4.1).
    fn report(&self, pos: usize, sender: &RtpSender, at: i64, bye: Option<&str>) -> PacketParts {
        let t = &self.tracks[pos];
        let send_time = ns_duration(at);
        let ntp = rtcp::ntp_timestamp(self.anchor + send_time);
        let rtp_time = sender.rtp_timestamp(ticks(at, t.rtp_clock));
        PacketParts {
            send_time,
            track: t.index,
            kind: PacketKind::Rtcp,
            head: PacketHead::new(),
            body: rtcp::sender_report(sender, ntp, rtp_time, &self.cname, bye).into(),
        }
    }
}

/// The sequence number and timestamp in an RTP header (RFC 3550 §5.1).
fn rtp_sequence_and_timestamp(header: &[u8]) -> Option<(u16, u32)> {
    let sequence = header.get(2..4)?;
    let timestamp = header.get(4..8)?;
    Some((
        u16::from_be_bytes([sequence[0], sequence[1]]),
        u32::from_be_bytes([timestamp[0], timestamp[1], timestamp[2], timestamp[3]]),
    ))
}

/// `ticks` of a `rate` Hz clock in nanoseconds.
fn ns(ticks: i64, rate: u32) -> i64 {
    rescale(ticks, rate, NS)
}

/// Nanoseconds in ticks of a `rate` Hz clock.
fn ticks(ns: i64, rate: u32) -> i64 {
    rescale(ns, NS, rate)
}

fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

fn ns_duration(ns: i64) -> Duration {
    Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{AudioParams, ReaderFormat, Track, TrackParams};
    use crate::rtp::rtcp::RtcpMessage;
    use crate::vocab::{Codec, PcmFormat};

    /// An in-memory demuxer: units in file order, seeking to the last key
    /// frame of track 0 at or before the target.
    struct FakeDemuxer {
        tracks: Vec<Track>,
        units: Vec<AccessUnit>,
        next: usize,
        fail_at: Option<usize>,
    }

    impl Demuxer for FakeDemuxer {
        fn format(&self) -> &'static ReaderFormat {
            &crate::media::h264::FORMAT
        }
        fn tracks(&self) -> &[Track] {
            &self.tracks
        }
        fn read_unit(&mut self) -> crate::media::Result<Option<AccessUnit>> {
            if self.fail_at == Some(self.next) {
                self.next = usize::MAX;
                return Err(MediaError::truncated(1234, "frame cut short"));
            }
            let unit = self.units.get(self.next).cloned();
            self.next = self.next.saturating_add(1);
            Ok(unit)
        }
        fn seek(&mut self, time: Duration) -> crate::media::Result<Duration> {
            let rate = self.tracks[0].clock_rate;
            let target = ticks(duration_ns(time), rate);
            let key = self
                .units
                .iter()
                .filter(|u| u.track == 0 && u.keyframe && u.pts <= target)
                .map(|u| ns(u.pts, rate))
                .last()
                .expect("a key frame at 0");
            // Like a container reader: every track resumes at the key
            // frame's time, wherever its units sit in the file.
            self.next = self
                .units
                .iter()
                .position(|u| ns(u.pts, self.tracks[u.track].clock_rate) >= key)
                .unwrap_or(self.units.len());
            Ok(ns_duration(key))
        }
    }

    const SPS: &[u8] = &[0x67, 0x42, 0xc0, 0x1e, 0xd9];
    const PPS: &[u8] = &[0x68, 0xce, 0x3c, 0x80];

    /// 10 s of 25 fps video (keyframe every second, 3000-byte frames) and
    /// 8 kHz mu-law audio in 0.5 s blocks, muxed in 1 s chunks audio first,
    /// the way containers interleave.
    fn av_demuxer() -> FakeDemuxer {
        let mut video = Track::new(0, Codec::H264, 90000);
        video.framing = crate::vocab::NalFraming::AnnexB;
        video.config.parameter_sets = vec![Bytes::from_static(SPS), Bytes::from_static(PPS)];
        let mut audio = Track::new(1, Codec::Pcm(PcmFormat::Mulaw), 8000);
        audio.params = TrackParams::Audio(AudioParams::new(8000, 1));
        let mut units = Vec::new();
        for second in 0..10i64 {
            for half in 0..2 {
                units.push(AccessUnit {
                    track: 1,
                    pts: second * 8000 + half * 4000,
                    dts: second * 8000 + half * 4000,
                    duration: 4000,
                    keyframe: true,
                    data: Bytes::from(vec![0x7f; 4000]),
                });
            }
            for frame in 0..25i64 {
                let key = frame == 0;
                let mut data = vec![0, 0, 0, 1];
                if key {
                    data.extend_from_slice(&[0x67, 0x42, 0xc0, 0x1e, 0xd9, 0, 0, 0, 1]);
                    data.extend_from_slice(&[0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1]);
                }
                data.push(if key { 0x65 } else { 0x41 });
                data.resize(data.len() + 2999, 0x11);
                let pts = (second * 25 + frame) * 3600;
                units.push(AccessUnit {
                    track: 0,
                    pts,
                    dts: pts,
                    duration: 3600,
                    keyframe: key,
                    data: data.into(),
                });
            }
        }
        FakeDemuxer {
            tracks: vec![video, audio],
            units,
            next: 0,
            fail_at: None,
        }
    }

    /// 10 s of 25 fps video with B-frames, closed GOPs of 25 frames in
    /// decoding order `I0 P3 B1 B2 P6 B4 B5 ... P24 B22 B23`: the decoding
    /// time of the `j`th frame in that order is `j - 2` frames, so every
    /// key frame is decoded 80 ms before it is presented.
    fn bframe_demuxer() -> FakeDemuxer {
        let mut demuxer = av_demuxer();
        demuxer.tracks.truncate(1);
        let frames: Vec<AccessUnit> = demuxer.units.drain(..).filter(|u| u.track == 0).collect();
        let mut order = Vec::new();
        for gop in (0..250).step_by(25) {
            order.push(gop);
            for anchor in (gop + 3..gop + 25).step_by(3) {
                order.extend([anchor, anchor - 2, anchor - 1]);
            }
        }
        demuxer.units = order
            .iter()
            .enumerate()
            .map(|(j, &i)| AccessUnit {
                dts: (j as i64 - 2) * 3600,
                ..frames[i].clone()
            })
            .collect();
        demuxer
    }

    #[test]
    fn decode_order_keeps_its_spacing_from_the_first_unit() {
        let mut c = config();
        c.tracks = vec![0];
        let mut stream = MediaStream::new(Box::new(bframe_demuxer()), c.clone()).unwrap();
        let packets = drain(&mut stream);
        let video: Vec<&OutgoingPacket> = packets
            .iter()
            .filter(|p| p.kind == PacketKind::Rtp)
            .collect();
        // The first packet of each unit (one timestamp per unit).
        let mut firsts: Vec<&OutgoingPacket> = Vec::new();
        for p in &video {
            if firsts.last().is_none_or(|f| rtp(f).1 != rtp(p).1) {
                firsts.push(p);
            }
        }
        assert_eq!(firsts.len(), 250);
        let base = 0xffff_0000u32;
        for (j, p) in firsts.iter().enumerate() {
            // Sent in decoding order, 40 ms apart from the first unit.
            assert_eq!(
                p.send_time,
                Duration::from_millis(40 * j as u64),
                "unit {j}"
            );
        }
        // Presented 80 ms after the first unit goes out: the key frame's
        // timestamp, and every packet goes out by its presentation time.
        assert_eq!(rtp(firsts[0]).1, base.wrapping_add(80 * 90));
        for p in &video {
            let presented = u64::from(rtp(p).1.wrapping_sub(base)) * 1000 / 90;
            assert!(p.send_time.as_micros() as u64 <= presented * 1000, "{p:?}");
        }
        // A seek to a key frame: it goes out where the segment starts and
        // is named by RTP-Info, Range says the key frame's time, and the
        // next units follow 40 ms apart.
        let mut stream = MediaStream::new(Box::new(bframe_demuxer()), c).unwrap();
        stream.next_packet().unwrap();
        stream.seek(Duration::from_millis(3100)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        assert_eq!(play.npt, Duration::from_secs(3));
        let after: Vec<OutgoingPacket> = drain(&mut stream)
            .into_iter()
            .filter(|p| p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(after[0].send_time, play.send_time);
        assert_eq!(rtp(&after[0]).1, play.rtp_info[0].rtptime);
        let next = after.iter().find(|p| rtp(p).1 != rtp(&after[0]).1).unwrap();
        assert_eq!(next.send_time, play.send_time + Duration::from_millis(40));
        // P-frame 3 frames later, presented 80 ms after the key frame's
        // send time plus its 120 ms.
        let presented = rtp(next).1.wrapping_sub(rtp(&after[0]).1);
        assert_eq!(presented, 120 * 90);
    }

    fn config() -> StreamConfig {
        let mut c = StreamConfig {
            wallclock: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            ..StreamConfig::default()
        };
        for (track, ssrc, seq, ts) in [(0, 0xa, 65000, 0xffff_0000), (1, 0xb, 7, 1000)] {
            c.senders.insert(
                track,
                SenderOptions {
                    ssrc: Some(ssrc),
                    sequence: Some(seq),
                    timestamp: Some(ts),
                    payload_type: None,
                },
            );
        }
        c
    }

    fn drain(stream: &mut MediaStream) -> Vec<OutgoingPacket> {
        std::iter::from_fn(|| stream.next_packet().unwrap()).collect()
    }

    fn rtp(p: &OutgoingPacket) -> (u16, u32, bool) {
        let packet = rtp_types::RtpPacket::parse(&p.data).unwrap();
        (
            packet.sequence_number(),
            packet.timestamp(),
            packet.marker_bit(),
        )
    }

    #[test]
    fn packets_are_merged_in_send_order_with_reports_and_bye() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let tracks = stream.tracks();
        assert_eq!(tracks.len(), 2);
        assert_eq!((tracks[0].payload_type, tracks[1].payload_type), (96, 0));
        let packets = drain(&mut stream);
        assert!(packets.windows(2).all(|w| w[0].send_time <= w[1].send_time));
        for track in [0, 1] {
            let ours: Vec<_> = packets.iter().filter(|p| p.track == track).collect();
            let rtp_packets: Vec<_> = ours
                .iter()
                .filter(|p| p.kind == PacketKind::Rtp)
                .map(|p| rtp(p))
                .collect();
            // Sequence numbers continue without a gap, wrapping at 2^16.
            assert!(rtp_packets
                .windows(2)
                .all(|w| w[1].0 == w[0].0.wrapping_add(1)));
            let reports: Vec<_> = ours.iter().filter(|p| p.kind == PacketKind::Rtcp).collect();
            // t = 0, 5 s and the BYE at the end.
            assert_eq!(reports.len(), 3, "track {track}");
            // After the unit that starts at 5 s (audio: its last packet).
            let second = reports[1].send_time;
            assert!(second >= Duration::from_secs(5) && second < Duration::from_millis(5500));
            let last = rtcp::parse(&reports[2].data).unwrap();
            assert!(matches!(last.last(), Some(RtcpMessage::Bye { .. })));
            // The BYE comes a grace period after the presentation ends
            // (both tracks: 10 s), after the last packet (video 9.96 s,
            // audio 9.98 s).
            assert_eq!(reports[2].send_time, Duration::from_secs(10) + BYE_GRACE);
            assert!(packets.iter().all(|p| p.send_time <= reports[2].send_time));
        }
        // Video: 250 frames of 3 packets (the key frame's parameter sets are
        // aggregated into a STAP-A, plus 3 FU-As).
        let video: Vec<_> = packets
            .iter()
            .filter(|p| p.track == 0 && p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(video.len(), 240 * 3 + 10 * 4);
        assert_eq!(rtp(video[0]), (65000, 0xffff_0000, false));
        assert_eq!(rtp(video[4]).1, 0xffff_0000 + 3600);
        // Audio: 20 ms packets at 8 kHz: 160 samples each.
        let audio: Vec<_> = packets
            .iter()
            .filter(|p| p.track == 1 && p.kind == PacketKind::Rtp)
            .collect();
        assert_eq!(audio.len(), 500);
        assert_eq!(rtp(audio[1]).1, 1160);
        // Each 0.5 s block goes out as 25 packets, one every 20 ms.
        assert_eq!(audio[25].send_time, Duration::from_millis(500));
        assert_eq!(audio[30].send_time, Duration::from_millis(600));
    }

    #[test]
    fn parts_join_into_the_packets() {
        let mut whole = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut split = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let packets = drain(&mut whole);
        let parts: Vec<PacketParts> =
            std::iter::from_fn(|| split.next_packet_parts().unwrap()).collect();
        assert_eq!(packets.len(), parts.len());
        // FU-A packets: RTP header and FU indicator and header, then media.
        assert!(parts
            .iter()
            .any(|p| p.kind == PacketKind::Rtp && p.head.len() == RTP_HEADER_LEN + 2));
        assert!(parts
            .iter()
            .all(|p| (p.kind == PacketKind::Rtp) != p.head.is_empty()));
        for (packet, parts) in packets.into_iter().zip(parts) {
            assert_eq!(packet, parts.join());
        }
    }

    #[test]
    fn sender_reports_map_ntp_to_rtp_on_one_timeline() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let packets = drain(&mut stream);
        let anchor = rtcp::ntp_timestamp(config().wallclock);
        for p in packets.iter().filter(|p| p.kind == PacketKind::Rtcp) {
            let Some(RtcpMessage::SenderReport {
                ntp, rtp_timestamp, ..
            }) = rtcp::parse(&p.data).unwrap().first().cloned()
            else {
                panic!("no SR first")
            };
            let seconds = (ntp - anchor) as f64 / 2f64.powi(32);
            assert!((seconds - p.send_time.as_secs_f64()).abs() < 1e-6);
            let (base, rate) = if p.track == 0 {
                (0xffff_0000u32, 90000.0)
            } else {
                (1000, 8000.0)
            };
            let expected = base.wrapping_add((seconds * rate).round() as u32);
            assert_eq!(rtp_timestamp, expected, "track {}", p.track);
        }
    }

    #[test]
    fn seek_continues_numbering_and_aligns_audio() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        // Send 2 s worth, keeping some packets generated but unsent.
        let mut sent = Vec::new();
        while let Some(p) = stream.next_packet().unwrap() {
            let done = p.send_time >= Duration::from_secs(2);
            sent.push(p);
            if done {
                break;
            }
        }
        let last_seq = |track| {
            sent.iter()
                .filter(|p| p.track == track && p.kind == PacketKind::Rtp)
                .map(rtp)
                .last()
                .unwrap()
        };
        let (video_seq, _, _) = last_seq(0);
        let (audio_seq, _, _) = last_seq(1);
        let reached = stream.seek(Duration::from_millis(6700)).unwrap();
        assert_eq!(reached, Duration::from_secs(6));
        let play = stream.play(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        assert_eq!(play.npt, Duration::from_secs(6));
        // The segment starts where the media sent so far ends (2.04 s: the
        // last video frame sent was at 2.0 s).
        assert_eq!(play.send_time, Duration::from_millis(2040));
        assert_eq!(play.rtp_info[0].sequence, video_seq.wrapping_add(1));
        assert_eq!(play.rtp_info[1].sequence, audio_seq.wrapping_add(1));
        assert_eq!(
            play.rtp_info[0].rtptime,
            0xffff_0000u32.wrapping_add(2040 * 90)
        );
        assert_eq!(play.rtp_info[1].rtptime, 1000 + 2040 * 8);
        let after = drain(&mut stream);
        let first_video = after
            .iter()
            .find(|p| p.track == 0 && p.kind == PacketKind::Rtp)
            .unwrap();
        assert_eq!(rtp(first_video).0, play.rtp_info[0].sequence);
        assert_eq!(rtp(first_video).1, play.rtp_info[0].rtptime);
        assert_eq!(first_video.send_time, play.send_time);
        let first_audio = after
            .iter()
            .find(|p| p.track == 1 && p.kind == PacketKind::Rtp)
            .unwrap();
        assert_eq!(rtp(first_audio).1, play.rtp_info[1].rtptime);
        // Sender reports after the seek use the same timeline and the anchor
        // `play` set.
        let sr = after
            .iter()
            .find(|p| p.kind == PacketKind::Rtcp && p.track == 1)
            .unwrap();
        let Some(RtcpMessage::SenderReport {
            ntp, rtp_timestamp, ..
        }) = rtcp::parse(&sr.data).unwrap().first().cloned()
        else {
            panic!()
        };
        let wall = rtcp::ntp_timestamp(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000));
        let since_play = (ntp - wall) as f64 / 2f64.powi(32);
        let expected = (sr.send_time - play.send_time).as_secs_f64();
        assert!((since_play - expected).abs() < 1e-6);
        assert_eq!(
            rtp_timestamp,
            1000 + (sr.send_time.as_micros() as u32 * 8 / 1000)
        );
    }

    /// The sequence number and timestamp of the first RTP packet of each
    /// track in `packets`.
    fn firsts(packets: &[PacketParts]) -> Vec<(u16, u32)> {
        [0, 1]
            .iter()
            .map(|&track| {
                let p = packets
                    .iter()
                    .find(|p| p.track == track && p.kind == PacketKind::Rtp)
                    .unwrap();
                rtp_sequence_and_timestamp(&p.head).unwrap()
            })
            .collect()
    }

    fn info(play: &PlayStart) -> Vec<(u16, u32)> {
        play.rtp_info
            .iter()
            .map(|i| (i.sequence, i.rtptime))
            .collect()
    }

    fn drain_parts(stream: &mut MediaStream) -> Vec<PacketParts> {
        std::iter::from_fn(|| stream.next_packet_parts().unwrap()).collect()
    }

    /// The wall-clock time a sender report maps its send time to, minus
    /// that send time: the anchor it was made with.
    fn report_anchor(p: &PacketParts) -> Option<f64> {
        let Some(RtcpMessage::SenderReport { ntp, .. }) =
            rtcp::parse(&p.body).unwrap().first().cloned()
        else {
            return None;
        };
        Some(ntp as f64 / 2f64.powi(32) - p.send_time.as_secs_f64())
    }

    #[test]
    fn cue_names_each_tracks_first_packet_in_rtp_info() {
        for seek in [None, Some(Duration::from_millis(6700))] {
            let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
            if let Some(npt) = seek {
                stream.seek(npt).unwrap();
            }
            stream.cue().unwrap();
            let play = stream.play(SystemTime::now());
            let packets = drain_parts(&mut stream);
            assert_eq!(info(&play), firsts(&packets), "seek {seek:?}");
            assert_eq!(packets[0].send_time, play.send_time);
        }
    }

    /// A track that ends before the others has nothing to cue after a
    /// seek past its end; cueing the rest must not run into the loop
    /// restart, which would drop what it queued and start again at 0.
    #[test]
    fn cue_past_a_tracks_end_keeps_the_seek_when_looping() {
        let mut demuxer = av_demuxer();
        demuxer.units.retain(|u| u.track == 0 || u.pts < 8 * 8000);
        let mut c = config();
        c.looping = true;
        let mut stream = MediaStream::new(Box::new(demuxer), c).unwrap();
        stream.seek(Duration::from_secs(9)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        assert_eq!(play.npt, Duration::from_secs(9));
        // The stream loops forever: look at the next second only.
        let next_second: Vec<PacketParts> =
            std::iter::from_fn(|| stream.next_packet_parts().unwrap())
                .take_while(|p| p.send_time < play.send_time + Duration::from_secs(1))
                .filter(|p| p.kind == PacketKind::Rtp)
                .collect();
        assert!(
            next_second.iter().all(|p| p.track == 0),
            "audio before its end"
        );
        // The last second of video: SPS and PPS in a STAP-A, then 25 frames
        // of 3000 bytes in 3 packets each.
        assert_eq!(next_second.len(), 1 + 25 * 3);
        assert_eq!(
            rtp_sequence_and_timestamp(&next_second[0].head),
            Some((play.rtp_info[0].sequence, play.rtp_info[0].rtptime))
        );
    }

    #[test]
    fn unread_packets_come_back_first_and_reports_follow_the_new_anchor() {
        let mut whole = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let reference = drain_parts(&mut whole);
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let first_wall = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        stream.play(first_wall);
        // Read to 5.6 s; what is past 4.9 s (the reports at 5 s among it)
        // was read ahead and never sent.
        let mut read = Vec::new();
        while let Some(p) = stream.next_packet_parts().unwrap() {
            let done = p.send_time >= Duration::from_millis(5600);
            read.push(p);
            if done {
                break;
            }
        }
        let sent = read
            .iter()
            .position(|p| p.send_time > Duration::from_millis(4900))
            .unwrap();
        let unsent = read.split_off(sent);
        assert!(unsent.iter().any(|p| p.kind == PacketKind::Rtcp));
        stream.unread(unsent.clone());
        assert!(!stream.has_ended());
        // Resumed an hour later: the first packet read back goes out then.
        let resumed_wall = first_wall + Duration::from_secs(3600);
        stream.cue().unwrap();
        let play = stream.play(resumed_wall);
        assert_eq!(play.send_time, unsent[0].send_time);
        let rest = drain_parts(&mut stream);
        assert_eq!(info(&play), firsts(&rest));
        // The same RTP packets as a stream never stopped.
        let rtp = |packets: &[PacketParts]| -> Vec<PacketParts> {
            packets
                .iter()
                .filter(|p| p.kind == PacketKind::Rtp)
                .cloned()
                .collect()
        };
        let mut all = rtp(&read);
        all.extend(rtp(&rest));
        assert_eq!(all, rtp(&reference));
        // Reports made after the resumption, at 5 s, and the BYE, follow the
        // new wall clock; the report that was read ahead is made again.
        let resumed =
            rtcp::ntp_timestamp(resumed_wall) as f64 / 2f64.powi(32) - play.send_time.as_secs_f64();
        let reports: Vec<&PacketParts> =
            rest.iter().filter(|p| p.kind == PacketKind::Rtcp).collect();
        assert!(reports.len() >= 4, "{}", reports.len());
        for report in reports {
            let anchor = report_anchor(report).unwrap();
            assert!((anchor - resumed).abs() < 1e-6, "{report:?}");
        }
        assert!(stream.has_ended());
    }

    #[test]
    fn a_seek_after_unread_reuses_the_sequence_numbers() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut read = Vec::new();
        for _ in 0..200 {
            read.push(stream.next_packet_parts().unwrap().unwrap());
        }
        let unsent = read.split_off(100);
        let next = firsts(&unsent);
        stream.unread(unsent);
        stream.seek(Duration::from_secs(3)).unwrap();
        stream.cue().unwrap();
        let play = stream.play(SystemTime::now());
        let sequences: Vec<u16> = info(&play).iter().map(|i| i.0).collect();
        assert_eq!(sequences, [next[0].0, next[1].0]);
    }

    #[test]
    fn goodbye_drops_what_is_unsent_and_the_final_bye_comes_back_when_unread() {
        let mut stream = MediaStream::new(Box::new(av_demuxer()), config()).unwrap();
        let mut read: Vec<PacketParts> = (0..50)
            .map(|_| stream.next_packet_parts().unwrap().unwrap())
            .collect();
        let unsent = read.split_off(40);
        let next = firsts(&unsent);
        let resume_at = unsent[0].send_time;
        stream.unread(unsent);
        let bye = stream.goodbye("session ended");
        assert_eq!(bye.len(), 2);
        // Stamped where sending stopped, not at the end of the read-ahead.
        assert!(bye.iter().all(|p| p.send_time == resume_at), "{bye:?}");
        assert!(stream.has_ended());
        assert!(stream.next_packet_parts().unwrap().is_none());
        stream.seek(Duration::ZERO).unwrap();
        stream.cue().unwrap();
        let sequences: Vec<u16> = info(&stream.play(SystemTime::now()))
            .iter()
            .map(|i| i.0)
            .collect();
        assert_eq!(sequences, [next[0].0, next[1].0]);
        // To the end, then the last packets and the BYE handed back: the BYE
        // comes again, the report before it does not (no unit follows).
        let mut all = drain_parts(&mut stream);
        assert!(stream.has_ended());
        let last_rtp = all.iter().rposition(|p| p.kind == PacketKind::Rtp).unwrap();
        let tail = all.split_off(last_rtp);
        let is_bye = |p: &PacketParts| {
            p.kind == PacketKind::Rtcp
                && matches!(
                    rtcp::parse(&p.body).unwrap().last(),
                    Some(RtcpMessage::Bye { .. })
                )
        };
        assert_eq!(tail.iter().filter(|p| is_bye(p)).count(), 2);
        stream.unread(tail.clone());
        assert!(!stream.has_ended());
        let again = drain_parts(&mut stream);
        let expected: Vec<_> = tail
            .iter()
            .filter(|p| p.kind == PacketKind::Rtp || is_bye(p))
            .map(|p| (p.send_time, p.track, p.kind))
            .collect();
        let got: Vec<_> = again
            .iter()
            .map(|p| (p.send_time, p.track, p.kind))
            .collect();
        assert_eq!(got, expected);
        assert!(again[1..].iter().all(is_bye));
        assert!(stream.has_ended());
    }

    #[test]
    fn looping_keeps_timestamps_continuous() {
        let mut c = config();
        c.looping = true;
        c.tracks = vec![1];
        let mut stream = MediaStream::new(Box::new(av_demuxer()), c).unwrap();
        let audio: Vec<_> = std::iter::from_fn(|| stream.next_packet().unwrap())
            .filter(|p| p.kind == PacketKind::Rtp)
            .take(1500)
            .collect();
        for (i, p) in audio.iter().enumerate() {
            assert_eq!(rtp(p).1, 1000 + 160 * i as u32);
            assert_eq!(rtp(p).0, 7u16.wrapping_add(i as u16));
        }
        assert_eq!(audio[1499].send_time, Duration::from_millis(29_980));
    }

    #[test]
    fn read_error_comes_after_the_units_before_it() {
        let mut demuxer = av_demuxer();
        demuxer.fail_at = Some(40);
        let mut stream = MediaStream::new(Box::new(demuxer), config()).unwrap();
        let mut count = 0;
        let err = loop {
            match stream.next_packet() {
                Ok(Some(_)) => count += 1,
                Ok(None) => panic!("ended without the error"),
                Err(e) => break e,
            }
        };
        assert!(err.to_string().contains("truncated at byte 1234"), "{err}");
        // 27 video frames, 2 audio units (13 ms -> 50 packets) and RTCP.
        assert!(count > 27 * 3 + 50, "{count}");
        assert!(stream.next_packet().unwrap().is_none());
    }

    #[test]
    fn tracks_are_selected_once_in_order() {
        let mut c = config();
        c.tracks = vec![1, 0, 1];
        let stream = MediaStream::new(Box::new(av_demuxer()), c).unwrap();
        let order: Vec<usize> = stream.tracks().iter().map(|t| t.index).collect();
        assert_eq!(order, [1, 0]);
        // The server runs streams on blocking threads.
        fn send<T: Send>(_: &T) {}
        send(&stream);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = config();
        c.tracks = vec![0, 5];
        let err = MediaStream::new(Box::new(av_demuxer()), c).err().unwrap();
        assert_eq!(
            err.to_string(),
            "track 5 does not exist: the file has 2 track(s), 0 to 1"
        );
        let mut c = config();
        c.max_payload = 2;
        let err = MediaStream::new(Box::new(av_demuxer()), c).err().unwrap();
        assert!(err.to_string().contains("at least 3 bytes"), "{err}");
        assert_eq!(max_payload_for_mtu(40, false), None);
        assert_eq!(max_payload_for_mtu(1500, true), Some(1440));
    }
}
