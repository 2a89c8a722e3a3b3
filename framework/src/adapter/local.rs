//! [`LocalAdapter`]: rooms and broadcasts within this process, the reference behaviour.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use tidings_transports::Message;

use super::{AckCollector, Adapter, AdapterFuture, BroadcastOptions, BroadcastPacket, Room};
use crate::metrics::Fanout;
use crate::namespace::LocalNamespace;
use crate::recovery::{MissedPacket, SessionState, Store};
use crate::sid_map::{SidMap, SidSet};
use crate::socket::{RemoteSocket, Socket};
use crate::{JoinError, Sid};

/// The in-memory adapter: every namespace's default.
///
/// A socket's own room (its id) is not stored: a room named like the id of a connected
/// socket of the namespace holds that socket, which saves memory for every socket.
///
/// With connection state recovery on, it keeps the packets it sends and the sessions of
/// disconnected sockets in memory, within the limits of [`Recovery`](crate::Recovery); a
/// broadcast then holds the record's lock while it sends, so every socket gets packets in
/// the order of their offsets.
#[derive(Debug)]
pub struct LocalAdapter {
    namespace: LocalNamespace,
    rooms: RwLock<Rooms>,
    recovery: Option<Store>,
    /// The most rooms a socket may be in, its own not counted.
    max_rooms: usize,
}

#[derive(Debug, Default)]
struct Rooms {
    /// The members of each room.
    members: HashMap<Room, SidSet>,
    /// The rooms of each socket in a room.
    joined: SidMap<HashSet<Room>>,
}

impl LocalAdapter {
    /// The adapter of `namespace`.
    pub fn new(namespace: LocalNamespace) -> LocalAdapter {
        LocalAdapter {
            recovery: namespace.recovery().map(Store::new),
            max_rooms: namespace.max_rooms_per_socket(),
            namespace,
            rooms: RwLock::default(),
        }
    }

    /// The adapter of `namespace`, keeping no record for connection state recovery: for a
    /// cluster adapter that keeps the record elsewhere, gives packets their offsets, and
    /// delivers them with [`broadcast_at`](Self::broadcast_at).
    pub fn without_record(namespace: LocalNamespace) -> LocalAdapter {
        LocalAdapter {
            recovery: None,
            max_rooms: namespace.max_rooms_per_socket(),
            namespace,
            rooms: RwLock::default(),
        }
    }

    /// Sends `packet` to this server's sockets that `options` selects, with `offset` added as
    /// its last argument: the offset a cluster-wide record gave it.
    pub fn broadcast_at(&self, packet: &BroadcastPacket, options: &BroadcastOptions, offset: &str) {
        let messages = self.namespace.encode_event(&packet.with_offset(offset));
        let offset: Arc<str> = offset.into();
        self.deliver(options, &messages, false, Some(&offset));
    }

    /// Hands the encoded messages of a broadcast to every selected socket, and records the
    /// broadcast once.
    fn deliver(
        &self,
        options: &BroadcastOptions,
        messages: &[Message],
        volatile: bool,
        offset: Option<&Arc<str>>,
    ) {
        let mut fanout = Fanout::default();
        self.for_each_selected(options, |socket| {
            socket.deliver(messages, volatile, offset, &mut fanout)
        });
        self.namespace.broadcasted(fanout);
    }

    fn rooms(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        crate::sync::read(&self.rooms)
    }

    fn rooms_mut(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        crate::sync::write(&self.rooms)
    }

    /// The sockets of this server that `options` selects.
    pub fn select(&self, options: &BroadcastOptions) -> Vec<Socket> {
        let mut selected = Vec::new();
        self.for_each_selected(options, |socket| selected.push(socket.clone()));
        selected
    }

    /// Makes this server's sockets that `options` selects join `rooms`, and hands them back.
    /// A socket that would be in too many rooms joins none of them; a warning in the log
    /// says so.
    pub fn join_selected(&self, options: &BroadcastOptions, rooms: &[Room]) -> Vec<Socket> {
        let sockets = self.select(options);
        for socket in &sockets {
            if let Err(error) = self.add_all(socket.id(), rooms) {
                tracing::warn!(
                    socket = %socket.id(),
                    namespace = socket.namespace(),
                    "not joining {} room(s): {error}",
                    rooms.len()
                );
            }
        }
        sockets
    }

    /// Calls `f` once for each socket of this server that `options` selects, under the
    /// adapter's and the namespace's read locks: no list is built and no handle cloned, which
    /// is most of a large broadcast's cost besides the sending itself. `f` must not join,
    /// leave or disconnect sockets.
    fn for_each_selected(&self, options: &BroadcastOptions, mut f: impl FnMut(&Socket)) {
        let rooms = self.rooms();
        self.namespace.with_sockets(|sockets| {
            // A room named like a connected socket's id holds that socket.
            let own = |room: &Room| {
                room.parse::<Sid>()
                    .ok()
                    .filter(|sid| sockets.contains_key(sid))
            };
            let members = |room: &Room| {
                let joined = rooms.members.get(room).into_iter().flatten().copied();
                joined.chain(own(room))
            };
            let excluded: SidSet = options.except.iter().flat_map(members).collect();
            let kept = |sid: &Sid| excluded.is_empty() || !excluded.contains(sid);
            match options.rooms.as_slice() {
                [] => sockets
                    .iter()
                    .filter(|(sid, _)| kept(sid))
                    .for_each(|(_, socket)| f(socket)),
                // One room: its members are distinct, unless its name is also a member's id.
                [room] if own(room).is_none() => members(room)
                    .filter(kept)
                    .filter_map(|sid| sockets.get(&sid))
                    .for_each(&mut f),
                several => {
                    let mut seen = SidSet::default();
                    several
                        .iter()
                        .flat_map(members)
                        .filter(|sid| kept(sid) && seen.insert(*sid))
                        .filter_map(|sid| sockets.get(&sid))
                        .for_each(&mut f);
                }
            }
        });
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError> {
        let mut state = self.rooms_mut();
        let new: HashSet<&Room> = {
            let joined = state.joined.get(&sid);
            rooms
                .iter()
                .filter(|room| room.as_ref() != sid.as_str())
                .filter(|room| !joined.is_some_and(|joined| joined.contains(*room)))
                .collect()
        };
        let count = state.joined.get(&sid).map_or(0, HashSet::len);
        if count.saturating_add(new.len()) > self.max_rooms {
            return Err(JoinError::TooManyRooms {
                max: self.max_rooms,
            });
        }
        for room in new {
            state.members.entry(room.clone()).or_default().insert(sid);
            state.joined.entry(sid).or_default().insert(room.clone());
        }
        Ok(())
    }

    fn del(&self, sid: Sid, rooms: &[Room]) {
        let mut state = self.rooms_mut();
        for room in rooms {
            if let Some(members) = state.members.get_mut(room) {
                members.remove(&sid);
                if members.is_empty() {
                    state.members.remove(room);
                }
            }
            if let Some(joined) = state.joined.get_mut(&sid) {
                joined.remove(room);
                if joined.is_empty() {
                    state.joined.remove(&sid);
                }
            }
        }
    }

    fn del_all(&self, sid: Sid) {
        let mut state = self.rooms_mut();
        for room in state.joined.remove(&sid).unwrap_or_default() {
            if let Some(members) = state.members.get_mut(&room) {
                members.remove(&sid);
                if members.is_empty() {
                    state.members.remove(&room);
                }
            }
        }
    }

    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        let mut rooms = vec![Room::from(sid.as_str())];
        if let Some(joined) = self.rooms().joined.get(&sid) {
            rooms.extend(joined.iter().cloned());
        }
        rooms
    }

    fn rooms(&self) -> Vec<Room> {
        LocalAdapter::rooms(self).members.keys().cloned().collect()
    }

    fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions) {
        if let Some(store) = self.recovery.as_ref().filter(|_| !options.volatile) {
            let mut logging = store.lock();
            let (offset, messages) = logging.log(options, |offset| {
                self.namespace.encode_event(&packet.with_offset(offset))
            });
            self.deliver(options, &messages, false, Some(&offset));
            return;
        }
        let messages = self.namespace.encode_event(packet);
        self.deliver(options, &messages, options.volatile, None);
    }

    fn broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        acks: AckCollector,
    ) {
        let mut sent = 0;
        self.for_each_selected(options, |socket| {
            if socket.deliver_with_ack(packet, acks.recipient(), options.volatile) {
                sent += 1;
            }
        });
        acks.expect(sent);
    }

    fn sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<Sid>> {
        let ids = self.select(options).iter().map(Socket::id).collect();
        Box::pin(std::future::ready(ids))
    }

    fn fetch_sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        let sockets = self
            .select(options)
            .iter()
            .map(RemoteSocket::from_local)
            .collect();
        Box::pin(std::future::ready(sockets))
    }

    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.join_selected(options, rooms);
    }

    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        for socket in self.select(options) {
            self.del(socket.id(), rooms);
        }
    }

    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
        for socket in self.select(options) {
            if close {
                socket.close();
            } else {
                socket.disconnect();
            }
        }
    }

    fn server_side_emit(&self, _packet: &BroadcastPacket, acks: Option<AckCollector>) {
        if let Some(acks) = acks {
            acks.expect(0);
        }
    }

    fn server_count(&self) -> AdapterFuture<usize> {
        Box::pin(std::future::ready(1))
    }

    fn all_rooms(&self) -> AdapterFuture<Vec<Room>> {
        let mut rooms = Adapter::rooms(self);
        self.namespace.with_sockets(|sockets| {
            rooms.extend(sockets.keys().map(|sid| Room::from(sid.as_str())));
        });
        Box::pin(std::future::ready(rooms))
    }

    fn persist_session(&self, state: SessionState) {
        if let Some(store) = &self.recovery {
            store.persist(state);
        }
    }

    fn restore_session(&self, pid: Sid, offset: &str) -> AdapterFuture<Option<SessionState>> {
        let state = self
            .recovery
            .as_ref()
            .and_then(|store| store.restore(pid, offset));
        Box::pin(std::future::ready(state))
    }

    fn missed_packets(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> AdapterFuture<Option<Vec<MissedPacket>>> {
        let missed = self
            .recovery
            .as_ref()
            .and_then(|store| store.missed(state, offset));
        Box::pin(std::future::ready(missed))
    }
}
