//! Connection middleware: refusals reach the client as `44/ns,{"message":…,"data":…}`,
//! middleware runs in order and stops at the first refusal, async middleware holds the
//! connection (and its early events) until it is done, and a refused client may try again.

mod common;

use common::{Server, channel};
use serde::Deserialize;
use serde_json::json;
use tidings::{AckSender, ConnectError, Data, Io, Socket};

#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// `/admin` wants token `secret`; its connection handler reports the token it saw.
fn server() -> (Io, common::Seen<String>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    io.ns("/admin", move |socket: Socket, Data(auth): Data<Auth>| {
        let _ = tx.send(auth.token);
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
    })
    .middleware(|Data(auth): Data<Option<Auth>>| match auth {
        Some(auth) if auth.token == "secret" => Ok(()),
        Some(_) => Err(ConnectError::new("not authorized")
            .with_data(&json!({"retry": false, "codes": [1, 2]}))),
        None => Err(ConnectError::new("no token")),
    });
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_carries_its_message_and_data() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    let error = client
        .connect_refused("/admin", Some(r#"{"token":"guess"}"#))
        .await;
    assert_eq!(
        error,
        json!({"message": "not authorized", "data": {"retry": false, "codes": [1, 2]}})
    );
    let error = client.connect_refused("/admin", None).await;
    assert_eq!(error, json!({"message": "no token"}));

    seen.none("the connection handler").await;
    assert_eq!(server.io.of("/admin").expect("exists").socket_count(), 0);
    // Events for the refused namespace go nowhere.
    client.send(r#"42/admin,1["ping"]"#).await;
    client.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accepted_client_reaches_the_connection_handler() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    client
        .connect_ns("/admin", Some(r#"{"token":"secret"}"#))
        .await;
    assert_eq!(seen.next("the connection handler").await, "secret");
    client.send(r#"42/admin,1["ping"]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!("pong")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_client_may_try_again_on_the_same_connection() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    client
        .connect_refused("/admin", Some(r#"{"token":"guess"}"#))
        .await;
    client
        .connect_ns("/admin", Some(r#"{"token":"secret"}"#))
        .await;
    assert_eq!(seen.next("the connection handler").await, "secret");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn middleware_runs_in_order_and_stops_at_the_first_refusal() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    let (first, second, third) = (tx.clone(), tx.clone(), tx.clone());
    io.ns("/", move |_: Socket| {
        let _ = tx.send("connected");
    })
    .middleware(move |Data(auth): Data<serde_json::Value>| {
        let _ = first.send("first");
        if auth["stop"] == json!(1) {
            return Err(ConnectError::new("stopped at 1"));
        }
        Ok(())
    })
    .middleware(move |Data(auth): Data<serde_json::Value>| {
        let second = second.clone();
        async move {
            tokio::task::yield_now().await;
            let _ = second.send("second");
            if auth["stop"] == json!(2) {
                return Err(ConnectError::new("stopped at 2"));
            }
            Ok(())
        }
    })
    .middleware(move || {
        let _ = third.send("third");
        Ok(())
    });
    let server = Server::start(io).await;
    let mut client = server.open().await;

    let error = client.connect_refused("/", Some(r#"{"stop":1}"#)).await;
    assert_eq!(error["message"], json!("stopped at 1"));
    assert_eq!(seen.next("the first middleware").await, "first");
    seen.none("more middleware").await;

    let error = client.connect_refused("/", Some(r#"{"stop":2}"#)).await;
    assert_eq!(error["message"], json!("stopped at 2"));
    assert_eq!(seen.next("the first middleware").await, "first");
    assert_eq!(seen.next("the second middleware").await, "second");
    seen.none("more middleware").await;

    client.connect_ns("/", Some("{}")).await;
    for step in ["first", "second", "third", "connected"] {
        assert_eq!(seen.next(step).await, step);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extractor_that_fails_in_middleware_refuses_the_connection() {
    let io = Io::builder().build();
    io.ns("/", |_: Socket| {})
        .middleware(|Data(_auth): Data<Auth>| Ok(()));
    let server = Server::start(io).await;
    let mut client = server.open().await;

    let error = client.connect_refused("/", Some(r#"{"token":5}"#)).await;
    let message = error["message"].as_str().expect("a message");
    assert!(message.contains("do not fit"), "{message}");
    client.connect_ns("/", Some(r#"{"token":"5"}"#)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_sent_while_middleware_runs_are_handled_after_the_connection_handler() {
    let (gate_tx, gate_rx) = tokio::sync::watch::channel(false);
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        let _ = socket.emit("hello", &());
        socket.on("early", |socket: Socket, Data(n): Data<u32>| {
            let _ = socket.emit("early", &n);
        });
    })
    .middleware(move || {
        let mut gate = gate_rx.clone();
        async move {
            let _ = gate.wait_for(|open| *open).await;
            Ok(())
        }
    });
    let server = Server::start(io).await;
    let mut client = server.open().await;

    client.send("40").await;
    client.send(r#"42["early",1]"#).await;
    client.send(r#"42["early",2]"#).await;
    client.quiet().await;
    gate_tx.send(true).expect("the middleware waits");

    assert_eq!(client.packet().await.kind, 0);
    assert_eq!(client.event().await.data, Some(json!(["hello"])));
    assert_eq!(client.event_args("early").await, [json!(1)]);
    assert_eq!(client.event_args("early").await, [json!(2)]);
}
