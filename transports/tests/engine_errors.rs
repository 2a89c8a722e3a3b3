//! Every Engine.IO request error over real HTTP: status, JSON body and content type.

mod common;

use common::{Http, Server, path};
use tidings_transports::EngineConfig;

const VERSION: (u16, u8, &str) = (400, 5, "Unsupported protocol version");
const TRANSPORT: (u16, u8, &str) = (400, 0, "Transport unknown");
const SID: (u16, u8, &str) = (400, 1, "Session ID unknown");
const METHOD: (u16, u8, &str) = (400, 2, "Bad handshake method");
const BAD: (u16, u8, &str) = (400, 3, "Bad request");

struct Case {
    name: &'static str,
    method: &'static str,
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static [u8],
    expected: (u16, u8, &'static str),
}

const fn case(
    name: &'static str,
    method: &'static str,
    query: &'static str,
    expected: (u16, u8, &'static str),
) -> Case {
    Case {
        name,
        method,
        query,
        headers: &[],
        body: b"",
        expected,
    }
}

/// WebSocket upgrade headers, except what `name` leaves out.
const WS_NO_UPGRADE: &[(&str, &str)] = &[
    ("connection", "upgrade"),
    ("sec-websocket-version", "13"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];
const WS_OLD_VERSION: &[(&str, &str)] = &[
    ("connection", "upgrade"),
    ("upgrade", "websocket"),
    ("sec-websocket-version", "8"),
    ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
];

const STATELESS: &[Case] = &[
    case("no EIO", "GET", "transport=polling", VERSION),
    case("EIO=3", "GET", "EIO=3&transport=polling", VERSION),
    case("EIO=abc", "GET", "EIO=abc&transport=polling", VERSION),
    case("empty EIO", "GET", "EIO=&transport=polling", VERSION),
    case(
        "EIO=3 with a bad transport",
        "GET",
        "EIO=3&transport=x",
        VERSION,
    ),
    case(
        "EIO=3 on a POST",
        "POST",
        "EIO=3&transport=polling",
        VERSION,
    ),
    case("no query", "GET", "", VERSION),
    case("no transport", "GET", "EIO=4", TRANSPORT),
    case("empty transport", "GET", "EIO=4&transport=", TRANSPORT),
    case(
        "unknown transport",
        "GET",
        "EIO=4&transport=flashsocket",
        TRANSPORT,
    ),
    case(
        "transport in upper case",
        "GET",
        "EIO=4&transport=POLLING",
        TRANSPORT,
    ),
    case("POST handshake", "POST", "EIO=4&transport=polling", METHOD),
    case("PUT handshake", "PUT", "EIO=4&transport=polling", METHOD),
    case(
        "DELETE handshake",
        "DELETE",
        "EIO=4&transport=polling",
        METHOD,
    ),
    case("POST sse handshake", "POST", "EIO=4&transport=sse", METHOD),
    case(
        "unknown sid",
        "GET",
        "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
        SID,
    ),
    case(
        "unknown sid on a POST",
        "POST",
        "EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA",
        SID,
    ),
    case(
        "malformed sid",
        "GET",
        "EIO=4&transport=polling&sid=abc",
        SID,
    ),
    case(
        "sid with forbidden characters",
        "GET",
        "EIO=4&transport=polling&sid=AAAAAAAAAA%2BAAAAAAA%3D",
        SID,
    ),
    case(
        "websocket without upgrade headers",
        "GET",
        "EIO=4&transport=websocket",
        BAD,
    ),
    Case {
        headers: WS_NO_UPGRADE,
        ..case(
            "websocket without the upgrade header",
            "GET",
            "EIO=4&transport=websocket",
            BAD,
        )
    },
    Case {
        headers: WS_OLD_VERSION,
        ..case(
            "websocket with version 8",
            "GET",
            "EIO=4&transport=websocket",
            BAD,
        )
    },
    case(
        "websocket POST",
        "POST",
        "EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA",
        BAD,
    ),
];

#[tokio::test]
async fn answers_bad_requests_with_their_code() {
    let server = Server::with_defaults().await;
    for case in STATELESS {
        let response = Http::connect(server.addr)
            .await
            .request(case.method, &path(case.query), case.headers, case.body)
            .await;
        let (status, code, message) = case.expected;
        assert_eq!(response.status, status, "{}: {response:?}", case.name);
        response.assert_error(status, code, message);
    }
    assert_eq!(server.engine.session_count(), 0, "no error opens a session");
}

#[tokio::test]
async fn answers_other_paths_with_404() {
    let server = Server::with_defaults().await;
    for target in ["/", "/engine.io.js", "/socket.io/?EIO=4&transport=polling"] {
        let response = Http::connect(server.addr)
            .await
            .request("GET", target, &[], b"")
            .await;
        assert_eq!(response.status, 404, "{target}");
    }
    // With or without the trailing slash, the engine answers.
    let response = Http::connect(server.addr)
        .await
        .request("GET", "/engine.io?EIO=4&transport=polling", &[], b"")
        .await;
    assert_eq!(response.status, 200, "{response:?}");
}

#[tokio::test]
async fn refuses_transports_the_config_disables() {
    let server = Server::start(EngineConfig::default().transports(["polling"])).await;
    let upgrade: &[(&str, &str)] = &[
        ("connection", "Upgrade"),
        ("upgrade", "websocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];
    for (query, headers) in [
        ("EIO=4&transport=websocket", upgrade),
        ("EIO=4&transport=sse", &[][..]),
    ] {
        let response = Http::connect(server.addr)
            .await
            .request("GET", &path(query), headers, b"")
            .await;
        let (status, code, message) = TRANSPORT;
        response.assert_error(status, code, message);
    }
    assert_eq!(
        server.ws_refused("EIO=4&transport=websocket").await,
        (
            400,
            r#"{"code":0,"message":"Transport unknown"}"#.to_owned()
        )
    );
    // An upgrade of a polling session to the disabled WebSocket is refused the same way.
    let sid = server.handshake().await;
    assert_eq!(
        server
            .ws_refused(&format!("EIO=4&transport=websocket&sid={sid}"))
            .await,
        (
            400,
            r#"{"code":0,"message":"Transport unknown"}"#.to_owned()
        )
    );
    assert_eq!(server.engine.session_count(), 1);
}

#[tokio::test]
async fn allow_request_refuses_with_403() {
    let with_message = EngineConfig::default().allow_request(|req| {
        let token = req.headers.get("x-token").cloned();
        async move {
            match token {
                Some(token) if token == "secret" => Ok(()),
                _ => Err(Some("bad token".to_owned())),
            }
        }
    });
    let without_message = EngineConfig::default().allow_request(|_| async { Err(None) });

    // (config, request headers, Ok or the refusal's message)
    type Case<'a> = (EngineConfig, &'a [(&'a str, &'a str)], Result<(), &'a str>);
    let cases: &[Case<'_>] = &[
        (with_message.clone(), &[], Err("bad token")),
        (
            with_message.clone(),
            &[("x-token", "wrong")],
            Err("bad token"),
        ),
        (with_message, &[("x-token", "secret")], Ok(())),
        (without_message, &[], Err("Forbidden")),
    ];
    for (config, headers, expected) in cases {
        let mut server = Server::start(config.clone()).await;
        let response = Http::connect(server.addr)
            .await
            .request("GET", &path("EIO=4&transport=polling"), headers, b"")
            .await;
        match expected {
            Ok(()) => {
                assert_eq!(response.status, 200, "{headers:?}: {response:?}");
                let (sid, transport) = server.opened().await;
                assert_eq!(transport, "polling");
                assert!(response.text().contains(&sid));
            }
            Err(message) => {
                response.assert_error(403, 4, message);
                assert_eq!(server.engine.session_count(), 0);
            }
        }
    }
}

#[tokio::test]
async fn allow_request_also_guards_websocket_handshakes() {
    let server = Server::start(
        EngineConfig::default().allow_request(|_| async { Err(Some("go away".into())) }),
    )
    .await;
    assert_eq!(
        server.ws_refused("EIO=4&transport=websocket").await,
        (403, r#"{"code":4,"message":"go away"}"#.to_owned())
    );
    assert_eq!(server.engine.session_count(), 0);
}

#[tokio::test]
async fn refuses_requests_that_do_not_fit_the_session() {
    let mut server = Server::with_defaults().await;

    // An SSE session: its stream stays open while we make mistakes.
    let mut stream = Http::connect(server.addr).await;
    stream
        .send("GET", &path("EIO=4&transport=sse"), &[], b"")
        .await;
    let head = stream.head().await;
    assert_eq!(head.status, 200);
    let (sse_sid, _) = server.opened().await;

    let polling_sid = server.handshake().await;
    let (polling_opened, _) = server.opened().await;
    assert_eq!(polling_opened, polling_sid);

    let cases: Vec<(&str, &str, String)> = vec![
        (
            "polling GET on an sse session",
            "GET",
            format!("EIO=4&transport=polling&sid={sse_sid}"),
        ),
        (
            "polling POST on an sse session",
            "POST",
            format!("EIO=4&transport=polling&sid={sse_sid}"),
        ),
        (
            "a second sse stream",
            "GET",
            format!("EIO=4&transport=sse&sid={sse_sid}"),
        ),
        (
            "sse GET on a polling session",
            "GET",
            format!("EIO=4&transport=sse&sid={polling_sid}"),
        ),
        (
            "sse POST on a polling session",
            "POST",
            format!("EIO=4&transport=sse&sid={polling_sid}"),
        ),
        (
            "PUT on a polling session",
            "PUT",
            format!("EIO=4&transport=polling&sid={polling_sid}"),
        ),
        (
            "websocket GET without upgrade headers on a polling session",
            "GET",
            format!("EIO=4&transport=websocket&sid={polling_sid}"),
        ),
    ];
    for (name, method, query) in &cases {
        let body: &[u8] = if *method == "GET" { b"" } else { b"4x" };
        let response = Http::connect(server.addr)
            .await
            .request(method, &path(query), &[], body)
            .await;
        assert_eq!(response.status, 400, "{name}: {response:?}");
        let (status, code, message) = BAD;
        response.assert_error(status, code, message);
    }
    // Knocking on the wrong door does not close a session.
    server.assert_open(&sse_sid);
    server.assert_open(&polling_sid);
}
