//! Slow consumers: a session's outbound queue is bounded by `max_queued_bytes`, and a client
//! that does not take what it is sent loses its session with `CloseReason::SlowClient`
//! instead of costing the server memory without limit.

mod common;

use std::time::{Duration, Instant};

use common::{Server, SseStream, packets, ws_text};
use tidings_transports::{CloseReason, EngineConfig, Session};

/// The bound the tests use.
const MAX_QUEUED: usize = 256 * 1024;

/// More than the kernel's socket buffers and the bound together could ever take, so a flood
/// that reaches it means the bound did not work.
const NEVER: usize = 256 * 1024 * 1024;

fn config() -> EngineConfig {
    EngineConfig::default().max_queued_bytes(MAX_QUEUED)
}

/// Sends `size`-byte messages, letting the connection's task run between them, until a send
/// fails; returns how many bytes were accepted.
async fn flood(session: &Session, size: usize) -> usize {
    let message = "x".repeat(size);
    let mut sent = 0;
    while session.send(message.as_str()).is_ok() {
        sent += size;
        assert!(sent < NEVER, "the queue took {sent} bytes without closing");
        tokio::task::yield_now().await;
    }
    sent
}

#[tokio::test]
async fn a_websocket_client_that_never_reads_is_closed_then_dropped() {
    let mut server = Server::start(config()).await;
    let (ws, session) = server.ws_session().await;
    let sid = session.id().to_string();

    // From here on the client reads nothing.
    let sent = flood(&session, 16 * 1024).await;
    assert!(
        sent > MAX_QUEUED,
        "only {sent} bytes went out before the close"
    );
    assert_eq!(server.closed(&sid).await, CloseReason::SlowClient);
    assert_eq!(session.close_reason(), Some(CloseReason::SlowClient));
    // The queue was dropped: only the close packet waits.
    assert_eq!(session.queued(), 1);
    assert!(server.engine.session(sid.parse().expect("sid")).is_none());

    // The connection task, stuck writing, was woken by the close and drops the connection
    // after its grace period: a shutdown that waits for every connection resolves then, long
    // before its own deadline.
    let started = Instant::now();
    server.engine.shutdown(Duration::from_secs(60)).await;
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the stalled connection lived {:?} after its session closed",
        started.elapsed()
    );
    drop(ws);
}

#[tokio::test]
async fn an_sse_client_that_never_reads_is_closed() {
    let mut server = Server::start(config()).await;
    let (stream, sid) = SseStream::open(&server).await;
    let session = server.session(&sid);

    // Hyper stops taking the stream's events once its write buffer is full: the rest stays
    // in the session's queue, which is bounded.
    let sent = flood(&session, 16 * 1024).await;
    assert!(
        sent > MAX_QUEUED,
        "only {sent} bytes went out before the close"
    );
    assert_eq!(server.closed(&sid).await, CloseReason::SlowClient);
    assert_eq!(session.queued(), 1);
    drop(stream);
}

#[tokio::test]
async fn a_polling_client_that_stops_polling_is_closed() {
    let mut server = Server::start(config()).await;
    let sid = server.handshake().await;
    let session = server.session(&sid);

    let sent = flood(&session, 1000).await;
    // Each message counts its 1000 bytes plus 64.
    assert_eq!(sent / 1000, MAX_QUEUED / 1064);
    assert_eq!(server.closed(&sid).await, CloseReason::SlowClient);

    // The session is gone at once; its client learns it on its next request.
    let response = server
        .get(&format!("EIO=4&transport=polling&sid={sid}"))
        .await;
    response.assert_error(400, 1, "Session ID unknown");
}

#[tokio::test]
async fn a_polling_client_that_keeps_polling_is_not_closed() {
    let mut server = Server::start(config()).await;
    let sid = server.handshake().await;
    let session = server.session(&sid);
    let query = format!("EIO=4&transport=polling&sid={sid}");
    let message = "x".repeat(100 * 1024);

    // Ten times the bound goes through, a GET taking what two sends queued each time.
    for _ in 0..20 {
        session.send(message.as_str()).expect("queued");
        session.send(message.as_str()).expect("queued");
        let got = packets(&server.get(&query).await.body);
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|p| p.len() == message.len() + 1));
    }
    server.assert_open(&sid);
}

#[tokio::test]
async fn a_message_larger_than_the_bound_goes_out() {
    let mut server = Server::start(config()).await;
    let (mut ws, session) = server.ws_session().await;
    let sid = session.id().to_string();

    let large = "y".repeat(4 * MAX_QUEUED);
    session
        .send(large.as_str())
        .expect("an empty queue takes any message");
    assert_eq!(ws_text(&mut ws).await.len(), large.len() + 1);
    // Taken by the connection: the queue is empty again and takes the next one.
    session
        .send(large.as_str())
        .expect("an empty queue takes any message");
    assert_eq!(ws_text(&mut ws).await.len(), large.len() + 1);
    server.assert_open(&sid);
}
