//! permessage-deflate with a raw client over TCP: the negotiation, compressed messages both
//! ways, the threshold, and the close code answering a deflate bomb, RSV1 without the extension
//! and RSV1 on a control frame.

mod common;

use common::{Http, Server, path, within};
use tidings_transports::packet::deflate::{compress, inflate};
use tidings_transports::packet::websocket::encode_client_frame;
use tidings_transports::{CloseReason, EngineConfig, Message, PerMessageDeflate};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const MASK: [u8; 4] = [0x3c, 0x99, 0x01, 0x7f];
const ANSWER: &str = "permessage-deflate; server_no_context_takeover; client_no_context_takeover";

/// A server frame: its first byte (FIN, RSV, opcode) and payload.
type Frame = (u8, Vec<u8>);

struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Opens a direct session offering `extensions`; returns the client, the server's
    /// `Sec-WebSocket-Extensions` answer and the session id.
    async fn open(
        server: &mut Server,
        extensions: Option<&str>,
    ) -> (RawWs, Option<String>, String) {
        let mut http = Http::connect(server.addr).await;
        let offer = extensions
            .map(|e| format!("sec-websocket-extensions: {e}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
             sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n{offer}\r\n",
            path("EIO=4&transport=websocket")
        );
        http.write(request.as_bytes()).await;
        let head = http.head().await;
        assert_eq!(head.status, 101, "{head:?}");
        let answer = head.header("sec-websocket-extensions").map(str::to_owned);
        let (stream, buf) = http.into_parts();
        let mut ws = RawWs { stream, buf };
        let (first, open) = ws.frame().await.expect("the open packet");
        assert_eq!(first, 0x81);
        assert!(open.starts_with(b"0{"));
        let (sid, _) = server.opened().await;
        (ws, answer, sid)
    }

    async fn send(&mut self, first: u8, payload: &[u8]) {
        let mut out = Vec::new();
        encode_client_frame(first, payload, Some(MASK), &mut out);
        within("a write", self.stream.write_all(&out))
            .await
            .expect("write");
    }

    async fn frame(&mut self) -> Option<Frame> {
        within("a frame", async {
            let header = self.take(2).await?;
            let len = match header[1] & 0x7F {
                126 => u16::from_be_bytes(self.take(2).await?.try_into().expect("2")) as usize,
                127 => u64::from_be_bytes(self.take(8).await?.try_into().expect("8")) as usize,
                short => short as usize,
            };
            Some((header[0], self.take(len).await?))
        })
        .await
    }

    /// The close code that ends the connection, skipping data frames.
    async fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.frame().await? {
                (0x88, payload) => return Some(u16::from_be_bytes([payload[0], payload[1]])),
                _ => continue,
            }
        }
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        common::take(&mut self.stream, &mut self.buf, n).await
    }
}

fn deflating() -> EngineConfig {
    EngineConfig::default()
        .max_payload(100_000)
        .per_message_deflate(PerMessageDeflate::default().threshold(100))
}

fn json(len: usize) -> String {
    let mut text = String::from("4");
    let mut i = 0;
    while text.len() < len {
        text.push_str(&format!("{{\"id\":{i},\"name\":\"user{}\"}},", i % 9));
        i += 1;
    }
    text.truncate(len);
    text
}

#[tokio::test]
async fn negotiates_only_when_on_and_offered() {
    let offer = "permessage-deflate; client_max_window_bits";
    let mut off = Server::start(EngineConfig::default()).await;
    assert_eq!(RawWs::open(&mut off, Some(offer)).await.1, None);
    let mut on = Server::start(deflating()).await;
    assert_eq!(
        RawWs::open(&mut on, Some(offer)).await.1.as_deref(),
        Some(ANSWER)
    );
    assert_eq!(RawWs::open(&mut on, None).await.1, None);
    // A malformed header is no extension, never an error.
    assert_eq!(
        RawWs::open(&mut on, Some("permessage-deflate;;")).await.1,
        None
    );
    let limited = "permessage-deflate; server_max_window_bits=10, permessage-deflate";
    assert_eq!(
        RawWs::open(&mut on, Some(limited)).await.1.as_deref(),
        Some(ANSWER)
    );
}

#[tokio::test]
async fn compresses_both_ways_above_the_threshold() {
    let mut server = Server::start(deflating()).await;
    let (mut ws, _, _) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    let big = json(5000);
    // A compressed message comes back compressed, a small one in clear.
    ws.send(0xC1, &compress(big.as_bytes())).await;
    let (first, payload) = ws.frame().await.expect("the echo");
    assert_eq!(first, 0xC1, "text, RSV1");
    assert!(payload.len() < big.len() / 3, "{} bytes", payload.len());
    assert_eq!(
        inflate(&payload, 100_000).expect("inflates"),
        big.as_bytes()
    );
    ws.send(0x81, b"4small").await;
    assert_eq!(
        ws.frame().await,
        Some((0x81, b"4small".to_vec())),
        "in clear"
    );
    ws.send(0xC1, &compress(b"4tiny, compressed")).await;
    assert_eq!(
        ws.frame().await,
        Some((0x81, b"4tiny, compressed".to_vec()))
    );
    // Binary: the data without a prefix.
    let data: Vec<u8> = big.bytes().rev().collect();
    ws.send(0xC2, &compress(&data)).await;
    let (first, payload) = ws.frame().await.expect("the echo");
    assert_eq!(first, 0xC2, "binary, RSV1");
    assert_eq!(inflate(&payload, 100_000).expect("inflates"), data);
    // Data that does not shrink goes in clear.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..2000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    ws.send(0x82, &noise).await;
    let (first, payload) = ws.frame().await.expect("the echo");
    assert_eq!(first, 0x82, "binary, in clear");
    assert!(payload == noise, "the same bytes");
}

#[tokio::test]
async fn one_compressed_message_for_every_recipient() {
    let mut server = Server::start(deflating()).await;
    let (mut a, _, sid_a) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    let (mut b, _, sid_b) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    let (mut c, _, sid_c) = RawWs::open(&mut server, None).await;
    let big = json(3000);
    let message = Message::text(&big[1..]);
    for sid in [&sid_a, &sid_b, &sid_c] {
        server.session(sid).send(message.clone()).expect("sent");
    }
    let (first_a, frame_a) = a.frame().await.expect("a frame");
    let (first_b, frame_b) = b.frame().await.expect("a frame");
    assert_eq!((first_a, first_b), (0xC1, 0xC1));
    assert_eq!(frame_a, frame_b, "the same compressed bytes");
    assert_eq!(
        inflate(&frame_a, 100_000).expect("inflates"),
        big.as_bytes()
    );
    assert_eq!(c.frame().await, Some((0x81, big.into_bytes())));
}

#[tokio::test]
async fn refuses_bad_compressed_frames() {
    let mut server = Server::start(deflating()).await;
    // A deflate bomb: a frame under the 100 KB limit that inflates to 2 MB.
    let bomb = compress(&vec![b'4'; 2_000_000]);
    assert!(bomb.len() < 50_000, "{} bytes", bomb.len());
    let (mut ws, _, sid) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    ws.send(0xC1, &bomb).await;
    assert_eq!(ws.close_code().await, Some(1009));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    // RSV1 on a ping.
    let (mut ws, _, sid) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    ws.send(0xC9, b"").await;
    assert_eq!(ws.close_code().await, Some(1002));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    // Data that is not deflate.
    let (mut ws, _, sid) = RawWs::open(&mut server, Some("permessage-deflate")).await;
    ws.send(0xC1, &[0x07, 0x01]).await;
    assert_eq!(ws.close_code().await, Some(1007));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
    // RSV1 without the extension.
    let (mut ws, _, sid) = RawWs::open(&mut server, None).await;
    ws.send(0xC1, &compress(b"4hello")).await;
    assert_eq!(ws.close_code().await, Some(1002));
    assert_eq!(server.closed(&sid).await, CloseReason::TransportError);
}
