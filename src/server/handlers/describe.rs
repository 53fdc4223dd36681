//! DESCRIBE (RFC 2326 §10.2): the SDP of a file, with `a=control` per
//! track and the exact duration in `a=range`, under a `Content-Base`
//! (§C.1.1) against which the track URLs resolve.

use super::{absolute_url, error, ConnCtx, Ctx, Handled};
use crate::rtsp::headers;
use crate::rtsp::message::{Response, Status};

impl Ctx<'_> {
    /// §10.2. A track URL describes nothing (404): only the presentation
    /// has a description.
    pub(super) async fn describe(&self, conn: &ConnCtx) -> Handled {
        let target = self.target().await?;
        if target.track.is_some() {
            return Err(error(Status::NOT_FOUND));
        }
        let media = self.media(&target).await?;
        let base = headers::content_base(&absolute_url(&self.request.uri, conn.local, conn.secure));
        Ok(Response::new(Status::OK)
            .header("Content-Base", base)
            .body("application/sdp", media.sdp(conn.local.ip())))
    }
}
