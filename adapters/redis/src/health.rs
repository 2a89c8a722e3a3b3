//! The state of the connections to Redis, for the app to watch: every failure is logged and
//! shows here until the connection works again.

use std::sync::Arc;

use tokio::sync::watch;

/// The state of a [`Cluster`](crate::Cluster)'s connections to Redis.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Status {
    /// Both connections work: broadcasts and requests reach the other servers.
    Connected,
    /// A connection failed; it is being re-established. Meanwhile this server's own sockets
    /// still get its broadcasts, and what other servers send is missed.
    Disconnected {
        /// What went wrong, last.
        error: String,
    },
}

/// Reports the state of the connections; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Health(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    status: watch::Sender<Status>,
    /// Which connection failed last: the other one working again does not hide it.
    parts: std::sync::Mutex<Parts>,
}

#[derive(Debug, Default)]
struct Parts {
    subscriber: Option<String>,
    publisher: Option<String>,
}

impl Health {
    pub(crate) fn new() -> Health {
        let (status, _) = watch::channel(Status::Connected);
        Health(Arc::new(Inner {
            status,
            parts: std::sync::Mutex::default(),
        }))
    }

    pub(crate) fn watch(&self) -> watch::Receiver<Status> {
        self.0.status.subscribe()
    }

    pub(crate) fn subscribed(&self) {
        self.update(|parts| parts.subscriber = None);
    }

    pub(crate) fn subscriber_failed(&self, error: &dyn std::fmt::Display) {
        tracing::error!(%error, "redis subscription lost; reconnecting");
        let error = error.to_string();
        self.update(|parts| parts.subscriber = Some(error));
    }

    pub(crate) fn publishing(&self) {
        if self.lock().publisher.is_some() {
            self.update(|parts| parts.publisher = None);
        }
    }

    pub(crate) fn publish_failed(&self, error: &redis::RedisError) {
        tracing::error!(%error, "redis publish failed; messages to the other servers are lost");
        let error = error.to_string();
        self.update(|parts| parts.publisher = Some(error));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Parts> {
        self.0
            .parts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Parts)) {
        let mut parts = self.lock();
        change(&mut parts);
        let status = match parts.subscriber.as_ref().or(parts.publisher.as_ref()) {
            None => Status::Connected,
            Some(error) => Status::Disconnected {
                error: error.clone(),
            },
        };
        drop(parts);
        self.0.status.send_if_modified(|current| {
            let changed = *current != status;
            *current = status;
            changed
        });
    }
}
