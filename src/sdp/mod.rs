//! Session descriptions (RFC 4566) for a file: the one builder behind
//! `probe --sdp`, `serve`'s DESCRIBE answers (RFC 2326 Appendix C) and the
//! `.sdp` that `packetize` writes beside its pcap; with an [`SrtpOffer`],
//! the media are SRTP (`RTP/SAVP`, RFC 3711 §12) with their keys.

mod srtp;

use std::hash::{Hash, Hasher};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use sdp_types::{Attribute, Connection, Media, MediaType, Origin, Session, TransportProto};

use crate::media::MediaInfo;
use crate::rtp::{self, PayloadDescription, PayloadOptions, RtpError};
use crate::vocab::TrackKind;

pub use srtp::{random_ssrcs, OfferError, SrtpOffer};

/// Where the described streams go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Announced by an RTSP server: connection `0.0.0.0`, port 0, and an
    /// `a=control` per track (RFC 2326 §C.1.1, §C.3).
    Rtsp,
    /// Sent to fixed UDP ports: track `i` at `PORT + 2*i`, RTCP on the next
    /// port (what `packetize` writes to its pcap).
    Udp(Target),
    /// Announced by an RTSP server for streams with a fixed destination:
    /// its address and ports as for [`Udp`](Self::Udp) (RFC 2326 §C.1.7:
    /// the `c=` field holds the destination when the media has a fixed
    /// one), and an `a=control` per track (the DESCRIBE answer of
    /// `packetize`'s synthetic RTSP exchange).
    RtspTo(Target),
}

/// A fixed destination of the streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    /// Unicast address or multicast group, and track 0's RTP port.
    pub address: SocketAddr,
    /// The TTL of an IPv4 multicast group, which `c=` carries after the
    /// group (`c=IN IP4 239.1.1.1/16`, RFC 4566 §5.7; IPv6 has none).
    pub ttl: Option<u8>,
}

impl Destination {
    /// The fixed destination, if any.
    fn target(self) -> Option<Target> {
        match self {
            Destination::Rtsp => None,
            Destination::Udp(target) | Destination::RtspTo(target) => Some(target),
        }
    }

    /// Whether an RTSP server announces the streams (`a=control` URLs).
    fn rtsp(self) -> bool {
        matches!(self, Destination::Rtsp | Destination::RtspTo(_))
    }
}

/// One streamable track and its payload format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SdpTrack {
    /// Index of the track in the file.
    pub index: usize,
    /// Its RTP payload format.
    pub payload: PayloadDescription,
}

/// The payload format of every track of `info` that RTP can carry, as
/// `options` choose, and a message for each that it cannot.
pub fn streamable_tracks(
    info: &MediaInfo,
    options: &PayloadOptions,
) -> (Vec<SdpTrack>, Vec<(usize, RtpError)>) {
    let mut tracks = Vec::new();
    let mut skipped = Vec::new();
    for track in &info.tracks {
        match rtp::packetizer_with(track, options) {
            Ok(p) => tracks.push(SdpTrack {
                index: track.index,
                payload: p.description(),
            }),
            Err(e) => skipped.push((track.index, e)),
        }
    }
    (tracks, skipped)
}

/// The relative `a=control` URL of track `index` (RFC 2326 §C.1.1).
pub fn track_control(index: usize) -> String {
    format!("track{index}")
}

/// Builds the session description of `tracks` of `info`.
///
/// `origin` is the address in the `o=` line. The session id is stable for
/// a path and the version follows the file's modification time, so a client
/// can tell that a file changed (RFC 4566 §5.2). With `srtp`, each track it
/// covers is `RTP/SAVP` with its `a=crypto` and `a=key-mgmt` (at media
/// level, where GStreamer reads MIKEY; ffmpeg reads `a=crypto` only there).
pub fn session_description(
    info: &MediaInfo,
    tracks: &[SdpTrack],
    origin: IpAddr,
    destination: Destination,
    srtp: Option<&SrtpOffer>,
) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    info.path.hash(&mut hasher);
    let name = info.path.file_name().map_or_else(
        || info.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut session = Session::new(
        Origin::with_ip_addr(hasher.finish() >> 1, info.modified, origin),
        sanitize(&name),
    );
    session.session_description = Some(format!("{} ({})", sanitize(&name), info.format.long_name));
    session.connection = Some(match destination.target() {
        Some(target) => Connection::from_ip_addr_ttl(target.address.ip(), target.ttl),
        None => Connection::from_ip_addr(Ipv4Addr::UNSPECIFIED),
    });
    session.attributes.push(Attribute::with_value(
        "tool",
        concat!("mediatool ", env!("CARGO_PKG_VERSION")),
    ));
    if destination.rtsp() {
        session
            .attributes
            .push(Attribute::with_value("control", "*"));
    }
    session.attributes.push(Attribute::with_value(
        "range",
        format!("npt=0-{:.3}", info.duration()),
    ));
    for (i, track) in tracks.iter().enumerate() {
        let pt = track.payload.payload_type(track.index);
        let port = destination.target().map_or(0, |target| {
            target
                .address
                .port()
                .saturating_add(u16::try_from(2 * i).unwrap_or(u16::MAX))
        });
        let kind = match track.payload.media {
            TrackKind::Video => MediaType::Video,
            TrackKind::Audio => MediaType::Audio,
            TrackKind::Subtitle => MediaType::Text,
            TrackKind::Data => MediaType::Application,
        };
        let keys = srtp.and_then(|offer| offer.attributes(track.index));
        let proto = match keys {
            Some(_) => TransportProto::RtpSavp,
            None => TransportProto::RtpAvp,
        };
        let mut media = Media::new(kind, port, proto, pt);
        media.add_attribute_with_value("rtpmap", format!("{pt} {}", track.payload.rtpmap()));
        if let Some(fmtp) = &track.payload.fmtp {
            media.add_attribute_with_value("fmtp", format!("{pt} {fmtp}"));
        }
        if let Some((crypto, key_mgmt)) = keys {
            media.add_attribute_with_value("crypto", crypto);
            media.add_attribute_with_value("key-mgmt", key_mgmt);
        }
        if destination.rtsp() {
            media.add_attribute_with_value("control", track_control(track.index));
        }
        session.medias.push(media);
    }
    session.to_string()
}

/// SDP text fields end at CR/LF; keep a file name from breaking the syntax.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destinations_set_address_ports_and_control() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/h264_bframes.264");
        let info = crate::media::inspect(std::path::Path::new(path)).unwrap();
        let (tracks, _) = streamable_tracks(&info, &PayloadOptions::default());
        let origin: IpAddr = "10.0.0.1".parse().unwrap();
        let dest = Target {
            address: "10.0.0.2:6000".parse().unwrap(),
            ttl: None,
        };
        let sdp = |d| session_description(&info, &tracks, origin, d, None);
        let rtsp = sdp(Destination::Rtsp);
        assert!(rtsp.contains("c=IN IP4 0.0.0.0\r\n") && rtsp.contains("m=video 0 RTP/AVP 96\r\n"));
        assert!(rtsp.contains("a=control:*\r\n") && rtsp.contains("a=control:track0\r\n"));
        let udp = sdp(Destination::Udp(dest));
        assert!(
            udp.contains("c=IN IP4 10.0.0.2\r\n") && udp.contains("m=video 6000 RTP/AVP 96\r\n")
        );
        assert!(!udp.contains("a=control"));
        // The RTSP description of a fixed destination: both.
        let to = sdp(Destination::RtspTo(dest));
        assert_eq!(
            to,
            rtsp.replace("0.0.0.0", "10.0.0.2")
                .replace("video 0 ", "video 6000 ")
        );
        assert!(to.contains("a=range:npt=0-2.000\r\n"), "{to}");
        // A multicast group with its TTL (IPv4 only, RFC 4566 §5.7).
        let group = |address: &str| {
            sdp(Destination::Udp(Target {
                address: address.parse().unwrap(),
                ttl: Some(16),
            }))
        };
        assert!(group("239.1.1.1:5004").contains("c=IN IP4 239.1.1.1/16\r\n"));
        assert!(group("[ff15::1]:5004").contains("c=IN IP6 ff15::1\r\n"));
    }

    #[test]
    fn srtp_media_are_savp_with_both_key_attributes() {
        use crate::srtp::{Policy, Suite};
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/h264_bframes.264");
        let info = crate::media::inspect(std::path::Path::new(path)).unwrap();
        let (tracks, _) = streamable_tracks(&info, &PayloadOptions::default());
        let offer = SrtpOffer::random(Policy::new(Suite::AesCm128HmacSha1_80), &[0]).unwrap();
        let origin: IpAddr = "10.0.0.1".parse().unwrap();
        let plain = session_description(&info, &tracks, origin, Destination::Rtsp, None);
        let secure = session_description(&info, &tracks, origin, Destination::Rtsp, Some(&offer));
        let (crypto, key_mgmt) = offer.attributes(0).unwrap();
        assert!(secure.contains("m=video 0 RTP/SAVP 96\r\n"), "{secure}");
        // Media level, after the format's attributes.
        let media = &secure[secure.find("m=video").unwrap()..];
        assert!(media.contains(&format!("a=crypto:{crypto}\r\na=key-mgmt:{key_mgmt}\r\n")));
        let stripped = secure
            .replace("RTP/SAVP", "RTP/AVP")
            .replace(&format!("a=crypto:{crypto}\r\n"), "")
            .replace(&format!("a=key-mgmt:{key_mgmt}\r\n"), "");
        assert_eq!(stripped, plain);
    }
}
