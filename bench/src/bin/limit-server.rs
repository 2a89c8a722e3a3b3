//! The limit server: the least work the bench contract needs at the wire level.
//!
//! A hand-rolled WebSocket server with no Socket.IO layer, which speaks just enough Engine.IO
//! v4 and Socket.IO v5 (namespace `/`, WebSocket only) for a Socket.IO client to use the
//! bench contract (`echo`, `join`, `bcast`). Each broadcast is framed once and the same
//! [`Bytes`](bytes::Bytes) go to every member of the room; each connection is one task that
//! writes everything queued for it in one `write` per wake-up. It shows what the contract
//! costs when nothing but the syscalls is left, which is the bar the real servers are
//! measured against.
//!
//! ```text
//! PORT=3000 limit-server   # PORT=0 picks a free port
//! limit-server listening on http://127.0.0.1:3000/socket.io/
//! ```

#[path = "limit_server/conn.rs"]
mod conn;
#[path = "limit_server/handshake.rs"]
mod handshake;
#[path = "limit_server/rooms.rs"]
mod rooms;
#[path = "limit_server/session.rs"]
mod session;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::rooms::Rooms;

/// How long to wait before accepting again after `accept` failed (out of file descriptors).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// Reads `PORT` and serves on a multi-thread runtime.
fn main() -> io::Result<()> {
    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|error| io::Error::other(format!("PORT={port:?}: {error}")))?,
        Err(_) => 3000,
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(port))
}

/// Accepts connections forever, one task each.
async fn serve(port: u16) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let port = listener.local_addr()?.port();
    println!("limit-server listening on http://127.0.0.1:{port}/socket.io/");
    let rooms = Arc::new(Rooms::default());
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(conn::run(stream, Arc::clone(&rooms)));
            }
            Err(error) => {
                eprintln!("limit-server: accept failed: {error}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}
