//! From a Request-URI to a file under the served directory, and back.
//!
//! The URL path (RFC 2326 §3.2) is split into segments, each one
//! percent-decoded on its own ([`crate::rtsp::url::decode_segment`]) so an
//! encoded `/` can't join two of them; `.`/`..` segments, NUL bytes and backslashes are refused
//! outright, and the result is canonicalized and must still lie under the
//! canonical root, so a symlink leading out is refused too.

use std::path::{Path, PathBuf};

use crate::rtsp::url::{self, DecodeError};

/// What a Request-URI names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The canonical path of the file.
    pub file: PathBuf,
    /// `Some(i)` for the control URL of track `i` (`.../file/trackI`,
    /// [`crate::sdp::track_control`]); `None` for the whole presentation.
    pub track: Option<usize>,
}

/// Why a Request-URI names no servable file.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Malformed: bad percent-encoding, NUL or other control bytes.
    #[error("malformed URL path: {0}")]
    Malformed(&'static str),
    /// Nothing servable there, or not under the directory.
    #[error("no such file")]
    NotFound,
}

/// The decoded segments of a Request-URI's path.
pub fn segments(uri: &str) -> Result<Vec<String>, PathError> {
    let path = match uri.find("://") {
        Some(scheme_end) => {
            let rest = &uri[scheme_end + 3..];
            rest.find('/').map_or("", |slash| &rest[slash..])
        }
        None => uri,
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    let mut out = Vec::new();
    for raw in path.split('/').filter(|s| !s.is_empty()) {
        let decoded = url::decode_segment(raw).map_err(|e| match e {
            DecodeError::BadEscape => PathError::Malformed("bad percent-encoding"),
            DecodeError::NotUtf8 => PathError::Malformed("path is not UTF-8"),
        })?;
        if decoded == "." || decoded == ".." {
            return Err(PathError::NotFound);
        }
        if decoded.contains(['/', '\\']) {
            return Err(PathError::NotFound);
        }
        if decoded.chars().any(char::is_control) {
            return Err(PathError::Malformed("control character in path"));
        }
        out.push(decoded);
    }
    Ok(out)
}

/// Resolves a Request-URI against `root` (which must be canonical). Does
/// file-system calls: run it off the async runtime.
pub fn resolve(root: &Path, uri: &str) -> Result<Target, PathError> {
    let segments = segments(uri)?;
    if let Some(file) = servable(root, &segments) {
        return Ok(Target { file, track: None });
    }
    let (last, parent) = segments.split_last().ok_or(PathError::NotFound)?;
    let track = last
        .strip_prefix("track")
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or(PathError::NotFound)?;
    let file = servable(root, parent).ok_or(PathError::NotFound)?;
    Ok(Target {
        file,
        track: Some(track),
    })
}

/// The canonical path of a regular file under `root` at `segments`.
fn servable(root: &Path, segments: &[String]) -> Option<PathBuf> {
    if segments.is_empty() {
        return None;
    }
    let mut path = root.to_path_buf();
    path.extend(segments);
    let canonical = std::fs::canonicalize(&path).ok()?;
    (canonical.starts_with(root) && canonical.is_file()).then_some(canonical)
}

/// The URL path of `file` (under `root`), each segment percent-encoded
/// ([`url::path`]); `None` outside `root` or for a name that is not UTF-8.
pub fn url_path(root: &Path, file: &Path) -> Option<String> {
    let relative = file.strip_prefix(root).ok()?;
    let segments: Option<Vec<&str>> = relative
        .components()
        .map(|part| part.as_os_str().to_str())
        .collect();
    Some(url::path(segments?))
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tree {
        _dir: tempfile::TempDir,
        root: PathBuf,
        outside: PathBuf,
    }

    fn tree() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("media");
        std::fs::create_dir_all(root.join("sub dir")).unwrap();
        std::fs::write(root.join("a.264"), b"x").unwrap();
        std::fs::write(root.join("sub dir").join("b c.mp3"), b"x").unwrap();
        std::fs::write(root.join("track3"), b"x").unwrap();
        let outside = base.join("secret.txt");
        std::fs::write(&outside, b"secret").unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link_out")).unwrap();
        std::os::unix::fs::symlink(root.join("a.264"), root.join("link_in")).unwrap();
        std::os::unix::fs::symlink(&base, root.join("dir_out")).unwrap();
        Tree {
            _dir: dir,
            root,
            outside,
        }
    }

    #[test]
    fn files_tracks_and_encodings_resolve() {
        let t = tree();
        let a = t.root.join("a.264");
        let target = |file: &Path, track| Target {
            file: file.to_path_buf(),
            track,
        };
        assert_eq!(
            resolve(&t.root, "rtsp://h:8554/a.264"),
            Ok(target(&a, None))
        );
        assert_eq!(resolve(&t.root, "rtsp://h/a.264/"), Ok(target(&a, None)));
        assert_eq!(resolve(&t.root, "/a.264?x=1"), Ok(target(&a, None)));
        assert_eq!(resolve(&t.root, "rtsp://h/%61.264"), Ok(target(&a, None)));
        assert_eq!(
            resolve(&t.root, "rtsp://h//a.264/track0"),
            Ok(target(&a, Some(0)))
        );
        assert_eq!(
            resolve(&t.root, "rtsp://h/a.264/track12"),
            Ok(target(&a, Some(12)))
        );
        let b = t.root.join("sub dir").join("b c.mp3");
        assert_eq!(
            resolve(&t.root, "rtsp://h/sub%20dir/b%20c.mp3"),
            Ok(target(&b, None))
        );
        // A file named like a track control is a file.
        assert_eq!(
            resolve(&t.root, "rtsp://h/track3"),
            Ok(target(&t.root.join("track3"), None))
        );
        // A symlink to a file inside the directory is served.
        assert_eq!(resolve(&t.root, "rtsp://h/link_in"), Ok(target(&a, None)));
    }

    #[test]
    fn nothing_outside_the_directory_is_reachable() {
        let t = tree();
        let outside = t.outside.to_str().unwrap().to_owned();
        for uri in [
            "rtsp://h/../secret.txt".to_owned(),
            "rtsp://h/sub%20dir/../../secret.txt".into(),
            "rtsp://h/%2e%2e/secret.txt".into(),
            "rtsp://h/%2E%2E/secret.txt".into(),
            "rtsp://h/..%2fsecret.txt".into(),
            "rtsp://h/..%5csecret.txt".into(),
            "rtsp://h/link_out".into(),
            "rtsp://h/dir_out/secret.txt".into(),
            format!("rtsp://h/{outside}"),
            format!("rtsp://h//{outside}"),
            format!("rtsp://h/%2F{}", outside.trim_start_matches('/')),
            "rtsp://h/a.264%00.txt".into(),
            "rtsp://h/a.264%00".into(),
            "rtsp://h/".into(),
            "rtsp://h".into(),
            "*".into(),
            "rtsp://h/sub%20dir".into(),
            "rtsp://h/a.264/track".into(),
            "rtsp://h/a.264/track-1".into(),
            "rtsp://h/a.264/track99999999999999999999999".into(),
            "rtsp://h/a.264/x/track0".into(),
            "rtsp://h/%".into(),
            "rtsp://h/%zz".into(),
            "rtsp://h/%ff%fe".into(),
        ] {
            let result = resolve(&t.root, &uri);
            assert!(result.is_err(), "{uri} resolved to {result:?}");
        }
        // The rule is where a path really leads, not how it is spelled: a
        // detour through a link that leaves and comes back is fine.
        let detour = resolve(&t.root, "rtsp://h/dir_out/media/a.264").unwrap();
        assert_eq!(detour.file, t.root.join("a.264"));
    }

    #[test]
    fn url_paths_are_percent_encoded() {
        let root = Path::new("/srv");
        assert_eq!(
            url_path(root, Path::new("/srv/sub dir/b c%.mp3")).as_deref(),
            Some("/sub%20dir/b%20c%25.mp3")
        );
        assert_eq!(url_path(root, Path::new("/elsewhere/x")), None);
        let t = tree();
        let b = t.root.join("sub dir").join("b c.mp3");
        let url = url_path(&t.root, &b).unwrap();
        assert_eq!(resolve(&t.root, &url).unwrap().file, b);
    }
}
