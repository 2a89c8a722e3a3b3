//! The Socket.IO layer's metrics, read back from the text a scrape gets: sockets, packets by
//! type, broadcasts and their fan-out, volatile packets dropped, acks the server waits for,
//! and disconnects by reason.

mod common;

use std::collections::HashMap;

use common::{Seen, Server, channel};
use tidings::{AckSender, DisconnectReason, EngineConfig, Io, Metrics, Socket};

/// The sample `series` (name and labels, as rendered) of a scrape.
#[track_caller]
fn value(text: &str, series: &str) -> f64 {
    let samples: HashMap<&str, f64> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .filter_map(|(series, value)| Some((series, value.parse().ok()?)))
        .collect();
    match samples.get(series) {
        Some(value) => *value,
        None => panic!("no sample {series} in:\n{text}"),
    }
}

fn sent(text: &str, kind: &str) -> f64 {
    value(
        text,
        &format!("tidings_packets_sent_total{{type=\"{kind}\"}}"),
    )
}

fn received(text: &str, kind: &str) -> f64 {
    value(
        text,
        &format!("tidings_packets_received_total{{type=\"{kind}\"}}"),
    )
}

/// A server recording into a registry of its own; its sockets join `room`, `bcast`
/// broadcasts to the room, `burst` sends an event and then a volatile broadcast, `ask` emits
/// with an ack and reports the answer with `answered`. Disconnect reasons are reported.
async fn start() -> (Server, Metrics, Seen<DisconnectReason>) {
    let metrics = Metrics::new();
    let io = Io::builder()
        .engine(
            EngineConfig::default()
                .path("/socket.io/")
                .metrics(metrics.clone()),
        )
        .build();
    let (tx, seen) = channel();
    let server = io.clone();
    io.ns("/", move |socket: Socket| {
        socket.join("room").expect("below the room limit");
        let io = server.clone();
        socket.on("bcast", move || {
            let _ = io.to("room").emit("msg", &1);
        });
        let io = server.clone();
        socket.on("burst", move |socket: Socket| {
            // The first is still queued when the volatile one comes: it is dropped for this
            // socket only.
            let _ = socket.emit("first", &1);
            let _ = io.volatile().emit("tick", &2);
        });
        socket.on("ask", |socket: Socket| {
            tokio::spawn(async move {
                let answer = socket.emit_with_ack("q", &()).await;
                let _ = socket.emit("answered", &answer.is_ok());
            });
        });
        socket.on("echo", |ack: AckSender| {
            let _ = ack.send("ok");
        });
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    (Server::start(io).await, metrics, seen)
}

#[tokio::test]
async fn counts_sockets_packets_and_broadcast_fan_out() {
    let (server, metrics, _seen) = start().await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    let mut c = server.connect().await;
    let text = metrics.render();
    assert_eq!(value(&text, "tidings_sockets"), 3.0);
    assert_eq!(received(&text, "connect"), 3.0);
    assert_eq!(sent(&text, "connect"), 3.0);

    a.send(r#"42["bcast"]"#).await;
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.event_args("msg").await, [1]);
    }
    a.send(r#"421["echo"]"#).await;
    assert_eq!(a.ack().await.ack_args(), ["ok"]);

    let text = metrics.render();
    assert_eq!(value(&text, "tidings_broadcasts_total"), 1.0);
    assert_eq!(value(&text, "tidings_broadcast_recipients_count"), 1.0);
    assert_eq!(value(&text, "tidings_broadcast_recipients_sum"), 3.0);
    assert_eq!(
        value(&text, "tidings_broadcast_recipients_bucket{le=\"10.0\"}"),
        1.0
    );
    assert_eq!(received(&text, "event"), 2.0);
    assert_eq!(sent(&text, "event"), 3.0);
    assert_eq!(sent(&text, "ack"), 1.0);
    assert_eq!(value(&text, "tidings_volatile_dropped_total"), 0.0);
}

#[tokio::test]
async fn counts_volatile_packets_dropped() {
    let (server, metrics, _seen) = start().await;
    let mut a = server.connect().await;
    let mut b = server.connect().await;
    a.send(r#"42["burst"]"#).await;
    assert_eq!(a.event_args("first").await, [1]);
    assert_eq!(b.event_args("tick").await, [2]);
    // A round trip: everything `burst` did is done.
    a.send(r#"421["echo"]"#).await;
    a.ack().await;

    let text = metrics.render();
    assert_eq!(value(&text, "tidings_volatile_dropped_total"), 1.0);
    assert_eq!(value(&text, "tidings_broadcast_recipients_sum"), 2.0);
    // `first` to a, `tick` to b.
    assert_eq!(sent(&text, "event"), 2.0);
}

#[tokio::test]
async fn counts_the_acks_the_server_waits_for() {
    let (server, metrics, _seen) = start().await;
    let mut a = server.connect().await;
    a.send(r#"42["ask"]"#).await;
    let question = a.event().await;
    assert_eq!(question.event().0, "q");
    assert_eq!(value(&metrics.render(), "tidings_acks_pending"), 1.0);

    let id = question.id.expect("the question asks for an ack");
    a.send(&format!("43{id}[]")).await;
    assert_eq!(a.event_args("answered").await, [true]);
    let text = metrics.render();
    assert_eq!(value(&text, "tidings_acks_pending"), 0.0);
    assert_eq!(received(&text, "ack"), 1.0);
}

#[tokio::test]
async fn counts_disconnects_by_reason() {
    let (server, metrics, mut seen) = start().await;
    let mut a = server.connect().await;
    let b = server.connect().await;
    let mut c = server.connect().await;
    // An ack the server still waits for when its socket goes.
    c.send(r#"42["ask"]"#).await;
    c.event().await;

    a.send("41").await;
    assert_eq!(
        seen.next("a leaves").await,
        DisconnectReason::ClientNamespaceDisconnect
    );
    b.drop_connection();
    assert_eq!(
        seen.next("b is gone").await,
        DisconnectReason::TransportClose
    );
    c.close().await;
    assert_eq!(
        seen.next("c is gone").await,
        DisconnectReason::TransportClose
    );

    let text = metrics.render();
    let reason = |reason: &str| format!("tidings_disconnects_total{{reason=\"{reason}\"}}");
    assert_eq!(value(&text, &reason("client_namespace_disconnect")), 1.0);
    assert_eq!(value(&text, &reason("transport_close")), 2.0);
    assert_eq!(value(&text, &reason("ping_timeout")), 0.0);
    assert_eq!(value(&text, "tidings_sockets"), 0.0);
    assert_eq!(value(&text, "tidings_acks_pending"), 0.0);
    assert_eq!(received(&text, "disconnect"), 1.0);
}
