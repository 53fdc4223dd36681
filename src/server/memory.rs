//! The allocator set up for a server ([`tune`]), and freed memory given
//! back to the system after load ([`release`]).
//!
//! glibc's malloc keeps what the program frees in its arenas (one per
//! thread that allocates, up to eight per core) for reuse, so the resident
//! size of a server stays at its peak after the sessions that needed it
//! have ended (issue 12 measured 395 MB still held after 1,000 sessions).
//! [`release`] hands every whole free page of every arena back with
//! `malloc_trim(0)` (glibc 2.8 and later trim inside every arena, and the
//! main arena at its top); the server calls it when its session table
//! empties. The other arenas give back their top when a free leaves more
//! than the trim threshold there, which [`tune`] keeps from growing.
//! Elsewhere both do nothing. [`tunables`] turns glibc's per-thread
//! cache and its cache of thread stacks off, which would otherwise keep
//! pages all over the arenas, and those of ended threads' stacks, from
//! being given back.
//!
//! [`tune`] also caps the arenas at two per core (glibc's default is
//! eight): side by side at 500 sessions (docs/benchmarks.md) a playing
//! session cost a fifth less memory, with the same CPU and lateness. Two
//! arenas in all were measured earlier and rejected: with more runnable
//! threads than cores, a thread descheduled while holding an arena's lock
//! stalled the others, and packets went out up to 460 ms late (ffmpeg
//! lost frames in tests/serve_ffmpeg.rs).

use std::ffi::{OsStr, OsString};

/// Sets the allocator up for a server (mallopt(3)); call it before the
/// runtime starts its threads, since an arena, once made, stays.
///
/// - At most [`ARENAS_PER_CORE`] arenas a core.
/// - The thresholds fixed at glibc's own defaults: blocks of
///   [`MMAP_THRESHOLD`] or more are mapped on their own and unmapped when
///   freed, and an arena gives back the free memory at its top past
///   [`TRIM_THRESHOLD`]. Left to itself glibc raises both after the
///   program frees a mapped block, to that block's size and twice it: one
///   1 MiB read buffer freed (describing a file) and every arena may then
///   keep 2 MiB at its top, which `malloc_trim` does not return for arenas
///   other than the main one. With 200 sessions of a 1 Mbit/s stream the
///   server held 6.9 MiB of anonymous memory 10 s after the last one
///   ended with the thresholds left to move, 3.0 MiB with them fixed.
/// - No fast bins (`M_MXFAST` 0): a small block freed joins its free
///   neighbours at once instead of waiting in a fast bin. `malloc_trim`
///   first joins what waits there, which can leave an arena other than
///   the main one with a large free top, and it gives back the pages of
///   free blocks but not that top (glibc's `mtrim`); a free joining the
///   top is what trims it. With 120 sessions over TCP and 10 s after the
///   last ended (tests/serve_resources.rs), three runs of thirteen held
///   1.2-2.0 MiB of anonymous memory (in one, `malloc_info` showed an
///   arena with a free top of 1.5 MiB); with no fast bins none of
///   twenty-two did (0.1-0.4 MiB held), and CPU and memory a session did
///   not move (docs/benchmarks.md).
/// - No top pad (`M_TOP_PAD` 0; glibc's default is 128 KiB): an arena
///   other than the main one that trims its top keeps none of it, where
///   it kept the pad, resident, which `malloc_trim` does not give back
///   either. After 2 minutes of the soak's churn (benches/serve_soak.rs)
///   the idle server held 1.0-1.1 MiB of anonymous memory instead of 1.4
///   (0.8 at start), VmRSS 104-108% of start-up instead of 110-112%;
///   CPU a session the same (serve_load, docs/benchmarks.md).
///
/// Elsewhere it does nothing. See also [`tunables`], what mallopt cannot
/// set.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let arenas = i32::try_from(cores.saturating_mul(ARENAS_PER_CORE)).unwrap_or(i32::MAX);
        // SAFETY: mallopt only sets the allocator's parameters under its
        // lock; the values are in range.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            libc::mallopt(libc::M_MXFAST, 0);
            libc::mallopt(libc::M_TOP_PAD, 0);
        }
    }
}

/// The `GLIBC_TUNABLES` (glibc's manual, "Tunables") a server runs with,
/// given the environment's: `current` with each of [`TUNABLES`] it does
/// not set added, or `None` when it sets them all (the user's choice, or
/// a process started again with them). The front end runs the server
/// again with them (they are read only when a program starts).
///
/// - **No per-thread cache.** glibc's cache keeps up to seven freed blocks
///   of each small size in every thread, out of its arena's reach:
///   `malloc_trim` cannot give back the pages they sit on nor join them
///   with their free neighbours. After a load, the runtime's threads'
///   caches pinned pages all over the arenas: 300 sessions of a 1 Mbit/s
///   stream and 10 s later the server held 3.2 MiB of anonymous memory
///   with the cache (VmRSS 129% of its start), 1.2–1.3 MiB without it
///   (VmRSS 108%), and a playing session cost 93–94 KiB instead of
///   101–102 (docs/benchmarks.md).
/// - **No cache of thread stacks.** glibc keeps the stacks of threads that
///   ended (up to 40 MiB) for new threads, each with the pages its thread
///   last used still resident; the blocking pool's threads end 2 s after a
///   load. Without the cache, 200 sessions and 10 s later: 0.92–0.95 MiB
///   of anonymous memory instead of 1.3–1.6 (VmRSS 103% of its start
///   instead of 106–110%). A new thread maps its stack afresh (the pool
///   starts at most 32).
pub fn tunables(current: Option<&OsStr>) -> Option<OsString> {
    let current = current.unwrap_or_default();
    let names: Vec<&[u8]> = current
        .as_encoded_bytes()
        .split(|&b| b == b':')
        .filter_map(|item| item.split(|&b| b == b'=').next())
        .collect();
    let mut tunables = current.to_owned();
    let mut added = false;
    for (name, value) in TUNABLES {
        if names.contains(&name.as_bytes()) {
            continue;
        }
        if !tunables.is_empty() {
            tunables.push(":");
        }
        tunables.push(format!("{name}={value}"));
        added = true;
    }
    added.then_some(tunables)
}

/// See [`tunables`]: glibc's per-thread cache and its cache of thread
/// stacks, both off.
const TUNABLES: [(&str, &str); 2] = [
    ("glibc.malloc.tcache_count", "0"),
    ("glibc.pthread.stack_cache_size", "0"),
];

/// See [`tune`].
const ARENAS_PER_CORE: usize = 2;
/// See [`tune`]: glibc's default, 128 KiB.
const MMAP_THRESHOLD: i32 = 128 * 1024;
/// See [`tune`]: glibc's default, 128 KiB.
const TRIM_THRESHOLD: i32 = 128 * 1024;

/// Returns the allocator's free pages to the system; takes milliseconds
/// on a large heap (call it off the runtime's threads).
pub fn release() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim has no preconditions; it only walks the
        // allocator's own lists under their locks.
        let released = unsafe { libc::malloc_trim(0) };
        tracing::debug!(
            "free memory {}returned to the system",
            if released == 1 { "" } else { "not " }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caches_are_turned_off_unless_the_environment_says_otherwise() {
        let tunables = |current: Option<&str>| {
            tunables(current.map(OsStr::new)).map(|t| t.into_string().unwrap())
        };
        const BOTH: &str = "glibc.malloc.tcache_count=0:glibc.pthread.stack_cache_size=0";
        assert_eq!(tunables(None).as_deref(), Some(BOTH));
        assert_eq!(tunables(Some("")).as_deref(), Some(BOTH));
        // Others' tunables are kept.
        assert_eq!(
            tunables(Some("glibc.malloc.arena_max=2")).as_deref(),
            Some(format!("glibc.malloc.arena_max=2:{BOTH}").as_str())
        );
        // The user's own setting of one, or the ones this process was
        // started again with, stay.
        assert_eq!(
            tunables(Some("glibc.malloc.tcache_count=7")).as_deref(),
            Some("glibc.malloc.tcache_count=7:glibc.pthread.stack_cache_size=0")
        );
        assert_eq!(
            tunables(Some("glibc.pthread.stack_cache_size=1048576")).as_deref(),
            Some("glibc.pthread.stack_cache_size=1048576:glibc.malloc.tcache_count=0")
        );
        assert_eq!(tunables(Some(BOTH)), None);
        assert_eq!(
            tunables(Some("glibc.pthread.stack_cache_size=0:glibc.malloc.mxfast=0:glibc.malloc.tcache_count=3")),
            None
        );
        // A name that only starts like one is another tunable.
        assert_eq!(
            tunables(Some("glibc.malloc.tcache_count_x=1")).as_deref(),
            Some(format!("glibc.malloc.tcache_count_x=1:{BOTH}").as_str())
        );
    }
}
