//! `Engine::close_all` and `Engine::shutdown`: every session is told, over whichever
//! transport it uses; a shutdown refuses new sessions and waits for the open ones to end, up
//! to its deadline; `serve_with_shutdown` stops accepting.

mod common;

use std::time::{Duration, Instant};

use common::{Http, Server, SseStream, packets, path, within, ws_closed, ws_text};
use tidings_transports::packet::sse;
use tidings_transports::{CloseReason, EngineConfig, Message, Packet};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message as WsMessage;

#[tokio::test]
async fn close_all_tells_every_client() {
    let mut server = Server::with_defaults().await;

    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let ws_sid = common::open_sid(&ws_text(&mut ws).await);

    let polling_sid = server.handshake().await;
    let mut get = server.pending_get(&polling_sid).await;

    // A polling session with nobody polling at the moment.
    let idle_sid = server.handshake().await;

    let mut stream = Http::connect(server.addr).await;
    stream
        .send("GET", &path("EIO=4&transport=sse"), &[], b"")
        .await;
    assert_eq!(stream.head().await.status, 200);
    let mut decoder = sse::Decoder::new();
    let mut events = Vec::new();
    while events.is_empty() {
        let chunk = stream.chunk().await.expect("the open event");
        events.extend(decoder.push(&chunk).expect("a valid stream"));
    }
    let Packet::Open(open) = &events[0] else {
        panic!("{events:?}");
    };
    let sse_sid = common::open_sid(open.as_str());

    // Something queued before the close is still delivered.
    for sid in [&ws_sid, &polling_sid, &idle_sid, &sse_sid] {
        server.session(sid).send("bye").expect("open");
    }
    server.engine.close_all();

    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!(before, [WsMessage::text("4bye"), WsMessage::text("1")]);
    assert_eq!(code, Some(1001));

    // The pending GET had the message already, or gets it with the close packet.
    let mut got = packets(&get.response().await.body);
    if got == ["4bye"] {
        get.send(
            "GET",
            &path(&format!("EIO=4&transport=polling&sid={polling_sid}")),
            &[],
            b"",
        )
        .await;
        got.extend(packets(&get.response().await.body));
    }
    assert_eq!(got, ["4bye", "1"]);

    // What was queued comes first, the close packet in the next response.
    let idle_query = format!("EIO=4&transport=polling&sid={idle_sid}");
    assert_eq!(packets(&server.get(&idle_query).await.body), ["4bye"]);
    assert_eq!(packets(&server.get(&idle_query).await.body), ["1"]);

    let mut rest = events.split_off(1);
    while let Some(chunk) = stream.chunk().await {
        rest.extend(decoder.push(&chunk).expect("a valid stream"));
    }
    assert_eq!(rest, [Packet::Message(Message::text("bye")), Packet::Close]);

    for sid in [&ws_sid, &polling_sid, &idle_sid, &sse_sid] {
        assert_eq!(server.closed(sid).await, CloseReason::ServerClose, "{sid}");
    }
    // No session takes messages any more.
    for sid in [&ws_sid, &polling_sid, &sse_sid] {
        assert!(server.engine.session(sid.parse().expect("sid")).is_none());
    }
    // The server itself still opens new sessions.
    server.handshake().await;
}

#[tokio::test]
async fn a_pending_get_gets_the_close_packet() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut get = server.pending_get(&sid).await;
    server.engine.close_all();
    let response = get.response().await;
    assert_eq!((response.status, response.text().as_str()), (200, "1"));
    assert_eq!(server.closed(&sid).await, CloseReason::ServerClose);
    assert_eq!(server.engine.session_count(), 0);
}

/// The handshake of each transport, and how a refusal reads there.
const HANDSHAKES: [&str; 3] = [
    "EIO=4&transport=polling",
    "EIO=4&transport=sse",
    "EIO=4&transport=websocket",
];

#[tokio::test]
async fn a_handshake_after_shutdown_began_gets_503() {
    let server = Server::with_defaults().await;
    // An idle polling session keeps the shutdown going until its client comes back.
    let sid = server.handshake().await;
    let engine = server.engine.clone();
    let shutdown = tokio::spawn(async move { engine.shutdown(Duration::from_secs(30)).await });
    tokio::task::yield_now().await;

    let refused = r#"{"code":6,"message":"Server shutting down"}"#;
    for query in HANDSHAKES {
        if query.ends_with("websocket") {
            assert_eq!(
                server.ws_refused(query).await,
                (503, refused.to_owned()),
                "{query}"
            );
        } else {
            server
                .get(query)
                .await
                .assert_error(503, 6, "Server shutting down");
        }
    }
    assert_eq!(server.engine.session_count(), 1);

    // The open session still collects its close packet, and that ends the shutdown.
    let query = format!("EIO=4&transport=polling&sid={sid}");
    assert_eq!(packets(&server.get(&query).await.body), ["1"]);
    within("the shutdown", shutdown).await.expect("no panic");
    assert_eq!(server.engine.session_count(), 0);
    // Still refused once it is over.
    server
        .get(HANDSHAKES[0])
        .await
        .assert_error(503, 6, "Server shutting down");
}

#[tokio::test]
async fn shutdown_resolves_once_every_client_took_its_packets() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws("EIO=4&transport=websocket").await;
    let ws_sid = common::open_sid(&ws_text(&mut ws).await);
    let (mut sse, sse_sid) = SseStream::open(&server).await;
    let idle_sid = server.handshake().await;
    for sid in [&ws_sid, &sse_sid, &idle_sid] {
        server.session(sid).send("bye").expect("open");
    }

    let engine = server.engine.clone();
    let shutdown = tokio::spawn(async move { engine.shutdown(Duration::from_secs(30)).await });

    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!(before, [WsMessage::text("4bye"), WsMessage::text("1")]);
    assert_eq!(code, Some(1001));
    let mut streamed = Vec::new();
    while let Some(packet) = sse.next().await {
        streamed.push(packet);
    }
    assert_eq!(
        streamed,
        [Packet::Message(Message::text("bye")), Packet::Close]
    );
    server.settle().await;
    assert!(
        !shutdown.is_finished(),
        "the shutdown ended before the polling client took its packets"
    );

    let idle_query = format!("EIO=4&transport=polling&sid={idle_sid}");
    assert_eq!(packets(&server.get(&idle_query).await.body), ["4bye"]);
    assert_eq!(packets(&server.get(&idle_query).await.body), ["1"]);
    within("the shutdown", shutdown).await.expect("no panic");
    assert_eq!(server.engine.session_count(), 0);
    for sid in [&ws_sid, &sse_sid, &idle_sid] {
        assert_eq!(server.closed(sid).await, CloseReason::ServerClose, "{sid}");
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_dropped_at_the_deadline() {
    let server = Server::start(EngineConfig::default().max_queued_bytes(usize::MAX)).await;
    let (mut ws, session) = server.ws_session().await;

    // More than the socket buffers take: the connection stalls, the rest waits in the queue.
    let message = "z".repeat(64 * 1024);
    for _ in 0..256 {
        session.send(message.as_str()).expect("open");
        tokio::task::yield_now().await;
    }
    assert!(session.queued() > 0, "the client took everything");

    let deadline = Duration::from_millis(300);
    let started = Instant::now();
    within("the shutdown", server.engine.shutdown(deadline)).await;
    let took = started.elapsed();
    assert!(
        took >= deadline,
        "resolved after {took:?}, before the client took its packets"
    );
    assert!(
        took < deadline + Duration::from_secs(2),
        "resolved after {took:?}"
    );

    // The connection was dropped: what the socket buffers held, then no close frame.
    let (before, code) = ws_closed(&mut ws).await;
    assert!(!before.is_empty());
    assert!(before.len() < 256, "all {} messages arrived", before.len());
    assert_eq!(code, None);
}

#[tokio::test]
async fn serve_with_shutdown_stops_accepting() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let engine = tidings_transports::Engine::new(EngineConfig::default(), Quiet);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(tidings_transports::serve_with_shutdown(
        listener,
        engine.service(),
        async {
            let _ = stopped.await;
        },
    ));

    let mut kept = Http::connect(addr).await;
    assert_eq!(kept.request("GET", "/", &[], b"").await.status, 404);
    let _ = stop.send(());
    within("serve_with_shutdown to return", serving)
        .await
        .expect("no panic");

    // New connections are refused; one accepted before carries on.
    assert!(TcpStream::connect(addr).await.is_err());
    assert_eq!(kept.request("GET", "/", &[], b"").await.status, 404);
}

/// A handler that does nothing.
struct Quiet;

impl tidings_transports::Handler for Quiet {
    fn on_open(&self, _: &tidings_transports::Session, _: &http::request::Parts) {}
    fn on_message(&self, _: &tidings_transports::Session, _: Message) {}
    fn on_close(&self, _: &tidings_transports::Session, _: CloseReason) {}
}
