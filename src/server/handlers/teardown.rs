//! TEARDOWN (RFC 2326 §10.7): the end of a session, or of one track of
//! several.

use super::{end_session, error, forget_delivery, Ctx, Handled};
use crate::rtsp::message::{Response, Status};
use crate::server::session::PlayState;

impl Ctx<'_> {
    /// §10.7: ends the session, or drops the track its URL names from a
    /// session of several (not while it plays: 455).
    pub(super) async fn teardown(&self) -> Handled {
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
}
