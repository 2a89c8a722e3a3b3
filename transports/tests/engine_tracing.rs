//! The `session` span: what a handler logs carries the session's id, its transport and the
//! client's address, over long-polling and over WebSocket.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::{Http, open_sid, path, ws_send, ws_text};
use http::request::Parts;
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Logs every message at `info`, and echoes it.
struct Logging;

impl Handler for Logging {
    fn on_open(&self, _: &Session, _: &Parts) {}
    fn on_message(&self, session: &Session, message: Message) {
        tracing::info!("message in");
        let _ = session.send(message);
    }
    fn on_close(&self, _: &Session, _: CloseReason) {}
}

/// What the subscriber wrote.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    /// The lines that say `message in`.
    fn messages(&self) -> Vec<String> {
        let bytes = self.0.lock().expect("log").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|line| line.contains("message in"))
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn a_handler_logs_inside_its_session_span() {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    // The test's runtime has one thread: the server's tasks run on it too.
    let _default = tracing::subscriber::set_default(subscriber);

    let engine = Engine::new(EngineConfig::default(), Logging);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let server = tokio::spawn(tidings_transports::serve(listener, engine.service()));

    // Long-polling: the POST's messages are handled in the POST's span.
    let open = Http::connect(addr)
        .await
        .request("GET", &path("EIO=4&transport=polling"), &[], b"")
        .await;
    let sid = open_sid(&open.text());
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let mut post = Http::connect(addr).await;
    let response = post.request("POST", &path(&query), &[], b"4hi").await;
    assert_eq!(response.status, 200);
    let lines = log.messages();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!(
            "session{{sid={sid} transport=polling peer=127.0.0.1:"
        )),
        "{lines:?}"
    );

    // WebSocket: the connection's task runs in the span.
    let url = format!("ws://{addr}{}", path("EIO=4&transport=websocket"));
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("WebSocket handshake");
    let ws_sid = open_sid(&ws_text(&mut ws).await);
    ws_send(&mut ws, WsMessage::text("4hey")).await;
    assert_eq!(ws_text(&mut ws).await, "4hey");
    let lines = log.messages();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[1].contains(&format!(
            "session{{sid={ws_sid} transport=websocket peer=127.0.0.1:"
        )),
        "{lines:?}"
    );
    server.abort();
}
