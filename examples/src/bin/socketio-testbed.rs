//! The Socket.IO server the end-to-end tests drive (`e2e/socketio/`).
//!
//! Namespaces:
//! - `/` and `/isolated`: the events below; `/` also greets every socket with `hello`
//!   (`{ id, nsp, recovered }`);
//! - `/private`: the same events, behind middleware that refuses a CONNECT whose auth has no
//!   `token: "secret"` with `"not authorized"` and data `{ reason, code }`;
//! - `/dyn-<digits>`: a dynamic namespace with the same events; its middleware refuses
//!   `/dyn-13` with `"unlucky"`. It has no server-side emit handler (every namespace it
//!   creates would share one, which is not told which namespace an emit is for), so
//!   `server-side-received` there stays empty.
//!
//! `/`, `/isolated` and `/private` record the server-side emits other servers of the cluster
//! send them (`{ event, args }`, `args` the array of the event's arguments), and reply
//! `{ node, event, args }` to those that wait for a reply.
//!
//! Events (in every namespace; "target" is
//! `{ to?, except?, includeSelf?, volatile?, event?, timeout? }`):
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
//!   sorted; a `join` over the limit on rooms acks `{ error }`, the `JoinError`'s message;
//! - `to-room` (target, data, ack): emits `target.event` with `(target, data)` to the sockets
//!   in `to` (every socket when empty) but those in `except` and, unless `includeSelf`, the
//!   sender, as a volatile broadcast with `volatile`; then acks `"ok"`;
//! - `broadcast-with-ack` (target, data, ack): the same broadcast asking for acks within
//!   `target.timeout` ms; acks `(null, responses)` or (`{ message, missing }`, responses),
//!   each response being the array of one recipient's ack arguments;
//! - `fetch-sockets` (target, ack): acks `[{ id, rooms, data, handshake: { query, auth } }]`
//!   of the selected sockets (the sender included), by id: `data` is what `set-data` set
//!   (`null` if nothing), `query` the handshake's query parameters as an object, `auth` the
//!   auth payload (`null` if none);
//! - `set-data` (any value, ack): sets the socket's data to the value, acks `"ok"`;
//! - `sockets-join` / `sockets-leave` (target, a room or a list, ack): makes the selected
//!   sockets (the sender included) join or leave the rooms, acks `"ok"`;
//! - `disconnect-sockets` (target, `close`, ack): acks `"ok"`, then disconnects the selected
//!   sockets (the sender included); `close: true` closes their whole connections;
//! - `disconnect-room` (room, ack): acks `"ok"`, then disconnects the room's sockets;
//! - `node` (ack): acks `{ node, pid }`, the server's `NODE_NAME` and process id;
//! - `server-count` (ack): acks how many servers share the namespace;
//! - `cluster-status` (ack): in a cluster (`REDIS_URL` or `REDIS_CLUSTER_URLS`), acks every
//!   state the connections to Redis were in, oldest first: `"connected"` or `{ disconnected: error }` (`[]` without it);
//! - `all-rooms` (ack): acks the namespace's `all_rooms()`, its rooms on every server, as a
//!   sorted list without the sockets' own rooms;
//! - `server-side-emit` (`{ event, data?, timeout? }`, ack): emits `event` to the namespace
//!   on the other servers, with `data` as its one argument (no argument when `data` is
//!   missing or null); without `timeout`, acks `"ok"`; with it (ms), asks for replies and
//!   acks them as `broadcast-with-ack` acks responses: `(null, replies)` or
//!   (`{ message, missing }`, replies), each reply being `[{ node, event, args }]`;
//! - `server-side-received` (ack): acks the server-side emits the namespace received from
//!   other servers, `[{ event, args }]`, in arrival order;
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
//! Environment: `PORT`; `REDIS_URL` (joins the cluster of that Redis, in the classic format of
//! Node's `@socket.io/redis-adapter`); `REDIS_CLUSTER_URLS` (comma-separated node URLs of a
//! Redis Cluster: joins the cluster of its sharded pub/sub instead, in the format of Node's
//! `createShardedAdapter`, with `REDIS_SUBSCRIPTION_MODE` `static` or `dynamic`, the default;
//! see `tidings_examples::cluster_from_env`); `PARSER` (`msgpack` for the msgpack parser, JSON
//! otherwise); `PING_INTERVAL` and `PING_TIMEOUT` (ms, default 300 and 200); `CONNECT_TIMEOUT`
//! (ms, default 45000); `ACK_TIMEOUT` (ms, default 5000); `MAX_PAYLOAD` (bytes, default
//! 1000000); `MAX_QUEUED_BYTES` (bytes, default 8 MiB); `TRANSPORTS` (comma-separated, default
//! all); `PER_MESSAGE_DEFLATE` (a threshold in bytes: turns permessage-deflate on);
//! `HTTP_COMPRESSION` (a threshold in bytes, or `off`; default 1024); `CORS_ORIGIN` (an allowed origin, with credentials); `ALLOWED_ORIGINS`
//! (comma-separated origins whose pages may connect besides the server's own, see
//! `tidings_examples::own_origins`); `KEEP_REASONS` (how many of the latest disconnections `reasons` keeps, default all);
//! `SHUTDOWN_DEADLINE` (ms, default 10000); `NODE_NAME` (the server's name in `node` and in its
//! server-side replies, default `tidings`); `RECOVERY` (ms: turns connection state recovery on,
//! with this `max_disconnection_duration`); `STATIC_DIR` (a folder: every request off
//! `/socket.io/` gets its files, as `StaticFiles` serves them, instead of 404); `METRICS_PATH`
//! (the server records its metrics and answers `GET` there with them, as
//! `tidings_examples::metrics_from_env` sets it); the limits,
//! each off (or at the library's default) unless set: `MAX_CONNECTIONS`, `HANDSHAKE_RATE`
//! (`burst/every_ms`, see `tidings_examples::testbed_engine_config`), `EVENT_RATE`
//! (`burst/every_ms`, dropping the events over it, or `burst/every_ms/disconnect`),
//! `MAX_ATTACHMENTS`, `MAX_ROOMS` (per socket) and `MAX_DYNAMIC_NAMESPACES`.
//!
//! SIGTERM or SIGINT shuts the server down gracefully: new handshakes get 503, every
//! connection gets what was queued for it and then its close (WebSocket code 1001, no
//! Socket.IO DISCONNECT, so clients see "transport close"), and the process exits with
//! status 0 once they are gone or `SHUTDOWN_DEADLINE` has passed.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tidings::{
    AckError, AckSender, Bin, Binary, BroadcastAcks, BroadcastOperators, ConnectError, Data,
    DisconnectReason, EmitError, EventRate, Handshake, Io, IoBuilder, Namespace, OverRate, Parser,
    Payload, Recovery, RemoteSocket, Socket, State,
};
use tidings_transports::Engine;

/// What every handler shares: the disconnections so far, the server-side emits received,
/// and the main namespace (where the watchers are).
#[derive(Clone, Default)]
struct Shared {
    reasons: Arc<Mutex<Vec<Disconnection>>>,
    /// The server-side emits each namespace received, by namespace name.
    server_side: ServerSideLog,
    /// The server's name (`NODE_NAME`).
    node: Arc<str>,
    main: Arc<OnceLock<Namespace>>,
    /// How many disconnections `reasons` keeps (all when `None`).
    keep_reasons: Option<usize>,
    /// The engine, for `stats`.
    engine: Arc<OnceLock<Engine>>,
    /// Every state the connections to Redis were in, oldest first (in a cluster).
    cluster_status: Arc<Mutex<Vec<Value>>>,
}

/// Records every state of `cluster`'s connections to Redis into `log`, as JSON: `"connected"`,
/// or `{ "disconnected": error }`.
fn record_status(cluster: &tidings_examples::EnvCluster, log: &Arc<Mutex<Vec<Value>>>) {
    let mut status = cluster.status();
    let log = log.clone();
    tokio::spawn(async move {
        loop {
            let entry = match &*status.borrow_and_update() {
                tidings_redis::Status::Connected => json!("connected"),
                tidings_redis::Status::Disconnected { error } => json!({ "disconnected": error }),
                _ => json!("unknown"),
            };
            if let Ok(mut log) = log.lock() {
                log.push(entry);
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });
}

/// The server-side emits received, by namespace name, in arrival order.
type ServerSideLog = Arc<Mutex<HashMap<String, Vec<ServerSideEvent>>>>;

/// A server-side emit another server sent.
#[derive(Clone, Serialize)]
struct ServerSideEvent {
    event: String,
    /// The array of its arguments.
    args: Value,
}

/// What `server-side-emit` sends, and whether it waits for replies.
#[derive(Deserialize)]
struct ServerSideEmit {
    event: String,
    #[serde(default)]
    data: Value,
    /// How long to wait for the other servers' replies (ms); without it, no reply is asked.
    #[serde(default)]
    timeout: Option<u64>,
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
    /// A volatile broadcast: skips the sockets that cannot take it at once.
    volatile: bool,
    event: String,
    timeout: Option<u64>,
}

impl Target {
    /// The sockets a broadcast from `socket` reaches: the sender only with `includeSelf`;
    /// volatile with `volatile`.
    fn operators(&self, socket: &Socket) -> BroadcastOperators {
        let mut operators = if self.include_self {
            socket.ns().operators()
        } else {
            socket.broadcast()
        };
        if self.volatile {
            operators = operators.volatile();
        }
        self.narrow(operators)
    }

    /// The sockets of `socket`'s namespace in `to` (all when empty) but those in `except`,
    /// the sender included whatever `includeSelf` says.
    fn sockets(&self, socket: &Socket) -> BroadcastOperators {
        self.narrow(socket.ns().operators())
    }

    fn narrow(&self, mut operators: BroadcastOperators) -> BroadcastOperators {
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
    data: Option<Value>,
    handshake: HandshakeInfo,
}

#[derive(Serialize)]
struct HandshakeInfo {
    query: serde_json::Map<String, Value>,
    auth: Option<Value>,
}

impl SocketInfo {
    fn of(socket: &RemoteSocket) -> SocketInfo {
        let handshake = socket.handshake();
        SocketInfo {
            id: socket.id().to_string(),
            rooms: rooms_of(socket.id().as_str(), socket.rooms()),
            data: socket.data(),
            handshake: HandshakeInfo {
                query: handshake
                    .query()
                    .into_iter()
                    .map(|(name, value)| (name, Value::String(value)))
                    .collect(),
                auth: auth_of(handshake),
            },
        }
    }
}

/// The auth payload of `handshake` as JSON, if it has one that JSON can hold.
fn auth_of(handshake: &Handshake) -> Option<Value> {
    handshake.auth::<Option<Value>>().ok().flatten()
}

/// The server's name: `NODE_NAME`, or `tidings`.
fn node_name() -> Arc<str> {
    std::env::var("NODE_NAME")
        .unwrap_or_else(|_| "tidings".to_owned())
        .into()
}

/// Acks `(null, responses)` once every recipient of a broadcast (or every other server of
/// a server-side emit) answered, each response the array of one's ack arguments; or
/// (`{ message, missing }`, the responses that came) when the emit failed or timed out.
async fn ack_responses(acks: Result<BroadcastAcks, EmitError>, ack: AckSender) {
    let acks = match acks {
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
}

/// Acks `"ok"`, or the error when there is one.
fn ack_outcome(result: Result<(), EmitError>, ack: AckSender) {
    let _ = match result {
        Ok(()) => ack.send("ok"),
        Err(error) => ack.send(&error.to_string()),
    };
}

/// Records the server-side emits other servers send to `namespace` in `shared` (for
/// `server-side-received`), and replies `{ node, event, args }` to those that wait for a
/// reply.
fn record_server_side_emits(namespace: &Namespace, shared: &Shared) {
    let name = namespace.name().to_owned();
    let (log, node) = (shared.server_side.clone(), shared.node.clone());
    namespace.on_server_side_emit(move |packet, reply| {
        let record = ServerSideEvent {
            event: packet.event,
            args: serde_json::to_value(&packet.args).unwrap_or_default(),
        };
        if let Ok(mut log) = log.lock() {
            log.entry(name.clone()).or_default().push(record.clone());
        }
        if let Some(reply) = reply {
            let _ = reply.send(&json!({
                "node": &*node,
                "event": record.event,
                "args": record.args,
            }));
        }
    });
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
            let _ = match socket.join(rooms.into_vec()) {
                Ok(()) => ack.send(&rooms_of(socket.id().as_str(), &socket.rooms())),
                Err(error) => ack.send(&json!({ "error": error.to_string() })),
            };
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
            ack_outcome(target.operators(&socket).emit(&target.event, &args), ack);
        },
    );
    socket.on(
        "broadcast-with-ack",
        |socket: Socket, Data((target, _)): TargetAndData, args: Payload, ack: AckSender| async move {
            let acks = target
                .operators(&socket)
                .timeout(target.timeout())
                .emit_with_ack(&target.event, &args);
            ack_responses(acks, ack).await;
        },
    );
    socket.on(
        "fetch-sockets",
        |socket: Socket, Data(target): Data<Target>, ack: AckSender| async move {
            let mut sockets: Vec<SocketInfo> = target
                .sockets(&socket)
                .fetch_sockets()
                .await
                .iter()
                .map(SocketInfo::of)
                .collect();
            sockets.sort_by(|a, b| a.id.cmp(&b.id));
            let _ = ack.send(&sockets);
        },
    );
    socket.on(
        "set-data",
        |socket: Socket, Data(data): Data<Value>, ack: AckSender| {
            socket.set_data(data);
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "sockets-join",
        |socket: Socket, Data((target, rooms)): Data<(Target, Rooms)>, ack: AckSender| {
            target.sockets(&socket).sockets_join(rooms.into_vec());
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "sockets-leave",
        |socket: Socket, Data((target, rooms)): Data<(Target, Rooms)>, ack: AckSender| {
            target.sockets(&socket).sockets_leave(rooms.into_vec());
            let _ = ack.send("ok");
        },
    );
    socket.on(
        "disconnect-sockets",
        |socket: Socket, Data((target, close)): Data<(Target, bool)>, ack: AckSender| {
            let _ = ack.send("ok");
            target.sockets(&socket).disconnect_sockets(close);
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
            let _ = match socket.join("watchers") {
                Ok(()) => ack.send("ok"),
                Err(error) => ack.send(&error.to_string()),
            };
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
            "auth": auth_of(handshake),
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
    socket.on("node", |State(shared): State<Shared>, ack: AckSender| {
        let _ = ack.send(&json!({ "node": &*shared.node, "pid": std::process::id() }));
    });
    socket.on(
        "cluster-status",
        |State(shared): State<Shared>, ack: AckSender| {
            let log = shared.cluster_status.lock().map(|l| l.clone());
            let _ = ack.send(&log.unwrap_or_default());
        },
    );
    socket.on(
        "server-count",
        |socket: Socket, ack: AckSender| async move {
            let _ = ack.send(&socket.ns().server_count().await);
        },
    );
    socket.on("all-rooms", |socket: Socket, ack: AckSender| async move {
        // The sockets' own rooms left out, wherever they are.
        let namespace = socket.ns();
        let ids: HashSet<String> = namespace
            .fetch_sockets()
            .await
            .iter()
            .map(|socket| socket.id().to_string())
            .collect();
        let mut rooms: Vec<String> = namespace
            .all_rooms()
            .await
            .iter()
            .map(ToString::to_string)
            .filter(|room| !ids.contains(room))
            .collect();
        rooms.sort();
        let _ = ack.send(&rooms);
    });
    socket.on(
        "server-side-emit",
        |socket: Socket, Data(emit): Data<ServerSideEmit>, ack: AckSender| async move {
            let namespace = socket.ns();
            match emit.timeout {
                None => ack_outcome(namespace.server_side_emit(&emit.event, &emit.data), ack),
                Some(ms) => {
                    let timeout = Duration::from_millis(ms);
                    let replies =
                        namespace.server_side_emit_with_ack(&emit.event, &emit.data, timeout);
                    ack_responses(replies, ack).await;
                }
            }
        },
    );
    socket.on(
        "server-side-received",
        |socket: Socket, State(shared): State<Shared>, ack: AckSender| {
            let received = shared
                .server_side
                .lock()
                .ok()
                .and_then(|log| log.get(socket.namespace()).cloned())
                .unwrap_or_default();
            let _ = ack.send(&received);
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

/// The framework's limits from the environment: `EVENT_RATE`, `MAX_ATTACHMENTS`,
/// `MAX_ROOMS` and `MAX_DYNAMIC_NAMESPACES`.
fn limits(mut builder: IoBuilder) -> IoBuilder {
    if let Some((burst, every)) = tidings_examples::env_rate("EVENT_RATE") {
        let mut rate = EventRate::new(burst, every);
        if std::env::var("EVENT_RATE").is_ok_and(|rate| rate.ends_with("/disconnect")) {
            rate = rate.on_exceed(OverRate::Disconnect);
        }
        builder = builder.event_rate(rate);
    }
    let number = |name: &str| std::env::var(name).ok().and_then(|v| v.parse().ok());
    if let Some(max) = number("MAX_ATTACHMENTS") {
        builder = builder.max_attachments(max);
    }
    if let Some(max) = number("MAX_ROOMS") {
        builder = builder.max_rooms_per_socket(max);
    }
    if let Some(max) = number("MAX_DYNAMIC_NAMESPACES") {
        builder = builder.max_dynamic_namespaces(max);
    }
    builder
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
        node: node_name(),
        keep_reasons: std::env::var("KEEP_REASONS")
            .ok()
            .and_then(|keep| keep.parse().ok()),
        ..Shared::default()
    };
    let mut builder = Io::builder();
    if let Some(cluster) = tidings_examples::cluster_from_env().await? {
        record_status(&cluster, &shared.cluster_status);
        builder = cluster.adapt(builder);
    }
    builder = limits(builder);
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

    let main_ns = io.ns("/", |socket: Socket| {
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
    let isolated = io.ns("/isolated", |socket: Socket| events(&socket));
    let private = io.ns("/private", |socket: Socket| events(&socket));
    private.middleware(|Data(auth): Data<Option<Value>>| async move {
        let token = auth.as_ref().and_then(|auth| auth.get("token"));
        if token.and_then(Value::as_str) == Some("secret") {
            Ok(())
        } else {
            Err(ConnectError::new("not authorized")
                .with_data(&json!({ "reason": "a token is needed", "code": 4001 })))
        }
    });
    for namespace in [&main_ns, &isolated, &private] {
        record_server_side_emits(namespace, &shared);
    }
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
