//! The Cues element (RFC 9559 §5.1.5): where the Clusters holding key
//! frames start, by time; what seeking jumps with.

use super::ebml::{id, uint, Children};

/// One cue: a time and the Cluster holding a key frame of `track` then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cue {
    /// CueTime, in TimestampScale units.
    pub time: u64,
    /// CueTrack.
    pub track: u64,
    /// File offset of the Cluster (CueClusterPosition is relative to the
    /// Segment's body).
    pub cluster: u64,
}

/// Most cues kept: a 16-byte cue each, 1 MiB in all (a cue every second
/// of 18 hours). Beyond it every other cue is dropped, so seeking reads
/// a little more but memory stays bounded.
const MAX_CUES: usize = 1 << 16;

/// The cues of a Cues element's body, in time order; those pointing
/// outside the Segment (`segment_start..segment_end`) are dropped.
pub(super) fn parse_cues(body: &[u8], segment_start: u64, segment_end: u64) -> Vec<Cue> {
    let mut cues = Vec::new();
    for point in Children::of(body).filter(|c| c.id == id::CUE_POINT) {
        let mut time = None;
        let mut positions = Vec::new();
        for child in Children::of(point.body) {
            match child.id {
                id::CUE_TIME => time = uint(child.body),
                id::CUE_TRACK_POSITIONS => {
                    let (mut track, mut cluster) = (None, None);
                    for c in Children::of(child.body) {
                        match c.id {
                            id::CUE_TRACK => track = uint(c.body),
                            id::CUE_CLUSTER_POSITION => cluster = uint(c.body),
                            _ => {}
                        }
                    }
                    if let (Some(track), Some(cluster)) = (track, cluster) {
                        positions.push((track, cluster));
                    }
                }
                _ => {}
            }
        }
        let Some(time) = time else { continue };
        for (track, relative) in positions {
            let cluster = segment_start.saturating_add(relative);
            if cluster < segment_end {
                cues.push(Cue {
                    time,
                    track,
                    cluster,
                });
            }
        }
        if cues.len() >= 2 * MAX_CUES {
            let mut i = 0;
            cues.retain(|_| {
                i += 1;
                i % 2 == 0
            });
        }
    }
    cues.sort_by_key(|c| (c.time, c.cluster));
    cues
}

/// The Cluster of the latest cue of `track` (any track when it has none)
/// at or before `time`.
pub(super) fn cluster_before(cues: &[Cue], track: u64, time: u64) -> Option<u64> {
    let of_track = cues.iter().any(|c| c.track == track);
    cues.iter()
        .filter(|c| c.time <= time && (!of_track || c.track == track))
        .max_by_key(|c| (c.time, c.cluster))
        .map(|c| c.cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cues_by_track_and_time() {
        // Two CuePoints: time 0 track 1 at 10; time 1000 track 1 at 500
        // and track 2 at 400.
        let point = |time: u8, positions: &[(u8, u16)]| {
            let mut body = vec![0xB3, 0x81, time];
            for &(track, pos) in positions {
                let [hi, lo] = pos.to_be_bytes();
                body.extend_from_slice(&[0xB7, 0x87, 0xF7, 0x81, track, 0xF1, 0x82, hi, lo]);
            }
            [vec![0xBB, 0x80 | body.len() as u8], body].concat()
        };
        let body = [point(0, &[(1, 10)]), point(100, &[(1, 500), (2, 400)])].concat();
        let cues = parse_cues(&body, 1000, 1450);
        assert_eq!(cues.len(), 2, "the cue past the Segment is dropped");
        assert_eq!(cluster_before(&cues, 1, 99), Some(1010));
        assert_eq!(cluster_before(&cues, 2, 150), Some(1400));
        assert_eq!(cluster_before(&cues, 3, 150), Some(1400));
        assert_eq!(cluster_before(&[], 1, 150), None);
    }
}
