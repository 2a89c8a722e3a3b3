//! Malformed packets from a client close that client's connection (its sockets disconnect
//! with `parse error`), and only that one: another client of the same server keeps getting
//! answers. Packets that are merely pointless (an event for a namespace the client has not
//! joined) are dropped without closing anything.

mod common;

use common::{Client, Seen, Server, channel};
use serde_json::json;
use tidings::{AckSender, DisconnectReason, Io, Socket};

/// What an offender sends: text and binary Engine.IO messages, in order.
enum Send {
    Text(&'static str),
    Binary(&'static [u8]),
}

use Send::{Binary, Text};

/// Each case: its name, and what the offender sends after connecting to `/`.
const CASES: &[(&str, &[Send])] = &[
    ("bad JSON", &[Text(r#"42["ping",{"a":}]"#)]),
    ("truncated JSON", &[Text(r#"42["ping""#)]),
    ("unknown packet type", &[Text(r#"47["ping"]"#)]),
    ("packet type that is not a digit", &[Text(r#"4x["ping"]"#)]),
    ("empty Socket.IO packet", &[Text("4")]),
    ("event that is not an array", &[Text(r#"42{"ping":1}"#)]),
    ("event without a name", &[Text("42[]")]),
    ("event name that is a number", &[Text(r#"42[1,"ping"]"#)]),
    ("event name that is an object", &[Text(r#"42[{"ping":1}]"#)]),
    ("reserved event name", &[Text(r#"42["disconnect"]"#)]),
    ("ack without an id", &[Text(r#"43["pong"]"#)]),
    ("ack that is not an array", &[Text(r#"431"pong""#)]),
    (
        "CONNECT_ERROR from a client",
        &[Text(r#"44{"message":"no"}"#)],
    ),
    ("CONNECT with an array", &[Text(r#"40/other,["auth"]"#)]),
    (
        "ack id over 2^53 - 1",
        &[Text(r#"429007199254740992["ping"]"#)],
    ),
    (
        "ack id over u64",
        &[Text(r#"4299999999999999999999["ping"]"#)],
    ),
    (
        "too many attachments",
        &[Text(r#"4511-["ping",{"_placeholder":true,"num":0}]"#)],
    ),
    (
        "attachment count without a dash",
        &[Text(r#"451["ping",{"_placeholder":true,"num":0}]"#)],
    ),
    (
        "placeholder past the attachments",
        &[
            Text(r#"451-["ping",{"_placeholder":true,"num":1}]"#),
            Binary(&[1]),
        ],
    ),
    (
        "placeholder with a negative number",
        &[
            Text(r#"451-["ping",{"_placeholder":true,"num":-1}]"#),
            Binary(&[1]),
        ],
    ),
    (
        "text while attachments are awaited",
        &[
            Text(r#"452-["ping",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#),
            Binary(&[1]),
            Text(r#"42["ping"]"#),
        ],
    ),
    ("binary without a binary packet", &[Binary(&[1, 2, 3])]),
];

/// A server that acks `ping` with `pong`, and reports every disconnect.
fn server() -> (Io, Seen<DisconnectReason>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        socket.on("ping", |ack: AckSender| {
            let _ = ack.send("pong");
        });
        let tx = tx.clone();
        socket.on_disconnect(move |reason: DisconnectReason| {
            let _ = tx.send(reason);
        });
    });
    (io, seen)
}

/// Asserts that `client` is answered.
async fn answered(client: &mut Client, case: &str) {
    client.send(r#"429["ping"]"#).await;
    let ack = client.ack().await;
    assert_eq!(
        (ack.id, ack.ack_args()),
        (Some(9), &[json!("pong")][..]),
        "{case}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_packet_closes_only_its_senders_connection() {
    let (io, mut disconnects) = server();
    let server = Server::start(io).await;
    let mut bystander = server.connect().await;

    for (case, messages) in CASES {
        let mut offender = server.connect().await;
        answered(&mut offender, case).await;
        for message in *messages {
            match message {
                Text(text) => offender.send(text).await,
                Binary(bytes) => offender.send_binary(bytes).await,
            }
        }
        let before = offender.closed().await;
        assert!(before.is_empty(), "{case}: the offender got {before:?}");
        assert_eq!(
            disconnects.next(case).await,
            DisconnectReason::ParseError,
            "{case}"
        );
        answered(&mut bystander, case).await;
    }
    assert_eq!(server.io.socket_count(), 1);
    disconnects.none("another disconnect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_packet_before_any_namespace_closes_the_connection() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let mut bystander = server.connect().await;
    let mut offender = server.open().await;
    offender.send("4{").await;
    offender.closed().await;
    answered(&mut bystander, "before any namespace").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attachment_limit_is_configurable() {
    let (tx, mut seen) = channel();
    let io = Io::builder().max_attachments(2).build();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        socket.on("files", move |tidings::Bin(files): tidings::Bin| {
            let _ = tx.send(files.len());
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client
        .send(r#"452-["files",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]"#)
        .await;
    client.send_binary(&[1]).await;
    client.send_binary(&[2]).await;
    assert_eq!(seen.next("two files").await, 2);

    client
        .send(r#"453-["files",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]"#)
        .await;
    client.closed().await;
    seen.none("three files").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_for_a_namespace_not_joined_are_dropped() {
    let (io, mut disconnects) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42/elsewhere,1["ping"]"#).await;
    client.send(r#"43/elsewhere,1["pong"]"#).await;
    client.send("41/elsewhere,").await;
    client.quiet().await;
    answered(&mut client, "after packets for another namespace").await;
    disconnects.none("a disconnect").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_that_is_not_a_placeholder_target_is_not_an_error() {
    // Node accepts attachments that no placeholder names; so does Tidings.
    let (io, _) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send(r#"451-5["ping"]"#).await;
    client.send_binary(&[1]).await;
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(5), &[json!("pong")][..]));
}
