//! Upgrades from long-polling and SSE to WebSocket: the probe, the noop that ends the old
//! downstream, refused and abandoned upgrades, and no message lost, duplicated or reordered.

mod common;

use std::time::Duration;

use common::{
    FLOOD, FLOOD_AFTER_UPGRADE, FLOOD_END, Http, Server, SseStream, Ws, packets, path, ws_closed,
    ws_next, ws_send, ws_text,
};
use tidings_transports::{CloseReason, EngineConfig, Message, Packet};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

const BAD: &str = r#"{"code":3,"message":"Bad request"}"#;

fn polling(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

fn websocket(sid: &str) -> String {
    format!("EIO=4&transport=websocket&sid={sid}")
}

/// Sends the probe and checks its answer.
async fn probe(ws: &mut Ws) {
    ws_send(ws, WsMessage::text("2probe")).await;
    assert_eq!(ws_text(ws).await, "3probe");
}

#[tokio::test]
async fn upgrades_a_polling_session() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut get = Http::connect(server.addr).await;
    get.send("GET", &path(&polling(&sid)), &[], b"").await;

    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    let response = get.response().await;
    assert_eq!((response.status, response.text().as_str()), (200, "6"));
    ws_send(&mut ws, WsMessage::text("5")).await;

    ws_send(&mut ws, WsMessage::text("4over websocket")).await;
    assert_eq!(ws_text(&mut ws).await, "4over websocket");
    ws_send(&mut ws, WsMessage::binary(vec![9u8, 8])).await;
    assert_eq!(
        ws_next(&mut ws).await,
        Some(WsMessage::binary(vec![9u8, 8]))
    );

    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    assert_eq!(session.transport(), "websocket");

    // The old transport is refused, and that does not close the session.
    server
        .get(&polling(&sid))
        .await
        .assert_error(400, 3, "Bad request");
    server
        .post(&polling(&sid), b"4x")
        .await
        .assert_error(400, 3, "Bad request");
    // Nor does a second WebSocket get it.
    assert_eq!(
        server.ws_refused(&websocket(&sid)).await,
        (400, BAD.to_owned())
    );

    server.assert_open(&sid);
    ws_send(&mut ws, WsMessage::text("4still")).await;
    assert_eq!(ws_text(&mut ws).await, "4still");
}

#[tokio::test]
async fn packets_queued_during_the_probe_go_over_websocket() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    // No GET was pending: the next one ends at once with a noop.
    assert_eq!(server.get(&polling(&sid)).await.text(), "6");

    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    session.send("queued while probing").expect("open");
    ws_send(&mut ws, WsMessage::text("5")).await;
    assert_eq!(ws_text(&mut ws).await, "4queued while probing");
    server.assert_open(&sid);
}

#[tokio::test]
async fn refuses_a_second_websocket_while_upgrading() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut ws = server.ws(&websocket(&sid)).await;
    assert_eq!(
        server.ws_refused(&websocket(&sid)).await,
        (400, BAD.to_owned())
    );

    // The first one still upgrades.
    probe(&mut ws).await;
    assert_eq!(server.get(&polling(&sid)).await.text(), "6");
    ws_send(&mut ws, WsMessage::text("5")).await;
    ws_send(&mut ws, WsMessage::text("4first")).await;
    assert_eq!(ws_text(&mut ws).await, "4first");
    server.assert_open(&sid);
}

#[tokio::test]
async fn an_unfinished_upgrade_leaves_the_session_on_polling() {
    let mut server =
        Server::start(EngineConfig::default().upgrade_timeout(Duration::from_millis(100))).await;
    let sid = server.handshake().await;
    let mut get = Http::connect(server.addr).await;
    get.send("GET", &path(&polling(&sid)), &[], b"").await;

    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    assert_eq!(get.response().await.text(), "6");
    // No `5`: the server gives up on the WebSocket after the upgrade timeout.
    let (before, _) = ws_closed(&mut ws).await;
    assert_eq!(before, []);

    server.assert_open(&sid);
    assert_eq!(
        server
            .engine
            .session(sid.parse().expect("sid"))
            .expect("open")
            .transport(),
        "polling"
    );
    get.send("GET", &path(&polling(&sid)), &[], b"").await;
    server
        .post(&polling(&sid), b"4on polling")
        .await
        .assert_ok();
    assert_eq!(packets(&get.response().await.body), ["4on polling"]);

    // A later upgrade works.
    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    assert_eq!(server.get(&polling(&sid)).await.text(), "6");
    ws_send(&mut ws, WsMessage::text("5")).await;
    ws_send(&mut ws, WsMessage::text("4upgraded")).await;
    assert_eq!(ws_text(&mut ws).await, "4upgraded");
}

#[tokio::test]
async fn an_upgrade_that_never_probes_times_out() {
    let mut server =
        Server::start(EngineConfig::default().upgrade_timeout(Duration::from_millis(100))).await;
    let sid = server.handshake().await;
    let mut ws = server.ws(&websocket(&sid)).await;
    let (before, _) = ws_closed(&mut ws).await;
    assert_eq!(before, []);
    server.post(&polling(&sid), b"4x").await.assert_ok();
    assert_eq!(packets(&server.get(&polling(&sid)).await.body), ["4x"]);
    server.assert_open(&sid);
}

#[tokio::test]
async fn a_wrong_packet_during_the_upgrade_leaves_the_session_on_polling() {
    let mut server = Server::with_defaults().await;
    let cases: &[&[&str]] = &[
        &["4too early"],
        &["5"],
        &["2probe", "4not an upgrade"],
        &["2probe", "2probe"],
    ];
    for sent in cases {
        let sid = server.handshake().await;
        let mut get = Http::connect(server.addr).await;
        get.send("GET", &path(&polling(&sid)), &[], b"").await;
        let mut ws = server.ws(&websocket(&sid)).await;
        for text in *sent {
            ws_send(&mut ws, WsMessage::text(*text)).await;
        }
        let (before, _) = ws_closed(&mut ws).await;
        let probed = sent[0] == "2probe";
        let expected: &[WsMessage] = if probed {
            &[WsMessage::text("3probe")]
        } else {
            &[]
        };
        assert_eq!(before, expected, "{sent:?}");
        if probed {
            // The probe ended the pending GET; the client polls again.
            assert_eq!(get.response().await.text(), "6", "{sent:?}");
            get.send("GET", &path(&polling(&sid)), &[], b"").await;
        }
        server.post(&polling(&sid), b"4x").await.assert_ok();
        assert_eq!(packets(&get.response().await.body), ["4x"], "{sent:?}");
        server.assert_open(&sid);
    }
}

#[tokio::test]
async fn upgrades_an_sse_session() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    let sse = format!("EIO=4&transport=sse&sid={sid}");
    server.post(&sse, b"4before").await.assert_ok();
    assert_eq!(
        stream.next().await,
        Some(Packet::Message(Message::text("before")))
    );

    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    assert_eq!(stream.next().await, Some(Packet::Noop));
    assert_eq!(stream.next().await, None, "the stream ends after the noop");
    ws_send(&mut ws, WsMessage::text("5")).await;
    ws_send(&mut ws, WsMessage::text("4after")).await;
    assert_eq!(ws_text(&mut ws).await, "4after");

    server
        .post(&sse, b"4x")
        .await
        .assert_error(400, 3, "Bad request");
    server
        .get(&polling(&sid))
        .await
        .assert_error(400, 3, "Bad request");
    server.assert_open(&sid);
    ws_send(&mut ws, WsMessage::text("4still")).await;
    assert_eq!(ws_text(&mut ws).await, "4still");
}

#[tokio::test]
async fn an_sse_stream_reopens_after_a_failed_upgrade() {
    let mut server = Server::with_defaults().await;
    let (mut stream, sid) = SseStream::open(&server).await;
    let sse = format!("EIO=4&transport=sse&sid={sid}");
    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    assert_eq!(stream.next().await, Some(Packet::Noop));
    assert_eq!(stream.next().await, None, "the stream ends after the noop");

    // The probe connection sends a message instead of `5`: the server drops it (aborting the
    // upgrade before its close frame), and the session is back on SSE without a stream.
    ws_send(&mut ws, WsMessage::text("4early")).await;
    let (_, code) = ws_closed(&mut ws).await;
    assert_eq!(code, Some(1000));
    server.post(&sse, b"4queued").await.assert_ok();
    let mut reopened = SseStream::connect(&server, &sse).await;
    assert_eq!(
        reopened.next().await,
        Some(Packet::Message(Message::text("queued"))),
        "the reopened stream starts where the queue stands, with no second open packet"
    );
    server.get(&sse).await.assert_error(400, 3, "Bad request");
    server.post(&sse, b"4again").await.assert_ok();
    assert_eq!(
        reopened.next().await,
        Some(Packet::Message(Message::text("again")))
    );
    server.assert_open(&sid);
}

#[tokio::test]
async fn no_upgrade_when_upgrades_are_off() {
    let mut server = Server::start(EngineConfig::default().allow_upgrades(false)).await;
    let sid = server.handshake().await;
    assert_eq!(
        server.ws_refused(&websocket(&sid)).await,
        (400, BAD.to_owned())
    );
    server.post(&polling(&sid), b"4x").await.assert_ok();
    assert_eq!(packets(&server.get(&polling(&sid)).await.body), ["4x"]);
    server.assert_open(&sid);
}

#[tokio::test]
async fn closing_the_session_during_the_upgrade_ends_both_transports() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut ws = server.ws(&websocket(&sid)).await;
    probe(&mut ws).await;
    server.post(&polling(&sid), b"1").await.assert_ok();
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    // The probing WebSocket learns of it at once, without waiting for `5` or the timeout.
    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!((before, code), (vec![], Some(1000)));
    assert!(server.engine.session(sid.parse().expect("sid")).is_none());
}

#[tokio::test]
async fn a_shutdown_during_the_upgrade_closes_the_probe_as_going_away() {
    let mut server =
        Server::start(EngineConfig::default().upgrade_timeout(Duration::from_secs(30))).await;

    // Before the probe is answered: the probe ends at once, and polling carries the close.
    let sid = server.handshake().await;
    let mut ws = server.ws(&websocket(&sid)).await;
    server.engine.close_all();
    assert_eq!(server.closed(&sid).await, CloseReason::ServerClose);
    ws_send(&mut ws, WsMessage::text("2probe")).await;
    let (before, code) = ws_closed(&mut ws).await;
    assert_eq!((before, code), (vec![], Some(1001)));
}

#[tokio::test]
async fn a_close_by_the_server_after_the_probe_answer_goes_over_the_websocket() {
    // The client got `3probe`, and its GET got the noop: it polls no more, so only the
    // WebSocket can tell it, once it switches with `5`.
    for shutdown in [false, true] {
        let mut server = Server::with_defaults().await;
        let sid = server.handshake().await;
        let mut ws = server.ws(&websocket(&sid)).await;
        probe(&mut ws).await;
        let noop = server.get(&polling(&sid)).await;
        assert_eq!(packets(&noop.body), ["6"]);
        server.post(&polling(&sid), b"4last").await.assert_ok();
        let reason = if shutdown {
            server.engine.close_all();
            CloseReason::ServerClose
        } else {
            server.session(&sid).close();
            CloseReason::ForcedClose
        };
        assert_eq!(server.closed(&sid).await, reason);
        ws_send(&mut ws, WsMessage::text("5")).await;
        let (before, code) = ws_closed(&mut ws).await;
        let expected = [WsMessage::text("4last"), WsMessage::text("1")];
        let code_expected = if shutdown { 1001 } else { 1000 };
        assert_eq!((before, code), (expected.to_vec(), Some(code_expected)));
    }
}

/// A downstream transport being read while the session upgrades.
enum Downstream {
    Polling(Http, String),
    Sse(SseStream),
}

impl Downstream {
    /// Reads until the noop that ends the downstream, sending on each numbered message.
    async fn read_until_noop(mut self, numbers: mpsc::UnboundedSender<u64>) {
        let number = |text: &str| -> u64 {
            text.strip_prefix('4')
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected packet {text:?}"))
        };
        match &mut self {
            Downstream::Polling(http, sid) => loop {
                http.send("GET", &path(&polling(sid)), &[], b"").await;
                let response = http.response().await;
                assert_eq!(response.status, 200, "{response:?}");
                let packets = packets(&response.body);
                for (i, packet) in packets.iter().enumerate() {
                    if packet == "6" {
                        assert_eq!(i + 1, packets.len(), "packets after the noop");
                        return;
                    }
                    let _ = numbers.send(number(packet));
                }
            },
            Downstream::Sse(stream) => loop {
                match stream.next().await {
                    Some(Packet::Message(m)) => {
                        let _ = numbers.send(number(&format!("4{}", m.as_text().expect("text"))));
                    }
                    Some(Packet::Noop) => {
                        assert_eq!(stream.next().await, None, "the stream ends after the noop");
                        return;
                    }
                    other => panic!("unexpected {other:?}"),
                }
            },
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loses_duplicates_and_reorders_nothing_across_the_upgrade() {
    for transport in ["polling", "sse"] {
        let server = Server::with_defaults().await;
        let (down, sid, post) = match transport {
            "polling" => {
                let sid = server.handshake().await;
                let http = Http::connect(server.addr).await;
                (
                    Downstream::Polling(http, sid.clone()),
                    sid.clone(),
                    polling(&sid),
                )
            }
            _ => {
                let (stream, sid) = SseStream::open(&server).await;
                let post = format!("EIO=4&transport=sse&sid={sid}");
                (Downstream::Sse(stream), sid, post)
            }
        };

        // Read the old downstream from a task while the handler floods the session.
        let (numbers, mut received) = mpsc::unbounded_channel();
        let reader = tokio::spawn(down.read_until_noop(numbers));
        server
            .post(&post, format!("4{FLOOD}").as_bytes())
            .await
            .assert_ok();
        let mut before = vec![
            common::within("the first numbered message", received.recv())
                .await
                .expect("a numbered message before the noop"),
        ];

        // Upgrade while the flood goes on.
        let mut ws = server.ws(&websocket(&sid)).await;
        probe(&mut ws).await;
        common::within("the downstream's noop", reader)
            .await
            .expect("the reader finished");
        while let Ok(n) = received.try_recv() {
            before.push(n);
        }
        ws_send(&mut ws, WsMessage::text("5")).await;
        let mut after = Vec::new();
        loop {
            let text = ws_text(&mut ws).await;
            if text == format!("4{FLOOD_END}") {
                break;
            }
            let n: u64 = text
                .strip_prefix('4')
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{transport}: unexpected {text:?}"));
            after.push(n);
        }

        let all: Vec<u64> = before.iter().chain(&after).copied().collect();
        let expected: Vec<u64> = (0..all.len() as u64).collect();
        assert!(
            all == expected,
            "{transport}: {} before the upgrade, {} after, not 0..{}: {all:?}",
            before.len(),
            after.len(),
            all.len()
        );
        assert!(
            after.len() >= FLOOD_AFTER_UPGRADE,
            "{transport}: {} after the upgrade",
            after.len()
        );
        let mut server = server;
        server.assert_open(&sid);
    }
}

#[tokio::test]
async fn sends_in_every_phase_of_the_upgrade_arrive_once_in_order() {
    for transport in ["polling", "sse"] {
        let server = Server::with_defaults().await;
        let (mut down, sid) = match transport {
            "polling" => {
                let sid = server.handshake().await;
                (
                    Downstream::Polling(Http::connect(server.addr).await, sid.clone()),
                    sid,
                )
            }
            _ => {
                let (stream, sid) = SseStream::open(&server).await;
                (Downstream::Sse(stream), sid)
            }
        };
        let session = server
            .engine
            .session(sid.parse().expect("sid"))
            .expect("open");
        let mut next = 0u64;
        let mut send_two = || {
            for _ in 0..2 {
                session.send(next.to_string()).expect("open");
                next += 1;
            }
        };
        let mut got = Vec::new();

        send_two(); // on the old transport
        if let Downstream::Polling(http, sid) = &mut down {
            http.send("GET", &path(&polling(sid)), &[], b"").await;
            got.extend(packets(&http.response().await.body));
            // Keep a GET pending through the upgrade, as clients do.
            http.send("GET", &path(&polling(sid)), &[], b"").await;
        }
        let mut ws = server.ws(&websocket(&sid)).await;
        send_two(); // the WebSocket connected
        ws_send(&mut ws, WsMessage::text("2probe")).await;
        assert_eq!(ws_text(&mut ws).await, "3probe");
        send_two(); // probed
        match &mut down {
            Downstream::Polling(http, _) => loop {
                let batch = packets(&http.response().await.body);
                let noop = batch.last().is_some_and(|p| p == "6");
                got.extend(batch.into_iter().filter(|p| p != "6"));
                if noop {
                    break;
                }
                http.send("GET", &path(&polling(&sid)), &[], b"").await;
            },
            Downstream::Sse(stream) => loop {
                match stream.next().await.expect("the noop ends the stream") {
                    Packet::Noop => {
                        assert_eq!(stream.next().await, None);
                        break;
                    }
                    Packet::Message(m) => got.push(format!("4{}", m.as_text().expect("text"))),
                    other => panic!("{transport}: unexpected {other:?}"),
                }
            },
        }
        send_two(); // the old downstream ended
        ws_send(&mut ws, WsMessage::text("5")).await;
        // The session is on WebSocket once the echo of a message sent after `5` comes back.
        ws_send(&mut ws, WsMessage::text("4marker")).await;
        send_two(); // upgraded, or about to be
        let mut over_ws = Vec::new();
        loop {
            let text = ws_text(&mut ws).await;
            if text == "4marker" {
                break;
            }
            over_ws.push(text);
        }
        send_two(); // upgraded
        // The two sent right after `5` may come before or after the marker's echo.
        while got.len() + over_ws.len() < next as usize {
            over_ws.push(ws_text(&mut ws).await);
        }
        let all: Vec<String> = got.iter().chain(&over_ws).cloned().collect();
        let expected: Vec<String> = (0..next).map(|n| format!("4{n}")).collect();
        assert_eq!(
            all, expected,
            "{transport}: before {got:?}, then {over_ws:?}"
        );
        assert!(got.len() >= 2, "{transport}: {got:?}");
    }
}

#[tokio::test]
async fn a_dropped_upgrade_websocket_leaves_the_session_on_polling() {
    let mut server = Server::with_defaults().await;
    for probed in [false, true] {
        let sid = server.handshake().await;
        let mut get = Http::connect(server.addr).await;
        get.send("GET", &path(&polling(&sid)), &[], b"").await;
        let mut ws = server.ws(&websocket(&sid)).await;
        if probed {
            probe(&mut ws).await;
            // The client paused polling: no GET until the upgrade is given up.
            assert_eq!(get.response().await.text(), "6");
        }
        drop(ws);

        // A new upgrade is taken once the server has seen the old one go: it is refused
        // (400) until then.
        let mut ws = common::within("a new upgrade", async {
            loop {
                match tokio_tungstenite::connect_async(server.ws_url(&websocket(&sid))).await {
                    Ok((ws, _)) => break ws,
                    Err(_) => tokio::task::yield_now().await,
                }
            }
        })
        .await;
        // Meanwhile the session carries on over polling.
        if probed {
            get.send("GET", &path(&polling(&sid)), &[], b"").await;
        }
        server.post(&polling(&sid), b"4x").await.assert_ok();
        assert_eq!(
            packets(&get.response().await.body),
            ["4x"],
            "probed: {probed}"
        );
        server.assert_open(&sid);
        probe(&mut ws).await;
        assert_eq!(server.get(&polling(&sid)).await.text(), "6");
        ws_send(&mut ws, WsMessage::text("5")).await;
        ws_send(&mut ws, WsMessage::text("4upgraded")).await;
        assert_eq!(ws_text(&mut ws).await, "4upgraded", "probed: {probed}");
    }
}
