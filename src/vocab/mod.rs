//! The shared vocabulary at the bottom of the crate: the words every layer
//! speaks (exact ratios, media clocks, codec and track kinds, NAL framing).
//!
//! It imports nothing from the crate, so each layer above it (codec syntax,
//! media readers, RTP payload formats, the stream pipeline, the server)
//! can use it without pointing up.

pub mod clock;
mod codec;
mod framing;
mod rational;
#[cfg(test)]
pub(crate) mod testing;

pub use codec::{Codec, PcmFormat, TrackKind};
pub use framing::NalFraming;
pub use rational::Rational;
