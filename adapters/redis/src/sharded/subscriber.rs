//! Subscribing: one task owns the sharded subscriptions of the cluster handle, made one
//! channel at a time (each to the shard that holds the channel's slot), and hands each
//! message to the adapter that asked for its channel.
//!
//! The Redis client subscribes again by itself after it reconnects, but in one command for
//! every channel, which a cluster refuses when they hash to different slots. So the task keeps
//! the channels it wants and subscribes each again whenever a connection to a node closed, or
//! a node dropped a subscription (its slot moved), retrying from 100 ms, doubling, up to 5 s,
//! until every channel is back; [`Status`](crate::Status) says when it is.

use std::collections::{HashMap, HashSet};
use std::sync::Weak;
use std::time::Duration;

use redis::cluster_async::ClusterConnection;
use redis::{PushInfo, PushKind, Value};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::health::Health;

/// What an adapter does with the messages of its channels.
pub(crate) trait Inbound: Send + Sync + 'static {
    /// A message on one of its channels.
    fn message(&self, payload: &[u8]);
}

enum Command {
    Subscribe(String, Weak<dyn Inbound>),
    Unsubscribe(String, Weak<dyn Inbound>),
}

/// Asks the subscribing task to subscribe to a channel or to leave it.
#[derive(Clone, Debug)]
pub(crate) struct Subscriber {
    commands: mpsc::UnboundedSender<Command>,
}

const FIRST_RETRY: Duration = Duration::from_millis(100);
const LAST_RETRY: Duration = Duration::from_secs(5);

impl Subscriber {
    /// Starts the subscribing task on `connection`, whose pushes (messages, disconnections)
    /// come on `pushes`.
    pub(crate) fn start(
        connection: ClusterConnection,
        pushes: mpsc::Receiver<PushInfo>,
        health: Health,
    ) -> Subscriber {
        let (commands, receiver) = mpsc::unbounded_channel();
        let task = Task {
            connection,
            health,
            routes: HashMap::new(),
            unsynced: HashSet::new(),
            retry: FIRST_RETRY,
            retry_at: None,
        };
        tokio::spawn(task.run(pushes, receiver));
        Subscriber { commands }
    }

    /// Sends the messages of `channel` to `inbound`.
    pub(crate) fn subscribe(&self, channel: String, inbound: Weak<dyn Inbound>) {
        let _ = self.commands.send(Command::Subscribe(channel, inbound));
    }

    /// Stops sending the messages of `channel` to `inbound`, and leaves it, unless another
    /// inbound took it since (a namespace removed and created again under the same name).
    pub(crate) fn unsubscribe(&self, channel: String, inbound: Weak<dyn Inbound>) {
        let _ = self.commands.send(Command::Unsubscribe(channel, inbound));
    }
}

struct Task {
    connection: ClusterConnection,
    health: Health,
    /// Every channel wanted, and where its messages go.
    routes: HashMap<String, Weak<dyn Inbound>>,
    /// The wanted channels not subscribed to (yet, or any more).
    unsynced: HashSet<String>,
    retry: Duration,
    /// When to try the unsynced channels again, after a failure.
    retry_at: Option<Instant>,
}

impl Task {
    async fn run(
        mut self,
        mut pushes: mpsc::Receiver<PushInfo>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        loop {
            let retry_at = self.retry_at;
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.command(command).await,
                    // Every cluster handle and adapter is gone.
                    None => return,
                },
                push = pushes.recv() => match push {
                    Some(push) => self.push(push),
                    None => return,
                },
                () = sleep_until(retry_at), if retry_at.is_some() => self.retry_at = None,
            }
            if self.retry_at.is_none() && !self.unsynced.is_empty() {
                self.sync().await;
            }
        }
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Subscribe(channel, inbound) => {
                self.routes.insert(channel.clone(), inbound);
                self.unsynced.insert(channel);
            }
            Command::Unsubscribe(channel, inbound) => {
                let current = self.routes.get(&channel);
                if !current.is_some_and(|current| Weak::ptr_eq(current, &inbound)) {
                    return;
                }
                self.routes.remove(&channel);
                if self.unsynced.remove(&channel) {
                    return;
                }
                if let Err(error) = self.connection.sunsubscribe(&channel).await {
                    // A node that is gone has dropped its subscriptions anyway.
                    tracing::debug!(%error, channel, "cannot leave a sharded channel");
                }
            }
        }
    }

    fn push(&mut self, push: PushInfo) {
        match push.kind {
            PushKind::SMessage => {
                let [channel, payload] = &push.data[..] else {
                    return;
                };
                let (Some(channel), Some(payload)) = (bytes(channel), bytes(payload)) else {
                    return;
                };
                let Ok(channel) = std::str::from_utf8(channel) else {
                    return;
                };
                if let Some(inbound) = self.routes.get(channel).and_then(Weak::upgrade) {
                    inbound.message(payload);
                }
            }
            PushKind::Disconnection => {
                self.health
                    .subscriber_failed(&"a connection to the redis cluster closed");
                self.unsynced.extend(self.routes.keys().cloned());
            }
            // A node drops the subscriptions of a slot that moves away from it.
            PushKind::SUnsubscribe => {
                let channel = push.data.first().and_then(bytes);
                let channel = channel.and_then(|channel| std::str::from_utf8(channel).ok());
                if let Some(channel) = channel.filter(|channel| self.routes.contains_key(*channel))
                {
                    self.unsynced.insert(channel.to_owned());
                }
            }
            _ => {}
        }
    }

    /// Subscribes to every unsynced channel; on the first failure, tries again later.
    async fn sync(&mut self) {
        let channels: Vec<String> = self.unsynced.iter().cloned().collect();
        for channel in channels {
            match self.connection.ssubscribe(&channel).await {
                Ok(()) => {
                    self.unsynced.remove(&channel);
                }
                Err(error) => {
                    self.health.subscriber_failed(&error);
                    self.retry_at = Some(Instant::now() + self.retry);
                    self.retry = (self.retry * 2).min(LAST_RETRY);
                    return;
                }
            }
        }
        self.retry = FIRST_RETRY;
        self.health.subscribed();
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

fn bytes(value: &Value) -> Option<&[u8]> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.as_bytes()),
        _ => None,
    }
}
