//! Several namespaces on one connection: each with its own socket, handlers and rooms; an
//! emit in one never reaches another; leaving one keeps the others.

mod common;

use common::{Server, all_quiet, channel};
use serde_json::json;
use tidings::{AckSender, Data, Io, Socket};

/// `/`, `/a` and `/b` with the same handlers: `who` answers with the namespace and the
/// socket id, `join` joins a room, `shout` emits to a room of the namespace.
fn server() -> Io {
    let io = Io::builder().build();
    for name in ["/", "/a", "/b"] {
        io.ns(name, |socket: Socket| {
            socket.on("who", |socket: Socket, ack: AckSender| {
                let _ = ack.send(&(socket.namespace(), socket.id().as_str()));
            });
            socket.on(
                "join",
                |socket: Socket, Data(room): Data<String>, ack: AckSender| {
                    socket.join(room).expect("below the room limit");
                    let _ = ack.send(&());
                },
            );
            socket.on("shout", |socket: Socket, Data(room): Data<String>| {
                let _ = socket.to(room).emit("shout", socket.namespace());
            });
        });
    }
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_carries_a_socket_per_namespace() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    let main = client.connect_ns("/", None).await;
    let a = client.connect_ns("/a", None).await;
    let b = client.connect_ns("/b", Some(r#"{"token":1}"#)).await;
    assert!(main != a && a != b && main != b);

    for (nsp, sid, prefix) in [("/", &main, ""), ("/a", &a, "/a,"), ("/b", &b, "/b,")] {
        client.send(&format!(r#"42{prefix}4["who"]"#)).await;
        let ack = client.ack().await;
        assert_eq!((ack.nsp.as_str(), ack.id), (nsp, Some(4)));
        assert_eq!(ack.ack_args(), [json!(nsp), json!(sid)]);
    }
    for name in ["/", "/a", "/b"] {
        let namespace = server.io.of(name).expect("exists");
        assert_eq!(namespace.socket_count(), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_namespace_keeps_the_others() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    client.connect_ns("/", None).await;
    client.connect_ns("/a", None).await;
    client.connect_ns("/b", None).await;

    client.send("41/a,").await;
    // Events for the namespace left are dropped; the others still answer.
    client.send(r#"42/a,1["who"]"#).await;
    client.send(r#"42/b,2["who"]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.nsp.as_str(), ack.id), ("/b", Some(2)));
    client.send(r#"423["who"]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.nsp.as_str(), ack.id), ("/", Some(3)));
    assert_eq!(server.io.of("/a").expect("exists").socket_count(), 0);

    // It can come back, with a new socket.
    let again = client.connect_ns("/a", None).await;
    client.send(r#"42/a,5["who"]"#).await;
    assert_eq!(client.ack().await.ack_args()[1], json!(again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connect_to_the_same_namespace_is_ignored() {
    let server = Server::start(server()).await;
    let mut client = server.open().await;
    let sid = client.connect_ns("/a", None).await;
    client.send("40/a,").await;
    client.send(r#"42/a,1["who"]"#).await;
    let ack = client.ack().await;
    assert_eq!(ack.ack_args(), [json!("/a"), json!(sid)]);
    assert_eq!(server.io.of("/a").expect("exists").socket_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_stay_in_their_namespace() {
    let server = Server::start(server()).await;
    let mut only_main = server.open().await;
    only_main.connect_ns("/", None).await;
    let mut only_a = server.open().await;
    only_a.connect_ns("/a", None).await;
    let mut both = server.open().await;
    both.connect_ns("/", None).await;
    both.connect_ns("/a", None).await;

    server
        .io
        .of("/a")
        .expect("exists")
        .emit("n", &1)
        .expect("emits");
    for client in [&mut only_a, &mut both] {
        let packet = client.event().await;
        assert_eq!(packet.nsp, "/a");
        assert_eq!(packet.args_of("n"), [json!(1)]);
    }
    server.io.emit("n", &2).expect("emits");
    for client in [&mut only_main, &mut both] {
        let packet = client.event().await;
        assert_eq!(packet.nsp, "/");
        assert_eq!(packet.args_of("n"), [json!(2)]);
    }
    all_quiet(vec![&mut only_main, &mut only_a, &mut both]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_of_the_same_name_are_apart_in_each_namespace() {
    let server = Server::start(server()).await;
    let mut in_main = server.open().await;
    in_main.connect_ns("/", None).await;
    in_main.send(r#"421["join","room"]"#).await;
    in_main.ack().await;
    let mut in_a = server.open().await;
    in_a.connect_ns("/a", None).await;
    in_a.send(r#"42/a,1["join","room"]"#).await;
    in_a.ack().await;
    let mut shouter = server.open().await;
    shouter.connect_ns("/a", None).await;

    shouter.send(r#"42/a,["shout","room"]"#).await;
    let packet = in_a.event().await;
    assert_eq!(
        (packet.nsp.as_str(), packet.args_of("shout")),
        ("/a", &[json!("/a")][..])
    );

    server.io.to("room").emit("n", &3).expect("emits");
    assert_eq!(in_main.event_args("n").await, [json!(3)]);
    all_quiet(vec![&mut in_main, &mut in_a, &mut shouter]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_the_connection_disconnects_every_namespace() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    for name in ["/", "/a"] {
        let tx = tx.clone();
        io.ns(name, move |socket: Socket| {
            let tx = tx.clone();
            socket.on_disconnect(move |socket: Socket| {
                let _ = tx.send(socket.namespace().to_owned());
            });
        });
    }
    let server = Server::start(io).await;
    let mut client = server.open().await;
    client.connect_ns("/", None).await;
    client.connect_ns("/a", None).await;
    client.close().await;

    let mut namespaces = vec![
        seen.next("a disconnect").await,
        seen.next("a disconnect").await,
    ];
    namespaces.sort();
    assert_eq!(namespaces, ["/", "/a"]);
}
