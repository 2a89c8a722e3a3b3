//! Tidings: a Socket.IO v5 server framework over the Engine.IO engine of
//! [`tidings-transports`](https://docs.rs/tidings-transports).
//!
//! The server API (namespaces, rooms, events, acks, middleware) is being built on top of the
//! protocol pieces here; so far: the [`parser`]s that turn Socket.IO packets into Engine.IO
//! messages and back.

pub mod parser;
