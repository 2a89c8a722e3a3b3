//! [`ShardedCluster`]: one server's connection to a Redis Cluster, shared by its namespaces,
//! and the factory of their adapters.

use std::sync::Arc;
use std::time::Duration;

use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{ProtocolVersion, PushInfo, Value};
use tidings::LocalNamespace;
use tokio::sync::{mpsc, watch};

use super::adapter::ShardedAdapter;
use super::channels::SubscriptionMode;
use super::subscriber::Subscriber;
use crate::Error;
use crate::health::{Health, Status};
use crate::publisher::{Message, Publisher, Sink};

/// How many messages from Redis may wait for the subscribing task.
const PUSH_QUEUE: usize = 65_536;

/// A server's membership in a cluster over the sharded pub/sub of a Redis Cluster (Redis 7
/// or later): one connection to each node, shared by the adapters of every namespace, in
/// the format of Node's `createShardedAdapter` (`@socket.io/redis-adapter` 8.x).
///
/// ```no_run
/// # async fn run() -> Result<(), tidings_redis::Error> {
/// let cluster = tidings_redis::ShardedCluster::connect(&[
///     "redis://127.0.0.1:7000",
///     "redis://127.0.0.1:7001",
/// ])
/// .await?;
/// let io = tidings::Io::builder().adapter(cluster.adapter()).build();
/// # drop(io);
/// # Ok(())
/// # }
/// ```
///
/// The connections come back by themselves after a node restarts, and every channel is
/// subscribed again; meanwhile each server's own sockets still get its broadcasts, what the
/// other servers publish through that node is missed, and [`status`](Self::status) says so.
#[derive(Clone, Debug)]
pub struct ShardedCluster {
    shared: Arc<ShardedShared>,
}

/// What the adapters of one sharded cluster handle share.
pub(crate) struct ShardedShared {
    /// The prefix of every channel (`channelPrefix` in Node's adapter).
    pub(crate) prefix: String,
    pub(crate) requests_timeout: Duration,
    pub(crate) mode: SubscriptionMode,
    pub(crate) publisher: Publisher,
    pub(crate) subscriber: Subscriber,
    /// For commands that answer (`PUBSUB SHARDNUMSUB`).
    commands: ClusterConnection,
    health: Health,
}

/// Settings of a [`ShardedCluster`], made by [`ShardedCluster::builder`].
#[derive(Clone, Debug)]
pub struct ShardedClusterBuilder {
    urls: Vec<String>,
    prefix: String,
    requests_timeout: Duration,
    mode: SubscriptionMode,
}

impl ShardedCluster {
    /// Connects to the Redis Cluster that the nodes at `urls` (`redis://host:port`, one or
    /// more) belong to, with the default settings.
    ///
    /// # Errors
    /// [`Error`] when a URL is malformed or no node can be reached now.
    pub async fn connect(urls: &[&str]) -> Result<ShardedCluster, Error> {
        ShardedCluster::builder(urls).connect().await
    }

    /// Settings for the Redis Cluster of the nodes at `urls`, to change before connecting.
    pub fn builder(urls: &[&str]) -> ShardedClusterBuilder {
        ShardedClusterBuilder {
            urls: urls.iter().map(|url| (*url).to_owned()).collect(),
            prefix: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
            mode: SubscriptionMode::default(),
        }
    }

    /// The adapter factory for [`IoBuilder::adapter`](tidings::IoBuilder::adapter).
    pub fn adapter(&self) -> impl Fn(LocalNamespace) -> ShardedAdapter + Send + Sync + 'static {
        let shared = self.shared.clone();
        move |namespace| ShardedAdapter::new(namespace, shared.clone())
    }

    /// The state of the connections, now and as it changes.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.shared.health.watch()
    }
}

impl ShardedClusterBuilder {
    /// The prefix of every channel; `socket.io` by default, as Node's adapter (its
    /// `channelPrefix` option). Servers share a cluster when they use the same prefix on the
    /// same Redis Cluster.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a request to the other servers (`fetch_sockets`, a server-side emit with
    /// acks, counting them) waits for their answers; 5 s by default. A request that times
    /// out returns what came.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Which channels each server subscribes to; [`SubscriptionMode::Dynamic`] by default,
    /// as Node's adapter. Every server of the cluster must use the same.
    pub fn subscription_mode(mut self, mode: SubscriptionMode) -> Self {
        self.mode = mode;
        self
    }

    /// Connects.
    ///
    /// # Errors
    /// [`Error`] when a URL is malformed or no node can be reached now.
    pub async fn connect(self) -> Result<ShardedCluster, Error> {
        let (pushes, received) = mpsc::channel(PUSH_QUEUE);
        let push = move |push: PushInfo| -> Result<(), ()> {
            match pushes.try_send(push) {
                Ok(()) => Ok(()),
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(
                        "redis message queue full: a message from the other servers is dropped"
                    );
                    Ok(())
                }
                Err(mpsc::error::TrySendError::Closed(_)) => Err(()),
            }
        };
        // Sharded subscriptions need RESP3, where messages come as pushes on the same
        // connections as the commands: one connection per node, so a node counts each
        // server once in `PUBSUB SHARDNUMSUB`.
        let client = ClusterClientBuilder::new(self.urls)
            .use_protocol(ProtocolVersion::RESP3)
            .push_sender(push)
            .connection_timeout(Duration::from_secs(1))
            .response_timeout(Duration::from_secs(2))
            .retries(3)
            .min_retry_wait(50)
            .max_retry_wait(500)
            .build()?;
        let connection = client.get_async_connection().await?;
        let health = Health::new();
        let shared = ShardedShared {
            prefix: self.prefix,
            requests_timeout: self.requests_timeout,
            mode: self.mode,
            publisher: Publisher::start(Shards(connection.clone()), health.clone()),
            subscriber: Subscriber::start(connection.clone(), received, health.clone()),
            commands: connection,
            health,
        };
        Ok(ShardedCluster {
            shared: Arc::new(shared),
        })
    }
}

impl std::fmt::Debug for ShardedShared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardedShared")
            .field("prefix", &self.prefix)
            .field("requests_timeout", &self.requests_timeout)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl ShardedShared {
    /// How many servers subscribe to `channel` (a namespace's main channel): `PUBSUB
    /// SHARDNUMSUB` on the node that holds its slot. 1 when Redis cannot tell.
    pub(crate) async fn server_count(&self, channel: &str) -> usize {
        let mut connection = self.commands.clone();
        let mut command = redis::cmd("PUBSUB");
        command.arg("SHARDNUMSUB").arg(channel);
        // The node of the channel's slot, where its subscribers are.
        let route = Route::with_key(channel, SlotAddr::Master);
        let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route));
        let query = connection.route_command(command, routing);
        match tokio::time::timeout(self.requests_timeout, query).await {
            Ok(Ok(reply)) => subscribers(&reply).unwrap_or(0).max(1),
            Ok(Err(error)) => {
                tracing::warn!(%error, "cannot count the servers; counting this one only");
                1
            }
            Err(_) => {
                tracing::warn!("redis did not count the servers in time; counting this one only");
                1
            }
        }
    }
}

/// The count in a `PUBSUB SHARDNUMSUB` reply for one channel: `[channel, count]`, or a map
/// under RESP3.
fn subscribers(reply: &Value) -> Option<usize> {
    let count = match reply {
        Value::Array(items) => items.get(1)?,
        Value::Map(entries) => &entries.first()?.1,
        _ => return None,
    };
    match count {
        Value::Int(count) => usize::try_from(*count).ok(),
        _ => None,
    }
}

/// Publishes to the shards: a pipeline of `SPUBLISH` per channel (one slot each), in the
/// order queued, the channels at once.
struct Shards(ClusterConnection);

impl Sink for Shards {
    async fn publish(&mut self, batch: &mut Vec<Message>) -> redis::RedisResult<()> {
        let mut pipes: Vec<(String, redis::Pipeline)> = Vec::new();
        for message in batch.drain(..) {
            let at = match pipes
                .iter()
                .position(|(channel, _)| *channel == message.channel)
            {
                Some(at) => at,
                None => {
                    pipes.push((message.channel.clone(), redis::pipe()));
                    pipes.len() - 1
                }
            };
            let mut command = redis::cmd("SPUBLISH");
            command.arg(message.channel).arg(message.payload);
            pipes[at].1.add_command(command).ignore();
        }
        let sent = pipes.iter().map(|(_, pipe)| {
            let mut connection = self.0.clone();
            async move { pipe.query_async::<()>(&mut connection).await }
        });
        futures_util::future::join_all(sent)
            .await
            .into_iter()
            .collect()
    }

    async fn query(&mut self, pipe: &redis::Pipeline) -> redis::RedisResult<Vec<Value>> {
        // The cluster client sends each command to the node of its key.
        pipe.query_async(&mut self.0).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_subscriber_count() {
        let channel = || Value::BulkString(b"socket.io#/#".to_vec());
        let cases = [
            (Value::Array(vec![channel(), Value::Int(2)]), Some(2)),
            (Value::Map(vec![(channel(), Value::Int(3))]), Some(3)),
            (Value::Array(vec![]), None),
            (Value::Nil, None),
        ];
        for (reply, count) in cases {
            assert_eq!(subscribers(&reply), count, "{reply:?}");
        }
    }
}
