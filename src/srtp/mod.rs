//! SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80 and _32
//! suites, and the two ways an RTSP server hands the key to a client in
//! its SDP: MIKEY (RFC 3830 in `a=key-mgmt`, RFC 4567) and SDES (RFC 4568
//! `a=crypto`).

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
pub use policy::{Mki, Policy, Suite, TagLength};
pub use receiver::SrtpReceiver;
pub use sender::SrtpSender;
