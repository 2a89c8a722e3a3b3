//! gzip and deflate of long-polling responses: by the request's `Accept-Encoding`, from the
//! threshold on, never for SSE, and not at all when turned off.

mod common;

use std::io::Read;

use common::{Http, Server, packets, path};
use flate2::read::{GzDecoder, ZlibDecoder};
use tidings_transports::{EngineConfig, HttpCompression, Message};

/// A GET for `sid` with these request headers.
async fn poll(server: &Server, sid: &str, headers: &[(&str, &str)]) -> common::Response {
    let query = format!("EIO=4&transport=polling&sid={sid}");
    Http::connect(server.addr)
        .await
        .request("GET", &path(&query), headers, b"")
        .await
}

fn big_text() -> String {
    (0..200)
        .map(|i| format!("{{\"n\":{i},\"s\":\"hello\"}}"))
        .collect()
}

#[tokio::test]
async fn compresses_large_responses_as_accepted() {
    let server = Server::start(EngineConfig::default()).await;
    let sid = server.handshake().await;
    let text = big_text();
    let session = server.session(&sid);

    session.send(Message::text(&text)).expect("sent");
    let response = poll(&server, &sid, &[("accept-encoding", "gzip, deflate, br")]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.header("content-encoding"), Some("gzip"));
    assert_eq!(response.header("vary"), Some("Accept-Encoding"));
    assert!(
        response.body.len() < text.len() / 4,
        "{} bytes",
        response.body.len()
    );
    let mut plain = Vec::new();
    GzDecoder::new(&response.body[..])
        .read_to_end(&mut plain)
        .expect("gunzips");
    assert_eq!(packets(&plain), [format!("4{text}")]);

    session.send(Message::text(&text)).expect("sent");
    let response = poll(&server, &sid, &[("accept-encoding", "deflate")]).await;
    assert_eq!(response.header("content-encoding"), Some("deflate"));
    let mut plain = Vec::new();
    ZlibDecoder::new(&response.body[..])
        .read_to_end(&mut plain)
        .expect("inflates");
    assert_eq!(packets(&plain), [format!("4{text}")]);

    // Without Accept-Encoding: in clear, but the answer still varies with it.
    session.send(Message::text(&text)).expect("sent");
    let response = poll(&server, &sid, &[]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), Some("Accept-Encoding"));
    assert_eq!(packets(&response.body), [format!("4{text}")]);

    // Below the threshold (1024 bytes): in clear.
    session.send("small").expect("sent");
    let response = poll(&server, &sid, &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(response.header("vary"), None);
    assert_eq!(packets(&response.body), ["4small"]);
}

#[tokio::test]
async fn honours_the_configuration() {
    let off = Server::start(EngineConfig::default().http_compression(None)).await;
    let sid = off.handshake().await;
    off.session(&sid).send(big_text()).expect("sent");
    let response = poll(&off, &sid, &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), None);
    assert_eq!(packets(&response.body), [format!("4{}", big_text())]);

    let low = EngineConfig::default().http_compression(HttpCompression::default().threshold(10));
    let low = Server::start(low).await;
    let sid = low.handshake().await;
    low.session(&sid).send("just over ten").expect("sent");
    let response = poll(&low, &sid, &[("accept-encoding", "gzip")]).await;
    assert_eq!(response.header("content-encoding"), Some("gzip"));

    // SSE streams are never compressed.
    let mut sse = Http::connect(low.addr).await;
    sse.send(
        "GET",
        &path("EIO=4&transport=sse"),
        &[("accept-encoding", "gzip")],
        b"",
    )
    .await;
    let head = sse.head().await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-encoding"), None);
}
