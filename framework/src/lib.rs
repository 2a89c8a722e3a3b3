//! Tidings: a Socket.IO v5 server for Rust, on the Engine.IO engine of
//! [`tidings-transports`](tidings_transports).
//!
//! The official `socket.io-client` (and every other Socket.IO v5 client) connects to it
//! unchanged: namespaces, rooms, events with acks, binary data, middleware, and broadcasts
//! through a pluggable [`Adapter`].
//!
//! # Quick start
//!
//! ```no_run
//! use serde::{Deserialize, Serialize};
//! use tidings::{AckSender, Data, Io, Socket};
//!
//! #[derive(Deserialize, Serialize)]
//! struct Message {
//!     room: String,
//!     text: String,
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let io = Io::builder().build();
//!     io.ns("/", |socket: Socket| {
//!         socket.on("join", |socket: Socket, Data(room): Data<String>, ack: AckSender| {
//!             // Refused beyond the server's limit on rooms per socket (10,000 by default).
//!             let reply = match socket.join(room.as_str()) {
//!                 Ok(()) => "joined".to_owned(),
//!                 Err(error) => error.to_string(),
//!             };
//!             let _ = ack.send(&reply);
//!         });
//!         socket.on("message", |socket: Socket, Data(message): Data<Message>| async move {
//!             let _ = socket.to(message.room.as_str()).emit("message", &message);
//!         });
//!     });
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     tidings::serve(listener, io.service()).await;
//!     Ok(())
//! }
//! ```
//!
//! # Layout
//! - [`Io`] and [`IoBuilder`]: the server, its settings, and mounting it (standalone with
//!   [`serve`] or [`serve_with_shutdown`], or in a tower stack with [`Io::layer`]); ending it
//!   with [`Io::shutdown`]. With the `tls` feature, `serve_tls` and `serve_tls_with_shutdown`
//!   serve it over TLS (rustls).
//! - [`Namespace`] and [`Socket`]: handlers, emits, acks, rooms, middleware.
//! - [`BroadcastOperators`]: emits and operations on many sockets.
//! - The extractors handlers take: [`Data`], [`TryData`], [`Bin`], [`AckSender`],
//!   [`State`], [`Event`], [`Payload`], [`DisconnectReason`].
//! - [`adapter`]: the [`Adapter`] trait and the in-memory [`LocalAdapter`].
//! - [`parser`]: the JSON and msgpack packet codecs.
//!
//! The guide to the server API, and the correspondence with Node's socket.io server, are in
//! the repository's `docs/server.md` and `docs/coming-from-node.md`.

pub mod adapter;
mod client;
mod error;
mod handler;
mod io;
mod metrics;
mod msgpack;
mod namespace;
mod operators;
pub mod parser;
mod payload;
mod recovery;
mod sid_map;
mod socket;
mod sync;

pub use adapter::{Adapter, BroadcastAcks, LocalAdapter, Room};
pub use error::{AckError, BroadcastAckError, ConnectError, EmitError, JoinError};
pub use handler::{
    AckSender, Bin, Context, Data, Event, FromContext, Handler, Middleware, MiddlewareFuture,
    State, TryData,
};
pub use io::{DynamicNamespace, Io, IoBuilder};
pub use namespace::{LocalNamespace, Namespace, ServerReply};
pub use operators::{BroadcastOperators, IntoRooms};
pub use parser::Parser;
pub use payload::{Binary, DataError, Payload, SerializeError};
pub use recovery::{MissedPacket, Recovery, SessionState};
pub use socket::{
    AckFuture, DisconnectReason, EXPIRED_EVENT, EventPacket, EventRate, Handshake, OverRate,
    RATE_LIMIT_EVENT, Rejected, RemoteSocket, Socket,
};
pub use tidings_transports::{
    Cors, EngineConfig, HandshakeRate, HttpCompression, METRICS_CONTENT_TYPE, Metrics,
    PerMessageDeflate, SessionCookie, Sid, serve, serve_with_shutdown,
};
#[cfg(feature = "tls")]
pub use tidings_transports::{
    TlsConfig, TlsConfigError, rustls, serve_tls, serve_tls_with_shutdown,
};

/// The README's server example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;

/// The server guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/server.md")]
struct ServerGuide;

/// The getting-started guide's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/getting-started.md")]
struct GettingStarted;

/// The transports guide's example, compiled as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../docs/transports.md")]
struct TransportsGuide;

/// The observability guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/observability.md")]
struct ObservabilityGuide;

/// The security guide's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/security.md")]
struct SecurityGuide;

/// The delivery guarantees page's examples, compiled as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../docs/delivery.md")]
struct DeliveryGuide;
