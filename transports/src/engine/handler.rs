//! The seam between the engine and what runs on top of it.

use http::request::Parts;

use super::Session;
use crate::Message;

/// What the layer above Engine.IO (Socket.IO, or an application) does with sessions.
///
/// The engine calls these from the task that moved the packet (a connection's task or a
/// request's), so they must not block: hand slow work to a task of its own. A panic in one of
/// them is logged and contained: the session and its connection carry on.
///
/// ```
/// use http::request::Parts;
/// use tidings_transports::{CloseReason, Handler, Message, Session};
///
/// /// Sends every message back where it came from.
/// struct Echo;
///
/// impl Handler for Echo {
///     fn on_open(&self, _session: &Session, _request: &Parts) {}
///     fn on_message(&self, session: &Session, message: Message) {
///         let _ = session.send(message);
///     }
///     fn on_close(&self, _session: &Session, _reason: CloseReason) {}
/// }
/// ```
pub trait Handler: Send + Sync + 'static {
    /// A session opened; `request` is the head of its handshake request.
    fn on_open(&self, session: &Session, request: &Parts);

    /// The client sent a message.
    fn on_message(&self, session: &Session, message: Message);

    /// The session closed; it is called once per session, and nothing is sent after it.
    fn on_close(&self, session: &Session, reason: CloseReason);
}

/// Why a session closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the session or its connection (a close packet, a WebSocket close, a
    /// dropped TCP connection, an abandoned long-polling request).
    TransportClose,
    /// The client broke the protocol (malformed packet, overlapping requests, oversize
    /// payload) or its connection failed.
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The application closed the session with [`Session::close`].
    ForcedClose,
    /// The server closed every session as it shut down.
    ServerClose,
    /// The client did not take what was sent to it fast enough, and its queue reached
    /// [`EngineConfig::max_queued_bytes`](crate::EngineConfig::max_queued_bytes).
    SlowClient,
}

impl CloseReason {
    /// The reason as Node's engine.io names it (`"transport close"`, `"ping timeout"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ForcedClose => "forced close",
            CloseReason::ServerClose => "server shutting down",
            CloseReason::SlowClient => "slow client",
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
