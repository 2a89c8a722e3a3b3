//! Cross-origin requests: preflights and the CORS headers on every engine answer.

mod common;

use common::{Http, Response, Server, path};
use tidings_transports::{Cors, EngineConfig};

const ALLOWED: &str = "https://app.test";
const OTHER: &str = "https://evil.test";

fn cors_config() -> EngineConfig {
    EngineConfig::default()
        .cors(Cors::origins([ALLOWED, "https://other-app.test"]).credentials(true))
}

async fn request(
    server: &Server,
    method: &str,
    query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    Http::connect(server.addr)
        .await
        .request(method, &path(query), headers, body)
        .await
}

#[tokio::test]
async fn answers_preflights() {
    let server = Server::start(cors_config()).await;
    let preflight = |origin| {
        [
            ("origin", origin),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", "content-type, x-token"),
        ]
    };

    let response = request(
        &server,
        "OPTIONS",
        "EIO=4&transport=polling",
        &preflight(ALLOWED),
        b"",
    )
    .await;
    assert_eq!(response.status, 204, "{response:?}");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
    assert_eq!(
        response.header("access-control-allow-credentials"),
        Some("true")
    );
    let methods = response
        .header("access-control-allow-methods")
        .expect("allowed methods");
    for method in ["GET", "POST", "OPTIONS"] {
        assert!(methods.contains(method), "{methods}");
    }
    assert_eq!(
        response.header("access-control-allow-headers"),
        Some("content-type, x-token")
    );
    assert!(
        response
            .header_all("vary")
            .iter()
            .any(|v| v.contains("Origin")),
        "{response:?}"
    );
    assert!(response.body.is_empty());
    assert_eq!(
        server.engine.session_count(),
        0,
        "a preflight opens nothing"
    );

    // A preflight on a session's URL works too.
    let sid = server.handshake().await;
    let response = request(
        &server,
        "OPTIONS",
        &format!("EIO=4&transport=polling&sid={sid}"),
        &preflight(ALLOWED),
        b"",
    )
    .await;
    assert_eq!(response.status, 204);

    // Another origin is not allowed.
    let response = request(
        &server,
        "OPTIONS",
        "EIO=4&transport=polling",
        &preflight(OTHER),
        b"",
    )
    .await;
    assert_eq!(response.header("access-control-allow-origin"), None);
    assert_eq!(response.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn allows_listed_origins_only() {
    let server = Server::start(cors_config()).await;
    let sid = server.handshake().await;
    let session = format!("EIO=4&transport=polling&sid={sid}");

    // (origin, expected Access-Control-Allow-Origin)
    let origins: &[(Option<&str>, Option<&str>)] = &[
        (Some(ALLOWED), Some(ALLOWED)),
        (
            Some("https://other-app.test"),
            Some("https://other-app.test"),
        ),
        (Some(OTHER), None),
        (Some("https://app.test.evil.test"), None),
        (Some("http://app.test"), None),
        (None, None),
    ];
    for (origin, allowed) in origins {
        let headers: Vec<(&str, &str)> = origin.iter().map(|o| ("origin", *o)).collect();
        // (method, query, body, status): a handshake, a POST, an error.
        let requests: [(&str, &str, &[u8], u16); 3] = [
            ("GET", "EIO=4&transport=polling", b"", 200),
            ("POST", &session, b"4hi", 200),
            ("GET", "EIO=3&transport=polling", b"", 400),
        ];
        for (method, query, body, status) in requests {
            let response = request(&server, method, query, &headers, body).await;
            assert_eq!(response.status, status, "{origin:?} {method} {query}");
            assert_eq!(
                response.header("access-control-allow-origin"),
                *allowed,
                "{origin:?} {method} {query}"
            );
            let credentials = allowed.map(|_| "true");
            assert_eq!(
                response.header("access-control-allow-credentials"),
                credentials,
                "{origin:?} {method} {query}"
            );
            assert!(
                response
                    .header_all("vary")
                    .iter()
                    .any(|v| v.contains("Origin")),
                "{origin:?} {method} {query}: {response:?}"
            );
        }
    }
}

#[tokio::test]
async fn any_origin_without_credentials_is_a_star() {
    let server = Server::start(EngineConfig::default().cors(Cors::any())).await;
    let response = request(
        &server,
        "GET",
        "EIO=4&transport=polling",
        &[("origin", OTHER)],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert_eq!(response.header("access-control-allow-credentials"), None);
}

#[tokio::test]
async fn no_cors_without_config() {
    let server = Server::with_defaults().await;
    let response = request(
        &server,
        "OPTIONS",
        "EIO=4&transport=polling",
        &[
            ("origin", ALLOWED),
            ("access-control-request-method", "POST"),
        ],
        b"",
    )
    .await;
    response.assert_error(400, 2, "Bad handshake method");
    assert_eq!(response.header("access-control-allow-origin"), None);

    let response = request(
        &server,
        "GET",
        "EIO=4&transport=polling",
        &[("origin", ALLOWED)],
        b"",
    )
    .await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("access-control-allow-origin"), None);
    assert_eq!(response.header("access-control-allow-credentials"), None);
}
