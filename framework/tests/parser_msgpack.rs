//! The msgpack parser (`Parser::MsgPack`, the npm package `socket.io-msgpack-parser`) end to
//! end: connects with auth and refusals, events both ways, acks both ways, binary data
//! nested in arguments, and malformed input. The client's packets are built with `rmpv`,
//! independently of the crate's codec.

mod common;

use common::{Client, Seen, Server, channel};
use rmpv::Value;
use serde::{Deserialize, Serialize};
use tidings::{AckSender, Binary, ConnectError, Data, Io, Parser, Payload, Socket};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Upload {
    name: String,
    parts: Vec<Binary>,
    meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Meta {
    thumbnail: Binary,
    size: u32,
}

fn upload() -> Upload {
    Upload {
        name: "a.png".into(),
        parts: vec![Binary::from(vec![1, 2]), Binary::from(vec![])],
        meta: Meta {
            thumbnail: Binary::from(vec![7; 3]),
            size: 2,
        },
    }
}

/// `upload()` as a msgpack value.
fn upload_value() -> Value {
    Value::Map(vec![
        ("name".into(), "a.png".into()),
        (
            "parts".into(),
            Value::Array(vec![Value::Binary(vec![1, 2]), Value::Binary(vec![])]),
        ),
        (
            "meta".into(),
            Value::Map(vec![
                ("thumbnail".into(), Value::Binary(vec![7; 3])),
                ("size".into(), 2.into()),
            ]),
        ),
    ])
}

fn array(items: Vec<Value>) -> Option<Value> {
    Some(Value::Array(items))
}

/// A msgpack server: `/` echoes, sums, decodes uploads, sends files, and asks questions;
/// `/admin` wants token `secret`.
fn server() -> (Io, Seen<String>) {
    let (tx, seen) = channel();
    let io = Io::builder().parser(Parser::MsgPack).build();
    let on_main = tx.clone();
    io.ns("/", move |socket: Socket| {
        let _ = socket.emit("welcome", &("hi", 1));
        socket.on("echo", |socket: Socket, payload: Payload| {
            let _ = socket.emit("echo-back", &payload);
        });
        socket.on("add", |Data((a, b)): Data<(i64, i64)>, ack: AckSender| {
            ack.send(&(a + b)).expect("acks");
        });
        let uploads = on_main.clone();
        socket.on("upload", move |Data(upload): Data<Upload>| {
            let _ = uploads.send(format!("{upload:?}"));
        });
        socket.on("download", |socket: Socket| {
            socket.emit("file", &("first", upload())).expect("emits");
        });
        socket.on("fetch", |ack: AckSender| {
            ack.send(&upload()).expect("acks");
        });
        let answers = on_main.clone();
        socket.on("ask", move |socket: Socket| {
            let answers = answers.clone();
            async move {
                let outcome = match socket
                    .emit_with_ack("question", &Binary::from(vec![5]))
                    .await
                {
                    Ok(reply) => match reply.decode::<(String, Binary)>() {
                        Ok((text, bytes)) => format!("{text} {:?}", &bytes[..]),
                        Err(error) => error.to_string(),
                    },
                    Err(error) => error.to_string(),
                };
                let _ = answers.send(outcome);
            }
        });
    });
    io.ns("/admin", move |_: Socket| {
        let _ = tx.send("admin".to_owned());
    })
    .middleware(|Data(token): Data<Option<Auth>>| match token {
        Some(Auth { token }) if token == "secret" => Ok(()),
        _ => {
            Err(ConnectError::new("not authorized").with_data(&serde_json::json!({"retry": false})))
        }
    });
    (io, seen)
}

#[derive(Deserialize)]
struct Auth {
    token: String,
}

/// Connects to `nsp` with `auth`; returns the socket id.
async fn connect(client: &mut Client, nsp: &str, auth: Option<Value>) -> String {
    client.send_msgpack(0, nsp, None, auth).await;
    let packet = client.msgpack().await;
    assert_eq!((packet.kind, packet.nsp.as_str()), (0, nsp), "{packet:?}");
    let data = packet.data.expect("a CONNECT has data");
    let sid = data
        .as_map()
        .and_then(|map| map.iter().find(|(k, _)| k.as_str() == Some("sid")))
        .and_then(|(_, sid)| sid.as_str())
        .expect("a sid");
    sid.to_owned()
}

async fn connected(server: &Server) -> Client {
    let mut client = server.open().await;
    connect(&mut client, "/", None).await;
    let welcome = client.msgpack().await;
    assert_eq!(
        welcome.event(),
        ("welcome", &[Value::from("hi"), Value::from(1)][..])
    );
    client
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connects_with_auth_and_refusals_carry_message_and_data() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;
    let sid = connect(&mut client, "/", None).await;
    let socket = server.io.sockets().socket(sid.parse().expect("a sid"));
    assert_eq!(
        socket.map(|s| s.namespace().to_owned()).as_deref(),
        Some("/")
    );
    assert_eq!(client.msgpack().await.event().0, "welcome");

    client
        .send_msgpack(
            0,
            "/admin",
            None,
            Some(Value::Map(vec![("token".into(), "guess".into())])),
        )
        .await;
    let refusal = client.msgpack().await;
    assert_eq!((refusal.kind, refusal.nsp.as_str()), (4, "/admin"));
    assert_eq!(
        refusal.data,
        Some(Value::Map(vec![
            ("message".into(), "not authorized".into()),
            (
                "data".into(),
                Value::Map(vec![("retry".into(), false.into())])
            ),
        ]))
    );

    connect(
        &mut client,
        "/admin",
        Some(Value::Map(vec![("token".into(), "secret".into())])),
    )
    .await;
    assert_eq!(seen.next("the admin connection").await, "admin");

    client.send_msgpack(0, "/nope", None, None).await;
    let invalid = client.msgpack().await;
    assert_eq!((invalid.kind, invalid.nsp.as_str()), (4, "/nope"));
    assert_eq!(
        invalid.data,
        Some(Value::Map(vec![(
            "message".into(),
            "Invalid namespace".into()
        )]))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_go_both_ways() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let mut client = connected(&server).await;

    let args = [
        Value::from(1),
        Value::from("two"),
        Value::Map(vec![(
            "k".into(),
            Value::Array(vec![true.into(), Value::Nil]),
        )]),
        Value::F64(1.5),
        Value::from(-3),
    ];
    let mut data = vec![Value::from("echo")];
    data.extend(args.iter().cloned());
    client.send_msgpack(2, "/", None, array(data)).await;
    let echo = client.msgpack().await;
    assert_eq!(echo.nsp, "/");
    assert_eq!(echo.event(), ("echo-back", &args[..]));

    // The JavaScript client adds `options`, in any key order.
    let packet = Value::Map(vec![
        ("data".into(), Value::Array(vec!["echo".into(), 1.into()])),
        (
            "options".into(),
            Value::Map(vec![("compress".into(), true.into())]),
        ),
        ("nsp".into(), "/".into()),
        ("type".into(), 2.into()),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &packet).expect("writes to a Vec");
    client.send_binary(&bytes).await;
    assert_eq!(
        client.msgpack().await.event(),
        ("echo-back", &[Value::from(1)][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_with_undefined_data_has_no_auth() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let mut client = server.open().await;
    // notepack's `undefined`, which the JavaScript client sends without `auth`.
    let undefined = Value::Ext(0, vec![0]);
    connect(&mut client, "/", Some(undefined)).await;
    assert_eq!(client.msgpack().await.event().0, "welcome");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_go_both_ways() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = connected(&server).await;

    client
        .send_msgpack(
            2,
            "/",
            Some(12),
            array(vec!["add".into(), 40.into(), 2.into()]),
        )
        .await;
    let ack = client.msgpack().await;
    assert_eq!((ack.kind, ack.nsp.as_str(), ack.id), (3, "/", Some(12)));
    assert_eq!(ack.data, array(vec![42.into()]));

    client
        .send_msgpack(2, "/", None, array(vec!["ask".into()]))
        .await;
    let question = client.msgpack().await;
    assert_eq!(
        question.event(),
        ("question", &[Value::Binary(vec![5])][..])
    );
    let id = question.id.expect("the server asks for an ack");
    client
        .send_msgpack(
            3,
            "/",
            Some(id),
            array(vec!["yes".into(), Value::Binary(vec![6, 7])]),
        )
        .await;
    assert_eq!(seen.next("the answer").await, "yes [6, 7]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_nested_in_arguments_goes_both_ways() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = connected(&server).await;

    client
        .send_msgpack(2, "/", None, array(vec!["upload".into(), upload_value()]))
        .await;
    assert_eq!(seen.next("the upload").await, format!("{:?}", upload()));

    client
        .send_msgpack(2, "/", None, array(vec!["download".into()]))
        .await;
    let file = client.msgpack().await;
    assert_eq!(
        file.event(),
        ("file", &[Value::from("first"), upload_value()][..])
    );

    client
        .send_msgpack(2, "/", Some(3), array(vec!["fetch".into()]))
        .await;
    let ack = client.msgpack().await;
    assert_eq!((ack.kind, ack.id), (3, Some(3)));
    assert_eq!(ack.data, array(vec![upload_value()]));

    // Binary arguments pass through a `Payload` unchanged.
    client
        .send_msgpack(
            2,
            "/",
            None,
            array(vec!["echo".into(), upload_value(), Value::Binary(vec![9])]),
        )
        .await;
    let echo = client.msgpack().await;
    assert_eq!(
        echo.event(),
        ("echo-back", &[upload_value(), Value::Binary(vec![9])][..])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_only_the_offender() {
    let (io, _) = server();
    let server = Server::start(io).await;
    let mut bystander = connected(&server).await;

    let event = |kind: u64, id: Option<u64>, data: Option<Value>| {
        Message::Binary(common::MsgPacket::encode(kind, "/", id, data))
    };
    let mut trailing = common::MsgPacket::encode(2, "/", None, array(vec!["echo".into()]));
    trailing.push(0xc0);
    let cases = vec![
        ("a text packet", Message::Text(r#"2["echo"]"#)),
        ("not msgpack", Message::Binary(vec![0xc1])),
        ("truncated", Message::Binary(vec![0x82, 0xa4, b't'])),
        ("not a map", Message::Binary(vec![0x92, 0x02, 0xa1, b'/'])),
        ("trailing bytes", Message::Binary(trailing)),
        ("unknown type", event(9, None, array(vec!["echo".into()]))),
        (
            "event without a name",
            event(2, None, array(vec![1.into()])),
        ),
        (
            "event that is not an array",
            event(2, None, Some("echo".into())),
        ),
        (
            "reserved event",
            event(2, None, array(vec!["connect".into()])),
        ),
        ("ack without an id", event(3, None, array(vec![]))),
        (
            "ack id over 2^53 - 1",
            event(
                2,
                Some(1 << 53),
                array(vec!["add".into(), 1.into(), 1.into()]),
            ),
        ),
    ];
    for (case, message) in &cases {
        let mut offender = connected(&server).await;
        match message {
            Message::Text(text) => offender.send(&format!("4{text}")).await,
            Message::Binary(bytes) => offender.send_binary(bytes).await,
        }
        let before = offender.closed().await;
        assert!(before.is_empty(), "{case}: {before:?}");

        bystander
            .send_msgpack(
                2,
                "/",
                Some(1),
                array(vec!["add".into(), 1.into(), 1.into()]),
            )
            .await;
        let ack = bystander.msgpack().await;
        assert_eq!(
            (ack.id, ack.data),
            (Some(1), array(vec![2.into()])),
            "{case}"
        );
    }
}

/// What the offender sends.
enum Message {
    Text(&'static str),
    Binary(Vec<u8>),
}
