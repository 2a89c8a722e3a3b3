//! [`RemoteSocket`]: a socket as `fetch_sockets` returns it, on this server or another.

use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Handshake, Socket};
use crate::adapter::Room;
use crate::namespace::{LocalNamespace, Namespace};
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
    /// A socket of another server of the cluster, as its adapter learnt it: its id, its
    /// rooms (its own room first), its handshake and its data (as JSON); `None` when
    /// `namespace` is gone.
    ///
    /// Its [`emit`](Self::emit), [`join`](Self::join), [`leave`](Self::leave) and
    /// [`disconnect`](Self::disconnect) go through the namespace's adapter to the socket's
    /// own room, as for a socket of this server, and so reach it on its server.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    ///
    /// use serde_json::json;
    /// use tidings::{Handshake, Io, LocalAdapter, LocalNamespace, RemoteSocket, Socket};
    ///
    /// // An adapter gets its namespace's handle from the factory.
    /// let handle = Arc::new(Mutex::new(None));
    /// let io = Io::builder()
    ///     .adapter({
    ///         let handle = handle.clone();
    ///         move |namespace: LocalNamespace| {
    ///             *handle.lock().unwrap() = Some(namespace.clone());
    ///             LocalAdapter::new(namespace)
    ///         }
    ///     })
    ///     .build();
    /// io.ns("/", |_: Socket| {});
    /// let namespace = handle.lock().unwrap().clone().unwrap();
    ///
    /// // A socket another server described, as Node's Redis adapter does.
    /// let handshake: Handshake = serde_json::from_value(json!({"auth": {"token": "t"}})).unwrap();
    /// let id = "OwHHeU8o2UgPnZReAAAB".parse().unwrap();
    /// let rooms = vec!["OwHHeU8o2UgPnZReAAAB".into(), "room1".into()];
    /// let data = Some(json!({"user": "B-user", "n": 1}));
    /// let socket = RemoteSocket::new(&namespace, id, rooms, handshake, data).unwrap();
    /// assert_eq!(socket.id().as_str(), "OwHHeU8o2UgPnZReAAAB");
    /// assert_eq!(socket.data_json(), Some(&json!({"user": "B-user", "n": 1})));
    /// socket.emit("hello", "world").unwrap(); // to its room, through the adapter
    /// ```
    pub fn new(
        namespace: &LocalNamespace,
        id: Sid,
        rooms: Vec<Room>,
        handshake: Handshake,
        data: Option<serde_json::Value>,
    ) -> Option<RemoteSocket> {
        Some(RemoteSocket {
            id,
            namespace: namespace.upgrade()?,
            rooms,
            handshake: Arc::new(handshake),
            data,
        })
    }

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

    /// Its data ([`Socket::set_data`]) as JSON, as other servers see it; `None` when it has
    /// none.
    pub fn data_json(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }

    /// Emits `event` to it.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        self.namespace.to(self.id).emit(event, data)
    }

    /// Makes it join `rooms`; on its server, a socket that would be in more rooms than
    /// [`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket) allows
    /// joins none of them, with a warning in that server's log.
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::adapter::{
        AckCollector, Adapter, AdapterFuture, BroadcastOptions, BroadcastPacket, LocalAdapter,
    };
    use crate::{Io, LocalNamespace, Parser};

    /// What the adapter was asked to do: the operation, its target rooms, and the event
    /// or the rooms it named.
    type Call = (&'static str, Vec<Room>, String);

    /// The in-memory adapter, recording the operations that reach sockets by room.
    struct Recording(LocalAdapter, Arc<Mutex<Vec<Call>>>);

    impl Recording {
        fn record(&self, op: &'static str, options: &BroadcastOptions, what: String) {
            let mut calls = self
                .1
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            calls.push((op, options.rooms.clone(), what));
        }
    }

    impl Adapter for Recording {
        fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), crate::JoinError> {
            self.0.add_all(sid, rooms)
        }
        fn del(&self, sid: Sid, rooms: &[Room]) {
            self.0.del(sid, rooms);
        }
        fn del_all(&self, sid: Sid) {
            self.0.del_all(sid);
        }
        fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
            self.0.socket_rooms(sid)
        }
        fn rooms(&self) -> Vec<Room> {
            self.0.rooms()
        }
        fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions) {
            self.record("broadcast", options, packet.event.clone());
        }
        fn broadcast_with_ack(
            &self,
            packet: &BroadcastPacket,
            options: &BroadcastOptions,
            acks: AckCollector,
        ) {
            self.0.broadcast_with_ack(packet, options, acks);
        }
        fn sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<Sid>> {
            self.0.sockets(options)
        }
        fn fetch_sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
            self.0.fetch_sockets(options)
        }
        fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
            self.record("join", options, rooms.join(","));
        }
        fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
            self.record("leave", options, rooms.join(","));
        }
        fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
            self.record("disconnect", options, close.to_string());
        }
        fn server_side_emit(&self, packet: &BroadcastPacket, acks: Option<AckCollector>) {
            self.0.server_side_emit(packet, acks);
        }
        fn server_count(&self) -> AdapterFuture<usize> {
            self.0.server_count()
        }
    }

    #[test]
    fn reaches_a_socket_of_another_server_through_the_adapter() {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let handle = Arc::new(Mutex::new(None::<LocalNamespace>));
        let io = Io::builder()
            .parser(Parser::MsgPack)
            .adapter({
                let (calls, handle) = (calls.clone(), handle.clone());
                move |namespace: LocalNamespace| {
                    *handle.lock().expect("not poisoned") = Some(namespace.clone());
                    Recording(LocalAdapter::new(namespace), calls.clone())
                }
            })
            .build();
        io.ns("/", |_: Socket| {});
        let namespace = handle.lock().expect("not poisoned").clone().expect("built");
        assert_eq!(namespace.parser(), Parser::MsgPack);

        let id = Sid::new();
        let own: Room = id.as_str().into();
        let handshake: Handshake =
            serde_json::from_value(json!({"url": "/socket.io/?EIO=4"})).expect("a handshake");
        let data = json!({"user": "b"});
        let socket = RemoteSocket::new(
            &namespace,
            id,
            vec![own.clone(), "r1".into()],
            handshake,
            Some(data.clone()),
        )
        .expect("the namespace exists");
        assert_eq!(
            (socket.id(), socket.rooms()),
            (id, &[own.clone(), "r1".into()][..])
        );
        assert_eq!(socket.handshake().query_param("EIO").as_deref(), Some("4"));
        assert_eq!(socket.data_json(), Some(&data));
        assert_eq!(socket.data::<serde_json::Value>(), Some(data));

        socket.emit("ev", &1).expect("emits");
        socket.join("a");
        socket.leave(["b", "c"]);
        socket.disconnect(true);
        let expected: [Call; 4] = [
            ("broadcast", vec![own.clone()], "ev".into()),
            ("join", vec![own.clone()], "a".into()),
            ("leave", vec![own.clone()], "b,c".into()),
            ("disconnect", vec![own], "true".into()),
        ];
        assert_eq!(*calls.lock().expect("not poisoned"), expected);

        drop((socket, io));
        assert_eq!(namespace.parser(), Parser::Json);
        let handshake: Handshake = serde_json::from_value(json!(null)).expect("a handshake");
        assert!(RemoteSocket::new(&namespace, id, Vec::new(), handshake, None).is_none());
    }
}
