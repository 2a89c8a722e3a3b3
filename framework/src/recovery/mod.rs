//! Connection state recovery: a client whose connection dropped comes back within a time
//! limit and gets its socket back (its id, rooms and data) and every packet it missed, in
//! order, as Node's `connectionStateRecovery` does and the official client expects.
//!
//! How it travels: the CONNECT reply carries a private session id (`pid`); every event the
//! server sends without an ack and not volatile carries an offset as its last argument. When
//! a socket disconnects for a reason the client recovers from, its adapter keeps its state
//! ([`Adapter::persist_session`]). A client that reconnects sends `pid` and the last offset it
//! saw in its CONNECT auth; the adapter hands the state back ([`Adapter::restore_session`]) and
//! the packets after that offset ([`Adapter::missed_packets`]), which the socket gets before
//! anything newer.
//!
//! [`Adapter::persist_session`]: crate::Adapter::persist_session
//! [`Adapter::restore_session`]: crate::Adapter::restore_session
//! [`Adapter::missed_packets`]: crate::Adapter::missed_packets

mod store;

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tidings_transports::Message;

pub(crate) use self::store::Store;
use crate::adapter::Room;
use crate::socket::DisconnectReason;
use crate::{Payload, Sid};

/// The settings of connection state recovery ([`IoBuilder::recovery`]).
///
/// ```
/// use std::time::Duration;
/// use tidings::{Io, Recovery};
///
/// let io = Io::builder()
///     .recovery(Recovery::default().max_disconnection_duration(Duration::from_secs(60)))
///     .build();
/// # let _ = io;
/// ```
///
/// [`IoBuilder::recovery`]: crate::IoBuilder::recovery
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Recovery {
    pub(crate) max_disconnection_duration: Duration,
    pub(crate) skip_middlewares: bool,
    pub(crate) max_packets: usize,
}

impl Default for Recovery {
    /// Node's defaults: two minutes to come back, middleware skipped for a recovered
    /// socket; and at most 100,000 packets kept per namespace.
    fn default() -> Self {
        Recovery {
            max_disconnection_duration: Duration::from_secs(120),
            skip_middlewares: true,
            max_packets: 100_000,
        }
    }
}

impl Recovery {
    /// How long after its disconnection a socket can still be recovered; packets older than
    /// this are forgotten too.
    pub fn max_disconnection_duration(mut self, duration: Duration) -> Self {
        self.max_disconnection_duration = duration;
        self
    }

    /// Whether a recovered socket skips the namespace's connection middleware (it passed it
    /// when it first connected); true by default.
    pub fn skip_middlewares(mut self, skip: bool) -> Self {
        self.skip_middlewares = skip;
        self
    }

    /// How long after its disconnection a socket can still be recovered.
    pub fn disconnection_limit(&self) -> Duration {
        self.max_disconnection_duration
    }

    /// The most packets kept for clients that may come back.
    pub fn packet_limit(&self) -> usize {
        self.max_packets
    }

    /// The most packets the in-memory adapter keeps per namespace for clients that may come
    /// back (a cluster adapter may keep them elsewhere, in a record of this length); the
    /// oldest go first. A client that missed packets no longer kept is not
    /// recovered: it connects as a new socket, and its connection handler sees
    /// [`Socket::recovered`](crate::Socket::recovered) false.
    pub fn max_packets(mut self, max: usize) -> Self {
        self.max_packets = max.max(1);
        self
    }
}

/// What a disconnected socket leaves for its recovery: its ids, rooms and data.
#[derive(Clone)]
pub struct SessionState {
    pub(crate) sid: Sid,
    pub(crate) pid: Sid,
    pub(crate) rooms: Vec<Room>,
    pub(crate) data: Option<Arc<dyn Any + Send + Sync>>,
    pub(crate) data_json: Option<serde_json::Value>,
}

impl SessionState {
    /// The state of socket `sid` with private session id `pid`, in `rooms` (its own room
    /// included), whose data other servers see as `data_json`: what a cluster adapter reads
    /// back from where it kept a session. The socket's typed data is read from `data_json`
    /// when it is asked for ([`Socket::data`](crate::Socket::data)).
    pub fn new(sid: Sid, pid: Sid, rooms: Vec<Room>, data_json: Option<serde_json::Value>) -> Self {
        SessionState {
            sid,
            pid,
            rooms,
            data: None,
            data_json,
        }
    }

    /// The socket's id, which the recovered socket keeps.
    pub fn sid(&self) -> Sid {
        self.sid
    }

    /// The private session id the client presents to be recovered.
    pub fn pid(&self) -> Sid {
        self.pid
    }

    /// The rooms the socket was in, its own room included.
    pub fn rooms(&self) -> &[Room] {
        &self.rooms
    }

    /// The socket's data, as other servers see it ([`Socket::set_data`]).
    ///
    /// [`Socket::set_data`]: crate::Socket::set_data
    pub fn data_json(&self) -> Option<&serde_json::Value> {
        self.data_json.as_ref()
    }

    /// Whether a packet sent to `rooms` but not to `except` was meant for this socket.
    pub fn selected_by(&self, rooms: &[Room], except: &[Room]) -> bool {
        (rooms.is_empty() || self.rooms.iter().any(|room| rooms.contains(room)))
            && !self.rooms.iter().any(|room| except.contains(room))
    }
}

impl fmt::Debug for SessionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionState")
            .field("sid", &self.sid)
            .field("rooms", &self.rooms)
            .finish_non_exhaustive()
    }
}

/// A packet a socket missed while it was away: its offset and its encoded messages.
#[derive(Clone, Debug)]
pub struct MissedPacket {
    /// The offset it was sent with.
    pub offset: Arc<str>,
    /// The packet, encoded for the namespace.
    pub messages: Vec<Message>,
}

/// What a reconnecting client claims in its CONNECT auth: its private session id, and the
/// offset of the last packet it received.
#[derive(Debug)]
pub(crate) struct Claim {
    pub(crate) pid: Sid,
    pub(crate) offset: String,
}

impl Claim {
    /// The claim in `auth`, if it holds one.
    pub(crate) fn from_auth(auth: Option<&Payload>) -> Option<Claim> {
        #[derive(Deserialize)]
        struct Fields {
            pid: Option<String>,
            offset: Option<String>,
        }
        let fields: Fields = auth?.decode().ok()?;
        Some(Claim {
            pid: fields.pid?.parse().ok()?,
            offset: fields.offset?,
        })
    }
}

/// Whether a client that disconnected for `reason` comes back by itself, so its socket's
/// state is kept: Node's list, and a slow client's disconnection.
pub(crate) fn recoverable(reason: DisconnectReason) -> bool {
    matches!(
        reason,
        DisconnectReason::TransportClose
            | DisconnectReason::TransportError
            | DisconnectReason::PingTimeout
            | DisconnectReason::ForcedClose
            | DisconnectReason::ServerShuttingDown
            | DisconnectReason::SlowClient
    )
}
