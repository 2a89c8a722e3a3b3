//! HTTP long-polling over raw HTTP/1.1: payloads both ways, limits, overlapping and abandoned
//! requests, client closes and malformed payloads.

mod common;

use common::{Http, Server, packets, path, payload};
use tidings_transports::{CloseReason, EngineConfig};

fn session(sid: &str) -> String {
    format!("EIO=4&transport=polling&sid={sid}")
}

/// Asserts that `sid` is gone: its next GET is refused with code 1.
async fn assert_gone(server: &Server, sid: &str) {
    server
        .get(&session(sid))
        .await
        .assert_error(400, 1, "Session ID unknown");
    assert!(server.engine.session(sid.parse().expect("sid")).is_none());
}

/// Asserts that the server still opens sessions and echoes over polling.
async fn assert_serving(server: &Server) {
    let sid = server.handshake().await;
    server
        .post(&session(&sid), b"4still here")
        .await
        .assert_ok();
    let response = server.get(&session(&sid)).await;
    assert_eq!(packets(&response.body), ["4still here"]);
}

#[tokio::test]
async fn echoes_text_and_binary_packets_in_one_payload() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let body = payload(&[
        b"4hello",
        b"bAQIDBA==",
        b"4",
        "4h\u{e9}llo \u{2028}".as_bytes(),
        b"b",
    ]);

    let response = server.post(&session(&sid), &body).await;
    response.assert_ok();
    assert_eq!(
        response.header("content-type"),
        Some("text/html; charset=UTF-8")
    );

    let response = server.get(&session(&sid)).await;
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(response.body, body, "{:?}", response.text());
    server.assert_open(&sid);
}

#[tokio::test]
async fn a_pending_get_gets_what_a_post_queues() {
    let server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut get = server.pending_get(&sid).await;

    server
        .post(&session(&sid), b"4one\x1e4two")
        .await
        .assert_ok();
    let response = get.response().await;
    assert_eq!(packets(&response.body), ["4one", "4two"]);

    // The same keep-alive connection polls again.
    get.send("GET", &path(&session(&sid)), &[], b"").await;
    server.post(&session(&sid), b"4three").await.assert_ok();
    assert_eq!(packets(&get.response().await.body), ["4three"]);
}

#[tokio::test]
async fn ignores_noop_and_upgrade_packets_on_its_own_transport() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    server
        .post(&session(&sid), b"6\x1e4a\x1e5\x1e4b")
        .await
        .assert_ok();
    assert_eq!(
        packets(&server.get(&session(&sid)).await.body),
        ["4a", "4b"]
    );
    server.assert_open(&sid);
}

/// Writes a POST whose body is sent in chunks of the chunked transfer coding.
async fn post_chunked(http: &mut Http, sid: &str, chunks: &[&[u8]]) {
    let mut request = format!(
        "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n\r\n",
        path(&session(sid))
    )
    .into_bytes();
    for chunk in chunks {
        request.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend_from_slice(chunk);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    http.write(&request).await;
}

#[tokio::test]
async fn enforces_max_payload_on_posts() {
    let mut server = Server::start(EngineConfig::default().max_payload(100)).await;
    let big = [b'x'; 150];
    let big_message = [b"4".as_slice(), &big].concat();

    // At the limit: accepted, with a length and chunked.
    let sid = server.handshake().await;
    let at_limit = [b"4".as_slice(), &big[..99]].concat();
    server.post(&session(&sid), &at_limit).await.assert_ok();
    let mut http = Http::connect(server.addr).await;
    post_chunked(&mut http, &sid, &[&at_limit[..50], &at_limit[50..]]).await;
    http.response().await.assert_ok();
    let echoed = server.get(&session(&sid)).await;
    assert_eq!(packets(&echoed.body).len(), 2);

    // Over the limit: 413 and the session closes, whatever the framing.
    type Send = fn(&[u8]) -> Vec<&[u8]>;
    let framings: [(&str, Option<Send>); 3] = [
        ("content-length", None),
        ("one chunk", Some(|b| vec![b])),
        ("many chunks", Some(|b| b.chunks(40).collect())),
    ];
    for (framing, chunked) in framings {
        let sid = server.handshake().await;
        let mut http = Http::connect(server.addr).await;
        match chunked {
            None => {
                http.send("POST", &path(&session(&sid)), &[], &big_message)
                    .await
            }
            Some(split) => post_chunked(&mut http, &sid, &split(&big_message)).await,
        }
        let response = http.response().await;
        assert_eq!(response.status, 413, "{framing}: {response:?}");
        response.assert_error(413, 3, "Payload too large");
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::TransportError,
            "{framing}"
        );
        assert_gone(&server, &sid).await;
    }
    assert_serving(&server).await;
}

#[tokio::test]
async fn a_second_get_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut first = server.pending_get(&sid).await;

    let second = server.get(&session(&sid)).await;
    second.assert_error(400, 3, "Bad request");
    let first = first.response().await;
    assert_eq!((first.status, first.text().as_str()), (200, "1"));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert_gone(&server, &sid).await;
    assert_serving(&server).await;
}

#[tokio::test]
async fn a_second_post_during_a_slow_one_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut slow = Http::connect(server.addr).await;
    // The head announces 10 bytes; only 4 are sent for now.
    slow.write(
        format!(
            "POST {} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 10\r\n\r\n4abc",
            path(&session(&sid))
        )
        .as_bytes(),
    )
    .await;
    server.settle().await;

    server
        .post(&session(&sid), b"4other")
        .await
        .assert_error(400, 3, "Bad request");
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    assert_gone(&server, &sid).await;

    // The slow POST still gets an answer once its body is complete.
    slow.write(b"defghi").await;
    let response = slow.response().await;
    assert!(
        response.status == 200 || response.status == 400,
        "{response:?}"
    );
    assert_serving(&server).await;
}

#[tokio::test]
async fn an_abandoned_get_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let get = server.pending_get(&sid).await;
    server.assert_open(&sid);

    drop(get);
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert_gone(&server, &sid).await;
    assert_serving(&server).await;
}

#[tokio::test]
async fn a_close_packet_ends_the_pending_get_with_a_noop() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut get = server.pending_get(&sid).await;

    server.post(&session(&sid), b"1").await.assert_ok();
    let response = get.response().await;
    assert_eq!((response.status, response.text().as_str()), (200, "6"));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert_gone(&server, &sid).await;
}

#[tokio::test]
async fn a_close_packet_drops_what_follows_it() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    server
        .post(&session(&sid), b"4before\x1e1\x1e4after")
        .await
        .assert_ok();
    assert_eq!(server.closed(&sid).await, CloseReason::TransportClose);
    assert_gone(&server, &sid).await;
}

#[tokio::test]
async fn malformed_payloads_close_the_session() {
    let mut server = Server::with_defaults().await;
    let cases: &[(&str, &[u8])] = &[
        ("bad base64", b"b!!!"),
        ("bad base64 after a good packet", b"4ok\x1eb!!!"),
        ("unpadded base64", b"bAQIDBA"),
        ("unknown packet type", b"9"),
        ("unknown type after a good packet", b"4ok\x1e9"),
        ("letters", b"abc"),
        ("empty body", b""),
        ("truncated payload", b"4a\x1e"),
        ("leading separator", b"\x1e4a"),
        ("invalid UTF-8", b"4\xff\xfe"),
        ("open packet", b"0{}"),
        ("ping", b"2"),
        ("ping probe", b"2probe"),
        ("pong probe", b"3probe"),
    ];
    for (name, body) in cases {
        let sid = server.handshake().await;
        let response = server.post(&session(&sid), body).await;
        assert_eq!(response.status, 400, "{name}: {response:?}");
        response.assert_error(400, 3, "Bad request");
        assert_eq!(
            server.closed(&sid).await,
            CloseReason::TransportError,
            "{name}"
        );
        assert_gone(&server, &sid).await;
    }
    assert_serving(&server).await;
}

#[tokio::test]
async fn a_malformed_payload_ends_the_pending_get_with_a_close() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let mut get = server.pending_get(&sid).await;

    server
        .post(&session(&sid), b"4fine\x1eb!!!")
        .await
        .assert_error(400, 3, "Bad request");
    let response = get.response().await;
    assert_eq!((response.status, response.text().as_str()), (200, "1"));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}

#[tokio::test]
async fn forced_close_sends_what_is_queued_then_a_close() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let session_handle = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    session_handle.send("last words").expect("open");
    session_handle.close();
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);

    // Nobody was polling: the next GET still collects the queue, and the one after the close
    // packet (a client handles the close of a response before the layer above has seen the
    // rest of it).
    let response = server.get(&session(&sid)).await;
    assert_eq!(packets(&response.body), ["4last words"]);
    let response = server.get(&session(&sid)).await;
    assert_eq!(packets(&response.body), ["1"]);
    assert_gone(&server, &sid).await;
}

#[tokio::test]
async fn forced_close_while_polling_sends_the_close_in_the_next_response() {
    let mut server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let session_handle = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    let mut get = server.pending_get(&sid).await;
    session_handle
        .send_all(&["a".into(), "b".into()])
        .expect("open");
    session_handle.close();
    assert_eq!(server.closed(&sid).await, CloseReason::ForcedClose);

    let response = get.response().await;
    assert_eq!(packets(&response.body), ["4a", "4b"]);
    let response = server.get(&session(&sid)).await;
    assert_eq!(packets(&response.body), ["1"]);
    assert_gone(&server, &sid).await;
}

#[tokio::test]
async fn serves_many_sessions_at_once() {
    let server = Server::with_defaults().await;
    let mut sids = Vec::new();
    for _ in 0..10 {
        sids.push(server.handshake().await);
    }
    let mut gets = Vec::new();
    for sid in &sids {
        let mut get = Http::connect(server.addr).await;
        get.send("GET", &path(&session(sid)), &[], b"").await;
        gets.push(get);
    }
    for (i, sid) in sids.iter().enumerate() {
        server
            .post(&session(sid), format!("4to {i}").as_bytes())
            .await
            .assert_ok();
    }
    for (i, get) in gets.iter_mut().enumerate() {
        assert_eq!(packets(&get.response().await.body), [format!("4to {i}")]);
    }
}
