//! Acks both ways: the client's acks answered with `AckSender` (sync, async, in a namespace,
//! when none was asked for), and the server's `emit_with_ack` answered, timed out, or cut
//! short by a disconnect.

mod common;

use std::time::Duration;

use common::{Server, channel};
use serde_json::json;
use tidings::{AckError, AckSender, Data, Io, Socket};

/// A server that acks `add` with the sum, `pair` with two arguments, `nothing` with none,
/// `later` after a yield, and reports whether `asked` asked for an ack.
fn server() -> (Io, common::Seen<bool>) {
    let (tx, seen) = channel();
    let io = Io::builder().build();
    let handlers = move |socket: Socket| {
        socket.on("add", |Data((a, b)): Data<(i64, i64)>, ack: AckSender| {
            ack.send(&(a + b)).expect("the ack goes out");
        });
        socket.on("pair", |ack: AckSender| {
            ack.send(&("a", 1)).expect("the ack goes out");
        });
        socket.on("nothing", |ack: AckSender| {
            ack.send(&()).expect("the ack goes out");
        });
        socket.on("later", |Data(n): Data<u32>, ack: AckSender| async move {
            tokio::task::yield_now().await;
            ack.send(&n).expect("the ack goes out");
        });
        let tx = tx.clone();
        socket.on("asked", move |socket: Socket, ack: AckSender| {
            let _ = tx.send(ack.is_requested());
            ack.send("answer").expect("no ack is no error");
            let _ = socket.emit("handled", &());
        });
    };
    io.ns("/", handlers.clone());
    io.ns("/math", handlers);
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_acks_the_clients_events() {
    let (io, _seen) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"421["add",2,3]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.kind, ack.nsp.as_str(), ack.id), (3, "/", Some(1)));
    assert_eq!(ack.ack_args(), [json!(5)]);

    client.send(r#"429007199254740991["pair"]"#).await;
    let ack = client.ack().await;
    assert_eq!(ack.id, Some(9_007_199_254_740_991));
    assert_eq!(ack.ack_args(), [json!("a"), json!(1)]);

    client.send(r#"420["nothing"]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(0), &[][..]));

    client.send(r#"4277["later",8]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(77), &[json!(8)][..]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_in_a_namespace_carry_its_name() {
    let (io, _seen) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.connect_ns("/math", None).await;

    client.send(r#"42/math,7["add",20,22]"#).await;
    let ack = client.ack().await;
    assert_eq!((ack.nsp.as_str(), ack.id), ("/math", Some(7)));
    assert_eq!(ack.ack_args(), [json!(42)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_ack_goes_out_when_none_was_asked_for() {
    let (io, mut seen) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["asked"]"#).await;
    assert!(!seen.next("the handler").await);
    assert_eq!(client.event().await.data, Some(json!(["handled"])));

    client.send(r#"423["asked"]"#).await;
    assert!(seen.next("the handler").await);
    let ack = client.ack().await;
    assert_eq!((ack.id, ack.ack_args()), (Some(3), &[json!("answer")][..]));
    assert_eq!(client.event().await.data, Some(json!(["handled"])));
}

/// The client's answer to `question`, or why it did not come.
type Outcome = Result<(String, u32), String>;

/// A server that, on `ask`, emits `question` with an ack and reports the outcome; `ask`
/// carries the timeout in milliseconds.
fn asking_server() -> (Io, common::Seen<Outcome>) {
    let (tx, seen) = channel();
    let io = Io::builder().ack_timeout(Duration::from_secs(4)).build();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        socket.on("ask", move |socket: Socket, Data(millis): Data<u64>| {
            let tx = tx.clone();
            async move {
                let reply = socket
                    .emit_with_ack("question", "ready?")
                    .timeout(Duration::from_millis(millis))
                    .await;
                let outcome = match reply {
                    Ok(reply) => reply.decode::<(String, u32)>().map_err(|e| e.to_string()),
                    Err(AckError::Timeout) => Err("timeout".to_owned()),
                    Err(AckError::Disconnected) => Err("disconnected".to_owned()),
                    Err(other) => Err(other.to_string()),
                };
                let _ = tx.send(outcome);
            }
        });
    });
    (io, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_answers_the_servers_ack() {
    let (io, mut seen) = asking_server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["ask",4000]"#).await;
    let question = client.event().await;
    assert_eq!(question.args_of("question"), [json!("ready?")]);
    let id = question.id.expect("the server asks for an ack");
    client.send(&format!(r#"43{id}["yes",42]"#)).await;
    assert_eq!(seen.next("the ack").await, Ok(("yes".to_owned(), 42)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_acks_each_get_their_own_answer() {
    let (io, mut seen) = asking_server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["ask",4000]"#).await;
    client.send(r#"42["ask",4000]"#).await;
    let first = client.event().await.id.expect("an ack id");
    let second = client.event().await.id.expect("an ack id");
    assert_ne!(first, second);
    client.send(&format!(r#"43{second}["second",2]"#)).await;
    assert_eq!(seen.next("an ack").await, Ok(("second".to_owned(), 2)));
    client.send(&format!(r#"43{first}["first",1]"#)).await;
    assert_eq!(seen.next("an ack").await, Ok(("first".to_owned(), 1)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_ack_times_out_and_a_late_one_is_ignored() {
    let (io, mut seen) = asking_server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["ask",50]"#).await;
    let id = client.event().await.id.expect("an ack id");
    assert_eq!(seen.next("the timeout").await, Err("timeout".to_owned()));

    client.send(&format!(r#"43{id}["late",0]"#)).await;
    seen.none("a late ack").await;
    // The socket goes on.
    client.send(r#"42["ask",4000]"#).await;
    let id = client.event().await.id.expect("an ack id");
    client.send(&format!(r#"43{id}["again",3]"#)).await;
    assert_eq!(seen.next("the ack").await, Ok(("again".to_owned(), 3)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disconnect_ends_the_wait_for_an_ack() {
    let (io, mut seen) = asking_server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"42["ask",4000]"#).await;
    client.event().await;
    client.send("41").await;
    assert_eq!(
        seen.next("the outcome").await,
        Err("disconnected".to_owned())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_to_an_unknown_id_is_ignored() {
    let (io, _seen) = server();
    let server = Server::start(io).await;
    let mut client = server.connect().await;

    client.send(r#"4312["nobody asked"]"#).await;
    client.send(r#"421["add",1,1]"#).await;
    assert_eq!(client.ack().await.ack_args(), [json!(2)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_servers_ack_timeout_is_the_default() {
    let (tx, mut seen) = channel();
    let io = Io::builder().ack_timeout(Duration::from_millis(50)).build();
    io.ns("/", move |socket: Socket| {
        let tx = tx.clone();
        socket.on("ask", move |socket: Socket| {
            let tx = tx.clone();
            async move {
                let reply = socket.emit_with_ack("question", &()).await;
                let _ = tx.send(matches!(reply, Err(AckError::Timeout)));
            }
        });
    });
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.send(r#"42["ask"]"#).await;
    assert!(client.event().await.id.is_some());
    assert!(seen.next("the timeout").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ack_answers_only_in_its_own_namespace() {
    let (io, mut seen) = asking_server();
    io.ns("/other", |_: Socket| {});
    let server = Server::start(io).await;
    let mut client = server.connect().await;
    client.connect_ns("/other", None).await;

    client.send(r#"42["ask",4000]"#).await;
    let id = client.event().await.id.expect("an ack id");
    client.send(&format!(r#"43/other,{id}["wrong",0]"#)).await;
    seen.none("an ack from another namespace").await;
    client.send(&format!(r#"43{id}["right",1]"#)).await;
    assert_eq!(seen.next("the ack").await, Ok(("right".to_owned(), 1)));
}
