//! A handler that panics does not take its session's connection or heartbeat down with it.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use http::request::Parts;
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// Echoes, except that `boom` panics; reports closes.
struct Fragile(mpsc::UnboundedSender<CloseReason>);

impl Handler for Fragile {
    fn on_open(&self, _: &Session, _: &Parts) {}
    fn on_message(&self, session: &Session, message: Message) {
        assert_ne!(message.as_text(), Some("boom"), "a handler bug");
        let _ = session.send(message);
    }
    fn on_close(&self, _: &Session, reason: CloseReason) {
        let _ = self.0.send(reason);
    }
}

async fn next_text(
    ws: &mut tokio_tungstenite::WebSocketStream<
        impl tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    >,
) -> String {
    let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame in time")
        .expect("the connection is open")
        .expect("a valid frame");
    frame.into_text().expect("a text frame").to_string()
}

#[tokio::test]
async fn a_panicking_handler_leaves_the_session_working() {
    let (closes, mut closed) = mpsc::unbounded_channel();
    let config = EngineConfig::default()
        .ping_interval(Duration::from_millis(100))
        .ping_timeout(Duration::from_millis(100));
    let engine = Engine::new(config, Fragile(closes));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(tidings_transports::serve(listener, engine.service()));

    let url = format!("ws://{addr}/engine.io/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    assert!(next_text(&mut ws).await.starts_with("0{"));
    ws.send(WsMessage::text("4boom")).await.expect("send");
    ws.send(WsMessage::text("4still here")).await.expect("send");
    // Pings keep coming from the same task, and the echo after the panic arrives.
    let mut seen = Vec::new();
    while !seen.contains(&"4still here".to_owned()) {
        let text = next_text(&mut ws).await;
        if text == "2" {
            ws.send(WsMessage::text("3")).await.expect("pong");
        }
        seen.push(text);
    }
    assert!(!seen.contains(&"4boom".to_owned()), "{seen:?}");
    assert_eq!(engine.session_count(), 1);

    // The heartbeat still runs in that task: a silent client is timed out and reported.
    let reason = tokio::time::timeout(Duration::from_secs(5), closed.recv())
        .await
        .expect("a close in time");
    assert_eq!(reason, Some(CloseReason::PingTimeout));
    assert_eq!(engine.session_count(), 0);
}
