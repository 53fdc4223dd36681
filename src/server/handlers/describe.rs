//! DESCRIBE (RFC 2326 §10.2): the SDP of a file, with `a=control` per
//! track and the exact duration in `a=range`, under a `Content-Base`
//! (§C.1.1) against which the track URLs resolve. Over RTSPS with SRTP on,
//! the media are `RTP/SAVP` with a fresh master key in both `a=crypto` and
//! `a=key-mgmt` (see [`crate::server::keying`]), held on the connection
//! for the SETUP that creates the session.

use super::{absolute_url, error, ConnCtx, Ctx, Handled};
use crate::rtsp::headers;
use crate::rtsp::message::{Response, Status};
use crate::sdp::SrtpOffer;
use crate::server::config::SrtpSettings;
use crate::server::keying;
use crate::server::shared::Shared;

impl Ctx<'_> {
    /// §10.2. A track URL describes nothing (404): only the presentation
    /// has a description.
    pub(super) async fn describe(&self, conn: &mut ConnCtx) -> Handled {
        let target = self.target().await?;
        if target.track.is_some() {
            return Err(error(Status::NOT_FOUND));
        }
        let media = self.media(&target).await?;
        let offer = match srtp_served(self.shared, conn) {
            None => None,
            Some(settings) => Some(self.offer(settings, &media.track_indices())?),
        };
        let sdp = media.sdp(conn.local.ip(), offer.as_ref());
        if let Some(offer) = offer {
            conn.offers.hold(&target.file, offer);
        }
        let base = headers::content_base(&absolute_url(&self.request.uri, conn.local, conn.secure));
        Ok(Response::new(Status::OK)
            .header("Content-Base", base)
            .body("application/sdp", sdp))
    }

    /// A fresh key and SSRCs for `tracks`, under the policy this client
    /// gets.
    fn offer(&self, settings: SrtpSettings, tracks: &[usize]) -> Result<SrtpOffer, Response> {
        let user_agent = self.request.header("User-Agent");
        keying::session_policy(settings, user_agent)
            .map_err(Into::into)
            .and_then(|policy| SrtpOffer::random(policy, tracks))
            .map_err(|e| {
                tracing::error!("no SRTP key for a DESCRIBE answer: {e}");
                error(Status::INTERNAL_ERROR)
            })
    }
}

/// How this connection's sessions protect their media: SRTP inside TLS
/// when the server has it on, `None` for plain RTP.
pub(super) fn srtp_served(shared: &Shared, conn: &ConnCtx) -> Option<SrtpSettings> {
    shared.config.srtp.filter(|_| conn.secure)
}
