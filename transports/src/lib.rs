//! Engine.IO v4 for Tidings: sessions, heartbeat, upgrades, and three transports —
//! WebSocket, HTTP long-polling (with JSONP) and server-sent events.
//!
//! This crate moves messages for sessions and knows nothing of namespaces or events: the
//! layer above implements [`Handler`] and sends with [`Session::send`]. Any Engine.IO v4
//! client works with it, such as the official `engine.io-client`.
//!
//! # Quick start
//!
//! An echo server on `127.0.0.1:3000/engine.io/`:
//!
//! ```no_run
//! use http::request::Parts;
//! use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
//!
//! struct Echo;
//!
//! impl Handler for Echo {
//!     fn on_open(&self, session: &Session, _request: &Parts) {
//!         println!("{} opened over {}", session.id(), session.transport());
//!     }
//!     fn on_message(&self, session: &Session, message: Message) {
//!         let _ = session.send(message);
//!     }
//!     fn on_close(&self, session: &Session, reason: CloseReason) {
//!         println!("{} closed: {reason}", session.id());
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::io::Result<()> {
//!     let engine = Engine::new(EngineConfig::default(), Echo);
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     tidings_transports::serve(listener, engine.service()).await;
//!     Ok(())
//! }
//! ```
//!
//! # Layout
//! - [`packet`]: the codecs, pure functions over bytes (packets, polling payloads, JSONP,
//!   event streams).
//! - [`Engine`], [`Session`], [`EngineConfig`]: the session table, heartbeat and upgrades.
//! - [`EngineService`], [`EngineLayer`], [`serve`], [`serve_with_shutdown`]: mounting it with
//!   tower or hyper; [`Engine::shutdown`] ends it gracefully. With the `tls` feature,
//!   `serve_tls` and `serve_tls_with_shutdown` serve it over TLS (rustls), configured by a
//!   `TlsConfig`.
//!
//! The protocol details, the SSE extension and the measured memory per session are in the
//! repository's `docs/engine.md`.

mod engine;
mod metrics;
pub mod packet;
mod service;
mod transport;

pub use engine::{
    AllowFuture, CloseReason, Cors, Engine, EngineConfig, Handler, HandshakeRate, HttpCompression,
    InvalidSid, PerMessageDeflate, RequestError, SendError, Session, SessionClosed, SessionCookie,
    Sid,
};
pub use metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics};
pub use packet::{DecodeError, Message, Packet};
/// The Prometheus client crate whose registry [`Metrics::register`] hands out.
pub use prometheus_client;
pub use service::{
    EngineBody, EngineLayer, EngineService, NotFound, PeerAddr, serve, serve_with_shutdown,
};
#[cfg(feature = "tls")]
pub use service::{TlsConfig, TlsConfigError, serve_tls, serve_tls_with_shutdown};
/// The rustls crate that [`TlsConfig::new`] takes a configuration of (the `tls` feature).
#[cfg(feature = "tls")]
pub use tokio_rustls::rustls;
