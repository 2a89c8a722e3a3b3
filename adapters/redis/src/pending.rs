//! Requests this server sent and whose answers it waits for, by request id.

use std::collections::HashSet;
use std::future::Future;
use std::time::Duration;

use dashmap::DashMap;
use tidings::RemoteSocket;
use tidings::Room;
use tidings::adapter::{AckCollector, AckRecipient};
use tokio::sync::oneshot;

/// A request waiting for answers.
#[derive(Debug)]
pub(crate) enum Pending {
    /// `fetch_sockets`: the sockets of each server that answered.
    Fetch(Gather<Vec<RemoteSocket>>),
    /// `all_rooms`: the rooms of each server that answered.
    Rooms(Gather<HashSet<Room>>),
    /// A server-side emit with acks: each server's answer goes to the recipient.
    ServerSide(AckRecipient),
    /// A broadcast with acks: each server tells how many sockets it sent it to, then each
    /// socket's ack comes.
    Acks(Acks),
}

/// Answers gathered until `remaining` more have come.
#[derive(Debug)]
pub(crate) struct Gather<T> {
    pub(crate) remaining: usize,
    pub(crate) gathered: T,
    pub(crate) done: Option<oneshot::Sender<()>>,
}

impl<T> Gather<T> {
    /// One more answer; tells the waiter when it was the last.
    pub(crate) fn answered(&mut self) {
        self.remaining = self.remaining.saturating_sub(1);
        if self.remaining == 0 {
            if let Some(done) = self.done.take() {
                let _ = done.send(());
            }
        }
    }
}

/// A broadcast with acks, waiting for the other servers.
#[derive(Debug)]
pub(crate) struct Acks {
    /// Held until every other server told its count: then the acks know their total.
    pub(crate) collector: Option<AckCollector>,
    pub(crate) recipient: AckRecipient,
    /// How many other servers have told their count.
    pub(crate) counted: usize,
    /// How many other servers there are, once asked.
    pub(crate) servers: Option<usize>,
}

impl Acks {
    /// Lets the collector go once every other server has told.
    pub(crate) fn settle(&mut self) {
        if self.servers.is_some_and(|servers| self.counted >= servers) {
            self.collector = None;
        }
    }
}

/// The pending requests of one namespace's adapter.
#[derive(Debug, Default)]
pub(crate) struct Requests(DashMap<String, Pending>);

impl Requests {
    pub(crate) fn insert(&self, id: String, pending: Pending) {
        self.0.insert(id, pending);
    }

    pub(crate) fn remove(&self, id: &str) -> Option<Pending> {
        self.0.remove(id).map(|(_, pending)| pending)
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.0.contains_key(id)
    }

    /// Runs `f` on request `id`, if it is still waiting.
    pub(crate) fn with<R>(&self, id: &str, f: impl FnOnce(&mut Pending) -> R) -> Option<R> {
        self.0.get_mut(id).map(|mut pending| f(&mut pending))
    }

    /// Asks the `others` other servers, by sending the request `send` makes of a new request
    /// id, for answers gathered into `local` (as `pending` wraps it), waits for all of them or
    /// `timeout`, and hands back what came (`take` unwraps it).
    pub(crate) async fn gather<T: Default>(
        &self,
        others: usize,
        local: T,
        pending: fn(Gather<T>) -> Pending,
        take: fn(Pending) -> Option<T>,
        timeout: Duration,
        send: impl FnOnce(&str),
    ) -> T {
        if others == 0 {
            return local;
        }
        let id = new_id();
        let (done, finished) = oneshot::channel();
        let gather = Gather {
            remaining: others,
            gathered: local,
            done: Some(done),
        };
        self.insert(id.clone(), pending(gather));
        send(&id);
        // Only the waiter takes a gathered request out.
        let result = self.gathered(&id, finished, timeout).await;
        result.and_then(take).unwrap_or_default()
    }

    /// Waits for the gathered answers of request `id` until `done` or `timeout`, and takes
    /// what came.
    pub(crate) async fn gathered(
        &self,
        id: &str,
        done: oneshot::Receiver<()>,
        timeout: Duration,
    ) -> Option<Pending> {
        if tokio::time::timeout(timeout, done).await.is_err() {
            tracing::warn!(request = id, "not every server answered in time");
        }
        self.remove(id)
    }

    /// Starts a broadcast-with-acks request whose acks go to `acks`: its id, and who waits
    /// for the acks.
    pub(crate) fn expect_acks(&self, acks: AckCollector) -> (String, AckRecipient) {
        let id = new_id();
        let recipient = acks.recipient();
        let pending = Acks {
            collector: Some(acks),
            recipient: recipient.clone(),
            counted: 0,
            servers: None,
        };
        self.insert(id.clone(), Pending::Acks(pending));
        (id, recipient)
    }

    /// Follows broadcast-with-acks request `id` (its [`Pending::Acks`] inserted already): once
    /// `others` says how many other servers were asked, the acks settle when they have all
    /// counted; the request is forgotten once nobody waits for its acks any more.
    pub(crate) async fn follow_acks(
        &self,
        id: &str,
        others: impl Future<Output = usize>,
        recipient: AckRecipient,
    ) {
        let others = others.await;
        self.with(id, |pending| {
            if let Pending::Acks(acks) = pending {
                acks.servers = Some(others);
                acks.settle();
            }
        });
        while !recipient.is_closed() {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        self.remove(id);
    }
}

/// A request id: 16 characters of the URL-safe base64 alphabet, as unique as a uid.
pub(crate) fn new_id() -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..16)
        .map(|_| char::from(ALPHABET[usize::from(rand::random::<u8>() % 64)]))
        .collect()
}
