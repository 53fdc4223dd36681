//! GET_PARAMETER and SET_PARAMETER (RFC 2326 §10.8, §10.9): with an empty
//! body a keep-alive; no parameter is known.

use super::{error, Ctx, Handled};
use crate::rtsp::message::{Response, Status};

impl Ctx<'_> {
    /// §10.8, §10.9: an empty body (or only white space) is a keep-alive of
    /// the session named, if any; any parameter gets 451.
    pub(super) fn parameter(&self) -> Handled {
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
