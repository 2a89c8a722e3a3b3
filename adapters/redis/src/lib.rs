//! tidings-redis: several Tidings servers as one, over Redis pub/sub.
//!
//! Every namespace gets a [`RedisAdapter`] that does each operation on its own server's
//! sockets and tells the other servers through Redis: broadcasts (with rooms, `except`,
//! volatile, local), broadcasts with acks gathered from every server, `fetch_sockets`,
//! `sockets_join`, `sockets_leave`, `disconnect_sockets`, server-side emits (with acks),
//! every room of the cluster, and how many servers there are. With connection state recovery
//! on, sessions and the packets clients may miss are kept in Redis (a stream and a key per
//! session), so a client recovers on any Tidings server of the cluster, even when its own
//! server died.
//!
//! What travels over Redis is what Node's `@socket.io/redis-adapter` 8.x sends (its classic
//! format, PROTOCOL.md in this crate's folder), so Tidings servers and Node servers with that
//! adapter can share one cluster, and a team can move one server at a time.
//!
//! For a Redis Cluster (Redis 7 or later), [`ShardedCluster`] speaks the format of Node's
//! `createShardedAdapter` over sharded pub/sub (`SSUBSCRIBE`/`SPUBLISH`): each namespace's
//! channels, and in its default dynamic mode each room's, spread over the shards. It does
//! everything above but list the other servers' rooms, which that format cannot ask for:
//! there [`all_rooms`](tidings::adapter::Adapter::all_rooms) lists this server's.
//!
//! ```no_run
//! # async fn run() -> Result<(), tidings_redis::Error> {
//! let cluster = tidings_redis::Cluster::connect("redis://127.0.0.1:6379").await?;
//! let io = tidings::Io::builder().adapter(cluster.adapter()).build();
//! io.ns("/", |socket: tidings::Socket| {
//!     // Reaches the sockets in room "news" on every server.
//!     let _ = socket.to("news").emit("hello", "world");
//! });
//! # Ok(())
//! # }
//! ```

mod adapter;
#[cfg(feature = "bench")]
#[doc(hidden)]
pub mod bench;
mod channels;
mod cluster;
mod codec;
mod health;
mod inbound;
mod pending;
mod publisher;
mod record;
mod recovery;
mod remote;
mod sharded;
mod subscriber;

pub use adapter::RedisAdapter;
pub use cluster::{Cluster, ClusterBuilder, Error};
pub use health::Status;
pub use sharded::{ShardedAdapter, ShardedCluster, ShardedClusterBuilder, SubscriptionMode};

/// The clustering guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/clustering.md")]
struct ClusteringGuide;

/// The deployment guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/deployment.md")]
struct DeploymentGuide;
