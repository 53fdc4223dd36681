//! What the media plane tells a session about its client, without knowing
//! sessions: signs of life, which keep a session from being reclaimed (RFC
//! 2326 §12.37 asks for "activity"), and the packets the client sends on
//! its media channels. The UDP plane and playback hold a
//! `Weak<dyn ClientActivity>`; a session implements it.

/// The receiver of a client's activity on the media plane.
pub trait ClientActivity: Send + Sync {
    /// A sign of life: the client took interleaved packets, or sent a
    /// request or a packet.
    fn touch(&self);

    /// A packet the client sent on one of the session's media channels
    /// (its RTCP, or RTP sent to open a NAT): a sign of life, and reports
    /// to read.
    fn client_packet(&self, data: &[u8]);

    /// The client's RTP port answered with ICMP port unreachable: it has
    /// most likely closed it (its player quit). A sign of life since says
    /// otherwise.
    fn unreachable(&self);
}
