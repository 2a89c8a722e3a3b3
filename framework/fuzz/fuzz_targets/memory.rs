//! Long-polling requests to a server in memory, shared by the stateful targets: one
//! current-thread runtime per process, requests through `Engine::handle`, and the checks every
//! answer must pass.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
use tidings::{EngineConfig, Io};
use tidings_transports::packet::payload;
use tidings_transports::{EngineBody, Packet};
use tokio::runtime::Runtime;

/// The longest any request or close may take; hitting it is a finding (a hang).
pub const STEP_TIMEOUT: Duration = Duration::from_secs(5);

/// The polling path of the servers.
pub const PATH: &str = "/socket.io/";

/// A server and the current-thread runtime that drives it, built once per process.
pub struct Server {
    pub runtime: Runtime,
    pub io: Io,
}

impl Server {
    /// Builds the server with `build`, inside the runtime (which it may spawn on).
    pub fn new(build: fn() -> Io) -> Server {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let io = runtime.block_on(async { build() });
        Server { runtime, io }
    }
}

/// A server builder whose heartbeat never ends a request on its own: a long-polling GET only
/// returns when something is queued or the session closes. The ping timeout is short because
/// it is also how long a session the server closed stays findable for its client's last GET
/// (a timer task holds it that long, even once the GET came): an hour of those, at thousands
/// of runs a second, fills the memory.
pub fn builder() -> tidings::IoBuilder {
    Io::builder().engine(
        EngineConfig::default()
            .path(PATH)
            .ping_interval(Duration::from_secs(3600))
            .ping_timeout(Duration::from_millis(200)),
    )
}

/// An answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Sends one request in memory and reads the whole answer; panics (a finding) when that takes
/// longer than [`STEP_TIMEOUT`], or when an error answer is not an Engine.IO error.
pub async fn request(io: &Io, method: Method, uri: Uri, body: Bytes) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(body))
        .expect("a valid request");
    send(io, request).await
}

/// Sends a prepared request; see [`request`].
pub async fn send(io: &Io, request: Request<Full<Bytes>>) -> Answer {
    let what = format!("{} {}", request.method(), request.uri());
    let answer = tokio::time::timeout(STEP_TIMEOUT, async {
        let response = io.engine().handle(request).await;
        read(response).await
    })
    .await
    .unwrap_or_else(|_| panic!("{what} got no answer"));
    check_error(&what, &answer);
    let (status, _, body) = answer;
    Answer { status, body }
}

async fn read(response: Response<EngineBody>) -> (StatusCode, Option<String>, Bytes) {
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes();
    (status, content_type, body)
}

/// The documented error answers (`docs/security.md`, `RequestError`): code, status, message
/// (`None` for a message the application chooses).
const ERRORS: [(u64, u16, Option<&str>); 12] = [
    (0, 400, Some("Transport unknown")),
    (1, 400, Some("Session ID unknown")),
    (2, 400, Some("Bad handshake method")),
    (3, 400, Some("Bad request")),
    (3, 413, Some("Payload too large")),
    (4, 403, Some("Origin not allowed")),
    (4, 403, None),
    (5, 400, Some("Unsupported protocol version")),
    (6, 503, Some("Server shutting down")),
    (7, 503, Some("Too many connections")),
    (8, 429, Some("Too many handshakes")),
    (4, 403, Some("Forbidden")),
];

/// A success, or an Engine.IO error: a documented status with `{"code":N,"message":"…"}`.
fn check_error(what: &str, answer: &(StatusCode, Option<String>, Bytes)) {
    let (status, content_type, body) = answer;
    if status.is_success() {
        return;
    }
    assert_eq!(
        content_type.as_deref(),
        Some("application/json"),
        "{what}: {status} without JSON"
    );
    let json: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|_| panic!("{what}: {status} with a body that is not JSON: {body:?}"));
    let (Some(code), Some(message), 2) = (
        json["code"].as_u64(),
        json["message"].as_str(),
        json.as_object().map_or(0, |o| o.len()),
    ) else {
        panic!("{what}: {status} with {json} instead of code and message");
    };
    assert!(
        ERRORS
            .iter()
            .any(|&(c, s, m)| c == code && s == status.as_u16() && m.is_none_or(|m| m == message)),
        "{what}: undocumented error {status} {json}"
    );
}

/// Opens a long-polling session with `query` (after `?`); its sid when the handshake succeeds.
pub async fn handshake(io: &Io, query: &str) -> Option<String> {
    let uri: Uri = format!("{PATH}?{query}").parse().ok()?;
    let answer = request(io, Method::GET, uri, Bytes::new()).await;
    if !answer.status.is_success() {
        return None;
    }
    // A JSONP handshake (`j=`) escapes the quotes of the open packet.
    let open = std::str::from_utf8(&answer.body)
        .expect("a text open packet")
        .replace(r#"\""#, "\"");
    let sid = open
        .split_once(r#""sid":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(sid, _)| sid.to_owned())
        .unwrap_or_else(|| panic!("an open packet with a sid: {open}"));
    Some(sid)
}

/// The polling URI of session `sid`.
pub fn polling(sid: &str) -> Uri {
    format!("{PATH}?EIO=4&transport=polling&sid={sid}")
        .parse()
        .expect("a valid URI")
}

/// Sends a close packet to session `sid`, as a client that leaves does.
pub async fn close(io: &Io, sid: &str) {
    request(io, Method::POST, polling(sid), Bytes::from_static(b"1")).await;
}

/// Fetches what a closed session still holds, as a long-polling client does; returns whether
/// one of the answers held a close packet. A session the server closed keeps its last packets
/// (and the close) until the client's next request, for `ping_timeout` at most; a session the
/// client closed is gone at once. Panics when the session still waits for packets to send
/// (the GET would hang).
pub async fn drain_closed(io: &Io, sid: &str) -> bool {
    for _ in 0..4 {
        let answer = request(io, Method::GET, polling(sid), Bytes::new()).await;
        if !answer.status.is_success() {
            return false;
        }
        let packets = payload::decode(answer.body.clone())
            .unwrap_or_else(|e| panic!("a GET body that is no payload ({e}): {:?}", answer.body));
        if packets.contains(&Packet::Close) {
            return true;
        }
    }
    panic!("session {sid} still answers after it closed");
}

/// Lets the spawned tasks (handlers, socket closes) run.
pub async fn settle() {
    for _ in 0..8 {
        tokio::task::yield_now().await;
    }
}

/// Waits until the server holds no session and none of `namespaces` a socket; panics (a leak)
/// when that does not happen within [`STEP_TIMEOUT`].
pub async fn assert_empty(io: &Io, namespaces: &[&str]) {
    let empty = || {
        io.engine().session_count() == 0
            && namespaces
                .iter()
                .all(|ns| io.of(ns).is_none_or(|ns| ns.socket_count() == 0))
    };
    let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    let mut rounds = 0u32;
    while !empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "after closing: {} sessions, sockets {:?}",
            io.engine().session_count(),
            namespaces
                .iter()
                .map(|ns| io.of(ns).map(|ns| ns.socket_count()))
                .collect::<Vec<_>>()
        );
        // Spawned tasks usually finish within a few rounds; sleep only when they do not.
        rounds += 1;
        if rounds < 64 {
            tokio::task::yield_now().await;
        } else {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
