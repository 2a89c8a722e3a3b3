//! Compression settings: permessage-deflate for WebSocket, gzip or deflate for long-polling.

/// permessage-deflate (RFC 7692) for WebSocket connections whose client offers it, set with
/// [`EngineConfig::per_message_deflate`](crate::EngineConfig::per_message_deflate). Off by
/// default, as in Node's socket.io.
///
/// Messages of at least [`threshold`](Self::threshold) bytes are compressed, once for every
/// connection they are sent to; messages from the client are inflated up to `max_payload`.
/// A connection keeps no compression state between messages, so compression costs an idle
/// connection nothing (`docs/transports.md` has the figures).
///
/// ```
/// use tidings_transports::{EngineConfig, PerMessageDeflate};
///
/// let config = EngineConfig::default().per_message_deflate(PerMessageDeflate::default().threshold(512));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PerMessageDeflate {
    pub(crate) threshold: usize,
}

impl Default for PerMessageDeflate {
    /// Compresses messages of 1024 bytes or more, like Node's `ws`.
    fn default() -> Self {
        PerMessageDeflate { threshold: 1024 }
    }
}

impl PerMessageDeflate {
    /// The smallest message, in bytes, that is sent compressed. Smaller ones gain little and
    /// cost a compression each.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }
}

/// gzip or deflate for long-polling responses, as the request's `Accept-Encoding` allows, set
/// with [`EngineConfig::http_compression`](crate::EngineConfig::http_compression). On by
/// default, as Node's `httpCompression`.
///
/// Responses of at least [`threshold`](Self::threshold) bytes are compressed. SSE streams are
/// not: see `docs/transports.md`.
///
/// ```
/// use tidings_transports::{EngineConfig, HttpCompression};
///
/// let config = EngineConfig::default().http_compression(HttpCompression::default().threshold(4096));
/// let off = EngineConfig::default().http_compression(None);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpCompression {
    pub(crate) threshold: usize,
}

impl Default for HttpCompression {
    /// Compresses responses of 1024 bytes or more, like Node's engine.io.
    fn default() -> Self {
        HttpCompression { threshold: 1024 }
    }
}

impl HttpCompression {
    /// The smallest response body, in bytes, that is sent compressed.
    pub fn threshold(mut self, bytes: usize) -> Self {
        self.threshold = bytes;
        self
    }
}
