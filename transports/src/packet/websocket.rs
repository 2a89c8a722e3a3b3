//! WebSocket framing (RFC 6455) as a server speaks it: a decoder of client frames and an
//! encoder of server frames. No extension is negotiated, so the reserved bits must be clear.
//!
//! The decoder keeps no buffer between frames: it copies (and unmasks) each payload straight
//! into the message it belongs to, sized from the frame header, and holds at most an
//! incomplete header (14 bytes) while it waits for more input. An idle connection therefore
//! costs nothing here, whatever the size of the messages it once carried.

use bytes::Bytes;
use tungstenite::Utf8Bytes;

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
}

impl FrameError {
    /// The close code that answers this error.
    pub fn close_code(&self) -> u16 {
        match self {
            FrameError::Protocol(_) => 1002,
            FrameError::TooBig => 1009,
            FrameError::InvalidUtf8 => 1007,
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

/// A decoder of the frames a client sends.
#[derive(Debug)]
pub struct Decoder {
    max_message: usize,
    header: [u8; 14],
    header_len: usize,
    frame: Option<Frame>,
    /// The data message being assembled: whether it is text, and its bytes so far.
    message: Option<(bool, Vec<u8>)>,
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
            frame: None,
            message: None,
            control: Vec::new(),
        }
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
                &mut self.message.as_mut().expect("a data frame has a message").1
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
        let need = if self.header_len < 2 {
            2
        } else {
            header_len(self.header[1])
        };
        let take = (need - self.header_len).min(input.len());
        self.header[self.header_len..self.header_len + take].copy_from_slice(&input[..take]);
        self.header_len += take;
        *input = &input[take..];
        if self.header_len < need {
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
        let (fin, reserved, opcode) = (header[0] & 0x80 != 0, header[0] & 0x70, header[0] & 0x0F);
        if reserved != 0 {
            return Err(FrameError::Protocol("reserved bits set"));
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
                    (Some((_, data)), _) => data.len() as u64,
                    (None, _) => 0,
                };
                if so_far + length > self.max_message as u64 {
                    return Err(FrameError::TooBig);
                }
                match &mut self.message {
                    Some((_, data)) => data.reserve_exact(length as usize),
                    None => {
                        let data = Vec::with_capacity(length as usize);
                        self.message = Some((opcode == TEXT, data));
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
                let (text, data) = self.message.take().expect("a data frame has a message");
                let data = Bytes::from(data);
                if text {
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
    let code = match opcode {
        OpCode::Text => TEXT,
        OpCode::Binary => BINARY,
        OpCode::Close => CLOSE,
        OpCode::Pong => PONG,
    };
    out.reserve(MAX_SERVER_HEADER + payload.len());
    encode_header(0x80 | code, payload.len(), None, out);
    out.extend_from_slice(payload);
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
