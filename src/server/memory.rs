//! Giving freed memory back to the system after load.
//!
//! glibc's malloc keeps what the program frees in its arenas (one per
//! thread that allocates, up to eight per core) for reuse, so the resident
//! size of a server stays at its peak after the sessions that needed it
//! have ended (issue 12 measured 395 MB still held after 1,000 sessions).
//! [`release`] hands every whole free page of every arena back with
//! `malloc_trim(0)` (glibc 2.8 and later trim all arenas, inside the heap
//! as well as at its top); the server calls it when its session table
//! empties. Elsewhere it does nothing.
//!
//! Capping the arenas (`M_ARENA_MAX`) was measured and rejected: two arenas
//! cut a playing session's memory from about 120 to 90 KiB, but on a
//! machine with more runnable threads than cores a thread that is
//! descheduled while holding an arena's lock stalls every other allocating
//! thread, and packets went out up to 460 ms late (ffmpeg lost frames in
//! tests/serve_ffmpeg.rs).

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
