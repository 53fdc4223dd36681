//! The `Transport` header (RFC 2326 §12.39): a client's offers are read in
//! `offer`; what is written (the server's answer, and both sides of a
//! capture's synthetic SETUP) is a [`Header`], of which the server answers
//! one of the three shapes of [`Chosen`].

mod offer;

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

pub use offer::{choose, parse_offers, Offer};

/// The RTP profile of a transport: plain RTP (RFC 3551), or SRTP (RFC 3711
/// §12), or SRTP with RTCP feedback (RFC 5124).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// `AVP`.
    #[default]
    Avp,
    /// `SAVP`.
    Savp,
    /// `SAVPF`.
    Savpf,
}

impl Profile {
    /// The profile's name in `Transport` (and SDP `m=` lines, after `RTP/`).
    pub fn name(self) -> &'static str {
        match self {
            Profile::Avp => "AVP",
            Profile::Savp => "SAVP",
            Profile::Savpf => "SAVPF",
        }
    }

    /// The profile named `name` (any case, as §12.39's tokens are read).
    pub fn from_name(name: &str) -> Option<Profile> {
        [Profile::Avp, Profile::Savp, Profile::Savpf]
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    /// Whether media under this profile is SRTP.
    pub fn is_secure(self) -> bool {
        self != Profile::Avp
    }
}

/// The lower transport of RTP.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Lower {
    /// `RTP/AVP` or `RTP/AVP/UDP` (§12.39: UDP is the default).
    #[default]
    Udp,
    /// `RTP/AVP/TCP`: interleaved on the RTSP connection (§10.12).
    Tcp,
}

/// A `Transport` value to write: `RTP/AVP` (`RTP/AVP/TCP`, or another
/// profile), `unicast` or `multicast`, then the parameters that are set,
/// always in one order (§12.39 leaves it free).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Header {
    /// AVP, or SAVP for SRTP.
    pub profile: Profile,
    /// UDP or TCP.
    pub lower: Lower,
    /// `multicast` rather than `unicast`.
    pub multicast: bool,
    /// `destination`: where the media goes (a group, or a receiver other
    /// than the client).
    pub destination: Option<IpAddr>,
    /// `source`: where the media comes from.
    pub source: Option<IpAddr>,
    /// `interleaved`: the RTP and RTCP channels on the RTSP connection.
    pub interleaved: Option<(u8, u8)>,
    /// `port`: a multicast group's RTP and RTCP ports.
    pub port: Option<(u16, u16)>,
    /// `ttl` of multicast packets.
    pub ttl: Option<u8>,
    /// `client_port`: the receiver's RTP and RTCP ports.
    pub client_port: Option<(u16, u16)>,
    /// `server_port`: the sender's RTP and RTCP ports.
    pub server_port: Option<(u16, u16)>,
    /// `ssrc` of the sender, in hex.
    pub ssrc: Option<u32>,
    /// `mode="PLAY"`.
    pub play: bool,
}

impl fmt::Display for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RTP/{}", self.profile.name())?;
        if self.lower == Lower::Tcp {
            f.write_str("/TCP")?;
        }
        f.write_str(if self.multicast {
            ";multicast"
        } else {
            ";unicast"
        })?;
        if let Some(destination) = self.destination {
            write!(f, ";destination={destination}")?;
        }
        if let Some(source) = self.source {
            write!(f, ";source={source}")?;
        }
        if let Some((rtp, rtcp)) = self.interleaved {
            write!(f, ";interleaved={rtp}-{rtcp}")?;
        }
        if let Some((rtp, rtcp)) = self.port {
            write!(f, ";port={rtp}-{rtcp}")?;
        }
        if let Some(ttl) = self.ttl {
            write!(f, ";ttl={ttl}")?;
        }
        if let Some((rtp, rtcp)) = self.client_port {
            write!(f, ";client_port={rtp}-{rtcp}")?;
        }
        if let Some((rtp, rtcp)) = self.server_port {
            write!(f, ";server_port={rtp}-{rtcp}")?;
        }
        if let Some(ssrc) = self.ssrc {
            write!(f, ";ssrc={ssrc:08X}")?;
        }
        if self.play {
            f.write_str(";mode=\"PLAY\"")?;
        }
        Ok(())
    }
}

/// An RTP port and the RTCP port after it (RFC 3550 §11), as `Transport`
/// names them (`5004-5005`).
pub fn port_pair(rtp: u16) -> (u16, u16) {
    (rtp, rtp.saturating_add(1))
}

/// The transport the server answers with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chosen {
    /// UDP unicast between the client's ports and the server's.
    Udp {
        /// The client's RTP and RTCP ports.
        client: (u16, u16),
        /// The server's RTP and RTCP ports.
        server: (u16, u16),
        /// The SSRC the server sends with.
        ssrc: u32,
    },
    /// UDP to a multicast group the server leased for the track.
    Multicast {
        /// The group.
        group: Ipv4Addr,
        /// The RTP and RTCP ports.
        ports: (u16, u16),
        /// The packets' IP TTL.
        ttl: u8,
        /// The SSRC the server sends with.
        ssrc: u32,
    },
    /// Interleaved on the RTSP connection.
    Tcp {
        /// The RTP and RTCP channels.
        channels: (u8, u8),
        /// The SSRC the server sends with.
        ssrc: u32,
    },
}

impl Chosen {
    /// The header that announces it.
    pub fn header(&self) -> Header {
        let answer = Header {
            play: true,
            ..Header::default()
        };
        match *self {
            Chosen::Udp {
                client,
                server,
                ssrc,
            } => Header {
                client_port: Some(client),
                server_port: Some(server),
                ssrc: Some(ssrc),
                ..answer
            },
            Chosen::Multicast {
                group,
                ports,
                ttl,
                ssrc,
            } => Header {
                multicast: true,
                destination: Some(group.into()),
                port: Some(ports),
                ttl: Some(ttl),
                ssrc: Some(ssrc),
                ..answer
            },
            Chosen::Tcp { channels, ssrc } => Header {
                lower: Lower::Tcp,
                interleaved: Some(channels),
                ssrc: Some(ssrc),
                ..answer
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_formatted_as_clients_expect() {
        let udp = Chosen::Udp {
            client: (5000, 5001),
            server: (6970, 6971),
            ssrc: 0xab,
        };
        assert_eq!(
            udp.header().to_string(),
            "RTP/AVP;unicast;client_port=5000-5001;server_port=6970-6971;ssrc=000000AB;mode=\"PLAY\""
        );
        let tcp = Chosen::Tcp {
            channels: (2, 3),
            ssrc: 1,
        };
        assert_eq!(
            tcp.header().to_string(),
            "RTP/AVP/TCP;unicast;interleaved=2-3;ssrc=00000001;mode=\"PLAY\""
        );
        let multicast = Chosen::Multicast {
            group: Ipv4Addr::new(239, 255, 42, 7),
            ports: (50014, 50015),
            ttl: 1,
            ssrc: 0x1234_5678,
        };
        assert_eq!(
            multicast.header().to_string(),
            "RTP/AVP;multicast;destination=239.255.42.7;port=50014-50015;ttl=1;ssrc=12345678;mode=\"PLAY\""
        );
    }

    #[test]
    fn written_headers_read_back_as_the_same_offer() {
        let header = Header {
            destination: Some("fd00::2".parse().unwrap()),
            source: Some("fd00::1".parse().unwrap()),
            client_port: Some(port_pair(5004)),
            server_port: Some(port_pair(u16::MAX)),
            ssrc: Some(0xabc),
            ..Header::default()
        };
        let text = header.to_string();
        assert_eq!(
            text,
            "RTP/AVP;unicast;destination=fd00::2;source=fd00::1;client_port=5004-5005;server_port=65535-65535;ssrc=00000ABC"
        );
        let offer = parse_offers(&text).remove(0).unwrap();
        assert_eq!((offer.lower, offer.multicast), (Lower::Udp, false));
        assert_eq!(offer.client_port, Some((5004, 5005)));
        let interleaved = Chosen::Tcp {
            channels: (4, 5),
            ssrc: 9,
        };
        let offer = choose(&interleaved.header().to_string(), false, &[Profile::Avp]).unwrap();
        assert_eq!((offer.lower, offer.interleaved), (Lower::Tcp, Some((4, 5))));
    }

    #[test]
    fn srtp_answers_name_their_profile() {
        let header = Header {
            profile: Profile::Savp,
            ..Chosen::Tcp {
                channels: (0, 1),
                ssrc: 2,
            }
            .header()
        };
        let text = header.to_string();
        assert_eq!(
            text,
            "RTP/SAVP/TCP;unicast;interleaved=0-1;ssrc=00000002;mode=\"PLAY\""
        );
        let offer = choose(&text, false, &[Profile::Savp]).unwrap();
        assert_eq!(offer.profile, Profile::Savp);
        assert_eq!(choose(&text, false, &[Profile::Avp]), None);
        for (name, profile) in [("avp", Profile::Avp), ("SAVPF", Profile::Savpf)] {
            assert_eq!(Profile::from_name(name), Some(profile));
        }
        assert_eq!(Profile::from_name("AVPF"), None);
        assert!(Profile::Savpf.is_secure() && !Profile::Avp.is_secure());
    }
}
