//! The bench contract (namespace `/`), with the default configuration: `echo` acks with its
//! arguments, `join` joins a room then acks `"ok"`, `bcast` emits `msg` with its `data` to
//! every socket in its `room`. With `REDIS_URL` set it joins the cluster of that Redis; with
//! `REDIS_CLUSTER_URLS` (a Redis Cluster's node URLs) that of the Redis Cluster's sharded
//! pub/sub (see `tidings_examples::cluster_from_env`).

use serde::Deserialize;
use tidings::{AckSender, Data, Io, Payload, Socket};

/// What `bcast` carries: the room, and the data to send there as is.
#[derive(Deserialize)]
struct Bcast {
    room: String,
    data: Box<serde_json::value::RawValue>,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    let io = tidings_examples::clustered(Io::builder()).await?.build();
    io.ns("/", |socket: Socket| {
        socket.on("echo", |args: Payload, ack: AckSender| {
            let _ = ack.send(&args);
        });
        socket.on(
            "join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| {
                let reply = match socket.join(room) {
                    Ok(()) => "ok".to_owned(),
                    Err(error) => error.to_string(),
                };
                let _ = ack.send(&reply);
            },
        );
        socket.on("bcast", |socket: Socket, Data(bcast): Data<Bcast>| {
            let _ = socket.ns().to(bcast.room).emit("msg", &bcast.data);
        });
    });
    tidings_examples::serve("bench-server", "/socket.io/", io.engine()).await
}
