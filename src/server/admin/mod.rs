//! The admin HTTP listener (`--admin ADDR:PORT`, default 127.0.0.1:9090,
//! never an RTSP port): what operators and orchestrators ask of a running
//! server.
//!
//! | path | methods | what |
//! | --- | --- | --- |
//! | `/metrics` | GET | Prometheus text ([`super::metrics`]) |
//! | `/healthz` | GET | 200 while the process serves (liveness) |
//! | `/readyz` | GET | 200, or 503 while draining or with the directory unreadable (readiness) |
//! | `/api/v1/streams` | GET | the files served, as DESCRIBE describes them |
//! | `/api/v1/sessions` | GET | the sessions, with their counts and receiver reports |
//! | `/api/v1/sessions/{id}` | GET, DELETE | one session; DELETE ends it (RTCP BYE) |
//! | `/api/v1/reload` | POST | reloads the configuration, as SIGHUP does |
//!
//! HEAD is answered wherever GET is. With `admin_users` configured,
//! everything but the two probes asks for credentials, Basic or Digest
//! (Prometheus and kubelet speak only Basic: bind the listener to a
//! trusted network, as the default loopback address does). The probes are
//! open: they tell nothing, and a probe must not need a secret.
//!
//! Bounds: [`MAX_CONNECTIONS`] at once (more are closed unanswered), one
//! request each, read within the request timeout (see [`http`]).

mod api;
pub mod http;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use super::auth::{Attempt, Refusal};
use super::handlers;
use super::reload::Reloader;
use super::shared::Shared;
use http::{Answer, Head, ReadError};

pub use api::{any_playing, views};

/// Most admin connections served at once.
pub const MAX_CONNECTIONS: usize = 64;

/// How long an answer may take to write.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// What the admin endpoints reach.
#[derive(Clone)]
pub struct Admin {
    /// The server's state.
    pub shared: Arc<Shared>,
    /// Reloads the configuration.
    pub reloader: Reloader,
    /// The address of the RTSP URLs the streams API gives.
    pub rtsp: Option<SocketAddr>,
}

/// Serves admin requests on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, admin: Admin) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                tracing::warn!("admin: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            tracing::debug!("admin: {MAX_CONNECTIONS} connections at once: {peer} closed");
            continue;
        };
        let admin = admin.clone();
        tokio::spawn(async move {
            admin.connection(stream, peer).await;
            drop(slot);
        });
    }
}

/// A route's handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route<'a> {
    Metrics,
    Health,
    Ready,
    Streams,
    Sessions,
    Session(&'a str),
    Reload,
}

impl<'a> Route<'a> {
    /// The route of `path`, if any.
    fn of(path: &'a str) -> Option<Route<'a>> {
        Some(match path {
            "/metrics" => Route::Metrics,
            "/healthz" => Route::Health,
            "/readyz" => Route::Ready,
            "/api/v1/streams" => Route::Streams,
            "/api/v1/sessions" | "/api/v1/sessions/" => Route::Sessions,
            "/api/v1/reload" => Route::Reload,
            _ => {
                let id = path.strip_prefix("/api/v1/sessions/")?;
                (!id.is_empty() && !id.contains('/')).then_some(Route::Session(id))?
            }
        })
    }

    /// The methods it answers.
    fn allowed(self) -> &'static [&'static str] {
        match self {
            Route::Session(_) => &["GET", "HEAD", "DELETE"],
            Route::Reload => &["POST"],
            _ => &["GET", "HEAD"],
        }
    }

    /// Whether it asks for the admin users' credentials.
    fn private(self) -> bool {
        !matches!(self, Route::Health | Route::Ready)
    }
}

impl Admin {
    async fn connection(&self, mut stream: TcpStream, peer: SocketAddr) {
        let timeout = self.shared.config.request_timeout;
        let (answer, head_only) = match http::read_request(&mut stream, timeout).await {
            Ok(head) => {
                let answer = self.answer(&head, peer).await;
                tracing::debug!(
                    "admin: {peer} {} {} -> {}",
                    head.method,
                    head.target,
                    answer.status
                );
                (answer, head.method == "HEAD")
            }
            Err(ReadError::Refuse(answer)) => {
                tracing::debug!("admin: {peer}: {} {}", answer.status, answer.body);
                (answer, false)
            }
            Err(ReadError::Gone) => return,
        };
        answer.write(&mut stream, head_only, WRITE_TIMEOUT).await;
    }

    /// The answer to one request.
    async fn answer(&self, head: &Head, peer: SocketAddr) -> Answer {
        let path = head.target.split(['?', '#']).next().unwrap_or_default();
        let Some(route) = Route::of(path) else {
            return Answer::error(404, "no such endpoint");
        };
        let allowed = route.allowed();
        if !allowed.contains(&head.method.as_str()) {
            return Answer::error(405, "method not allowed").header("Allow", allowed.join(", "));
        }
        if route.private() {
            if let Some(refused) = self.refused(head, peer) {
                return refused;
            }
        }
        let shared = &self.shared;
        match route {
            Route::Health => Answer::json(200, r#"{"status":"ok"}"#.into()),
            Route::Ready => self.readiness().await,
            Route::Metrics => {
                let counts = api::counts(&api::views(shared).await);
                let mut answer = Answer::json(200, shared.metrics.encode(&counts));
                answer.content_type = super::metrics::CONTENT_TYPE;
                answer
            }
            Route::Streams => Answer::json(200, api::streams(shared, self.rtsp).await.to_string()),
            Route::Sessions => {
                let sessions: Vec<serde_json::Value> = api::views(shared)
                    .await
                    .iter()
                    .map(|view| api::session_json(shared, view))
                    .collect();
                Answer::json(200, serde_json::json!({ "sessions": sessions }).to_string())
            }
            Route::Session(id) => {
                let Some(session) = shared.sessions.get(id) else {
                    return Answer::error(404, "no such session");
                };
                if head.method == "DELETE" {
                    tracing::info!("admin: {peer} ends session {id}");
                    handlers::end_session(shared, &session, true).await;
                    shared.metrics.kicked.inc();
                    return Answer::json(204, String::new());
                }
                let view = api::view(session).await;
                Answer::json(200, api::session_json(shared, &view).to_string())
            }
            Route::Reload => match self.reloader.reload().await {
                Ok(done) => Answer::json(
                    200,
                    serde_json::json!({
                        "reloaded": true,
                        "restart_needed": done.restart_needed,
                    })
                    .to_string(),
                ),
                Err(e) => Answer::error(422, &format!("{e:#}")),
            },
        }
    }

    /// The 401 for a request without the admin users' credentials, if the
    /// listener has users.
    fn refused(&self, head: &Head, peer: SocketAddr) -> Option<Answer> {
        let live = self.shared.live.get();
        let auth = live.admin_auth.as_ref()?;
        let attempt = Attempt {
            method: &head.method,
            uri: &head.target,
            client: peer.ip(),
            authorization: head.authorization.as_deref(),
        };
        let stale = match auth.check(&attempt) {
            Ok(_) => return None,
            Err(Refusal::UriMismatch) => return Some(Answer::error(400, "digest uri mismatch")),
            Err(Refusal::Unauthorized { stale }) => stale,
        };
        let mut answer = Answer::error(401, "credentials needed");
        for challenge in auth.challenges(stale, peer.ip()) {
            answer = answer.header("WWW-Authenticate", challenge);
        }
        Some(answer)
    }

    /// `/readyz`: ready unless draining or the directory cannot be read.
    async fn readiness(&self) -> Answer {
        if self.shared.draining.is_cancelled() {
            return Answer::json(503, r#"{"status":"draining"}"#.into());
        }
        let root = self.shared.root.clone();
        let readable = tokio::task::spawn_blocking(move || std::fs::read_dir(root).is_ok())
            .await
            .unwrap_or(false);
        if readable {
            Answer::json(200, r#"{"status":"ready"}"#.into())
        } else {
            Answer::json(503, r#"{"status":"media directory unreadable"}"#.into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(Route::of("/metrics"), Some(Route::Metrics));
        assert_eq!(
            Route::of("/api/v1/sessions/AB12"),
            Some(Route::Session("AB12"))
        );
        assert_eq!(Route::of("/api/v1/sessions/"), Some(Route::Sessions));
        for path in [
            "/",
            "/metrics/",
            "/api/v1/sessions/a/b",
            "/api/v2/streams",
            "metrics",
            "",
        ] {
            assert_eq!(Route::of(path), None, "{path}");
        }
        assert!(!Route::Health.private() && Route::Metrics.private());
        assert_eq!(Route::Reload.allowed(), ["POST"]);
    }
}
