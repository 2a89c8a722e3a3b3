//! The engine mounted in an axum router with `Engine::layer`, beside the app's own routes.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use futures_util::{SinkExt, StreamExt};
use http::request::Parts;
use tidings_transports::{CloseReason, Engine, EngineConfig, Handler, Message, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

struct Echo;

impl Handler for Echo {
    fn on_open(&self, _: &Session, _: &Parts) {}
    fn on_message(&self, session: &Session, message: Message) {
        let _ = session.send(message);
    }
    fn on_close(&self, _: &Session, _: CloseReason) {}
}

/// A raw GET; the whole response as text.
async fn http_get(addr: std::net::SocketAddr, target: &str) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn next(ws: &mut Ws) -> WsMessage {
    tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame in time")
        .expect("the connection is open")
        .expect("a valid frame")
}

#[tokio::test]
async fn serves_the_engine_beside_the_routes() {
    let engine = Engine::new(EngineConfig::default().path("/socket/"), Echo);
    let app = Router::new()
        .route("/hello", get(|| async { "hi from axum" }))
        .layer(engine.layer());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let route = http_get(addr, "/hello").await;
    assert!(route.starts_with("HTTP/1.1 200"), "{route}");
    assert!(route.ends_with("hi from axum"), "{route}");

    let handshake = http_get(addr, "/socket/?EIO=4&transport=polling").await;
    assert!(handshake.starts_with("HTTP/1.1 200"), "{handshake}");
    assert!(handshake.contains("\r\n\r\n0{\"sid\":\""), "{handshake}");

    let missing = http_get(addr, "/nothing").await;
    assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");

    let url = format!("ws://{addr}/socket/?EIO=4&transport=websocket");
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("upgrade");
    let open = next(&mut ws).await;
    assert!(open.to_text().expect("text").starts_with("0{"), "{open:?}");
    ws.send(WsMessage::text("4through axum"))
        .await
        .expect("send");
    let echo = next(&mut ws).await;
    assert_eq!(echo.to_text().expect("text"), "4through axum");
    assert_eq!(engine.session_count(), 2);
}
