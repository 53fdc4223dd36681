//! SRTP for the `serve` tests' raw client: the keys a DESCRIBE answer hands
//! out (each media section's SDES `a=crypto`, read with the library's
//! parser, which `srtp_ffmpeg.rs` checks against ffmpeg), and a receiver
//! that unprotects a track's packets, or passes plain RTP through.

use mediatool::srtp::sdes::CryptoAttribute;
use mediatool::srtp::{SrtpError, SrtpReceiver};

/// The key of each media section of `sdp`, in order: `None` for plain RTP.
pub fn media_keys(sdp: &str) -> Vec<Option<CryptoAttribute>> {
    let mut keys = Vec::new();
    for line in sdp.lines() {
        if line.starts_with("m=") {
            keys.push(None);
        } else if let (Some(value), Some(last)) = (line.strip_prefix("a=crypto:"), keys.last_mut())
        {
            *last = Some(CryptoAttribute::parse(value).expect("a readable a=crypto"));
        }
    }
    keys
}

/// One track's packets made plain: unprotected with the key of its media
/// section, or passed through for plain RTP.
pub struct Unprotect(Option<SrtpReceiver>);

impl Unprotect {
    /// For the packets of a track keyed by `key` (its media section's).
    pub fn new(key: Option<&CryptoAttribute>) -> Unprotect {
        Unprotect(key.map(|k| SrtpReceiver::new(&k.key, k.policy, 0)))
    }

    /// For the first media section of `sdp` (a one-track file's).
    pub fn first_track(sdp: &str) -> Unprotect {
        Unprotect::new(media_keys(sdp).first().and_then(Option::as_ref))
    }

    /// Whether the track is SRTP.
    pub fn is_srtp(&self) -> bool {
        self.0.is_some()
    }

    /// The RTP packet in `packet`.
    pub fn rtp(&mut self, mut packet: Vec<u8>) -> Result<Vec<u8>, SrtpError> {
        if let Some(receiver) = &mut self.0 {
            let len = receiver.unprotect_rtp(&mut packet)?;
            packet.truncate(len);
        }
        Ok(packet)
    }

    /// The RTCP packet in `packet`.
    pub fn rtcp(&mut self, mut packet: Vec<u8>) -> Result<Vec<u8>, SrtpError> {
        if let Some(receiver) = &mut self.0 {
            let len = receiver.unprotect_rtcp(&mut packet)?;
            packet.truncate(len);
        }
        Ok(packet)
    }

    /// The rollover counter of the latest RTP packet (0 for plain RTP).
    pub fn roc(&self) -> u32 {
        self.0.as_ref().map_or(0, SrtpReceiver::roc)
    }
}
