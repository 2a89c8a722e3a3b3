//! JSONP long-polling (the `j` parameter): script-wrapped GETs and form-encoded POSTs.

mod common;

use common::{Http, Response, Server, path};

/// The payload inside `___eio[<index>]("…");`.
#[track_caller]
fn unwrap_script(response: &Response, index: &str) -> String {
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(
        response.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let text = response.text();
    let literal = text
        .strip_prefix(&format!("___eio[{index}]("))
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP script for {index}: {text:?}"));
    serde_json::from_str(literal).unwrap_or_else(|_| panic!("not a JSON string: {literal:?}"))
}

/// What a JSONP client does to a payload before it form-encodes it: `\n` becomes the two
/// characters `\n`, and a literal `\n` becomes `\\n`.
fn escape_newlines(payload: &str) -> String {
    payload.replace("\\n", "\\\\n").replace('\n', "\\n")
}

fn form(payload: &str) -> Vec<u8> {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("d", &escape_newlines(payload))
        .finish()
        .into_bytes()
}

async fn post_form(server: &Server, query: &str, body: &[u8]) -> Response {
    Http::connect(server.addr)
        .await
        .request(
            "POST",
            &path(query),
            &[("content-type", "application/x-www-form-urlencoded")],
            body,
        )
        .await
}

#[tokio::test]
async fn round_trips_payloads() {
    let server = Server::with_defaults().await;
    let handshake = server.get("EIO=4&transport=polling&j=3").await;
    let open = unwrap_script(&handshake, "3");
    let sid = common::open_sid(&open);
    let session = format!("EIO=4&transport=polling&sid={sid}&j=3");

    let payloads = [
        "4hello",
        "4line one\nline two",
        "4a literal \\n stays",
        "4both\n\\n",
        "4quotes \" and </script> and \u{2028}",
        "4two\u{1e}4packets",
        "bAQIDBA==\u{1e}4after binary",
        "4 plus+and%percent&amp",
    ];
    for payload in payloads {
        let response = post_form(&server, &session, &form(payload)).await;
        response.assert_ok();
        let echoed = server.get(&session).await;
        assert_eq!(unwrap_script(&echoed, "3"), payload);
    }
}

#[tokio::test]
async fn sanitises_the_callback_index() {
    let server = Server::with_defaults().await;
    let cases = [
        ("1%5D)%3Balert(1)%3B%2F%2F", "11"),
        ("abc", ""),
        ("0", "0"),
        ("%3Cscript%3E42", "42"),
    ];
    for (j, index) in cases {
        let response = server.get(&format!("EIO=4&transport=polling&j={j}")).await;
        let open = unwrap_script(&response, index);
        assert!(open.starts_with("0{\"sid\":"), "{j}: {open}");
    }
}

#[tokio::test]
async fn a_body_without_d_closes_the_session() {
    let mut server = Server::with_defaults().await;
    let cases: &[&[u8]] = &[b"x=4hello", b"", b"4hello", b"d=9"];
    for body in cases {
        let sid = server.handshake().await;
        let response = post_form(
            &server,
            &format!("EIO=4&transport=polling&sid={sid}&j=0"),
            body,
        )
        .await;
        response.assert_error(400, 3, "Bad request");
        assert_eq!(
            server.closed(&sid).await,
            tidings_transports::CloseReason::TransportError
        );
    }
}

#[tokio::test]
async fn a_pending_jsonp_get_is_wrapped_too() {
    let server = Server::with_defaults().await;
    let sid = server.handshake().await;
    let session = format!("EIO=4&transport=polling&sid={sid}&j=7");
    let mut get = Http::connect(server.addr).await;
    get.send("GET", &path(&session), &[], b"").await;
    post_form(&server, &session, &form("4late"))
        .await
        .assert_ok();
    assert_eq!(unwrap_script(&get.response().await, "7"), "4late");
}
