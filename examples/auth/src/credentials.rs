//! [`Auth`]: which credentials the server takes and where: a JWT in the CONNECT payload or in
//! an `Authorization: Bearer` header, or a session cookie. [`User`]: who a socket is, as its
//! data.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::HeaderMap;
use http::header::AUTHORIZATION;
use serde::{Deserialize, Serialize};

use crate::refusal::Refusal;
use crate::sessions::{self, Session, Sessions};
use crate::tokens::{Claims, Tokens};

/// Who a socket is, and until when: the socket's data, which its handlers read.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct User {
    pub(crate) name: String,
    /// The login session it came with, when it came with a session cookie.
    pub(crate) session: Option<String>,
    /// When its credential expires, in milliseconds since the Unix epoch.
    pub(crate) expires_at: u64,
}

impl User {
    /// The user a token names.
    pub(crate) fn of_token(claims: &Claims) -> User {
        User {
            name: claims.sub.clone(),
            session: None,
            expires_at: millis(claims.expires()),
        }
    }

    fn of_session(session: Session) -> User {
        User {
            expires_at: millis(session.expires),
            name: session.user,
            session: Some(session.id),
        }
    }

    /// How long its credential has left.
    pub(crate) fn remaining(&self) -> Duration {
        (UNIX_EPOCH + Duration::from_millis(self.expires_at))
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }

    /// What its client is told when its credential expires.
    pub(crate) fn expiry_message(&self) -> &'static str {
        match self.session {
            Some(_) => "session expired",
            None => "token expired",
        }
    }
}

/// The server's tokens and sessions, shared by the HTTP routes, the handshake check and the
/// namespace.
#[derive(Clone)]
pub(crate) struct Auth {
    pub(crate) tokens: Tokens,
    pub(crate) sessions: Sessions,
}

impl Auth {
    /// The handshake check (`allow_request`): a handshake that carries a credential in its
    /// head (a bearer token, a session cookie) must carry a valid one. One without either
    /// goes on: its CONNECT must then carry a token ([`identify`](Self::identify)), as
    /// browsers cannot set headers on a WebSocket handshake.
    pub(crate) fn admit(&self, headers: &HeaderMap) -> Result<(), Refusal> {
        self.in_head(headers).transpose().map(drop)
    }

    /// Who a connecting socket is: the token of its CONNECT payload if it sent one, else
    /// its handshake's bearer token, else its session cookie (checked again: the session
    /// may have ended since the handshake).
    pub(crate) fn identify(
        &self,
        token: Option<&str>,
        headers: &HeaderMap,
    ) -> Result<User, Refusal> {
        match token {
            Some(token) => self.token_user(token),
            None => self
                .in_head(headers)
                .unwrap_or(Err(Refusal::MissingCredentials)),
        }
    }

    /// The user `token` names, if it is good.
    fn token_user(&self, token: &str) -> Result<User, Refusal> {
        self.tokens
            .verify(token)
            .map(|claims| User::of_token(&claims))
    }

    /// The user a request head's bearer token or session cookie names, if it has either.
    fn in_head(&self, headers: &HeaderMap) -> Option<Result<User, Refusal>> {
        if let Some(token) = bearer(headers) {
            return Some(self.token_user(token));
        }
        let id = sessions::cookie(headers)?;
        Some(
            self.sessions
                .get(id)
                .map(User::of_session)
                .ok_or(Refusal::InvalidSession),
        )
    }
}

/// The token of an `Authorization: Bearer <token>` header (the scheme in any case). Another
/// scheme counts as a bad token, so that a client that meant to authenticate is not let in
/// without.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().unwrap_or_default();
    let (scheme, token) = value.split_once(' ').unwrap_or_default();
    Some(if scheme.eq_ignore_ascii_case("bearer") {
        token.trim()
    } else {
        ""
    })
}

/// `time` in milliseconds since the Unix epoch.
pub(crate) fn millis(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn reads_bearer_tokens() {
        let cases = [
            (None, None),
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer abc"), Some("abc")),
            (Some("BEARER  abc "), Some("abc")),
            (Some("Basic YWRhOmxvdmVsYWNl"), Some("")),
            (Some("Bearer"), Some("")),
        ];
        for (header, expected) in cases {
            let mut headers = HeaderMap::new();
            if let Some(header) = header {
                headers.insert(AUTHORIZATION, HeaderValue::from_static(header));
            }
            assert_eq!(bearer(&headers), expected, "{header:?}");
        }
    }
}
