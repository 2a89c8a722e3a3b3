//! The heartbeat with short real timings (ping every 100 ms, 100 ms to answer): answered
//! pings keep a session alive, a missed pong closes it.
//!
//! The clock is real: tokio's paused clock would fire the timers while the sockets wait.

mod common;

use std::time::Duration;

use common::{Http, Server, packets, path, ws_closed, ws_send, ws_text};
use tidings_transports::{CloseReason, EngineConfig};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const INTERVAL: Duration = Duration::from_millis(100);
const TIMEOUT: Duration = Duration::from_millis(100);

fn config() -> EngineConfig {
    EngineConfig::default()
        .ping_interval(INTERVAL)
        .ping_timeout(TIMEOUT)
}

fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

#[tokio::test]
async fn polling_pongs_keep_the_session_alive() {
    let mut server = Server::start(config()).await;
    let start = Instant::now();
    let sid = server.handshake().await;
    let mut get = Http::connect(server.addr).await;
    for round in 0..4 {
        let response = get.request("GET", &path(&polling(&sid)), &[], b"").await;
        assert_eq!(packets(&response.body), ["2"], "round {round}");
        server.post(&polling(&sid), b"3").await.assert_ok();
    }
    // Four pings, each an interval after the previous pong.
    assert!(start.elapsed() >= INTERVAL * 4, "{:?}", start.elapsed());
    server.assert_open(&sid);
    // Still an ordinary session.
    server.post(&polling(&sid), b"4alive").await.assert_ok();
    let response = get.request("GET", &path(&polling(&sid)), &[], b"").await;
    assert_eq!(packets(&response.body), ["4alive"]);
}

#[tokio::test]
async fn a_missed_polling_pong_closes_the_session() {
    let mut server = Server::start(config()).await;
    let start = Instant::now();
    let sid = server.handshake().await;
    let response = server.get(&polling(&sid)).await;
    assert_eq!(packets(&response.body), ["2"]);
    // No pong.
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
    assert!(
        start.elapsed() >= INTERVAL + TIMEOUT,
        "closed {:?} after the handshake",
        start.elapsed()
    );
    server
        .get(&polling(&sid))
        .await
        .assert_error(400, 1, "Session ID unknown");
}

#[tokio::test]
async fn a_missed_pong_ends_the_pending_get_with_a_close() {
    let mut server = Server::start(config()).await;
    let sid = server.handshake().await;
    let mut get = Http::connect(server.addr).await;
    let response = get.request("GET", &path(&polling(&sid)), &[], b"").await;
    assert_eq!(packets(&response.body), ["2"]);
    // Poll again without answering the ping.
    let response = get.request("GET", &path(&polling(&sid)), &[], b"").await;
    assert_eq!(packets(&response.body), ["1"]);
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn websocket_pongs_keep_the_session_alive() {
    let mut server = Server::start(config()).await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    for round in 0..4 {
        assert_eq!(ws_text(&mut ws).await, "2", "round {round}");
        ws_send(&mut ws, WsMessage::text("3")).await;
    }
    server.assert_open(&sid);
    ws_send(&mut ws, WsMessage::text("4alive")).await;
    assert_eq!(ws_text(&mut ws).await, "4alive");

    // Then no pong: a close packet, and the connection ends.
    assert_eq!(ws_text(&mut ws).await, "2");
    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!(before, [WsMessage::text("1")]);
    assert_eq!(code, Some(1000));
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}

#[tokio::test]
async fn an_upgraded_session_keeps_its_heartbeat() {
    let mut server = Server::start(config()).await;
    let sid = server.handshake().await;
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut ws, WsMessage::text("2probe")).await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(server.get(&polling(&sid)).await.text(), "6");
    ws_send(&mut ws, WsMessage::text("5")).await;
    for round in 0..3 {
        assert_eq!(ws_text(&mut ws).await, "2", "round {round}");
        ws_send(&mut ws, WsMessage::text("3")).await;
    }
    server.assert_open(&sid);
    assert_eq!(ws_text(&mut ws).await, "2");
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}
