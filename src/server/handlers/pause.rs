//! PAUSE (RFC 2326 §10.6): playback stops, and the reader with the
//! packets not yet sent is kept for the next PLAY to resume from.

use super::{error, Ctx, Handled};
use crate::rtsp::message::{Response, Status};
use crate::server::session::PlayState;

impl Ctx<'_> {
    /// §10.6: stops sending, keeping the position for the next PLAY.
    pub(super) async fn pause(&self) -> Handled {
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
                session.traffic.stopped();
                if let Some(source) = player.stop(false).await {
                    control.state = PlayState::Paused(source);
                }
            }
        }
        Ok(Response::new(Status::OK).header("Session", self.session_header(&session)))
    }
}
