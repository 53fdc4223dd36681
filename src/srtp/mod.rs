//! SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80 and _32
//! suites, and the two ways an RTSP server hands the master key to a client
//! in its SDP: MIKEY (RFC 3830 in `a=key-mgmt`, RFC 4567; [`mikey`]) and
//! SDES (RFC 4568 `a=crypto`; [`sdes`]). Both send the key in the clear,
//! so they are only offered inside TLS (RTSPS).
//!
//! - [`SrtpKey`]: a master key and salt, fresh from the OS per session.
//! - [`Policy`]: suite tag lengths, encryption on/off, MKI.
//! - [`SrtpSender`]: protects one stream's RTP and RTCP in place; the
//!   session keys (AES key schedule, HMAC pads) are derived once at
//!   creation, protecting allocates nothing given spare capacity in the
//!   packet's [`PacketBuffer`] (a `Vec<u8>` or a `BytesMut`).
//! - [`SrtpReceiver`]: authenticates, checks replays and decrypts (tests,
//!   a decrypting tool).
//! - [`mikey::MikeyMessage`], [`sdes::CryptoAttribute`]: the SDP forms.
//!
//! The block cipher, counter mode and HMAC are RustCrypto's (`aes`, `ctr`,
//! `hmac`, `sha1`); this module frames their inputs as RFC 3711 says.
//!
//! # One key, every client
//!
//! No client reads both key exchanges: ffmpeg reads only SDES, GStreamer
//! and live555 only MIKEY. So each media section of a session's SDP
//! carries both, describing the same master key and the same
//! cryptographic context (one [`SrtpSender`] per stream, all under the
//! session's key and policy). What the clients need, from their sources
//! and from the interop tests (`tests/srtp_ffmpeg.rs`,
//! `tests/srtp_gstreamer.rs`):
//!
//! | | ffmpeg (SDES) | GStreamer `rtspsrc` (MIKEY) | live555 clients (MIKEY) |
//! | --- | --- | --- | --- |
//! | MKI in packets | must be absent (the `inline:` value must be bare base64) | must be absent (the SPI is ignored; `srtpdec` gets no `mki`) | required, 4 bytes, announced as key validity SPI |
//! | `_80` | yes | yes | yes (the only one) |
//! | `_32` | 32-bit tags on SRTCP too | read as `_80` unless written non-standardly | refused |
//! | encryption off, authentication on | no (`UNENCRYPTED_SRTP` ignored) | no (`srtpdec` takes no master key with the NULL cipher) | yes (`weEncryptSRTP`) |
//!
//! The MKI decides it: the packets either carry one or do not, and no
//! setting serves live555 and the others alike. Since one RTSP session is
//! one client, the server chooses per session, before writing the DESCRIBE
//! answer: no MKI by default (ffmpeg, GStreamer and libsrtp-based clients),
//! a random 4-byte [`Mki`] when the client is live555-based (its
//! `User-Agent` names `LIVE555`). Either way the SDP carries both forms of
//! the same context; with an MKI the SDES form gains `|<mki>:4`, which
//! ffmpeg cannot read, but such a session's client is not ffmpeg. Use
//! `AES_CM_128_HMAC_SHA1_80` with encryption on: it is the one policy
//! every client reads the same way.
//!
//! Notes for the server:
//!
//! - The key must exist when the DESCRIBE answer is written, before SETUP
//!   creates the session: keep it with the connection and hand it to the
//!   session.
//! - Put `a=key-mgmt` at media level (GStreamer's session-level parsing
//!   reports failure after a successful parse); its crypto session map
//!   lists the stream's SSRC and current rollover counter, which `rtspsrc`
//!   looks up for the ROC only.
//! - Protect packets when they are sent, in sequence order: the sender
//!   refuses to reuse an index, and a dropped-then-renumbered packet that
//!   was already protected would otherwise reuse keystream.
//! - GStreamer's `rtspsrc` protects its receiver reports with its own key,
//!   sent in the SETUP request's `KeyMgmt` header (RFC 4567 §3.3);
//!   [`mikey::MikeyMessage::parse`] reads that message.

mod error;
mod index;
mod keys;
pub mod mikey;
mod packet;
mod policy;
mod receiver;
pub mod sdes;
mod sender;
#[cfg(test)]
mod tests;

pub use error::{KeyExchangeError, SrtpError};
pub use keys::SrtpKey;
pub use packet::PacketBuffer;
pub use policy::{Mki, Policy, Suite, TagLength};
pub use receiver::SrtpReceiver;
pub use sender::SrtpSender;
