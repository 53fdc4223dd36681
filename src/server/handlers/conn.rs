//! What the handlers know and change about the connection a request came
//! on: its addresses, its writer queue, and the sessions tied to it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Weak};

use crate::server::keying::HeldOffers;
use crate::server::limits::Connection;
use crate::server::session::Session;
use crate::server::sink::InterleavedSink;

/// One connection's state, owned by its task and lent to each handler.
pub struct ConnCtx {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address on this connection.
    pub local: SocketAddr,
    /// Whether the connection is under TLS: its URLs are `rtsps://`, and
    /// its sessions' media is SRTP unless the server says otherwise.
    pub secure: bool,
    /// The SRTP keys its DESCRIBE answers handed out, for its SETUPs.
    pub(super) offers: HeldOffers,
    /// The writer queue, for interleaved tracks.
    pub(super) sink: InterleavedSink,
    /// The connection in the per-client counts: sessions created here
    /// count against its client's and its own limits.
    pub connection: Arc<Connection>,
    /// Interleaved channels in use on this connection, and their session.
    pub(super) channels: HashMap<u8, Weak<Session>>,
    /// Sessions with a track interleaved on this connection: they end with
    /// it (RFC 2326 §10.12).
    interleaved: Vec<Weak<Session>>,
    /// Sessions this connection created: while one lives, the connection
    /// stays open however idle (its client may keep the session alive with
    /// RTCP alone).
    created: Vec<Weak<Session>>,
}

impl ConnCtx {
    /// A connection from `peer` to `local` (under TLS if `secure`) whose
    /// writer takes `sink`, counted as `connection`.
    pub fn new(
        peer: SocketAddr,
        local: SocketAddr,
        secure: bool,
        sink: InterleavedSink,
        connection: Arc<Connection>,
    ) -> ConnCtx {
        ConnCtx {
            peer,
            local,
            secure,
            offers: HeldOffers::default(),
            sink,
            connection,
            channels: HashMap::new(),
            interleaved: Vec::new(),
            created: Vec::new(),
        }
    }

    /// Records that `session` sends on `channels` of this connection.
    pub(super) fn interleave(&mut self, channels: (u8, u8), session: &Arc<Session>) {
        self.channels.insert(channels.0, Arc::downgrade(session));
        self.channels.insert(channels.1, Arc::downgrade(session));
        add_session(&mut self.interleaved, session);
    }

    /// Records that this connection created `session`.
    pub(super) fn created(&mut self, session: &Arc<Session>) {
        add_session(&mut self.created, session);
    }

    /// Whether a session this connection created still exists.
    pub fn has_live_session(&self) -> bool {
        self.created.iter().any(|w| w.strong_count() > 0)
    }

    /// The session interleaving on `channel`, if it still exists.
    pub fn channel_session(&self, channel: u8) -> Option<Arc<Session>> {
        self.channels.get(&channel).and_then(Weak::upgrade)
    }

    /// The sessions interleaved on this connection, which is closing: they
    /// end with it.
    pub fn close(mut self) -> Vec<Arc<Session>> {
        self.interleaved
            .drain(..)
            .filter_map(|w| w.upgrade())
            .collect()
    }
}

/// Adds `session` to `list` once, dropping sessions that have ended (a
/// long-lived connection setting sessions up and down stays small).
fn add_session(list: &mut Vec<Weak<Session>>, session: &Arc<Session>) {
    list.retain(|w| w.strong_count() > 0);
    if !list
        .iter()
        .any(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(session)))
    {
        list.push(Arc::downgrade(session));
    }
}
