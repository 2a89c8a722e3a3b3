//! Which namespaces a client may join: unknown ones refused with `Invalid namespace`, dynamic
//! ones created on first use with their shared middleware, static ones first.

mod common;

use common::{Server, channel};
use serde::Deserialize;
use serde_json::json;
use tidings::{ConnectError, Data, Io, Socket};

#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// Whether `name` is `/team-<number>`.
fn is_team(name: &str) -> bool {
    name.strip_prefix("/team-")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_namespace_is_refused_and_the_connection_goes_on() {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("ping", |socket: Socket| {
            let _ = socket.emit("pong", &());
        });
    });
    let server = Server::start(io).await;
    let mut client = server.open().await;

    let error = client.connect_refused("/nope", None).await;
    assert_eq!(error, json!({"message": "Invalid namespace"}));
    assert!(server.io.of("/nope").is_none());

    // The connection is still usable.
    client.connect_ns("/", None).await;
    client.send(r#"42["ping"]"#).await;
    assert_eq!(client.event().await.data, Some(json!(["pong"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_main_namespace_exists_without_a_handler() {
    let server = Server::start(Io::builder().build()).await;
    let mut client = server.open().await;
    client.connect_ns("/", None).await;
    assert_eq!(server.io.socket_count(), 1);
}

/// A server with dynamic namespaces `/team-<n>`, whose middleware wants a token, and a
/// static `/team-0`; every connection handler reports its namespace.
fn teams() -> (Io, common::Seen<String>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    let on_team = tx.clone();
    io.dynamic_ns(is_team, move |socket: Socket| {
        let _ = on_team.send(format!("dynamic {}", socket.namespace()));
        socket.on("where", |socket: Socket| {
            let _ = socket.emit("here", socket.namespace());
        });
    })
    .middleware(|Data(auth): Data<Option<Auth>>| match auth {
        Some(auth) if auth.token == "t" => Ok(()),
        _ => Err(ConnectError::new("no token").with_data(&json!({"need": "token"}))),
    });
    io.ns("/team-0", move |socket: Socket| {
        let _ = tx.send(format!("static {}", socket.namespace()));
    });
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dynamic_namespace_is_created_on_first_use() {
    let (io, mut seen) = teams();
    let server = Server::start(io).await;
    assert!(server.io.of("/team-7").is_none());

    let mut client = server.open().await;
    client.connect_ns("/team-7", Some(r#"{"token":"t"}"#)).await;
    assert_eq!(seen.next("the connection").await, "dynamic /team-7");
    let team = server.io.of("/team-7").expect("created");
    assert_eq!((team.name(), team.socket_count()), ("/team-7", 1));

    client.send(r#"42/team-7,["where"]"#).await;
    let packet = client.event().await;
    assert_eq!(packet.nsp, "/team-7");
    assert_eq!(packet.args_of("here"), [json!("/team-7")]);

    let mut other = server.open().await;
    other.connect_ns("/team-7", Some(r#"{"token":"t"}"#)).await;
    assert_eq!(seen.next("the second connection").await, "dynamic /team-7");
    assert_eq!(team.socket_count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn names_the_predicate_refuses_are_invalid() {
    let (io, mut seen) = teams();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    for name in ["/team-", "/team-x", "/teams", "/team-1/sub"] {
        let error = client.connect_refused(name, Some(r#"{"token":"t"}"#)).await;
        assert_eq!(error, json!({"message": "Invalid namespace"}), "{name}");
        assert!(server.io.of(name).is_none(), "{name}");
    }
    seen.none("a connection").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_namespace_a_dynamic_one_creates_shares_its_middleware() {
    let (io, mut seen) = teams();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    for name in ["/team-1", "/team-2"] {
        let error = client.connect_refused(name, None).await;
        assert_eq!(
            error,
            json!({"message": "no token", "data": {"need": "token"}})
        );
        let error = client
            .connect_refused(name, Some(r#"{"token":"wrong"}"#))
            .await;
        assert_eq!(error["message"], json!("no token"));
        assert_eq!(server.io.of(name).map(|ns| ns.socket_count()), Some(0));
        client.connect_ns(name, Some(r#"{"token":"t"}"#)).await;
        assert_eq!(seen.next("the connection").await, format!("dynamic {name}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_static_namespace_comes_before_a_dynamic_one() {
    let (io, mut seen) = teams();
    let server = Server::start(io).await;
    let mut client = server.open().await;

    // No token needed: the static namespace has no middleware.
    client.connect_ns("/team-0", None).await;
    assert_eq!(seen.next("the connection").await, "static /team-0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_namespaces_are_matched_in_the_order_they_were_added() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    let first = tx.clone();
    io.dynamic_ns(
        |name| name.starts_with("/a"),
        move |socket: Socket| {
            let _ = first.send(format!("first {}", socket.namespace()));
        },
    );
    io.dynamic_ns(
        |name| name.starts_with('/'),
        move |socket: Socket| {
            let _ = tx.send(format!("second {}", socket.namespace()));
        },
    );
    let server = Server::start(io).await;
    let mut client = server.open().await;
    client.connect_ns("/abc", None).await;
    assert_eq!(seen.next("the connection").await, "first /abc");
    client.connect_ns("/xyz", None).await;
    assert_eq!(seen.next("the connection").await, "second /xyz");
}
