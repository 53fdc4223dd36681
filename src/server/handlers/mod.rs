//! The request handlers: one function per RTSP method (RFC 2326 §10), with
//! the statuses of §7.1.1 for everything that can go wrong. SETUP is in
//! `setup`, PLAY and PAUSE in `play`.

mod play;
mod setup;

use std::net::SocketAddr;
use std::sync::Arc;

use super::auth::{Attempt, Refusal};
use super::catalog::{CatalogError, Media};
use super::connection::ConnCtx;
use super::paths::{self, PathError, Target};
use super::session::{Delivery, PlayState, Session};
use super::Shared;
use crate::rtsp::headers;
use crate::rtsp::message::{Method, Request, Response, Status};

/// Answers one request.
pub async fn handle(shared: &Shared, conn: &mut ConnCtx, request: Request) -> Response {
    if request.cseq().is_none() || !scheme_served(&request.uri) {
        return Response::new(Status::BAD_REQUEST);
    }
    // RFC 2326 §12.32: no optional feature is supported.
    if let Some(required) = request.header("Require") {
        return Response::new(Status::OPTION_NOT_SUPPORTED).header("Unsupported", required);
    }
    let user = match request.method {
        // OPTIONS needs no credentials, but uses them when given.
        Method::Options => authenticate(shared, conn, &request).ok().flatten(),
        Method::Announce | Method::Record | Method::Redirect => {
            return Response::new(Status::METHOD_NOT_ALLOWED).header("Allow", Method::PUBLIC)
        }
        Method::Other(_) => {
            return Response::new(Status::NOT_IMPLEMENTED).header("Public", Method::PUBLIC)
        }
        _ => match authenticate(shared, conn, &request) {
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

/// The authenticated user, `None` on an open server; a 401 otherwise (400
/// for credentials computed for another URL, RFC 7616 §3.4.6).
fn authenticate(
    shared: &Shared,
    conn: &ConnCtx,
    request: &Request,
) -> Result<Option<String>, Response> {
    let Some(auth) = &shared.auth else {
        return Ok(None);
    };
    let attempt = Attempt {
        method: request.method.as_str(),
        uri: &request.uri,
        client: conn.peer.ip(),
        authorization: request.header("Authorization"),
    };
    match auth.check(&attempt) {
        Ok(user) => Ok(Some(user)),
        Err(Refusal::UriMismatch) => Err(Response::new(Status::BAD_REQUEST)),
        Err(Refusal::Unauthorized { stale }) => {
            let mut response = Response::new(Status::UNAUTHORIZED);
            for value in auth.challenges(stale, conn.peer.ip()) {
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
        headers::session(&session.id, self.shared.sessions.timeout())
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
        let base = headers::content_base(&absolute_url(&self.request.uri, conn.local));
        Ok(Response::new(Status::OK)
            .header("Content-Base", base)
            .body("application/sdp", media.sdp(conn.local.ip())))
    }

    /// The track a request on `session` names, if it names one. A URL of
    /// another file gets 454: the session is not one of that resource
    /// (RFC 2326 §11.3.6). A URL we cannot map (a client's own spelling of
    /// the aggregate URL) is tolerated: the session id names the
    /// presentation.
    async fn track_named(&self, session: &Session) -> Result<Option<usize>, Response> {
        match self.target().await {
            Ok(target) if target.file != session.file => Err(error(Status::SESSION_NOT_FOUND)),
            Ok(target) => Ok(target.track),
            Err(_) => Ok(None),
        }
    }

    /// The track a PLAY/PAUSE URL names, if it names one. A track URL on a
    /// session of several tracks is refused (460): these operations apply
    /// to the whole presentation.
    async fn track_scope(&self, session: &Session) -> Result<Option<usize>, Response> {
        let track = self.track_named(session).await?;
        if track.is_some() && session.control.lock().await.tracks.len() > 1 {
            return Err(error(Status::ONLY_AGGREGATE));
        }
        Ok(track)
    }

    /// §10.7: ends the session (or drops one track of several).
    async fn teardown(&self) -> Handled {
        let session = self.session()?;
        let track = self.track_named(&session).await?;
        if let Some(index) = track {
            let mut control = session.control.lock().await;
            if control.tracks.len() > 1 {
                if matches!(control.state, PlayState::Playing(_)) {
                    return Err(error(Status::INVALID_STATE));
                }
                if let Some(pos) = control.tracks.iter().position(|t| t.index == index) {
                    let old = control.tracks.remove(pos);
                    forget_delivery(self.shared, &session, &old.delivery);
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
        forget_delivery(shared, session, &track.delivery);
    }
    tracing::debug!("session {} ended", session.id);
}

/// Stops routing the client's RTCP from `delivery`'s addresses to
/// `session` (a multicast group was never routed).
fn forget_delivery(shared: &Shared, session: &Arc<Session>, delivery: &Delivery) {
    if let (Some(addrs), Some(udp)) = (delivery.unicast_udp(), &shared.udp) {
        for addr in &addrs {
            udp.unroute(addr, session);
        }
    }
}

/// The Request-URI as an absolute `rtsp://` URL without query or user
/// information (credentials in a URL are never echoed): clients that send
/// a bare path, with or without its leading `/`, get the address they
/// connected to.
fn absolute_url(uri: &str, local: SocketAddr) -> String {
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => format!("rtsp://{local}/{}", uri.trim_start_matches('/')),
    }
}

/// Whether a Request-URI is one this server answers: a path, `*`, or an
/// `rtsp://` (or `rtsps://`) URL (RFC 2326 §3.2).
fn scheme_served(uri: &str) -> bool {
    match uri.split_once("://") {
        Some((scheme, _)) => ["rtsp", "rtsps"]
            .iter()
            .any(|s| scheme.eq_ignore_ascii_case(s)),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_absolute_and_carry_no_credentials() {
        let local: SocketAddr = "192.0.2.1:8554".parse().unwrap();
        for (uri, url) in [
            ("rtsp://h:554/a/b.264?x=1", "rtsp://h:554/a/b.264"),
            ("rtsp://alice:pw@h/a.264", "rtsp://h/a.264"),
            ("rtsp://a@b@h/a.264", "rtsp://h/a.264"),
            ("rtsp://h", "rtsp://h"),
            ("/a.264", "rtsp://192.0.2.1:8554/a.264"),
            ("a.264", "rtsp://192.0.2.1:8554/a.264"),
        ] {
            assert_eq!(absolute_url(uri, local), url, "{uri}");
        }
        let v6: SocketAddr = "[::1]:554".parse().unwrap();
        assert_eq!(absolute_url("a", v6), "rtsp://[::1]:554/a");
    }

    #[test]
    fn only_rtsp_urls_are_served() {
        for uri in ["rtsp://h/a", "RTSP://h/a", "rtsps://h/a", "/a", "a", "*"] {
            assert!(scheme_served(uri), "{uri}");
        }
        for uri in ["http://h/a", "file:///etc/passwd", "rtspu://h/a", "://h"] {
            assert!(!scheme_served(uri), "{uri}");
        }
    }
}
