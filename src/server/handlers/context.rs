//! The request being answered, and the lookups every method shares: its
//! session, the file its URL names, and that file's description.

use std::sync::Arc;

use super::{error, Denial};
use crate::rtsp::headers;
use crate::rtsp::message::{Request, Response, Status};
use crate::server::access::Verdict;
use crate::server::activity::ClientActivity as _;
use crate::server::catalog::{CatalogError, Media};
use crate::server::live::LiveSettings;
use crate::server::metrics::AuthFailure;
use crate::server::paths::{self, PathError, Target};
use crate::server::session::Session;
use crate::server::shared::Shared;

/// A request, with what the server shares and who sent it.
pub(super) struct Ctx<'a> {
    pub shared: &'a Shared,
    /// The authenticated user, `None` on an open server (or for a request
    /// without valid credentials where some paths need none).
    pub user: Option<String>,
    pub request: &'a Request,
    /// The settings in force for this request.
    pub live: Arc<LiveSettings>,
    /// The 401 to answer if the file turns out to need credentials.
    pub unauthorized: Option<Denial>,
}

impl Ctx<'_> {
    /// The session named by the `Session` header. Sessions are shared
    /// between connections only with the same credentials: anyone else is
    /// told it does not exist (454), as is a request without the header.
    pub fn session(&self) -> Result<Arc<Session>, Response> {
        let id = self
            .request
            .session_id()
            .ok_or_else(|| error(Status::SESSION_NOT_FOUND))?;
        let session = self
            .shared
            .sessions
            .get(id)
            .ok_or_else(|| error(Status::SESSION_NOT_FOUND))?;
        if session.owner != self.user {
            // A user's session, asked about without credentials: ask for them.
            return Err(match (&session.owner, &self.unauthorized) {
                (Some(_), Some(denial)) if self.user.is_none() => {
                    denial.clone().response(self.shared)
                }
                _ => error(Status::SESSION_NOT_FOUND),
            });
        }
        session.touch();
        Ok(session)
    }

    /// The `Session` header of answers on `session` (RFC 2326 §12.37).
    pub fn session_header(&self, session: &Session) -> String {
        headers::session(&session.id, self.shared.sessions.timeout())
    }

    /// Resolves the Request-URI to a file under the directory that the
    /// request's user may read (401 or 403 otherwise).
    pub async fn target(&self) -> Result<Target, Response> {
        let root = self.shared.root.clone();
        let uri = self.request.uri.clone();
        let target = tokio::task::spawn_blocking(move || paths::resolve(&root, &uri))
            .await
            .map_err(|_| error(Status::INTERNAL_ERROR))?
            .map_err(|e| match e {
                PathError::Malformed(_) => error(Status::BAD_REQUEST),
                PathError::NotFound => error(Status::NOT_FOUND),
            })?;
        self.may_read(&target)?;
        Ok(target)
    }

    /// Whether the user may read `target`: the rule of the file's own path
    /// (canonical, so that a link into a protected directory is protected
    /// too) decides.
    fn may_read(&self, target: &Target) -> Result<(), Response> {
        if self.live.access.is_empty() {
            // Without rules, authentication already decided.
            return Ok(());
        }
        let path = target
            .file
            .strip_prefix(&self.shared.root)
            .map(|p| p.to_string_lossy().replace(std::path::MAIN_SEPARATOR, "/"))
            .unwrap_or_default();
        match self.live.access.verdict(&path, self.user.as_deref()) {
            Verdict::Allowed => Ok(()),
            Verdict::NeedsCredentials => Err(match &self.unauthorized {
                Some(denial) => denial.clone().response(self.shared),
                None => error(Status::UNAUTHORIZED),
            }),
            Verdict::Forbidden => {
                self.shared.metrics.auth_failure(AuthFailure::Forbidden);
                Err(error(Status::FORBIDDEN))
            }
        }
    }

    /// The description of the file `target` names.
    pub async fn media(&self, target: &Target) -> Result<Arc<Media>, Response> {
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

    /// The track a request on `session` names, if it names one. A URL of
    /// another file gets 454: the session is not one of that resource
    /// (RFC 2326 §11.3.6). A URL we cannot map (a client's own spelling of
    /// the aggregate URL) is tolerated: the session id names the
    /// presentation.
    pub async fn track_named(&self, session: &Session) -> Result<Option<usize>, Response> {
        match self.target().await {
            Ok(target) if target.file != session.file => Err(error(Status::SESSION_NOT_FOUND)),
            Ok(target) => Ok(target.track),
            Err(_) => Ok(None),
        }
    }

    /// The track a PLAY/PAUSE URL names, if it names one. A track URL on a
    /// session of several tracks is refused (460): these operations apply
    /// to the whole presentation.
    pub async fn track_scope(&self, session: &Session) -> Result<Option<usize>, Response> {
        let track = self.track_named(session).await?;
        if track.is_some() && session.control.lock().await.tracks.len() > 1 {
            return Err(error(Status::ONLY_AGGREGATE));
        }
        Ok(track)
    }
}
