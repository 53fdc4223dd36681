//! SIGINT and SIGTERM while packetizing: instead of ending the process
//! where it stands (leaving the temporary files behind), they set a flag
//! the writing loop polls, so that `packetize` returns an error and the
//! temporary files are removed as they are dropped.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::bail;

/// Set by the signal handler.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The handler: only a store to a lock-free atomic, which is
/// async-signal-safe (C11 §7.14.1.1: a handler may use lock-free atomic
/// objects).
extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::Relaxed);
}

/// Makes SIGINT and SIGTERM set the flag [`check`] reads (sigaction(2),
/// with `SA_RESTART` so that interrupted reads and writes resume).
pub fn install() -> io::Result<()> {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: an all-zero sigaction is a valid value (no flags, empty
        // mask), then filled in; `on_signal` has the signature of a
        // sa_handler and only stores to an atomic.
        let result = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(signal, &action, std::ptr::null_mut())
        };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `Err("interrupted")` once SIGINT or SIGTERM has come.
pub fn check() -> anyhow::Result<()> {
    if INTERRUPTED.load(Ordering::Relaxed) {
        bail!("interrupted");
    }
    Ok(())
}
