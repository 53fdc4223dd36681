//! Capture files written safely and in one pass: under a temporary name
//! renamed into place when complete, the head written last.

use std::fs::File;
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// An output file written under a temporary name in the same directory
/// and renamed into place only when complete, so an error never leaves a
/// partial file that looks finished. Dropped without
/// [`persist`](Self::persist), it is removed.
#[derive(Debug)]
pub struct PartialFile {
    temp: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl PartialFile {
    /// Creates the temporary file for `target`, open for reading and
    /// writing.
    pub fn create(target: &Path) -> io::Result<PartialFile> {
        // Distinct temporary names within one process too.
        static CREATED: AtomicU32 = AtomicU32::new(0);
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let file_name = target.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not a file name", target.display()),
            )
        })?;
        let temp = dir.join(format!(
            ".{}.partial-{}-{}",
            file_name.to_string_lossy(),
            std::process::id(),
            CREATED.fetch_add(1, Ordering::Relaxed)
        ));
        // Readable too: a capture's body may be copied out of it.
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        Ok(PartialFile {
            temp,
            target: target.to_owned(),
            file: Some(file),
        })
    }

    /// The file being written.
    pub fn file(&self) -> &File {
        self.file.as_ref().expect("the file is open until persist")
    }

    /// Closes the file and renames it to its target.
    pub fn persist(mut self) -> io::Result<()> {
        self.file = None;
        std::fs::rename(&self.temp, &self.target)?;
        self.temp = PathBuf::new();
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// A capture written in one pass whose head — the file header and the
/// records before the media, such as the RTSP exchange whose SDP states
/// the duration — is known only once the body is written: the body goes
/// after a region reserved for the head, and the head into it at the end.
#[derive(Debug)]
pub struct HeadedCapture {
    output: PartialFile,
    reserved: u64,
}

impl HeadedCapture {
    /// Creates the temporary file of `target`, positioned to write the body
    /// after `reserved` bytes.
    pub fn create(target: &Path, reserved: u64) -> io::Result<HeadedCapture> {
        let output = PartialFile::create(target)?;
        output.file().seek(SeekFrom::Start(reserved))?;
        Ok(HeadedCapture { output, reserved })
    }

    /// Where the body is written (a handle sharing the file's position).
    pub fn body(&self) -> io::Result<File> {
        self.output.file().try_clone()
    }

    /// Writes `head` in front of the body and renames the capture into
    /// place. A head of the reserved size goes into its region; any other
    /// is written to a new file, followed by the body, which the kernel
    /// copies (`std::io::copy` uses `copy_file_range` between files).
    pub fn finish(self, head: &[u8]) -> io::Result<()> {
        let mut file = self.output.file();
        if head.len() as u64 == self.reserved {
            file.seek(SeekFrom::Start(0))?;
            file.write_all(head)?;
            return self.output.persist();
        }
        let moved = PartialFile::create(&self.output.target)?;
        let mut to = moved.file();
        to.write_all(head)?;
        file.seek(SeekFrom::Start(self.reserved))?;
        io::copy(&mut file, &mut to)?;
        moved.persist()
        // Dropping `self.output` removes the first file.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a body after `reserved` bytes and finishes with `head`.
    fn capture(dir: &Path, reserved: u64, head: &[u8]) -> Vec<u8> {
        let target = dir.join("out.pcap");
        let capture = HeadedCapture::create(&target, reserved).unwrap();
        let mut body = capture.body().unwrap();
        body.write_all(b"body ").unwrap();
        body.write_all(b"bytes").unwrap();
        capture.finish(head).unwrap();
        // Only the target is left.
        let names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["out.pcap"]);
        std::fs::read(&target).unwrap()
    }

    #[test]
    fn head_goes_in_front_of_the_body_whatever_was_reserved() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(capture(dir.path(), 4, b"HEAD"), b"HEADbody bytes");
        // Reserved too little or too much: the body moves.
        assert_eq!(capture(dir.path(), 2, b"HEAD"), b"HEADbody bytes");
        assert_eq!(capture(dir.path(), 9, b"HEAD"), b"HEADbody bytes");
        assert_eq!(capture(dir.path(), 3, b""), b"body bytes");
    }

    #[test]
    fn an_unfinished_capture_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let capture = HeadedCapture::create(&dir.path().join("out.pcap"), 10).unwrap();
        capture.body().unwrap().write_all(b"x").unwrap();
        drop(capture);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        let err = PartialFile::create(&dir.path().join("missing/out.pcap")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
    }
}
