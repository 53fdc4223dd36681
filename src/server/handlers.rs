//! The request handlers: one function per RTSP method (RFC 2326 §10), with
//! the statuses of §7.1.1 for everything that can go wrong.

use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};

use crate::stream::StreamError;

use super::catalog::{CatalogError, Media};
use super::connection::ConnCtx;
use super::message::{Method, Request, Response, Status};
use super::paths::{self, PathError, Target};
use super::playback::{Destinations, Player};
use super::range::{self, PlayRange};
use super::session::{Control, Delivery, NewSession, PlayState, Session, SetupTrack};
use super::source::Source;
use super::transport::{self, Chosen, Lower};
use super::Shared;

/// Answers one request.
pub async fn handle(shared: &Shared, conn: &mut ConnCtx, request: Request) -> Response {
    if request.cseq().is_none() {
        return Response::new(Status::BAD_REQUEST);
    }
    // RFC 2326 §12.32: no optional feature is supported.
    if let Some(required) = request.header("Require") {
        return Response::new(Status::OPTION_NOT_SUPPORTED).header("Unsupported", required);
    }
    let user = match request.method {
        // OPTIONS needs no credentials, but uses them when given.
        Method::Options => authenticate(shared, &request).ok().flatten(),
        Method::Announce | Method::Record | Method::Redirect => {
            return Response::new(Status::METHOD_NOT_ALLOWED).header("Allow", Method::PUBLIC)
        }
        Method::Other(_) => {
            return Response::new(Status::NOT_IMPLEMENTED).header("Public", Method::PUBLIC)
        }
        _ => match authenticate(shared, &request) {
            Ok(user) => user,
            Err(response) => return response,
        },
    };
    let ctx = Ctx {
        shared,
        user,
        request: &request,
    };
    let result = match request.method {
        Method::Options => ctx.options(),
        Method::Describe => ctx.describe(conn).await,
        Method::Setup => ctx.setup(conn).await,
        Method::Play => ctx.play().await,
        Method::Pause => ctx.pause().await,
        Method::Teardown => ctx.teardown().await,
        Method::GetParameter | Method::SetParameter => ctx.parameter(),
        _ => Err(Response::new(Status::NOT_IMPLEMENTED)),
    };
    result.unwrap_or_else(|response| response)
}

type Handled = Result<Response, Response>;

fn error(status: Status) -> Response {
    Response::new(status)
}

/// The authenticated user, `None` on an open server; a 401 otherwise.
fn authenticate(shared: &Shared, request: &Request) -> Result<Option<String>, Response> {
    let Some(auth) = &shared.auth else {
        return Ok(None);
    };
    match auth.check(request.method.as_str(), request.header("Authorization")) {
        Ok(user) => Ok(Some(user)),
        Err(challenge) => {
            let mut response = Response::new(Status::UNAUTHORIZED);
            for value in auth.challenges(challenge.stale) {
                response = response.header("WWW-Authenticate", value);
            }
            Err(response)
        }
    }
}

struct Ctx<'a> {
    shared: &'a Shared,
    user: Option<String>,
    request: &'a Request,
}

impl Ctx<'_> {
    /// The session named by the `Session` header. Sessions are shared
    /// between connections only with the same credentials: anyone else is
    /// told it does not exist (454), as is a request without the header.
    fn session(&self) -> Result<Arc<Session>, Response> {
        let id = self
            .request
            .session_id()
            .ok_or_else(|| error(Status::SESSION_NOT_FOUND))?;
        let session = self
            .shared
            .sessions
            .get(id)
            .filter(|s| s.owner == self.user)
            .ok_or_else(|| error(Status::SESSION_NOT_FOUND))?;
        self.shared.sessions.touch(&session);
        Ok(session)
    }

    fn session_header(&self, session: &Session) -> String {
        match self.shared.sessions.timeout() {
            Some(t) => format!("{};timeout={}", session.id, t.as_secs()),
            None => session.id.clone(),
        }
    }

    /// Resolves the Request-URI to a file under the directory.
    async fn target(&self) -> Result<Target, Response> {
        let root = self.shared.root.clone();
        let uri = self.request.uri.clone();
        tokio::task::spawn_blocking(move || paths::resolve(&root, &uri))
            .await
            .map_err(|_| error(Status::INTERNAL_ERROR))?
            .map_err(|e| match e {
                PathError::Malformed(_) => error(Status::BAD_REQUEST),
                PathError::NotFound => error(Status::NOT_FOUND),
            })
    }

    async fn media(&self, target: &Target) -> Result<Arc<Media>, Response> {
        self.shared
            .catalog
            .get(&target.file)
            .await
            .map_err(|e| match e {
                CatalogError::NotFound(_) => error(Status::NOT_FOUND),
                CatalogError::Unsupported(why) => {
                    tracing::info!("{}: not streamable: {why}", target.file.display());
                    error(Status::UNSUPPORTED_MEDIA)
                }
            })
    }

    /// §10.1. A `Session` header keeps that session alive.
    fn options(&self) -> Handled {
        if let Some(session) = self
            .request
            .session_id()
            .and_then(|id| self.shared.sessions.get(id))
            .filter(|s| s.owner == self.user)
        {
            self.shared.sessions.touch(&session);
        }
        Ok(Response::new(Status::OK).header("Public", Method::PUBLIC))
    }

    /// §10.2: the SDP of the file, with `a=control` per track and the exact
    /// duration in `a=range`.
    async fn describe(&self, conn: &ConnCtx) -> Handled {
        let target = self.target().await?;
        if target.track.is_some() {
            return Err(error(Status::NOT_FOUND));
        }
        let media = self.media(&target).await?;
        let base = format!(
            "{}/",
            absolute_url(&self.request.uri, conn).trim_end_matches('/')
        );
        Ok(Response::new(Status::OK)
            .header("Content-Base", base)
            .body("application/sdp", media.sdp(conn.local.ip())))
    }

    /// §10.4: one track per request, on an existing session or a new one.
    async fn setup(&self, conn: &mut ConnCtx) -> Handled {
        let target = self.target().await?;
        let media = self.media(&target).await?;
        let index = match target.track {
            Some(i) => i,
            // The aggregate URL of a single-track file names its track.
            None if media.tracks.len() == 1 => media.tracks[0].index,
            None => return Err(error(Status::AGGREGATE_NOT_ALLOWED)),
        };
        if media.track(index).is_none() {
            return Err(error(Status::NOT_FOUND));
        }
        let offer = self
            .request
            .header("Transport")
            .and_then(transport::choose)
            .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
        if offer.lower == Lower::Udp
            && self
                .shared
                .udp
                .as_ref()
                .and_then(|u| u.pair_for(&conn.peer))
                .is_none()
        {
            return Err(error(Status::UNSUPPORTED_TRANSPORT));
        }
        let url = absolute_url(&self.request.uri, conn);
        let aggregate_url = match target.track {
            Some(_) => url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base),
            None => url.as_str(),
        }
        .trim_end_matches('/')
        .to_owned();
        let (session, created) = match self.request.session_id() {
            Some(_) => {
                let session = self.session()?;
                if session.file != target.file {
                    return Err(error(Status::AGGREGATE_NOT_ALLOWED));
                }
                (session, false)
            }
            None => {
                let session = self
                    .shared
                    .sessions
                    .create(NewSession {
                        owner: self.user.clone(),
                        file: target.file.clone(),
                        media: Arc::clone(&media),
                        url: aggregate_url,
                        peer: conn.peer.ip(),
                    })
                    .ok_or_else(|| error(Status::UNAVAILABLE))?;
                conn.sessions_created += 1;
                (session, true)
            }
        };
        let result = self.add_track(conn, &session, index, offer).await;
        if result.is_err() && created {
            end_session(self.shared, &session, false).await;
        }
        let chosen = result?;
        Ok(Response::new(Status::OK)
            .header("Transport", chosen.to_string())
            .header("Session", self.session_header(&session)))
    }

    async fn add_track(
        &self,
        conn: &mut ConnCtx,
        session: &Arc<Session>,
        index: usize,
        offer: transport::Offer,
    ) -> Result<Chosen, Response> {
        let mut control = session.control.lock().await;
        if control.closed {
            return Err(error(Status::SESSION_NOT_FOUND));
        }
        match control.state {
            PlayState::Ready => {}
            // Adding a track to a paused session: the old reader no longer
            // matches the track list; playback restarts from the beginning.
            PlayState::Paused(_) => control.state = PlayState::Ready,
            PlayState::Playing(_) => return Err(error(Status::INVALID_STATE)),
        }
        let ssrc = random_ssrc();
        let (delivery, chosen) = match offer.lower {
            Lower::Udp => {
                let udp = self
                    .shared
                    .udp
                    .as_ref()
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let client = offer
                    .client_port
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let server = udp
                    .server_ports(&conn.peer)
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let rtp = std::net::SocketAddr::new(conn.peer.ip(), client.0);
                let rtcp = std::net::SocketAddr::new(conn.peer.ip(), client.1);
                udp.route(rtp, session);
                udp.route(rtcp, session);
                (
                    Delivery::Udp { rtp, rtcp },
                    Chosen::Udp {
                        client,
                        server,
                        ssrc,
                    },
                )
            }
            Lower::Tcp => {
                let channels = free_channels(conn, offer.interleaved, session)
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                conn.channels.insert(channels.0, Arc::downgrade(session));
                conn.channels.insert(channels.1, Arc::downgrade(session));
                if !conn
                    .interleaved
                    .iter()
                    .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(session)))
                {
                    conn.interleaved.push(Arc::downgrade(session));
                }
                (
                    Delivery::Interleaved {
                        sink: conn.sink.clone(),
                        rtp: channels.0,
                        rtcp: channels.1,
                    },
                    Chosen::Tcp { channels, ssrc },
                )
            }
        };
        let track = SetupTrack {
            index,
            ssrc,
            delivery,
        };
        match control.tracks.iter_mut().find(|t| t.index == index) {
            Some(existing) => {
                let old = std::mem::replace(existing, track);
                forget_delivery(self.shared, &old.delivery);
            }
            None => control.tracks.push(track),
        }
        Ok(chosen)
    }

    /// The track a PLAY/PAUSE/TEARDOWN URL names, if it names one. A track
    /// URL on a session of several tracks is refused (460): these
    /// operations apply to the whole presentation.
    async fn track_scope(&self, session: &Session) -> Result<Option<usize>, Response> {
        let target = match self.target().await {
            Ok(target) => target,
            // The session id names the presentation; a URL we cannot map
            // (a client's own spelling of the aggregate URL) is tolerated.
            Err(_) => return Ok(None),
        };
        match target.track {
            None => Ok(None),
            Some(index) => {
                let control = session.control.lock().await;
                if control.tracks.len() > 1 {
                    return Err(error(Status::ONLY_AGGREGATE));
                }
                Ok(Some(index))
            }
        }
    }

    /// §10.5: starts or resumes playback, seeking when a `Range` asks for it.
    async fn play(&self) -> Handled {
        let session = self.session()?;
        self.track_scope(&session).await?;
        let requested = match self.request.header("Range") {
            Some(value) => range::parse(value).map_err(|why| {
                tracing::debug!("PLAY range refused: {why}");
                error(Status::INVALID_RANGE)
            })?,
            None => PlayRange::default(),
        };
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
        let previous = take_source(&mut control).await;
        let tracks: Vec<(usize, u32)> = control.tracks.iter().map(|t| (t.index, t.ssrc)).collect();
        let file = session.file.clone();
        let looping = self.shared.config.looping;
        let peer = session.peer;
        let restart = previous.as_ref().is_none_or(|p| p.has_ended());
        let seek_to = requested.start.or(restart.then_some(Duration::ZERO));
        let cued = tokio::task::spawn_blocking(move || {
            let mut source = match previous {
                Some(source) => source,
                None => Source::open(&file, &tracks, looping, peer)?,
            };
            if let Some(npt) = seek_to {
                source.seek(npt)?;
            }
            source.cue()?;
            Ok::<_, StreamError>(source)
        })
        .await
        .map_err(|_| error(Status::INTERNAL_ERROR))?;
        let mut source = cued.map_err(|e| {
            tracing::warn!("{}: cannot play: {e}", session.file.display());
            error(Status::INTERNAL_ERROR)
        })?;
        let start = source.play(SystemTime::now());
        // RTP-Info names the first packet each track sends (RFC 2326 §12.33).
        let rtp_info: Vec<String> = control
            .tracks
            .iter()
            .filter_map(|track| {
                let info = start.rtp_info.iter().find(|i| i.track == track.index)?;
                Some(format!(
                    "url={};seq={};rtptime={}",
                    session.track_url(track.index),
                    info.sequence,
                    info.rtptime
                ))
            })
            .collect();
        let end = requested
            .end
            .filter(|e| e.saturating_add(Duration::from_millis(1)) < duration);
        // Open-ended unless the client asked for an end, as live555 answers:
        // an end rounded to milliseconds would make clients clip the last
        // fraction of a millisecond of the media.
        let range = format!(
            "npt={}-{}",
            range::npt(start.npt.min(duration)),
            end.map(range::npt).unwrap_or_default()
        );
        let end_send = end.map(|e| start.send_time.saturating_add(e.saturating_sub(start.npt)));
        let destinations = Destinations::new(
            control
                .tracks
                .iter()
                .map(|t| (t.index, t.delivery.clone()))
                .collect(),
            self.shared.udp.clone(),
        );
        control.state = PlayState::Playing(Player::start(
            source,
            start.send_time,
            destinations,
            end_send,
            format!("session {}", session.id),
        ));
        let mut response = Response::new(Status::OK)
            .header("Session", self.session_header(&session))
            .header("Range", range);
        if !rtp_info.is_empty() {
            response = response.header("RTP-Info", rtp_info.join(","));
        }
        Ok(response)
    }

    /// §10.6: stops sending, keeping the position for the next PLAY.
    async fn pause(&self) -> Handled {
        let session = self.session()?;
        self.track_scope(&session).await?;
        let mut control = session.control.lock().await;
        if control.closed {
            return Err(error(Status::SESSION_NOT_FOUND));
        }
        match std::mem::replace(&mut control.state, PlayState::Ready) {
            PlayState::Ready => return Err(error(Status::INVALID_STATE)),
            PlayState::Paused(source) => control.state = PlayState::Paused(source),
            PlayState::Playing(player) => {
                if let Some(source) = player.stop(false).await {
                    control.state = PlayState::Paused(Box::new(source));
                }
            }
        }
        Ok(Response::new(Status::OK).header("Session", self.session_header(&session)))
    }

    /// §10.7: ends the session (or drops one track of several).
    async fn teardown(&self) -> Handled {
        let session = self.session()?;
        let track = self.track_scope(&session).await.unwrap_or(None);
        if let Some(index) = track {
            let mut control = session.control.lock().await;
            if control.tracks.len() > 1 {
                if matches!(control.state, PlayState::Playing(_)) {
                    return Err(error(Status::INVALID_STATE));
                }
                if let Some(pos) = control.tracks.iter().position(|t| t.index == index) {
                    let old = control.tracks.remove(pos);
                    forget_delivery(self.shared, &old.delivery);
                    control.state = PlayState::Ready;
                }
                return Ok(Response::new(Status::OK));
            }
        }
        end_session(self.shared, &session, true).await;
        Ok(Response::new(Status::OK))
    }

    /// §10.8, §10.9: an empty body is a keep-alive; no parameters are known.
    fn parameter(&self) -> Handled {
        let session = match self.request.session_id() {
            Some(_) => Some(self.session()?),
            None => None,
        };
        if !self.request.body.iter().all(u8::is_ascii_whitespace) {
            return Err(error(Status::PARAMETER_NOT_UNDERSTOOD));
        }
        let mut response = Response::new(Status::OK);
        if let Some(session) = session {
            response = response.header("Session", self.session_header(&session));
        }
        Ok(response)
    }
}

/// Takes the play state's reader back, stopping a running task.
async fn take_source(control: &mut Control) -> Option<Source> {
    match std::mem::replace(&mut control.state, PlayState::Ready) {
        PlayState::Ready => None,
        PlayState::Paused(source) => Some(*source),
        PlayState::Playing(player) => player.stop(false).await,
    }
}

/// Ends a session: out of the table, playback stopped (with RTCP BYE when
/// `bye`), its UDP routes forgotten. Idempotent.
pub async fn end_session(shared: &Shared, session: &Arc<Session>, bye: bool) {
    shared.sessions.remove(&session.id);
    let mut control = session.control.lock().await;
    control.closed = true;
    if let PlayState::Playing(player) = std::mem::replace(&mut control.state, PlayState::Ready) {
        player.stop(bye).await;
    }
    for track in control.tracks.drain(..) {
        forget_delivery(shared, &track.delivery);
    }
    tracing::debug!("session {} ended", session.id);
}

fn forget_delivery(shared: &Shared, delivery: &Delivery) {
    if let (Delivery::Udp { rtp, rtcp }, Some(udp)) = (delivery, &shared.udp) {
        udp.unroute(rtp);
        udp.unroute(rtcp);
    }
}

/// The requested interleaved channels if free on this connection (or used
/// by this same session), else the lowest free even pair.
fn free_channels(
    conn: &ConnCtx,
    requested: Option<(u8, u8)>,
    session: &Arc<Session>,
) -> Option<(u8, u8)> {
    let free = |c: u8| match conn.channels.get(&c).and_then(Weak::upgrade) {
        None => true,
        Some(owner) => Arc::ptr_eq(&owner, session),
    };
    if let Some((rtp, rtcp)) = requested {
        if rtp != rtcp && free(rtp) && free(rtcp) {
            return Some((rtp, rtcp));
        }
    }
    (0..=254u8)
        .step_by(2)
        .find(|&c| free(c) && free(c + 1))
        .map(|c| (c, c + 1))
}

fn random_ssrc() -> u32 {
    getrandom::u32().unwrap_or(0x4d54_4f4f)
}

/// The Request-URI as an absolute `rtsp://` URL without query: clients that
/// send a bare path get the address they connected to.
fn absolute_url(uri: &str, conn: &ConnCtx) -> String {
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    if uri.contains("://") {
        uri.to_owned()
    } else {
        let path = if uri.starts_with('/') { uri } else { "/" };
        format!("rtsp://{}{path}", conn.local)
    }
}
