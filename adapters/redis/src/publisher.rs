//! Everything a server sends to Redis, in the order it was queued: one task sends it as
//! pipelines of whatever has queued up meanwhile.
//!
//! Most of it is messages to publish. The rest are commands whose replies something waits
//! for, in order with the messages: a broadcast is recorded in the stream first, and only
//! then delivered and published with the offset the stream gave it, so the messages of one
//! server reach every other server in the order they were sent. A batch with commands takes
//! two round trips (the commands, then the messages), one without. How a batch goes out
//! (`PUBLISH` on one Redis, `SPUBLISH` to the shards of a cluster) is the [`Sink`]'s.
//!
//! The queue is bounded: when Redis is down for long, or slower than the broadcasts, what
//! comes beyond the bound is not queued (messages are dropped and counted in the log,
//! commands are answered at once as failed), so memory stays bounded. Delivery to the other
//! servers is at most once, as with Node's adapter.

use std::future::Future;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::sync::mpsc;

use crate::health::Health;

/// How many messages may wait for Redis.
const QUEUE: usize = 65_536;
/// How many messages one pipeline carries at most.
const BATCH: usize = 512;
/// How long a batch's commands may take before they count as failed: the local deliveries
/// of recorded broadcasts wait for them.
const COMMANDS_TIMEOUT: Duration = Duration::from_secs(2);

/// A message for a channel.
#[derive(Debug)]
pub(crate) struct Message {
    pub(crate) channel: String,
    pub(crate) payload: Vec<u8>,
}

/// What runs once a command's replies came (`None` when it failed), in queue order; it may
/// hand back a message to publish.
pub(crate) type Then = Box<dyn FnOnce(Option<Vec<redis::Value>>) -> Option<Message> + Send>;

/// Where the publishing task sends its batches.
pub(crate) trait Sink: Send + 'static {
    /// Publishes `messages` (and empties the list), in order for each channel.
    fn publish(
        &mut self,
        messages: &mut Vec<Message>,
    ) -> impl Future<Output = redis::RedisResult<()>> + Send;

    /// Sends `pipe`, whose replies are wanted.
    fn query(
        &mut self,
        pipe: &redis::Pipeline,
    ) -> impl Future<Output = redis::RedisResult<Vec<redis::Value>>> + Send;
}

impl Sink for ConnectionManager {
    async fn publish(&mut self, messages: &mut Vec<Message>) -> redis::RedisResult<()> {
        let mut pipe = redis::pipe();
        for message in messages.drain(..) {
            pipe.publish(message.channel, message.payload).ignore();
        }
        pipe.query_async::<()>(self).await
    }

    async fn query(&mut self, pipe: &redis::Pipeline) -> redis::RedisResult<Vec<redis::Value>> {
        pipe.query_async(self).await
    }
}

enum Outgoing {
    Publish(Message),
    Commands(Vec<redis::Cmd>, Then),
}

/// Queues messages and commands for the publishing task.
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
        if let Err(mpsc::error::TrySendError::Full(Outgoing::Publish(message))) = self
            .queue
            .try_send(Outgoing::Publish(Message { channel, payload }))
        {
            tracing::warn!(
                channel = message.channel,
                "redis publish queue full: a message to the other servers is dropped"
            );
        }
    }

    /// Queues `commands`; `then` gets their replies, in order with the other messages. When
    /// the queue is full, `then` runs at once, as if they failed.
    pub(crate) fn command(&self, commands: Vec<redis::Cmd>, then: Then) {
        match self.queue.try_send(Outgoing::Commands(commands, then)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(Outgoing::Commands(_, then))) => {
                tracing::warn!("redis queue full: a command is not sent");
                if let Some(message) = then(None) {
                    self.publish(message.channel, message.payload);
                }
            }
            // The task is gone with the runtime: nothing waits any more.
            Err(_) => {}
        }
    }
}

async fn run(mut connection: impl Sink, mut queue: mpsc::Receiver<Outgoing>, health: Health) {
    let mut batch = Vec::with_capacity(BATCH);
    while queue.recv_many(&mut batch, BATCH).await > 0 {
        let (mut replies, counts) = send_commands(&mut connection, &mut batch, &health).await;
        let mut counts = counts.into_iter();
        let mut messages = Vec::new();
        for outgoing in batch.drain(..) {
            let message = match outgoing {
                Outgoing::Publish(message) => Some(message),
                Outgoing::Commands(_, then) => {
                    let count = counts.next().unwrap_or(0);
                    then(replies.as_mut().map(|r| r.drain(..count).collect()))
                }
            };
            messages.extend(message);
        }
        if messages.is_empty() {
            continue;
        }
        match connection.publish(&mut messages).await {
            Ok(()) => health.publishing(),
            Err(error) => health.publish_failed(&error),
        }
    }
}

/// Sends the commands of `batch` (taking them out) in one pipeline: their replies in order,
/// or `None` when they failed as a whole, and how many each entry had. A command that Redis
/// refuses has its error as its reply.
async fn send_commands(
    connection: &mut impl Sink,
    batch: &mut [Outgoing],
    health: &Health,
) -> (Option<Vec<redis::Value>>, Vec<usize>) {
    let mut pipe = redis::pipe();
    pipe.ignore_errors();
    let mut counts = Vec::new();
    for outgoing in batch {
        if let Outgoing::Commands(commands, _) = outgoing {
            counts.push(commands.len());
            for command in commands.drain(..) {
                pipe.add_command(command);
            }
        }
    }
    let total: usize = counts.iter().sum();
    if total == 0 {
        return (Some(Vec::new()), counts);
    }
    let replies = match tokio::time::timeout(COMMANDS_TIMEOUT, connection.query(&pipe)).await {
        Ok(Ok(replies)) => {
            let replies: Vec<redis::Value> = replies;
            (replies.len() == total).then_some(replies)
        }
        Ok(Err(error)) => {
            health.publish_failed(&error);
            None
        }
        Err(_) => {
            tracing::error!("redis did not answer in time: recorded broadcasts go without offsets");
            None
        }
    };
    (replies, counts)
}
