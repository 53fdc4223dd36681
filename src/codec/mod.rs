//! Bitstream syntax shared by demuxers and RTP payload formats: NAL unit
//! delimiting, parameter sets and audio frame headers.

pub mod adts;
pub mod h264;
pub mod hevc;
pub mod mpeg_audio;
pub mod nal;
