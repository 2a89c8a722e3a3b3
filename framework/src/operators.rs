//! [`BroadcastOperators`]: which sockets an emit or an operation reaches.

use std::time::Duration;

use serde::Serialize;

use crate::adapter::{BroadcastAcks, BroadcastOptions, BroadcastPacket, Room};
use crate::namespace::Namespace;
use crate::parser::RESERVED_EVENTS;
use crate::socket::RemoteSocket;
use crate::{EmitError, Payload, Sid};

/// One room or several: `"room"`, `String`, a socket's [`Sid`], or a `Vec` or array of them.
pub trait IntoRooms {
    /// The rooms.
    fn into_rooms(self) -> Vec<Room>;
}

impl IntoRooms for &str {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self)]
    }
}

impl IntoRooms for &String {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl IntoRooms for Room {
    fn into_rooms(self) -> Vec<Room> {
        vec![self]
    }
}

impl IntoRooms for Sid {
    fn into_rooms(self) -> Vec<Room> {
        vec![Room::from(self.as_str())]
    }
}

impl<T: IntoRooms> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().flat_map(IntoRooms::into_rooms).collect()
    }
}

impl<T: IntoRooms + Clone> IntoRooms for &[T] {
    fn into_rooms(self) -> Vec<Room> {
        self.iter()
            .cloned()
            .flat_map(IntoRooms::into_rooms)
            .collect()
    }
}

/// Selects sockets of a namespace, then emits to them or acts on them, through the
/// namespace's adapter (so across the cluster with a cluster adapter).
///
/// Built from [`Namespace`], [`Io`](crate::Io) or [`Socket`](crate::Socket); each call
/// narrows the selection:
///
/// ```
/// # fn f(io: tidings::Io) -> Result<(), tidings::EmitError> {
/// io.to("lobby").except(["muted", "away"]).volatile().emit("tick", &42)?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "operators do nothing until an emit or an operation"]
pub struct BroadcastOperators {
    namespace: Namespace,
    options: BroadcastOptions,
    timeout: Option<Duration>,
}

impl BroadcastOperators {
    pub(crate) fn new(namespace: Namespace) -> Self {
        BroadcastOperators {
            namespace,
            options: BroadcastOptions::default(),
            timeout: None,
        }
    }

    /// Only the sockets in `rooms` (in any of them, when called several times).
    pub fn to(mut self, rooms: impl IntoRooms) -> Self {
        self.options.rooms.extend(rooms.into_rooms());
        self
    }

    /// Same as [`to`](Self::to).
    pub fn within(self, rooms: impl IntoRooms) -> Self {
        self.to(rooms)
    }

    /// Leaves out the sockets in `rooms`.
    pub fn except(mut self, rooms: impl IntoRooms) -> Self {
        self.options.except.extend(rooms.into_rooms());
        self
    }

    /// Only the sockets of this server, not the rest of the cluster.
    pub fn local(mut self) -> Self {
        self.options.local = true;
        self
    }

    /// Skips the sockets whose connection still has packets waiting to be sent (a slow
    /// client, a long-polling client between two requests that was already sent
    /// something), rather than queueing the packet behind them.
    pub fn volatile(mut self) -> Self {
        self.options.volatile = true;
        self
    }

    /// How long [`emit_with_ack`](Self::emit_with_ack) waits for acks; the server's ack
    /// timeout by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    fn packet<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastPacket, EmitError> {
        if RESERVED_EVENTS.contains(&event) {
            return Err(EmitError::ReservedEvent(event.to_owned()));
        }
        Ok(BroadcastPacket {
            event: event.to_owned(),
            args: Payload::encode(self.namespace.parser(), data)?,
        })
    }

    /// Emits `event` to every selected socket. The packet is encoded once, whatever the
    /// number of recipients.
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit<T: Serialize + ?Sized>(&self, event: &str, data: &T) -> Result<(), EmitError> {
        let packet = self.packet(event, data)?;
        self.namespace.adapter().broadcast(&packet, &self.options);
        Ok(())
    }

    /// Emits `event` to every selected socket and collects their acks: the future resolves
    /// with all of them, or fails at the timeout with those that came.
    ///
    /// ```no_run
    /// # async fn f(io: tidings::Io) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    ///
    /// let acks = io.timeout(Duration::from_secs(1)).emit_with_ack("ping", &())?.await?;
    /// println!("{} sockets answered", acks.len());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`EmitError`] when `data` cannot be serialized or the event name is reserved.
    pub fn emit_with_ack<T: Serialize + ?Sized>(
        &self,
        event: &str,
        data: &T,
    ) -> Result<BroadcastAcks, EmitError> {
        let packet = self.packet(event, data)?;
        let timeout = self.timeout.unwrap_or_else(|| self.namespace.ack_timeout());
        let (collector, collected) = BroadcastAcks::new(timeout);
        self.namespace
            .adapter()
            .broadcast_with_ack(&packet, &self.options, collector);
        Ok(collected)
    }

    /// The ids of the selected sockets.
    pub async fn sockets(&self) -> Vec<Sid> {
        self.namespace.adapter().sockets(&self.options).await
    }

    /// The selected sockets, with their handshake, rooms and data.
    pub async fn fetch_sockets(&self) -> Vec<RemoteSocket> {
        self.namespace.adapter().fetch_sockets(&self.options).await
    }

    /// Makes the selected sockets join `rooms`. A socket that would be in more rooms than
    /// [`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket) allows
    /// joins none of them, with a warning in the log of its server; the others join.
    pub fn sockets_join(&self, rooms: impl IntoRooms) {
        self.namespace
            .adapter()
            .add_sockets(&self.options, &rooms.into_rooms());
    }

    /// Makes the selected sockets leave `rooms`.
    pub fn sockets_leave(&self, rooms: impl IntoRooms) {
        self.namespace
            .adapter()
            .del_sockets(&self.options, &rooms.into_rooms());
    }

    /// Disconnects the selected sockets; `close` closes their whole connections.
    pub fn disconnect_sockets(&self, close: bool) {
        self.namespace
            .adapter()
            .disconnect_sockets(&self.options, close);
    }
}
