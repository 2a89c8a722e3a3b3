//! [`RedisAdapter`]: one namespace's adapter, which does every operation on this server's
//! sockets through a [`LocalAdapter`] and tells the other servers through Redis.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::ConnectionManager;
use serde_json::json;
use tidings::adapter::{
    AckCollector, Adapter, AdapterFuture, BroadcastOptions, BroadcastPacket, Room,
};
use tidings::{
    JoinError, LocalAdapter, LocalNamespace, MissedPacket, RemoteSocket, SessionState, Sid,
};

use crate::channels::Channels;
use crate::cluster::ClusterShared;
use crate::codec::{self, Event, kind};
use crate::pending::{Gather, Pending, Requests, new_id};
use crate::recovery::Recording;
use crate::subscriber;

/// The adapter of one namespace in a cluster over Redis, made by
/// [`Cluster::adapter`](crate::Cluster::adapter).
///
/// Operations on this server's sockets go through a [`LocalAdapter`] at once; the other
/// servers are told through Redis, in the format of `@socket.io/redis-adapter` 8.x, so Node
/// servers with that adapter can share the cluster. With connection state recovery on,
/// sessions and the packets clients may miss are kept in Redis, so a client recovers on any
/// Tidings server of the cluster (see the crate's documentation).
#[derive(Debug)]
pub struct RedisAdapter {
    shared: Arc<Shared>,
}

/// What the adapter and its subscription share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) local: LocalAdapter,
    pub(crate) namespace: LocalNamespace,
    /// The namespace's name.
    pub(crate) name: String,
    /// This adapter's id in the cluster.
    pub(crate) uid: String,
    pub(crate) channels: Channels,
    pub(crate) cluster: Arc<ClusterShared>,
    pub(crate) requests: Requests,
    /// The namespace's part in the cluster's record, when recovery is on.
    pub(crate) recording: Option<Recording>,
}

impl RedisAdapter {
    pub(crate) fn new(namespace: LocalNamespace, cluster: Arc<ClusterShared>) -> RedisAdapter {
        let name = namespace.name();
        let uid = new_id();
        let channels = Channels::new(&cluster.prefix, &name, &uid);
        let shared = Arc::new(Shared {
            // The cluster's record gives packets their offsets, not this server's.
            local: LocalAdapter::without_record(namespace.clone()),
            recording: namespace.recovery().map(Recording::new),
            namespace,
            name,
            uid,
            channels: channels.clone(),
            cluster,
            requests: Requests::default(),
        });
        shared
            .cluster
            .subscriber
            .add(subscriber::link(channels, &shared));
        shared.start_sessions();
        RedisAdapter { shared }
    }
}

impl Drop for RedisAdapter {
    fn drop(&mut self) {
        let link = subscriber::link(self.shared.channels.clone(), &self.shared);
        self.shared.cluster.subscriber.remove(link);
    }
}

impl Shared {
    /// Makes this server's sockets that `options` selects join (or leave) `rooms`.
    pub(crate) fn change_rooms(&self, options: &BroadcastOptions, rooms: &[Room], join: bool) {
        let sockets = if join {
            self.local.join_selected(options, rooms)
        } else {
            let sockets = self.local.select(options);
            for socket in &sockets {
                self.local.del(socket.id(), rooms);
            }
            sockets
        };
        self.rooms_changed(sockets.iter().map(tidings::Socket::id));
    }

    pub(crate) fn publish(&self, channel: String, payload: Vec<u8>) {
        self.cluster.publisher.publish(channel, payload);
    }

    pub(crate) fn publish_json(&self, channel: String, message: &serde_json::Value) {
        self.publish(channel, message.to_string().into_bytes());
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.cluster.requests_timeout
    }

    /// How many servers hold this namespace: the subscribers of its request channel, this
    /// one included. 1 when Redis cannot tell.
    pub(crate) async fn server_count(&self) -> usize {
        let mut connection: ConnectionManager = self.cluster.commands.clone();
        let mut command = redis::cmd("PUBSUB");
        command.arg("NUMSUB").arg(&self.channels.request);
        let query = command.query_async::<(String, usize)>(&mut connection);
        match tokio::time::timeout(self.timeout(), query).await {
            Ok(Ok((_, count))) => count.max(1),
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

    /// Sends a request whose answers are gathered into `gather`'s `gathered`, waits for every
    /// other server or the timeout, and hands back what came.
    async fn gather<T: Default>(
        self: &Arc<Self>,
        request: serde_json::Value,
        local: T,
        pending: fn(Gather<T>) -> Pending,
        take: fn(Pending) -> Option<T>,
    ) -> T {
        let others = self.server_count().await - 1;
        let send = |id: &str| {
            let mut request = request;
            request["uid"] = json!(self.uid);
            request["requestId"] = json!(id);
            self.publish_json(self.channels.request.clone(), &request);
        };
        let timeout = self.timeout();
        self.requests
            .gather(others, local, pending, take, timeout, send)
            .await
    }
}

impl Adapter for RedisAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError> {
        self.shared.local.add_all(sid, rooms)?;
        self.shared.rooms_changed([sid]);
        Ok(())
    }

    fn del(&self, sid: Sid, rooms: &[Room]) {
        self.shared.local.del(sid, rooms);
        self.shared.rooms_changed([sid]);
    }

    fn del_all(&self, sid: Sid) {
        self.shared.local.del_all(sid);
        self.shared.untrack(sid);
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.shared.local.socket_rooms(sid)
    }

    fn rooms(&self) -> Vec<Room> {
        self.shared.local.rooms()
    }

    fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions) {
        let shared = &self.shared;
        if let Some(recording) = shared.recording.as_ref().filter(|_| !options.volatile) {
            shared.record_broadcast(recording, packet, options);
            return;
        }
        if !options.local {
            let message = codec::encode_broadcast(
                &shared.uid,
                &shared.name,
                &Event::of(packet),
                options,
                None,
            );
            shared.publish(shared.channels.broadcast_to(&options.rooms), message);
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
        let request = codec::encode_broadcast_request(
            &shared.uid,
            &id,
            &shared.name,
            &Event::of(packet),
            options,
        );
        shared.publish(shared.channels.request.clone(), request);
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
            let request = json!({ "type": kind::REMOTE_FETCH, "opts": codec::opts_json(&options) });
            shared
                .gather(request, local, Pending::Fetch, |pending| match pending {
                    Pending::Fetch(gather) => Some(gather.gathered),
                    _ => None,
                })
                .await
        })
    }

    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.shared.change_rooms(options, rooms, true);
        self.tell(kind::REMOTE_JOIN, options, json!(names(rooms)), "rooms");
    }

    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.shared.change_rooms(options, rooms, false);
        self.tell(kind::REMOTE_LEAVE, options, json!(names(rooms)), "rooms");
    }

    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
        self.shared.local.disconnect_sockets(options, close);
        self.tell(kind::REMOTE_DISCONNECT, options, json!(close), "close");
    }

    fn server_side_emit(&self, packet: &BroadcastPacket, acks: Option<AckCollector>) {
        let shared = self.shared.clone();
        let mut request = json!({
            "uid": shared.uid,
            "type": kind::SERVER_SIDE_EMIT,
            "data": codec::event_json(packet),
        });
        let Some(acks) = acks else {
            shared.publish_json(shared.channels.request.clone(), &request);
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
            request["requestId"] = json!(id);
            shared.publish_json(shared.channels.request.clone(), &request);
            tokio::time::sleep(shared.timeout()).await;
            shared.requests.remove(&id);
        });
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        let shared = self.shared.clone();
        Box::pin(async move { shared.server_count().await })
    }

    fn all_rooms(&self) -> AdapterFuture<Vec<Room>> {
        let shared = self.shared.clone();
        Box::pin(async move {
            let local: HashSet<Room> = shared.local.all_rooms().await.into_iter().collect();
            let request = json!({ "type": kind::ALL_ROOMS });
            let rooms = shared
                .gather(request, local, Pending::Rooms, |pending| match pending {
                    Pending::Rooms(gather) => Some(gather.gathered),
                    _ => None,
                })
                .await;
            rooms.into_iter().collect()
        })
    }

    fn track_session(&self, state: SessionState) {
        self.shared.track(&state);
    }

    fn persist_session(&self, state: SessionState) {
        self.shared.persist(&state);
    }

    fn restore_session(&self, pid: Sid, offset: &str) -> AdapterFuture<Option<SessionState>> {
        let (shared, offset) = (self.shared.clone(), offset.to_owned());
        Box::pin(async move { shared.restore(pid, &offset).await })
    }

    fn missed_packets(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> AdapterFuture<Option<Vec<MissedPacket>>> {
        let (shared, state, offset) = (self.shared.clone(), state.clone(), offset.to_owned());
        Box::pin(async move { shared.missed(&state, &offset).await })
    }
}

impl RedisAdapter {
    /// Tells the other servers to do to their sockets what was just done to this server's
    /// (join, leave or disconnect): `key` holds `value` in the request.
    fn tell(&self, kind: u64, options: &BroadcastOptions, value: serde_json::Value, key: &str) {
        if options.local {
            return;
        }
        let shared = &self.shared;
        let mut request = json!({
            "uid": shared.uid,
            "type": kind,
            "opts": codec::opts_json(options),
        });
        request[key] = value;
        shared.publish_json(shared.channels.request.clone(), &request);
    }
}

fn names(rooms: &[Room]) -> Vec<&str> {
    rooms.iter().map(AsRef::as_ref).collect()
}
