//! [`Sessions`]: server-side login sessions, named by a random id that the browser keeps in
//! an `HttpOnly`, `SameSite=Strict` cookie.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use http::HeaderMap;
use http::header::COOKIE;

/// The name of the session cookie.
pub(crate) const COOKIE_NAME: &str = "session";

/// A live session: whose, and until when.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub(crate) id: String,
    pub(crate) user: String,
    pub(crate) expires: SystemTime,
}

/// The live sessions, each good for the same lifetime from its login.
#[derive(Clone, Debug)]
pub(crate) struct Sessions {
    live: Arc<Mutex<HashMap<String, Session>>>,
    lifetime: Duration,
}

impl Sessions {
    pub(crate) fn new(lifetime: Duration) -> Sessions {
        Sessions {
            live: Arc::default(),
            lifetime,
        }
    }

    /// Opens a session for `user`. Sessions that have expired are forgotten meanwhile.
    pub(crate) fn open(&self, user: &str) -> Session {
        let now = SystemTime::now();
        let session = Session {
            id: new_id(),
            user: user.to_owned(),
            expires: now + self.lifetime,
        };
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.retain(|_, session| session.expires > now);
        live.insert(session.id.clone(), session.clone());
        session
    }

    /// The session `id` names, if it is live.
    pub(crate) fn get(&self, id: &str) -> Option<Session> {
        let live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.get(id)
            .filter(|session| session.expires > SystemTime::now())
            .cloned()
    }

    /// Ends the session `id` names; returns it if it was live.
    pub(crate) fn close(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().unwrap_or_else(PoisonError::into_inner);
        live.remove(id)
            .filter(|session| session.expires > SystemTime::now())
    }

    /// The `Set-Cookie` value that gives the browser `session`'s cookie: out of reach of
    /// scripts (`HttpOnly`), never sent with requests from other sites (`SameSite=Strict`,
    /// which covers their WebSocket handshakes too), gone when the session expires. Behind
    /// TLS, add `Secure`.
    pub(crate) fn set_cookie(&self, session: &Session) -> String {
        format!(
            "{COOKIE_NAME}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
            session.id,
            self.lifetime.as_secs()
        )
    }

    /// The `Set-Cookie` value that removes the cookie.
    pub(crate) fn clear_cookie() -> String {
        format!("{COOKIE_NAME}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
    }
}

/// The session id in the `Cookie` headers of a request, if there is one.
pub(crate) fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value)
}

/// 256 random bits from a cryptographically secure generator, in hex.
fn new_id() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn finds_the_session_cookie() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&[], None),
            (&["session=abc"], Some("abc")),
            (&["theme=dark; session=abc; lang=en"], Some("abc")),
            (&["theme=dark", "session=abc"], Some("abc")),
            (&["mysession=abc"], None),
            (&["session"], None),
        ];
        for (values, expected) in cases {
            let mut headers = HeaderMap::new();
            for value in *values {
                headers.append(COOKIE, HeaderValue::from_static(value));
            }
            assert_eq!(cookie(&headers), *expected, "{values:?}");
        }
    }

    #[test]
    fn sessions_end_when_closed_or_expired() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let session = sessions.open("ada");
        assert_eq!(session.id.len(), 64);
        assert_eq!(
            sessions.get(&session.id).map(|s| s.user),
            Some("ada".into())
        );
        assert!(sessions.close(&session.id).is_some());
        assert!(sessions.get(&session.id).is_none());
        assert!(sessions.get("unknown").is_none());

        let brief = Sessions::new(Duration::ZERO);
        let session = brief.open("ada");
        assert!(brief.get(&session.id).is_none());
    }
}
