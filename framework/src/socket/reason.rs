//! [`DisconnectReason`]: why a socket left its namespace.

use std::fmt;

use tidings_transports::CloseReason;

/// Why a socket disconnected. [`as_str`](Self::as_str) gives the reason as Node's socket.io
/// server names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The client closed its connection, or it was lost (a dropped TCP connection, an
    /// abandoned long-polling request).
    TransportClose,
    /// The connection failed, or the client broke the Engine.IO protocol.
    TransportError,
    /// The client did not answer the heartbeat in time.
    PingTimeout,
    /// The client left the namespace (`socket.disconnect()` on the client).
    ClientNamespaceDisconnect,
    /// The server disconnected the socket ([`Socket::disconnect`](crate::Socket::disconnect)).
    ServerNamespaceDisconnect,
    /// The server closed the whole connection ([`Socket::close`](crate::Socket::close)).
    ForcedClose,
    /// The client sent a malformed Socket.IO packet; its connection was closed.
    ParseError,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client did not take what was sent to it fast enough: its connection's queue
    /// reached [`EngineConfig::max_queued_bytes`](crate::EngineConfig::max_queued_bytes) and
    /// the connection was closed.
    SlowClient,
    /// The socket sent events over its [`EventRate`](crate::EventRate), whose policy is
    /// [`OverRate::Disconnect`](crate::OverRate::Disconnect).
    RateLimited,
    /// The socket's deadline passed ([`Socket::expire_in`](crate::Socket::expire_in)): the
    /// token or session it connected with expired. Its client was sent an
    /// [`EXPIRED_EVENT`](crate::EXPIRED_EVENT) event first.
    Expired,
}

impl DisconnectReason {
    /// The reason as Node's socket.io server names it (`"transport close"`, …).
    pub fn as_str(&self) -> &'static str {
        match self {
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::SlowClient => "slow client",
            DisconnectReason::RateLimited => "rate limited",
            DisconnectReason::Expired => "expired",
        }
    }
}

impl From<CloseReason> for DisconnectReason {
    fn from(reason: CloseReason) -> Self {
        match reason {
            CloseReason::TransportClose => DisconnectReason::TransportClose,
            CloseReason::PingTimeout => DisconnectReason::PingTimeout,
            CloseReason::ForcedClose => DisconnectReason::ForcedClose,
            CloseReason::ServerClose => DisconnectReason::ServerShuttingDown,
            CloseReason::SlowClient => DisconnectReason::SlowClient,
            _ => DisconnectReason::TransportError,
        }
    }
}

impl fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_close_reasons_map_to_disconnect_reasons() {
        let cases = [
            (CloseReason::TransportClose, "transport close"),
            (CloseReason::TransportError, "transport error"),
            (CloseReason::PingTimeout, "ping timeout"),
            (CloseReason::ForcedClose, "forced close"),
            (CloseReason::ServerClose, "server shutting down"),
            (CloseReason::SlowClient, "slow client"),
        ];
        for (close, disconnect) in cases {
            assert_eq!(
                DisconnectReason::from(close).as_str(),
                disconnect,
                "{close}"
            );
        }
    }
}
