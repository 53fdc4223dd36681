//! The tunnels by `x-sessioncookie`: a GET leg registers its cookie and
//! waits; the POST leg with the same cookie is handed to it. Bounded: at
//! most [`MAX_WAITING`] GET legs waiting and [`MAX_TUNNELS`] cookies in
//! all; a cookie in use (waiting or joined) is refused to anyone else
//! until its GET leg ends.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{oneshot, Notify};

/// Most GET legs waiting for their POST at once.
pub const MAX_WAITING: usize = 256;
/// Most cookies in use at once (tunnels waiting or joined).
pub const MAX_TUNNELS: usize = 16_384;

/// Why a cookie was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Another tunnel has it.
    Duplicate,
    /// The table is full.
    Full,
    /// No GET leg registered it (a POST leg's refusal).
    NoGet,
}

/// The table of tunnels, shared by every listener.
pub struct Tunnels<L> {
    table: Mutex<Table<L>>,
    /// Woken when a GET leg registers, for the POST legs waiting for it.
    opened: Notify,
}

struct Table<L> {
    cookies: HashMap<String, Slot<L>>,
    waiting: usize,
}

enum Slot<L> {
    /// A GET leg waits for this POST leg.
    Waiting(oneshot::Sender<L>),
    /// The tunnel is joined.
    Joined,
}

/// A GET leg's hold on its cookie, released when dropped.
pub struct Registration<'a, L> {
    tunnels: &'a Tunnels<L>,
    cookie: String,
    /// The POST leg, when another connection brings it.
    pub post: oneshot::Receiver<L>,
}

impl<L> Default for Tunnels<L> {
    fn default() -> Self {
        Tunnels {
            table: Mutex::new(Table {
                cookies: HashMap::new(),
                waiting: 0,
            }),
            opened: Notify::new(),
        }
    }
}

impl<L> Tunnels<L> {
    fn table(&self) -> std::sync::MutexGuard<'_, Table<L>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a GET leg under `cookie`.
    pub fn open(&self, cookie: &str) -> Result<Registration<'_, L>, Refused> {
        let mut table = self.table();
        if table.cookies.contains_key(cookie) {
            return Err(Refused::Duplicate);
        }
        if table.waiting >= MAX_WAITING || table.cookies.len() >= MAX_TUNNELS {
            return Err(Refused::Full);
        }
        let (tx, rx) = oneshot::channel();
        table.cookies.insert(cookie.to_owned(), Slot::Waiting(tx));
        table.waiting += 1;
        drop(table);
        self.opened.notify_waiters();
        Ok(Registration {
            tunnels: self,
            cookie: cookie.to_owned(),
            post: rx,
        })
    }

    /// Hands a POST leg to the GET leg waiting under `cookie`, waiting up
    /// to `wait` for that GET leg to register; gives the leg back if none
    /// did, or at once if the cookie's tunnel is joined already.
    pub async fn join(&self, cookie: &str, mut leg: L, wait: Duration) -> Result<(), (L, Refused)> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let opened = self.opened.notified();
            tokio::pin!(opened);
            opened.as_mut().enable();
            leg = match self.try_join(cookie, leg) {
                Ok(()) => return Ok(()),
                Err((leg, true)) => return Err((leg, Refused::Duplicate)),
                Err((leg, false)) => leg,
            };
            if tokio::time::timeout_at(deadline, opened).await.is_err() {
                return Err((leg, Refused::NoGet));
            }
        }
    }

    /// Hands `leg` over if a GET leg waits under `cookie`; otherwise gives
    /// it back, and whether the cookie is taken (no use waiting).
    fn try_join(&self, cookie: &str, leg: L) -> Result<(), (L, bool)> {
        let mut table = self.table();
        let Some(slot) = table.cookies.get_mut(cookie) else {
            return Err((leg, false));
        };
        let Slot::Waiting(_) = slot else {
            return Err((leg, true));
        };
        let Slot::Waiting(tx) = std::mem::replace(slot, Slot::Joined) else {
            unreachable!("matched above");
        };
        table.waiting -= 1;
        // A GET leg that just gave up has dropped its receiver; its
        // registration removes the cookie.
        tx.send(leg).map_err(|leg| (leg, true))
    }

    /// How many cookies are in use.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.table().cookies.len()
    }
}

impl<L> Registration<'_, L> {
    /// The POST leg came on the GET leg's own connection.
    pub fn joined_here(&mut self) {
        let mut table = self.tunnels.table();
        if let Some(slot) = table.cookies.get_mut(&self.cookie) {
            if matches!(slot, Slot::Waiting(_)) {
                *slot = Slot::Joined;
                table.waiting -= 1;
            }
        }
    }
}

impl<L> Drop for Registration<'_, L> {
    fn drop(&mut self) {
        let mut table = self.tunnels.table();
        if let Some(Slot::Waiting(_)) = table.cookies.remove(&self.cookie) {
            table.waiting -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_post_joins_its_get_once() {
        let tunnels = Tunnels::<u32>::default();
        let mut get = tunnels.open("c1").unwrap();
        assert_eq!(tunnels.open("c1").err(), Some(Refused::Duplicate));
        tunnels.join("c1", 7, Duration::ZERO).await.unwrap();
        assert_eq!(get.post.try_recv(), Ok(7));
        // A second POST for a joined tunnel is refused at once.
        assert_eq!(
            tunnels.join("c1", 8, Duration::from_secs(60)).await,
            Err((8, Refused::Duplicate))
        );
        assert_eq!(tunnels.open("c1").err(), Some(Refused::Duplicate));
        drop(get);
        assert_eq!(tunnels.in_use(), 0);
        assert!(tunnels.open("c1").is_ok());
    }

    #[tokio::test]
    async fn a_post_waits_for_its_get_a_while() {
        let tunnels = std::sync::Arc::new(Tunnels::<u32>::default());
        let joining = tokio::spawn({
            let tunnels = std::sync::Arc::clone(&tunnels);
            async move { tunnels.join("late", 1, Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut get = tunnels.open("late").unwrap();
        joining.await.unwrap().unwrap();
        assert_eq!(get.post.try_recv(), Ok(1));
        let started = tokio::time::Instant::now();
        assert_eq!(
            tunnels.join("nobody", 2, Duration::from_millis(100)).await,
            Err((2, Refused::NoGet))
        );
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[tokio::test]
    async fn the_table_is_bounded() {
        let tunnels = Tunnels::<u32>::default();
        let held: Vec<_> = (0..MAX_WAITING)
            .map(|i| tunnels.open(&i.to_string()).unwrap())
            .collect();
        assert_eq!(tunnels.open("one more").err(), Some(Refused::Full));
        drop(held);
        assert_eq!(tunnels.in_use(), 0);
        let mut same = tunnels.open("same").unwrap();
        same.joined_here();
        assert_eq!(
            tunnels.join("same", 3, Duration::ZERO).await,
            Err((3, Refused::Duplicate))
        );
    }
}
