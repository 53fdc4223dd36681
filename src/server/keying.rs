//! The SRTP keys of RTSPS sessions (RFC 3711), from the DESCRIBE answer
//! that hands them out to the packets they protect:
//!
//! - [`session_policy`]: the policy of a new offer, per client (see
//!   [`crate::srtp`] for why an MKI only for live555 clients).
//! - [`HeldOffers`]: the key must exist when the DESCRIBE answer is
//!   written, before SETUP creates the session: each connection keeps the
//!   offers its DESCRIBE answers made, a few, by file, for its SETUPs.
//! - [`SessionSrtp`]: a session's key, each track's SSRC and sending
//!   context ([`TrackSender`], kept for the session's life so that no
//!   packet index is ever protected twice, whatever PLAY, PAUSE and seeks
//!   do), and the keys the client protects its own RTCP with (its
//!   receiver reports: under the session key as ffmpeg does, or under a key
//!   of its own sent in the SETUP's `KeyMgmt` header as GStreamer does,
//!   RFC 4567 §3.3), read for the reports' statistics.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;

use super::config::SrtpSettings;
use crate::rtsp::headers::split_outside_quotes;
use crate::sdp::{random_ssrcs, SrtpOffer};
use crate::srtp::mikey::{MikeyMessage, SDP_PROTOCOL};
use crate::srtp::{
    KeyExchangeError, Mki, Policy, SrtpError, SrtpKey, SrtpReceiver, SrtpSender, Suite,
};

/// Offers one connection holds at most: a client describing more files
/// than this before setting one up loses the oldest.
pub const HELD_OFFERS: usize = 8;

/// The most keys a session reads its client's RTCP with: the session key
/// and the streams of the client's `KeyMgmt` messages.
const CLIENT_CONTEXTS: usize = 8;

/// One track's SRTP sending context, shared by the session (which keeps it
/// across plays) and the playback task of the moment (which protects
/// packets as it sends them).
pub type TrackSender = Arc<Mutex<SrtpSender>>;

/// The policy of a session offered to a client sending `user_agent`:
/// `AES_CM_128_HMAC_SHA1_80`, the one suite every client reads alike;
/// with a fresh 4-byte MKI for live555-based clients (their `User-Agent`
/// names `LIVE555`), which require one and which nothing else reads; and
/// without encryption when the settings say so (authentication stays).
pub fn session_policy(
    settings: SrtpSettings,
    user_agent: Option<&str>,
) -> Result<Policy, SrtpError> {
    let mut policy = Policy::new(Suite::AesCm128HmacSha1_80);
    let live555 = user_agent.is_some_and(|ua| ua.to_ascii_uppercase().contains("LIVE555"));
    if live555 {
        policy = policy.with_mki(Mki::random()?);
    }
    if !settings.encrypt {
        policy = policy.without_encryption();
    }
    Ok(policy)
}

/// An offer held for a file, and whether a session took its SSRCs.
struct Held {
    file: PathBuf,
    offer: Arc<SrtpOffer>,
    used: bool,
}

/// The offers a connection's DESCRIBE answers made, newest last, one per
/// file, at most [`HELD_OFFERS`].
#[derive(Default)]
pub struct HeldOffers {
    held: VecDeque<Held>,
}

impl HeldOffers {
    /// Keeps `offer`, made for `file`, replacing the file's earlier one.
    pub fn hold(&mut self, file: &Path, offer: SrtpOffer) {
        self.held.retain(|h| h.file != file);
        if self.held.len() == HELD_OFFERS {
            self.held.pop_front();
        }
        self.held.push_back(Held {
            file: file.to_owned(),
            offer: Arc::new(offer),
            used: false,
        });
    }

    /// The keys of a new session on `file`, from the offer held for it:
    /// the first session takes the offered SSRCs; a later one (a client
    /// setting up again with the description it has) the same key with
    /// fresh SSRCs, so that no two streams under the key share one and
    /// their keystreams never meet (RFC 3711 §9.1). `None` when no
    /// DESCRIBE on this connection described the file.
    pub fn session_keys(&mut self, file: &Path) -> Option<Result<SessionSrtp, SrtpError>> {
        let held = self.held.iter_mut().find(|h| h.file == file)?;
        let ssrcs = if held.used {
            let tracks: Vec<usize> = held.offer.tracks().collect();
            random_ssrcs(&tracks)
        } else {
            Ok(held
                .offer
                .tracks()
                .filter_map(|t| Some((t, held.offer.ssrc(t)?)))
                .collect())
        };
        held.used = true;
        Some(
            ssrcs.map(|ssrcs| {
                SessionSrtp::new(held.offer.key().clone(), held.offer.policy(), ssrcs)
            }),
        )
    }
}

/// A context reading the client's SRTCP: the stream it is bound to (the
/// SSRC of a `KeyMgmt` crypto session; `None` for the session key, whose
/// context takes the first SSRC that authenticates).
struct ClientContext {
    ssrc: Option<u32>,
    receiver: SrtpReceiver,
}

/// A session's SRTP: see the module documentation.
pub struct SessionSrtp {
    key: SrtpKey,
    policy: Policy,
    /// The SSRC of each track of the file.
    ssrcs: Vec<(usize, u32)>,
    /// Each track's sending context, made at its first SETUP.
    senders: Mutex<Vec<(usize, TrackSender)>>,
    /// The contexts the client's RTCP is read with.
    client: Mutex<Vec<ClientContext>>,
}

impl SessionSrtp {
    fn new(key: SrtpKey, policy: Policy, ssrcs: Vec<(usize, u32)>) -> SessionSrtp {
        let session_key = ClientContext {
            ssrc: None,
            receiver: SrtpReceiver::new(&key, policy, 0),
        };
        SessionSrtp {
            key,
            policy,
            ssrcs,
            senders: Mutex::new(Vec::new()),
            client: Mutex::new(vec![session_key]),
        }
    }

    /// The policy every track is protected with.
    pub fn policy(&self) -> Policy {
        self.policy
    }

    /// The SSRC track `track` is sent with (the one its key exchange
    /// announced).
    pub fn ssrc(&self, track: usize) -> Option<u32> {
        self.ssrcs
            .iter()
            .find(|(t, _)| *t == track)
            .map(|&(_, s)| s)
    }

    /// The sending context of track `track`: the one made at its first
    /// SETUP, or a new one.
    pub fn sender(&self, track: usize) -> Option<TrackSender> {
        let ssrc = self.ssrc(track)?;
        let mut senders = lock(&self.senders);
        if let Some((_, sender)) = senders.iter().find(|(t, _)| *t == track) {
            return Some(Arc::clone(sender));
        }
        let sender = Arc::new(Mutex::new(SrtpSender::new(&self.key, self.policy, ssrc)));
        senders.push((track, Arc::clone(&sender)));
        Some(sender)
    }

    /// The sequence number a newly opened stream of track `track` must
    /// start at so that its packet indices continue where the track's
    /// context stopped (`None` before the track's first packet: any).
    pub fn next_sequence(&self, track: usize) -> Option<u16> {
        let senders = lock(&self.senders);
        let (_, sender) = senders.iter().find(|(t, _)| *t == track)?;
        let next = lock(sender).next_sequence();
        next
    }

    /// Reads a SETUP's `KeyMgmt` header (RFC 4567 §3.3): the client's keys
    /// for its own SRTCP, one context per stream of each MIKEY message.
    /// Returns how many streams it named.
    pub fn add_client_keys(&self, header: &str) -> Result<usize, KeyExchangeError> {
        let messages = parse_key_mgmt(header)?;
        let mut client = lock(&self.client);
        let mut added = 0;
        for message in &messages {
            for session in &message.sessions {
                if client.len() == CLIENT_CONTEXTS {
                    return Ok(added);
                }
                client.retain(|c| c.ssrc != Some(session.ssrc));
                client.push(ClientContext {
                    ssrc: Some(session.ssrc),
                    receiver: SrtpReceiver::new(&message.key, message.policy, session.roc),
                });
                added += 1;
            }
        }
        Ok(added)
    }

    /// The RTCP packet inside the client's SRTCP packet `data`, if one of
    /// the client's contexts authenticates it.
    pub fn client_rtcp(&self, data: &[u8]) -> Option<Vec<u8>> {
        let ssrc = u32::from_be_bytes(data.get(4..8)?.try_into().ok()?);
        let mut client = lock(&self.client);
        let index = client
            .iter()
            .position(|c| c.ssrc.or(c.receiver.ssrc()) == Some(ssrc))
            // The session key's context, until a stream made it its own.
            .or_else(|| {
                client
                    .iter()
                    .position(|c| c.ssrc.is_none() && c.receiver.ssrc().is_none())
            })?;
        let context = &mut client[index];
        let mut packet = data.to_vec();
        let len = context.receiver.unprotect_rtcp(&mut packet).ok()?;
        packet.truncate(len);
        Some(packet)
    }
}

/// The MIKEY messages of a `KeyMgmt` header: `prot=mikey; uri="..";
/// data="<base64>"` specifications separated by commas (RFC 4567 §3.3);
/// those of other protocols are skipped.
fn parse_key_mgmt(header: &str) -> Result<Vec<MikeyMessage>, KeyExchangeError> {
    let mut messages = Vec::new();
    for spec in split_outside_quotes(header, ',') {
        let mut protocol = None;
        let mut data = None;
        for param in split_outside_quotes(spec, ';') {
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"');
            match name.trim() {
                "prot" => protocol = Some(value),
                "data" => data = Some(value),
                _ => {}
            }
        }
        if protocol != Some(SDP_PROTOCOL) {
            continue;
        }
        let data = data.ok_or_else(|| KeyExchangeError::invalid(0, "KeyMgmt without data"))?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| KeyExchangeError::invalid(0, format!("KeyMgmt data: base64: {e}")))?;
        messages.push(MikeyMessage::parse(&bytes)?);
    }
    Ok(messages)
}

/// Locks a mutex of SRTP state, taking it back from a panicked holder
/// (contexts and buffers are consistent at every step).
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::srtp::mikey::CryptoSession;

    const ON: SrtpSettings = SrtpSettings { encrypt: true };

    fn offer() -> SrtpOffer {
        SrtpOffer::random(session_policy(ON, None).unwrap(), &[0, 1]).unwrap()
    }

    #[test]
    fn live555_clients_get_an_mki_and_the_null_cipher_is_asked_for() {
        let plain = session_policy(
            ON,
            Some("LibVLC/3.0.18 (LIVE555 Streaming Media v2022.07.14)"),
        );
        assert!(plain.unwrap().mki.is_some());
        for ua in [None, Some("Lavf59.27.100"), Some("GStreamer/1.22.0")] {
            let policy = session_policy(ON, ua).unwrap();
            assert_eq!(policy, Policy::new(Suite::AesCm128HmacSha1_80), "{ua:?}");
        }
        let null = session_policy(SrtpSettings { encrypt: false }, None).unwrap();
        assert!(!null.encrypt_rtp && !null.encrypt_rtcp);
    }

    #[test]
    fn a_held_offer_serves_its_ssrcs_once_then_fresh_ones() {
        let mut held = HeldOffers::default();
        let file = Path::new("/srv/a.264");
        assert!(held.session_keys(file).is_none(), "nothing described yet");
        let offer = offer();
        let (a, b) = (offer.ssrc(0).unwrap(), offer.ssrc(1).unwrap());
        held.hold(file, offer.clone());
        let first = held.session_keys(file).unwrap().unwrap();
        assert_eq!((first.ssrc(0), first.ssrc(1)), (Some(a), Some(b)));
        let second = held.session_keys(file).unwrap().unwrap();
        let fresh = [second.ssrc(0).unwrap(), second.ssrc(1).unwrap()];
        assert!(!fresh.contains(&a) && !fresh.contains(&b) && fresh[0] != fresh[1]);
        assert_eq!(second.key, *offer.key());
    }

    #[test]
    fn a_connection_holds_a_few_offers_one_per_file() {
        let mut held = HeldOffers::default();
        for i in 0..HELD_OFFERS + 3 {
            held.hold(Path::new(&format!("/srv/{i}")), offer());
            held.hold(Path::new(&format!("/srv/{i}")), offer());
        }
        assert_eq!(held.held.len(), HELD_OFFERS);
        assert!(held.session_keys(Path::new("/srv/2")).is_none());
        assert!(held
            .session_keys(Path::new(&format!("/srv/{}", HELD_OFFERS + 2)))
            .is_some());
    }

    #[test]
    fn a_tracks_context_lives_with_the_session() {
        let mut held = HeldOffers::default();
        held.hold(Path::new("/f"), offer());
        let srtp = held.session_keys(Path::new("/f")).unwrap().unwrap();
        assert_eq!(srtp.next_sequence(0), None);
        assert!(srtp.sender(7).is_none(), "not a track of the file");
        let sender = srtp.sender(0).unwrap();
        let mut packet = vec![0x80, 96, 0xff, 0xff, 0, 0, 0, 0];
        packet.extend_from_slice(&srtp.ssrc(0).unwrap().to_be_bytes());
        packet.extend_from_slice(b"media");
        lock(&sender).protect_rtp(&mut packet).unwrap();
        // Another PLAY gets the same context, which numbers on past the wrap.
        assert!(Arc::ptr_eq(&sender, &srtp.sender(0).unwrap()));
        assert_eq!(srtp.next_sequence(0), Some(0));
    }

    /// An SRTCP receiver report of `ssrc` under `key` and `policy`.
    fn report(key: &SrtpKey, policy: Policy, ssrc: u32) -> Vec<u8> {
        let mut rr = vec![0x80, 201, 0, 1];
        rr.extend_from_slice(&ssrc.to_be_bytes());
        let mut sender = SrtpSender::new(key, policy, ssrc);
        sender.protect_rtcp(&mut rr).unwrap();
        rr
    }

    #[test]
    fn the_clients_reports_are_read_under_either_key() {
        let mut held = HeldOffers::default();
        let offer = offer();
        held.hold(Path::new("/f"), offer.clone());
        let srtp = held.session_keys(Path::new("/f")).unwrap().unwrap();
        // ffmpeg protects its reports under the session key.
        let rr = report(offer.key(), offer.policy(), 0x1111);
        assert_eq!(
            srtp.client_rtcp(&rr).unwrap(),
            [0x80, 201, 0, 1, 0, 0, 0x11, 0x11]
        );
        // GStreamer under a key of its own, announced in KeyMgmt.
        let own = SrtpKey::random().unwrap();
        let policy = Policy::new(Suite::AesCm128HmacSha1_80);
        let mikey = MikeyMessage::offer(
            &own,
            policy,
            &[CryptoSession {
                ssrc: 0x2222,
                roc: 0,
            }],
        )
        .unwrap()
        .encode()
        .unwrap();
        let header = format!(
            "prot=mikey; uri=\"rtsps://h/f/track0\"; data=\"{}\"",
            base64::engine::general_purpose::STANDARD.encode(mikey)
        );
        assert_eq!(srtp.add_client_keys(&header), Ok(1));
        let rr = report(&own, policy, 0x2222);
        assert!(srtp.client_rtcp(&rr).is_some());
        // Forged, unknown or cut short: not read.
        let mut forged = report(&own, policy, 0x2222);
        forged[5] ^= 1;
        assert!(srtp.client_rtcp(&forged).is_none());
        assert!(srtp.client_rtcp(&report(&own, policy, 0x3333)).is_none());
        assert!(srtp.client_rtcp(&rr[..7]).is_none());
    }

    #[test]
    fn hostile_key_mgmt_headers_are_errors() {
        let mut held = HeldOffers::default();
        held.hold(Path::new("/f"), offer());
        let srtp = held.session_keys(Path::new("/f")).unwrap().unwrap();
        for header in [
            "prot=mikey",
            "prot=mikey; data=\"!!!\"",
            "prot=mikey; data=\"AAAA\"",
            "prot=mikey; uri=\"a,b;c\"; data=\"AQAFAA==\"",
        ] {
            assert!(srtp.add_client_keys(header).is_err(), "{header}");
        }
        // Another protocol is not ours to read.
        assert_eq!(srtp.add_client_keys("prot=other; data=\"AAAA\""), Ok(0));
        // Many streams: a bounded number of contexts.
        let key = SrtpKey::random().unwrap();
        let sessions: Vec<CryptoSession> =
            (0..40).map(|ssrc| CryptoSession { ssrc, roc: 0 }).collect();
        let mikey = MikeyMessage::offer(&key, Policy::new(Suite::AesCm128HmacSha1_80), &sessions)
            .unwrap()
            .encode()
            .unwrap();
        let header = format!(
            "prot=mikey; data=\"{}\"",
            base64::engine::general_purpose::STANDARD.encode(mikey)
        );
        assert_eq!(srtp.add_client_keys(&header), Ok(CLIENT_CONTEXTS - 1));
        assert_eq!(lock(&srtp.client).len(), CLIENT_CONTEXTS);
    }
}
