//! [`ShardedAdapter`]: one namespace's adapter over sharded pub/sub, which does every
//! operation on this server's sockets through a [`LocalAdapter`] and tells the other servers
//! through the namespace's channels.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rmpv::Value as Pack;
use tidings::adapter::{
    AckCollector, Adapter, AdapterFuture, BroadcastOptions, BroadcastPacket, Room,
};
use tidings::{
    JoinError, LocalAdapter, LocalNamespace, MissedPacket, RemoteSocket, SessionState, Sid,
};

use super::channels::{Channels, SubscriptionMode};
use super::cluster::ShardedShared;
use super::codec::{self, Message, kind};
use super::subscriber::Inbound;
use crate::codec::Event;
use crate::pending::{Pending, Requests};

/// The adapter of one namespace in a cluster over Redis Cluster's sharded pub/sub, made by
/// [`ShardedCluster::adapter`](crate::ShardedCluster::adapter).
///
/// Operations on this server's sockets go through a [`LocalAdapter`] at once; the other
/// servers are told through sharded channels, in the format of Node's `createShardedAdapter`,
/// so Node servers with that adapter can share the cluster. Node's sharded adapter has no
/// way to list the rooms of other servers: [`all_rooms`](Adapter::all_rooms) lists this
/// server's. Connection state recovery stays with this server.
#[derive(Debug)]
pub struct ShardedAdapter {
    shared: Arc<Shared>,
}

/// What the adapter and its subscriptions share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) local: LocalAdapter,
    pub(crate) namespace: LocalNamespace,
    /// The namespace's name.
    pub(crate) name: String,
    /// This adapter's id in the cluster.
    pub(crate) uid: String,
    pub(crate) channels: Channels,
    pub(crate) cluster: Arc<ShardedShared>,
    pub(crate) requests: Requests,
    /// The rooms with a channel of their own (dynamic mode) and how many of this server's
    /// sockets are in each: a room's channel is subscribed while the room has sockets here.
    rooms: Mutex<HashMap<Room, usize>>,
    /// This, for the subscriptions of room channels.
    me: Weak<Shared>,
}

impl ShardedAdapter {
    pub(crate) fn new(namespace: LocalNamespace, cluster: Arc<ShardedShared>) -> ShardedAdapter {
        let name = namespace.name();
        let uid = new_id();
        let channels = Channels::new(&cluster.prefix, &name, &uid, cluster.mode);
        let shared = Arc::new_cyclic(|me| Shared {
            local: LocalAdapter::new(namespace.clone()),
            namespace,
            name,
            uid,
            channels,
            cluster,
            requests: Requests::default(),
            rooms: Mutex::default(),
            me: me.clone(),
        });
        for channel in [&shared.channels.main, &shared.channels.own] {
            shared.subscribe(channel.clone());
        }
        ShardedAdapter { shared }
    }
}

impl Drop for ShardedAdapter {
    fn drop(&mut self) {
        let shared = &self.shared;
        shared.unsubscribe(shared.channels.main.clone());
        shared.unsubscribe(shared.channels.own.clone());
        for room in shared.lock_rooms().keys() {
            shared.unsubscribe(shared.channels.of(room));
        }
    }
}

impl Shared {
    fn subscribe(&self, channel: String) {
        let inbound: Weak<dyn Inbound> = self.me.clone();
        self.cluster.subscriber.subscribe(channel, inbound);
    }

    fn unsubscribe(&self, channel: String) {
        let inbound: Weak<dyn Inbound> = self.me.clone();
        self.cluster.subscriber.unsubscribe(channel, inbound);
    }

    fn lock_rooms(&self) -> MutexGuard<'_, HashMap<Room, usize>> {
        self.rooms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn publish(&self, channel: String, message: &Message) {
        self.cluster.publisher.publish(channel, message.encode());
    }

    /// A message of this adapter.
    pub(crate) fn message(&self, kind: u64) -> Message {
        Message::new(kind, &self.uid, &self.name)
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.cluster.requests_timeout
    }

    async fn server_count(&self) -> usize {
        self.cluster.server_count(&self.channels.main).await
    }

    /// Socket `sid` joins `rooms`; the rooms new on this server get their channel.
    pub(crate) fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError> {
        if self.channels.mode == SubscriptionMode::Static {
            return self.local.add_all(sid, rooms);
        }
        let before: HashSet<Room> = self.local.socket_rooms(sid).into_iter().collect();
        self.local.add_all(sid, rooms)?;
        let mut counts = self.lock_rooms();
        let mut seen = HashSet::new();
        for room in rooms {
            if before.contains(room)
                || !self.channels.subscribes_to(room)
                || room.as_ref() == sid.as_str()
                || !seen.insert(room)
            {
                continue;
            }
            let count = counts.entry(room.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                self.subscribe(self.channels.of(room));
            }
        }
        Ok(())
    }

    /// Socket `sid` leaves `rooms` (every room when `None`); the rooms left empty on this
    /// server lose their channel.
    pub(crate) fn del(&self, sid: Sid, rooms: Option<&[Room]>) {
        if self.channels.mode == SubscriptionMode::Static {
            return match rooms {
                Some(rooms) => self.local.del(sid, rooms),
                None => self.local.del_all(sid),
            };
        }
        let mut left: HashSet<Room> = self.local.socket_rooms(sid).into_iter().collect();
        match rooms {
            Some(rooms) => {
                self.local.del(sid, rooms);
                let rooms: HashSet<&Room> = rooms.iter().collect();
                left.retain(|room| rooms.contains(room));
            }
            None => self.local.del_all(sid),
        }
        let mut counts = self.lock_rooms();
        for room in left {
            let Some(count) = counts.get_mut(&room) else {
                continue;
            };
            *count -= 1;
            if *count == 0 {
                counts.remove(&room);
                self.unsubscribe(self.channels.of(&room));
            }
        }
    }

    /// The sockets of this server that `options` selects join `rooms`.
    pub(crate) fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local.select(options) {
            if let Err(error) = self.add_all(socket.id(), rooms) {
                tracing::warn!(socket = %socket.id(), "not joining {} room(s): {error}", rooms.len());
            }
        }
    }

    /// The sockets of this server that `options` selects leave `rooms`.
    pub(crate) fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.local.select(options) {
            self.del(socket.id(), Some(rooms));
        }
    }
}

impl Adapter for ShardedAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError> {
        self.shared.add_all(sid, rooms)
    }

    fn del(&self, sid: Sid, rooms: &[Room]) {
        self.shared.del(sid, Some(rooms));
    }

    fn del_all(&self, sid: Sid) {
        self.shared.del(sid, None);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.shared.local.socket_rooms(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.shared.local.rooms()
    }

    fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions) {
        let shared = &self.shared;
        if !options.local {
            let message = shared
                .message(kind::BROADCAST)
                .with("packet", codec::broadcast_packet(&Event::of(packet)))
                .with_opts(options);
            shared.publish(shared.channels.broadcast_to(&options.rooms), &message);
        }
        shared.local.broadcast(packet, options);
    }

    fn broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        acks: AckCollector,
    ) {
        let shared = &self.shared;
        shared
            .local
            .broadcast_with_ack(packet, options, acks.clone());
        if options.local {
            return;
        }
        let (id, recipient) = shared.requests.expect_acks(acks);
        // Always on the main channel: every server counts its sockets, even with none.
        let message = shared
            .message(kind::BROADCAST)
            .with("packet", codec::broadcast_packet(&Event::of(packet)))
            .with("requestId", Pack::from(id.as_str()))
            .with_opts(options);
        shared.publish(shared.channels.main.clone(), &message);
        let shared = shared.clone();
        tokio::spawn(async move {
            let others = async { shared.server_count().await - 1 };
            shared.requests.follow_acks(&id, others, recipient).await;
        });
    }

    fn sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<Sid>> {
        let sockets = self.fetch_sockets(options);
        Box::pin(async move { sockets.await.iter().map(RemoteSocket::id).collect() })
    }

    fn fetch_sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        let shared = self.shared.clone();
        let options = options.clone();
        Box::pin(async move {
            let local = shared.local.fetch_sockets(&options).await;
            if options.local {
                return local;
            }
            let others = shared.server_count().await - 1;
            let send = |id: &str| {
                let message = shared
                    .message(kind::FETCH_SOCKETS)
                    .with_opts(&options)
                    .with("requestId", Pack::from(id));
                shared.publish(shared.channels.main.clone(), &message);
            };
            let take = |pending| match pending {
                Pending::Fetch(gather) => Some(gather.gathered),
                _ => None,
            };
            let timeout = shared.timeout();
            shared
                .requests
                .gather(others, local, Pending::Fetch, take, timeout, send)
                .await
        })
    }

    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.tell(kind::SOCKETS_JOIN, options, "rooms", names(rooms));
        self.shared.add_sockets(options, rooms);
    }

    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.tell(kind::SOCKETS_LEAVE, options, "rooms", names(rooms));
        self.shared.del_sockets(options, rooms);
    }

    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
        self.tell(
            kind::DISCONNECT_SOCKETS,
            options,
            "close",
            Pack::Boolean(close),
        );
        self.shared.local.disconnect_sockets(options, close);
    }

    fn server_side_emit(&self, packet: &BroadcastPacket, acks: Option<AckCollector>) {
        let shared = self.shared.clone();
        let message = shared
            .message(kind::SERVER_SIDE_EMIT)
            .with("packet", codec::event_data(&Event::of(packet)));
        let Some(acks) = acks else {
            shared.publish(shared.channels.main.clone(), &message);
            return;
        };
        tokio::spawn(async move {
            let others = shared.server_count().await - 1;
            acks.expect(others);
            if others == 0 {
                return;
            }
            let id = new_id();
            shared
                .requests
                .insert(id.clone(), Pending::ServerSide(acks.recipient()));
            drop(acks);
            let message = message.with("requestId", Pack::from(id.as_str()));
            shared.publish(shared.channels.main.clone(), &message);
            tokio::time::sleep(shared.timeout()).await;
            shared.requests.remove(&id);
        });
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let shared = self.shared.clone();
        Box::pin(async move { shared.server_count().await })
    }

    /// This server's rooms only: the sharded format has no request for the other servers'.
    fn all_rooms(&self) -> AdapterFuture<Vec<Room>> {
        self.shared.local.all_rooms()
    }

    fn persist_session(&self, state: SessionState) {
        self.shared.local.persist_session(state);
    }

    fn restore_session(&self, pid: Sid, offset: &str) -> AdapterFuture<Option<SessionState>> {
        self.shared.local.restore_session(pid, offset)
    }

    fn missed_packets(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> AdapterFuture<Option<Vec<MissedPacket>>> {
        self.shared.local.missed_packets(state, offset)
    }
}

impl ShardedAdapter {
    /// Tells the other servers to do to their sockets what is done to this server's (join,
    /// leave or disconnect): `key` holds `value` in the message.
    fn tell(&self, kind: u64, options: &BroadcastOptions, key: &str, value: Pack) {
        if options.local {
            return;
        }
        let shared = &self.shared;
        let message = shared.message(kind).with_opts(options).with(key, value);
        shared.publish(shared.channels.main.clone(), &message);
    }
}

fn names(rooms: &[Room]) -> Pack {
    Pack::Array(rooms.iter().map(|room| Pack::from(&**room)).collect())
}

/// An adapter or request id as Node's cluster adapter makes them: 16 lowercase hex digits.
fn new_id() -> String {
    (0..8)
        .map(|_| format!("{:02x}", rand::random::<u8>()))
        .collect()
}
