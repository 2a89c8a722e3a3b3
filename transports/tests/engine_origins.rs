//! The `Origin` allow-list: every kind of request of every transport, with no `Origin`, an
//! allowed one, another site, the allowed host on another port and `null`.

mod common;

use common::{Http, Server, SseStream, Ws, open_sid, path, within, ws_send, ws_text};
use futures_util::future::join_all;
use tidings_transports::EngineConfig;
use tokio_tungstenite::tungstenite::{self, client::IntoClientRequest};

const APP: &str = "http://app.test:3000";

/// Each `Origin` a request is tried with, and whether it passes.
const ORIGINS: [(Option<&str>, bool); 5] = [
    (None, true),
    (Some(APP), true),
    (Some("https://evil.test"), false),
    (Some("http://app.test:4000"), false),
    (Some("null"), false),
];

/// The requests that open or continue a session.
#[derive(Clone, Copy, Debug)]
enum Kind {
    PollingHandshake,
    SseHandshake,
    WebSocketHandshake,
    PollingGet,
    PollingPost,
    /// A GET on an SSE session, whose stream is attached: 400 once past the check.
    SseGet,
    SsePost,
    UpgradeFromPolling,
    UpgradeFromSse,
}

const KINDS: [Kind; 9] = [
    Kind::PollingHandshake,
    Kind::SseHandshake,
    Kind::WebSocketHandshake,
    Kind::PollingGet,
    Kind::PollingPost,
    Kind::SseGet,
    Kind::SsePost,
    Kind::UpgradeFromPolling,
    Kind::UpgradeFromSse,
];

fn config() -> EngineConfig {
    EngineConfig::default().allowed_origins([APP])
}

fn headers(origin: Option<&str>) -> Vec<(&str, &str)> {
    origin
        .map(|origin| ("origin", origin))
        .into_iter()
        .collect()
}

/// What a request got: a whole HTTP response, or an upgraded WebSocket.
enum Outcome {
    Http(common::Response),
    Streaming(u16, Option<String>),
    WebSocket(Box<Ws>),
}

const REFUSED: &str = r#"{"code":4,"message":"Origin not allowed"}"#;

async fn http(
    server: &Server,
    method: &str,
    query: &str,
    origin: Option<&str>,
    body: &[u8],
) -> Outcome {
    let response = Http::connect(server.addr)
        .await
        .request(method, &path(query), &headers(origin), body)
        .await;
    Outcome::Http(response)
}

/// A GET whose answer may be a stream: only its head is read when it is 200.
async fn sse_get(server: &Server, query: &str, origin: Option<&str>) -> Outcome {
    let mut http = Http::connect(server.addr).await;
    http.send("GET", &path(query), &headers(origin), b"").await;
    let head = http.head().await;
    if head.status == 200 {
        return Outcome::Streaming(200, head.header("content-type").map(str::to_owned));
    }
    // Not a stream: the rest is an ordinary error body.
    Outcome::Http(http.rest(head).await)
}

async fn websocket(server: &Server, query: &str, origin: Option<&str>) -> Outcome {
    let mut request = server
        .ws_url(query)
        .into_client_request()
        .expect("a WebSocket request");
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().expect("a header value"));
    }
    match within(
        "the WebSocket handshake",
        tokio_tungstenite::connect_async(request),
    )
    .await
    {
        Ok((ws, response)) => {
            assert_eq!(response.status(), 101);
            Outcome::WebSocket(Box::new(ws))
        }
        Err(tungstenite::Error::Http(response)) => Outcome::Http(common::Response {
            status: response.status().as_u16(),
            headers: response
                .headers()
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_str().unwrap_or("").to_owned()))
                .collect(),
            body: response.body().clone().unwrap_or_default(),
        }),
        Err(other) => panic!("unexpected WebSocket error: {other}"),
    }
}

/// Runs one request of `kind` with `origin` and checks its outcome.
async fn check(server: &mut Server, kind: Kind, origin: Option<&str>, passes: bool) {
    let case = format!("{kind:?} with Origin {origin:?}");
    // The session the request continues, opened without an Origin; kept open meanwhile.
    let (sid, _sse) = match kind {
        Kind::PollingGet | Kind::PollingPost | Kind::UpgradeFromPolling => {
            (Some(server.handshake().await), None)
        }
        Kind::SseGet | Kind::SsePost | Kind::UpgradeFromSse => {
            let (stream, sid) = SseStream::open(server).await;
            (Some(sid), Some(stream))
        }
        _ => (None, None),
    };
    let sid_ref = sid.as_deref().unwrap_or("");
    let polling = format!("EIO=4&transport=polling&sid={sid_ref}");
    let sse = format!("EIO=4&transport=sse&sid={sid_ref}");
    let upgrade = format!("EIO=4&transport=websocket&sid={sid_ref}");
    if matches!(kind, Kind::PollingGet) {
        // Something to collect, so that an accepted GET answers at once.
        let echo = server.post(&polling, b"4queued").await;
        echo.assert_ok();
        server.settle().await;
    }
    let sessions = server.engine.session_count();

    let outcome = match kind {
        Kind::PollingHandshake => http(server, "GET", "EIO=4&transport=polling", origin, b"").await,
        Kind::SseHandshake => sse_get(server, "EIO=4&transport=sse", origin).await,
        Kind::WebSocketHandshake => websocket(server, "EIO=4&transport=websocket", origin).await,
        Kind::PollingGet => http(server, "GET", &polling, origin, b"").await,
        Kind::PollingPost => http(server, "POST", &polling, origin, b"4hi").await,
        Kind::SseGet => sse_get(server, &sse, origin).await,
        Kind::SsePost => http(server, "POST", &sse, origin, b"4hi").await,
        Kind::UpgradeFromPolling | Kind::UpgradeFromSse => {
            websocket(server, &upgrade, origin).await
        }
    };

    if !passes {
        let Outcome::Http(response) = outcome else {
            panic!("{case}: not refused");
        };
        assert_eq!(
            (response.status, response.text().as_str()),
            (403, REFUSED),
            "{case}"
        );
        assert_eq!(
            response.header("content-type"),
            Some("application/json"),
            "{case}"
        );
        // At most: a stream of an earlier case may be closing meanwhile.
        assert!(
            server.engine.session_count() <= sessions,
            "{case}: opened a session"
        );
        if let Some(sid) = &sid {
            server.assert_open(sid);
            let transport = server.session(sid).transport();
            assert_ne!(transport, "websocket", "{case}: upgraded");
        }
        return;
    }

    match (kind, outcome) {
        (Kind::PollingHandshake, Outcome::Http(response)) => {
            assert_eq!(response.status, 200, "{case}: {response:?}");
            let sid = open_sid(&response.text());
            server.assert_open(&sid);
        }
        (Kind::SseHandshake, Outcome::Streaming(status, content_type)) => {
            assert_eq!(status, 200, "{case}");
            assert_eq!(content_type.as_deref(), Some("text/event-stream"), "{case}");
        }
        (Kind::WebSocketHandshake, Outcome::WebSocket(mut ws)) => {
            let sid = open_sid(&ws_text(&mut ws).await);
            server.assert_open(&sid);
        }
        (Kind::PollingGet, Outcome::Http(response)) => {
            assert_eq!(
                (response.status, response.text().as_str()),
                (200, "4queued"),
                "{case}"
            );
        }
        (Kind::PollingPost | Kind::SsePost, Outcome::Http(response)) => response.assert_ok(),
        (Kind::SseGet, Outcome::Http(response)) => {
            // Past the origin check: refused for another reason (one stream at a time).
            response.assert_error(400, 3, "Bad request");
        }
        (Kind::UpgradeFromPolling | Kind::UpgradeFromSse, Outcome::WebSocket(mut ws)) => {
            ws_send(&mut ws, "2probe").await;
            assert_eq!(ws_text(&mut ws).await, "3probe", "{case}");
        }
        (kind, _) => panic!("{kind:?} with Origin {origin:?}: unexpected outcome"),
    }
    if let Some(sid) = &sid {
        server.assert_open(sid);
    }
}

#[tokio::test]
async fn checks_the_origin_of_every_request() {
    let mut server = Server::start(config()).await;
    for kind in KINDS {
        for (origin, passes) in ORIGINS {
            check(&mut server, kind, origin, passes).await;
        }
    }
}

#[tokio::test]
async fn is_off_by_default() {
    let mut server = Server::with_defaults().await;
    for kind in KINDS {
        for (origin, _) in ORIGINS {
            check(&mut server, kind, origin, true).await;
        }
    }
}

#[tokio::test]
async fn refused_requests_leave_other_clients_alone() {
    let mut server = Server::start(config()).await;
    let (mut ws, session) = server.ws_session().await;
    let polling = server.handshake().await;
    let evil = Some("https://evil.test");

    let polling_query = format!("EIO=4&transport=polling&sid={polling}");
    let upgrade = format!("EIO=4&transport=websocket&sid={polling}");
    let ws_sid = format!("EIO=4&transport=polling&sid={}", session.id());
    let refused = (0..20).map(|i| {
        let server = &server;
        let (polling_query, upgrade, ws_sid) = (&polling_query, &upgrade, &ws_sid);
        async move {
            let outcome = match i % 5 {
                0 => http(server, "GET", "EIO=4&transport=polling", evil, b"").await,
                1 => websocket(server, "EIO=4&transport=websocket", evil).await,
                2 => http(server, "POST", polling_query, evil, b"1").await,
                3 => websocket(server, upgrade, evil).await,
                _ => http(server, "GET", ws_sid, evil, b"").await,
            };
            let Outcome::Http(response) = outcome else {
                panic!("request {i} was not refused");
            };
            assert_eq!((response.status, response.text().as_str()), (403, REFUSED));
        }
    });
    let echoes = async {
        for i in 0..20 {
            let message = format!("4echo {i}");
            ws_send(&mut ws, message.as_str()).await;
            assert_eq!(ws_text(&mut ws).await, message);
        }
    };
    tokio::join!(join_all(refused), echoes);

    assert_eq!(server.engine.session_count(), 2);
    server.assert_open(session.id().as_str());
    server.assert_open(&polling);
    server
        .post(&polling_query, b"4still here")
        .await
        .assert_ok();
    let response = server.get(&polling_query).await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (200, "4still here")
    );
}
