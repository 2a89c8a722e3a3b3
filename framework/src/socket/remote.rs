//! [`RemoteSocket`]: a socket as `fetch_sockets` returns it, on this server or another.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Handshake, Socket};
use crate::adapter::Room;
use crate::namespace::Namespace;
use crate::operators::IntoRooms;
use crate::{EmitError, Sid};

/// A socket found by [`fetch_sockets`](crate::BroadcastOperators::fetch_sockets), possibly
/// on another server of the cluster: what it was when it was fetched, and the operations
/// that reach it wherever it is.
#[derive(Clone, Debug)]
pub struct RemoteSocket {
    id: Sid,
    namespace: Namespace,
    rooms: Vec<Room>,
    handshake: Arc<Handshake>,
    data: Option<serde_json::Value>,
}

impl RemoteSocket {
    /// A socket of this server.
    pub(crate) fn from_local(socket: &Socket) -> RemoteSocket {
        RemoteSocket {
            id: socket.id(),
            namespace: socket.ns().clone(),
            rooms: socket.rooms(),
            handshake: socket.handshake_arc(),
            data: socket.data_json(),
        }
    }

    /// The socket's id.
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The rooms it was in, its own room first.
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// Its handshake.
    pub fn handshake(&self) -> &Handshake {
        &self.handshake
    }

    /// Its data ([`Socket::set_data`]) read as a `T`, if it has data of that shape.
    pub fn data<T: DeserializeOwned>(&self) -> Option<T> {
        serde_json::from_value(self.data.clone()?).ok()
    }

    /// Emits `event` to it.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.namespace.to(self.id).emit(event, data)
    }

    /// Makes it join `rooms`.
    pub fn join(&self, rooms: impl IntoRooms) {
        self.namespace.to(self.id).sockets_join(rooms);
    }

    /// Makes it leave `rooms`.
    pub fn leave(&self, rooms: impl IntoRooms) {
        self.namespace.to(self.id).sockets_leave(rooms);
    }

    /// Disconnects it from its namespace; `close` closes its whole connection.
    pub fn disconnect(&self, close: bool) {
        self.namespace.to(self.id).disconnect_sockets(close);
    }
}
