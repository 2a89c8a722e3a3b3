//! Rooms and broadcasts: join, leave and `rooms()`; `to`, `except`, several rooms and
//! `broadcast()` from a socket (never back to it); the server's emits, acks collected from
//! a room, `fetch_sockets`, `sockets_join`, `sockets_leave` and `disconnect_sockets`.

mod common;

use std::time::Duration;

use common::{Client, Seen, Server, all_quiet, channel};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tidings::{AckSender, BroadcastAckError, Data, Io, Room, Socket};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
}

/// Handlers that act on rooms and ack when done; `rooms` acks with `socket.rooms()`.
/// Reports the rooms a socket is still in when its disconnect handler runs.
fn server() -> (Io, Seen<Vec<Room>>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    io.ns(
        "/",
        move |socket: Socket, Data(profile): Data<Option<Profile>>| {
            if let Some(profile) = profile {
                socket.set_data(profile);
            }
            socket.on(
                "join",
                |socket: Socket, Data(rooms): Data<Vec<String>>, ack: AckSender| {
                    socket.join(rooms).expect("below the room limit");
                    ack.send(&names(&socket.rooms())).expect("acks");
                },
            );
            socket.on(
                "leave",
                |socket: Socket, Data(rooms): Data<Vec<String>>, ack: AckSender| {
                    socket.leave(rooms);
                    ack.send(&names(&socket.rooms())).expect("acks");
                },
            );
            socket.on(
                "to",
                |socket: Socket, Data(rooms): Data<Vec<String>>, ack: AckSender| {
                    socket
                        .to(rooms)
                        .emit("news", socket.id().as_str())
                        .expect("emits");
                    ack.send(&()).expect("acks");
                },
            );
            socket.on(
                "except",
                |socket: Socket, Data(rooms): Data<Vec<String>>, ack: AckSender| {
                    socket
                        .except(rooms)
                        .emit("news", socket.id().as_str())
                        .expect("emits");
                    ack.send(&()).expect("acks");
                },
            );
            socket.on("broadcast", |socket: Socket, ack: AckSender| {
                socket
                    .broadcast()
                    .emit("news", socket.id().as_str())
                    .expect("emits");
                ack.send(&()).expect("acks");
            });
            let tx = tx.clone();
            socket.on_disconnect(move |socket: Socket| {
                let _ = tx.send(socket.rooms());
            });
        },
    );
    (io, seen)
}

/// Room names as strings, to send them.
fn names(rooms: &[Room]) -> Vec<String> {
    rooms.iter().map(|room| room.to_string()).collect()
}

/// A client connected to `/` (with `auth`) and in `rooms`; returns it and its socket id.
async fn member(server: &Server, auth: Option<&str>, rooms: &[&str]) -> (Client, String) {
    let mut client = server.open().await;
    let sid = client.connect_ns("/", auth).await;
    call(&mut client, "join", &json!(rooms)).await;
    (client, sid)
}

/// Sends `event` with `arg` asking for an ack; returns the ack's arguments.
async fn call(client: &mut Client, event: &str, arg: &Value) -> Vec<Value> {
    client.send(&format!(r#"421["{event}",{arg}]"#)).await;
    let ack = client.ack().await;
    assert_eq!(ack.id, Some(1));
    ack.ack_args().to_vec()
}

/// The own room first, then the others sorted.
fn rooms(args: &[Value]) -> (String, Vec<String>) {
    let rooms: Vec<String> = serde_json::from_value(args[0].clone()).expect("a list of rooms");
    let mut others = rooms[1..].to_vec();
    others.sort();
    (rooms[0].clone(), others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_and_leave_rooms() {
    let (io, mut disconnected) = server();
    let server = Server::start(io).await;
    let (mut client, sid) = member(&server, None, &[]).await;

    let joined = call(&mut client, "join", &json!(["b", "a"])).await;
    assert_eq!(rooms(&joined), (sid.clone(), vec!["a".into(), "b".into()]));
    let joined = call(&mut client, "join", &json!(["a", sid])).await;
    assert_eq!(rooms(&joined), (sid.clone(), vec!["a".into(), "b".into()]));
    let left = call(&mut client, "leave", &json!(["a", "nowhere"])).await;
    assert_eq!(rooms(&left), (sid.clone(), vec!["b".into()]));
    assert_eq!(server.io.to("b").sockets().await.len(), 1);

    client.send("41").await;
    let rooms_at_disconnect = disconnected.next("the disconnect").await;
    assert_eq!(rooms_at_disconnect, [Room::from(sid.as_str())]);
    assert!(server.io.to("b").sockets().await.is_empty());
    assert!(server.io.adapter().rooms().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn to_reaches_the_rooms_members_once_but_not_the_sender() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut sender, sender_sid) = member(&server, None, &["r1", "r2"]).await;
    let (mut in_r1, _) = member(&server, None, &["r1"]).await;
    let (mut in_r2, _) = member(&server, None, &["r2"]).await;
    let (mut in_both, _) = member(&server, None, &["r1", "r2"]).await;
    let (mut elsewhere, _) = member(&server, None, &["r3"]).await;

    call(&mut sender, "to", &json!(["r1"])).await;
    assert_eq!(in_r1.event_args("news").await, [json!(sender_sid)]);
    assert_eq!(in_both.event_args("news").await, [json!(sender_sid)]);

    call(&mut sender, "to", &json!(["r1", "r2"])).await;
    for client in [&mut in_r1, &mut in_r2, &mut in_both] {
        assert_eq!(client.event_args("news").await, [json!(sender_sid)]);
    }
    all_quiet(vec![
        &mut sender,
        &mut in_r1,
        &mut in_r2,
        &mut in_both,
        &mut elsewhere,
    ])
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn except_and_broadcast_leave_out_the_sender() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut sender, sender_sid) = member(&server, None, &[]).await;
    let (mut plain, _) = member(&server, None, &[]).await;
    let (mut muted, _) = member(&server, None, &["muted"]).await;

    call(&mut sender, "except", &json!(["muted"])).await;
    assert_eq!(plain.event_args("news").await, [json!(sender_sid)]);

    sender.send(r#"421["broadcast"]"#).await;
    sender.ack().await;
    assert_eq!(plain.event_args("news").await, [json!(sender_sid)]);
    assert_eq!(muted.event_args("news").await, [json!(sender_sid)]);
    all_quiet(vec![&mut sender, &mut plain, &mut muted]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_emits_to_rooms_to_sockets_and_to_everyone() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut a, a_sid) = member(&server, None, &["room"]).await;
    let (mut b, _) = member(&server, None, &["room", "muted"]).await;
    let (mut c, _) = member(&server, None, &[]).await;

    server.io.to("room").emit("n", &1).expect("emits");
    assert_eq!(a.event_args("n").await, [json!(1)]);
    assert_eq!(b.event_args("n").await, [json!(1)]);

    server
        .io
        .to("room")
        .except("muted")
        .emit("n", &2)
        .expect("emits");
    assert_eq!(a.event_args("n").await, [json!(2)]);

    let a_id = a_sid.parse::<tidings::Sid>().expect("a sid");
    server.io.to(a_id).emit("n", &3).expect("emits");
    assert_eq!(a.event_args("n").await, [json!(3)]);

    server.io.emit("n", &4).expect("emits");
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.event_args("n").await, [json!(4)]);
    }
    all_quiet(vec![&mut a, &mut b, &mut c]).await;
}

/// Answers the next `ping` with `answer`.
async fn answer_ping(client: &mut Client, answer: &str) {
    let ping = client.event().await;
    assert_eq!(ping.args_of("ping"), [json!(0)]);
    let id = ping.id.expect("the broadcast asks for an ack");
    client.send(&format!(r#"43{id}["{answer}"]"#)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_broadcast_collects_every_ack() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut a, _) = member(&server, None, &["room"]).await;
    let (mut b, _) = member(&server, None, &["room"]).await;
    let (mut outside, _) = member(&server, None, &[]).await;

    let acks = server
        .io
        .to("room")
        .timeout(Duration::from_secs(4))
        .emit_with_ack("ping", &0)
        .expect("emits");
    answer_ping(&mut a, "a").await;
    answer_ping(&mut b, "b").await;
    let acks = within_deadline(acks).await.expect("every member acked");
    let mut answers: Vec<String> = acks
        .iter()
        .map(|ack| ack.decode().expect("a string"))
        .collect();
    answers.sort();
    assert_eq!(answers, ["a", "b"]);
    outside.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_broadcast_times_out_with_the_acks_that_came() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut a, _) = member(&server, None, &["room"]).await;
    let (mut b, _) = member(&server, None, &["room"]).await;

    let acks = server
        .io
        .to("room")
        .timeout(Duration::from_millis(150))
        .emit_with_ack("ping", &0)
        .expect("emits");
    answer_ping(&mut a, "a").await;
    let silent = b.event().await;
    assert_eq!(silent.args_of("ping"), [json!(0)]);
    let BroadcastAckError { responses, missing } =
        within_deadline(acks).await.expect_err("b never acks");
    assert_eq!(missing, 1);
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].decode::<String>().expect("a string"), "a");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_to_an_empty_room_has_no_acks_to_wait_for() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let acks = server
        .io
        .to("empty")
        .timeout(Duration::from_secs(4))
        .emit_with_ack("ping", &0)
        .expect("emits");
    let acks = tokio::time::timeout(Duration::from_millis(200), acks)
        .await
        .expect("resolves at once");
    assert!(acks.expect("nothing missing").is_empty());
}

async fn within_deadline<F: std::future::Future>(future: F) -> F::Output {
    common::within("the broadcast's acks", future).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_sockets_describes_the_selected_sockets() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (_ana, ana_sid) = member(&server, Some(r#"{"name":"ana"}"#), &["room", "x"]).await;
    let (_bo, bo_sid) = member(&server, Some(r#"{"name":"bo"}"#), &["room"]).await;
    let (_cy, _) = member(&server, None, &[]).await;

    let mut in_room = server.io.to("room").fetch_sockets().await;
    in_room.sort_by_key(|socket| socket.data::<Profile>().map(|p| p.name));
    let ids: Vec<String> = in_room.iter().map(|s| s.id().to_string()).collect();
    assert_eq!(ids, [ana_sid.clone(), bo_sid]);
    let names: Vec<Option<Profile>> = in_room.iter().map(|s| s.data()).collect();
    assert_eq!(
        names,
        [
            Some(Profile { name: "ana".into() }),
            Some(Profile { name: "bo".into() })
        ]
    );
    let mut ana_rooms: Vec<&str> = in_room[0].rooms().iter().map(|r| &**r).collect();
    assert_eq!(ana_rooms[0], ana_sid);
    ana_rooms.sort();
    assert_eq!(ana_rooms.len(), 3);
    assert!(ana_rooms.contains(&"room") && ana_rooms.contains(&"x"));
    let auth: Profile = in_room[0].handshake().auth().expect("the auth payload");
    assert_eq!(auth.name, "ana");

    assert_eq!(server.io.fetch_sockets().await.len(), 3);
    assert_eq!(server.io.except("room").fetch_sockets().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_join_and_sockets_leave_move_the_selected_sockets() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let (mut a, _) = member(&server, None, &["red"]).await;
    let (mut b, _) = member(&server, None, &["red"]).await;
    let (mut c, _) = member(&server, None, &["blue"]).await;

    server.io.to("red").sockets_join("purple");
    server.io.to("blue").sockets_join(["purple", "green"]);
    assert_eq!(server.io.to("purple").sockets().await.len(), 3);
    server.io.to("purple").emit("n", &1).expect("emits");
    for client in [&mut a, &mut b, &mut c] {
        assert_eq!(client.event_args("n").await, [json!(1)]);
    }

    server.io.to("green").sockets_leave("purple");
    server.io.to("purple").emit("n", &2).expect("emits");
    assert_eq!(a.event_args("n").await, [json!(2)]);
    assert_eq!(b.event_args("n").await, [json!(2)]);
    c.quiet().await;

    server.io.sockets_leave("red");
    assert!(server.io.to("red").sockets().await.is_empty());
    let remaining = call(&mut a, "leave", &json!([])).await;
    assert_eq!(rooms(&remaining).1, ["purple"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_sockets_disconnects_or_closes_the_selected_sockets() {
    let (io, mut disconnected) = server();
    let server = Server::start(io).await;
    let (mut leaving, _) = member(&server, None, &["out"]).await;
    let (mut closing, _) = member(&server, None, &["gone"]).await;
    let (mut staying, _) = member(&server, None, &[]).await;

    server.io.to("out").disconnect_sockets(false);
    let packet = leaving.packet().await;
    assert_eq!((packet.kind, packet.nsp.as_str()), (1, "/"));
    disconnected.next("the first disconnect").await;
    // The connection stays: the client can join again.
    leaving.connect_ns("/", None).await;

    server.io.to("gone").disconnect_sockets(true);
    closing.closed().await;
    disconnected.next("the second disconnect").await;

    assert_eq!(server.io.socket_count(), 2);
    staying.send(r#"421["join",["still"]]"#).await;
    staying.ack().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetched_socket_can_be_emitted_to_moved_and_disconnected() {
    let (io, mut disconnected) = server();
    let server = Server::start(io).await;
    let (mut client, sid) = member(&server, None, &["room"]).await;

    let fetched = server.io.to("room").fetch_sockets().await;
    assert_eq!(fetched.len(), 1);
    let remote = &fetched[0];
    assert_eq!(remote.id().as_str(), sid);
    remote.emit("hi", "there").expect("emits");
    assert_eq!(client.event_args("hi").await, [json!("there")]);
    remote.join("vip");
    remote.leave("room");
    let now = call(&mut client, "leave", &json!([])).await;
    assert_eq!(rooms(&now).1, ["vip"]);
    remote.disconnect(false);
    assert_eq!(client.packet().await.kind, 1);
    disconnected.next("the disconnect").await;
}
