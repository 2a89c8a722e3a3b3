//! Transports: how a session's packets travel over HTTP.
//!
//! A transport answers the requests that name it in the `transport` query parameter. The
//! engine has already checked the protocol version, found the session and read any POST body;
//! the transport moves packets between the HTTP exchange and the [`Session`], which owns the
//! queue, the heartbeat and the upgrade steps. Adding a transport (WebTransport, say) means
//! implementing [`Transport`] and listing it in [`builtin`]: the session logic stays as it is.

mod encoding;
mod polling;
mod sse;
mod websocket;

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::Response;
use http::request::Parts;

use crate::engine::{RequestError, Session};
use crate::service::EngineBody;

pub(crate) use self::polling::Polling;
pub(crate) use self::sse::Sse;
pub(crate) use self::websocket::WebSocket;

/// The answer to a request on an existing session.
pub(crate) type ServeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Response<EngineBody>, RequestError>> + Send + 'a>>;

/// One way of carrying Engine.IO packets.
pub(crate) trait Transport: Send + Sync + 'static {
    /// The value of the `transport` query parameter that selects it.
    fn name(&self) -> &'static str;

    /// Whether a session opened on this transport may move to another one.
    fn upgradable(&self) -> bool {
        false
    }

    /// Whether this transport can take over a session opened on another one.
    fn accepts_upgrades(&self) -> bool {
        false
    }

    /// Whether the transport runs the session's heartbeat itself (in its connection task);
    /// otherwise the engine gives the session a heartbeat task.
    fn drives_heartbeat(&self) -> bool {
        false
    }

    /// Checks a request before the engine acts on it (a WebSocket needs upgrade headers).
    fn check(&self, _parts: &Parts) -> Result<(), RequestError> {
        Ok(())
    }

    /// Answers the handshake of a new session, whose queue starts with the open packet.
    fn open(&self, session: Session, parts: &mut Parts) -> Response<EngineBody>;

    /// Answers a later request of a session that runs on this transport.
    fn serve<'a>(&'a self, session: Session, parts: &'a mut Parts, body: Bytes) -> ServeFuture<'a>;

    /// Answers a request to take over a session that runs on another transport.
    fn upgrade(
        &self,
        _session: Session,
        _parts: &mut Parts,
    ) -> Result<Response<EngineBody>, RequestError> {
        Err(RequestError::BadRequest)
    }
}

/// Every transport Tidings has; the engine keeps those its configuration enables.
pub(crate) fn builtin() -> Vec<Box<dyn Transport>> {
    vec![Box::new(Polling), Box::new(WebSocket), Box::new(Sse)]
}
