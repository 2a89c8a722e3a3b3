//! WebSocket framing (RFC 6455) as a server speaks it: a decoder of client frames and an
//! encoder of server frames. The one extension is permessage-deflate (RFC 7692): when it was
//! negotiated, RSV1 on the first frame of a data message marks it compressed, and the decoder
//! inflates it ([`deflate`](super::deflate)); every other reserved bit must be clear.
//!
//! The decoder keeps no buffer between frames: it copies (and unmasks) each payload straight
//! into the message it belongs to, sized from the frame header, and holds at most an
//! incomplete header (14 bytes) while it waits for more input. An idle connection therefore
//! costs nothing here, whatever the size of the messages it once carried.

use bytes::Bytes;
use tungstenite::Utf8Bytes;

use super::deflate::{InflateError, inflate};

/// The longest header of a server frame (unmasked, 64-bit length).
pub const MAX_SERVER_HEADER: usize = 10;

/// A complete message or control frame from the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A text message (its fragments joined), checked to be UTF-8.
    Text(Utf8Bytes),
    /// A binary message (its fragments joined).
    Binary(Bytes),
    /// A ping, to be answered with a pong carrying the same data.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// A close frame with its status code (1005 when it had none).
    Close(u16),
}

/// Why the client's frames were refused; each maps to the close code to answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The frames broke RFC 6455 (unmasked, reserved bits, unknown opcode, bad
    /// fragmentation, oversize control frame, …): close code 1002.
    #[error("websocket protocol error: {0}")]
    Protocol(&'static str),
    /// A message was longer than the limit: close code 1009.
    #[error("message too big")]
    TooBig,
    /// A text message or close reason was not UTF-8: close code 1007.
    #[error("invalid UTF-8 in a text message")]
    InvalidUtf8,
    /// A compressed message was not valid deflate data: close code 1007.
    #[error("invalid compressed data")]
    InvalidCompressed,
}

impl From<InflateError> for FrameError {
    fn from(error: InflateError) -> Self {
        match error {
            InflateError::TooBig => FrameError::TooBig,
            _ => FrameError::InvalidCompressed,
        }
    }
}

impl FrameError {
    /// The close code that answers this error.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => 1002,
            FrameError::TooBig => 1009,
            FrameError::InvalidUtf8 | FrameError::InvalidCompressed => 1007,
        }
    }
}

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

/// The frame being read.
#[derive(Debug)]
struct Frame {
    opcode: u8,
    fin: bool,
    mask: [u8; 4],
    /// Payload bytes already read, to rotate the mask.
    read: usize,
    remaining: u64,
}

/// A data message being assembled.
#[derive(Debug)]
struct Partial {
    text: bool,
    /// Whether its first frame had RSV1 set: the bytes are compressed.
    compressed: bool,
    data: Vec<u8>,
}

/// A decoder of the frames a client sends.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    header: [u8; 14],
    header_len: u8,
    /// Whether permessage-deflate was negotiated: compressed messages are accepted.
    inflating: bool,
    frame: Option<Frame>,
    message: Option<Partial>,
    /// The payload of the control frame being read (at most 125 bytes).
    control: Vec<u8>,
}

impl Decoder {
    /// A decoder that refuses messages longer than `max_message` bytes.
    pub fn new(max_message: usize) -> Self {
        Decoder {
            max_message,
            header: [0; 14],
            header_len: 0,
            inflating: false,
            frame: None,
            message: None,
            control: Vec::new(),
        }
    }

    /// Accepts messages compressed with permessage-deflate (RSV1 set on their first frame),
    /// once the extension was negotiated. The limit applies to their inflated size, checked
    /// while they are inflated; their compressed size is bounded by it too.
    ///
    /// ```
    /// use tidings_transports::packet::deflate::compress;
    /// use tidings_transports::packet::websocket::{Decoder, Event, FrameError, encode_client_frame};
    ///
    /// let mut frame = Vec::new();
    /// encode_client_frame(0xC1, &compress(b"4hello"), Some([1, 2, 3, 4]), &mut frame);
    /// let mut input = &frame[..];
    /// let event = Decoder::new(64).inflating().decode(&mut input);
    /// assert_eq!(event, Ok(Some(Event::Text("4hello".into()))));
    /// // Without the extension, RSV1 breaks the protocol.
    /// let mut input = &frame[..];
    /// assert_eq!(Decoder::new(64).decode(&mut input).unwrap_err().close_code(), 1002);
    /// ```
    pub fn inflating(mut self) -> Self {
        self.inflating = true;
        self
    }

    /// Whether compressed messages are accepted: permessage-deflate was negotiated.
    pub fn is_inflating(&self) -> bool {
        self.inflating
    }

    /// Whether the decoder holds no partial frame or message.
    pub fn is_idle(&self) -> bool {
        self.header_len == 0 && self.frame.is_none() && self.message.is_none()
    }

    /// Consumes bytes from the front of `input` until an event is complete (returned) or the
    /// input runs out (`None`). Call again with the rest of the input for more events.
    ///
    /// ```
    /// use tidings_transports::packet::websocket::{Decoder, Event};
    ///
    /// // A masked text frame "4hi" (mask 0, so the payload reads as is).
    /// let mut input: &[u8] = &[0x81, 0x83, 0, 0, 0, 0, b'4', b'h', b'i'];
    /// let mut decoder = Decoder::new(1024);
    /// assert_eq!(decoder.decode(&mut input), Ok(Some(Event::Text("4hi".into()))));
    /// assert!(input.is_empty());
    /// ```
    ///
    /// # Errors
    /// A [`FrameError`] when the frames break the protocol or the size limit; the connection
    /// must then be closed with its [`close_code`](FrameError::close_code).
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Event>, FrameError> {
        loop {
            if self.frame.is_none() && !self.read_header(input)? {
                return Ok(None);
            }
            let Some(frame) = &mut self.frame else {
                continue;
            };
            let take = (frame.remaining.min(input.len() as u64)) as usize;
            let target = if frame.opcode >= CLOSE {
                &mut self.control
            } else {
                &mut self
                    .message
                    .as_mut()
                    .expect("a data frame has a message")
                    .data
            };
            let start = target.len();
            target.extend_from_slice(&input[..take]);
            for (i, byte) in target[start..].iter_mut().enumerate() {
                *byte ^= frame.mask[(frame.read + i) % 4];
            }
            *input = &input[take..];
            frame.read += take;
            frame.remaining -= take as u64;
            if frame.remaining > 0 {
                return Ok(None);
            }
            let frame = self.frame.take().expect("the frame was just read");
            if let Some(event) = self.finish(frame)? {
                return Ok(Some(event));
            }
        }
    }

    /// Reads a frame header from `input`; false when more input is needed.
    fn read_header(&mut self, input: &mut &[u8]) -> Result<bool, FrameError> {
        let have = usize::from(self.header_len);
        let need = if have < 2 {
            2
        } else {
            header_len(self.header[1])
        };
        let take = (need - have).min(input.len());
        self.header[have..have + take].copy_from_slice(&input[..take]);
        self.header_len += take as u8;
        *input = &input[take..];
        if have + take < need {
            return Ok(false);
        }
        if need == 2 {
            // The length of the rest of the header is known now.
            if self.header[1] & 0x80 == 0 {
                return Err(FrameError::Protocol("client frame is not masked"));
            }
            return self.read_header(input);
        }
        let header = &self.header[..need];
        self.header_len = 0;
        let (fin, opcode) = (header[0] & 0x80 != 0, header[0] & 0x0F);
        let compressed = header[0] & 0x40 != 0;
        if header[0] & 0x30 != 0 || (compressed && !self.inflating) {
            return Err(FrameError::Protocol("reserved bits set"));
        }
        if compressed && !matches!(opcode, TEXT | BINARY) {
            return Err(FrameError::Protocol(
                "RSV1 on a control or continuation frame",
            ));
        }
        let (length, mask_at) = match header[1] & 0x7F {
            126 => (u64::from(u16::from_be_bytes([header[2], header[3]])), 4),
            127 => {
                let length = u64::from_be_bytes(header[2..10].try_into().expect("8 bytes"));
                if length >> 63 != 0 {
                    return Err(FrameError::Protocol("length has its high bit set"));
                }
                (length, 10)
            }
            short => (u64::from(short), 2),
        };
        let mask = header[mask_at..mask_at + 4].try_into().expect("4 bytes");
        match opcode {
            CLOSE | PING | PONG => {
                if !fin || length > 125 {
                    return Err(FrameError::Protocol("fragmented or oversize control frame"));
                }
                self.control.clear();
            }
            TEXT | BINARY | CONTINUATION => {
                let so_far = match (&mut self.message, opcode) {
                    (None, CONTINUATION) => {
                        return Err(FrameError::Protocol("continuation without a message"));
                    }
                    (Some(_), TEXT | BINARY) => {
                        return Err(FrameError::Protocol("new message inside a fragmented one"));
                    }
                    (Some(partial), _) => partial.data.len() as u64,
                    (None, _) => 0,
                };
                if so_far + length > self.max_message as u64 {
                    return Err(FrameError::TooBig);
                }
                match &mut self.message {
                    Some(partial) => partial.data.reserve_exact(length as usize),
                    None => {
                        self.message = Some(Partial {
                            text: opcode == TEXT,
                            compressed,
                            data: Vec::with_capacity(length as usize),
                        });
                    }
                }
            }
            _ => return Err(FrameError::Protocol("unknown opcode")),
        }
        self.frame = Some(Frame {
            opcode,
            fin,
            mask,
            read: 0,
            remaining: length,
        });
        Ok(true)
    }

    /// Completes a frame whose payload was read.
    fn finish(&mut self, frame: Frame) -> Result<Option<Event>, FrameError> {
        match frame.opcode {
            CLOSE => {
                let payload = std::mem::take(&mut self.control);
                let code = match payload.len() {
                    0 => 1005,
                    1 => return Err(FrameError::Protocol("close frame of one byte")),
                    _ => u16::from_be_bytes([payload[0], payload[1]]),
                };
                if payload.len() >= 2 && !valid_close_code(code) {
                    return Err(FrameError::Protocol("invalid close code"));
                }
                if std::str::from_utf8(payload.get(2..).unwrap_or_default()).is_err() {
                    return Err(FrameError::InvalidUtf8);
                }
                Ok(Some(Event::Close(code)))
            }
            PING => Ok(Some(Event::Ping(Bytes::from(std::mem::take(
                &mut self.control,
            ))))),
            PONG => {
                self.control.clear();
                Ok(Some(Event::Pong))
            }
            _ if !frame.fin => Ok(None),
            _ => {
                let partial = self.message.take().expect("a data frame has a message");
                let data = if partial.compressed {
                    Bytes::from(inflate(&partial.data, self.max_message)?)
                } else {
                    Bytes::from(partial.data)
                };
                if partial.text {
                    let text = Utf8Bytes::try_from(data).map_err(|_| FrameError::InvalidUtf8)?;
                    Ok(Some(Event::Text(text)))
                } else {
                    Ok(Some(Event::Binary(data)))
                }
            }
        }
    }
}

/// The whole header length of a client frame, from its second byte.
fn header_len(second: u8) -> usize {
    let extended = match second & 0x7F {
        126 => 2,
        127 => 8,
        _ => 0,
    };
    2 + extended + 4
}

/// Whether a client may send this close code (RFC 6455 section 7.4).
fn valid_close_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
}

/// The kinds of frame a server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpCode {
    /// A text message.
    Text,
    /// A binary message.
    Binary,
    /// A close frame.
    Close,
    /// A pong.
    Pong,
}

/// Appends a final, unmasked server frame to `out`.
///
/// ```
/// use tidings_transports::packet::websocket::{OpCode, encode};
///
/// let mut out = Vec::new();
/// encode(OpCode::Text, b"4hi", &mut out);
/// assert_eq!(out, [0x81, 3, b'4', b'h', b'i']);
/// ```
pub fn encode(opcode: OpCode, payload: &[u8], out: &mut Vec<u8>) {
    encode_server_frame(0x80 | opcode.code(), payload, out);
}

/// Appends a final, unmasked server frame of a message compressed with permessage-deflate
/// (RSV1 set): `compressed` comes from [`deflate::compress`](super::deflate::compress).
///
/// ```
/// use tidings_transports::packet::deflate::compress;
/// use tidings_transports::packet::websocket::{OpCode, encode_compressed};
///
/// let mut out = Vec::new();
/// encode_compressed(OpCode::Text, &compress(b"4hi"), &mut out);
/// assert_eq!(out[0], 0xC1);
/// ```
pub fn encode_compressed(opcode: OpCode, compressed: &[u8], out: &mut Vec<u8>) {
    encode_server_frame(0xC0 | opcode.code(), compressed, out);
}

fn encode_server_frame(first: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.reserve(MAX_SERVER_HEADER + payload.len());
    encode_header(first, payload.len(), None, out);
    out.extend_from_slice(payload);
}

impl OpCode {
    fn code(self) -> u8 {
        match self {
            OpCode::Text => TEXT,
            OpCode::Binary => BINARY,
            OpCode::Close => CLOSE,
            OpCode::Pong => PONG,
        }
    }
}

/// Appends a frame as a client sends it, the inverse of [`Decoder`]: `first` is the frame's
/// first byte as is (FIN, reserved bits, opcode), and the payload is masked with `mask`
/// (sent in clear, without the mask bit, when `None`, which a server must refuse).
///
/// ```
/// use tidings_transports::packet::websocket::{Decoder, Event, encode_client_frame};
///
/// let mut frame = Vec::new();
/// encode_client_frame(0x81, b"4hi", Some([1, 2, 3, 4]), &mut frame);
/// let mut input = &frame[..];
/// assert_eq!(Decoder::new(64).decode(&mut input), Ok(Some(Event::Text("4hi".into()))));
/// ```
pub fn encode_client_frame(first: u8, payload: &[u8], mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    encode_header(first, payload.len(), mask, out);
    match mask {
        Some(mask) => out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4])),
        None => out.extend_from_slice(payload),
    }
}

/// Appends a frame header: the first byte, the length in its shortest form, the mask key.
fn encode_header(first: u8, len: usize, mask: Option<[u8; 4]>, out: &mut Vec<u8>) {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    out.push(first);
    match len {
        0..=125 => out.push(mask_bit | len as u8),
        126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    if let Some(mask) = mask {
        out.extend_from_slice(&mask);
    }
}

/// Appends a close frame with `code` and no reason to `out`.
pub fn encode_close(code: u16, out: &mut Vec<u8>) {
    encode(OpCode::Close, &code.to_be_bytes(), out);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with `mask`.
    fn frame(first: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_client_frame(first, payload, Some(mask), &mut out);
        out
    }

    const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    fn decode_all(bytes: &[u8], max: usize) -> Result<Vec<Event>, FrameError> {
        let mut decoder = Decoder::new(max);
        let mut input = bytes;
        let mut events = Vec::new();
        while let Some(event) = decoder.decode(&mut input)? {
            events.push(event);
        }
        assert!(input.is_empty(), "decoder stopped with input left");
        Ok(events)
    }

    type Case = (Vec<u8>, Result<Vec<Event>, FrameError>);

    #[test]
    fn decodes_frames() {
        let long = vec![b'x'; 300];
        let huge = vec![7u8; 70_000];
        let cases: Vec<Case> = vec![
            (
                frame(0x81, b"4hello", MASK),
                Ok(vec![Event::Text("4hello".into())]),
            ),
            (
                frame(0x82, &[1, 2, 3], MASK),
                Ok(vec![Event::Binary(Bytes::from_static(&[1, 2, 3]))]),
            ),
            (frame(0x81, b"", MASK), Ok(vec![Event::Text("".into())])),
            (
                frame(0x82, &long, MASK),
                Ok(vec![Event::Binary(long.clone().into())]),
            ),
            (
                frame(0x82, &huge, MASK),
                Ok(vec![Event::Binary(huge.clone().into())]),
            ),
            (
                [
                    frame(0x01, b"4he", MASK),
                    frame(0x89, b"p", MASK),
                    frame(0x80, b"llo", MASK),
                ]
                .concat(),
                Ok(vec![
                    Event::Ping(Bytes::from_static(b"p")),
                    Event::Text("4hello".into()),
                ]),
            ),
            (
                [
                    frame(0x02, &[1], MASK),
                    frame(0x00, &[], MASK),
                    frame(0x80, &[2], MASK),
                ]
                .concat(),
                Ok(vec![Event::Binary(Bytes::from_static(&[1, 2]))]),
            ),
            (frame(0x8A, b"x", MASK), Ok(vec![Event::Pong])),
            (
                frame(0x88, &[0x03, 0xE8, b'o', b'k'], MASK),
                Ok(vec![Event::Close(1000)]),
            ),
            (frame(0x88, &[], MASK), Ok(vec![Event::Close(1005)])),
            (
                frame(0x88, &[0x03], MASK),
                Err(FrameError::Protocol("close frame of one byte")),
            ),
            (
                frame(0x88, &[0x03, 0xED], MASK),
                Err(FrameError::Protocol("invalid close code")),
            ),
            (
                frame(0x88, &[0x03, 0xE8, 0xFF], MASK),
                Err(FrameError::InvalidUtf8),
            ),
            (
                frame(0x81, &[b'4', 0xFF], MASK),
                Err(FrameError::InvalidUtf8),
            ),
            (
                vec![0x81, 0x01, b'4'],
                Err(FrameError::Protocol("client frame is not masked")),
            ),
            (
                frame(0xC1, b"4", MASK),
                Err(FrameError::Protocol("reserved bits set")),
            ),
            (
                frame(0x83, b"4", MASK),
                Err(FrameError::Protocol("unknown opcode")),
            ),
            (
                frame(0x80, b"4", MASK),
                Err(FrameError::Protocol("continuation without a message")),
            ),
            (
                [frame(0x01, b"4", MASK), frame(0x81, b"4", MASK)].concat(),
                Err(FrameError::Protocol("new message inside a fragmented one")),
            ),
            (
                frame(0x09, b"", MASK),
                Err(FrameError::Protocol("fragmented or oversize control frame")),
            ),
            (
                frame(0x89, &long, MASK),
                Err(FrameError::Protocol("fragmented or oversize control frame")),
            ),
            (
                frame(0x82, &vec![0; 100_001], MASK),
                Err(FrameError::TooBig),
            ),
            (
                [
                    frame(0x02, &vec![0; 60_000], MASK),
                    frame(0x80, &vec![0; 40_001], MASK),
                ]
                .concat(),
                Err(FrameError::TooBig),
            ),
            (
                vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                Err(FrameError::Protocol("length has its high bit set")),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(
                decode_all(&bytes, 100_000),
                expected,
                "frames {:02x?}",
                &bytes[..bytes.len().min(16)]
            );
        }
    }

    #[test]
    fn inflates_compressed_messages() {
        use crate::packet::deflate::compress;
        let text = "4".to_owned() + &"hello ".repeat(500);
        let zipped = compress(text.as_bytes());
        let bomb = compress(&vec![0; 1_000_000]);
        let cases: Vec<Case> = vec![
            (
                frame(0xC1, &zipped, MASK),
                Ok(vec![Event::Text(text.as_str().into())]),
            ),
            (
                frame(0xC2, &compress(&[1, 2, 3]), MASK),
                Ok(vec![Event::Binary(Bytes::from_static(&[1, 2, 3]))]),
            ),
            // Fragmented: RSV1 on the first frame only.
            (
                [
                    frame(0x41, &zipped[..10], MASK),
                    frame(0x89, b"p", MASK),
                    frame(0x80, &zipped[10..], MASK),
                ]
                .concat(),
                Ok(vec![
                    Event::Ping(Bytes::from_static(b"p")),
                    Event::Text(text.as_str().into()),
                ]),
            ),
            // Uncompressed messages still pass.
            (
                frame(0x81, b"4hi", MASK),
                Ok(vec![Event::Text("4hi".into())]),
            ),
            (frame(0xC2, &bomb, MASK), Err(FrameError::TooBig)),
            (
                frame(0xC1, &compress(&[b'4', 0xFF]), MASK),
                Err(FrameError::InvalidUtf8),
            ),
            (
                frame(0xC1, &[0x07], MASK),
                Err(FrameError::InvalidCompressed),
            ),
            (
                frame(0xC9, b"", MASK),
                Err(FrameError::Protocol(
                    "RSV1 on a control or continuation frame",
                )),
            ),
            (
                [
                    frame(0x41, &zipped[..10], MASK),
                    frame(0xC0, &zipped[10..], MASK),
                ]
                .concat(),
                Err(FrameError::Protocol(
                    "RSV1 on a control or continuation frame",
                )),
            ),
            (
                frame(0xA1, b"4", MASK),
                Err(FrameError::Protocol("reserved bits set")),
            ),
        ];
        for (bytes, expected) in cases {
            let mut decoder = Decoder::new(100_000).inflating();
            let mut input = &bytes[..];
            let mut events = Vec::new();
            let outcome = loop {
                match decoder.decode(&mut input) {
                    Ok(Some(event)) => events.push(event),
                    Ok(None) => break Ok(events),
                    Err(error) => break Err(error),
                }
            };
            assert_eq!(
                outcome,
                expected,
                "frames {:02x?}",
                &bytes[..bytes.len().min(16)]
            );
        }
        // RSV1 without the extension.
        assert_eq!(
            decode_all(&frame(0xC1, &zipped, MASK), 100_000),
            Err(FrameError::Protocol("reserved bits set"))
        );
    }

    #[test]
    fn decodes_in_any_chunking() {
        let stream = [
            frame(0x81, b"4first", MASK),
            frame(0x01, b"4sec", MASK),
            frame(0x89, b"ping", MASK),
            frame(0x80, b"ond", MASK),
            frame(0x82, &[9; 200], MASK),
        ]
        .concat();
        let expected = decode_all(&stream, 1000).expect("valid");
        assert_eq!(expected.len(), 4);
        for chunk in [1, 2, 3, 5, 13, 64] {
            let mut decoder = Decoder::new(1000);
            let mut events = Vec::new();
            for mut part in stream.chunks(chunk) {
                while let Some(event) = decoder.decode(&mut part).expect("valid") {
                    events.push(event);
                }
            }
            assert_eq!(events, expected, "chunk size {chunk}");
            assert!(decoder.is_idle());
        }
    }

    #[test]
    fn encodes_every_length_form() {
        for (len, header) in [
            (0, vec![0x82, 0]),
            (125, vec![0x82, 125]),
            (126, vec![0x82, 126, 0, 126]),
            (65_536, vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]),
        ] {
            let payload = vec![1u8; len];
            let mut out = Vec::new();
            encode(OpCode::Binary, &payload, &mut out);
            assert_eq!(&out[..header.len()], &header[..], "length {len}");
            assert_eq!(&out[header.len()..], &payload[..]);
        }
        let mut close = Vec::new();
        encode_close(1009, &mut close);
        assert_eq!(close, [0x88, 2, 0x03, 0xF1]);
    }
}
