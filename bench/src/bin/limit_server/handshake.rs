//! The HTTP/1.1 request that opens a connection: `GET /socket.io/?EIO=4&transport=websocket`
//! with a WebSocket upgrade. It is answered `101` together with the Engine.IO open packet,
//! in one write; anything else gets an error status and the connection is closed.

use std::io;
use std::time::Duration;

use tidings_transports::packet::websocket::{OpCode, encode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tungstenite::handshake::derive_accept_key;

use crate::session;

/// The longest request head accepted.
const MAX_HEAD: usize = 8192;

/// How long a client may take to send its request.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Refusal {
    /// Not the Socket.IO path: 404.
    NotFound,
    /// Not a WebSocket upgrade for Engine.IO v4 (or not HTTP at all): 400.
    BadRequest,
}

/// Reads the request and answers it. On an upgrade, returns the bytes the client sent after
/// its request (the start of its first frames, if any); `None` when the connection is done.
pub(crate) async fn accept(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    let Ok(head) = tokio::time::timeout(HEAD_TIMEOUT, read_head(stream)).await else {
        return Ok(None);
    };
    let Some((mut head, end)) = head? else {
        return Ok(None);
    };
    let parsed = std::str::from_utf8(&head[..end])
        .map_err(|_| Refusal::BadRequest)
        .and_then(parse);
    let response = match parsed {
        Ok(key) => upgrade_response(key),
        Err(refusal) => {
            stream.write_all(&error_response(refusal)).await?;
            let _ = stream.shutdown().await;
            return Ok(None);
        }
    };
    stream.write_all(&response).await?;
    // What follows the head is kept; the rest of the buffer is released.
    Ok(Some(head.split_off(end + 4)))
}

/// Reads until the end of the request head; returns the bytes read and where the head's
/// final `\r\n\r\n` starts, or `None` when the client closed or the head is too long.
async fn read_head(stream: &mut TcpStream) -> io::Result<Option<(Vec<u8>, usize)>> {
    let mut head = Vec::new();
    loop {
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            return Ok(Some((head, end)));
        }
        if head.len() > MAX_HEAD {
            return Ok(None);
        }
        head.reserve(1024);
        if stream.read_buf(&mut head).await? == 0 {
            return Ok(None);
        }
    }
}

/// Checks the request head; returns its `Sec-WebSocket-Key`.
fn parse(head: &str) -> Result<&str, Refusal> {
    let mut lines = head.split("\r\n");
    let mut request = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (request.next(), request.next().unwrap_or_default());
    if !request.next().is_some_and(|v| v.starts_with("HTTP/1.")) {
        return Err(Refusal::BadRequest);
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    if path != "/socket.io/" && path != "/socket.io" {
        return Err(Refusal::NotFound);
    }
    let has = |pair: &str| query.split('&').any(|p| p == pair);
    if method != Some("GET") || !has("EIO=4") || !has("transport=websocket") {
        return Err(Refusal::BadRequest);
    }
    let (mut key, mut upgrade) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(Refusal::BadRequest);
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("sec-websocket-key") {
            key = Some(value);
        } else if name.eq_ignore_ascii_case("upgrade") {
            upgrade = value.eq_ignore_ascii_case("websocket");
        }
    }
    match key {
        Some(key) if upgrade && !key.is_empty() => Ok(key),
        _ => Err(Refusal::BadRequest),
    }
}

/// The `101` answer followed by the Engine.IO open packet.
fn upgrade_response(key: &str) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n\r\n",
        derive_accept_key(key.as_bytes())
    )
    .into_bytes();
    let open = format!(
        "0{{\"sid\":\"{}\",\"upgrades\":[],\"pingInterval\":{},\"pingTimeout\":{},\
         \"maxPayload\":{}}}",
        session::new_id(),
        session::PING_INTERVAL.as_millis(),
        session::PING_TIMEOUT.as_millis(),
        session::MAX_PAYLOAD,
    );
    encode(OpCode::Text, open.as_bytes(), &mut out);
    out
}

/// The error answer, with Engine.IO's error body.
fn error_response(refusal: Refusal) -> Vec<u8> {
    let (status, body) = match refusal {
        Refusal::NotFound => ("404 Not Found", ""),
        Refusal::BadRequest => ("400 Bad Request", r#"{"code":3,"message":"Bad request"}"#),
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_requests() {
        let ok = "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
                  Upgrade: WebSocket\r\nConnection: Upgrade\r\nsec-websocket-key: abc==\r\n\
                  Sec-WebSocket-Version: 13";
        let cases = [
            (ok, Ok("abc==")),
            (
                "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1",
                Err(Refusal::NotFound),
            ),
            (
                "GET /socket.io/?EIO=3&transport=websocket HTTP/1.1\r\nUpgrade: websocket\r\n\
                 Sec-WebSocket-Key: k",
                Err(Refusal::BadRequest),
            ),
            (
                "GET /socket.io/?EIO=4&transport=polling HTTP/1.1",
                Err(Refusal::BadRequest),
            ),
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nSec-WebSocket-Key: k",
                Err(Refusal::BadRequest),
            ),
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nUpgrade websocket",
                Err(Refusal::BadRequest),
            ),
            ("", Err(Refusal::BadRequest)),
            ("\u{0}\u{1} garbage", Err(Refusal::BadRequest)),
        ];
        for (head, expected) in cases {
            assert_eq!(parse(head), expected, "{head:?}");
        }
    }

    #[test]
    fn answers_with_the_accept_key_and_the_open_packet() {
        let response = upgrade_response("dGhlIHNhbXBsZSBub25jZQ==");
        let text = String::from_utf8_lossy(&response);
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"));
        let frame = &response[text.find("\r\n\r\n").expect("a head") + 4..];
        assert_eq!(frame[0], 0x81);
        let open = std::str::from_utf8(&frame[2..]).expect("text");
        assert_eq!(usize::from(frame[1]), open.len());
        assert!(open.starts_with("0{\"sid\":\""), "{open}");
        assert!(open.ends_with(
            "\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\
             \"maxPayload\":1000000}"
        ));
    }
}
