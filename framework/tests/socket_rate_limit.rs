//! The per-socket event rate: events over it are dropped with an `"error"` event to the
//! client, or the socket is disconnected ("rate limited"), as the policy says; other sockets
//! carry on.

mod common;

use std::time::Duration;

use common::{Server, channel};
use serde_json::{Value, json};
use tidings::{Data, DisconnectReason, EventRate, Io, OverRate, Socket};

/// A server whose sockets may send 3 events, then one an hour; `"hit"` is answered with
/// `"ok"` and its argument. Reports every disconnection's reason.
fn server(policy: OverRate) -> (Io, common::Seen<DisconnectReason>) {
    let (tx, seen) = channel();
    let io = Io::builder()
        .event_rate(EventRate::new(3, Duration::from_secs(3600)).on_exceed(policy))
        .build();
    io.ns("/", move |socket: Socket| {
        socket.on("hit", |socket: Socket, Data(n): Data<Value>| {
            let _ = socket.emit("ok", &n);
        });
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_over_the_rate_are_refused_as_the_policy_says() {
    let over = [json!({"message": "Rate limit exceeded", "event": "hit"})];
    // (policy, the disconnection the server sees)
    let cases = [
        (OverRate::Drop, None),
        (OverRate::Disconnect, Some(DisconnectReason::RateLimited)),
    ];
    for (policy, disconnected) in cases {
        let (io, mut reasons) = server(policy);
        let server = Server::start(io).await;
        let mut client = server.connect().await;
        let mut other = server.connect().await;

        for n in 1..=5 {
            client.send(&format!(r#"42["hit",{n}]"#)).await;
        }
        for n in 1..=3 {
            assert_eq!(client.event_args("ok").await, [json!(n)], "{policy:?}");
        }
        assert_eq!(client.event_args("error").await, over, "{policy:?}");
        match disconnected {
            None => {
                // Told once per overrun, and still connected.
                client.send(r#"42["hit",6]"#).await;
                client.quiet().await;
                assert_eq!(server.io.socket_count(), 2);
            }
            Some(reason) => {
                let packet = client.packet().await;
                assert_eq!((packet.kind, packet.nsp.as_str()), (1, "/"), "{packet:?}");
                assert_eq!(reasons.next("the disconnection").await, reason);
                assert_eq!(reason.as_str(), "rate limited");
            }
        }

        // Another socket has a bucket of its own.
        for n in 1..=3 {
            other.send(&format!(r#"42["hit",{n}]"#)).await;
            assert_eq!(other.event_args("ok").await, [json!(n)], "{policy:?}");
        }
        reasons.none("another disconnection").await;
    }
}
