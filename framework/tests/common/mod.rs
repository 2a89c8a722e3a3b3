//! Shared helpers of the framework's integration tests: a Tidings server on `127.0.0.1:0`, a
//! raw Socket.IO client over Engine.IO v4 WebSocket (JSON and msgpack parsers), and channels
//! that carry what the server's handlers saw back to the test.
//!
//! Every wait has a deadline ([`DEADLINE`]) so a broken server fails a test instead of hanging
//! it; asserting that something does not happen waits [`QUIET`] at most.

// Each test file compiles this module and uses its own part of it.
#![allow(dead_code)]

use std::fmt::Debug;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tidings::Io;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long any single wait may take before the test fails.
pub(crate) const DEADLINE: Duration = Duration::from_secs(5);

/// How long a test waits to be sure that something does not come.
pub(crate) const QUIET: Duration = Duration::from_millis(200);

/// Awaits `future`, failing the test after [`DEADLINE`].
pub(crate) async fn within<F: Future>(what: &str, future: F) -> F::Output {
    match tokio::time::timeout(DEADLINE, future).await {
        Ok(output) => output,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

/// A channel from the server's handlers to the test.
pub(crate) fn channel<T>() -> (mpsc::UnboundedSender<T>, Seen<T>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (tx, Seen(rx))
}

/// What the server's handlers reported, in order.
#[derive(Debug)]
pub(crate) struct Seen<T>(mpsc::UnboundedReceiver<T>);

impl<T: Debug> Seen<T> {
    /// The next report.
    pub(crate) async fn next(&mut self, what: &str) -> T {
        within(what, self.0.recv())
            .await
            .unwrap_or_else(|| panic!("every handler is gone while waiting for {what}"))
    }

    /// Asserts that no report comes within [`QUIET`].
    pub(crate) async fn none(&mut self, what: &str) {
        if let Ok(Some(report)) = tokio::time::timeout(QUIET, self.0.recv()).await {
            panic!("{what}: got {report:?}");
        }
    }
}

/// A Tidings server on `127.0.0.1:0`, stopped when dropped.
pub(crate) struct Server {
    pub(crate) io: Io,
    pub(crate) addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    /// Serves `io` on a free port.
    pub(crate) async fn start(io: Io) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(tidings::serve(listener, io.service()));
        Server { io, addr, task }
    }

    /// A new Engine.IO connection over WebSocket, past the open packet, not connected to any
    /// namespace.
    pub(crate) async fn open(&self) -> Client {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        let (ws, response) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("WebSocket handshake");
        assert_eq!(response.status(), 101);
        let mut client = Client {
            ws,
            eio_sid: String::new(),
        };
        let open = match client.next_frame("the open packet").await {
            Frame::Open(json) => json,
            other => panic!("expected the open packet, got {other:?}"),
        };
        client.eio_sid = open["sid"]
            .as_str()
            .expect("the open packet has a sid")
            .to_owned();
        client
    }

    /// A new connection with the JSON parser, connected to the main namespace.
    pub(crate) async fn connect(&self) -> Client {
        let mut client = self.open().await;
        client.connect_ns("/", None).await;
        client
    }
}

/// An Engine.IO message from the server, Socket.IO packets left undecoded.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Frame {
    /// The open packet's JSON.
    Open(Value),
    /// A text message (without the Engine.IO `4`).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// A WebSocket client connection.
type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw Socket.IO client on one Engine.IO WebSocket connection. It answers pings while it
/// reads.
pub(crate) struct Client {
    ws: Ws,
    /// The Engine.IO session id.
    pub(crate) eio_sid: String,
}

/// A Socket.IO packet of the default parser, with its attachments.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Packet {
    /// `0` to `6`.
    pub(crate) kind: u8,
    pub(crate) nsp: String,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<Value>,
    pub(crate) attachments: Vec<Vec<u8>>,
}

impl Packet {
    /// Parses the text of a packet; returns it and the number of attachments it announces.
    pub(crate) fn parse(text: &str) -> (Packet, usize) {
        let bytes = text.as_bytes();
        let kind = match bytes.first() {
            Some(digit @ b'0'..=b'6') => digit - b'0',
            _ => panic!("not a Socket.IO packet: {text:?}"),
        };
        let mut at = 1;
        let mut attachments = 0;
        if kind == 5 || kind == 6 {
            let dash = text[at..]
                .find('-')
                .unwrap_or_else(|| panic!("no attachment count: {text:?}"));
            attachments = text[at..at + dash].parse().expect("an attachment count");
            at += dash + 1;
        }
        let mut nsp = "/".to_owned();
        if text[at..].starts_with('/') {
            let end = text[at..].find(',').map_or(text.len(), |comma| at + comma);
            nsp = text[at..end].to_owned();
            at = (end + 1).min(text.len());
        }
        let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
        let id = (digits > 0).then(|| text[at..at + digits].parse().expect("an ack id"));
        at += digits;
        let data = (at < text.len())
            .then(|| serde_json::from_str(&text[at..]).unwrap_or_else(|e| panic!("{e}: {text:?}")));
        let packet = Packet {
            kind,
            nsp,
            id,
            data,
            attachments: Vec::with_capacity(attachments),
        };
        (packet, attachments)
    }

    /// The event's name and arguments.
    #[track_caller]
    pub(crate) fn event(&self) -> (&str, &[Value]) {
        assert!(matches!(self.kind, 2 | 5), "not an event: {self:?}");
        let items = self
            .data
            .as_ref()
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("an event's data is an array: {self:?}"));
        let name = items
            .first()
            .and_then(Value::as_str)
            .unwrap_or_else(|| panic!("an event has a name: {self:?}"));
        (name, &items[1..])
    }

    /// The event's arguments, after checking its name.
    #[track_caller]
    pub(crate) fn args_of(&self, event: &str) -> &[Value] {
        let (name, args) = self.event();
        assert_eq!(name, event, "{self:?}");
        args
    }

    /// The ack's arguments.
    #[track_caller]
    pub(crate) fn ack_args(&self) -> &[Value] {
        assert!(matches!(self.kind, 3 | 6), "not an ack: {self:?}");
        self.data
            .as_ref()
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("an ack's data is an array: {self:?}"))
    }

    /// The bytes a placeholder names.
    #[track_caller]
    pub(crate) fn binary(&self, placeholder: &Value) -> &[u8] {
        assert_eq!(
            placeholder["_placeholder"],
            Value::Bool(true),
            "{placeholder}"
        );
        let num = placeholder["num"].as_u64().expect("a placeholder number");
        let num = usize::try_from(num).expect("a small number");
        &self.attachments[num]
    }
}

/// A Socket.IO packet of the msgpack parser.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MsgPacket {
    pub(crate) kind: u64,
    pub(crate) nsp: String,
    pub(crate) id: Option<u64>,
    pub(crate) data: Option<rmpv::Value>,
}

impl MsgPacket {
    /// Encodes a packet as `socket.io-msgpack-parser` does.
    pub(crate) fn encode(
        kind: u64,
        nsp: &str,
        id: Option<u64>,
        data: Option<rmpv::Value>,
    ) -> Vec<u8> {
        let mut map = vec![
            (rmpv::Value::from("type"), rmpv::Value::from(kind)),
            (rmpv::Value::from("nsp"), rmpv::Value::from(nsp)),
        ];
        if let Some(data) = data {
            map.push((rmpv::Value::from("data"), data));
        }
        if let Some(id) = id {
            map.push((rmpv::Value::from("id"), rmpv::Value::from(id)));
        }
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &rmpv::Value::Map(map)).expect("writes to a Vec");
        out
    }

    /// Decodes a packet the server sent.
    pub(crate) fn decode(bytes: &[u8]) -> MsgPacket {
        let mut rest = bytes;
        let value = rmpv::decode::read_value(&mut rest).expect("one msgpack value");
        assert!(rest.is_empty(), "trailing bytes after the packet");
        let rmpv::Value::Map(entries) = value else {
            panic!("a packet is a map: {value:?}");
        };
        let field = |name: &str| {
            entries
                .iter()
                .find(|(key, _)| key.as_str() == Some(name))
                .map(|(_, value)| value.clone())
        };
        MsgPacket {
            kind: field("type").and_then(|t| t.as_u64()).expect("a type"),
            nsp: field("nsp")
                .and_then(|n| n.as_str().map(str::to_owned))
                .expect("a namespace"),
            id: field("id").and_then(|id| id.as_u64()),
            data: field("data"),
        }
    }

    /// The event's name and arguments.
    #[track_caller]
    pub(crate) fn event(&self) -> (&str, &[rmpv::Value]) {
        assert_eq!(self.kind, 2, "not an event: {self:?}");
        let items = self
            .data
            .as_ref()
            .and_then(rmpv::Value::as_array)
            .unwrap_or_else(|| panic!("an event's data is an array: {self:?}"));
        let name = items
            .first()
            .and_then(rmpv::Value::as_str)
            .unwrap_or_else(|| panic!("an event has a name: {self:?}"));
        (name, &items[1..])
    }
}

impl Client {
    /// Sends a raw Engine.IO text message, such as `42["event"]`.
    pub(crate) async fn send(&mut self, text: &str) {
        within("a WebSocket send", self.ws.send(WsMessage::text(text)))
            .await
            .expect("WebSocket send");
    }

    /// Sends an Engine.IO binary message (an attachment, or a msgpack packet).
    pub(crate) async fn send_binary(&mut self, bytes: &[u8]) {
        within(
            "a WebSocket send",
            self.ws.send(WsMessage::binary(bytes.to_vec())),
        )
        .await
        .expect("WebSocket send");
    }

    /// Sends a msgpack packet.
    pub(crate) async fn send_msgpack(
        &mut self,
        kind: u64,
        nsp: &str,
        id: Option<u64>,
        data: Option<rmpv::Value>,
    ) {
        self.send_binary(&MsgPacket::encode(kind, nsp, id, data))
            .await;
    }

    /// The next Engine.IO message, answering pings on the way; `None` once the server closed
    /// the connection (an Engine.IO close packet, a close frame, or the end of the stream).
    async fn read(&mut self) -> Option<Frame> {
        loop {
            let message = match self.ws.next().await {
                Some(Ok(message)) => message,
                Some(Err(_)) | None => return None,
            };
            match message {
                WsMessage::Text(text) => {
                    let text = text.as_str();
                    match text.as_bytes().first() {
                        Some(b'0') => {
                            let json = serde_json::from_str(&text[1..]).expect("open packet JSON");
                            return Some(Frame::Open(json));
                        }
                        Some(b'1') => return None,
                        Some(b'2') => {
                            let pong = format!("3{}", &text[1..]);
                            let _ = self.ws.send(WsMessage::text(pong)).await;
                        }
                        Some(b'4') => return Some(Frame::Text(text[1..].to_owned())),
                        Some(b'6') => {}
                        _ => panic!("unexpected Engine.IO packet {text:?}"),
                    }
                }
                WsMessage::Binary(bytes) => return Some(Frame::Binary(bytes.to_vec())),
                WsMessage::Close(_) => return None,
                WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_) => {}
            }
        }
    }

    /// The next Engine.IO message.
    pub(crate) async fn next_frame(&mut self, what: &str) -> Frame {
        within(what, self.read())
            .await
            .unwrap_or_else(|| panic!("the connection closed while waiting for {what}"))
    }

    /// The next Socket.IO packet of the default parser, with its attachments.
    pub(crate) async fn packet(&mut self) -> Packet {
        let text = match self.next_frame("a packet").await {
            Frame::Text(text) => text,
            other => panic!("expected a text packet, got {other:?}"),
        };
        let (mut packet, attachments) = Packet::parse(&text);
        for _ in 0..attachments {
            match self.next_frame("an attachment").await {
                Frame::Binary(bytes) => packet.attachments.push(bytes),
                other => panic!("expected an attachment of {text:?}, got {other:?}"),
            }
        }
        packet
    }

    /// The next packet, which must be an event (of any namespace).
    pub(crate) async fn event(&mut self) -> Packet {
        let packet = self.packet().await;
        assert!(
            matches!(packet.kind, 2 | 5),
            "expected an event, got {packet:?}"
        );
        packet
    }

    /// The next packet, which must be event `name` on `/`; returns its arguments.
    pub(crate) async fn event_args(&mut self, name: &str) -> Vec<Value> {
        let packet = self.event().await;
        assert_eq!(packet.nsp, "/", "{packet:?}");
        packet.args_of(name).to_vec()
    }

    /// The next packet, which must be an ack (of any namespace).
    pub(crate) async fn ack(&mut self) -> Packet {
        let packet = self.packet().await;
        assert!(
            matches!(packet.kind, 3 | 6),
            "expected an ack, got {packet:?}"
        );
        packet
    }

    /// The next msgpack packet.
    pub(crate) async fn msgpack(&mut self) -> MsgPacket {
        match self.next_frame("a msgpack packet").await {
            Frame::Binary(bytes) => MsgPacket::decode(&bytes),
            other => panic!("expected a binary msgpack packet, got {other:?}"),
        }
    }

    /// Connects to `nsp` with the JSON parser (`auth` is raw JSON); returns the socket id.
    pub(crate) async fn connect_ns(&mut self, nsp: &str, auth: Option<&str>) -> String {
        self.send(&connect_packet(nsp, auth)).await;
        let packet = self.packet().await;
        assert_eq!((packet.kind, packet.nsp.as_str()), (0, nsp), "{packet:?}");
        packet
            .data
            .as_ref()
            .and_then(|d| d["sid"].as_str())
            .expect("a sid")
            .to_owned()
    }

    /// Tries to connect to `nsp`, which must refuse; returns the CONNECT_ERROR's data.
    pub(crate) async fn connect_refused(&mut self, nsp: &str, auth: Option<&str>) -> Value {
        self.send(&connect_packet(nsp, auth)).await;
        let packet = self.packet().await;
        assert_eq!((packet.kind, packet.nsp.as_str()), (4, nsp), "{packet:?}");
        packet.data.expect("a CONNECT_ERROR has data")
    }

    /// Waits for the server to close the connection; returns the messages that came before.
    pub(crate) async fn closed(&mut self) -> Vec<Frame> {
        within("the connection to close", async {
            let mut before = Vec::new();
            while let Some(frame) = self.read().await {
                before.push(frame);
            }
            before
        })
        .await
    }

    /// Asserts that nothing comes, and the connection stays open, for [`QUIET`].
    pub(crate) async fn quiet(&mut self) {
        match tokio::time::timeout(QUIET, self.read()).await {
            Err(_) => {}
            Ok(Some(frame)) => panic!("expected nothing, got {frame:?}"),
            Ok(None) => panic!("expected nothing, but the connection closed"),
        }
    }

    /// Closes the WebSocket cleanly, as a browser tab that goes away.
    pub(crate) async fn close(mut self) {
        within("the WebSocket close", self.ws.close(None))
            .await
            .expect("WebSocket close");
        within("the end of the stream", async {
            while self.ws.next().await.is_some() {}
        })
        .await;
    }

    /// Drops the TCP connection without a close frame.
    pub(crate) fn drop_connection(self) {
        drop(self);
    }
}

/// Asserts that nothing comes to any of `clients` for [`QUIET`], waiting for all at once.
pub(crate) async fn all_quiet(clients: Vec<&mut Client>) {
    futures_util::future::join_all(clients.into_iter().map(Client::quiet)).await;
}

/// A CONNECT packet to `nsp`, with raw JSON `auth`.
pub(crate) fn connect_packet(nsp: &str, auth: Option<&str>) -> String {
    let nsp = if nsp == "/" {
        String::new()
    } else {
        format!("{nsp},")
    };
    format!("40{nsp}{}", auth.unwrap_or(""))
}
