//! [`LocalAdapter`]: rooms and broadcasts within this process, the reference behaviour.

use std::collections::{HashMap, HashSet};
use std::sync::RwLock;

use super::{AckCollector, Adapter, AdapterFuture, BroadcastOptions, BroadcastPacket, Room};
use crate::Sid;
use crate::namespace::LocalNamespace;
use crate::socket::{RemoteSocket, Socket};

/// The in-memory adapter: every namespace's default.
///
/// A socket's own room (its id) is not stored: a room named like the id of a connected
/// socket of the namespace holds that socket, which saves memory for every socket.
#[derive(Debug)]
pub struct LocalAdapter {
    namespace: LocalNamespace,
    rooms: RwLock<Rooms>,
}

#[derive(Debug, Default)]
struct Rooms {
    /// The members of each room.
    members: HashMap<Room, HashSet<Sid>>,
    /// The rooms of each socket in a room.
    joined: HashMap<Sid, HashSet<Room>>,
}

impl LocalAdapter {
    /// The adapter of `namespace`.
    pub fn new(namespace: LocalNamespace) -> LocalAdapter {
        LocalAdapter {
            namespace,
            rooms: RwLock::default(),
        }
    }

    fn rooms(&self) -> std::sync::RwLockReadGuard<'_, Rooms> {
        crate::sync::read(&self.rooms)
    }

    fn rooms_mut(&self) -> std::sync::RwLockWriteGuard<'_, Rooms> {
        crate::sync::write(&self.rooms)
    }

    /// The sockets of this server that `options` selects.
    pub fn select(&self, options: &BroadcastOptions) -> Vec<Socket> {
        let rooms = self.rooms();
        let members = |room: &Room, into: &mut HashSet<Sid>| {
            if let Some(members) = rooms.members.get(room) {
                into.extend(members.iter().copied());
            }
            if let Ok(sid) = room.parse::<Sid>() {
                if self.namespace.socket(sid).is_some() {
                    into.insert(sid);
                }
            }
        };
        let mut excluded = HashSet::new();
        for room in &options.except {
            members(room, &mut excluded);
        }
        if options.rooms.is_empty() {
            drop(rooms);
            let mut sockets = self.namespace.sockets();
            sockets.retain(|socket| !excluded.contains(&socket.id()));
            return sockets;
        }
        let mut included = HashSet::new();
        for room in &options.rooms {
            members(room, &mut included);
        }
        drop(rooms);
        included
            .into_iter()
            .filter(|sid| !excluded.contains(sid))
            .filter_map(|sid| self.namespace.socket(sid))
            .collect()
    }
}

impl Adapter for LocalAdapter {
    fn add_all(&self, sid: Sid, rooms: &[Room]) {
        let mut state = self.rooms_mut();
        for room in rooms {
            if room.as_ref() == sid.as_str() {
                continue;
            }
            state.members.entry(room.clone()).or_default().insert(sid);
            state.joined.entry(sid).or_default().insert(room.clone());
        }
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
        let messages = self.namespace.encode_event(packet);
        for socket in self.select(options) {
            socket.deliver(&messages, options.volatile);
        }
    }

    fn broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        acks: AckCollector,
    ) {
        let mut sent = 0;
        for socket in self.select(options) {
            if socket.deliver_with_ack(packet, acks.recipient(), options.volatile) {
                sent += 1;
            }
        }
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
        for socket in self.select(options) {
            self.add_all(socket.id(), rooms);
        }
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
}
