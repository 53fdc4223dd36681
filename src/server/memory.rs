//! Giving freed memory back to the system after load.
//!
//! glibc's malloc keeps what the program frees in its arenas (one per
//! thread that allocates, up to eight per core) for reuse, so the resident
//! size of a server stays at its peak after the sessions that needed it
//! have ended (issue 12 measured 395 MB still held after 1,000 sessions).
//! [`release`] hands every whole free page of every arena back with
//! `malloc_trim(0)` (glibc 2.8 and later trim all arenas, inside the heap
//! as well as at its top); the server calls it when its session table
//! empties. [`limit_arenas`] caps the arenas at one per core: with one per
//! blocking thread, the frees of one thread land in another's arena, and
//! each arena keeps its own scattered free pages (measured with 200
//! sessions of 1 Mbit/s: 122 KiB of RSS a playing session with glibc's
//! default, 90 KiB with two arenas, at the same CPU). Elsewhere both do
//! nothing.

/// Caps glibc's malloc arenas at the number of cores (`M_ARENA_MAX`); to
/// be called before the runtime's threads start.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cores = libc::c_int::try_from(cores).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, cores);
        }
    }
}

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
