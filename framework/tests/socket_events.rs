//! Events both ways: handlers by name, the extractors that read their arguments (`Data` with
//! structs, tuples and options, `TryData`, `Payload`, `Bin`, `Event`), `on_any`, `off`,
//! interceptors, and the order events are handled in.

mod common;

use common::{Server, channel};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tidings::{
    AckSender, Bin, Data, EmitError, Event, EventPacket, Io, Payload, Rejected, Socket, State,
    TryData,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Message {
    room: String,
    text: String,
    count: u32,
}

/// A server whose `/` has one handler per extractor under test.
fn server() -> Io {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        let _ = socket.emit("welcome", &("hello", 1));
        socket.on("hello", |socket: Socket, Data(name): Data<String>| {
            let _ = socket.emit("greeting", &format!("hi {name}"));
        });
        socket.on("message", |socket: Socket, Data(message): Data<Message>| {
            let _ = socket.emit("message-back", &message);
        });
        socket.on(
            "sum",
            |socket: Socket, Data((a, b, c)): Data<(i64, i64, i64)>| {
                let _ = socket.emit("sum", &(a + b + c));
            },
        );
        socket.on("maybe", |socket: Socket, Data(value): Data<Option<u8>>| {
            let _ = socket.emit("maybe", &value);
        });
        socket.on(
            "try",
            |socket: Socket, TryData(message): TryData<Message>| {
                let _ = match message {
                    Ok(message) => socket.emit("try-ok", &message.text),
                    Err(error) => socket.emit("try-err", &error.to_string()),
                };
            },
        );
        socket.on("echo", |socket: Socket, payload: Payload| {
            let _ = socket.emit("echo-back", &payload);
        });
        socket.on("bin", |socket: Socket, Bin(parts): Bin| {
            let parts: Vec<Vec<u8>> = parts.iter().map(|bytes| bytes.to_vec()).collect();
            let _ = socket.emit("bin-back", &parts);
        });
        socket.on("vec", |socket: Socket| {
            let _ = socket.emit("vec", &vec![1, 2, 3]);
        });
        socket.on("none", |socket: Socket| {
            let _ = socket.emit("none", &());
        });
        socket.on("async", |socket: Socket, Data(n): Data<u32>| async move {
            tokio::task::yield_now().await;
            let _ = socket.emit("async-back", &(n * 2));
        });
        socket.on("nth", |socket: Socket, Data(n): Data<u32>| {
            let _ = socket.emit("nth", &n);
        });
        socket.on_fallback(|socket: Socket, Event(name): Event, payload: Payload| {
            let _ = socket.emit("any", &(name, payload));
        });
        // Every event passes here first; `seen` tells how many did.
        let seen = Arc::new(AtomicU32::new(0));
        socket.on_any({
            let seen = seen.clone();
            move |Event(name): Event| {
                if name != "seen" {
                    seen.fetch_add(1, Ordering::SeqCst);
                }
            }
        });
        socket.on("seen", move |ack: AckSender| {
            let _ = ack.send(&seen.load(Ordering::SeqCst));
        });
        socket.on("off", |socket: Socket, Data(event): Data<String>| {
            socket.off(&event);
            let _ = socket.emit("off", &event);
        });
    });
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_handler_emits_and_events_reach_their_handlers() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    assert_eq!(
        client.event_args("welcome").await,
        [json!("hello"), json!(1)]
    );

    client.send(r#"42["hello","ana"]"#).await;
    assert_eq!(client.event_args("greeting").await, [json!("hi ana")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tuple_is_several_arguments_a_vec_one_and_unit_none() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["vec"]"#).await;
    assert_eq!(client.event_args("vec").await, [json!([1, 2, 3])]);
    client.send(r#"42["none"]"#).await;
    let packet = client.event().await;
    assert_eq!(packet.data, Some(json!(["none"])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_reads_structs_tuples_and_options() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client
        .send(r#"42["message",{"room":"r1","text":"hey","count":3}]"#)
        .await;
    assert_eq!(
        client.event_args("message-back").await,
        [json!({"room": "r1", "text": "hey", "count": 3})]
    );

    client.send(r#"42["sum",1,2,39]"#).await;
    assert_eq!(client.event_args("sum").await, [json!(42)]);

    client.send(r#"42["maybe"]"#).await;
    assert_eq!(client.event_args("maybe").await, [json!(null)]);
    client.send(r#"42["maybe",7]"#).await;
    assert_eq!(client.event_args("maybe").await, [json!(7)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_that_does_not_fit_skips_the_handler() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["sum","one",2,3]"#).await;
    client.send(r#"42["sum",1,2]"#).await;
    client.send(r#"42["message",{"room":"r1"}]"#).await;
    client.send(r#"42["sum",1,2,3]"#).await;
    // Events are handled in order: the first answer is the one to the last event.
    assert_eq!(client.event_args("sum").await, [json!(6)]);
    client.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn try_data_hands_the_error_to_the_handler() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["try",{"room":"r1","text":5}]"#).await;
    let error = client.event_args("try-err").await;
    let error = error[0].as_str().expect("the error is a string");
    assert!(error.contains("do not fit"), "{error}");

    client
        .send(r#"42["try",{"room":"r1","text":"fine","count":0}]"#)
        .await;
    assert_eq!(client.event_args("try-ok").await, [json!("fine")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payload_goes_back_unchanged_binary_included() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client
        .send(r#"42["echo",1,"two",{"three":[3,null,true]},[]]"#)
        .await;
    assert_eq!(
        client.event_args("echo-back").await,
        [
            json!(1),
            json!("two"),
            json!({"three": [3, null, true]}),
            json!([])
        ]
    );

    client.send(r#"42["echo"]"#).await;
    assert_eq!(client.event().await.data, Some(json!(["echo-back"])));

    client
        .send(r#"452-["echo",{"a":[1,{"_placeholder":true,"num":0}]},"s",{"_placeholder":true,"num":1}]"#)
        .await;
    client.send_binary(&[1, 2, 3]).await;
    client.send_binary(&[]).await;
    let packet = client.event().await;
    assert_eq!(packet.kind, 5);
    let args = packet.args_of("echo-back");
    assert_eq!(args.len(), 3, "{packet:?}");
    assert_eq!(args[1], json!("s"));
    assert_eq!(packet.binary(&args[0]["a"][1]), [1, 2, 3]);
    assert_eq!(args[0]["a"][0], json!(1));
    assert_eq!(packet.binary(&args[2]), [] as [u8; 0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bin_extracts_every_attachment_in_order() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client
        .send(r#"452-["bin",{"x":{"_placeholder":true,"num":1}},"text",[{"_placeholder":true,"num":0}]]"#)
        .await;
    client.send_binary(&[10]).await;
    client.send_binary(&[20, 21]).await;
    // Placeholder order, which is the order the attachments came in.
    assert_eq!(
        client.event_args("bin-back").await,
        [json!([[10], [20, 21]])]
    );

    client.send(r#"42["bin","no binary"]"#).await;
    assert_eq!(client.event_args("bin-back").await, [json!([])]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_fallback_gets_the_events_without_a_handler_of_their_own() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["unknown",1,"x"]"#).await;
    assert_eq!(
        client.event_args("any").await,
        [json!("unknown"), json!([1, "x"])]
    );
    client.send(r#"42["hello","bo"]"#).await;
    assert_eq!(client.event_args("greeting").await, [json!("hi bo")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_any_sees_every_event_before_its_handler() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["hello","ana"]"#).await;
    assert_eq!(client.event_args("greeting").await, [json!("hi ana")]);
    client.send(r#"42["unknown"]"#).await;
    assert_eq!(
        client.event_args("any").await,
        [json!("unknown"), json!([])]
    );
    client.send(r#"421["seen"]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn off_removes_a_handler() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["off","hello"]"#).await;
    assert_eq!(client.event_args("off").await, [json!("hello")]);
    // `hello` has no handler of its own any more: `on_fallback` gets it.
    client.send(r#"42["hello","ana"]"#).await;
    assert_eq!(
        client.event_args("any").await,
        [json!("hello"), json!(["ana"])]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_handlers_run_and_events_are_handled_in_order() {
    let server = Server::start(server()).await;
    let mut client = server.connect().await;
    client.event_args("welcome").await;

    client.send(r#"42["async",21]"#).await;
    assert_eq!(client.event_args("async-back").await, [json!(42)]);

    for n in 0..50 {
        client.send(&format!(r#"42["nth",{n}]"#)).await;
    }
    for n in 0..50 {
        assert_eq!(client.event_args("nth").await, [json!(n)]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_with_a_reserved_name_or_to_a_gone_socket_fail() {
    let (tx, mut seen) = channel();
    let io = Io::builder().build();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        socket.on("try", move |socket: Socket| {
            let _ = tx.send(socket.emit("disconnect", &()));
            let _ = tx.send(socket.emit("connect_error", &1));
            let _ = tx.send(socket.emit("fine", &()));
            socket.disconnect();
            let _ = tx.send(socket.emit("fine", &()));
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send(r#"42["try"]"#).await;

    let reserved = seen.next("the first emit").await;
    assert!(
        matches!(reserved, Err(EmitError::ReservedEvent(ref e)) if e == "disconnect"),
        "{reserved:?}"
    );
    let reserved = seen.next("the second emit").await;
    assert!(
        matches!(reserved, Err(EmitError::ReservedEvent(ref e)) if e == "connect_error"),
        "{reserved:?}"
    );
    assert!(seen.next("the third emit").await.is_ok());
    let gone = seen.next("the emit after the disconnect").await;
    assert!(matches!(gone, Err(EmitError::Disconnected)), "{gone:?}");

    assert_eq!(client.event().await.data, Some(json!(["fine"])));
    let disconnect = client.packet().await;
    assert_eq!((disconnect.kind, disconnect.data), (1, None));
    client.quiet().await;
}

/// A server whose interceptor rejects `admin:*` events, renames `old` to `new`, and
/// replaces the arguments of `change`.
fn intercepting_server() -> Io {
    let io = Io::builder().build();
    io.ns("/", |socket: Socket| {
        socket.intercept(|packet: &mut EventPacket| {
            if packet.event().starts_with("admin:") {
                return Err(Rejected::new("not an admin"));
            }
            match packet.event() {
                "old" => packet.set_event("new"),
                "change" => {
                    let args = ("changed", packet.wants_ack());
                    packet.set_args(&args).expect("serializable");
                }
                _ => {}
            }
            Ok(())
        });
        for event in ["new", "change", "admin:stats"] {
            socket.on(event, move |socket: Socket, payload: Payload| {
                let _ = socket.emit(event, &payload);
            });
        }
    });
    io
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interceptors_reject_events_and_change_their_arguments() {
    let server = Server::start(intercepting_server()).await;
    let mut client = server.connect().await;

    client.send(r#"42["admin:stats"]"#).await;
    client.send(r#"42["change","original"]"#).await;
    assert_eq!(
        client.event_args("change").await,
        [json!("changed"), json!(false)]
    );
    client.send(r#"421["change","original"]"#).await;
    assert_eq!(
        client.event_args("change").await,
        [json!("changed"), json!(true)]
    );
    // The handler sent no ack of its own: the client still gets one, empty.
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(1), &[][..]));
    client.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interceptor_that_renames_an_event_sends_it_to_the_new_handler() {
    let server = Server::start(intercepting_server()).await;
    let mut client = server.connect().await;

    client.send(r#"42["old","original"]"#).await;
    assert_eq!(client.event_args("new").await, [json!("original")]);
}

#[derive(Clone, Default)]
struct Counter(Arc<AtomicU32>);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_share_the_servers_state() {
    let io = Io::builder().state(Counter::default()).build();
    io.ns("/", |socket: Socket, State(counter): State<Counter>| {
        counter.0.fetch_add(1, Ordering::SeqCst);
        socket.on("count", |State(counter): State<Counter>, ack: AckSender| {
            let _ = ack.send(&counter.0.load(Ordering::SeqCst));
        });
        // A handler whose state was never given is skipped.
        socket.on("missing", |State(_): State<String>, ack: AckSender| {
            let _ = ack.send("unreachable");
        });
    });
    let server = Server::start(io).await;
    let mut one = server.connect().await;
    let _two = server.connect().await;

    one.send(r#"421["missing"]"#).await;
    one.send(r#"422["count"]"#).await;
    let ack = one.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(2), &[json!(2)][..]));
}
