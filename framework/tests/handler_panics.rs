//! A panicking handler is contained: the panic is logged, and the socket, its connection and
//! the server go on. Panicking middleware refuses the connection.
//!
//! The panics print their message to the test's output; that is expected.

mod common;

use common::{Server, channel};
use serde_json::json;
use tidings::{AckSender, ConnectError, DisconnectReason, Io, Socket};

/// Panics; returns `()` for the handler's signature.
fn boom(place: &str) {
    panic!("boom {place}");
}

/// A server whose `boom` handlers panic, sync and async, and whose `ping` acks `pong`.
fn server() -> Io {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("boom", |_: Socket| boom("in a sync handler"));
        socket.on("boom-later", |_: Socket| async {
            tokio::task::yield_now().await;
            boom("in an async handler, after an await");
        });
        socket.on("boom-before-ack", |_: AckSender| boom("before the ack"));
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
        socket.on_any(|_: Socket| boom("in on_any"));
    });
    io
}

async fn assert_answered(client: &mut common::Client, id: u64) {
    client.send(&format!(r#"42{id}["ping"]"#)).await;
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(id), &[json!("pong")][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_event_handler_leaves_the_socket_working() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    let mut other = server.connect().await;

    for (n, event) in ["boom", "boom-later", "boom-before-ack", "unknown"]
        .into_iter()
        .enumerate()
    {
        client.send(&format!(r#"421["{event}"]"#)).await;
        assert_answered(&mut client, n as u64 + 10).await;
    }
    // Several panics in a row, then the same socket and another one still work.
    for _ in 0..5 {
        client.send(r#"42["boom"]"#).await;
    }
    assert_answered(&mut client, 20).await;
    assert_answered(&mut other, 21).await;
    assert_eq!(server.io.socket_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_connection_handler_keeps_the_socket_connected() {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
        boom("in the connection handler");
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    assert_answered(&mut client, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_disconnect_handler_does_not_stop_the_next_one() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        socket.on_disconnect(|_: DisconnectReason| boom("in a disconnect handler"));
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send("41").await;
    assert_eq!(
        seen.next("the second disconnect handler").await,
        DisconnectReason::ClientNamespaceDisconnect
    );
    // The connection is still there.
    client.connect_ns("/", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn panicking_middleware_refuses_the_connection() {
    let io = Io::builder().build();
    io.ns("/sync", |_: Socket| {})
        .middleware(|| -> Result<(), ConnectError> { panic!("boom in sync middleware") });
    io.ns("/async", |_: Socket| {}).middleware(|| async {
        tokio::task::yield_now().await;
        boom("in async middleware");
        Ok(())
    });
    io.ns("/", |socket: Socket| {
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
    });
    let server = Server::start(io).await;
    let mut client = server.open().await;

    for name in ["/sync", "/async"] {
        let error = client.connect_refused(name, None).await;
        assert_eq!(error, json!({"message": "middleware panicked"}), "{name}");
    }
    client.connect_ns("/", None).await;
    assert_answered(&mut client, 3).await;
}
