//! The limit on rooms per socket: `join` beyond it fails and joins nothing; `sockets_join`
//! skips the sockets at the limit and joins the others.

mod common;

use common::{Client, Seen, Server, channel};
use serde_json::json;
use tidings::{AckSender, Data, Io, JoinError, Room, Socket};

/// A server allowing `max` rooms per socket: `join` acks the socket's rooms or the error,
/// `everyone-join` makes every socket join a room; connected sockets are reported.
fn server(max: usize) -> (Io, Seen<Socket>) {
    let (tx, seen) = channel();
    let io = Io::builder().max_rooms_per_socket(max).build();
    io.ns("/", move |socket: Socket| {
        let _ = tx.send(socket.clone());
        socket.on(
            "join",
            |socket: Socket, Data(rooms): Data<Vec<String>>, ack: AckSender| {
                let _ = match socket.join(rooms) {
                    Ok(()) => ack.send(&names(&socket.rooms())),
                    Err(error) => ack.send(&json!({ "error": error.to_string() })),
                };
            },
        );
        socket.on(
            "everyone-join",
            |socket: Socket, Data(room): Data<String>, ack: AckSender| {
                socket.ns().sockets_join(room);
                let _ = ack.send("ok");
            },
        );
    });
    (io, seen)
}

/// The joined rooms, the socket's own left out (it is first), sorted.
fn names(rooms: &[Room]) -> Vec<String> {
    let mut names: Vec<String> = rooms.iter().skip(1).map(ToString::to_string).collect();
    names.sort();
    names
}

/// A new client of `server`, and its socket as the connection handler reported it.
async fn connected(server: &Server, sockets: &mut Seen<Socket>) -> (Client, Socket) {
    let client = server.connect().await;
    (client, sockets.next("the socket").await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_beyond_the_limit_fails_and_joins_nothing() {
    let (io, mut sockets) = server(3);
    let server = Server::start(io).await;
    let (mut client, socket) = connected(&server, &mut sockets).await;

    client.send(r#"421["join",["a","b"]]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!(["a", "b"])]);
    // Two new rooms would make four: none is joined.
    client.send(r#"422["join",["c","d"]]"#).await;
    assert_eq!(
        client.ack().await.ack_args(),
        [json!({"error": "the socket would be in more than 3 rooms"})]
    );
    assert_eq!(names(&socket.rooms()), ["a", "b"]);
    // Rooms it is in already, and its own room, do not count again.
    client.send(r#"423["join",["a","b","c"]]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!(["a", "b", "c"])]);
    assert_eq!(
        socket.join([socket.id().as_str(), "a"]),
        Ok(()),
        "its own room and a joined one"
    );
    assert_eq!(socket.join("d"), Err(JoinError::TooManyRooms { max: 3 }));
    // Once it leaves one, it may join another.
    socket.leave("a");
    assert_eq!(socket.join("d"), Ok(()));
    assert_eq!(names(&socket.rooms()), ["b", "c", "d"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_skips_the_sockets_at_the_limit() {
    let (io, mut sockets) = server(1);
    let server = Server::start(io).await;
    let (mut full, full_socket) = connected(&server, &mut sockets).await;
    let (mut other, other_socket) = connected(&server, &mut sockets).await;

    full.send(r#"421["join",["mine"]]"#).await;
    assert_eq!(full.ack().await.ack_args(), [json!(["mine"])]);
    other.send(r#"421["everyone-join","all"]"#).await;
    assert_eq!(other.ack().await.ack_args(), [json!("ok")]);

    assert_eq!(names(&full_socket.rooms()), ["mine"]);
    assert_eq!(names(&other_socket.rooms()), ["all"]);
    // The room reaches the socket that joined it only.
    server.io.to("all").emit("news", &1).expect("emits");
    assert_eq!(other.event().await.args_of("news"), [json!(1)]);
    full.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_limit_leaves_ordinary_apps_alone() {
    let (tx, mut sockets) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        let _ = tx.send(socket);
    });
    let server = Server::start(io).await;
    let _client = server.connect().await;
    let socket = sockets.next("the socket").await;
    let rooms: Vec<String> = (0..10_000).map(|i| format!("room-{i}")).collect();
    assert_eq!(socket.join(rooms), Ok(()));
    assert_eq!(
        socket.join("one-more"),
        Err(JoinError::TooManyRooms { max: 10_000 })
    );
}
