//! A Tidings server on `127.0.0.1:0`, and a raw Socket.IO client (JSON parser, WebSocket)
//! that reads events, acks them when asked, and answers pings.

use std::net::SocketAddr;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tidings::Io;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{QUIET, within};

/// A Tidings server on a free port, stopped when dropped.
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
    pub(crate) async fn start(io: Io) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let task = tokio::spawn(tidings::serve(listener, io.service()));
        Server { io, addr, task }
    }

    /// A client connected to namespace `/`.
    pub(crate) async fn connect(&self) -> Client {
        let url = format!("ws://{}/socket.io/?EIO=4&transport=websocket", self.addr);
        let (ws, _) = within(
            "the WebSocket handshake",
            tokio_tungstenite::connect_async(url),
        )
        .await
        .expect("WebSocket handshake");
        let mut client = Client {
            ws,
            sid: String::new(),
        };
        client.send("0").await;
        loop {
            let text = client.text("the CONNECT reply").await;
            if let Some(reply) = text.strip_prefix('0') {
                let reply: Value = serde_json::from_str(reply).expect("CONNECT reply JSON");
                client.sid = reply["sid"].as_str().expect("a sid").to_owned();
                return client;
            }
        }
    }
}

/// A Socket.IO client of namespace `/`.
pub(crate) struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The socket's id.
    pub(crate) sid: String,
}

/// An event a client received.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Event {
    pub(crate) name: String,
    pub(crate) args: Vec<Value>,
    /// The ack id, when the server asked for an ack.
    pub(crate) id: Option<u64>,
}

impl Client {
    pub(crate) async fn send(&mut self, packet: &str) {
        within(
            "a send",
            self.ws.send(WsMessage::text(format!("4{packet}"))),
        )
        .await
        .expect("WebSocket send");
    }

    /// The next Socket.IO packet's text, answering pings; `None` when the connection closed.
    async fn read(&mut self) -> Option<String> {
        loop {
            match self.ws.next().await? {
                Ok(WsMessage::Text(text)) => match text.as_bytes().first() {
                    Some(b'2') => {
                        let _ = self.ws.send(WsMessage::text("3")).await;
                    }
                    Some(b'4') => return Some(text[1..].to_owned()),
                    Some(b'1') => return None,
                    _ => {}
                },
                Ok(WsMessage::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    async fn text(&mut self, what: &str) -> String {
        within(what, self.read())
            .await
            .unwrap_or_else(|| panic!("the connection closed while waiting for {what}"))
    }

    /// The next Socket.IO packet, as text (`2[...]` for an event, `1` for a disconnection).
    pub(crate) async fn packet(&mut self, what: &str) -> String {
        self.text(what).await
    }

    /// The next event.
    pub(crate) async fn event(&mut self, what: &str) -> Event {
        let text = self.text(what).await;
        parse_event(&text).unwrap_or_else(|| panic!("{what}: expected an event, got {text:?}"))
    }

    /// Asserts that no packet comes within [`QUIET`].
    pub(crate) async fn nothing(&mut self, what: &str) {
        if let Ok(Some(text)) = tokio::time::timeout(QUIET, self.read()).await {
            panic!("{what}: got {text:?}");
        }
    }

    /// Emits `event` with `arg`, waiting for the ack; returns the ack's arguments.
    pub(crate) async fn call(&mut self, event: &str, arg: Value) -> Vec<Value> {
        let data = serde_json::json!([event, arg]);
        self.send(&format!("21{data}")).await;
        loop {
            let text = self.text("an ack").await;
            if let Some(args) = text.strip_prefix("31") {
                return serde_json::from_str(args).expect("ack JSON");
            }
        }
    }

    /// Acks event `id` with `arg`.
    pub(crate) async fn ack(&mut self, id: u64, arg: Value) {
        self.send(&format!("3{id}{}", serde_json::json!([arg])))
            .await;
    }
}

fn parse_event(text: &str) -> Option<Event> {
    let rest = text.strip_prefix('2')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let id = (digits > 0).then(|| rest[..digits].parse().ok()).flatten();
    let Value::Array(mut items) = serde_json::from_str(&rest[digits..]).ok()? else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let name = items.remove(0).as_str()?.to_owned();
    Some(Event {
        name,
        args: items,
        id,
    })
}
