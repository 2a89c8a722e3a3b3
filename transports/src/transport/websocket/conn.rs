//! One WebSocket connection's IO: frames in, frames out, and no buffer kept while idle.
//!
//! Reads go into a buffer on the stack and are decoded at once; only bytes that follow a
//! complete message in the same read are kept (until the next call). Outgoing packets are
//! encoded into frames [`WRITE_CHUNK`] bytes at a time, written, and once all are written the
//! connection flushes and releases its buffers. So an idle connection holds its socket, the
//! decoder (a few dozen bytes) and nothing else, and a large batch (a recovered client's
//! backlog, say) costs at most one chunk of encoded frames besides its shared messages.

use std::collections::VecDeque;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::Packet;
use crate::engine::CloseReason;
use crate::packet::websocket::{
    Decoder, Event, FrameError, OpCode, encode, encode_close, encode_compressed,
};

/// Bytes read per call.
const READ_CHUNK: usize = 4096;

/// About how many bytes of frames are encoded ahead of the socket (one message more at most).
const WRITE_CHUNK: usize = 64 * 1024;

/// How a connection ended early: the session's close reason, and the close code to send.
#[derive(Debug)]
pub(super) struct Failure {
    pub(super) reason: CloseReason,
    pub(super) code: Option<u16>,
}

impl Failure {
    pub(super) fn closed() -> Self {
        Failure {
            reason: CloseReason::TransportClose,
            code: None,
        }
    }

    pub(super) fn protocol() -> Self {
        Failure {
            reason: CloseReason::TransportError,
            code: Some(1002),
        }
    }
}

impl From<FrameError> for Failure {
    fn from(error: FrameError) -> Self {
        Failure {
            reason: CloseReason::TransportError,
            code: Some(error.close_code()),
        }
    }
}

/// A message from the client.
#[derive(Debug)]
pub(super) enum Incoming {
    Packet(Packet),
    /// A text frame that is not an Engine.IO packet.
    Malformed,
}

/// Packets waiting to be encoded, and the size from which their messages are compressed.
#[derive(Debug)]
struct Batch {
    packets: VecDeque<Packet>,
    threshold: usize,
}

/// A server-side WebSocket connection.
#[derive(Debug)]
pub(super) struct Connection<IO> {
    io: IO,
    decoder: Decoder,
    /// Bytes read after the last complete message, decoded from `unread_at` on.
    unread: Vec<u8>,
    unread_at: usize,
    /// Packets to send, not encoded yet: what did not fit in the last chunk. Boxed (a
    /// pointer, where the batch takes five words) because most batches fit in one chunk and
    /// every idle connection would pay for the space.
    pending: Option<Box<Batch>>,
    /// Encoded frames not yet written, and how much of them was.
    out: Vec<u8>,
    written: usize,
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// A connection; `deflate` when permessage-deflate was negotiated.
    pub(super) fn new(io: IO, max_message: usize, unread: Vec<u8>, deflate: bool) -> Self {
        let decoder = Decoder::new(max_message);
        Connection {
            io,
            decoder: if deflate {
                decoder.inflating()
            } else {
                decoder
            },
            unread,
            unread_at: 0,
            pending: None,
            out: Vec::new(),
            written: 0,
        }
    }

    /// The next message from the client; pings are answered on the way.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Incoming, Failure>> {
        loop {
            if self.unread_at < self.unread.len() {
                let mut input = &self.unread[self.unread_at..];
                let event = self.decoder.decode(&mut input);
                self.unread_at = self.unread.len() - input.len();
                if input.is_empty() {
                    self.unread = Vec::new();
                    self.unread_at = 0;
                }
                if let Some(incoming) = self.on_event(event?)? {
                    return Poll::Ready(Ok(incoming));
                }
                continue;
            }
            // Left uninitialised: zero-filling 4 KiB on every read showed as 1.4 % of the
            // server's samples in the echo profile; `ReadBuf` tracks what the read filled.
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            if let Err(error) = ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                tracing::debug!(%error, "websocket read failed");
                return Poll::Ready(Err(Failure::closed()));
            }
            let mut input = buf.filled();
            if input.is_empty() {
                return Poll::Ready(Err(Failure::closed()));
            }
            let event = self.decoder.decode(&mut input);
            if !input.is_empty() {
                // Bytes after a complete message: keep them for the next call.
                self.unread = input.to_vec();
            }
            if let Some(incoming) = self.on_event(event?)? {
                return Poll::Ready(Ok(incoming));
            }
        }
    }

    fn on_event(&mut self, event: Option<Event>) -> Result<Option<Incoming>, Failure> {
        Ok(match event {
            None => None,
            Some(Event::Text(text)) => Some(match Packet::decode_text(text) {
                Ok(packet) => Incoming::Packet(packet),
                Err(_) => Incoming::Malformed,
            }),
            Some(Event::Binary(data)) => Some(Incoming::Packet(Packet::Message(
                crate::Message::received_binary(data),
            ))),
            Some(Event::Ping(data)) => {
                encode(OpCode::Pong, &data, &mut self.out);
                None
            }
            Some(Event::Pong) => None,
            Some(Event::Close(code)) => {
                // Answer with the client's code, as the closing handshake asks.
                return Err(Failure {
                    reason: CloseReason::TransportClose,
                    code: Some(if code == 1005 { 1000 } else { code }),
                });
            }
        })
    }

    /// Queues `packets`, to be sent after what is queued already; when permessage-deflate was
    /// negotiated, messages of `threshold` bytes or more are sent compressed.
    pub(super) fn queue(&mut self, mut packets: VecDeque<Packet>, threshold: usize) {
        match &mut self.pending {
            Some(pending) => pending.packets.append(&mut packets),
            None => {
                self.encode(&mut packets, threshold);
                if !packets.is_empty() {
                    self.pending = Some(Box::new(Batch { packets, threshold }));
                }
            }
        }
    }

    /// Encodes the next pending packets into `out`.
    fn encode_pending(&mut self) {
        if let Some(mut pending) = self.pending.take() {
            self.encode(&mut pending.packets, pending.threshold);
            if !pending.packets.is_empty() {
                self.pending = Some(pending);
            }
        }
    }

    /// Encodes packets from the front of `packets` into `out` until it holds about
    /// [`WRITE_CHUNK`] bytes.
    fn encode(&mut self, packets: &mut VecDeque<Packet>, threshold: usize) {
        while self.out.len() < WRITE_CHUNK
            && let Some(packet) = packets.pop_front()
        {
            if let Packet::Message(message) = &packet
                && message.len() >= threshold
                && self.decoder.is_inflating()
                && let Some(compressed) = message.compressed()
            {
                let opcode = if message.is_binary() {
                    OpCode::Binary
                } else {
                    OpCode::Text
                };
                encode_compressed(opcode, &compressed, &mut self.out);
                continue;
            }
            match packet.text() {
                Some(text) => encode(OpCode::Text, text.as_bytes(), &mut self.out),
                None => {
                    if let Packet::Message(message) = &packet
                        && let Some(data) = message.as_binary()
                    {
                        encode(OpCode::Binary, data, &mut self.out);
                    }
                }
            }
        }
    }

    /// Queues a close frame.
    pub(super) fn queue_close(&mut self, code: u16) {
        encode_close(code, &mut self.out);
    }

    /// Whether queued packets or frames wait to be written.
    pub(super) fn has_output(&self) -> bool {
        !self.out.is_empty() || self.pending.is_some()
    }

    /// Writes and flushes everything queued, then releases the buffers.
    pub(super) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.written == self.out.len() {
                self.out.clear();
                self.written = 0;
                self.encode_pending();
                if self.out.is_empty() {
                    break;
                }
            }
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.out[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        self.out = Vec::new();
        Poll::Ready(Ok(()))
    }

    /// Writes what is queued and shuts the write side down.
    pub(super) async fn finish(&mut self) -> io::Result<()> {
        std::future::poll_fn(|cx| self.poll_write_out(cx)).await?;
        std::future::poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await
    }
}
