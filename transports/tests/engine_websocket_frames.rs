//! The WebSocket transport at the frame level, with a raw client over TCP: fragmentation,
//! control frames, coalesced and split reads, bytes pipelined after the handshake, and the
//! close code answering each kind of bad frame.

mod common;

use common::{Http, Server, path, within};
use tidings_transports::packet::websocket::encode_client_frame;
use tidings_transports::{CloseReason, EngineConfig};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

const MASK: [u8; 4] = [0xa5, 0x01, 0x7e, 0xc3];

/// A client frame with `first` as its first byte (FIN, RSV and opcode), masked unless `mask`
/// is `None`.
fn frame_with(first: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = Vec::new();
    encode_client_frame(first, payload, mask, &mut out);
    out
}

/// A final, masked client frame.
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(0x80 | opcode, payload, Some(MASK))
}

/// A non-final, masked client frame.
fn fragment(opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(opcode, payload, Some(MASK))
}

/// A raw WebSocket client: it writes bytes as given and reads server frames.
struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Control frames that came before the open packet (the answer to a pipelined ping).
    early: std::collections::VecDeque<(u8, Vec<u8>)>,
}

/// The WebSocket handshake request for `query`.
fn upgrade_request(query: &str) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        path(query)
    )
    .into_bytes()
}

impl RawWs {
    /// Opens a direct session, writing `pipelined` right after the handshake request in
    /// the same write; returns the client and the session id.
    async fn open(server: &mut Server, pipelined: &[u8]) -> (RawWs, String) {
        let mut http = Http::connect(server.addr).await;
        let mut request = upgrade_request("EIO=4&transport=websocket");
        request.extend_from_slice(pipelined);
        http.write(&request).await;
        let head = http.head().await;
        assert_eq!(head.status, 101, "{head:?}");
        assert_eq!(
            head.header("sec-websocket-accept"),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "the RFC 6455 example key"
        );
        let (stream, buf) = http.into_parts();
        let mut ws = RawWs {
            stream,
            buf,
            early: Default::default(),
        };
        // The session's open packet is its first message, but control frames answering what
        // was pipelined may come before it, and a close may come instead of it.
        loop {
            match ws.read_frame().await {
                Some((TEXT, packet)) if packet.starts_with(b"0{") => break,
                Some(frame @ (CLOSE, _)) => {
                    assert!(!pipelined.is_empty(), "closed before the open packet");
                    ws.early.push_back(frame);
                    break;
                }
                Some(frame @ (PONG, _)) if !pipelined.is_empty() => ws.early.push_back(frame),
                other => panic!("expected the open packet, got {other:?}"),
            }
        }
        let (sid, transport) = server.opened().await;
        assert_eq!(transport, "websocket");
        (ws, sid)
    }

    async fn write(&mut self, bytes: &[u8]) {
        within("a write", self.stream.write_all(bytes))
            .await
            .expect("write");
    }

    /// The next server frame as (opcode, payload); `None` when the connection ended.
    async fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        if let Some(frame) = self.early.pop_front() {
            return Some(frame);
        }
        self.read_frame().await
    }

    async fn read_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        within("a frame", async {
            let header = self.take(2).await?;
            let (fin, masked, opcode) = (
                header[0] & 0x80 != 0,
                header[1] & 0x80 != 0,
                header[0] & 0x0F,
            );
            assert!(fin, "the server sends whole frames");
            assert_eq!(header[0] & 0x70, 0, "no reserved bits");
            assert!(!masked, "server frames are not masked");
            let len = match header[1] & 0x7F {
                126 => u16::from_be_bytes(self.take(2).await?.try_into().expect("2")) as usize,
                127 => u64::from_be_bytes(self.take(8).await?.try_into().expect("8")) as usize,
                short => short as usize,
            };
            Some((opcode, self.take(len).await?))
        })
        .await
    }

    /// Reads until the server's close frame and the end of the connection; returns the data
    /// frames before it and the close code.
    async fn closed(&mut self) -> (Vec<(u8, Vec<u8>)>, Option<u16>) {
        let mut before = Vec::new();
        loop {
            match self.next().await {
                Some((CLOSE, payload)) => {
                    let code =
                        (payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]]));
                    assert!(self.next().await.is_none(), "nothing after the close frame");
                    return (before, code);
                }
                Some(frame) => before.push(frame),
                None => return (before, None),
            }
        }
    }

    async fn take(&mut self, n: usize) -> Option<Vec<u8>> {
        common::take(&mut self.stream, &mut self.buf, n).await
    }
}

/// What the server answers.
#[derive(Debug)]
enum Expect {
    /// These frames, and the session stays open.
    Frames(Vec<(u8, Vec<u8>)>),
    /// A close frame with this code, and the session closes for this reason.
    Close(u16, CloseReason),
}

fn text(s: &str) -> (u8, Vec<u8>) {
    (TEXT, s.as_bytes().to_vec())
}

#[tokio::test]
async fn answers_each_frame_sequence() {
    let mut server = Server::start(EngineConfig::default().max_payload(100_000)).await;
    let big: Vec<u8> = (0..70_000u32).map(|i| i as u8).collect();
    let medium = vec![b'm'; 300];
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "a text frame",
            frame(TEXT, b"4hi"),
            Expect::Frames(vec![text("4hi")]),
        ),
        (
            "a binary frame",
            frame(BINARY, &[0, 1, 255]),
            Expect::Frames(vec![(BINARY, vec![0, 1, 255])]),
        ),
        (
            "two frames in one write",
            [frame(TEXT, b"4one"), frame(TEXT, b"4two")].concat(),
            Expect::Frames(vec![text("4one"), text("4two")]),
        ),
        (
            "a fragmented text message",
            [fragment(TEXT, b"4he"), fragment(0, b""), frame(0, b"llo")].concat(),
            Expect::Frames(vec![text("4hello")]),
        ),
        (
            "a character split across fragments",
            [fragment(TEXT, &[b'4', 0xC3]), frame(0, &[0xA9])].concat(),
            Expect::Frames(vec![text("4\u{e9}")]),
        ),
        (
            "a fragmented binary message",
            [fragment(BINARY, &[1]), frame(0, &[2, 3])].concat(),
            Expect::Frames(vec![(BINARY, vec![1, 2, 3])]),
        ),
        (
            "a ping",
            frame(PING, b"are you there"),
            Expect::Frames(vec![(PONG, b"are you there".to_vec())]),
        ),
        (
            "a ping inside a fragmented message",
            [fragment(TEXT, b"4a"), frame(PING, b"p"), frame(0, b"b")].concat(),
            Expect::Frames(vec![(PONG, b"p".to_vec()), text("4ab")]),
        ),
        (
            "a pong",
            [frame(PONG, b"x"), frame(TEXT, b"4after")].concat(),
            Expect::Frames(vec![text("4after")]),
        ),
        (
            "a 16-bit length",
            frame(TEXT, &[b"4".as_slice(), &medium].concat()),
            Expect::Frames(vec![(TEXT, [b"4".as_slice(), &medium].concat())]),
        ),
        (
            "a 64-bit length over many reads",
            frame(BINARY, &big),
            Expect::Frames(vec![(BINARY, big.clone())]),
        ),
        (
            "a close frame with a code",
            frame(CLOSE, &[[0x0F, 0xA0].as_slice(), b"bye"].concat()),
            Expect::Close(4000, CloseReason::TransportClose),
        ),
        (
            "a close frame without a code",
            frame(CLOSE, b""),
            Expect::Close(1000, CloseReason::TransportClose),
        ),
        (
            "an unmasked frame",
            frame_with(0x80 | TEXT, b"4hi", None),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "a reserved bit",
            frame_with(0xC0 | TEXT, b"4hi", Some(MASK)),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "an unknown opcode",
            frame(0x3, b"4hi"),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "a continuation without a message",
            frame(0, b"4hi"),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "a new message inside a fragmented one",
            [fragment(TEXT, b"4a"), frame(TEXT, b"4b")].concat(),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "a fragmented ping",
            fragment(PING, b"p"),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "an oversize ping",
            frame(PING, &[0; 126]),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "a close frame with a reserved code",
            frame(CLOSE, &1005u16.to_be_bytes()),
            Expect::Close(1002, CloseReason::TransportError),
        ),
        (
            "invalid UTF-8 in a text frame",
            frame(TEXT, &[b'4', 0xFF, 0xFE]),
            Expect::Close(1007, CloseReason::TransportError),
        ),
        (
            "a message over max_payload",
            frame(BINARY, &vec![0; 100_001]),
            Expect::Close(1009, CloseReason::TransportError),
        ),
        (
            "fragments over max_payload together",
            [
                fragment(BINARY, &vec![0; 60_000]),
                frame(0, &vec![0; 40_001]),
            ]
            .concat(),
            Expect::Close(1009, CloseReason::TransportError),
        ),
        (
            "a text frame that is no packet",
            frame(TEXT, b"hello"),
            Expect::Close(1002, CloseReason::TransportError),
        ),
    ];
    for pipelined in [false, true] {
        for (name, bytes, expected) in &cases {
            let case = format!("{name} (pipelined: {pipelined})");
            let (mut ws, sid) = if pipelined {
                RawWs::open(&mut server, bytes).await
            } else {
                let (mut ws, sid) = RawWs::open(&mut server, b"").await;
                ws.write(bytes).await;
                (ws, sid)
            };
            match expected {
                Expect::Frames(frames) => {
                    for expected in frames {
                        let got = ws
                            .next()
                            .await
                            .unwrap_or_else(|| panic!("{case}: the connection ended"));
                        assert_eq!(&got, expected, "{case}");
                    }
                    server.assert_open(&sid);
                }
                Expect::Close(code, reason) => {
                    let (before, got) = ws.closed().await;
                    assert_eq!((before, got), (vec![], Some(*code)), "{case}");
                    assert_eq!(server.closed(&sid).await, *reason, "{case}");
                }
            }
        }
    }
}

#[tokio::test]
async fn reads_frames_split_anywhere() {
    let mut server = Server::with_defaults().await;
    let (mut ws, _) = RawWs::open(&mut server, b"").await;
    let bytes = [
        frame(TEXT, b"4first"),
        fragment(TEXT, b"4sec"),
        frame(PING, b"!"),
        frame(0, b"ond"),
        frame(BINARY, &[7; 300]),
    ]
    .concat();
    for byte in &bytes {
        ws.write(std::slice::from_ref(byte)).await;
        // Let the server read each byte on its own.
        tokio::task::yield_now().await;
    }
    assert_eq!(ws.next().await, Some(text("4first")));
    assert_eq!(ws.next().await, Some((PONG, b"!".to_vec())));
    assert_eq!(ws.next().await, Some(text("4second")));
    assert_eq!(ws.next().await, Some((BINARY, vec![7; 300])));
}

#[tokio::test]
async fn a_large_batch_reaches_a_slow_reader() {
    let mut server = Server::with_defaults().await;
    let (mut ws, sid) = RawWs::open(&mut server, b"").await;
    let session = server
        .engine
        .session(sid.parse().expect("sid"))
        .expect("open");
    // Far more than the socket buffers hold, queued before the client reads anything.
    let message = "x".repeat(64 * 1024);
    for _ in 0..64 {
        session.send(message.as_str()).expect("open");
    }
    for i in 0..64 {
        let (opcode, payload) = ws.next().await.unwrap_or_else(|| panic!("message {i}"));
        assert_eq!(
            (opcode, payload.len()),
            (TEXT, 1 + message.len()),
            "message {i}"
        );
    }
    ws.write(&frame(TEXT, b"4done")).await;
    assert_eq!(ws.next().await, Some(text("4done")));
    server.assert_open(&sid);
}
