//! In-memory requests to a server's engine, shared by the benchmarks.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::{BodyExt, Full};
use tidings::{EngineConfig, Io};
use tokio::runtime::Runtime;

/// The longest a polling request may take; the benchmarks never make one wait.
const GET_TIMEOUT: Duration = Duration::from_secs(10);

/// A current-thread runtime that drives the in-memory requests.
pub(crate) fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime")
}

/// A server on `/socket.io/` whose heartbeat never gets in the way of a long benchmark.
///
/// With `BENCH_METRICS` set, the server records its metrics (off by default, as in a server
/// that does not ask for them): compare both to see what recording costs.
pub(crate) fn server() -> Io {
    let hour = Duration::from_secs(3600);
    let mut engine = EngineConfig::default()
        .path("/socket.io/")
        .ping_interval(hour)
        .ping_timeout(hour);
    if std::env::var_os("BENCH_METRICS").is_some() {
        engine = engine.metrics(tidings::Metrics::new());
    }
    Io::builder().engine(engine).build()
}

/// The whole body of a response.
pub(crate) async fn body(response: http::Response<tidings_transports::EngineBody>) -> Bytes {
    response
        .into_body()
        .collect()
        .await
        .expect("an in-memory body")
        .to_bytes()
}

/// Sends one request to the server's engine, in memory.
pub(crate) async fn request(
    io: &Io,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> http::Response<tidings_transports::EngineBody> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .body(Full::new(body))
        .expect("a valid request");
    tokio::time::timeout(GET_TIMEOUT, io.engine().handle(request))
        .await
        .expect("the engine answers at once")
}

/// Opens a long-polling session and connects it to `/`; returns its polling URI.
pub(crate) async fn connect(io: &Io) -> Uri {
    let handshake = Uri::from_static("/socket.io/?EIO=4&transport=polling");
    let response = request(io, Method::GET, handshake, Bytes::new()).await;
    assert!(
        response.status().is_success(),
        "handshake: {}",
        response.status()
    );
    let body = body(response).await;
    let open = std::str::from_utf8(&body).expect("a text payload");
    let sid = open
        .split_once(r#""sid":""#)
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(sid, _)| sid)
        .expect("the open packet holds the sid");
    let uri: Uri = format!("/socket.io/?EIO=4&transport=polling&sid={sid}")
        .parse()
        .expect("a valid URI");
    let response = request(io, Method::POST, uri.clone(), Bytes::from_static(b"40")).await;
    assert!(
        response.status().is_success(),
        "connect: {}",
        response.status()
    );
    uri
}
