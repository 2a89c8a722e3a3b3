//! The namespace `/`: its middleware lets in the sockets that prove who they are; each
//! connected socket ends when its credential expires, unless its client sends a fresh token.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::{Value, json};
use tidings::{AckSender, ConnectError, Handshake, Socket, State, TryData};

use crate::credentials::{Auth, User};
use crate::refusal::Refusal;

/// The CONNECT auth payload a client may send: `{ token }`.
#[derive(Deserialize)]
pub(crate) struct ConnectAuth {
    token: Option<String>,
}

/// The room of the sockets of a login session, which logging out disconnects.
pub(crate) fn session_room(id: &str) -> String {
    format!("session:{id}")
}

/// Lets a socket in when it proves who it is ([`Auth::identify`]), attaching its [`User`];
/// refuses it with CONNECT_ERROR and the [`Refusal`]'s message otherwise.
pub(crate) async fn authenticate(
    socket: Socket,
    handshake: Arc<Handshake>,
    State(auth): State<Auth>,
    TryData(payload): TryData<Option<ConnectAuth>>,
) -> Result<(), ConnectError> {
    let token = match payload {
        Ok(payload) => payload.and_then(|payload| payload.token),
        Err(_) => return Err(Refusal::InvalidToken.into()),
    };
    let user = auth.identify(token.as_deref(), handshake.headers())?;
    socket.set_data(user);
    Ok(())
}

/// A connected socket: it is disconnected when its credential expires; `"whoami"` and
/// `"refresh"` answer with its user.
pub(crate) fn connected(socket: Socket) {
    let Some(user) = socket.data::<User>() else {
        // The middleware attaches a user to every socket it lets in.
        socket.disconnect();
        return;
    };
    socket.on("whoami", whoami);
    socket.on("refresh", refresh);
    if let Some(session) = &user.session {
        // Logout finds the session's sockets through this room: one that cannot join it
        // (the server's room limit) would outlive the session, so it does not stay.
        if socket.join(session_room(session)).is_err() {
            socket.disconnect();
            return;
        }
    }
    socket.expire_in(user.remaining(), user.expiry_message());
}

/// Acks `{ user, via, expiresAt }`: who the socket is, by what, and until when.
fn whoami(socket: Socket, ack: AckSender) {
    let reply = match socket.data::<User>() {
        Some(user) => describe(&user),
        None => json!({ "error": "not authenticated" }),
    };
    let _ = ack.send(&reply);
}

/// A fresh token for the socket's user: the socket now ends when it expires (a socket that
/// came with a session cookie now holds the token instead, and leaves its session). Acks
/// what `"whoami"` does, or `{ error }` (the socket keeps its earlier deadline).
fn refresh(
    socket: Socket,
    State(auth): State<Auth>,
    TryData(token): TryData<String>,
    ack: AckSender,
) {
    let reply = match renew(&socket, &auth, token.ok().as_deref()) {
        Ok(user) => describe(&user),
        Err(refusal) => json!({ "error": refusal.as_str() }),
    };
    let _ = ack.send(&reply);
}

fn renew(socket: &Socket, auth: &Auth, token: Option<&str>) -> Result<User, Refusal> {
    let claims = auth.tokens.verify(token.ok_or(Refusal::InvalidToken)?)?;
    let current = socket.data::<User>().ok_or(Refusal::MissingCredentials)?;
    if claims.sub != current.name {
        return Err(Refusal::OtherUser);
    }
    if let Some(session) = &current.session {
        socket.leave(session_room(session));
    }
    let user = User::of_token(&claims);
    socket.expire_in(user.remaining(), user.expiry_message());
    socket.set_data(user.clone());
    Ok(user)
}

fn describe(user: &User) -> Value {
    let via = if user.session.is_some() {
        "session"
    } else {
        "token"
    };
    json!({ "user": user.name, "via": via, "expiresAt": user.expires_at })
}
