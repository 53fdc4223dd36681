//! The values of the headers that name a presentation, its streams and
//! its session: `Content-Base` (RFC 2326 §12.11), control URLs (§C.1.1),
//! `Session` (§12.37) and `RTP-Info` (§12.33). `Transport` is
//! [`super::transport::Header`], `Range` [`super::range::npt_range`].

use std::fmt::{self, Write as _};
use std::time::Duration;

/// `Content-Base`: the presentation URL with one trailing slash, so that
/// the SDP's relative `a=control` URLs resolve under it (§C.1.1).
pub fn content_base(url: &str) -> String {
    format!("{}/", url.trim_end_matches('/'))
}

/// The URL of a stream: its `a=control` (relative) under the presentation
/// URL `base` (§C.1.1).
pub fn control_url(base: &str, control: &str) -> String {
    format!("{}/{control}", base.trim_end_matches('/'))
}

/// `Session`: the id and, when the server reclaims idle sessions, the
/// timeout in seconds (§12.37).
pub fn session(id: &str, timeout: Option<Duration>) -> String {
    match timeout {
        Some(timeout) => format!("{id};timeout={}", timeout.as_secs()),
        None => id.to_owned(),
    }
}

/// Where one stream's RTP starts after PLAY: its URL, the sequence number
/// and RTP timestamp of its first packet (§12.33).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtpInfo {
    /// The stream's control URL.
    pub url: String,
    /// `seq`.
    pub seq: u16,
    /// `rtptime`.
    pub rtptime: u32,
}

impl fmt::Display for RtpInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "url={};seq={};rtptime={}",
            self.url, self.seq, self.rtptime
        )
    }
}

/// `RTP-Info` of `streams`, comma-separated; `None` for no streams (the
/// header is then left out).
pub fn rtp_info(streams: impl IntoIterator<Item = RtpInfo>) -> Option<String> {
    let mut out = String::new();
    for stream in streams {
        if !out.is_empty() {
            out.push(',');
        }
        let _ = write!(out, "{stream}");
    }
    (!out.is_empty()).then_some(out)
}

/// Splits a header value on `sep` except inside double quotes (the
/// parameters of `Transport` and `KeyMgmt`, whose quoted values may hold
/// the separators).
pub fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_as_clients_read_them() {
        assert_eq!(content_base("rtsp://h/a.264"), "rtsp://h/a.264/");
        assert_eq!(content_base("rtsp://h/a.264//"), "rtsp://h/a.264/");
        assert_eq!(
            control_url("rtsp://h/a.264/", "track1"),
            "rtsp://h/a.264/track1"
        );
        assert_eq!(
            session("ABC", Some(Duration::from_secs(65))),
            "ABC;timeout=65"
        );
        assert_eq!(session("ABC", None), "ABC");
        let info = |i: u16| RtpInfo {
            url: control_url("rtsp://h/a", &format!("track{i}")),
            seq: i,
            rtptime: u32::MAX - u32::from(i),
        };
        assert_eq!(
            rtp_info([info(0), info(1)]).unwrap(),
            "url=rtsp://h/a/track0;seq=0;rtptime=4294967295,url=rtsp://h/a/track1;seq=1;rtptime=4294967294"
        );
        assert_eq!(rtp_info([]), None);
    }
}
