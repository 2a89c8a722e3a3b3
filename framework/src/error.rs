//! The errors of the server API, one per operation.

use std::fmt;

use serde::Serialize;

use crate::payload::{DataError, SerializeError};

/// Why an emit did not go out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmitError {
    /// The data could not be serialized; fix its `Serialize` impl or its map keys.
    #[error(transparent)]
    Serialize(#[from] SerializeError),
    /// The socket is disconnected; a reconnecting client gets a new socket.
    #[error("the socket is disconnected")]
    Disconnected,
    /// The event name is one the protocol keeps for itself (`connect`, `disconnect`, …);
    /// choose another.
    #[error("`{0}` is a reserved event name")]
    ReservedEvent(String),
}

/// Why an ack did not come.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AckError {
    /// No ack came within the timeout; the client may still have handled the event.
    #[error("no ack within the timeout")]
    Timeout,
    /// The socket disconnected before it acked.
    #[error("the socket disconnected before it acked")]
    Disconnected,
    /// The event could not be sent.
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// Why a socket did not join rooms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// Joining would put the socket in more than `max` rooms (its own room not counted),
    /// the server's [`IoBuilder::max_rooms_per_socket`](crate::IoBuilder::max_rooms_per_socket);
    /// it joined none of them. Leave rooms it no longer needs first, refuse the request
    /// (tell the client), or raise the limit if the application needs more.
    #[error("the socket would be in more than {max} rooms")]
    TooManyRooms {
        /// The limit.
        max: usize,
    },
}

/// Not every recipient of a broadcast acked within the timeout; `responses` holds the acks
/// that came.
#[derive(Debug, thiserror::Error)]
#[error("{missing} of the broadcast's recipients did not ack within the timeout")]
pub struct BroadcastAckError {
    /// The acks that came, in the order they came.
    pub responses: Vec<crate::Payload>,
    /// How many recipients did not ack.
    pub missing: usize,
}

/// The refusal of a connection to a namespace, which the client receives as a
/// `connect_error` with `err.message` and `err.data`.
///
/// ```
/// use tidings::ConnectError;
///
/// let error = ConnectError::new("not authorized").with_data(&serde_json::json!({"retry": false}));
/// assert_eq!(error.message(), "not authorized");
/// ```
#[derive(Clone, PartialEq)]
pub struct ConnectError {
    message: String,
    data: Option<serde_json::Value>,
}

impl ConnectError {
    /// A refusal with `message`.
    pub fn new(message: impl Into<String>) -> ConnectError {
        ConnectError {
            message: message.into(),
            data: None,
        }
    }

    /// Adds `data` (`err.data` on the client). Data that cannot be serialized is left out.
    pub fn with_data<T: Serialize + ?Sized>(mut self, data: &T) -> ConnectError {
        self.data = serde_json::to_value(data).ok();
        self
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The data, if any.
    pub fn data(&self) -> Option<&serde_json::Value> {
        self.data.as_ref()
    }
}

impl fmt::Debug for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectError")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ConnectError {}

impl From<DataError> for ConnectError {
    fn from(error: DataError) -> Self {
        ConnectError::new(error.to_string())
    }
}
