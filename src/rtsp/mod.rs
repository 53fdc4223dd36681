//! The RTSP 1.0 vocabulary (RFC 2326) shared by the server (`server`) and
//! the synthetic exchange of captures (`pcap::rtsp`): typed
//! messages, the framing of a connection's byte stream, and the headers
//! both build (`Transport`, `Range`, `RTP-Info`, `Session`, `Content-Base`)
//! and the URL paths they name, so that one file gets one URL and one set of
//! header spellings whichever of the two describes it.
//!
//! Layer: above `stream`, below `pcap` and `server`, from which it imports
//! nothing.

pub mod framing;
pub mod headers;
pub mod message;
pub mod range;
pub mod transport;
pub mod url;
