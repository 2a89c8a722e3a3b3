//! Every event the client sends with an ack id is answered once: by the first handler that
//! sends an ack, or with an empty ack once every handler of the event is done. Not when no
//! handler ran, when a handler panicked, or when its arguments could not be taken.

mod common;

use std::sync::{Arc, Mutex};

use common::Server;
use serde_json::json;
use tidings::{AckSender, Data, Io, Socket};
use tokio::sync::oneshot;

/// Where the test keeps the sender that lets the `slow` handler finish.
type Gate = Arc<Mutex<Option<oneshot::Sender<()>>>>;

/// `quiet` acks nothing; `twice` acks in its own handler and, when `with_any`, in `on_any`.
fn server(with_any: bool) -> Io {
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        socket.on("quiet", |_: Socket| {});
        if with_any {
            socket.on_any(|ack: AckSender| {
                let _ = ack.send("from on_any");
            });
        }
        socket.on("twice", |ack: AckSender| {
            let _ = ack.send("from its handler");
        });
    });
    io
}

/// Panics; returns `()` for the handler's signature.
fn boom() {
    panic!("boom");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_that_sends_no_ack_still_answers() {
    let server = Server::start(server(false)).await;
    let mut client = server.connect().await;

    client.send(r#"421["quiet"]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(1), &[][..]));
    client.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_first_ack_of_an_event_goes_out() {
    let server = Server::start(server(true)).await;
    let mut client = server.connect().await;

    client.send(r#"427["twice"]"#).await;
    let ack = client.ack().await;
    assert_eq!(
        (ack.id, ack.ack_args()),
        (Some(7), &[json!("from on_any")][..])
    );
    client.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_empty_ack_waits_for_an_async_handler_to_finish() {
    let io = Io::builder().build();
    let gate = Gate::default();
    let handlers = gate.clone();
    io.ns("/", move |socket: Socket| {
        let gate = handlers.clone();
        socket.on("slow", move |_: Socket| {
            let (tx, rx) = oneshot::channel();
            *gate.lock().expect("not poisoned") = Some(tx);
            async move {
                let _ = rx.await;
            }
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"423["slow"]"#).await;
    client.quiet().await;
    let release = gate.lock().expect("not poisoned").take();
    release
        .expect("the handler ran")
        .send(())
        .expect("it waits");
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(3), &[][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unhandled_failed_and_panicked_events_are_not_acknowledged() {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("typed", |_: Data<u32>| {});
        socket.on("boom", |_: Socket| boom());
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"421["unknown"]"#).await;
    client.send(r#"422["typed","not a number"]"#).await;
    client.send(r#"423["boom"]"#).await;
    client.send(r#"424["ping"]"#).await;
    // The first ack to come is the one `ping` sent.
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(4), &[json!("pong")][..]));
    client.quiet().await;
}
