//! Which namespaces a client may join: unknown ones refused with `Invalid namespace`, dynamic
//! ones created on first use with their shared middleware, static ones first; how many
//! dynamic ones there may be, and their removal once empty.

mod common;

use common::{Server, channel, within};
use serde::Deserialize;
use serde_json::json;
use tidings::{ConnectError, Data, Io, IoBuilder, Socket};

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
    teams_of(Io::builder())
}

/// [`teams`], with the settings of `builder`.
fn teams_of(builder: IoBuilder) -> (Io, common::Seen<String>) {
    let (tx, seen) = channel();
    let io = builder.build();
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
        // A refused client leaves no namespace behind.
        assert!(server.io.of(name).is_none());
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

const TOKEN: Option<&str> = Some(r#"{"token":"t"}"#);

/// Waits until namespace `name` is gone from `io`.
async fn gone(io: &Io, name: &str) {
    within(&format!("{name} to be removed"), async {
        while io.of(name).is_some() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_past_the_limit_on_dynamic_namespaces_is_refused() {
    let (io, _seen) = teams_of(Io::builder().max_dynamic_namespaces(2));
    let server = Server::start(io).await;
    let mut client = server.open().await;
    client.connect_ns("/team-1", TOKEN).await;
    client.connect_ns("/team-2", TOKEN).await;

    let error = client.connect_refused("/team-3", TOKEN).await;
    assert_eq!(error, json!({"message": "Too many namespaces"}));
    assert!(server.io.of("/team-3").is_none());
    // Namespaces that exist, and static ones, still take clients.
    let mut other = server.open().await;
    other.connect_ns("/team-1", TOKEN).await;
    other.connect_ns("/team-0", None).await;

    // Once /team-2 is empty and removed, there is room for /team-3.
    client.send("41/team-2,").await;
    gone(&server.io, "/team-2").await;
    client.connect_ns("/team-3", TOKEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_dynamic_namespace_is_removed_and_made_again() {
    let (io, mut seen) = teams();
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let mut second = server.open().await;
    first.connect_ns("/team-5", TOKEN).await;
    second.connect_ns("/team-5", TOKEN).await;
    let before = server.io.of("/team-5").expect("created");

    first.send("41/team-5,").await;
    second.quiet().await;
    assert_eq!(
        server.io.of("/team-5").as_ref(),
        Some(&before),
        "one socket left"
    );
    second.close().await;
    gone(&server.io, "/team-5").await;
    assert_eq!(before.socket_count(), 0);

    // Asked for again, it is a new namespace with the same handlers and middleware.
    let error = first.connect_refused("/team-5", None).await;
    assert_eq!(error["message"], json!("no token"));
    first.connect_ns("/team-5", TOKEN).await;
    let again = server.io.of("/team-5").expect("made again");
    assert_ne!(again, before);
    assert_eq!(again.socket_count(), 1);
    assert_eq!(seen.next("the first").await, "dynamic /team-5");
    assert_eq!(seen.next("the second").await, "dynamic /team-5");
    assert_eq!(seen.next("the third").await, "dynamic /team-5");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_dynamic_namespaces_stay_when_cleanup_is_off() {
    let (io, _seen) = teams_of(
        Io::builder()
            .cleanup_empty_namespaces(false)
            .max_dynamic_namespaces(1),
    );
    let server = Server::start(io).await;
    let mut client = server.open().await;
    client.connect_ns("/team-1", TOKEN).await;
    client.send("41/team-1,").await;
    client.quiet().await;
    assert_eq!(server.io.of("/team-1").map(|ns| ns.socket_count()), Some(0));
    // It still counts.
    let error = client.connect_refused("/team-2", TOKEN).await;
    assert_eq!(error, json!({"message": "Too many namespaces"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_connecting_while_the_namespace_empties_land_in_a_live_one() {
    let (io, _seen) = teams_of(Io::builder().max_dynamic_namespaces(1));
    let server = Server::start(io).await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(server.open().await);
    }
    // Each client connects and leaves again and again: the namespace is removed and made
    // many times while the others connect.
    let io = server.io.clone();
    let rounds = clients.into_iter().map(|mut client| {
        let io = io.clone();
        tokio::spawn(async move {
            for _ in 0..50 {
                let sid = client.connect_ns("/team-9", TOKEN).await;
                let sid = sid.parse().expect("a socket id");
                let namespace = io.of("/team-9").expect("the client is in it");
                assert!(namespace.socket(sid).is_some(), "in the live namespace");
                client.send("41/team-9,").await;
            }
            client
        })
    });
    let clients = futures_util::future::join_all(rounds).await;
    for client in clients {
        client.expect("every round connected").quiet().await;
    }
    gone(&server.io, "/team-9").await;
}
