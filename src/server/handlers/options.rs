//! OPTIONS (RFC 2326 §10.1): the methods served. A `Session` header keeps
//! that session alive, as clients use OPTIONS for keep-alive.

use super::{Ctx, Handled};
use crate::rtsp::message::{Method, Response, Status};
use crate::server::activity::ClientActivity as _;

impl Ctx<'_> {
    /// §10.1. Needs no credentials; a session is kept alive only for its
    /// owner.
    pub(super) fn options(&self) -> Handled {
        if let Some(session) = self
            .request
            .session_id()
            .and_then(|id| self.shared.sessions.get(id))
            .filter(|s| s.owner == self.user)
        {
            session.touch();
        }
        Ok(Response::new(Status::OK).header("Public", Method::PUBLIC))
    }
}
