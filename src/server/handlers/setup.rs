//! SETUP (RFC 2326 §10.4): a track of a file on a new or existing session,
//! over UDP (unicast, or multicast when configured) or interleaved on the
//! connection (§12.39).
//!
//! Over RTSPS with SRTP on, a new session takes the key the connection's
//! DESCRIBE answer handed out (463 Key Management Failure, RFC 4567 §3.3,
//! when there was none), and its media is SRTP whatever profile the client
//! names: `RTP/SAVP` and `RTP/SAVPF` (GStreamer), and `RTP/AVP` too, which
//! is all ffmpeg ever offers (`libavformat/rtsp.c` writes `RTP/AVP` into
//! every SETUP and decrypts by the SDP's `a=crypto` alone); the answer says
//! `RTP/SAVP` (`RTP/SAVPF` to a SAVPF offer), which GStreamer needs to set
//! its decoder up and ffmpeg ignores. A client's `KeyMgmt` header
//! (GStreamer's key for its own SRTCP) is read so that its receiver reports
//! can be.

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use std::path::Path;

use super::describe::srtp_served;
use super::{absolute_url, end_session, error, forget_delivery, ConnCtx, Ctx, Handled};
use crate::rtsp::message::{Response, Status};
use crate::rtsp::transport::{self, Chosen, Header, Lower, Offer, Profile};
use crate::server::delivery::Delivery;
use crate::server::keying::SessionSrtp;
use crate::server::limits::Refusal;
use crate::server::session::{NewSession, PlayState, Session, SetupTrack};
use crate::server::traffic::SessionTraffic;

/// The profiles a plain session is served under.
const PLAIN: &[Profile] = &[Profile::Avp];
/// The profiles an SRTP session is served under (see the module docs).
const SECURE: &[Profile] = &[Profile::Avp, Profile::Savp, Profile::Savpf];

impl Ctx<'_> {
    /// §10.4: one track per request, on an existing session or a new one.
    pub(super) async fn setup(&self, conn: &mut ConnCtx) -> Handled {
        self.shared
            .limits
            .setup(&conn.connection)
            .map_err(|refusal| self.refused(conn, refusal))?;
        let target = self.target().await?;
        let media = self.media(&target).await?;
        let index = match target.track {
            Some(i) => i,
            // The aggregate URL of a single-track file names its track.
            None if media.tracks.len() == 1 => media.tracks[0].index,
            None => return Err(error(Status::AGGREGATE_NOT_ALLOWED)),
        };
        if media.track(index).is_none() {
            return Err(error(Status::NOT_FOUND));
        }
        let existing = match self.request.session_id() {
            Some(_) => Some(self.session()?),
            None => None,
        };
        let srtp = match &existing {
            Some(session) => session.srtp.is_some(),
            None => srtp_served(self.shared, conn).is_some(),
        };
        let profiles = if srtp { SECURE } else { PLAIN };
        let offer = self
            .request
            .header("Transport")
            .and_then(|header| transport::choose(header, self.shared.multicast.is_some(), profiles))
            .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
        if offer.lower == Lower::Udp
            && !offer.multicast
            && self
                .shared
                .udp
                .as_ref()
                .and_then(|u| u.pair_for(&conn.peer))
                .is_none()
        {
            return Err(error(Status::UNSUPPORTED_TRANSPORT));
        }
        let url = absolute_url(&self.request.uri, conn.local, conn.secure);
        let aggregate_url = match target.track {
            Some(_) => url.rsplit_once('/').map_or(url.as_str(), |(base, _)| base),
            None => url.as_str(),
        }
        .trim_end_matches('/')
        .to_owned();
        let (session, created) = match existing {
            Some(session) => {
                if session.file != target.file {
                    return Err(error(Status::AGGREGATE_NOT_ALLOWED));
                }
                (session, false)
            }
            None => {
                let srtp = match srtp {
                    true => Some(Arc::new(session_keys(conn, &target.file)?)),
                    false => None,
                };
                let counted = self
                    .shared
                    .limits
                    .session(&conn.connection, self.user.as_deref())
                    .map_err(|refusal| self.refused(conn, refusal))?;
                let session = self
                    .shared
                    .sessions
                    .create(NewSession {
                        owner: self.user.clone(),
                        file: target.file.clone(),
                        media: Arc::clone(&media),
                        url: aggregate_url,
                        peer: conn.peer.ip(),
                        srtp,
                        counted,
                        traffic: Arc::new(SessionTraffic::new(
                            self.shared.metrics.traffic().clone(),
                        )),
                    })
                    // RFC 2326 §12.31: sessions end all the time; ask
                    // the client to try again shortly.
                    .ok_or_else(|| error(Status::UNAVAILABLE).header("Retry-After", "5"))?;
                conn.created(&session);
                (session, true)
            }
        };
        let offered = offer.profile;
        let result = self.add_track(conn, &session, index, offer).await;
        if result.is_err() && created {
            end_session(self.shared, &session, false).await;
        }
        let chosen = result?;
        let profile = match (&session.srtp, offered) {
            (None, _) => Profile::Avp,
            (Some(_), Profile::Savpf) => Profile::Savpf,
            (Some(_), _) => Profile::Savp,
        };
        if let (Some(srtp), Some(key_mgmt)) = (&session.srtp, self.request.header("KeyMgmt")) {
            match srtp.add_client_keys(key_mgmt) {
                Ok(streams) => tracing::debug!(
                    "session {}: the client's SRTCP keys for {streams} streams",
                    session.id
                ),
                Err(e) => tracing::info!("session {}: unreadable KeyMgmt: {e}", session.id),
            }
        }
        let header = Header {
            profile,
            ..chosen.header()
        };
        Ok(Response::new(Status::OK)
            .header("Transport", header.to_string())
            .header("Session", self.session_header(&session)))
    }

    /// The 503 of a SETUP over one of the per-client limits, with the
    /// `Retry-After` that suits it (RFC 2326 §12.31).
    fn refused(&self, conn: &ConnCtx, refusal: Refusal) -> Response {
        tracing::debug!(
            "SETUP from {} refused: {} reached",
            conn.peer,
            refusal.limit()
        );
        error(Status::UNAVAILABLE).header("Retry-After", refusal.retry_after().to_string())
    }

    /// Sets track `index` up on `session` as `offer` asks, replacing the
    /// track's earlier setup; returns the transport chosen.
    async fn add_track(
        &self,
        conn: &mut ConnCtx,
        session: &Arc<Session>,
        index: usize,
        offer: Offer,
    ) -> Result<Chosen, Response> {
        let mut control = session.control.lock().await;
        if control.closed {
            return Err(error(Status::SESSION_NOT_FOUND));
        }
        match control.state {
            PlayState::Ready => {}
            // Adding a track to a paused session: the old reader no longer
            // matches the track list; playback restarts from the beginning.
            PlayState::Paused(_) => control.state = PlayState::Ready,
            PlayState::Playing(_) => return Err(error(Status::INVALID_STATE)),
        }
        let ssrc = match &session.srtp {
            // The SSRC its key exchange announced.
            Some(srtp) => srtp
                .ssrc(index)
                .ok_or_else(|| error(Status::KEY_MANAGEMENT_FAILURE))?,
            None => random_ssrc(),
        };
        let (delivery, chosen) = self.delivery(conn, session, &offer, ssrc)?;
        if let Some(track) = session.media.track(index) {
            session.traffic.track(ssrc, index, track.payload.clock_rate);
        }
        let track = SetupTrack {
            index,
            ssrc,
            delivery,
        };
        // The old routes go before the new ones come: a client may set a
        // track up again with the same ports.
        match control.tracks.iter_mut().find(|t| t.index == index) {
            Some(existing) => {
                let old = std::mem::replace(existing, track.clone());
                forget_delivery(self.shared, session, &old.delivery);
            }
            None => control.tracks.push(track.clone()),
        }
        if let (Some(addrs), Some(udp)) = (track.delivery.unicast_udp(), &self.shared.udp) {
            for addr in addrs {
                udp.route(addr, session);
            }
        }
        Ok(chosen)
    }

    /// Where a track's packets go as `offer` asks, sent with `ssrc`: to a
    /// multicast group leased for it (453 when none is free), to the
    /// client's UDP ports, or interleaved on this connection.
    fn delivery(
        &self,
        conn: &mut ConnCtx,
        session: &Arc<Session>,
        offer: &Offer,
        ssrc: u32,
    ) -> Result<(Delivery, Chosen), Response> {
        Ok(match offer.lower {
            Lower::Udp if offer.multicast => {
                let lease = self
                    .shared
                    .multicast
                    .as_ref()
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?
                    .lease()
                    .ok_or_else(|| error(Status::NOT_ENOUGH_BANDWIDTH))?;
                let (group, ports) = (lease.group(), lease.ports());
                let chosen = Chosen::Multicast {
                    group,
                    ports,
                    ttl: lease.ttl(),
                    ssrc,
                };
                let delivery = Delivery::Udp {
                    rtp: SocketAddr::new(group.into(), ports.0),
                    rtcp: SocketAddr::new(group.into(), ports.1),
                    multicast: Some(Arc::new(lease)),
                };
                (delivery, chosen)
            }
            Lower::Udp => {
                let udp = self
                    .shared
                    .udp
                    .as_ref()
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let client = offer
                    .client_port
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let server = udp
                    .server_ports(&conn.peer)
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                let rtp = SocketAddr::new(conn.peer.ip(), client.0);
                let rtcp = SocketAddr::new(conn.peer.ip(), client.1);
                (
                    Delivery::Udp {
                        rtp,
                        rtcp,
                        multicast: None,
                    },
                    Chosen::Udp {
                        client,
                        server,
                        ssrc,
                    },
                )
            }
            Lower::Tcp => {
                let channels = free_channels(conn, offer.interleaved, session)
                    .ok_or_else(|| error(Status::UNSUPPORTED_TRANSPORT))?;
                conn.interleave(channels, session);
                (
                    Delivery::Interleaved {
                        sink: conn.sink.clone(),
                        rtp: channels.0,
                        rtcp: channels.1,
                    },
                    Chosen::Tcp { channels, ssrc },
                )
            }
        })
    }
}

/// The SRTP keys of a new session on `file`: those the connection's
/// DESCRIBE answer handed out; 463 Key Management Failure without one (the
/// client has no key to read the media with).
fn session_keys(conn: &mut ConnCtx, file: &Path) -> Result<SessionSrtp, Response> {
    match conn.offers.session_keys(file) {
        Some(Ok(keys)) => Ok(keys),
        Some(Err(e)) => {
            tracing::error!("no SRTP keys for a new session: {e}");
            Err(error(Status::INTERNAL_ERROR))
        }
        None => {
            tracing::info!(
                "{}: SETUP over RTSPS without a DESCRIBE of {} on this connection: no SRTP key",
                conn.peer,
                file.display()
            );
            Err(error(Status::KEY_MANAGEMENT_FAILURE))
        }
    }
}

/// The requested interleaved channels if free on this connection (or used
/// by this same session), else the lowest free even pair.
fn free_channels(
    conn: &ConnCtx,
    requested: Option<(u8, u8)>,
    session: &Arc<Session>,
) -> Option<(u8, u8)> {
    let free = |c: u8| match conn.channels.get(&c).and_then(Weak::upgrade) {
        None => true,
        Some(owner) => Arc::ptr_eq(&owner, session),
    };
    if let Some((rtp, rtcp)) = requested {
        if rtp != rtcp && free(rtp) && free(rtcp) {
            return Some((rtp, rtcp));
        }
    }
    (0..=254u8)
        .step_by(2)
        .find(|&c| free(c) && free(c + 1))
        .map(|c| (c, c + 1))
}

fn random_ssrc() -> u32 {
    getrandom::u32().unwrap_or(0x4d54_4f4f)
}
