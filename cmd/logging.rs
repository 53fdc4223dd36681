//! Log output on stderr with `tracing`: `-q` errors only, default warnings
//! (the server also logs each connection), `-v` each request, `-vv` all.
//! `RUST_LOG` overrides the level.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber for the chosen verbosity.
pub fn init(quiet: bool, verbose: u8, server: bool) {
    let level = match (quiet, verbose, server) {
        (true, _, _) => "error",
        (false, 0, false) => "warn",
        (false, 0, true) => "info",
        (false, 1, _) => "debug",
        (false, _, _) => "trace",
    };
    // Other crates: their warnings by default, everything at -vv, and with
    // -q, as for ours, errors only.
    let others = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0 | 1) => "warn",
        (false, _) => level,
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("mediatool={level},{others}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // The server's log wants times; a one-shot command's warnings do not.
    if server {
        builder.init();
    } else {
        builder.without_time().init();
    }
}
