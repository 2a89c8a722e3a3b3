//! The SSE transport (a Tidings extension): the event stream, POSTs, keep-alive comments and
//! the ways a stream ends.

mod common;

use std::time::Duration;

use common::{Server, SseStream};
use tidings_transports::{CloseReason, EngineConfig, Message, Packet};

fn sse(sid: &str) -> String {
    format!("EIO=4&transport=sse&sid={sid}")
}

#[tokio::test]
async fn carries_every_kind_of_message() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    assert_eq!(server.opened().await, (sid.clone(), "sse"));
    let messages = [
        Message::text("plain"),
        Message::text("two\nlines"),
        Message::text("carriage\rreturn and\r\nboth"),
        Message::text("\n"),
        Message::text(""),
        Message::text("data: not a field"),
        Message::binary(vec![0u8, 1, 2, 255]),
        Message::binary(Vec::new()),
    ];
    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    for message in &messages {
        session.send(message.clone()).expect("open");
    }
    for message in &messages {
        assert_eq!(stream.next().await, Some(Packet::Message(message.clone())));
    }
    // The client sends with POST, as in long-polling; the echo comes over the stream.
    let response = server.post(&sse(&sid), b"4up\x1ebAQI=").await;
    response.assert_ok();
    assert_eq!(
        stream.next().await,
        Some(Packet::Message(Message::text("up")))
    );
    assert_eq!(
        stream.next().await,
        Some(Packet::Message(Message::binary(vec![1u8, 2])))
    );
    server.assert_open(&sid);
}

#[tokio::test]
async fn sends_keep_alive_comments_on_an_idle_stream() {
    let mut server =
        Server::start(EngineConfig::default().sse_keep_alive(Duration::from_millis(50))).await;
    let (mut stream, sid) = SseStream::open(&server).await;
    // Comments carry no packet: wait for the raw bytes.
    let before = stream.raw.len();
    while stream
        .raw
        .get(before..)
        .is_none_or(|new| new.windows(3).filter(|w| w == b":\n\n").count() < 2)
    {
        let chunk = stream.http.chunk().await.expect("the stream goes on");
        stream.raw.extend_from_slice(&chunk);
        assert!(
            stream.decoder.push(&chunk).expect("valid").is_empty(),
            "only comments on an idle stream"
        );
    }
    server.assert_open(&sid);
}

#[tokio::test]
async fn an_abandoned_stream_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let (stream, sid) = SseStream::open(&server).await;
    drop(stream);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    server
        .post(&sse(&sid), b"4x")
        .await
        .assert_error(400, 1, "Session ID unknown");
}

#[tokio::test]
async fn a_close_packet_ends_the_stream_with_a_noop() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    server.post(&sse(&sid), b"1").await.assert_ok();
    assert_eq!(stream.next().await, Some(Packet::Noop));
    assert_eq!(stream.next().await, None);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn a_forced_close_sends_the_queue_then_a_close_packet() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    session.send("last").expect("open");
    session.close();
    assert_eq!(
        stream.next().await,
        Some(Packet::Message(Message::text("last")))
    );
    assert_eq!(stream.next().await, Some(Packet::Close));
    assert_eq!(stream.next().await, None);
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
}

#[tokio::test]
async fn a_malformed_post_ends_the_stream_with_a_close() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    server
        .post(&sse(&sid), b"4ok\x1e9")
        .await
        .assert_error(400, 3, "Bad request");
    assert_eq!(stream.next().await, Some(Packet::Close));
    assert_eq!(stream.next().await, None);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn ping_and_pong_over_sse() {
    let mut server = Server::start(
        EngineConfig::default()
            .ping_interval(Duration::from_millis(100))
            .ping_timeout(Duration::from_millis(100)),
    )
    .await;
    let (mut stream, sid) = SseStream::open(&server).await;
    for round in 0..3 {
        assert_eq!(stream.next().await, Some(Packet::Ping), "round {round}");
        server.post(&sse(&sid), b"3").await.assert_ok();
    }
    server.assert_open(&sid);
    assert_eq!(stream.next().await, Some(Packet::Ping));
    assert_eq!(stream.next().await, Some(Packet::Close));
    assert_eq!(stream.next().await, None);
    assert_eq!(server.closed(&sid).await, CloseReason::PingTimeout);
}
