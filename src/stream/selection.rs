//! Which of a file's tracks a stream carries, each with its payload format
//! and RTP sender.

use std::collections::HashSet;

use super::timeline::duration_ns;
use super::track::StreamedTrack;
use super::{StreamConfig, StreamError};
use crate::media::Track;
use crate::rtp::{self, RtpError};

/// The tracks of `file_tracks` that `config` selects, in the order first
/// asked for, each once. Without a selection, every track RTP can carry
/// (the others are skipped with a warning); a selected track RTP cannot
/// carry, or one whose payload format needs more than `config.max_payload`,
/// is an error.
pub(super) fn select_tracks(
    file_tracks: &[Track],
    config: &StreamConfig,
) -> Result<Vec<StreamedTrack>, StreamError> {
    let explicit = !config.tracks.is_empty();
    let mut wanted: Vec<usize> = if explicit {
        config.tracks.clone()
    } else {
        (0..file_tracks.len()).collect()
    };
    let mut seen = HashSet::new();
    wanted.retain(|&i| seen.insert(i));
    let rtcp_interval = duration_ns(config.rtcp_interval).max(1);
    let mut tracks = Vec::new();
    let mut skipped = Vec::new();
    for index in wanted {
        let track = file_tracks.get(index).ok_or(StreamError::NoSuchTrack {
            track: index,
            count: file_tracks.len(),
        })?;
        let packetizer = match rtp::packetizer_with(track, &config.payload) {
            Ok(p) => p,
            Err(error) if explicit => {
                return Err(StreamError::Rtp {
                    track: index,
                    error,
                })
            }
            Err(e) => {
                tracing::warn!("track {index} is not streamed: {e}");
                skipped.push(format!("track {index}: {e}"));
                continue;
            }
        };
        if packetizer.min_payload() > config.max_payload {
            return Err(StreamError::Rtp {
                track: index,
                error: RtpError::PayloadTooSmall {
                    format: packetizer.description().encoding,
                    needed: packetizer.min_payload(),
                    available: config.max_payload,
                },
            });
        }
        let options = config.senders.get(&index).copied().unwrap_or_default();
        tracks.push(StreamedTrack::new(
            index,
            track,
            packetizer,
            options,
            rtcp_interval,
        ));
    }
    if tracks.is_empty() {
        let why = if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join("; "))
        };
        return Err(StreamError::NothingToStream(why));
    }
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use crate::stream::testing::{av_demuxer, config};
    use crate::stream::{max_payload_for_mtu, MediaStream};

    #[test]
    fn tracks_are_selected_once_in_order() {
        let mut c = config();
        c.tracks = vec![1, 0, 1];
        let stream = MediaStream::new(Box::new(av_demuxer()), c).unwrap();
        let order: Vec<usize> = stream.tracks().iter().map(|t| t.index).collect();
        assert_eq!(order, [1, 0]);
        // The server runs streams on blocking threads.
        fn send<T: Send>(_: &T) {}
        send(&stream);
    }

    #[test]
    fn bad_configurations_are_refused() {
        let mut c = config();
        c.tracks = vec![0, 5];
        let err = MediaStream::new(Box::new(av_demuxer()), c).err().unwrap();
        assert_eq!(
            err.to_string(),
            "track 5 does not exist: the file has 2 track(s), 0 to 1"
        );
        let mut c = config();
        c.max_payload = 2;
        let err = MediaStream::new(Box::new(av_demuxer()), c).err().unwrap();
        assert!(err.to_string().contains("at least 3 bytes"), "{err}");
        assert_eq!(max_payload_for_mtu(40, false), None);
        assert_eq!(max_payload_for_mtu(1500, true), Some(1440));
    }
}
