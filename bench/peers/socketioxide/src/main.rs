//! The bench contract (namespace `/`) served by socketioxide: `echo` acks with its argument,
//! `join` joins a room then acks `"ok"`, `bcast` emits `msg` with its `data` to every socket in
//! its `room`.
//!
//! socketioxide's default configuration, except the largest incoming message: the contract's
//! 1 MB on both transports, where socketioxide's defaults are 100 kB for a polling payload
//! (`max_payload`) and 64 MiB for a WebSocket message (`ws_max_message_size`).
//!
//! `Data<Value>` is the first argument of an event, as socketioxide users write it: `echo`
//! acks with that one argument, and a binary or argument-less `echo` is not answered.

use std::net::SocketAddr;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde::Deserialize;
use serde_json::Value;
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};
use tokio::net::TcpListener;

/// What `bcast` carries: the room, and the data to send there.
#[derive(Deserialize)]
struct Bcast {
    room: String,
    data: Value,
}

async fn on_connect(socket: SocketRef) {
    socket.on("echo", async |Data(args): Data<Value>, ack: AckSender| {
        let _ = ack.send(&args);
    });
    socket.on(
        "join",
        async |socket: SocketRef, Data(room): Data<String>, ack: AckSender| {
            socket.join(room);
            let _ = ack.send("ok");
        },
    );
    socket.on("bcast", async |io: SocketIo, Data(bcast): Data<Bcast>| {
        let _ = io.to(bcast.room).emit("msg", &bcast.data).await;
    });
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let (service, io) = SocketIo::builder()
        .max_payload(1_000_000)
        .ws_max_message_size(1_000_000)
        .build_svc();
    io.ns("/", on_connect);

    let port = match std::env::var("PORT") {
        Ok(port) => port
            .parse::<u16>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?,
        Err(_) => 3000,
    };
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    println!(
        "socketioxide-bench listening on http://{}/socket.io/",
        listener.local_addr()?
    );

    // The accept loop of socketioxide's hyper example, with what Tidings' own `serve` and
    // Node's `http` server also do: TCP_NODELAY, hyper's header read timeout on a timer, and
    // a pause instead of a spin when accepting fails (out of file descriptors).
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}
