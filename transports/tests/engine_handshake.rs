//! The handshake over each transport: the open packet's fields and values, the headers, and
//! the session cookie.

mod common;

use std::time::Duration;

use common::{Http, Server, open_json, path, ws_text};
use serde_json::json;
use tidings_transports::packet::sse;
use tidings_transports::{EngineConfig, Packet, SessionCookie};

/// Opens a session over `transport` and returns its open packet and the response headers.
async fn open(server: &Server, transport: &str) -> (String, Vec<(String, String)>) {
    match transport {
        "polling" => {
            let response = server.get("EIO=4&transport=polling").await;
            assert_eq!(response.status, 200, "{response:?}");
            let packets = common::packets(&response.body);
            assert_eq!(packets.len(), 1, "only the open packet: {packets:?}");
            (packets[0].clone(), response.headers)
        }
        "sse" => {
            let mut http = Http::connect(server.addr).await;
            http.send("GET", &path("EIO=4&transport=sse"), &[], b"")
                .await;
            let head = http.head().await;
            assert_eq!(head.status, 200, "{head:?}");
            let mut decoder = sse::Decoder::new();
            loop {
                let chunk = http.chunk().await.expect("the stream goes on");
                let packets = decoder.push(&chunk).expect("a valid event stream");
                if let Some(packet) = packets.first() {
                    let Packet::Open(json) = packet else {
                        panic!("expected the open packet first, got {packet:?}");
                    };
                    return (json.as_str().to_owned(), head.headers);
                }
            }
        }
        "websocket" => {
            let (mut ws, response) =
                tokio_tungstenite::connect_async(server.ws_url("EIO=4&transport=websocket"))
                    .await
                    .expect("WebSocket handshake");
            let headers = response
                .headers()
                .iter()
                .map(|(n, v)| (n.as_str().to_owned(), v.to_str().expect("ASCII").to_owned()))
                .collect();
            (ws_text(&mut ws).await, headers)
        }
        other => unreachable!("{other}"),
    }
}

/// The open packet's timings and limit: `pingInterval`, `pingTimeout`, `maxPayload`.
const DEFAULTS: (u64, u64, u64) = (25_000, 20_000, 1_000_000);
const CUSTOM: (u64, u64, u64) = (1234, 567, 8910);

#[tokio::test]
async fn open_packet_announces_the_session() {
    let custom = || {
        EngineConfig::default()
            .ping_interval(Duration::from_millis(1234))
            .ping_timeout(Duration::from_millis(567))
            .max_payload(8910)
    };
    let cases = [
        (
            "polling",
            EngineConfig::default(),
            DEFAULTS,
            json!(["websocket"]),
        ),
        (
            "sse",
            EngineConfig::default(),
            DEFAULTS,
            json!(["websocket"]),
        ),
        ("websocket", EngineConfig::default(), DEFAULTS, json!([])),
        ("polling", custom(), CUSTOM, json!(["websocket"])),
        ("sse", custom(), CUSTOM, json!(["websocket"])),
        ("websocket", custom(), CUSTOM, json!([])),
        ("polling", custom().allow_upgrades(false), CUSTOM, json!([])),
        ("sse", custom().allow_upgrades(false), CUSTOM, json!([])),
        (
            "polling",
            custom().transports(["polling", "sse"]),
            CUSTOM,
            json!([]),
        ),
    ];
    for (transport, config, expected, upgrades) in cases {
        let mut server = Server::start(config).await;
        let (packet, _) = open(&server, transport).await;
        let open = open_json(&packet);
        let case = format!("{transport} {expected:?} {upgrades}");

        let sid = open["sid"].as_str().expect("sid is a string");
        assert_eq!(sid.len(), 20, "{case}: {packet}");
        assert!(
            sid.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{case}: {packet}"
        );
        assert_eq!(open["upgrades"], upgrades, "{case}: {packet}");
        assert_eq!(open["pingInterval"], expected.0, "{case}: {packet}");
        assert_eq!(open["pingTimeout"], expected.1, "{case}: {packet}");
        assert_eq!(open["maxPayload"], expected.2, "{case}: {packet}");
        assert_eq!(
            open.as_object().map(|o| o.len()),
            Some(5),
            "{case}: exactly the five fields: {packet}"
        );

        let (opened, on) = server.opened().await;
        assert_eq!((opened.as_str(), on), (sid, transport), "{case}");
        assert!(server.engine.session(sid.parse().expect("sid")).is_some());
    }
}

#[tokio::test]
async fn polling_handshake_headers() {
    let server = Server::with_defaults().await;
    let response = server.get("EIO=4&transport=polling").await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("set-cookie"), None, "no cookie by default");
    assert!(response.text().starts_with("0{\"sid\":\""), "{response:?}");
}

#[tokio::test]
async fn sse_handshake_headers() {
    let server = Server::with_defaults().await;
    let (_, headers) = open(&server, "sse").await;
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("content-type"), Some("text/event-stream"));
    assert_eq!(header("cache-control"), Some("no-cache"));
    assert_eq!(header("x-accel-buffering"), Some("no"));
}

#[tokio::test]
async fn sets_the_session_cookie_when_configured() {
    let cases = [
        (
            SessionCookie::default(),
            "io={sid}; Path=/; HttpOnly; SameSite=Lax",
        ),
        (
            SessionCookie::default()
                .name("sticky")
                .path("/app")
                .http_only(false)
                .same_site(Some("Strict")),
            "sticky={sid}; Path=/app; SameSite=Strict",
        ),
    ];
    for (cookie, template) in cases {
        let server = Server::start(EngineConfig::default().cookie(cookie)).await;
        for transport in ["polling", "sse", "websocket"] {
            let (packet, headers) = open(&server, transport).await;
            let sid = common::open_sid(&packet);
            let cookies: Vec<&str> = headers
                .iter()
                .filter(|(n, _)| n == "set-cookie")
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(
                cookies,
                [template.replace("{sid}", &sid)],
                "{transport}: {headers:?}"
            );
        }
    }
}

#[tokio::test]
async fn every_handshake_opens_a_new_session() {
    let server = Server::with_defaults().await;
    let mut sids = std::collections::HashSet::new();
    for _ in 0..20 {
        assert!(sids.insert(server.handshake().await), "a repeated sid");
    }
    assert_eq!(server.engine.session_count(), 20);
}

#[tokio::test]
async fn an_empty_sid_is_a_handshake() {
    let mut server = Server::with_defaults().await;
    let response = server.get("EIO=4&transport=polling&sid=").await;
    assert_eq!(response.status, 200, "{response:?}");
    let sid = common::open_sid(&response.text());
    assert_eq!(server.opened().await.0, sid);
}
