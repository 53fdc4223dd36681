//! The files `packetize` reads and writes, checked before any work: the
//! input, the capture and the SDP must be three different files, and the
//! two outputs must not be directories.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::bail;

/// Refuses a capture or SDP path that names a directory, or that names the
/// input or the other output: by directory (canonicalized, so `./x` and
/// `d/../x` are `x`) and file name, or for files that exist by device and
/// inode (hard links, symbolic links to the file).
pub fn check_paths(input: &Path, output: &Path, sdp: &Path) -> anyhow::Result<()> {
    for (path, what) in [(output, "capture"), (sdp, "SDP")] {
        if path.is_dir() {
            bail!(
                "{}: a directory, not a file to write the {what} to",
                path.display()
            );
        }
    }
    if same_file(output, sdp) {
        bail!(
            "{}: the SDP would overwrite the capture (give another --sdp)",
            sdp.display()
        );
    }
    if same_file(input, output) {
        bail!(
            "{}: the capture would overwrite the input file",
            output.display()
        );
    }
    if same_file(input, sdp) {
        bail!(
            "{}: the SDP would overwrite the input file (give another --sdp)",
            sdp.display()
        );
    }
    Ok(())
}

/// Whether `a` and `b` name one file.
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b)) {
        if (x.dev(), x.ino()) == (y.dev(), y.ino()) {
            return true;
        }
    }
    matches!((location(a), location(b)), (Some(x), Some(y)) if x == y)
}

/// A path as its canonical directory and its file name; `None` when the
/// directory does not exist (creating the file fails later) or the path
/// has no file name.
fn location(path: &Path) -> Option<(PathBuf, OsString)> {
    let name = path.file_name()?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some((dir.canonicalize().ok()?, name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_file_by_another_name_is_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("in.wav"), b"x").unwrap();
        std::fs::hard_link(d.join("in.wav"), d.join("link.pcap")).unwrap();
        assert!(same_file(&d.join("x.pcap"), &d.join("sub/../x.pcap")));
        assert!(same_file(&d.join("in.wav"), &d.join("link.pcap")));
        assert!(same_file(&d.join("./in.wav"), &d.join("sub/../in.wav")));
        assert!(!same_file(&d.join("x.pcap"), &d.join("sub/x.pcap")));
        assert!(!same_file(&d.join("x.pcap"), &d.join("missing/x.pcap")));
    }
}
