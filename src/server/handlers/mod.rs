//! The request handlers: [`handle`] checks what every request needs (a
//! CSeq, an RTSP URL, credentials) and hands it to its method's file, one
//! per RTSP method (RFC 2326 §10), each reading its headers and applying
//! them, with the statuses of §7.1.1 for everything that can go wrong.
//! What the methods share is here and in `context` (the request's session
//! and file) and `conn` (the connection's state).

mod conn;
mod context;
mod describe;
mod options;
mod parameter;
mod pause;
mod play;
mod setup;
mod teardown;

use std::net::SocketAddr;
use std::sync::Arc;

use super::auth::{Attempt, Refusal};
use super::delivery::Delivery;
use super::live::LiveSettings;
use super::metrics::AuthFailure;
use super::session::{PlayState, Session};
use super::shared::Shared;
use crate::rtsp::message::{Method, Request, Response, Status};

pub use conn::ConnCtx;
use context::Ctx;

/// Answers one request.
pub async fn handle(shared: &Shared, conn: &mut ConnCtx, request: Request) -> Response {
    if request.cseq().is_none() || !scheme_served(&request.uri) {
        return Response::new(Status::BAD_REQUEST);
    }
    // RFC 2326 §12.32: no optional feature is supported.
    if let Some(required) = request.header("Require") {
        let response = Response::new(Status::OPTION_NOT_SUPPORTED);
        let tags = unsupported(required);
        return if tags.is_empty() {
            response
        } else {
            response.header("Unsupported", tags)
        };
    }
    // A drain lets the sessions there are finish, and starts no new one.
    if shared.draining.is_cancelled() && opens_session(&request) {
        return Response::new(Status::UNAVAILABLE);
    }
    let live = shared.live.get();
    let mut unauthorized = None;
    let user = match request.method {
        // OPTIONS needs no credentials, but uses them when given.
        Method::Options => authenticate(&live, conn, &request).ok().flatten(),
        Method::Announce | Method::Record | Method::Redirect => {
            return Response::new(Status::METHOD_NOT_ALLOWED).header("Allow", Method::PUBLIC)
        }
        Method::Other(_) => {
            return Response::new(Status::NOT_IMPLEMENTED).header("Public", Method::PUBLIC)
        }
        _ => match authenticate(&live, conn, &request) {
            Ok(user) => user,
            // Where some paths are open to anyone, the path decides
            // whether credentials were needed (`Ctx::target`).
            Err(refused @ Denial::Unauthorized(..)) if live.access.anonymous_somewhere() => {
                unauthorized = Some(refused);
                None
            }
            Err(refused) => return refused.response(shared),
        },
    };
    let ctx = Ctx {
        shared,
        user,
        request: &request,
        live,
        unauthorized,
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

/// Whether a request would start a session: DESCRIBE, or SETUP without
/// a `Session` header.
fn opens_session(request: &Request) -> bool {
    match request.method {
        Method::Describe => true,
        Method::Setup => request.session_id().is_none(),
        _ => false,
    }
}

/// Why a request's credentials were refused.
#[derive(Clone, Debug)]
pub(super) enum Denial {
    /// Credentials computed for another URL (RFC 7616 §3.4.6): 400.
    UriMismatch,
    /// 401 with these challenges, for this reason.
    Unauthorized(Response, AuthFailure),
}

impl Denial {
    /// The response, counted among the authentication failures.
    fn response(self, shared: &Shared) -> Response {
        match self {
            Denial::UriMismatch => Response::new(Status::BAD_REQUEST),
            Denial::Unauthorized(response, reason) => {
                shared.metrics.auth_failure(reason);
                response
            }
        }
    }
}

/// The authenticated user, `None` on an open server; why not otherwise.
fn authenticate(
    live: &LiveSettings,
    conn: &ConnCtx,
    request: &Request,
) -> Result<Option<String>, Denial> {
    let Some(auth) = &live.auth else {
        return Ok(None);
    };
    let authorization = request.header("Authorization");
    let attempt = Attempt {
        method: request.method.as_str(),
        uri: &request.uri,
        client: conn.peer.ip(),
        authorization,
    };
    match auth.check(&attempt) {
        Ok(user) => Ok(Some(user)),
        Err(Refusal::UriMismatch) => Err(Denial::UriMismatch),
        Err(Refusal::Unauthorized { stale }) => {
            let mut response = Response::new(Status::UNAUTHORIZED);
            for value in auth.challenges(stale, conn.peer.ip()) {
                response = response.header("WWW-Authenticate", value);
            }
            let reason = match (authorization, stale) {
                (None, _) => AuthFailure::Missing,
                (Some(_), true) => AuthFailure::Stale,
                (Some(_), false) => AuthFailure::Invalid,
            };
            Err(Denial::Unauthorized(response, reason))
        }
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
/// connected to (`rtsps://` on a TLS connection).
fn absolute_url(uri: &str, local: SocketAddr, secure: bool) -> String {
    let uri = uri.split(['?', '#']).next().unwrap_or("");
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority
                .rsplit_once('@')
                .map_or(authority, |(_, host)| host);
            format!("{scheme}://{host}{path}")
        }
        None => format!(
            "{}://{}/{}",
            if secure { "rtsps" } else { "rtsp" },
            local,
            uri.trim_start_matches('/')
        ),
    }
}

/// Most bytes of option tags echoed in `Unsupported`.
const MAX_UNSUPPORTED: usize = 256;

/// The `Unsupported` list of a 551 (RFC 2326 §12.32, §12.43): the option
/// tags of `Require`, whole, as far as they fit in [`MAX_UNSUPPORTED`]
/// bytes. Never the header whole: it may be 8 KiB, answered before
/// authentication, hundreds of times on one connection.
fn unsupported(required: &str) -> String {
    let mut out = String::new();
    for tag in required.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        let separator = if out.is_empty() { 0 } else { 2 };
        if out.len() + separator + tag.len() > MAX_UNSUPPORTED {
            break;
        }
        if separator > 0 {
            out.push_str(", ");
        }
        out.push_str(tag);
    }
    out
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
            assert_eq!(absolute_url(uri, local, false), url, "{uri}");
        }
        let v6: SocketAddr = "[::1]:554".parse().unwrap();
        assert_eq!(absolute_url("a", v6, false), "rtsp://[::1]:554/a");
        assert_eq!(absolute_url("/a", v6, true), "rtsps://[::1]:554/a");
        assert_eq!(absolute_url("rtsps://h/a", v6, true), "rtsps://h/a");
    }

    #[test]
    fn unsupported_lists_whole_tags_up_to_a_bound() {
        assert_eq!(unsupported("play.basic"), "play.basic");
        assert_eq!(unsupported(" a , b,,c "), "a, b, c");
        let long = "x".repeat(8000);
        assert_eq!(unsupported(&long), "");
        let many = vec!["funky-feature"; 100].join(",");
        let echoed = unsupported(&format!("first, {many}"));
        assert!(echoed.starts_with("first, funky-feature, "));
        assert!(echoed.len() <= MAX_UNSUPPORTED && echoed.len() > MAX_UNSUPPORTED - 15);
        assert!(!echoed.ends_with(", "));
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
