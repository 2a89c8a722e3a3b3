//! Direct WebSocket sessions with a raw WebSocket client: the open packet, echo, limits,
//! protocol errors and closes.

mod common;

use bytes::Bytes;
use common::{Server, open_json, ws_closed, ws_next, ws_send, ws_text};
use tidings_transports::{CloseReason, EngineConfig};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const DIRECT: &str = "EIO=4&transport=websocket";

#[tokio::test]
async fn sends_the_open_packet_first() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let open = open_json(&ws_text(&mut ws).await);
    let sid = open["sid"].as_str().expect("sid");
    assert_eq!(open["upgrades"], serde_json::json!([]));
    assert_eq!(server.opened().await, (sid.to_owned(), "websocket"));
    server.assert_open(sid);
}

#[tokio::test]
async fn echoes_text_and_binary_frames() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);

    let frames = [
        WsMessage::text("4hello"),
        WsMessage::text("4"),
        WsMessage::text("4h\u{e9}llo\n\u{2028}"),
        WsMessage::binary(Bytes::from_static(&[1, 2, 3, 0, 255])),
        WsMessage::binary(Bytes::new()),
        WsMessage::text("4after binary"),
    ];
    for frame in &frames {
        ws_send(&mut ws, frame.clone()).await;
    }
    for frame in &frames {
        assert_eq!(ws_next(&mut ws).await.as_ref(), Some(frame));
    }
    // Noops and pongs carry nothing to echo; the session stays up.
    ws_send(&mut ws, WsMessage::text("6")).await;
    ws_send(&mut ws, WsMessage::text("3")).await;
    ws_send(&mut ws, WsMessage::text("4done")).await;
    assert_eq!(ws_text(&mut ws).await, "4done");
    server.assert_open(&sid);
}

#[tokio::test]
async fn closes_oversize_messages_with_1009() {
    let mut server = Server::start(EngineConfig::default().max_payload(1000)).await;
    let cases = [
        WsMessage::text(format!("4{}", "x".repeat(2000))),
        WsMessage::binary(vec![7; 2000]),
    ];
    for frame in cases {
        let mut ws = server.ws(DIRECT).await;
        let sid = common::open_sid(&ws_text(&mut ws).await);
        // Right at the limit is fine.
        ws_send(&mut ws, WsMessage::binary(vec![1; 1000])).await;
        assert_eq!(
            ws_next(&mut ws).await,
            Some(WsMessage::binary(vec![1; 1000]))
        );

        ws_send(&mut ws, frame).await;
        let (before, code) = ws_closed(&mut ws).await;
        assert_eq!((before, code), (vec![], Some(1009)));
        assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
        assert!(server.engine.session(sid.parse().expect("sid")).is_none());
    }
}

#[tokio::test]
async fn closes_invalid_packets_with_1002() {
    let mut server = Server::with_defaults().await;
    let cases = ["abc", "", "9", "0{}", "2", "2probe", "3probe"];
    for text in cases {
        let mut ws = server.ws(DIRECT).await;
        let sid = common::open_sid(&ws_text(&mut ws).await);
        ws_send(&mut ws, WsMessage::text(text)).await;
        let (before, code) = ws_closed(&mut ws).await;
        assert_eq!((before, code), (vec![], Some(1002)), "{text:?}");
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::TransportError,
            "{text:?}"
        );
    }
    // The server still takes new sessions.
    let mut ws = server.ws(DIRECT).await;
    ws_text(&mut ws).await;
    ws_send(&mut ws, WsMessage::text("4ok")).await;
    assert_eq!(ws_text(&mut ws).await, "4ok");
}

#[tokio::test]
async fn a_client_close_frame_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: "bye".into(),
    }))
    .await
    .expect("close");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert!(server.engine.session(sid.parse().expect("sid")).is_none());
}

#[tokio::test]
async fn a_dropped_connection_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    drop(ws);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
}

#[tokio::test]
async fn a_close_packet_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    ws_send(&mut ws, WsMessage::text("1")).await;
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    // The server ends the connection: whatever it sends last, it is no echo.
    let (before, _) = ws_closed(&mut ws).await;
    assert!(
        before.iter().all(|m| m != &WsMessage::text("4")),
        "{before:?}"
    );
}

#[tokio::test]
async fn a_forced_close_sends_the_queue_then_a_close_packet() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    session.send("one").expect("open");
    session.send(vec![2u8]).expect("open");
    session.close();
    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!(
        before,
        [
            WsMessage::text("4one"),
            WsMessage::binary(vec![2u8]),
            WsMessage::text("1")
        ]
    );
    assert_eq!(code, Some(1000));
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);
    assert!(session.send("late").is_err());
}

#[tokio::test]
async fn refuses_a_second_websocket_for_a_websocket_session() {
    let mut server = Server::with_defaults().await;
    let mut ws = server.ws(DIRECT).await;
    let sid = common::open_sid(&ws_text(&mut ws).await);
    assert_eq!(
        server
            .ws_refused(&format!("EIO=4&transport=websocket&sid={sid}"))
            .await,
        (400, r#"{"code":3,"message":"Bad request"}"#.to_owned())
    );
    // Nor does it take polling requests.
    server
        .get(&format!("EIO=4&transport=polling&sid={sid}"))
        .await
        .assert_error(400, 3, "Bad request");
    ws_send(&mut ws, WsMessage::text("4still mine")).await;
    assert_eq!(ws_text(&mut ws).await, "4still mine");
    server.assert_open(&sid);
}
