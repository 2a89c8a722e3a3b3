//! Authenticating Socket.IO clients, the two ways a Node.js server does it, and ending their
//! sockets when their credential expires. Serves `http://127.0.0.1:3000` (`PORT`
//! overrides); the protocol is in `examples/auth/README.md`.
//!
//! - **Tokens** ([`tokens`]): `POST /login` issues a short-lived JWT (HS256, `TOKEN_TTL`
//!   milliseconds, 15 minutes by default; the key is `JWT_SECRET`, or random at start). A
//!   browser sends it in the CONNECT payload (`auth: { token }`), which the namespace's
//!   middleware checks ([`connection`]); a non-browser client may send it in an
//!   `Authorization: Bearer` header instead, which the handshake check (`allow_request`)
//!   refuses before any session exists when it is bad.
//! - **Session cookies** ([`sessions`]): `POST /session` opens a server-side session
//!   (`SESSION_TTL` milliseconds, an hour by default) and sets an `HttpOnly`,
//!   `SameSite=Strict` cookie; the handshake check refuses a cookie that names no live
//!   session. `POST /logout` ends the session and disconnects its sockets.
//! - **Expiry**: a socket is disconnected when its token or session expires
//!   (`Socket::expire_in`): its client gets an `"expired"` event with
//!   `{"message":"token expired"}` (or `"session expired"`, `"logged out"`), then a server
//!   disconnect. A client sends a fresh token with `"refresh"` to stay connected, or
//!   connects again with one.
//!
//! Only pages of the server's own origin and those in `ALLOWED_ORIGINS` may connect from a
//! browser (`tidings_examples::own_origins`): with cookies, that is what keeps other sites
//! from opening sockets as their visitors.

mod connection;
mod credentials;
mod refusal;
mod routes;
mod sessions;
mod tokens;

use std::time::Duration;

use tidings::{EngineConfig, Io};
use tidings_examples::env_number;

use crate::credentials::Auth;
use crate::sessions::Sessions;
use crate::tokens::Tokens;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let secret = match std::env::var("JWT_SECRET") {
        Ok(secret) => secret.into_bytes(),
        Err(_) => rand::random::<[u8; 32]>().to_vec(),
    };
    let auth = Auth {
        tokens: Tokens::new(
            &secret,
            Duration::from_millis(env_number("TOKEN_TTL", 15 * 60 * 1000)),
        ),
        sessions: Sessions::new(Duration::from_millis(env_number(
            "SESSION_TTL",
            60 * 60 * 1000,
        ))),
    };
    let check = auth.clone();
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .allow_request(move |request| {
            let verdict = check.admit(&request.headers);
            async move { verdict.map_err(|refusal| Some(refusal.as_str().to_owned())) }
        });
    let io = Io::builder()
        .engine(tidings_examples::own_origins(engine))
        .state(auth.clone())
        .build();
    let namespace = io.ns("/", connection::connected);
    namespace.middleware(connection::authenticate);
    let routes = routes::router(auth, namespace);
    tidings_examples::serve_with("auth", "/socket.io/", io.engine(), routes).await
}
