//! SETUP (RFC 2326 §10.4): a track of a file on a new or existing session,
//! over UDP (unicast, or multicast when configured) or interleaved on the
//! connection (§12.39).

use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use super::{absolute_url, end_session, error, forget_delivery, ConnCtx, Ctx, Handled};
use crate::rtsp::message::{Response, Status};
use crate::rtsp::transport::{self, Chosen, Lower, Offer};
use crate::server::delivery::Delivery;
use crate::server::session::{NewSession, PlayState, Session, SetupTrack};
use crate::server::traffic::SessionTraffic;

impl Ctx<'_> {
    /// §10.4: one track per request, on an existing session or a new one.
    pub(super) async fn setup(&self, conn: &mut ConnCtx) -> Handled {
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
        let offer = self
            .request
            .header("Transport")
            .and_then(|header| transport::choose(header, self.shared.multicast.is_some()))
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
        let (session, created) = match self.request.session_id() {
            Some(_) => {
                let session = self.session()?;
                if session.file != target.file {
                    return Err(error(Status::AGGREGATE_NOT_ALLOWED));
                }
                (session, false)
            }
            None => {
                let session = self
                    .shared
                    .sessions
                    .create(NewSession {
                        owner: self.user.clone(),
                        file: target.file.clone(),
                        media: Arc::clone(&media),
                        url: aggregate_url,
                        peer: conn.peer.ip(),
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
        let result = self.add_track(conn, &session, index, offer).await;
        if result.is_err() && created {
            end_session(self.shared, &session, false).await;
        }
        let chosen = result?;
        Ok(Response::new(Status::OK)
            .header("Transport", chosen.header().to_string())
            .header("Session", self.session_header(&session)))
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
        let ssrc = random_ssrc();
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
