//! The sharded adapter: a cluster of servers over the sharded pub/sub of a Redis Cluster
//! (`SSUBSCRIBE`/`SPUBLISH`, Redis 7 or later), in the format of Node's
//! `createShardedAdapter` (PROTOCOL.md, part C).
//!
//! Each namespace has a channel every server reads (`P#N#`), one per adapter for the answers
//! to its requests (`P#N#uid#`), and in the dynamic mode one per room with sockets on a
//! server (`P#N#room#`): the channels hash to different slots, so the cluster spreads them
//! over its shards, and a broadcast to one room reaches only the servers that have it.

mod adapter;
mod channels;
mod cluster;
mod codec;
mod inbound;
mod subscriber;

pub use adapter::ShardedAdapter;
pub use channels::SubscriptionMode;
pub use cluster::{ShardedCluster, ShardedClusterBuilder};
