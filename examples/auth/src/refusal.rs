//! [`Refusal`]: why a client is not let in, in the words it is told.

use tidings::ConnectError;

/// Why a client is not let in. The handshake is refused with 403 and
/// `{"code":4,"message":…}`, a CONNECT with CONNECT_ERROR and `{"message":…}`, a `"refresh"`
/// with `{"error":…}`; the message is [`as_str`](Self::as_str).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No token in the CONNECT payload, no `Authorization` header and no session cookie.
    MissingCredentials,
    /// A token that is not one of ours: malformed, or signed with another key or algorithm.
    InvalidToken,
    /// One of our tokens, past its `exp`.
    TokenExpired,
    /// A session cookie naming no live session: unknown, expired or logged out.
    InvalidSession,
    /// A `"refresh"` with a token for another user than the socket's.
    OtherUser,
}

impl Refusal {
    /// The message the client is told.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Refusal::MissingCredentials => "missing credentials",
            Refusal::InvalidToken => "invalid token",
            Refusal::TokenExpired => "token expired",
            Refusal::InvalidSession => "invalid session",
            Refusal::OtherUser => "token for another user",
        }
    }
}

impl From<Refusal> for ConnectError {
    fn from(refusal: Refusal) -> ConnectError {
        ConnectError::new(refusal.as_str())
    }
}
