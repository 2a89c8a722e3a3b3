//! Binary data with the default parser, both ways: `Binary` nested in objects and arrays of
//! events and acks, placeholders numbered in order, attachments sent after their packet.

mod common;

use common::{Server, channel};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tidings::{AckSender, Binary, Data, Io, Socket};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    parts: Vec<Binary>,
    meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    thumbnail: Option<Binary>,
    size: u32,
}

fn upload() -> Upload {
    Upload {
        name: "a.png".into(),
        parts: vec![Binary::from(vec![0x89, b'P']), Binary::from(vec![])],
        meta: Meta {
            thumbnail: Some(Binary::from(vec![7; 3])),
            size: 2,
        },
    }
}

/// Reports every `upload` it decodes; sends `upload()` on `download`, acks `fetch` with it,
/// and asks the client for a file on `ask`, reporting the bytes.
fn server() -> (Io, common::Seen<Upload>, common::Seen<Vec<u8>>) {
    let (uploads, seen_uploads) = channel();
    let (acked, seen_acked) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        let uploads = uploads.clone();
        socket.on("upload", move |Data(upload): Data<Upload>| {
            let _ = uploads.send(upload);
        });
        socket.on("download", |socket: Socket| {
            socket
                .emit("file", &("first", upload(), Binary::from(vec![9])))
                .expect("emits");
        });
        socket.on("fetch", |ack: AckSender| {
            ack.send(&(upload(),)).expect("acks");
        });
        let acked = acked.clone();
        socket.on("ask", move |socket: Socket| {
            let acked = acked.clone();
            async move {
                let reply = socket.emit_with_ack("give", &()).await.expect("an ack");
                let Data(file) = Data(reply.decode::<Binary>().expect("a binary ack"));
                let _ = acked.send(file.to_vec());
            }
        });
    });
    (io, seen_uploads, seen_acked)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_reads_binary_nested_in_objects_and_arrays() {
    let (io, mut uploads, _) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    // Placeholders need not be in attachment order.
    client
        .send(
            r#"453-["upload",{"name":"a.png","parts":[{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}],"meta":{"thumbnail":{"_placeholder":true,"num":0},"size":2}}]"#,
        )
        .await;
    client.send_binary(&[7, 7, 7]).await;
    client.send_binary(&[0x89, b'P']).await;
    client.send_binary(&[]).await;
    assert_eq!(uploads.next("the upload").await, upload());
}

/// Checks that `value` is `upload()` as the client receives it.
fn assert_is_upload(packet: &common::Packet, value: &serde_json::Value) {
    assert_eq!(value["name"], json!("a.png"));
    assert_eq!(value["meta"]["size"], json!(2));
    let parts = value["parts"].as_array().expect("parts is an array");
    assert_eq!(parts.len(), 2);
    assert_eq!(packet.binary(&parts[0]), [0x89, b'P']);
    assert_eq!(packet.binary(&parts[1]), [] as [u8; 0]);
    assert_eq!(packet.binary(&value["meta"]["thumbnail"]), [7, 7, 7]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_sends_binary_nested_in_objects_and_arrays() {
    let (io, _, _) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["download"]"#).await;
    let packet = client.event().await;
    assert_eq!(
        (packet.kind, packet.attachments.len()),
        (5, 4),
        "{packet:?}"
    );
    let args = packet.args_of("file");
    assert_eq!(args.len(), 3);
    assert_eq!(args[0], json!("first"));
    assert_is_upload(&packet, &args[1]);
    assert_eq!(packet.binary(&args[2]), [9]);
    // Placeholders are numbered in the order the values serialize.
    assert_eq!(args[1]["parts"][0]["num"], json!(0));
    assert_eq!(args[2]["num"], json!(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_goes_both_ways_in_acks() {
    let (io, _, mut acked) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"425["fetch"]"#).await;
    let ack = client.ack().await;
    assert_eq!(
        (ack.kind, ack.id, ack.attachments.len()),
        (6, Some(5), 3),
        "{ack:?}"
    );
    let args = ack.ack_args();
    assert_eq!(args.len(), 1);
    assert_is_upload(&ack, &args[0]);

    client.send(r#"42["ask"]"#).await;
    let give = client.event().await;
    assert_eq!(give.args_of("give"), [] as [serde_json::Value; 0]);
    let id = give.id.expect("an ack id");
    client
        .send(&format!(r#"461-{id}[{{"_placeholder":true,"num":0}}]"#))
        .await;
    client.send_binary(b"file").await;
    assert_eq!(acked.next("the binary ack").await, b"file");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_binary_broadcast_reaches_every_recipient_whole() {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.on("join", |socket: Socket, ack: AckSender| {
            socket.join("room").expect("below the room limit");
            ack.send(&()).expect("acks");
        });
    });
    let server = Server::start(io).await;
    let mut one = server.connect().await;
    let mut two = server.connect().await;
    for client in [&mut one, &mut two] {
        client.send(r#"421["join"]"#).await;
        client.ack().await;
    }

    server
        .io
        .to("room")
        .emit(
            "file",
            &(
                Binary::from(vec![1, 2]),
                json!({"k": "v"}),
                Binary::from(vec![3]),
            ),
        )
        .expect("emits");
    for client in [&mut one, &mut two] {
        let packet = client.event().await;
        assert_eq!(packet.kind, 5);
        let args = packet.args_of("file");
        assert_eq!(packet.binary(&args[0]), [1, 2]);
        assert_eq!(args[1], json!({"k": "v"}));
        assert_eq!(packet.binary(&args[2]), [3]);
    }
}
