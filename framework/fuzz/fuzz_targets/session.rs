//! A stateful target: random sequences of client requests to a server in memory, through
//! `Engine::handle` and the whole framework (sessions, namespaces, middleware, handlers).
//!
//! The server (built once per process) has `/`, whose sockets answer `echo` with its
//! arguments, read `bin` arguments with their binary data, and emit `hello` asking for an
//! ack; and `/admin`, whose middleware refuses any auth but `{"token":"ok"}`.
//!
//! Input layout: a sequence of actions, each a byte choosing the action and the bytes it
//! needs: handshakes (well-formed or with a query from the input), polling POSTs of Socket.IO
//! packets picked from a menu (CONNECT to either namespace or an unknown one, with good, bad
//! or malformed auth; events with acks; binary events and their attachments; acks of `hello`;
//! DISCONNECT; Engine.IO control packets; garbage) or of raw input bytes, long-polling GETs
//! (at most one waiting per session is well-behaved, a second is an error), WebSocket upgrade
//! requests (which cannot be completed in memory), requests with a bad sid, transport,
//! protocol version or method, and closes.
//!
//! Properties:
//! - nothing panics, and every request is answered within `STEP_TIMEOUT` (a long-polling GET
//!   at the latest when its session closes);
//! - an error answer has a documented status and an Engine.IO error JSON body
//!   (`{"code":N,"message":"…"}`), and a successful GET a body that decodes as a payload;
//! - once every session is closed (a `1` packet), the engine holds no session and the
//!   namespaces no socket.

#![no_main]

mod memory;

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Uri, header};
use http_body_util::Full;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use memory::{PATH, STEP_TIMEOUT, Server, polling, request, send, settle};
use serde::Deserialize;
use tidings::{AckSender, Binary, ConnectError, Data, Io, Payload, Socket};
use tidings_transports::packet::payload;
use tidings_transports::{Message, Packet};
use tokio::task::JoinHandle;

/// The namespaces of the server.
const NAMESPACES: [&str; 2] = ["/", "/admin"];

/// The most sessions one run opens.
const MAX_SESSIONS: usize = 3;

/// The most actions one run takes.
const MAX_ACTIONS: usize = 24;

thread_local! {
    static SERVER: Server = Server::new(server);
}

#[derive(Deserialize)]
struct Auth {
    token: String,
}

fn server() -> Io {
    let io = memory::builder()
        .ack_timeout(Duration::from_secs(60))
        .build();
    io.ns("/", |socket: Socket| {
        socket.on("echo", |args: Payload, ack: AckSender| {
            let _ = ack.send(&args);
        });
        socket.on("bin", |args: Payload| {
            let _ = args.decode::<Vec<Binary>>();
            let _ = args.decode::<(String, Binary)>();
        });
        let hello = socket.emit_with_ack("hello", &1);
        tokio::spawn(async move {
            let _ = hello.await;
        });
    });
    io.ns("/admin", |socket: Socket| {
        socket.on("echo", |args: Payload, ack: AckSender| {
            let _ = ack.send(&args);
        });
    })
    .middleware(|Data(auth): Data<Option<Auth>>| match auth {
        Some(auth) if auth.token == "ok" => Ok(()),
        _ => Err(ConnectError::new("not authorized")),
    });
    io
}

fuzz_target!(|input: &[u8]| {
    SERVER.with(|Server { runtime, io }| runtime.block_on(run(io, input)));
});

/// The state of one run.
#[derive(Default)]
struct Run {
    sids: Vec<String>,
    gets: Vec<JoinHandle<()>>,
}

async fn run(io: &Io, input: &[u8]) {
    let mut u = Unstructured::new(input);
    let mut state = Run::default();
    for _ in 0..MAX_ACTIONS {
        if u.is_empty() || step(io, &mut u, &mut state).await.is_err() {
            break;
        }
        settle().await;
    }
    for sid in &state.sids {
        memory::close(io, sid).await;
    }
    for get in state.gets.drain(..) {
        match tokio::time::timeout(STEP_TIMEOUT, get).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => std::panic::resume_unwind(error.into_panic()),
            Err(_) => panic!("a long-polling GET not answered after its session closed"),
        }
    }
    for sid in &state.sids {
        memory::drain_closed(io, sid).await;
    }
    memory::assert_empty(io, &NAMESPACES).await;
}

async fn step(io: &Io, u: &mut Unstructured<'_>, state: &mut Run) -> Result<()> {
    let action = u.int_in_range(0..=9u8)?;
    if action == 0 || state.sids.is_empty() {
        let query = if u.ratio(1, 4)? {
            String::from_utf8_lossy(take(u, 24)?).into_owned()
        } else {
            "EIO=4&transport=polling".to_owned()
        };
        if let Some(sid) = memory::handshake(io, &query).await {
            if state.sids.len() == MAX_SESSIONS {
                memory::close(io, &sid).await;
            } else {
                state.sids.push(sid);
            }
        }
        return Ok(());
    }
    let sid = u.choose(&state.sids)?.clone();
    match action {
        1..=4 => {
            let mut packets = Vec::new();
            for _ in 0..u.int_in_range(1..=4)? {
                packets.extend(packets_from(u)?);
            }
            post(io, &sid, packets).await;
        }
        5 => {
            let body = Bytes::copy_from_slice(take(u, 64)?);
            request(io, Method::POST, polling(&sid), body).await;
        }
        6 | 7 => {
            let io = io.clone();
            state.gets.push(tokio::spawn(async move {
                let answer = request(&io, Method::GET, polling(&sid), Bytes::new()).await;
                if answer.status.is_success() {
                    let body = answer.body;
                    payload::decode(body.clone()).unwrap_or_else(|e| {
                        panic!("a GET body that is no payload ({e}): {body:?}")
                    });
                }
            }));
        }
        8 => {
            let uri: Uri = format!("{PATH}?EIO=4&transport=websocket&sid={sid}")
                .parse()
                .expect("a valid URI");
            let upgrade = Request::get(uri)
                .header(header::CONNECTION, "Upgrade")
                .header(header::UPGRADE, "websocket")
                .header(header::SEC_WEBSOCKET_VERSION, "13")
                .header(header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ==")
                .body(Full::new(Bytes::new()))
                .expect("a valid request");
            let answer = send(io, upgrade).await;
            assert_eq!(answer.status, 400, "an upgrade that cannot complete");
        }
        _ => {
            let (method, query) = u
                .choose(&[
                    (Method::PUT, "EIO=4&transport=polling&sid="),
                    (Method::DELETE, "EIO=4&transport=polling&sid="),
                    (Method::GET, "EIO=3&transport=polling&sid="),
                    (Method::GET, "EIO=4&transport=carrier-pigeon&sid="),
                    (Method::POST, "EIO=4&transport=polling&sid=x"),
                    (Method::POST, "EIO=4&transport=polling"),
                ])?
                .clone();
            let uri: Uri = format!("{PATH}?{query}{sid}").parse().expect("a valid URI");
            let answer = request(io, method.clone(), uri, Bytes::from_static(b"40")).await;
            assert!(!answer.status.is_success(), "{method} {query}");
        }
    }
    Ok(())
}

/// POSTs `packets` to session `sid`.
async fn post(io: &Io, sid: &str, packets: Vec<Packet>) {
    let mut body = Vec::new();
    payload::encode(&packets, &mut body);
    request(io, Method::POST, polling(sid), body.into()).await;
}

/// Packets from the menu, chosen by the input.
fn packets_from(u: &mut Unstructured<'_>) -> Result<Vec<Packet>> {
    let text = |s: &str| vec![Packet::Message(Message::text(s))];
    let id = u.int_in_range(0..=3u8)?;
    Ok(match u.int_in_range(0..=17u8)? {
        0 => text("0"),
        1 => text(r#"0/admin,{"token":"ok"}"#),
        2 => text(r#"0/admin,{"token":"no"}"#),
        3 => text("0/admin,"),
        4 => text("0/nowhere,"),
        5 => text(&format!(r#"2{id}["echo",{{"a":[1,"x"]}}]"#)),
        6 => text(&format!(r#"2/admin,{id}["echo",{id}]"#)),
        7 => text(&format!(r#"3{id}["hi"]"#)),
        8 => text("1"),
        9 => text("1/admin,"),
        10 => {
            let data = Bytes::copy_from_slice(take(u, 8)?);
            vec![
                Packet::Message(Message::text(format!(
                    r#"51-{id}["bin",{{"_placeholder":true,"num":0}}]"#
                ))),
                Packet::Message(Message::binary(data)),
            ]
        }
        11 => {
            let data = Bytes::copy_from_slice(take(u, 8)?);
            vec![Packet::Message(Message::binary(data))]
        }
        12 => vec![Packet::Ping],
        13 => vec![Packet::Pong],
        14 => vec![
            u.choose(&[Packet::Upgrade, Packet::Noop, Packet::PingProbe])?
                .clone(),
        ],
        15 => vec![Packet::Message(Message::text(String::from_utf8_lossy(
            take(u, 16)?,
        )))],
        16 => text(&format!(
            "0/admin,{}",
            String::from_utf8_lossy(take(u, 16)?)
        )),
        _ => vec![Packet::Close],
    })
}

/// Up to `max` bytes of the input.
fn take<'a>(u: &mut Unstructured<'a>, max: usize) -> Result<&'a [u8]> {
    let len = u.int_in_range(0..=max)?;
    u.bytes(len)
}
