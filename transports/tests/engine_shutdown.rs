//! `Engine::close_all`: every session is told, over whichever transport it uses.

mod common;

use common::{Http, Server, packets, path, ws_closed, ws_text};
use tidings_transports::packet::sse;
use tidings_transports::{CloseReason, Message, Packet};
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
        server
            .engine
            .session(sid.parse().expect("sid"))
            .expect("open")
            .send("bye")
            .expect("open");
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
