//! [`Cluster`]: the connections to Redis one server shares between its namespaces, and the
//! factory of their adapters.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use tidings::LocalNamespace;
use tokio::sync::watch;

use crate::adapter::RedisAdapter;
use crate::health::{Health, Status};
use crate::publisher::Publisher;
use crate::record::Keys;
use crate::subscriber::Subscriber;

/// Redis could not be reached, or the URL is not a Redis URL.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to redis: {0}")]
pub struct Error(#[from] redis::RedisError);

/// A server's membership in a cluster over Redis: two connections (one that publishes and
/// asks, one subscribed), shared by the adapters of every namespace.
///
/// ```no_run
/// # async fn run() -> Result<(), tidings_redis::Error> {
/// let cluster = tidings_redis::Cluster::connect("redis://127.0.0.1:6379").await?;
/// let io = tidings::Io::builder().adapter(cluster.adapter()).build();
/// # drop(io);
/// # Ok(())
/// # }
/// ```
///
/// Both connections come back by themselves after Redis restarts; meanwhile each server's
/// own sockets still get its broadcasts, what the other servers publish is missed, and
/// [`status`](Self::status) says so (as does the log, at error level).
#[derive(Clone, Debug)]
pub struct Cluster {
    shared: Arc<ClusterShared>,
}

/// What the adapters of one cluster handle share.
#[derive(Debug)]
pub(crate) struct ClusterShared {
    /// The prefix of every channel (`key` in Node's adapter).
    pub(crate) prefix: String,
    pub(crate) requests_timeout: Duration,
    /// Where the record for connection state recovery lives.
    pub(crate) keys: Keys,
    pub(crate) publisher: Publisher,
    /// For commands that answer (`PUBSUB NUMSUB`).
    pub(crate) commands: ConnectionManager,
    pub(crate) subscriber: Subscriber,
    health: Health,
}

/// Settings of a [`Cluster`], made by [`Cluster::builder`].
#[derive(Clone, Debug)]
pub struct ClusterBuilder {
    url: String,
    prefix: String,
    requests_timeout: Duration,
}

impl Cluster {
    /// Connects to the Redis at `url` (`redis://host:port/db`; add `?protocol=resp3` for
    /// RESP3) with the default settings.
    ///
    /// # Errors
    /// [`Error`] when the URL is malformed or Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Cluster, Error> {
        Cluster::builder(url).connect().await
    }

    /// Settings for the Redis at `url`, to change before connecting.
    pub fn builder(url: &str) -> ClusterBuilder {
        ClusterBuilder {
            url: url.to_owned(),
            prefix: "socket.io".to_owned(),
            requests_timeout: Duration::from_secs(5),
        }
    }

    /// The adapter factory for [`IoBuilder::adapter`](tidings::IoBuilder::adapter).
    pub fn adapter(&self) -> impl Fn(LocalNamespace) -> RedisAdapter + Send + Sync + 'static {
        let shared = self.shared.clone();
        move |namespace| RedisAdapter::new(namespace, shared.clone())
    }

    /// The state of the connections, now and as it changes.
    pub fn status(&self) -> watch::Receiver<Status> {
        self.shared.health.watch()
    }
}

impl ClusterBuilder {
    /// The prefix of every channel; `socket.io` by default, as Node's adapter (its `key`
    /// option). Servers share a cluster when they use the same prefix on the same Redis.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How long a request to the other servers (`fetch_sockets`, `all_rooms`, a server-side
    /// emit with acks, counting them) waits for their answers; 5 s by default. A request
    /// that times out returns what came.
    pub fn requests_timeout(mut self, timeout: Duration) -> Self {
        self.requests_timeout = timeout;
        self
    }

    /// Connects.
    ///
    /// # Errors
    /// [`Error`] when the URL is malformed or Redis cannot be reached now.
    pub async fn connect(self) -> Result<Cluster, Error> {
        let client = redis::Client::open(self.url.as_str())?;
        let commands = client.get_connection_manager().await?;
        let pubsub = client.get_async_pubsub().await?;
        let health = Health::new();
        let shared = ClusterShared {
            keys: Keys::new(&self.prefix),
            prefix: self.prefix,
            requests_timeout: self.requests_timeout,
            publisher: Publisher::start(commands.clone(), health.clone()),
            subscriber: Subscriber::start(client, pubsub, commands.clone(), health.clone()),
            commands,
            health,
        };
        Ok(Cluster {
            shared: Arc::new(shared),
        })
    }
}
