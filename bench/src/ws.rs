//! A lean WebSocket client: a raw TCP stream, our own framing, one read buffer.
//!
//! The load generator has one core for thousands of connections, so a received frame is a
//! range in the connection's buffer, never a fresh allocation.

use std::io;
use std::net::SocketAddr;

use tidings_transports::packet::websocket::encode_client_frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The mask of every frame we send; servers must unmask, whatever the key.
const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

/// A frame from the server: its opcode, and where its payload is in the buffer.
#[derive(Clone, Copy, Debug)]
pub struct Frame {
    /// The opcode (1 text, 2 binary, 8 close, 9 ping, 10 pong).
    pub opcode: u8,
    start: usize,
    end: usize,
}

/// A WebSocket connection to a server.
#[derive(Debug)]
pub struct WsConn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Where unread data starts in `buf`.
    at: usize,
    out: Vec<u8>,
}

impl WsConn {
    /// Opens a connection to `path` (with its query) on `addr`.
    ///
    /// # Errors
    /// When the connection or the upgrade fails.
    pub async fn connect(addr: SocketAddr, path: &str) -> io::Result<WsConn> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buf = Vec::with_capacity(1024);
        let head_end = loop {
            if let Some(end) = find(&buf, b"\r\n\r\n") {
                break end + 4;
            }
            if stream.read_buf(&mut buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "no upgrade"));
            }
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            return Err(io::Error::other(format!("upgrade refused: {head}")));
        }
        Ok(WsConn {
            stream,
            buf,
            at: head_end,
            out: Vec::new(),
        })
    }

    /// Sends a text frame.
    ///
    /// # Errors
    /// When the connection fails.
    pub async fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.out.clear();
        encode_client_frame(0x81, text.as_bytes(), Some(MASK), &mut self.out);
        self.stream.write_all(&self.out).await
    }

    /// The next frame (pings are answered here and not returned).
    ///
    /// # Errors
    /// When the connection fails or closes.
    pub async fn next_frame(&mut self) -> io::Result<Frame> {
        loop {
            if let Some(frame) = self.parse()? {
                if frame.opcode == 9 {
                    let payload = self.buf[frame.start..frame.end].to_vec();
                    self.out.clear();
                    encode_client_frame(0x8A, &payload, Some(MASK), &mut self.out);
                    self.stream.write_all(&self.out).await?;
                    continue;
                }
                if frame.opcode == 8 {
                    return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "closed"));
                }
                return Ok(frame);
            }
            if self.at > 0 && self.at == self.buf.len() {
                self.buf.clear();
                self.at = 0;
            } else if self.at > 64 * 1024 {
                self.buf.drain(..self.at);
                self.at = 0;
            }
            if self.buf.capacity() - self.buf.len() < 4096 {
                self.buf.reserve(16 * 1024);
            }
            if self.stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "closed"));
            }
        }
    }

    /// The payload of `frame`, valid until the next read.
    pub fn payload(&self, frame: &Frame) -> &[u8] {
        &self.buf[frame.start..frame.end]
    }

    /// Parses one whole unmasked frame at the read position, if there is one.
    fn parse(&mut self) -> io::Result<Option<Frame>> {
        let data = &self.buf[self.at..];
        if data.len() < 2 {
            return Ok(None);
        }
        if data[1] & 0x80 != 0 {
            return Err(io::Error::other("a server frame was masked"));
        }
        let (len, header) = match data[1] & 0x7f {
            126 if data.len() >= 4 => (usize::from(u16::from_be_bytes([data[2], data[3]])), 4),
            127 if data.len() >= 10 => {
                let mut len = [0; 8];
                len.copy_from_slice(&data[2..10]);
                (
                    usize::try_from(u64::from_be_bytes(len)).map_err(io::Error::other)?,
                    10,
                )
            }
            126 | 127 => return Ok(None),
            len => (usize::from(len), 2),
        };
        if data.len() < header + len {
            return Ok(None);
        }
        let frame = Frame {
            opcode: data[0] & 0x0f,
            start: self.at + header,
            end: self.at + header + len,
        };
        self.at = frame.end;
        Ok(Some(frame))
    }
}

/// Where `needle` starts in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}
