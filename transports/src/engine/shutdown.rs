//! Graceful shutdown: new handshakes are refused, every session is closed, and the engine
//! waits until the sessions have left its table and every connection has written its last
//! bytes, or until a deadline.
//!
//! What may still write to a client is counted with a [`Writer`] guard: a WebSocket
//! connection's task, an SSE stream, a pending long-polling GET. A session leaving the table
//! and a writer ending notify the shutdown, which re-checks; nothing polls. Until a shutdown
//! begins these notifications cost one atomic load.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::Shared;

/// The shutdown state of one engine.
#[derive(Debug, Default)]
pub(crate) struct Drain {
    /// Set once a shutdown began: handshakes are refused from then on.
    begun: AtomicBool,
    /// When connections still open are dropped.
    deadline: OnceLock<Instant>,
    /// Connections and responses that may still write to a client.
    writers: AtomicUsize,
    /// Notified, once a shutdown began, when a session leaves the table or a writer ends.
    changed: Notify,
}

impl Drain {
    /// Starts the shutdown: from now on handshakes are refused, and connections that are
    /// still writing are dropped at `deadline` (the first shutdown's deadline, when there
    /// were several).
    pub(crate) fn begin(&self, deadline: Instant) {
        let _ = self.deadline.set(deadline);
        self.begun.store(true, Ordering::Relaxed);
        // Pairs with the fence in `changed` and `Engine::handshake`: either they see the flag,
        // or this side sees what they did before it (a session removed, or one inserted).
        fence(Ordering::SeqCst);
    }

    /// Whether a shutdown began.
    pub(crate) fn begun(&self) -> bool {
        self.begun.load(Ordering::Relaxed)
    }

    /// When a connection that stopped writing after its session closed is dropped: `grace`
    /// from now, or the shutdown's deadline if that comes first.
    pub(crate) fn grace(&self, grace: Duration) -> Instant {
        let after_grace = Instant::now() + grace;
        match self.deadline.get() {
            Some(&deadline) => after_grace.min(deadline),
            None => after_grace,
        }
    }

    /// A session left the table or a writer ended: wakes a shutdown waiting for that.
    pub(crate) fn changed(&self) {
        fence(Ordering::SeqCst);
        if self.begun() {
            self.changed.notify_waiters();
        }
    }

    /// How many connections and responses may still write to a client.
    pub(crate) fn writers(&self) -> usize {
        self.writers.load(Ordering::Acquire)
    }

    /// Resolves once `done` holds; `done` is checked now and after each change.
    pub(crate) async fn until(&self, done: impl Fn() -> bool) {
        loop {
            let changed = self.changed.notified();
            let mut changed = std::pin::pin!(changed);
            // Registered before the check, so a change between the check and the wait wakes it.
            changed.as_mut().enable();
            if done() {
                return;
            }
            changed.await;
        }
    }
}

/// Something that may still write to a client: a WebSocket connection's task, an SSE stream
/// or a pending long-polling GET. A shutdown waits until every one has been dropped.
pub(crate) struct Writer(Arc<Shared>);

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Writer")
    }
}

impl Writer {
    /// Counts a writer of `engine` until the guard drops.
    pub(crate) fn new(engine: &Arc<Shared>) -> Writer {
        engine.drain.writers.fetch_add(1, Ordering::AcqRel);
        Writer(engine.clone())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let drain = &self.0.drain;
        drain.writers.fetch_sub(1, Ordering::AcqRel);
        drain.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn grace_ends_at_the_deadline_when_that_comes_first() {
        let drain = Drain::default();
        let now = Instant::now();
        assert_eq!(
            drain.grace(Duration::from_secs(5)),
            now + Duration::from_secs(5)
        );
        drain.begin(now + Duration::from_secs(1));
        assert!(drain.begun());
        assert_eq!(
            drain.grace(Duration::from_secs(5)),
            now + Duration::from_secs(1)
        );
        assert_eq!(drain.grace(Duration::ZERO), now);
        // A second shutdown keeps the first deadline.
        drain.begin(now + Duration::from_secs(9));
        assert_eq!(
            drain.grace(Duration::from_secs(5)),
            now + Duration::from_secs(1)
        );
    }

    #[tokio::test]
    async fn until_wakes_on_a_change() {
        let drain = Arc::new(Drain::default());
        drain.begin(Instant::now());
        let flag = Arc::new(AtomicBool::new(false));
        let waiter = {
            let (drain, flag) = (drain.clone(), flag.clone());
            tokio::spawn(async move { drain.until(|| flag.load(Ordering::Relaxed)).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        flag.store(true, Ordering::Relaxed);
        drain.changed();
        waiter.await.expect("the waiter ends");
    }
}
