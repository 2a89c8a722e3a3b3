//! Publishing: one task sends every message of the cluster handle to Redis, in the order they
//! were queued, as pipelines of whatever has queued up meanwhile. How a batch goes out
//! (`PUBLISH` on one Redis, `SPUBLISH` to the shards of a cluster) is the [`Sink`]'s.
//!
//! The queue is bounded: when Redis is down for long, or slower than the broadcasts, messages
//! beyond the bound are dropped (and counted in the log), so memory stays bounded. Delivery
//! to the other servers is at most once, as with Node's adapter.

use std::future::Future;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use crate::health::Health;

/// How many messages may wait for Redis.
const QUEUE: usize = 65_536;
/// How many messages one pipeline carries at most.
const BATCH: usize = 512;

/// A message for a channel.
#[derive(Debug)]
pub(crate) struct Outgoing {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// Where the publishing task sends its batches.
pub(crate) trait Sink: Send + 'static {
    /// Sends `batch` (and empties it), in order for each channel.
    fn send(
        &mut self,
        batch: &mut Vec<Outgoing>,
    ) -> impl Future<Output = redis::RedisResult<()>> + Send;
}

impl Sink for ConnectionManager {
    async fn send(&mut self, batch: &mut Vec<Outgoing>) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for message in batch.drain(..) {
            pipe.publish(message.channel, message.payload).ignore();
        }
        pipe.query_async::<()>(self).await
    }
}

/// Queues messages for the publishing task.
#[derive(Clone, Debug)]
pub(crate) struct Publisher {
    queue: mpsc::Sender<Outgoing>,
}

impl Publisher {
    /// Starts the publishing task over `connection`.
    pub(crate) fn start(connection: impl Sink, health: Health) -> Publisher {
        let (queue, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(connection, receiver, health));
        Publisher { queue }
    }

    /// Queues `payload` for `channel`; dropped, with a warning, when the queue is full.
    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        if let Err(mpsc::error::TrySendError::Full(message)) =
            self.queue.try_send(Outgoing { channel, payload })
        {
            tracing::warn!(
                channel = message.channel,
                "redis publish queue full: a message to the other servers is dropped"
            );
        }
    }
}

async fn run(mut connection: impl Sink, mut queue: mpsc::Receiver<Outgoing>, health: Health) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let sent = connection.send(&mut batch).await;
        batch.clear();
        match sent {
            Ok(()) => health.publishing(),
            Err(error) => health.publish_failed(&error),
        }
    }
}
