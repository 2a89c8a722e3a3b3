//! The `session` span: the context of everything logged while one of a session's requests or
//! its WebSocket connection is handled, handler calls included.
//!
//! It is an `info` span made once per HTTP request or WebSocket connection, never per packet:
//! with the default `info` filter, a session's events (and the application's, logged in its
//! handlers) carry its id, transport and remote address. Without a subscriber that wants it,
//! making it costs a check of a cached flag.

use http::request::Parts;
use tracing::Span;

use super::Sid;
use crate::service::PeerAddr;

/// The span of session `sid` for a request (or connection) on `transport`; with the remote
/// address when [`serve`](crate::serve) recorded it.
pub(crate) fn session_span(sid: Sid, transport: &str, parts: &Parts) -> Span {
    let span = tracing::info_span!(
        "session",
        %sid,
        %transport,
        peer = tracing::field::Empty
    );
    if let Some(PeerAddr(peer)) = parts.extensions.get::<PeerAddr>() {
        span.record("peer", tracing::field::display(peer));
    }
    span
}
