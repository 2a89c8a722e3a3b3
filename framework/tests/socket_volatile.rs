//! Volatile emits: dropped for a socket whose connection still has packets waiting, sent
//! otherwise.

mod common;

use common::Server;
use serde_json::json;
use tidings::{Io, Socket};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_volatile_emit_is_dropped_behind_waiting_packets() {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("go", |socket: Socket| {
            // The handler runs on the connection's task, which sends nothing until it
            // returns: after `first`, the connection has a packet waiting.
            let _ = socket.volatile().emit("fresh", &0);
            let _ = socket.emit("first", &1);
            let _ = socket.volatile().emit("stale", &2);
            let _ = socket.ns().volatile().emit("stale-broadcast", &3);
            let _ = socket.emit("last", &4);
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send(r#"42["go"]"#).await;
    assert_eq!(client.event_args("fresh").await, [json!(0)]);
    assert_eq!(client.event_args("first").await, [json!(1)]);
    assert_eq!(client.event_args("last").await, [json!(4)]);
}
