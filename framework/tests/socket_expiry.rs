//! A socket's deadline (`Socket::expire_in`): at it, the client is sent an `"expired"` event,
//! then DISCONNECT, and the server sees `DisconnectReason::Expired`; a later deadline
//! replaces an earlier one; the client's other namespaces and other clients carry on.

mod common;

use std::time::Duration;

use common::{Server, channel};
use serde_json::{Value, json};
use tidings::{AckSender, Data, DisconnectReason, EXPIRED_EVENT, Io, Socket};
use tokio::time::Instant;

/// A server whose sockets on `/` expire after the `ttl` milliseconds of their auth payload
/// (never without one), and again after the milliseconds of each `"refresh"` event (acked
/// `"ok"`). `/other` answers `"ping"` with `"pong"`. Reports every disconnection.
fn server() -> (Io, common::Seen<DisconnectReason>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    io.ns(
        "/",
        move |socket: Socket, Data(auth): Data<Option<Value>>| {
            if let Some(ttl) = auth.and_then(|auth| auth["ttl"].as_u64()) {
                socket.expire_in(Duration::from_millis(ttl), "token expired");
            }
            socket.on(
                "refresh",
                |socket: Socket, Data(ttl): Data<u64>, ack: AckSender| {
                    socket.expire_in(Duration::from_millis(ttl), "token expired");
                    let _ = ack.send("ok");
                },
            );
            let tx = tx.clone();
            socket.on_disconnect(move |reason: DisconnectReason| {
                let _ = tx.send(reason);
            });
        },
    );
    io.ns("/other", |socket: Socket| {
        socket.on("ping", |socket: Socket| {
            let _ = socket.emit("pong", &());
        });
    });
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_is_told_and_disconnected_at_its_deadline() {
    let (io, mut reasons) = server();
    let server = Server::start(io).await;
    let mut other = server.connect().await;
    let mut client = server.open().await;
    let connected = Instant::now();
    client.connect_ns("/", Some(r#"{"ttl":300}"#)).await;
    client.connect_ns("/other", None).await;

    assert_eq!(
        client.event_args(EXPIRED_EVENT).await,
        [json!({"message": "token expired"})]
    );
    assert!(connected.elapsed() >= Duration::from_millis(300));
    let packet = client.packet().await;
    assert_eq!((packet.kind, packet.nsp.as_str()), (1, "/"), "{packet:?}");
    let reason = reasons.next("the disconnection").await;
    assert_eq!(reason, DisconnectReason::Expired);
    assert_eq!(reason.as_str(), "expired");

    // Its connection stays, with its other namespace; the other client stays too.
    client.send(r#"42/other,["ping"]"#).await;
    let pong = client.event().await;
    assert_eq!(
        (pong.nsp.as_str(), pong.args_of("pong")),
        ("/other", &[][..])
    );
    other.quiet().await;
    reasons.none("another disconnection").await;
    assert_eq!(server.io.socket_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_deadline_replaces_the_earlier_one() {
    let (io, mut reasons) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;
    let connected = Instant::now();
    client.connect_ns("/", Some(r#"{"ttl":300}"#)).await;

    // A fresh token: the first deadline no longer holds.
    client.send(r#"421["refresh",60000]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!("ok")]);
    while connected.elapsed() < Duration::from_millis(500) {
        client.quiet().await;
    }
    reasons.none("a disconnection at the first deadline").await;

    // A short one again: it falls.
    client.send(r#"422["refresh",50]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!("ok")]);
    assert_eq!(
        client.event_args(EXPIRED_EVENT).await,
        [json!({"message": "token expired"})]
    );
    assert_eq!(client.packet().await.kind, 1);
    assert_eq!(
        reasons.next("the disconnection").await,
        DisconnectReason::Expired
    );
}
