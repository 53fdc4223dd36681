//! mediatool: stream media files over RTSP/RTP.
//!
//! The library is the shared core behind the `mediatool` binary:
//! [`vocab`] is the vocabulary every layer shares, [`codec`] the bitstream
//! syntax, [`media`] detects and demultiplexes files, [`rtp`] turns access units into
//! RTP payloads (one RFC payload format per codec), [`sdp`] describes them,
//! and [`probe`] reports what a file holds.

#![warn(missing_docs)]

pub mod codec;
pub mod media;
pub mod pcap;
pub mod probe;
pub mod rtp;
pub mod rtsp;
pub mod sdp;
pub mod server;
pub mod srtp;
pub mod stream;
pub mod vocab;
