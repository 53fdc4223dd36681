//! What the server knows about each file: [`media::inspect`] results cached
//! per (path, size, modification time), so a big elementary stream is
//! scanned once, not per session, and a file that changes on disk is
//! described afresh on the next DESCRIBE.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use prometheus_client::metrics::counter::Counter;
use tokio::sync::OnceCell;

use crate::media::{self, MediaError, MediaInfo, ReadOptions};
use crate::rtp::PayloadOptions;
use crate::sdp::{self, Destination, SdpTrack, SrtpOffer};

/// Most files remembered at once.
const CAPACITY: usize = 4096;

/// A servable file: its inspection and the tracks RTP can carry.
#[derive(Debug)]
pub struct Media {
    /// Format, tracks and exact statistics.
    pub info: MediaInfo,
    /// The tracks served, with their payload formats.
    pub tracks: Vec<SdpTrack>,
    /// Presentation length.
    pub duration: Duration,
    /// The `play{file=...}` log span every session's reading of the file
    /// runs in, so that what a reader finds odd (a warning logged deep in
    /// it) names the file. One for the file, shared by its sessions:
    /// entering it allocates nothing, where a span per session or per
    /// read took a slot in the log subscriber's registry and a copy of the
    /// name each time, and left the server's memory fragmented after a
    /// load at the default log level (docs/benchmarks.md).
    pub play_span: tracing::Span,
}

impl Media {
    /// The SDP of a DESCRIBE answer (RFC 2326 Appendix C), with SRTP
    /// media and their keys when `srtp` is given.
    pub fn sdp(&self, origin: IpAddr, srtp: Option<&SrtpOffer>) -> String {
        sdp::session_description(&self.info, &self.tracks, origin, Destination::Rtsp, srtp)
    }

    /// The file track indices of the served tracks.
    pub fn track_indices(&self) -> Vec<usize> {
        self.tracks.iter().map(|t| t.index).collect()
    }

    /// The served track with file index `index`.
    pub fn track(&self, index: usize) -> Option<&SdpTrack> {
        self.tracks.iter().find(|t| t.index == index)
    }
}

/// Why a file cannot be served.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file vanished or cannot be read.
    #[error("{0}")]
    NotFound(String),
    /// Not a format or codec we stream, or broken.
    #[error("{0}")]
    Unsupported(String),
}

struct Entry {
    version: Version,
    media: OnceCell<Result<Arc<Media>, CatalogError>>,
}

/// What tells one version of a file from the next: its size and times,
/// and on Unix its inode (a file replaced by rename) and change time,
/// which no tool can set back (`cp -p`, `rsync -t` and `tar` restore the
/// modification time of a rewritten file, often of the same size).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Version {
    size: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl Version {
    fn of(metadata: &std::fs::Metadata) -> Version {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Version {
            size: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: (metadata.dev(), metadata.ino()),
            #[cfg(unix)]
            changed: (metadata.ctime(), metadata.ctime_nsec()),
        }
    }
}

/// The cache of inspected files.
#[derive(Default)]
pub struct Catalog {
    entries: Mutex<HashMap<PathBuf, Arc<Entry>>>,
    /// Descriptions served from the cache.
    hits: Counter,
    /// Descriptions that scanned the file.
    misses: Counter,
    /// How files are read (transport streams as tracks or as MP2T).
    options: ReadOptions,
    /// The payload formats chosen for the tracks (8-bit PCM as L16 or L8).
    payload: PayloadOptions,
}

impl Catalog {
    /// An empty cache of files read as `options` say, describing tracks
    /// in the payload formats `payload` chooses, counting its hits and
    /// misses in these counters.
    pub fn counting(
        options: ReadOptions,
        payload: PayloadOptions,
        hits: Counter,
        misses: Counter,
    ) -> Catalog {
        Catalog {
            entries: Mutex::default(),
            hits,
            misses,
            options,
            payload,
        }
    }

    /// How files are read.
    pub fn read_options(&self) -> ReadOptions {
        self.options
    }

    /// The description of `path` (canonical), inspecting it on a blocking
    /// thread if it is new or changed. Concurrent callers share one scan.
    /// A file that cannot be read (a transient error such as too many open
    /// files among them) is not remembered: the next request tries again.
    pub async fn get(&self, path: &Path) -> Result<Arc<Media>, CatalogError> {
        let metadata = tokio::fs::metadata(path)
            .await
            .map_err(|e| CatalogError::NotFound(e.to_string()))?;
        let version = Version::of(&metadata);
        let entry = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            match entries.get(path) {
                Some(e) if e.version == version => Arc::clone(e),
                _ => {
                    if entries.len() >= CAPACITY {
                        if let Some(victim) = entries.keys().next().cloned() {
                            entries.remove(&victim);
                        }
                    }
                    let entry = Arc::new(Entry {
                        version,
                        media: OnceCell::new(),
                    });
                    entries.insert(path.to_owned(), Arc::clone(&entry));
                    entry
                }
            }
        };
        let mut scanned = false;
        let described = entry
            .media
            .get_or_try_init(|| {
                let path = path.to_owned();
                let payload = self.payload;
                scanned = true;
                let options = self.options;
                async move {
                    let described =
                        tokio::task::spawn_blocking(move || describe(&path, &options, &payload))
                            .await
                            .unwrap_or_else(|e| Err(CatalogError::Unsupported(e.to_string())));
                    match described {
                        Err(CatalogError::NotFound(why)) => Err(CatalogError::NotFound(why)),
                        kept => Ok(kept),
                    }
                }
            })
            .await;
        if scanned { &self.misses } else { &self.hits }.inc();
        match described {
            Ok(kept) => kept.clone(),
            Err(e) => Err(e),
        }
    }
}

fn describe(
    path: &Path,
    options: &ReadOptions,
    payload: &PayloadOptions,
) -> Result<Arc<Media>, CatalogError> {
    // The readers' warnings name the file they are about.
    let _file = tracing::info_span!("describe", file = %path.display()).entered();
    let info = media::inspect_with(path, options).map_err(|e| match e {
        MediaError::Io(io) => CatalogError::NotFound(io.to_string()),
        other => CatalogError::Unsupported(other.to_string()),
    })?;
    let (tracks, skipped) = sdp::streamable_tracks(&info, payload);
    for (index, why) in &skipped {
        tracing::info!("{}: track {index} not served: {why}", path.display());
    }
    if tracks.is_empty() {
        return Err(CatalogError::Unsupported(
            skipped
                .first()
                .map_or_else(|| "no tracks".to_owned(), |(_, e)| e.to_string()),
        ));
    }
    let duration = Duration::try_from_secs_f64(info.duration()).unwrap_or_default();
    Ok(Arc::new(Media {
        info,
        tracks,
        duration,
        play_span: tracing::info_span!(parent: None, "play", file = %path.display()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file `probe` describes but no RTP payload format carries is
    /// refused as unsupported (DESCRIBE answers 415), naming the codec.
    #[test]
    fn a_codec_without_a_payload_format_is_unsupported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("speech.wav");
        std::fs::write(&path, media::testing::gsm_wav(33, Some(10_560))).unwrap();
        match describe(&path, &ReadOptions::default(), &PayloadOptions::default()) {
            Err(CatalogError::Unsupported(why)) => {
                assert_eq!(why, "no RTP payload format for gsm_ms");
            }
            other => panic!("{other:?}"),
        }
    }
}
