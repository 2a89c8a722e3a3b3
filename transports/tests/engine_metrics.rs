//! The engine's metrics, read back from the text a scrape gets: sessions by transport,
//! upgrades, closes by reason, refused requests by error code, packets and bytes each way,
//! and the metrics path of the engine's service.

mod common;

use common::{Http, Server, packets, path, ws_closed, ws_send, ws_text};
use tidings_transports::{EngineConfig, METRICS_CONTENT_TYPE, Metrics};
use tokio_tungstenite::tungstenite::Message as WsMessage;

/// A server whose engine records into a fresh registry, served at `/metrics`.
async fn start() -> (Server, Metrics) {
    let metrics = Metrics::new();
    let config = EngineConfig::default()
        .metrics(metrics.clone())
        .metrics_path("/metrics");
    (Server::start(config).await, metrics)
}

/// The value of the sample `series` (name and labels, as rendered) in `text`.
#[track_caller]
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in:\n{text}"))
        .parse()
        .expect("a number")
}

fn connections(text: &str, transport: &str) -> f64 {
    value(
        text,
        &format!("tidings_engine_connections{{transport=\"{transport}\"}}"),
    )
}

#[tokio::test]
async fn counts_sessions_by_transport_and_closes_by_reason() {
    let (mut server, metrics) = start().await;
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(server.ws_session().await);
    }
    for _ in 0..2 {
        server.handshake().await;
    }
    let text = metrics.render();
    assert_eq!(connections(&text, "websocket"), 3.0);
    assert_eq!(connections(&text, "polling"), 2.0);
    assert_eq!(connections(&text, "sse"), 0.0);
    let opened = |transport: &str| {
        format!("tidings_engine_connections_opened_total{{transport=\"{transport}\"}}")
    };
    assert_eq!(value(&text, &opened("websocket")), 3.0);
    assert_eq!(value(&text, &opened("polling")), 2.0);

    // One client leaves, the server closes another.
    let (mut ws, session) = sockets.pop().expect("three sockets");
    ws_send(&mut ws, WsMessage::text("1")).await;
    assert_eq!(
        server.closed(session.id().as_str()).await.as_str(),
        "transport close"
    );
    let (mut ws, session) = sockets.pop().expect("two sockets");
    session.close();
    ws_closed(&mut ws).await;
    server.closed(session.id().as_str()).await;

    let text = metrics.render();
    assert_eq!(connections(&text, "websocket"), 1.0);
    let closes = |reason: &str| format!("tidings_engine_disconnects_total{{reason=\"{reason}\"}}");
    assert_eq!(value(&text, &closes("transport_close")), 1.0);
    assert_eq!(value(&text, &closes("forced_close")), 1.0);
    assert_eq!(value(&text, &closes("ping_timeout")), 0.0);
}

#[tokio::test]
async fn an_upgrade_moves_the_session_to_websocket() {
    let (server, metrics) = start().await;
    let sid = server.handshake().await;
    let polling = format!("EIO=4&transport=polling&sid={sid}");
    let mut get = Http::connect(server.addr).await;
    get.send("GET", &path(&polling), &[], b"").await;
    let mut ws = server
        .ws(&format!("EIO=4&transport=websocket&sid={sid}"))
        .await;
    ws_send(&mut ws, WsMessage::text("2probe")).await;
    assert_eq!(ws_text(&mut ws).await, "3probe");
    assert_eq!(get.response().await.text(), "6");
    ws_send(&mut ws, WsMessage::text("5")).await;
    // The echo proves the upgrade finished.
    ws_send(&mut ws, WsMessage::text("4after")).await;
    assert_eq!(ws_text(&mut ws).await, "4after");

    let text = metrics.render();
    assert_eq!(connections(&text, "polling"), 0.0);
    assert_eq!(connections(&text, "websocket"), 1.0);
    assert_eq!(
        value(
            &text,
            "tidings_engine_upgrades_total{transport=\"websocket\"}"
        ),
        1.0
    );
}

#[tokio::test]
async fn counts_refused_requests_by_error_code() {
    let (server, metrics) = start().await;
    server.get("EIO=3&transport=polling").await.assert_error(
        400,
        5,
        "Unsupported protocol version",
    );
    for _ in 0..2 {
        server
            .get("EIO=4&transport=polling&sid=nope")
            .await
            .assert_error(400, 1, "Session ID unknown");
    }
    server
        .get("EIO=4&transport=carrier-pigeon")
        .await
        .assert_error(400, 0, "Transport unknown");

    let text = metrics.render();
    let code = |code: u8| format!("tidings_engine_request_errors_total{{code=\"{code}\"}}");
    assert_eq!(value(&text, &code(5)), 1.0);
    assert_eq!(value(&text, &code(1)), 2.0);
    assert_eq!(value(&text, &code(0)), 1.0);
    assert_eq!(value(&text, &code(3)), 0.0);
}

#[tokio::test]
async fn counts_packets_and_message_bytes_each_way() {
    let (server, metrics) = start().await;
    let sid = server.handshake().await;
    let polling = format!("EIO=4&transport=polling&sid={sid}");
    // Two messages of 5 and 3 bytes, echoed back.
    server.post(&polling, b"4hello\x1e4abc").await.assert_ok();
    let echoed = server.get(&polling).await;
    assert_eq!(packets(&echoed.body), ["4hello", "4abc"]);

    let text = metrics.render();
    assert_eq!(value(&text, "tidings_engine_packets_received_total"), 2.0);
    assert_eq!(value(&text, "tidings_engine_received_bytes_total"), 8.0);
    // The open packet, then the two echoes.
    assert_eq!(value(&text, "tidings_engine_packets_sent_total"), 3.0);
    assert_eq!(value(&text, "tidings_engine_sent_bytes_total"), 8.0);
}

#[tokio::test]
async fn the_service_answers_the_metrics_path() {
    let (server, _metrics) = start().await;
    server.handshake().await;
    let response = Http::connect(server.addr)
        .await
        .request("GET", "/metrics", &[], b"")
        .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-type"), Some(METRICS_CONTENT_TYPE));
    let text = response.text();
    assert_eq!(connections(&text, "polling"), 1.0);
    assert!(text.ends_with("# EOF\n"), "{text}");

    // Elsewhere, and without the setting, nothing changes.
    let plain = Server::start(EngineConfig::default().metrics(Metrics::new())).await;
    let response = Http::connect(plain.addr)
        .await
        .request("GET", "/metrics", &[], b"")
        .await;
    assert_eq!(response.status, 404);
}
