//! The limits on new sessions: `max_connections` (503 code 7) and the per-address
//! `handshake_rate` (429 code 8), on every transport, while open sessions carry on.

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::{Http, Server, open_sid, path, ws_send, ws_text};
use tidings_transports::{EngineConfig, HandshakeRate};

const FULL: (u16, u8, &str) = (503, 7, "Too many connections");
const RATE: (u16, u8, &str) = (429, 8, "Too many handshakes");

/// The handshake of each transport, as `(transport, query)`.
const HANDSHAKES: [(&str, &str); 3] = [
    ("polling", "EIO=4&transport=polling"),
    ("websocket", "EIO=4&transport=websocket"),
    ("sse", "EIO=4&transport=sse"),
];

/// Tries a handshake the server must refuse; returns the status and the body.
async fn refused(server: &Server, transport: &str, query: &str) -> (u16, String) {
    if transport == "websocket" {
        server.ws_refused(query).await
    } else {
        let response = server.get(query).await;
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{transport}"
        );
        (response.status, response.text())
    }
}

fn error_body((_, code, message): (u16, u8, &str)) -> String {
    format!(r#"{{"code":{code},"message":"{message}"}}"#)
}

/// Asserts that the long-polling session `sid` still echoes.
async fn assert_echoes(server: &Server, sid: &str) {
    let query = format!("EIO=4&transport=polling&sid={sid}");
    server.post(&query, b"4still here").await.assert_ok();
    let response = server.get(&query).await;
    assert_eq!(
        (response.status, response.text()),
        (200, "4still here".into())
    );
}

#[tokio::test]
async fn a_full_engine_refuses_handshakes_on_every_transport() {
    let mut server = Server::start(EngineConfig::default().max_connections(2)).await;
    let polling = server.handshake().await;
    let (mut ws, _session) = server.ws_session().await;

    for (transport, query) in HANDSHAKES {
        let (status, body) = refused(&server, transport, query).await;
        assert_eq!((status, body), (FULL.0, error_body(FULL)), "{transport}");
    }
    assert_eq!(server.engine.session_count(), 2);

    // The open sessions are not affected, nor is the upgrade of one.
    assert_echoes(&server, &polling).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");

    // A session that leaves makes room for one more.
    let query = format!("EIO=4&transport=polling&sid={polling}");
    server.post(&query, b"1").await.assert_ok();
    server.closed(&polling).await;
    let sid = server.handshake().await;
    server.assert_open(&sid);
    let (status, body) = refused(&server, "polling", HANDSHAKES[0].1).await;
    assert_eq!((status, body), (FULL.0, error_body(FULL)));
}

#[tokio::test]
async fn the_handshake_rate_is_counted_per_address() {
    let config =
        EngineConfig::default().handshake_rate(HandshakeRate::new(2, Duration::from_secs(3600)));
    let mut server = Server::start(config).await;
    let first = server.handshake().await;
    let (mut ws, _session) = server.ws_session().await;

    for (transport, query) in HANDSHAKES {
        let (status, body) = refused(&server, transport, query).await;
        assert_eq!((status, body), (RATE.0, error_body(RATE)), "{transport}");
    }

    // Requests of open sessions are not handshakes.
    assert_echoes(&server, &first).await;
    ws_send(&mut ws, "4hello").await;
    assert_eq!(ws_text(&mut ws).await, "4hello");

    // Another address has a bucket of its own.
    for n in 2..=3 {
        let other = Ipv4Addr::new(127, 0, 0, n);
        for _ in 0..2 {
            let response = Http::connect_from(server.addr, other)
                .await
                .request("GET", &path(HANDSHAKES[0].1), &[], b"")
                .await;
            assert_eq!(response.status, 200, "{other}: {response:?}");
            let sid = open_sid(&response.text());
            server.assert_open(&sid);
        }
        let response = Http::connect_from(server.addr, other)
            .await
            .request("GET", &path(HANDSHAKES[0].1), &[], b"")
            .await;
        response.assert_error(RATE.0, RATE.1, RATE.2);
    }
}
