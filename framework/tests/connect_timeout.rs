//! The connect timeout (`IoBuilder::connect_timeout`): a connection that joins no namespace
//! in time is closed; one that joined stays.

mod common;

use std::time::Duration;

use common::{Server, channel};
use tidings::{ConnectError, DisconnectReason, Io, Socket};

const TIMEOUT: Duration = Duration::from_millis(100);

fn server() -> Io {
    let io = Io::builder().connect_timeout(TIMEOUT).build();
    io.ns("/private", |_: Socket| {})
        .middleware(|| Err(ConnectError::new("never")));
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_without_a_namespace_is_closed() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    let before = client.closed().await;
    assert!(before.is_empty(), "{before:?}");
    let sid = client.eio_sid.parse().expect("a session id");
    assert!(
        server
            .io
            .engine()
            .session(sid)
            .is_none_or(|s| s.is_closed())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_that_joined_a_namespace_stays() {
    let (tx, mut seen) = channel();
    let io = Io::builder().connect_timeout(TIMEOUT).build();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    // Longer than the timeout.
    tokio::join!(client.quiet(), seen.none("a disconnect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_namespace_does_not_count_as_joined() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    let error = client.connect_refused("/nope", None).await;
    assert_eq!(error["message"], "Invalid namespace");
    client.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_refused_by_middleware_does_not_count_as_joined() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    let error = client.connect_refused("/private", None).await;
    assert_eq!(error["message"], "never");
    client.closed().await;
}
