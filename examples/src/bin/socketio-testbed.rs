//! The Socket.IO server the end-to-end tests drive (`e2e/socketio/`).
//!
//! Namespaces:
//! - `/` and `/isolated`: the events below; `/` also greets every socket with `hello`
//!   (`{ id, nsp, recovered }`);
//! - `/private`: the same events, behind middleware that refuses a CONNECT whose auth has no
//!   `token: "secret"` with `"not authorized"` and data `{ reason, code }`;
//! - `/dyn-<digits>`: a dynamic namespace with the same events; its middleware refuses
//!   `/dyn-13` with `"unlucky"`.
//!
//! Events (in every namespace; "target" is `{ to?, except?, includeSelf?, event?, timeout? }`):
//! - `echo` (any args, ack): acks the same arguments;
//! - `emit-back` (any args): emits `emit-back` with the same arguments;
//! - `sum` (`a`, `b`, ack): acks `a + b`;
//! - `upload` (`{ name, content, parts: [..], meta: { thumb } }` with binary, ack): acks
//!   `{ name, sizes, reversed, nested: { list: [joined parts], thumb } }`, built in Rust;
//! - `bin-count` (any args, ack): acks the number and sizes of the binary attachments;
//! - `server-ack` (target, data, ack): emits `target.event` with `(target, data)` asking for
//!   an ack within `target.timeout` ms, then acks `(null, [ack args])` or `(error, null)`
//!   where `error` is `"timeout"` or `"disconnected"`;
//! - `join` / `leave` (a room or a list, ack): acks the socket's rooms (its own left out),
//!   sorted;
//! - `to-room` (target, data, ack): emits `target.event` with `(target, data)` to the sockets
//!   in `to` (every socket when empty) but those in `except` and, unless `includeSelf`, the
//!   sender; then acks `"ok"`;
//! - `broadcast-with-ack` (target, data, ack): the same broadcast asking for acks within
//!   `target.timeout` ms; acks `(null, responses)` or (`{ message, missing }`, responses),
//!   each response being the array of one recipient's ack arguments;
//! - `fetch-sockets` (target, ack): acks `[{ id, rooms }]` of the selected sockets, by id;
//! - `disconnect-room` (room, ack): acks `"ok"`, then disconnects the room's sockets;
//! - `disconnect-me`: `socket.disconnect()`; `close-me`: `socket.close()`;
//! - `watch` (ack, on `/` only): joins room `watchers`, which is sent `disconnected`
//!   (`{ id, nsp, reason }`) whenever a socket of any namespace disconnects;
//! - `reasons` (ack): acks every disconnection so far, `[{ id, nsp, reason }]`;
//! - `whoami` (ack): acks `{ id, nsp, transport, auth, address, since }` (`address` and
//!   `since` come from the connection's handshake, shared by its namespaces);
//! - `panic`, `panic-async`: handlers that panic (before and after an `.await`);
//! - `flood` (`size`, ack): acks `"ok"`, then emits `flood` with a string of `size` bytes to
//!   the socket, again and again, until an emit fails because the socket disconnected (a
//!   client that stops reading is closed as a slow client);
//! - `burst` (`n`, `size`, ack): emits `n` events `burst` with `(i, a string of size bytes)`,
//!   `i` from 0, all at once, then acks how many it emitted;
//! - `stats` (ack): acks `{ sessions, sockets }`: the engine's sessions and the sockets of
//!   `/`, not counting the asking socket and its connection;
//! - `stream` (`{ count, everyMs? }`): emits `tick` with 1, 2, … `count` to the socket, one
//!   every `everyMs` ms, or without it 20 at a time with a millisecond between, until done or
//!   an emit fails (the socket is gone, and recovery is off).
//!
//! Environment: `PORT`; `PARSER` (`msgpack` for the msgpack parser, JSON otherwise);
//! `PING_INTERVAL` and `PING_TIMEOUT` (ms, default 300 and 200); `CONNECT_TIMEOUT` (ms,
//! default 45000); `ACK_TIMEOUT` (ms, default 5000); `MAX_PAYLOAD` (bytes, default 1000000);
//! `MAX_QUEUED_BYTES` (bytes, default 8 MiB); `TRANSPORTS` (comma-separated, default all);
//! `KEEP_REASONS` (how many of the latest disconnections `reasons` keeps, default all);
//! `SHUTDOWN_DEADLINE` (ms, default 10000); `RECOVERY` (ms: turns connection state recovery
//! on, with this `max_disconnection_duration`); `STATIC_DIR` (a folder: every request off
//! `/socket.io/` gets its files, as `StaticFiles` serves them, instead of 404).
//!
//! SIGTERM or SIGINT shuts the server down gracefully: new handshakes get 503, every
//! connection gets what was queued for it and then its close (WebSocket code 1001, no
//! Socket.IO DISCONNECT, so clients see "transport close"), and the process exits with
//! status 0 once they are gone or `SHUTDOWN_DEADLINE` has passed.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tidings::{
    AckError, AckSender, Bin, Binary, BroadcastOperators, ConnectError, Data, DisconnectReason, Io,
    Namespace, Parser, Payload, Recovery, Socket, State,
};
use tidings_transports::Engine;

/// What every handler shares: the disconnections so far, and the main namespace (where the
/// watchers are).
#[derive(Clone, Default)]
struct Shared {
    reasons: Arc<Mutex<Vec<Disconnection>>>,
    main: Arc<OnceLock<Namespace>>,
    /// How many disconnections `reasons` keeps (all when `None`).
    keep_reasons: Option<usize>,
    /// The engine, for `stats`.
    engine: Arc<OnceLock<Engine>>,
}

#[derive(Clone, Serialize)]
struct Disconnection {
    id: String,
    nsp: String,
    reason: &'static str,
}

/// What `stream` sends, and how fast.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stream {
    count: u64,
    /// The pause after each tick (ms); without it, a millisecond after every 20 ticks.
    #[serde(default)]
    every_ms: Option<u64>,
}

/// Which sockets a broadcast reaches, and how.
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Target {
    to: Vec<String>,
    except: Vec<String>,
    include_self: bool,
    event: String,
    timeout: Option<u64>,
}

impl Target {
    fn operators(&self, socket: &Socket) -> BroadcastOperators {
        let mut operators = if self.include_self {
            socket.ns().operators()
        } else {
            socket.broadcast()
        };
        if !self.to.is_empty() {
            operators = operators.to(self.to.clone());
        }
        if !self.except.is_empty() {
            operators = operators.except(self.except.clone());
        }
        operators
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout.unwrap_or(1000))
    }
}

/// The arguments of the events that take a target and data.
type TargetAndData = Data<(Target, IgnoredAny)>;

/// One room or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Rooms {
    One(String),
    Many(Vec<String>),
}

impl Rooms {
    fn into_vec(self) -> Vec<String> {
        match self {
            Rooms::One(room) => vec![room],
            Rooms::Many(rooms) => rooms,
        }
    }
}

#[derive(Deserialize)]
struct Upload {
    name: String,
    content: Binary,
    parts: Vec<Binary>,
    meta: Meta,
}

#[derive(Deserialize, Serialize)]
struct Meta {
    thumb: Binary,
}

#[derive(Serialize)]
struct UploadReply {
    name: String,
    sizes: Vec<usize>,
    reversed: Binary,
    nested: Nested,
}

#[derive(Serialize)]
struct Nested {
    list: Vec<Binary>,
    thumb: Binary,
}

#[derive(Serialize)]
struct BroadcastFailure {
    message: String,
    missing: usize,
}

#[derive(Serialize)]
struct SocketInfo {
    id: String,
    rooms: Vec<String>,
}

/// The socket's rooms, its own left out, sorted.
fn rooms_of(id: &str, rooms: &[tidings::Room]) -> Vec<String> {
    let mut rooms: Vec<String> = rooms
        .iter()
        .filter(|room| room.as_ref() != id)
        .map(|room| room.to_string())
        .collect();
    rooms.sort();
    rooms
}

/// What the panics of `panic` and `panic-async` say.
const ON_PURPOSE: &str = "panicked on purpose";

fn explode(what: &str) {
    panic!("{what} {ON_PURPOSE}");
}

/// Keeps the default panic report for every panic but the testbed's own: those are expected,
/// and the server logs them anyway.
fn quiet_deliberate_panics() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .unwrap_or_default();
        if !message.ends_with(ON_PURPOSE) {
            report(info);
        }
    }));
}

/// Registers the events every namespace has.
fn events(socket: &Socket) {
    socket.on("echo", |args: Payload, ack: AckSender| {
        let _ = ack.send(&args);
    });
    socket.on("emit-back", |socket: Socket, args: Payload| {
        let _ = socket.emit("emit-back", &args);
    });
    socket.on("sum", |Data((a, b)): Data<(i64, i64)>, ack: AckSender| {
        let _ = ack.send(&(a + b));
    });
    socket.on("upload", |Data(upload): Data<Upload>, ack: AckSender| {
        let mut sizes = vec![upload.content.len()];
        sizes.extend(upload.parts.iter().map(|part| part.len()));
        let reversed: Vec<u8> = upload.content.iter().rev().copied().collect();
        let joined: Vec<u8> = upload
            .parts
            .iter()
            .flat_map(|p| p.iter().copied())
            .collect();
        let reply = UploadReply {
            name: upload.name,
            sizes,
            reversed: Binary::from(reversed),
            nested: Nested {
                list: vec![Binary::from(joined)],
                thumb: upload.meta.thumb,
            },
        };
        let _ = ack.send(&reply);
    });
    socket.on("bin-count", |Bin(attachments): Bin, ack: AckSender| {
        let sizes: Vec<usize> = attachments.iter().map(|a| a.len()).collect();
        let _ = ack.send(&(attachments.len(), sizes));
    });
    socket.on(
        "server-ack",
        |socket: Socket, Data((target, _)): TargetAndData, args: Payload, ack: AckSender| async move {
            let answer = socket
                .emit_with_ack(&target.event, &args)
                .timeout(target.timeout())
                .await;
            let _ = match answer {
                Ok(reply) => ack.send(&(None::<String>, reply)),
                Err(error) => {
                    let error = match error {
                        AckError::Timeout => "timeout".to_owned(),
                        AckError::Disconnected => "disconnected".to_owned(),
                        other => other.to_string(),
                    };
                    ack.send(&(Some(error), None::<()>))
                }
            };
        },
    );
    socket.on(
        "join",
        |socket: Socket, Data(rooms): Data<Rooms>, ack: AckSender| {
            socket.join(rooms.into_vec());
            let _ = ack.send(&rooms_of(socket.id().as_str(), &socket.rooms()));
        },
    );
    socket.on(
        "leave",
        |socket: Socket, Data(rooms): Data<Rooms>, ack: AckSender| {
            socket.leave(rooms.into_vec());
            let _ = ack.send(&rooms_of(socket.id().as_str(), &socket.rooms()));
        },
    );
    socket.on(
        "to-room",
        |socket: Socket, Data((target, _)): TargetAndData, args: Payload, ack: AckSender| {
            let result = target.operators(&socket).emit(&target.event, &args);
            let _ = match result {
                Ok(()) => ack.send("ok"),
                Err(error) => ack.send(&error.to_string()),
            };
        },
    );
    socket.on(
        "broadcast-with-ack",
        |socket: Socket, Data((target, _)): TargetAndData, args: Payload, ack: AckSender| async move {
            let acks = match target
                .operators(&socket)
                .timeout(target.timeout())
                .emit_with_ack(&target.event, &args)
            {
                Ok(acks) => acks,
                Err(error) => {
                    let failure = BroadcastFailure {
                        message: error.to_string(),
                        missing: 0,
                    };
                    let _ = ack.send(&(failure, Vec::<Payload>::new()));
                    return;
                }
            };
            let _ = match acks.await {
                Ok(responses) => ack.send(&(None::<()>, responses)),
                Err(error) => {
                    let failure = BroadcastFailure {
                        message: "timeout".to_owned(),
                        missing: error.missing,
                    };
                    ack.send(&(failure, error.responses))
                }
            };
        },
    );
    socket.on(
        "fetch-sockets",
        |socket: Socket, Data(target): Data<Target>, ack: AckSender| async move {
            let target = Target {
                include_self: true,
                ..target
            };
            let mut sockets: Vec<SocketInfo> = target
                .operators(&socket)
                .fetch_sockets()
                .await
                .iter()
                .map(|remote| SocketInfo {
                    id: remote.id().to_string(),
                    rooms: rooms_of(remote.id().as_str(), remote.rooms()),
                })
                .collect();
            sockets.sort_by(|a, b| a.id.cmp(&b.id));
            let _ = ack.send(&sockets);
        },
    );
    socket.on(
        "disconnect-room",
        |socket: Socket, Data(room): Data<String>, ack: AckSender| {
            let _ = ack.send("ok");
            socket.ns().to(room).disconnect_sockets(false);
        },
    );
    socket.on("disconnect-me", |socket: Socket| socket.disconnect());
    socket.on("close-me", |socket: Socket| socket.close());
    socket.on("watch", |socket: Socket, ack: AckSender| {
        if socket.namespace() == "/" {
            socket.join("watchers");
            let _ = ack.send("ok");
        } else {
            let _ = ack.send("watch from /");
        }
    });
    socket.on("reasons", |State(shared): State<Shared>, ack: AckSender| {
        let reasons = shared.reasons.lock().map(|r| r.clone()).unwrap_or_default();
        let _ = ack.send(&reasons);
    });
    socket.on("whoami", |socket: Socket, ack: AckSender| {
        let handshake = socket.handshake();
        let since = handshake
            .time()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos().to_string())
            .unwrap_or_default();
        let _ = ack.send(&json!({
            "id": socket.id().to_string(),
            "nsp": socket.namespace(),
            "transport": socket.transport(),
            "auth": handshake.auth::<Option<Value>>().ok().flatten(),
            "address": handshake.address().map(|a| a.to_string()),
            "since": since,
        }));
    });
    socket.on(
        "flood",
        |socket: Socket, Data(size): Data<usize>, ack: AckSender| async move {
            let _ = ack.send("ok");
            let data = "f".repeat(size);
            while socket.emit("flood", &data).is_ok() {
                tokio::task::yield_now().await;
            }
        },
    );
    socket.on(
        "burst",
        |socket: Socket, Data((n, size)): Data<(usize, usize)>, ack: AckSender| {
            let data = "b".repeat(size);
            let sent = (0..n)
                .take_while(|i| socket.emit("burst", &(i, &data)).is_ok())
                .count();
            let _ = ack.send(&sent);
        },
    );
    socket.on(
        "stats",
        |socket: Socket, State(shared): State<Shared>, ack: AckSender| {
            let sessions = shared.engine.get().map_or(0, Engine::session_count);
            let sockets = shared.main.get().map_or(0, Namespace::socket_count);
            let own_socket = usize::from(socket.namespace() == "/");
            let _ = ack.send(&json!({
                "sessions": sessions.saturating_sub(1),
                "sockets": sockets.saturating_sub(own_socket),
            }));
        },
    );
    socket.on(
        "stream",
        |socket: Socket, Data(stream): Data<Stream>| async move {
            for n in 1..=stream.count {
                // With recovery on, emits to a disconnected socket are kept for its return.
                if socket.emit("tick", &n).is_err() {
                    return;
                }
                match stream.every_ms {
                    Some(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                    None if n % 20 == 0 => tokio::time::sleep(Duration::from_millis(1)).await,
                    None => {}
                }
            }
        },
    );
    socket.on("panic", || explode("panic"));
    socket.on("panic-async", || async {
        tokio::task::yield_now().await;
        explode("panic-async");
    });
    socket.on_disconnect(
        |socket: Socket, reason: DisconnectReason, State(shared): State<Shared>| {
            let record = Disconnection {
                id: socket.id().to_string(),
                nsp: socket.namespace().to_owned(),
                reason: reason.as_str(),
            };
            if let Ok(mut reasons) = shared.reasons.lock() {
                reasons.push(record.clone());
                if let Some(keep) = shared.keep_reasons {
                    let excess = reasons.len().saturating_sub(keep);
                    reasons.drain(..excess);
                }
            }
            if let Some(main) = shared.main.get() {
                let _ = main.to("watchers").emit("disconnected", &record);
            }
        },
    );
}

/// Whether `name` is `/dyn-` followed by digits.
fn is_dynamic(name: &str) -> bool {
    name.strip_prefix("/dyn-")
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tidings_examples::init_tracing();
    quiet_deliberate_panics();
    let engine = tidings_examples::testbed_engine_config("/socket.io/");
    let parser = match std::env::var("PARSER").as_deref() {
        Ok("msgpack") => Parser::MsgPack,
        _ => Parser::Json,
    };
    let shared = Shared {
        keep_reasons: std::env::var("KEEP_REASONS")
            .ok()
            .and_then(|keep| keep.parse().ok()),
        ..Shared::default()
    };
    let mut builder = Io::builder();
    if let Ok(ms) = std::env::var("RECOVERY") {
        let limit = Duration::from_millis(ms.parse().unwrap_or(120_000));
        builder = builder.recovery(Recovery::default().max_disconnection_duration(limit));
    }
    let io = builder
        .engine(engine)
        .parser(parser)
        .connect_timeout(Duration::from_millis(tidings_examples::env_number(
            "CONNECT_TIMEOUT",
            45_000,
        )))
        .ack_timeout(Duration::from_millis(tidings_examples::env_number(
            "ACK_TIMEOUT",
            5_000,
        )))
        .state(shared.clone())
        .build();
    let _ = shared.main.set(io.sockets().clone());
    let _ = shared.engine.set(io.engine().clone());

    io.ns("/", |socket: Socket| {
        events(&socket);
        let _ = socket.emit(
            "hello",
            &json!({
                "id": socket.id().to_string(),
                "nsp": socket.namespace(),
                "recovered": socket.recovered(),
            }),
        );
    });
    io.ns("/isolated", |socket: Socket| events(&socket));
    io.ns("/private", |socket: Socket| events(&socket))
        .middleware(|Data(auth): Data<Option<Value>>| async move {
            let token = auth.as_ref().and_then(|auth| auth.get("token"));
            if token.and_then(Value::as_str) == Some("secret") {
                Ok(())
            } else {
                Err(ConnectError::new("not authorized")
                    .with_data(&json!({ "reason": "a token is needed", "code": 4001 })))
            }
        });
    io.dynamic_ns(is_dynamic, |socket: Socket| events(&socket))
        .middleware(|socket: Socket| {
            if socket.namespace() == "/dyn-13" {
                Err(ConnectError::new("unlucky"))
            } else {
                Ok(())
            }
        });

    let (name, path) = ("socketio-testbed", "/socket.io/");
    match std::env::var_os("STATIC_DIR") {
        Some(dir) => {
            let files = tidings_examples::StaticFiles::new(dir);
            tidings_examples::serve_with(name, path, io.engine(), files).await
        }
        None => tidings_examples::serve(name, path, io.engine()).await,
    }
}
