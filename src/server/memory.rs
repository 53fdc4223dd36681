//! Giving freed memory back to the system after load.
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
//! Elsewhere both do nothing.
//!
//! Capping the arenas (`M_ARENA_MAX`) was measured and rejected: two arenas
//! cut a playing session's memory from about 120 to 90 KiB, but on a
//! machine with more runnable threads than cores a thread that is
//! descheduled while holding an arena's lock stalls every other allocating
//! thread, and packets went out up to 460 ms late (ffmpeg lost frames in
//! tests/serve_ffmpeg.rs).

/// The allocator's thresholds for a server, fixed at glibc's own defaults
/// (mallopt(3)): blocks of [`MMAP_THRESHOLD`] or more are mapped on their
/// own and unmapped when freed, and an arena gives back the free memory
/// at its top past [`TRIM_THRESHOLD`].
///
/// Left to itself glibc raises both after the program frees a mapped
/// block, to that block's size and twice it: one 1 MiB read buffer freed
/// (describing a file) and every arena may then keep 2 MiB at its top,
/// which `malloc_trim` does not return for arenas other than the main
/// one. Measured with 200 sessions of a 1 Mbit/s stream (docs/benchmarks.md):
/// 10 s after the last one ended the server held 7.1 MiB of anonymous
/// memory with the thresholds left to move, 2.9 MiB with them fixed.
/// The server sets them when it binds. Elsewhere it does nothing.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets the allocator's parameters under its
        // lock; the values are in range.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
        }
    }
}

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
