//! Connection state recovery: a client that lost its connection comes back with its
//! private session id and last offset, and gets its socket (id, rooms, data) and every
//! packet it missed, exactly once and in order; after the time limit it gets a new socket.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Client, Server, channel};
use serde_json::{Value, json};
use tidings::adapter::{AckCollector, AdapterFuture, BroadcastOptions, BroadcastPacket};
use tidings::{
    AckSender, Adapter, EngineConfig, Io, JoinError, LocalAdapter, MissedPacket, Recovery,
    RemoteSocket, Room, SessionState, Sid, Socket,
};

/// What the connection handler saw.
#[derive(Debug, PartialEq)]
struct Connected {
    sid: String,
    recovered: bool,
}

/// A server with recovery on: `join` joins room `r`; a new socket gets data `"first"`, a
/// recovered one reports the data it has with `data`.
fn server(recovery: Recovery) -> (Io, common::Seen<Connected>) {
    with_handlers(Io::builder().recovery(recovery).build())
}

/// The in-memory adapter, but as one that keeps sessions outside the process would be: slow
/// to find missed packets (broadcasts keep coming while a recovering socket waits for them),
/// keeping a session's data as JSON only, and told the state of connected sockets, which it
/// records.
#[derive(Debug)]
struct AsIfElsewhere(Arc<LocalAdapter>, Arc<Mutex<Vec<SessionState>>>);

impl AsIfElsewhere {
    fn new(namespace: tidings::LocalNamespace, tracked: &Arc<Mutex<Vec<SessionState>>>) -> Self {
        AsIfElsewhere(Arc::new(LocalAdapter::new(namespace)), tracked.clone())
    }
}

impl Adapter for AsIfElsewhere {
    fn add_all(&self, sid: Sid, rooms: &[Room]) -> Result<(), JoinError> {
        self.0.add_all(sid, rooms)
    }
    fn del(&self, sid: Sid, rooms: &[Room]) {
        self.0.del(sid, rooms);
    }
    fn del_all(&self, sid: Sid) {
        self.0.del_all(sid);
    }
    fn socket_rooms(&self, sid: Sid) -> Vec<Room> {
        self.0.socket_rooms(sid)
    }
    fn rooms(&self) -> Vec<Room> {
        self.0.rooms()
    }
    fn broadcast(&self, packet: &BroadcastPacket, options: &BroadcastOptions) {
        self.0.broadcast(packet, options);
    }
    fn broadcast_with_ack(
        &self,
        packet: &BroadcastPacket,
        options: &BroadcastOptions,
        acks: AckCollector,
    ) {
        self.0.broadcast_with_ack(packet, options, acks);
    }
    fn sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<Sid>> {
        self.0.sockets(options)
    }
    fn fetch_sockets(&self, options: &BroadcastOptions) -> AdapterFuture<Vec<RemoteSocket>> {
        self.0.fetch_sockets(options)
    }
    fn add_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.0.add_sockets(options, rooms);
    }
    fn del_sockets(&self, options: &BroadcastOptions, rooms: &[Room]) {
        self.0.del_sockets(options, rooms);
    }
    fn disconnect_sockets(&self, options: &BroadcastOptions, close: bool) {
        self.0.disconnect_sockets(options, close);
    }
    fn server_side_emit(&self, packet: &BroadcastPacket, acks: Option<AckCollector>) {
        self.0.server_side_emit(packet, acks);
    }
    fn server_count(&self) -> AdapterFuture<usize> {
        self.0.server_count()
    }
    fn track_session(&self, state: SessionState) {
        self.1.lock().expect("not poisoned").push(state);
    }
    fn persist_session(&self, state: SessionState) {
        let rooms = state.rooms().to_vec();
        let data = state.data_json().cloned();
        self.0
            .persist_session(SessionState::new(state.sid(), state.pid(), rooms, data));
    }
    fn restore_session(&self, pid: Sid, offset: &str) -> AdapterFuture<Option<SessionState>> {
        self.0.restore_session(pid, offset)
    }
    fn missed_packets(
        &self,
        state: &SessionState,
        offset: &str,
    ) -> AdapterFuture<Option<Vec<MissedPacket>>> {
        let (inner, state, offset) = (self.0.clone(), state.clone(), offset.to_owned());
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            inner.missed_packets(&state, &offset).await
        })
    }
}

fn with_handlers(io: Io) -> (Io, common::Seen<Connected>) {
    let (tx, seen) = channel();
    io.ns("/", move |socket: Socket| {
        let _ = tx.send(Connected {
            sid: socket.id().to_string(),
            recovered: socket.recovered(),
        });
        if !socket.recovered() {
            socket.set_data(String::from("first"));
        }
        socket.on("join", |socket: Socket, ack: AckSender| {
            socket.join("r").expect("below the room limit");
            let _ = ack.send(&());
        });
        socket.on("data", |socket: Socket, ack: AckSender| {
            let _ = ack.send(&socket.data::<String>().map(|d| d.to_string()));
        });
    });
    (io, seen)
}

/// Connects to `/` with `auth`; returns the CONNECT reply's sid and pid.
async fn connect(client: &mut Client, auth: Option<Value>) -> (String, String) {
    let auth = auth.map(|auth| auth.to_string());
    client
        .send(&common::connect_packet("/", auth.as_deref()))
        .await;
    let reply = client.packet().await;
    assert_eq!(reply.kind, 0, "{reply:?}");
    let data = reply.data.expect("CONNECT has data");
    let field = |name: &str| data[name].as_str().expect("a string").to_owned();
    (field("sid"), field("pid"))
}

/// The next `tick`: its number and the offset after it.
async fn tick(client: &mut Client) -> (u64, String) {
    let event = client.event().await;
    let (name, args) = event.event();
    assert_eq!(name, "tick", "{event:?}");
    match args {
        [Value::Number(n), Value::String(offset)] => (n.as_u64().expect("a count"), offset.clone()),
        other => panic!("a tick has its number and an offset: {other:?}"),
    }
}

async fn join(client: &mut Client) {
    client.send(r#"421["join"]"#).await;
    assert_eq!(client.ack().await.id, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_comes_back_gets_its_socket_and_what_it_missed() {
    let (io, mut seen) = server(Recovery::default());
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let (sid, pid) = connect(&mut first, None).await;
    assert_eq!(
        seen.next("the first connection").await,
        Connected {
            sid: sid.clone(),
            recovered: false
        }
    );
    join(&mut first).await;
    server.io.to("r").emit("tick", &1).expect("emits");
    let (_, offset) = tick(&mut first).await;

    first.drop_connection();
    while server.io.socket_count() > 0 {
        tokio::task::yield_now().await;
    }
    // While it is away: to its room, to everyone, to another room, to everyone but its room,
    // and to it by id.
    server.io.to("r").emit("tick", &2).expect("emits");
    server.io.emit("tick", &3).expect("emits");
    server.io.to("other").emit("tick", &4).expect("emits");
    server.io.except("r").emit("tick", &5).expect("emits");
    server.io.to(sid.as_str()).emit("tick", &6).expect("emits");

    let mut back = server.open().await;
    let (again, same_pid) = connect(&mut back, Some(json!({ "pid": pid, "offset": offset }))).await;
    assert_eq!(
        (again.as_str(), same_pid.as_str()),
        (sid.as_str(), pid.as_str())
    );
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(tick(&mut back).await.0);
    }
    assert_eq!(got, [2, 3, 6]);
    assert_eq!(
        seen.next("the recovered connection").await,
        Connected {
            sid: sid.clone(),
            recovered: true
        }
    );
    // Its room and data came back with it.
    server.io.to("r").emit("tick", &7).expect("emits");
    assert_eq!(tick(&mut back).await.0, 7);
    back.send(r#"422["data"]"#).await;
    assert_eq!(back.ack().await.ack_args(), &[json!("first")][..]);
    back.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn packets_sent_during_the_recovery_arrive_once_and_in_order() {
    const COUNT: u64 = 3000;
    let io = Io::builder()
        .recovery(Recovery::default())
        .adapter(|namespace| AsIfElsewhere::new(namespace, &Arc::default()))
        .build();
    let (io, _seen) = with_handlers(io);
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let (_, pid) = connect(&mut first, None).await;
    join(&mut first).await;

    // A steady stream, still going while the socket recovers (which takes 50 ms here).
    let emitter = server.io.clone();
    let stream = tokio::spawn(async move {
        for n in 1..=COUNT {
            emitter.to("r").emit("tick", &n).expect("emits");
            if n % 10 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let mut last = (0, String::new());
    while last.0 < 100 {
        let (n, offset) = tick(&mut first).await;
        assert_eq!(n, last.0 + 1);
        last = (n, offset);
    }
    first.drop_connection();

    let mut back = server.open().await;
    connect(&mut back, Some(json!({ "pid": pid, "offset": last.1 }))).await;
    assert!(
        !stream.is_finished(),
        "the stream ends after the recovery starts"
    );
    let mut expected = last.0 + 1;
    while expected <= COUNT {
        assert_eq!(tick(&mut back).await.0, expected);
        expected += 1;
    }
    stream.await.expect("the stream ran");
    back.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_time_limit_the_client_gets_a_new_socket() {
    let limit = Duration::from_millis(50);
    let (io, mut seen) = server(Recovery::default().max_disconnection_duration(limit));
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let (sid, pid) = connect(&mut first, None).await;
    seen.next("the first connection").await;
    server.io.emit("tick", &1).expect("emits");
    let (_, offset) = tick(&mut first).await;
    first.drop_connection();
    tokio::time::sleep(limit * 4).await;

    let mut back = server.open().await;
    let (new_sid, new_pid) =
        connect(&mut back, Some(json!({ "pid": pid, "offset": offset }))).await;
    assert_ne!(new_sid, sid);
    assert_ne!(new_pid, pid);
    assert_eq!(
        seen.next("the new connection").await,
        Connected {
            sid: new_sid,
            recovered: false
        }
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_malformed_claims_get_a_new_socket() {
    let (io, mut seen) = server(Recovery::default());
    let server = Server::start(io).await;
    let claims = [
        json!({ "pid": Sid::new().to_string(), "offset": "1" }),
        json!({ "pid": "not an id", "offset": "1" }),
        json!({ "pid": 1, "offset": [] }),
        json!({ "offset": "1" }),
    ];
    for claim in claims {
        let mut client = server.open().await;
        let (sid, _) = connect(&mut client, Some(claim.clone())).await;
        assert_eq!(
            seen.next("a connection").await,
            Connected {
                sid,
                recovered: false
            },
            "{claim}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_recovery_there_is_no_pid_and_no_offset() {
    let io = Io::builder().build();
    io.ns("/", |_: Socket| {});
    let server = Server::start(io).await;
    let mut client = server.open().await;
    client.send("40").await;
    let reply = client.packet().await;
    let data = reply.data.expect("CONNECT has data");
    assert!(data.get("pid").is_none(), "{data}");
    server.io.emit("tick", &1).expect("emits");
    assert_eq!(client.event_args("tick").await, [json!(1)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_closed_as_slow_gets_what_it_missed_when_it_comes_back() {
    const COUNT: u64 = 20_000;
    let io = Io::builder()
        .recovery(Recovery::default())
        .engine(
            EngineConfig::default()
                .path("/socket.io/")
                .max_queued_bytes(64 * 1024),
        )
        .build();
    let (io, mut seen) = with_handlers(io);
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let (sid, pid) = connect(&mut first, None).await;
    seen.next("the first connection").await;
    join(&mut first).await;

    // The client has an offset to come back with (the official client presents none before
    // its first event).
    let filler = "x".repeat(1000);
    server
        .io
        .to("r")
        .emit("tick", &(1, &filler))
        .expect("emits");
    let event = first.event().await;
    let mut last = (
        1,
        event.event().1[2].as_str().expect("an offset").to_owned(),
    );
    // 20 MB for a client that reads nothing meanwhile: more than the socket buffers take.
    for n in 2..=COUNT {
        server
            .io
            .to("r")
            .emit("tick", &(n, &filler))
            .expect("emits");
    }
    // The client reads what reached it before the server closed the connection.
    for frame in first.closed().await {
        let common::Frame::Text(text) = frame else {
            continue;
        };
        let (packet, _) = common::Packet::parse(&text);
        if packet.kind != 2 {
            continue;
        }
        let args = packet.event().1.to_vec();
        let n = args[0].as_u64().expect("a count");
        assert_eq!(n, last.0 + 1, "in order");
        last = (n, args[2].as_str().expect("an offset").to_owned());
    }
    assert!(
        last.0 < COUNT,
        "the client was closed before it had everything"
    );

    let mut back = server.open().await;
    let (again, _) = connect(&mut back, Some(json!({ "pid": pid, "offset": last.1 }))).await;
    assert_eq!(again, sid);
    for n in last.0 + 1..=COUNT {
        let event = back.event().await;
        assert_eq!(event.event().1[0], json!(n));
    }
    back.quiet().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_kept_as_json_comes_back_with_its_typed_data() {
    let tracked = Arc::new(Mutex::new(Vec::new()));
    let adapter_tracked = tracked.clone();
    let io = Io::builder()
        .recovery(Recovery::default())
        .adapter(move |namespace| AsIfElsewhere::new(namespace, &adapter_tracked))
        .build();
    let (io, _seen) = with_handlers(io);
    let server = Server::start(io).await;
    let mut first = server.open().await;
    let (sid, pid) = connect(&mut first, None).await;
    join(&mut first).await;
    server.io.to("r").emit("tick", &1).expect("emits");
    let (_, offset) = tick(&mut first).await;
    // Told when the socket connected, and when its data was set.
    let seen: Vec<(String, Option<Value>)> = tracked
        .lock()
        .expect("not poisoned")
        .iter()
        .map(|state| (state.sid().to_string(), state.data_json().cloned()))
        .collect();
    assert_eq!(
        seen,
        [(sid.clone(), None), (sid.clone(), Some(json!("first")))]
    );

    first.drop_connection();
    while server.io.socket_count() > 0 {
        tokio::task::yield_now().await;
    }
    let mut back = server.open().await;
    let auth = json!({ "pid": pid, "offset": offset });
    assert_eq!(connect(&mut back, Some(auth)).await.0, sid);
    back.send(r#"421["data"]"#).await;
    assert_eq!(back.ack().await.ack_args(), &[json!("first")][..]);
}
