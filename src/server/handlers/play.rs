//! PLAY (RFC 2326 §10.5): the `Range` asked for, the session's reader cued
//! there on the blocking pool, then a playback task that sends its packets
//! in time.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{error, Ctx, Handled};
use crate::rtsp::headers::{self, RtpInfo};
use crate::rtsp::message::{Response, Status};
use crate::rtsp::range::{self, PlayRange, RangeError};
use crate::server::delivery::{Destinations, TrackOut};
use crate::server::playback::Player;
use crate::server::session::{Control, PlayState, Session};
use crate::server::source::{FileToPlay, Pace, Source, SourceTrack, StreamSettings};
use crate::stream::{PlayStart, StreamError};

impl Ctx<'_> {
    /// §10.5: starts or resumes playback, seeking when a `Range` asks for it.
    pub(super) async fn play(&self) -> Handled {
        let session = self.session()?;
        self.track_scope(&session).await?;
        let requested = self.requested_range()?;
        let duration = session.media.duration;
        if requested.start.is_some_and(|s| s > duration) {
            return Err(error(Status::INVALID_RANGE));
        }
        let mut control = session.control.lock().await;
        if control.closed {
            return Err(error(Status::SESSION_NOT_FOUND));
        }
        if control.tracks.is_empty() {
            return Err(error(Status::INVALID_STATE));
        }
        let mut source = self.cue(&session, &mut control, requested.start).await?;
        let start = source.play(SystemTime::now());
        // RTP-Info names the first packet each track sends (RFC 2326 §12.33).
        let rtp_info = headers::rtp_info(control.tracks.iter().filter_map(|track| {
            let info = start.rtp_info.iter().find(|i| i.track == track.index)?;
            Some(RtpInfo {
                url: session.track_url(track.index),
                seq: info.sequence,
                rtptime: info.rtptime,
            })
        }));
        let end = requested
            .end
            .filter(|e| e.saturating_add(Duration::from_millis(1)) < duration);
        // Open-ended unless the client asked for an end, as live555 answers:
        // an end rounded to milliseconds would make clients clip the last
        // fraction of a millisecond of the media.
        let range = range::npt_range(start.npt.min(duration), end);
        let player = self.start_player(&session, &control, source, &start, end);
        session.traffic.playing_from(start.npt);
        control.state = PlayState::Playing(player);
        let mut response = Response::new(Status::OK)
            .header("Session", self.session_header(&session))
            .header("Range", range);
        if let Some(rtp_info) = rtp_info {
            response = response.header("RTP-Info", rtp_info);
        }
        // Media goes out at normal speed and forward only: a client asking
        // for another Scale or Speed is told what it gets (§12.34, §12.35).
        for name in ["Scale", "Speed"] {
            if self.request.header(name).is_some() {
                response = response.header(name, "1");
            }
        }
        Ok(response)
    }

    /// The `Range` asked for (§12.29): the whole presentation without one;
    /// 457 when malformed, 501 in a time format not served.
    fn requested_range(&self) -> Result<PlayRange, Response> {
        let Some(value) = self.request.header("Range") else {
            return Ok(PlayRange::default());
        };
        range::parse(value).map_err(|why| {
            tracing::debug!("PLAY range refused: {why}");
            error(match why {
                RangeError::Invalid(_) => Status::INVALID_RANGE,
                RangeError::Unsupported(_) => Status::NOT_IMPLEMENTED,
            })
        })
    }

    /// The session's reader ready to send from `start`: the paused one
    /// (stopping a running task first) or a new one, sought to `start`, or
    /// to the beginning when it has ended; without a start a paused reader
    /// resumes where it stopped.
    async fn cue(
        &self,
        session: &Session,
        control: &mut Control,
        start: Option<Duration>,
    ) -> Result<Box<Source>, Response> {
        let previous = take_source(control).await;
        let tracks: Vec<SourceTrack> = control
            .tracks
            .iter()
            .map(|t| SourceTrack {
                index: t.index,
                ssrc: t.ssrc,
                // An SRTP track numbers on from its context's last packet.
                sequence: session.srtp.as_ref().and_then(|s| s.next_sequence(t.index)),
            })
            .collect();
        let file = session.file.clone();
        let settings = StreamSettings {
            looping: self.shared.config.looping,
            payload: self.shared.config.payload,
        };
        let peer = session.peer;
        let overhead = session
            .srtp
            .as_ref()
            .map_or(0, |s| s.policy().rtp_overhead());
        let pace = Pace::for_bit_rate(session.media.info.bit_rate());
        let media = session.media.clone();
        let restart = previous.as_ref().is_none_or(|p| p.has_ended());
        let seek_to = start.or(restart.then_some(Duration::ZERO));
        let cued = tokio::task::spawn_blocking(move || {
            let mut source = match previous {
                Some(source) => source,
                None => {
                    let file = FileToPlay {
                        path: &file,
                        format: media.info.format,
                        span: &media.play_span,
                    };
                    Box::new(Source::open(
                        &file, &tracks, settings, peer, overhead, pace,
                    )?)
                }
            };
            if let Some(npt) = seek_to {
                source.seek(npt)?;
            }
            source.cue()?;
            Ok::<_, StreamError>(source)
        })
        .await
        .map_err(|_| error(Status::INTERNAL_ERROR))?;
        cued.map_err(|e| {
            tracing::warn!("{}: cannot play: {e}", session.file.display());
            error(Status::INTERNAL_ERROR)
        })
    }

    /// A playback task sending `source` to the session's tracks from
    /// `start`, until the media position `end` if given.
    fn start_player(
        &self,
        session: &Arc<Session>,
        control: &Control,
        source: Box<Source>,
        start: &PlayStart,
        end: Option<Duration>,
    ) -> Player {
        let end_send = end.map(|e| start.send_time.saturating_add(e.saturating_sub(start.npt)));
        let tracks = control
            .tracks
            .iter()
            .map(|t| TrackOut {
                index: t.index,
                delivery: t.delivery.clone(),
                srtp: session.srtp.as_ref().and_then(|s| s.sender(t.index)),
            })
            .collect();
        let keep_alive = Arc::downgrade(session);
        let destinations = Destinations::new(
            tracks,
            self.shared.udp.clone(),
            keep_alive,
            Arc::clone(&session.traffic),
        );
        Player::start(
            source,
            start.send_time,
            destinations,
            end_send,
            format!("session {}", session.id),
        )
    }
}

/// Takes the play state's reader back, stopping a running task.
async fn take_source(control: &mut Control) -> Option<Box<Source>> {
    match std::mem::replace(&mut control.state, PlayState::Ready) {
        PlayState::Ready => None,
        PlayState::Paused(source) => Some(source),
        PlayState::Playing(player) => player.stop(false).await,
    }
}
