//! The HTTP routes beside the Socket.IO endpoint: `POST /login` issues a token, `POST
//! /session` opens a session (a cookie), `POST /logout` ends it and disconnects its sockets.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use http::header::{CONTENT_TYPE, SET_COOKIE};
use http::{HeaderMap, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tidings::{EXPIRED_EVENT, Namespace};

use crate::connection::session_room;
use crate::credentials::{Auth, millis};
use crate::sessions::{self, Sessions};

/// The demo users and their passwords. A real server checks a password hash from its user
/// store (and limits the attempts).
const USERS: [(&str, &str); 3] = [("ada", "lovelace"), ("alan", "turing"), ("grace", "hopper")];

/// What the routes share: the credentials, and the namespace whose sockets logging out ends.
#[derive(Clone)]
struct App {
    auth: Auth,
    namespace: Namespace,
}

/// The body of `POST /login` and `POST /session`.
#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

/// The routes, answering every other path with 404 Not Found.
pub(crate) fn router(auth: Auth, namespace: Namespace) -> Router {
    Router::new()
        .route("/login", post(login))
        .route("/session", post(open_session))
        .route("/logout", post(logout))
        .with_state(App { auth, namespace })
}

/// `POST /login` with `{ username, password }`: `{ token, expiresAt }` (milliseconds since
/// the Unix epoch), for the CONNECT payload (`auth: { token }`), an `Authorization: Bearer`
/// header or a `"refresh"` event. Logging in again is how a client gets a fresh token.
async fn login(State(app): State<App>, body: Bytes) -> Response {
    let user = match check(&body) {
        Ok(user) => user,
        Err((status, error)) => return reply(status, &json!({ "error": error })),
    };
    let (token, claims) = app.auth.tokens.issue(user);
    reply(
        StatusCode::OK,
        &json!({ "token": token, "expiresAt": millis(claims.expires()) }),
    )
}

/// `POST /session` with `{ username, password }`: sets the session cookie and answers
/// `{ user, expiresAt }`.
async fn open_session(State(app): State<App>, body: Bytes) -> Response {
    let user = match check(&body) {
        Ok(user) => user,
        Err((status, error)) => return reply(status, &json!({ "error": error })),
    };
    let session = app.auth.sessions.open(user);
    let cookie = app.auth.sessions.set_cookie(&session);
    let body = json!({ "user": session.user, "expiresAt": millis(session.expires) });
    ([(SET_COOKIE, cookie)], reply(StatusCode::OK, &body)).into_response()
}

/// `POST /logout`: ends the session of the request's cookie, if any; its sockets are sent
/// `"expired"` with `{"message":"logged out"}`, then disconnected (on every server of a
/// cluster). Answers 204 No Content and removes the cookie.
async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(session) = sessions::cookie(&headers).and_then(|id| app.auth.sessions.close(id)) {
        let sockets = app.namespace.to(session_room(&session.id));
        let _ = sockets.emit(EXPIRED_EVENT, &json!({ "message": "logged out" }));
        sockets.disconnect_sockets(false);
    }
    (
        StatusCode::NO_CONTENT,
        [(SET_COOKIE, Sessions::clear_cookie())],
    )
        .into_response()
}

/// The user a login body names, if its password is right; else the status and error to
/// answer: 400 for a body that is not a login, 401 for wrong credentials.
fn check(body: &[u8]) -> Result<&'static str, (StatusCode, &'static str)> {
    let Ok(login) = serde_json::from_slice::<Login>(body) else {
        return Err((
            StatusCode::BAD_REQUEST,
            "expected {\"username\":…,\"password\":…}",
        ));
    };
    USERS
        .iter()
        .find(|(user, password)| *user == login.username && *password == login.password)
        .map(|(user, _)| *user)
        .ok_or((StatusCode::UNAUTHORIZED, "wrong username or password"))
}

fn reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}
