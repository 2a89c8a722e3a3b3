//! The Socket.IO server the protocol test suites expect: on `/socket.io/`, ping every 300 ms,
//! 200 ms to answer, 1 second to join a namespace; namespaces `/` and `/custom`. Every
//! connection is sent `auth` with its CONNECT payload (`{}` when none); on `/`, `message` is
//! echoed as `message-back` and `message-with-ack` is acked with the same arguments.

use std::time::Duration;

use tidings::{AckSender, EngineConfig, Io, Payload, Socket};

/// Sends the connection its auth payload.
fn greet(socket: Socket) {
    let auth = socket
        .handshake()
        .auth::<Option<serde_json::Value>>()
        .ok()
        .flatten()
        .unwrap_or_else(|| serde_json::json!({}));
    let _ = socket.emit("auth", &auth);
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .ping_interval(Duration::from_millis(300))
        .ping_timeout(Duration::from_millis(200))
        .max_payload(1_000_000);
    let io = Io::builder()
        .engine(engine)
        .connect_timeout(Duration::from_millis(1000))
        .build();
    io.ns("/", |socket: Socket| {
        greet(socket.clone());
        socket.on("message", |socket: Socket, args: Payload| {
            let _ = socket.emit("message-back", &args);
        });
        socket.on("message-with-ack", |args: Payload, ack: AckSender| {
            let _ = ack.send(&args);
        });
    });
    io.ns("/custom", greet);
    tidings_examples::serve("conformance-socketio", "/socket.io/", io.engine()).await
}
