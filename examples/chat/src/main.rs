//! The Tidings chat: a web app at `http://127.0.0.1:3000` (`PORT` overrides), the page, its
//! script and the `tidings-client` bundle served by this binary.
//!
//! - Log in with a nickname, sent in the CONNECT auth payload and checked by the namespace's
//!   middleware ([`nickname`]).
//! - Join and leave the rooms of a fixed list ([`rooms`]), each with its live list of who is
//!   there (presence) and who is typing ([`typing`]).
//! - Messages are acked when the server has them ("sent"), and their author is told when
//!   another member received one ("delivered") ([`messages`]).
//! - Connection state recovery is on: a page that lost its connection gets what it missed.
//!   A page that comes back as a new socket (after a server restart, say) gets each room's
//!   recent messages when it joins again ([`history`]).
//!
//! Only pages of the server's own origin (`http://127.0.0.1:$PORT`, `http://localhost:$PORT`)
//! and those in `ALLOWED_ORIGINS` (comma-separated) may connect from a browser
//! (`tidings_examples::own_origins`): another site cannot open a socket as its visitors.
//!
//! With `REDIS_URL` set, the server joins the cluster of that Redis: broadcasts, presence and
//! recovery span every server, and each server keeps a copy of the recent messages.
//!
//! With `METRICS_PATH` set (`/metrics`, say), the server answers `GET` there with its
//! metrics, for Prometheus (`tidings_examples::metrics_from_env`).
//! Every event is answered `{ "ok": … }` or `{ "error": "…" }` ([`reply`]); the protocol is
//! in `examples/chat/README.md`.

mod assets;
mod history;
mod member;
mod messages;
mod nickname;
mod reply;
mod rooms;
mod typing;

use serde::Serialize;
use tidings::{EngineConfig, Io, Recovery, Socket};

use crate::history::History;
use crate::member::Member;

/// What a socket is told when it connects: its nickname and the rooms it can join.
#[derive(Serialize)]
struct Welcome<'a> {
    nickname: &'a str,
    rooms: &'a [&'a str],
}

/// A connected socket: its handlers, and its inbox (the room its delivery marks go to).
async fn connected(socket: Socket, member: Member) {
    socket.on("join", rooms::join);
    socket.on("leave", rooms::leave);
    socket.on("message", messages::send);
    socket.on("received", messages::received);
    socket.on("typing", typing::typing);
    socket.on_disconnecting(rooms::gone);
    let welcome = Welcome {
        nickname: &member.nickname,
        rooms: &rooms::ROOMS,
    };
    let _ = socket.emit("welcome", &welcome);
    if socket.recovered() {
        // It is back in the rooms it had: tell them.
        rooms::returned(&socket).await;
    } else {
        // A new socket is in no room yet: its first is always below the limit.
        socket
            .join(member.inbox())
            .expect("a socket's first room is below the limit");
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let history = History::default();
    let engine = EngineConfig::default().path("/socket.io/");
    let engine = tidings_examples::metrics_from_env(tidings_examples::own_origins(engine));
    let builder = Io::builder()
        .engine(engine)
        .recovery(Recovery::default())
        .state(history.clone());
    let io = tidings_examples::clustered(builder).await?.build();
    let chat = io.ns("/", connected);
    chat.middleware(nickname::check);
    history.replicate(&chat);
    tidings_examples::serve_with("chat", "/", io.engine(), assets::Assets).await
}
