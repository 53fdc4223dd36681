//! The offers of a client's `Transport` header in SETUP (RFC 2326 §12.39),
//! and the first one the server can serve.
//!
//! Parsed by hand rather than with `rtsp_types::headers::Transports`: that
//! parser rejects the whole header when any one offer is malformed (a client
//! listing several transports must still get the first we support) and
//! panics on a quoted `dest_addr` ending in a backslash, which a hostile
//! client can send.

use super::{Lower, Profile};
use crate::rtsp::headers::split_outside_quotes;

/// One transport offer of a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Offer {
    /// `AVP` (plain RTP), `SAVP` or `SAVPF` (SRTP); other profiles
    /// (`AVPF`) make the offer malformed for this server.
    pub profile: Profile,
    /// UDP or TCP.
    pub lower: Lower,
    /// The client asked for multicast.
    pub multicast: bool,
    /// `client_port=RTP[-RTCP]`: RTCP defaults to RTP + 1.
    pub client_port: Option<(u16, u16)>,
    /// `interleaved=RTP[-RTCP]`: RTCP defaults to RTP + 1.
    pub interleaved: Option<(u8, u8)>,
    /// `mode=RECORD` (or anything but PLAY) was asked for.
    pub record: bool,
}

impl Offer {
    /// Whether this server can deliver media this way: under one of
    /// `profiles`, multicast only when `multicast` (a range of groups is
    /// configured), and only over UDP.
    pub fn is_supported(&self, multicast: bool, profiles: &[Profile]) -> bool {
        profiles.contains(&self.profile)
            && !self.record
            && match (self.lower, self.multicast) {
                (Lower::Udp, false) => self.client_port.is_some(),
                (Lower::Udp, true) => multicast,
                (Lower::Tcp, false) => true,
                (Lower::Tcp, true) => false,
            }
    }
}

/// Parses every offer of a `Transport` header; a malformed offer is an
/// `Err` in its place, so the others can still be used.
pub fn parse_offers(header: &str) -> Vec<Result<Offer, String>> {
    split_outside_quotes(header, ',')
        .into_iter()
        .map(str::trim)
        .filter(|offer| !offer.is_empty())
        .map(parse_offer)
        .collect()
}

/// The first offer this server supports (§12.39: offers are listed in the
/// client's order of preference): under one of `profiles`, multicast ones
/// only if `multicast`.
pub fn choose(header: &str, multicast: bool, profiles: &[Profile]) -> Option<Offer> {
    parse_offers(header)
        .into_iter()
        .filter_map(Result::ok)
        .find(|offer| offer.is_supported(multicast, profiles))
}

fn parse_offer(text: &str) -> Result<Offer, String> {
    let mut fields = split_outside_quotes(text, ';').into_iter().map(str::trim);
    let spec = fields.next().unwrap_or_default();
    let mut parts = spec.split('/').map(str::trim);
    let (Some(protocol), Some(profile)) = (parts.next(), parts.next()) else {
        return Err(format!("transport {spec:?} is not PROTOCOL/PROFILE"));
    };
    if !protocol.eq_ignore_ascii_case("RTP") {
        return Err(format!("transport protocol {protocol:?} is not RTP"));
    }
    let lower = match parts.next() {
        None => Lower::Udp,
        Some(l) if l.eq_ignore_ascii_case("UDP") => Lower::Udp,
        Some(l) if l.eq_ignore_ascii_case("TCP") => Lower::Tcp,
        Some(other) => return Err(format!("lower transport {other:?} is not UDP or TCP")),
    };
    if parts.next().is_some() {
        return Err(format!("transport {spec:?} has too many parts"));
    }
    let profile = Profile::from_name(profile)
        .ok_or_else(|| format!("RTP profile {profile:?} is not served"))?;
    let mut offer = Offer {
        profile,
        lower,
        multicast: false,
        client_port: None,
        interleaved: None,
        record: false,
    };
    for field in fields.filter(|f| !f.is_empty()) {
        let (name, value) = match field.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim().trim_matches('"'))),
            None => (field, None),
        };
        match (name.to_ascii_lowercase().as_str(), value) {
            ("unicast", _) => offer.multicast = false,
            ("multicast", _) => offer.multicast = true,
            ("client_port", Some(v)) => {
                let ports = pair(v, u16::checked_add)?;
                if ports.0 == 0 || ports.1 == 0 {
                    return Err(format!("client port 0 in {v:?}"));
                }
                offer.client_port = Some(ports);
            }
            ("interleaved", Some(v)) => offer.interleaved = Some(pair(v, u8::checked_add)?),
            ("mode", Some(v)) => {
                offer.record = !v
                    .split(',')
                    .any(|m| m.trim().trim_matches('"').eq_ignore_ascii_case("PLAY"))
            }
            // destination, source, ttl, ssrc, layers, port, append...: the
            // server decides where media goes (the connection's peer, or a
            // group it leases: see server::multicast).
            _ => {}
        }
    }
    Ok(offer)
}

/// `A` or `A-B` with B defaulting to A + 1.
fn pair<T>(text: &str, next: fn(T, T) -> Option<T>) -> Result<(T, T), String>
where
    T: std::str::FromStr + Copy + From<u8>,
{
    let bad = || format!("bad port or channel pair {text:?}");
    let (first, second) = match text.split_once('-') {
        Some((a, b)) => (a.trim(), Some(b.trim())),
        None => (text, None),
    };
    let first: T = first.parse().map_err(|_| bad())?;
    let second = match second {
        Some(b) => b.parse().map_err(|_| bad())?,
        None => next(first, T::from(1)).ok_or_else(bad)?,
    };
    Ok((first, second))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVP: &[Profile] = &[Profile::Avp];

    #[test]
    fn offers_of_real_clients() {
        // ffmpeg UDP, ffmpeg TCP, GStreamer, VLC/live555, retina.
        let ffmpeg = choose("RTP/AVP/UDP;unicast;client_port=20000-20001", false, AVP).unwrap();
        assert_eq!(
            (ffmpeg.lower, ffmpeg.client_port),
            (Lower::Udp, Some((20000, 20001)))
        );
        let tcp = choose("RTP/AVP/TCP;unicast;interleaved=0-1", false, AVP).unwrap();
        assert_eq!((tcp.lower, tcp.interleaved), (Lower::Tcp, Some((0, 1))));
        let gst = choose(
            "RTP/AVP;unicast;client_port=5000-5001;mode=\"PLAY\"",
            false,
            AVP,
        )
        .unwrap();
        assert_eq!(gst.client_port, Some((5000, 5001)));
        let no_unicast = choose("RTP/AVP;client_port=4588-4589", false, AVP).unwrap();
        assert_eq!(no_unicast.client_port, Some((4588, 4589)));
        let single = choose("RTP/AVP;unicast;client_port=7000", false, AVP).unwrap();
        assert_eq!(single.client_port, Some((7000, 7001)));
        let tcp_no_channels = choose("RTP/AVP/TCP;unicast", false, AVP).unwrap();
        assert_eq!(tcp_no_channels.interleaved, None);
    }

    #[test]
    fn the_first_supported_offer_wins() {
        // GStreamer lists SAVP and multicast before plain UDP.
        let header = "RTP/SAVP;unicast;client_port=1-2,RTP/AVP;multicast;port=3-4,\
                      RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=0-1";
        assert_eq!(
            choose(header, false, AVP).unwrap().client_port,
            Some((5000, 5001))
        );
        // A malformed first offer does not hide the next one.
        let header = "RTP/AVP;unicast;client_port=99999-0, RTP/AVP/TCP;interleaved=2-3";
        let offers = parse_offers(header);
        assert!(offers[0].is_err());
        assert_eq!(
            choose(header, false, AVP).unwrap().interleaved,
            Some((2, 3))
        );
    }

    /// Over RTSPS with SRTP on, SAVP and SAVPF are served, and so is AVP:
    /// ffmpeg offers only `RTP/AVP` and reads its keys from the SDP.
    #[test]
    fn srtp_profiles_are_chosen_when_served() {
        let secure = &[Profile::Avp, Profile::Savp, Profile::Savpf];
        let gst = "RTP/SAVP;unicast;client_port=1-2,RTP/AVP/TCP;unicast;interleaved=0-1";
        assert_eq!(choose(gst, false, secure).unwrap().profile, Profile::Savp);
        assert_eq!(choose(gst, false, AVP).unwrap().lower, Lower::Tcp);
        let savpf = choose("RTP/SAVPF/TCP;unicast;interleaved=2-3", false, secure).unwrap();
        assert_eq!((savpf.profile, savpf.lower), (Profile::Savpf, Lower::Tcp));
        let ffmpeg = choose("RTP/AVP/TCP;unicast;interleaved=0-1", false, secure).unwrap();
        assert_eq!(ffmpeg.profile, Profile::Avp);
        // RTCP feedback without SRTP is not served.
        assert!(parse_offers("RTP/AVPF;unicast;client_port=1-2")[0].is_err());
    }

    #[test]
    fn multicast_is_chosen_only_when_configured() {
        // ffmpeg `-rtsp_transport udp_multicast`, GStreamer `udp-mcast`.
        for header in [
            "RTP/AVP;multicast",
            "RTP/AVP;multicast;destination=224.2.0.1;port=3456-3457;ttl=16",
        ] {
            let offer = choose(header, true, AVP).unwrap();
            assert!(offer.multicast && offer.lower == Lower::Udp, "{header}");
            assert_eq!(choose(header, false, AVP), None, "{header}");
        }
        assert_eq!(
            choose("RTP/AVP/TCP;multicast;interleaved=0-1", true, AVP),
            None
        );
        // A client preferring unicast still gets unicast.
        let header = "RTP/AVP;unicast;client_port=5000-5001,RTP/AVP;multicast";
        assert!(!choose(header, true, AVP).unwrap().multicast);
    }

    #[test]
    fn unsupported_offers_give_none() {
        for header in [
            "",
            ",,,",
            "RTP/AVP;multicast;destination=224.2.0.1;port=3456-3457;ttl=16",
            "RTP/SAVP;unicast;client_port=5000-5001",
            "RTP/AVP;unicast",
            "RTP/AVP;unicast;client_port=5000-5001;mode=RECORD",
            "RAW/RAW/UDP;unicast;client_port=1-2",
            "x-real-rdt/udp;client_port=6970",
        ] {
            assert_eq!(choose(header, false, AVP), None, "{header}");
        }
    }

    #[test]
    fn hostile_offers_are_errors_not_panics() {
        for header in [
            "RTP",
            "RTP/",
            "/AVP",
            "RTP/AVP/UDP/X",
            "RTP/AVP;client_port=65535",
            "RTP/AVP;client_port=-",
            "RTP/AVP;client_port=1-2-3",
            "RTP/AVP;client_port=0-1",
            "RTP/AVP;client_port=5000-0",
            "RTP/AVP/TCP;interleaved=255",
            "RTP/AVP/TCP;interleaved=256-257",
            "RTP/AVP;dest_addr=\"\\\"",
            "RTP/AVP;destination=\"a,b;c\";client_port=1",
            "\u{0}\u{ff}é;;;==;=",
        ] {
            let offers = parse_offers(header);
            if let Some(Ok(offer)) = offers.first() {
                // Only well-formed ports may come through, never port 0.
                if let Some((a, b)) = offer.client_port {
                    assert!(a > 0 && a < u16::MAX && b > 0, "{header}");
                }
            }
        }
        let quoted = choose("RTP/AVP;destination=\"a,b;c\";client_port=1", false, AVP).unwrap();
        assert_eq!(quoted.client_port, Some((1, 2)));
    }
}
