//! The path of an RTSP URL (RFC 2326 §3.2): a file's path written as
//! percent-encoded segments, and a segment read back.
//!
//! One spelling for every URL this crate writes: the server's start-up list
//! and the presentation URL of a capture's synthetic exchange name a file
//! alike. A segment keeps only RFC 3986 §2.3's unreserved characters
//! (`A-Z a-z 0-9 - . _ ~`) and percent-encodes every other byte of its
//! UTF-8 form (§2.1, upper-case hex). The sub-delimiters a path segment
//! may carry unencoded (§3.3) stay encoded: RTSP headers carry URLs in lists
//! split on them (`RTP-Info` separates its URLs with `,` and their
//! parameters with `;`, RFC 2326 §12.33), and RFC 2326's URL grammar reads
//! `;` in a path as the start of a parameter (RFC 2396 §3.3).

use percent_encoding::{percent_decode, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Bytes written as themselves: the unreserved characters (RFC 3986 §2.3).
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The absolute URL path of `segments`: each one percent-encoded after a
/// `/` (`["sub dir", "a.264"]` is `/sub%20dir/a.264`).
pub fn path<'a>(segments: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::new();
    for segment in segments {
        out.push('/');
        out.extend(utf8_percent_encode(segment, UNRESERVED));
    }
    out
}

/// The URL of `path` (from [`path`]) on the RTSP server at `server`.
pub fn absolute(server: std::net::SocketAddr, path: &str) -> String {
    format!("rtsp://{server}{path}")
}

/// Why a path segment cannot be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A `%` not followed by two hex digits (RFC 3986 §2.1).
    #[error("bad percent-encoding")]
    BadEscape,
    /// The decoded bytes are not UTF-8 (RFC 3986 §2.5).
    #[error("path is not UTF-8")]
    NotUtf8,
}

/// Decodes one path segment (RFC 3986 §2.1). Strict: a `%` must start a
/// two-digit escape, where browsers would keep it as it stands.
pub fn decode_segment(segment: &str) -> Result<String, DecodeError> {
    let bytes = segment.as_bytes();
    for at in memchr::memchr_iter(b'%', bytes) {
        let escape = bytes.get(at + 1..at + 3).ok_or(DecodeError::BadEscape)?;
        if !escape.iter().all(u8::is_ascii_hexdigit) {
            return Err(DecodeError::BadEscape);
        }
    }
    percent_decode(bytes)
        .decode_utf8()
        .map(|text| text.into_owned())
        .map_err(|_| DecodeError::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_unreserved_characters_stay() {
        assert_eq!(
            path(["sub dir", "a b%#?é;,=&+'()!*$@:.~_-Z9.mp3"]),
            "/sub%20dir/a%20b%25%23%3F%C3%A9%3B%2C%3D%26%2B%27%28%29%21%2A%24%40%3A.~_-Z9.mp3"
        );
        assert_eq!(path(["a/b"]), "/a%2Fb");
        assert_eq!(path([]), "");
        assert_eq!(
            absolute("[::1]:554".parse().unwrap(), "/a%20b.264"),
            "rtsp://[::1]:554/a%20b.264"
        );
    }

    #[test]
    fn malformed_segments_are_refused() {
        for bad in ["%", "%2", "a%zz", "%g0", "%%41"] {
            assert_eq!(decode_segment(bad), Err(DecodeError::BadEscape), "{bad}");
        }
        for bad in ["%ff%fe", "%C3", "%80"] {
            assert_eq!(decode_segment(bad), Err(DecodeError::NotUtf8), "{bad}");
        }
        assert_eq!(decode_segment("%61%2e%2E;x").unwrap(), "a..;x");
    }

    proptest! {
        #[test]
        fn segments_decode_to_what_was_encoded(segment in any::<String>()) {
            let encoded = path([segment.as_str()]);
            prop_assert_eq!(encoded.matches('/').count(), 1);
            prop_assert_eq!(decode_segment(&encoded[1..]).unwrap(), segment);
        }
    }
}
