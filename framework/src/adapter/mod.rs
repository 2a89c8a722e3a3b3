//! The [`Adapter`] trait: rooms, and everything that reaches sockets by room, for one
//! namespace.
//!
//! The server does every multi-socket operation through its namespace's adapter: joining
//! and leaving rooms, broadcasts (with or without acks), `fetch_sockets`, `sockets_join`,
//! `sockets_leave`, `disconnect_sockets` and `server_side_emit`. The [`LocalAdapter`] does them
//! within this process and is the reference behaviour; a cluster adapter wraps it and adds
//! the other servers, and user code does not change.

mod acks;
mod local;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use self::acks::{AckCollector, AckReceiver, AckRecipient, BroadcastAcks};
pub use self::local::LocalAdapter;
use crate::namespace::LocalNamespace;
use crate::recovery::{MissedPacket, SessionState};
use crate::socket::RemoteSocket;
use crate::{JoinError, Payload, Sid};

/// A room's name. Every socket is also in the room named after its id.
pub type Room = Arc<str>;

/// A boxed future, as adapter methods that may talk to other servers return.
pub type AdapterFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Which sockets an operation reaches, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct BroadcastOptions {
    /// The sockets in any of these rooms; every socket of the namespace when empty.
    pub rooms: Vec<Room>,
    /// Leaves out the sockets in any of these rooms.
    pub except: Vec<Room>,
    /// This server only, not the rest of the cluster.
    pub local: bool,
    /// Skips the sockets that are not ready to send at once, rather than queueing.
    pub volatile: bool,
}

/// An event to broadcast: its name and its arguments, encoded once.
#[derive(Clone, Debug)]
pub struct BroadcastPacket {
    /// The event's name.
    pub event: String,
    /// The arguments.
    pub args: Payload,
}

impl BroadcastPacket {
    /// The packet with `offset` added as its last argument, where a client with connection
    /// state recovery looks for the offset of the last packet it received.
    pub fn with_offset(&self, offset: &str) -> BroadcastPacket {
        BroadcastPacket {
            event: self.event.clone(),
            args: self.args.with_string(offset),
        }
    }
}

/// Rooms, broadcasts and cluster-wide operations for one namespace.
///
/// The server creates one per namespace with the factory given to
/// [`IoBuilder::adapter`](crate::IoBuilder::adapter), which receives the namespace's
/// [`LocalNamespace`] handle. Methods that only concern this server are synchronous; those
/// that may need answers from other servers return futures.
pub trait Adapter: Send + Sync + 'static {
    /// Adds socket `sid` to `rooms`, or to none of them when that would put it in more
    /// rooms than [`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket)
    /// allows ([`LocalAdapter`] checks it: an adapter that wraps it only passes its answer
    /// on, and changes nothing of its own when it is an error).
    ///
    /// # Errors
    /// [`JoinError::TooManyRooms`] at the limit; nothing was joined.
    fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError>;

    /// Removes socket `sid` from `rooms`.
    fn del(&self, sid: Sid, rooms: &[Room]);

    /// Removes socket `sid` from every room; it is disconnecting.
    fn del_all(&self, sid: Sid);

    /// The rooms socket `sid` of this server is in, its own room first.
    fn socket_rooms(&self, sid: Sid) -> Vec<Room>;

    /// The rooms with sockets of this server in them (sockets' own rooms left out).
    fn rooms(&self) -> Vec<Room>;

    /// Sends `packet` to the sockets `options` selects.
    fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions);

    /// Sends `packet` to the sockets `options` selects, asking each for an ack: tell
    /// `acks` how many sockets were sent the packet, and drop it when every server has told.
    fn broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        acks: AckCollector,
    );

    /// The ids of the sockets `options` selects.
    fn sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<Sid>>;

    /// The sockets `options` selects, with their handshake, rooms and data.
    fn fetch_sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>>;

    /// Makes the sockets `options` selects join `rooms`. A socket that would be in too many
    /// rooms joins none of them, with a warning in the log
    /// ([`LocalAdapter::join_selected`] does it for this server's sockets).
    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]);

    /// Makes the sockets `options` selects leave `rooms`.
    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]);

    /// Disconnects the sockets `options` selects; `close` closes their whole connections.
    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool);

    /// Sends an event to the same namespace on the other servers of the cluster, whose
    /// [`on_server_side_emit`](crate::Namespace::on_server_side_emit) handlers receive it;
    /// their answers go to `acks`, like [`broadcast_with_ack`](Self::broadcast_with_ack)'s.
    /// A single server has no one to send to.
    fn server_side_emit(&self, packet: &BroadcastPacket, acks: Option<AckCollector>);

    /// How many servers share this namespace (1 for a single server).
    fn server_count(&self) -> AdapterFuture<usize>;

    /// The rooms with sockets in them on any server of the cluster, each once, the sockets'
    /// own rooms (their ids) included, as Node's `adapter.allRooms()` counts them. The
    /// default is [`rooms`](Self::rooms), this server's joined rooms.
    fn all_rooms(&self) -> AdapterFuture<Vec<Room>> {
        Box::pin(std::future::ready(self.rooms()))
    }

    /// Keeps the state of a socket that disconnected, for connection state recovery
    /// ([`IoBuilder::recovery`](crate::IoBuilder::recovery)). An adapter that keeps
    /// nothing (the default) recovers no socket.
    ///
    /// With recovery on, the adapter also gives every packet it broadcasts without an ack
    /// and not volatile an offset, as [`BroadcastPacket::with_offset`] adds it, and keeps
    /// it for [`missed_packets`](Self::missed_packets).
    fn persist_session(&self, state: SessionState) {
        let _ = state;
    }

    /// The state of a connected socket, when it has connected and whenever its data
    /// changes, with connection state recovery on: for an adapter that keeps sessions where
    /// they outlive this server, so that a client whose server died is recovered elsewhere.
    /// The socket's rooms are the adapter's own to follow, through
    /// [`add_all`](Self::add_all), [`del`](Self::del) and the rest; when the socket
    /// disconnects, [`persist_session`](Self::persist_session) (if its client comes back by
    /// itself) then [`del_all`](Self::del_all) are called. The default does nothing.
    fn track_session(&self, state: SessionState) {
        let _ = state;
    }

    /// Takes back the state kept for private session id `pid`, if it has not expired and
    /// the packets after `offset` are all still kept.
    fn restore_session(&self, pid: Sid, offset: &str) -> AdapterFuture<Option<SessionState>> {
        let _ = (pid, offset);
        Box::pin(std::future::ready(None))
    }

    /// The packets after `offset` that were meant for `state`'s socket, oldest first;
    /// `None` when some of them are no longer kept. The recovered socket is back in its
    /// rooms when this is called: packets it is also sent directly are told apart by their
    /// offsets.
    fn missed_packets(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> AdapterFuture<Option<Vec<MissedPacket>>> {
        let _ = (state, offset);
        Box::pin(std::future::ready(None))
    }
}

/// Builds a namespace's adapter.
pub(crate) type AdapterFactory = Arc<dyn Fn(LocalNamespace) -> Arc<dyn Adapter> + Send + Sync>;
