//! Why a socket disconnected, as its `on_disconnect` handlers see it through the
//! `DisconnectReason` extractor: the client leaving the namespace, the transport closing, the
//! server disconnecting or closing it, a parse error, a ping timeout, the server shutting down.

mod common;

use std::time::Duration;

use common::{Seen, Server, channel};
use serde_json::json;
use tidings::{DisconnectReason, EngineConfig, Io, Socket};

/// What a disconnect handler saw.
#[derive(Debug, PartialEq)]
struct Disconnect {
    reason: DisconnectReason,
    connected: bool,
    rooms: usize,
}

/// A server whose sockets join `room` and report their disconnects; `bye` makes the server
/// disconnect the socket, `close` close its connection.
fn server(io: Io) -> (Io, Seen<Disconnect>) {
    let (tx, seen) = channel();
    io.ns("/", move |socket: Socket| {
        socket.join("room").expect("below the room limit");
        socket.on("bye", |socket: Socket| socket.disconnect());
        socket.on("close", |socket: Socket| socket.close());
        socket.on("ping", |socket: Socket| {
            let _ = socket.emit("pong", &());
        });
        let tx = tx.clone();
        socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
            let _ = tx.send(Disconnect {
                reason,
                connected: socket.connected(),
                rooms: socket.rooms().len(),
            });
        });
    });
    (io, seen)
}

async fn start() -> (Server, Seen<Disconnect>) {
    let (io, seen) = server(Io::builder().build());
    (Server::start(io).await, seen)
}

/// The disconnect of a socket that is gone from its rooms and disconnected.
fn gone(reason: DisconnectReason) -> Disconnect {
    Disconnect {
        reason,
        connected: false,
        rooms: 1,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_leaving_the_namespace() {
    let (server, mut seen) = start().await;
    let mut client = server.connect().await;
    client.send("41").await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::ClientNamespaceDisconnect)
    );
    assert_eq!(
        DisconnectReason::ClientNamespaceDisconnect.as_str(),
        "client namespace disconnect"
    );
    // The connection stays open for another namespace connection.
    client.connect_ns("/", None).await;
    client.send(r#"42["ping"]"#).await;
    assert_eq!(client.event().await.data, Some(json!(["pong"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_transport_closing() {
    let (server, mut seen) = start().await;
    let client = server.connect().await;
    client.close().await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::TransportClose)
    );
    assert!(server.io.to("room").sockets().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sending_an_engine_io_close() {
    let (server, mut seen) = start().await;
    let mut client = server.connect().await;
    client.send("1").await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::TransportClose)
    );
    client.closed().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tcp_connection_dropping() {
    let (server, mut seen) = start().await;
    let client = server.connect().await;
    client.drop_connection();
    assert_eq!(
        seen.next("the disconnect").await.reason,
        DisconnectReason::TransportClose
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_disconnecting_the_socket() {
    let (server, mut seen) = start().await;
    let mut client = server.connect().await;
    client.send(r#"42["bye"]"#).await;
    let packet = client.packet().await;
    assert_eq!(
        (packet.kind, packet.nsp.as_str(), packet.data),
        (1, "/", None)
    );
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::ServerNamespaceDisconnect)
    );
    // Only the namespace: the connection goes on.
    client.send(r#"42["ping"]"#).await;
    client.quiet().await;
    client.connect_ns("/", None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_closing_the_connection() {
    let (server, mut seen) = start().await;
    let mut client = server.connect().await;
    client.send(r#"42["close"]"#).await;
    client.closed().await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::ForcedClose)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parse_error() {
    let (server, mut seen) = start().await;
    let mut client = server.connect().await;
    client.send(r#"42["ping""#).await;
    client.closed().await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::ParseError)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_shutting_down() {
    let (server, mut seen) = start().await;
    let mut one = server.connect().await;
    let mut two = server.connect().await;
    server.io.close();
    one.closed().await;
    two.closed().await;
    for _ in 0..2 {
        assert_eq!(
            seen.next("a disconnect").await,
            gone(DisconnectReason::ServerShuttingDown)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_timeout() {
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .ping_interval(Duration::from_millis(50))
        .ping_timeout(Duration::from_millis(50));
    let (io, mut seen) = server(Io::builder().engine(engine).build());
    let server = Server::start(io).await;
    // The client reads nothing from here on, so it never answers a ping.
    let _client = server.connect().await;
    assert_eq!(
        seen.next("the disconnect").await,
        gone(DisconnectReason::PingTimeout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_pings_stays() {
    let engine = EngineConfig::default()
        .path("/socket.io/")
        .ping_interval(Duration::from_millis(30))
        .ping_timeout(Duration::from_millis(50));
    let (io, mut seen) = server(Io::builder().engine(engine).build());
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    // Reading answers the pings; over several ping intervals, nothing else comes.
    tokio::join!(client.quiet(), seen.none("a disconnect"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_handlers_run_once_in_order() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        for n in 0..3 {
            let tx = tx.clone();
            socket.on_disconnect(move |reason: DisconnectReason| {
                let _ = tx.send((n, reason));
            });
        }
        socket.on("both", |socket: Socket| {
            socket.disconnect();
            socket.close();
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send(r#"42["both"]"#).await;
    client.closed().await;
    for n in 0..3 {
        assert_eq!(
            seen.next("a disconnect handler").await,
            (n, DisconnectReason::ServerNamespaceDisconnect)
        );
    }
    seen.none("a second disconnect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnecting_handlers_run_while_the_socket_is_still_in_its_rooms() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        socket.join(["a", "b"]).expect("below the room limit");
        let tx = tx.clone();
        let before = tx.clone();
        socket.on_disconnecting(move |socket: Socket, reason: DisconnectReason| {
            let _ = before.send(("disconnecting", reason, socket.rooms().len()));
        });
        socket.on_disconnect(move |socket: Socket, reason: DisconnectReason| {
            let _ = tx.send(("disconnect", reason, socket.rooms().len()));
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send("41").await;
    let reason = DisconnectReason::ClientNamespaceDisconnect;
    // Its own room and the two it joined, then only its own room.
    assert_eq!(
        seen.next("disconnecting").await,
        ("disconnecting", reason, 3)
    );
    assert_eq!(seen.next("disconnect").await, ("disconnect", reason, 1));
}
