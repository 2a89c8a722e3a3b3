//! Shared helpers of the engine's integration tests: an in-process server on `127.0.0.1:0`
//! with a recording echo handler, a raw HTTP/1.1 client, an SSE stream client and a raw
//! WebSocket client.
//!
//! Every wait has a deadline ([`DEADLINE`]) so a broken server fails a test instead of hanging
//! it; nothing sleeps to guess when the server is done.

#![allow(dead_code)]

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::request::Parts;
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The next `n` bytes of `stream`, taken from `buf` (bytes read before) first; `None` when the
/// stream ends before them. For raw WebSocket clients reading frames.
pub(crate) async fn take(stream: &mut TcpStream, buf: &mut Vec<u8>, n: usize) -> Option<Vec<u8>> {
    while buf.len() < n {
        let mut chunk = [0; 8192];
        let read = stream.read(&mut chunk).await.unwrap_or(0);
        if read == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..read]);
    }
    Some(buf.drain(..n).collect())
}

/// How long any single wait may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// The message that makes the handler send numbered messages (`0`, `1`, …) from a task of its
/// own until at least [`FLOOD_AFTER_UPGRADE`] of them were sent over WebSocket, then
/// [`FLOOD_END`].
pub(crate) const FLOOD: &str = "flood";
/// The last message of a flood.
pub(crate) const FLOOD_END: &str = "end";
/// How many numbered messages a flood sends once the session runs on WebSocket.
pub(crate) const FLOOD_AFTER_UPGRADE: usize = 100;

/// Awaits `future`, failing the test after [`DEADLINE`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// What the handler saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Open {
        sid: String,
        transport: &'static str,
    },
    Close {
        sid: String,
        reason: CloseReason,
    },
}

/// Echoes every message, starts a flood on [`FLOOD`], and reports opens and closes.
struct Recorder {
    events: mpsc::UnboundedSender<Event>,
}

impl Handler for Recorder {
    fn on_open(&self, session: &Session, _request: &Parts) {
        let _ = self.events.send(Event::Open {
            sid: session.id().to_string(),
            transport: session.transport(),
        });
    }

    fn on_message(&self, session: &Session, message: Message) {
        if message.as_text() == Some(FLOOD) {
            tokio::spawn(flood(session.clone()));
        } else {
            let _ = session.send(message);
        }
    }

    fn on_close(&self, session: &Session, reason: CloseReason) {
        let _ = self.events.send(Event::Close {
            sid: session.id().to_string(),
            reason,
        });
    }
}

async fn flood(session: Session) {
    let mut after_upgrade = 0;
    for i in 0..1_000_000usize {
        // Checked before the send: a message sent once the session is on WebSocket cannot
        // go out over the old transport.
        let upgraded = session.transport() == "websocket";
        if session.send(i.to_string()).is_err() {
            return;
        }
        if upgraded {
            after_upgrade += 1;
            if after_upgrade >= FLOOD_AFTER_UPGRADE {
                break;
            }
        }
        tokio::task::yield_now().await;
    }
    let _ = session.send(FLOOD_END);
}

/// An engine served on `127.0.0.1:0`, stopped when dropped.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) engine: Engine,
    events: mpsc::UnboundedReceiver<Event>,
    /// Events received but not yet asked for.
    seen: Vec<Event>,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    pub(crate) async fn start(config: EngineConfig) -> Server {
        let (events, rx) = mpsc::unbounded_channel();
        let engine = Engine::new(config, Recorder { events });
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(tidings_transports::serve(listener, engine.service()));
        Server {
            addr,
            engine,
            events: rx,
            seen: Vec::new(),
            task,
        }
    }

    /// A server with the default configuration.
    pub(crate) async fn with_defaults() -> Server {
        Server::start(EngineConfig::default()).await
    }

    /// Waits for the session `sid` to close and returns why.
    pub(crate) async fn closed(&mut self, sid: &str) -> CloseReason {
        let is_it = |e: &Event| matches!(e, Event::Close { sid: s, .. } if s == sid);
        if let Some(at) = self.seen.iter().position(is_it) {
            let Event::Close { reason, .. } = self.seen.remove(at) else {
                unreachable!()
            };
            return reason;
        }
        loop {
            let event = within(&format!("the close of {sid}"), self.events.recv())
                .await
                .expect("the engine holds the handler");
            match event {
                Event::Close { sid: s, reason } if s == sid => return reason,
                other => self.seen.push(other),
            }
        }
    }

    /// Waits for the next session to open and returns its id and transport.
    pub(crate) async fn opened(&mut self) -> (String, &'static str) {
        if let Some(at) = self
            .seen
            .iter()
            .position(|e| matches!(e, Event::Open { .. }))
        {
            let Event::Open { sid, transport } = self.seen.remove(at) else {
                unreachable!()
            };
            return (sid, transport);
        }
        loop {
            let event = within("a session to open", self.events.recv())
                .await
                .expect("the engine holds the handler");
            match event {
                Event::Open { sid, transport } => return (sid, transport),
                other => self.seen.push(other),
            }
        }
    }

    /// The open session `sid`.
    #[track_caller]
    pub(crate) fn session(&self, sid: &str) -> Session {
        self.engine
            .session(sid.parse().expect("a session id"))
            .unwrap_or_else(|| panic!("session {sid} is gone"))
    }

    /// Asserts that `sid` is open and that the handler has not seen it close.
    pub(crate) fn assert_open(&mut self, sid: &str) {
        while let Ok(event) = self.events.try_recv() {
            self.seen.push(event);
        }
        let close = self
            .seen
            .iter()
            .find(|e| matches!(e, Event::Close { sid: s, .. } if s == sid));
        assert_eq!(close, None, "session {sid} closed");
        let session = self
            .engine
            .session(sid.parse().expect("a session id"))
            .unwrap_or_else(|| panic!("session {sid} is gone"));
        assert!(!session.is_closed(), "session {sid} is closed");
    }

    /// A GET on a new connection.
    pub(crate) async fn get(&self, query: &str) -> Response {
        Http::connect(self.addr)
            .await
            .request("GET", &path(query), &[], b"")
            .await
    }

    /// A POST on a new connection.
    pub(crate) async fn post(&self, query: &str, body: &[u8]) -> Response {
        Http::connect(self.addr)
            .await
            .request("POST", &path(query), &[], body)
            .await
    }

    /// Opens a long-polling session and returns its id.
    pub(crate) async fn handshake(&self) -> String {
        let response = self.get("EIO=4&transport=polling").await;
        assert_eq!(response.status, 200, "{response:?}");
        open_sid(&response.text())
    }

    /// A polling GET for `sid`, sent and waiting at the server.
    pub(crate) async fn pending_get(&self, sid: &str) -> Http {
        let mut get = Http::connect(self.addr).await;
        let query = format!("EIO=4&transport=polling&sid={sid}");
        get.send("GET", &path(&query), &[], b"").await;
        self.settle().await;
        get
    }

    /// One full round trip on a fresh connection.
    ///
    /// The tests run on a current-thread runtime, where the server's tasks and the test share
    /// one thread: by the time this returns, every request written before it has been read
    /// and dispatched by the server (a connection ready to read is polled long before the
    /// several turns of the scheduler a new connection and its answer take).
    pub(crate) async fn settle(&self) {
        let response = Http::connect(self.addr)
            .await
            .request("GET", "/settle", &[], b"")
            .await;
        assert_eq!(response.status, 404);
    }

    /// The `ws://` URL of the engine with this query.
    pub(crate) fn ws_url(&self, query: &str) -> String {
        format!("ws://{}{}", self.addr, path(query))
    }

    /// Opens a WebSocket.
    pub(crate) async fn ws(&self, query: &str) -> Ws {
        let (ws, response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(self.ws_url(query)),
        )
        .await
        .expect("WebSocket handshake");
        assert_eq!(response.status(), 101);
        ws
    }

    /// Opens a WebSocket session: the connection, past its open packet, and the session.
    pub(crate) async fn ws_session(&self) -> (Ws, Session) {
        let mut ws = self.ws("EIO=4&transport=websocket").await;
        let sid = open_sid(&ws_text(&mut ws).await);
        (ws, self.session(&sid))
    }

    /// Tries to open a WebSocket that the server must refuse; returns the HTTP status and the
    /// body.
    pub(crate) async fn ws_refused(&self, query: &str) -> (u16, String) {
        let result = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(self.ws_url(query)),
        )
        .await;
        match result {
            Ok(_) => panic!("the WebSocket handshake succeeded"),
            Err(tungstenite::Error::Http(response)) => (
                response.status().as_u16(),
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default())
                    .into_owned(),
            ),
            Err(other) => panic!("unexpected WebSocket error: {other}"),
        }
    }
}

/// The engine path with a query.
pub(crate) fn path(query: &str) -> String {
    format!("/engine.io/?{query}")
}

/// The `sid` of an open packet (`0{"sid":…}`).
pub(crate) fn open_sid(packet: &str) -> String {
    let json = open_json(packet);
    json["sid"].as_str().expect("sid is a string").to_owned()
}

/// The JSON of an open packet.
pub(crate) fn open_json(packet: &str) -> serde_json::Value {
    let json = packet
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {packet:?}"));
    serde_json::from_str(json).expect("open packet JSON")
}

/// Joins packets into a long-polling payload.
pub(crate) fn payload(packets: &[&[u8]]) -> Vec<u8> {
    packets.join(&0x1e)
}

/// Splits a long-polling payload into its packets.
pub(crate) fn packets(body: &[u8]) -> Vec<String> {
    if body.is_empty() {
        return Vec::new();
    }
    body.split(|&b| b == 0x1e)
        .map(|p| String::from_utf8(p.to_vec()).expect("payloads are UTF-8"))
        .collect()
}

/// An HTTP response as read from the wire.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// Names in lower case, in the order received.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// The first header with this (lower-case) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every header with this (lower-case) name.
    pub(crate) fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an `ok` answer to a POST.
    #[track_caller]
    pub(crate) fn assert_ok(&self) {
        assert_eq!((self.status, self.text().as_str()), (200, "ok"), "{self:?}");
    }

    /// Asserts an Engine.IO error answer: status, JSON content type and exact body.
    #[track_caller]
    pub(crate) fn assert_error(&self, status: u16, code: u8, message: &str) {
        let body = format!(
            r#"{{"code":{code},"message":{}}}"#,
            serde_json::Value::from(message)
        );
        assert_eq!(
            (self.status, self.text()),
            (status, body),
            "headers {:?}",
            self.headers
        );
        assert_eq!(self.header("content-type"), Some("application/json"));
    }
}

/// A status line and headers, for responses read as a stream.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A raw HTTP/1.1 client on one TCP connection.
pub(crate) struct Http {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Http {
    pub(crate) async fn connect(addr: SocketAddr) -> Http {
        let stream = within("a connection", TcpStream::connect(addr))
            .await
            .expect("connect");
        Http::over(stream)
    }

    /// A connection from another loopback address (`127.0.0.2`, …), so that the server sees
    /// another client.
    pub(crate) async fn connect_from(addr: SocketAddr, local: std::net::Ipv4Addr) -> Http {
        let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
        socket
            .bind(SocketAddr::from((local, 0)))
            .expect("bind a loopback address");
        let stream = within("a connection", socket.connect(addr))
            .await
            .expect("connect");
        Http::over(stream)
    }

    fn over(stream: TcpStream) -> Http {
        stream.set_nodelay(true).expect("nodelay");
        Http {
            stream,
            buf: Vec::new(),
        }
    }

    /// The connection and the bytes read past the last response, for a protocol that takes
    /// over the connection (a WebSocket after `101`).
    pub(crate) fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }

    /// Writes raw bytes.
    pub(crate) async fn write(&mut self, bytes: &[u8]) {
        within("a write", self.stream.write_all(bytes))
            .await
            .expect("write");
    }

    /// Writes a request; a POST, PUT or a non-empty body gets a `Content-Length`.
    pub(crate) async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) {
        let mut request = format!("{method} {target} HTTP/1.1\r\nhost: 127.0.0.1\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() || method == "POST" || method == "PUT" {
            request.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.write(&bytes).await;
    }

    /// Writes a request and reads its response.
    pub(crate) async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.send(method, target, headers, body).await;
        self.response().await
    }

    /// Reads a whole response (skipping `100 Continue`).
    pub(crate) async fn response(&mut self) -> Response {
        within("a response", async {
            let head = self.read_head().await;
            let body = self.read_body(&head).await;
            Response {
                status: head.status,
                headers: head.headers,
                body,
            }
        })
        .await
    }

    /// Reads the status line and headers of the next response that is not `100 Continue`.
    pub(crate) async fn head(&mut self) -> Head {
        within("a response head", self.read_head()).await
    }

    /// The whole response whose head was read with [`head`](Self::head).
    pub(crate) async fn rest(&mut self, head: Head) -> Response {
        let body = within("a response body", self.read_body(&head)).await;
        Response {
            status: head.status,
            headers: head.headers,
            body,
        }
    }

    /// The next chunk of a chunked body whose head was read with [`head`](Self::head);
    /// `None` at its end.
    pub(crate) async fn chunk(&mut self) -> Option<Vec<u8>> {
        within("a chunk", self.read_chunk()).await
    }

    /// Whether the server closed the connection (reads nothing more than EOF).
    pub(crate) async fn eof(&mut self) -> bool {
        within("the end of the connection", self.fill()).await == 0 && self.buf.is_empty()
    }

    async fn read_head(&mut self) -> Head {
        loop {
            let status_line = self.line().await;
            let mut parts = status_line.splitn(3, ' ');
            assert_eq!(
                parts.next(),
                Some("HTTP/1.1"),
                "status line {status_line:?}"
            );
            let status: u16 = parts
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("status line {status_line:?}"));
            let mut headers = Vec::new();
            loop {
                let line = self.line().await;
                if line.is_empty() {
                    break;
                }
                let (name, value) = line.split_once(':').expect("a header line");
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
            if status != 100 {
                return Head { status, headers };
            }
        }
    }

    async fn read_body(&mut self, head: &Head) -> Vec<u8> {
        if let Some(len) = head.header("content-length") {
            let len = len.parse().expect("a content length");
            return self.take(len).await;
        }
        if head
            .header("transfer-encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            let mut body = Vec::new();
            while let Some(chunk) = self.read_chunk().await {
                body.extend(chunk);
            }
            return body;
        }
        if matches!(head.status, 101 | 204 | 304) {
            return Vec::new();
        }
        while self.fill().await > 0 {}
        std::mem::take(&mut self.buf)
    }

    async fn read_chunk(&mut self) -> Option<Vec<u8>> {
        let size_line = self.line().await;
        let size = usize::from_str_radix(size_line.split(';').next().unwrap_or("").trim(), 16)
            .unwrap_or_else(|_| panic!("chunk size line {size_line:?}"));
        if size == 0 {
            // Trailers, then the empty line.
            while !self.line().await.is_empty() {}
            return None;
        }
        let data = self.take(size).await;
        assert_eq!(self.line().await, "", "chunk terminator");
        Some(data)
    }

    /// Reads more bytes into the buffer; 0 at EOF.
    async fn fill(&mut self) -> usize {
        let mut chunk = [0; 8192];
        let n = self.stream.read(&mut chunk).await.unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n
    }

    async fn line(&mut self) -> String {
        loop {
            if let Some(at) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..at + 2).take(at).collect();
                return String::from_utf8(line).expect("an ASCII line");
            }
            assert!(self.fill().await > 0, "connection closed mid-response");
        }
    }

    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            assert!(self.fill().await > 0, "connection closed mid-body");
        }
        self.buf.drain(..n).collect()
    }
}

/// A WebSocket client connection.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The next data or close frame (pings and pongs are skipped); `None` when the stream ends.
pub(crate) async fn ws_next(ws: &mut Ws) -> Option<WsMessage> {
    within("a WebSocket frame", async {
        loop {
            match ws.next().await {
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(message)) => return Some(message),
                Some(Err(_)) | None => return None,
            }
        }
    })
    .await
}

/// The next text frame.
pub(crate) async fn ws_text(ws: &mut Ws) -> String {
    match ws_next(ws).await {
        Some(WsMessage::Text(text)) => text.as_str().to_owned(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

pub(crate) async fn ws_send(ws: &mut Ws, message: impl Into<WsMessage>) {
    within("a WebSocket send", ws.send(message.into()))
        .await
        .expect("WebSocket send");
}

/// Reads until the server's close frame: the data frames before it and the close code (`None`
/// when the connection ended without a close frame).
pub(crate) async fn ws_closed(ws: &mut Ws) -> (Vec<WsMessage>, Option<u16>) {
    let mut before = Vec::new();
    loop {
        match ws_next(ws).await {
            Some(WsMessage::Close(frame)) => return (before, frame.map(|f| u16::from(f.code))),
            Some(message) => before.push(message),
            None => return (before, None),
        }
    }
}

/// An SSE event stream, read with the crate's own event-stream decoder.
pub(crate) struct SseStream {
    pub(crate) http: Http,
    pub(crate) decoder: tidings_transports::packet::sse::Decoder,
    packets: std::collections::VecDeque<tidings_transports::Packet>,
    /// Every byte of the stream so far, to look for comments.
    pub(crate) raw: Vec<u8>,
}

impl SseStream {
    /// The stream that answers a GET with `query`, once its head said 200, chunked.
    pub(crate) async fn connect(server: &Server, query: &str) -> SseStream {
        let mut http = Http::connect(server.addr).await;
        http.send("GET", &path(query), &[], b"").await;
        let head = http.head().await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("transfer-encoding"), Some("chunked"));
        SseStream {
            http,
            decoder: Default::default(),
            packets: Default::default(),
            raw: Vec::new(),
        }
    }

    /// A new SSE session: its stream, past the open packet, and its sid.
    pub(crate) async fn open(server: &Server) -> (SseStream, String) {
        let mut stream = SseStream::connect(server, "EIO=4&transport=sse").await;
        let Some(tidings_transports::Packet::Open(json)) = stream.next().await else {
            panic!("the stream starts with the open packet");
        };
        let sid = open_sid(json.as_str());
        (stream, sid)
    }

    /// The next packet; `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Option<tidings_transports::Packet> {
        loop {
            if let Some(packet) = self.packets.pop_front() {
                return Some(packet);
            }
            let chunk = self.http.chunk().await?;
            self.raw.extend_from_slice(&chunk);
            let packets = self.decoder.push(&chunk).expect("a valid event stream");
            self.packets.extend(packets);
        }
    }
}
