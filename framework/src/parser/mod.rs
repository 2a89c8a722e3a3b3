//! Socket.IO packet parsers: how packets become Engine.IO messages and back.
//!
//! [`json`] is the default parser of every Socket.IO client; [`msgpack`] is the one of the npm
//! package `socket.io-msgpack-parser`. A server uses one of them for every client.

pub mod json;
pub mod msgpack;
mod wire;

pub(crate) use self::wire::{ClientDecoder, Incoming};

/// The parser a server speaks; every client must use the same one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Parser {
    /// JSON with binary attachments: the default of every Socket.IO client.
    #[default]
    Json,
    /// MessagePack, as the npm package `socket.io-msgpack-parser` speaks it (the client must
    /// be created with `parser: require("socket.io-msgpack-parser")`).
    MsgPack,
}

/// The largest ack id: the largest integer a JavaScript number holds exactly.
pub const MAX_ACK_ID: u64 = (1 << 53) - 1;

/// Event names the protocol keeps for itself; a client may not send them.
pub(crate) const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// What a packet does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client), or accept the connection (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2` (`5` with attachments): an event.
    Event,
    /// `3` (`6` with attachments): the answer to an event that asked for one.
    Ack,
    /// `4`: the server refused the connection to a namespace.
    ConnectError,
}

/// Why a client's packet was refused; the client is then disconnected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The packet was empty.
    #[error("empty packet")]
    Empty,
    /// The packet type was not `0` to `6`.
    #[error("unknown packet type")]
    UnknownType,
    /// A binary packet's attachment count was missing or not a number followed by `-`.
    #[error("malformed attachment count")]
    BadAttachmentCount,
    /// A binary packet announced more attachments than allowed.
    #[error("too many attachments")]
    TooManyAttachments,
    /// The ack id was over [`MAX_ACK_ID`].
    #[error("ack id out of range")]
    BadAckId,
    /// The data was not valid JSON.
    #[error("data is not valid JSON")]
    InvalidJson,
    /// The data did not fit the packet type (an event without a string name, a reserved
    /// event name, a connect with an array, …).
    #[error("data does not fit the packet type")]
    InvalidPayload,
    /// A placeholder named an attachment that does not exist.
    #[error("a placeholder names no attachment")]
    BadPlaceholder,
    /// A text packet came while a binary packet still waited for attachments.
    #[error("text packet while attachments were awaited")]
    UnexpectedText,
    /// Binary data came with no binary packet waiting for it.
    #[error("binary data without a binary packet")]
    UnexpectedBinary,
}
