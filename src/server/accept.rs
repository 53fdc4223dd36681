//! The accept loop of one listener: each connection counted against the
//! limits (refused ones get a short 503 and are closed), and out of file
//! descriptors it never spins.
//!
//! Running out of descriptors (`EMFILE`, `ENFILE`) leaves the connection in
//! the listen queue, so `accept` fails again at once: a loop that retries
//! spins, one that sleeps leaves clients waiting with no answer. The loop
//! holds one spare descriptor (`/dev/null`) for this: it closes it, accepts
//! the connection, answers 503 and closes it, then opens the spare again
//! (the classic reserve-descriptor trick, as libev documents for `accept`).
//! Failures are logged at most once per [`LOG_EVERY`], with how many were
//! not logged.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

use super::dispatch::Door;
use super::limits::Refusal;
use super::shared::Shared;

/// How often at most an accept failure is logged.
const LOG_EVERY: Duration = Duration::from_secs(10);
/// How long to wait before accepting again after a failure the spare
/// descriptor cannot help with.
const BACK_OFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener`, a `door` listener, until the task is
/// aborted.
pub async fn run(listener: TcpListener, door: Door, shared: Arc<Shared>, next_id: Arc<AtomicU64>) {
    let mut spare = open_spare();
    let mut failures = RateLimited::default();
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                match shared.limits.admit(id, peer.ip()) {
                    Ok(guard) => {
                        tokio::spawn(door.clone().serve(
                            stream,
                            peer,
                            Arc::clone(&shared),
                            (id, guard),
                        ));
                    }
                    Err(refusal) => {
                        failures.log(|n| {
                            format!(
                                "connection from {peer} refused: {} reached{}",
                                refusal.limit(),
                                more(n)
                            )
                        });
                        refuse(&stream, refusal);
                    }
                }
            }
            Err(e) if out_of_descriptors(&e) && spare.is_some() => {
                failures.log(|n| format!("accept failed: {e}{}", more(n)));
                // Free a descriptor, take the connection, answer and close.
                drop(spare.take());
                if let Some(Ok((stream, _))) = listener.accept().now_or_never() {
                    refuse(&stream, Refusal::Connections);
                }
                spare = open_spare();
            }
            Err(e) => {
                failures.log(|n| format!("accept failed: {e}{}", more(n)));
                tokio::time::sleep(BACK_OFF).await;
                spare = spare.or_else(open_spare);
            }
        }
    }
}

/// The spare descriptor; `None` when even that cannot be opened.
fn open_spare() -> Option<File> {
    File::open("/dev/null").ok()
}

fn out_of_descriptors(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE))
}

/// Answers a connection that is not served with 503 (RFC 2326 §7.1.1) and
/// `Retry-After` (§12.31), as far as the socket takes it at once; the
/// connection closes when `stream` is dropped.
fn refuse(stream: &TcpStream, refusal: Refusal) {
    let answer = format!(
        "RTSP/1.0 503 Service Unavailable\r\nRetry-After: {}\r\nConnection: close\r\n\r\n",
        refusal.retry_after()
    );
    let _ = stream.try_write(answer.as_bytes());
}

/// ", and N more" when N lines were not logged.
fn more(skipped: u64) -> String {
    if skipped == 0 {
        String::new()
    } else {
        format!(" ({skipped} more like it not logged)")
    }
}

/// A warning logged at most once per [`LOG_EVERY`].
#[derive(Default)]
struct RateLimited {
    last: Option<Instant>,
    skipped: u64,
}

impl RateLimited {
    /// Logs `line(skipped since the last line)` unless one was logged
    /// within [`LOG_EVERY`].
    fn log(&mut self, line: impl FnOnce(u64) -> String) {
        let now = Instant::now();
        if self.last.is_some_and(|last| now - last < LOG_EVERY) {
            self.skipped += 1;
            return;
        }
        tracing::warn!("{}", line(self.skipped));
        self.last = Some(now);
        self.skipped = 0;
    }
}
