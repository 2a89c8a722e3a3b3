//! Compressing and inflating one WebSocket message with permessage-deflate (RFC 7692), with no
//! context taken over from the messages before it (see [`extension`](super::extension)).
//!
//! Messages are compressed with the largest window (2^15 bytes), so one compressed form suits
//! every connection. The compressor and decompressor live in a thread-local cache and are reset
//! after each message, so a connection holds none of their state: compression costs memory per
//! worker thread, not per connection.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// What a message ends with after a sync flush; removed before sending, added back to inflate.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The compression level: zlib's fastest. On JSON messages of 1 to 16 KB it takes a third to
/// a quarter of the CPU of the default level (6) for output 10 to 60 % longer (see
/// `docs/transports.md`).
const LEVEL: u32 = 1;

/// Why a compressed message could not be inflated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InflateError {
    /// The message inflates to more than the limit: close code 1009.
    #[error("inflated message too big")]
    TooBig,
    /// The data is not a valid deflate stream: close code 1007.
    #[error("invalid compressed data")]
    Invalid,
}

thread_local! {
    static COMPRESSOR: RefCell<Option<Compress>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompress>> = const { RefCell::new(None) };
}

/// The smallest compression threshold of the engines with permessage-deflate on; `usize::MAX`
/// while none is.
static SHARE_FROM: AtomicUsize = AtomicUsize::new(usize::MAX);

/// Makes messages of at least `threshold` bytes keep their compressed form for their clones,
/// from now on: called when an engine with permessage-deflate starts.
pub(crate) fn share_from(threshold: usize) {
    SHARE_FROM.fetch_min(threshold, Ordering::Relaxed);
}

/// The compressed form of a message, computed by the first connection that sends it
/// compressed and shared by every clone of the message, so a broadcast is compressed once.
/// Empty (no allocation) unless permessage-deflate is on and the message is long enough.
#[derive(Clone, Default)]
pub(crate) struct Shared(Option<Arc<OnceLock<Option<Bytes>>>>);

impl Shared {
    /// The cache for a new message of `len` bytes.
    pub(crate) fn new(len: usize) -> Self {
        let share = len >= SHARE_FROM.load(Ordering::Relaxed);
        Shared(share.then(|| Arc::new(OnceLock::new())))
    }

    /// `payload` compressed, or `None` when that does not make it shorter.
    pub(crate) fn get_or_compress(&self, payload: &[u8]) -> Option<Bytes> {
        let compute = || {
            let compressed = compress(payload);
            (compressed.len() < payload.len()).then(|| Bytes::from(compressed))
        };
        match &self.0 {
            Some(cell) => cell.get_or_init(compute).clone(),
            None => compute(),
        }
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Shared")
    }
}

/// Compresses a whole message as a permessage-deflate payload (the trailing `00 00 ff ff`
/// removed).
///
/// ```
/// use tidings_transports::packet::deflate::{compress, inflate};
///
/// let message = "4".repeat(1000);
/// let compressed = compress(message.as_bytes());
/// assert!(compressed.len() < 20);
/// assert_eq!(inflate(&compressed, 1000).unwrap(), message.as_bytes());
/// ```
pub fn compress(payload: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|compress| {
        let compress =
            compress.get_or_insert_with(|| Compress::new(Compression::new(LEVEL), false));
        let mut out = Vec::with_capacity(payload.len() / 2 + 64);
        let mut input = payload;
        loop {
            let before = compress.total_in();
            let status = compress.compress_vec(input, &mut out, FlushCompress::Sync);
            input = &input[(compress.total_in() - before) as usize..];
            // The flush is complete when the compressor stopped with room to spare.
            if status.is_err() || (input.is_empty() && out.len() < out.capacity()) {
                break;
            }
            out.reserve(out.capacity().max(64));
        }
        compress.reset();
        if out.ends_with(&TAIL) {
            out.truncate(out.len() - TAIL.len());
        }
        if out.is_empty() {
            // An empty message compresses to one empty block (RFC 7692 section 7.2.3.6).
            out.push(0);
        }
        out
    })
}

/// Inflates a permessage-deflate payload into at most `max` bytes. The output grows as it is
/// inflated, so a message that inflates past the limit costs no more than `max` bytes.
///
/// ```
/// use tidings_transports::packet::deflate::{InflateError, compress, inflate};
///
/// let bomb = compress(&vec![0; 1_000_000]);
/// assert!(bomb.len() < 20_000);
/// assert_eq!(inflate(&bomb, 64 * 1024), Err(InflateError::TooBig));
/// assert_eq!(inflate(&[0xff, 0xff], 100), Err(InflateError::Invalid));
/// ```
///
/// # Errors
/// [`InflateError::TooBig`] past `max` bytes, [`InflateError::Invalid`] when the data is not
/// raw deflate.
pub fn inflate(compressed: &[u8], max: usize) -> Result<Vec<u8>, InflateError> {
    DECOMPRESSOR.with_borrow_mut(|decompress| {
        let decompress = decompress.get_or_insert_with(|| Decompress::new(false));
        let result = inflate_with(decompress, compressed, max);
        decompress.reset(false);
        result
    })
}

fn inflate_with(
    decompress: &mut Decompress,
    compressed: &[u8],
    max: usize,
) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::new();
    for part in [compressed, &TAIL[..]] {
        let mut input = part;
        loop {
            if out.len() == out.capacity() {
                if out.len() > max {
                    return Err(InflateError::TooBig);
                }
                // Grow geometrically, never past one byte over the limit.
                let want = (out.capacity() * 2).max(1024).min(max.saturating_add(1));
                out.reserve_exact(want - out.len());
            }
            let before = decompress.total_in();
            let status = decompress
                .decompress_vec(input, &mut out, FlushDecompress::Sync)
                .map_err(|_| InflateError::Invalid)?;
            input = &input[(decompress.total_in() - before) as usize..];
            if out.len() > max {
                return Err(InflateError::TooBig);
            }
            match status {
                // A final block ends the message; whatever follows it is ignored.
                Status::StreamEnd => return Ok(out),
                _ if input.is_empty() && out.len() < out.capacity() => break,
                Status::BufError if !input.is_empty() && out.len() < out.capacity() => {
                    return Err(InflateError::Invalid);
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_size_and_window() {
        let json: Vec<u8> = (0..2000)
            .flat_map(|i| format!("{{\"id\":{i},\"name\":\"user{}\"}},", i % 7).into_bytes())
            .collect();
        for len in [0, 1, 31, 1024, 16 * 1024, json.len()] {
            let compressed = compress(&json[..len]);
            assert!(!compressed.ends_with(&TAIL), "len {len}");
            assert_eq!(
                inflate(&compressed, len).as_deref(),
                Ok(&json[..len]),
                "len {len}"
            );
        }
        let big = compress(&json);
        assert!(
            big.len() * 4 < json.len(),
            "{} of {}",
            big.len(),
            json.len()
        );
    }

    #[test]
    fn clones_of_a_message_share_its_compressed_form() {
        let text = "{\"a\":1},".repeat(200);
        let before = crate::Message::text(&text);
        share_from(1024);
        let message = crate::Message::text(&text);
        let (first, second) = (message.clone().compressed(), message.compressed());
        let (first, second) = (first.expect("shrinks"), second.expect("shrinks"));
        assert_eq!(first.as_ptr(), second.as_ptr(), "compressed once");
        assert_eq!(
            inflate(&first, 2000).as_deref(),
            Ok(message.frame_payload())
        );
        // A message built before compression was on, or too short, compresses each time.
        assert_ne!(
            before.compressed().expect("shrinks").as_ptr(),
            before.compressed().expect("shrinks").as_ptr()
        );
        let short = crate::Message::text("{\"a\":1},".repeat(100));
        assert_ne!(
            short.compressed().expect("shrinks").as_ptr(),
            short.compressed().expect("shrinks").as_ptr()
        );
    }

    #[test]
    fn inflates_exactly_up_to_the_limit() {
        let data = vec![b'a'; 5000];
        let compressed = compress(&data);
        assert_eq!(inflate(&compressed, 5000).map(|d| d.len()), Ok(5000));
        assert_eq!(inflate(&compressed, 4999), Err(InflateError::TooBig));
        assert_eq!(inflate(&compressed, 0), Err(InflateError::TooBig));
    }

    #[test]
    fn refuses_what_is_not_deflate() {
        // Block type 3 is reserved.
        assert_eq!(inflate(&[0x07], 100), Err(InflateError::Invalid));
        // A back reference before the start of the message, as a client that took over its
        // context from an earlier message would send (here: into a preset dictionary).
        let mut primed = Compress::new(Compression::default(), false);
        primed.set_dictionary(b"hello world").expect("sets");
        let mut out = Vec::with_capacity(64);
        primed
            .compress_vec(b"hello world", &mut out, FlushCompress::Sync)
            .expect("compresses");
        assert_eq!(inflate(&out, 100), Err(InflateError::Invalid));
        // A decompressor that failed is usable again.
        assert_eq!(inflate(&compress(b"ok"), 100).as_deref(), Ok(&b"ok"[..]));
    }

    #[test]
    fn accepts_a_final_block() {
        // "hi" as one fixed-Huffman block with BFINAL set, as some clients send it.
        let mut compress = Compress::new(Compression::default(), false);
        let mut out = Vec::with_capacity(64);
        compress
            .compress_vec(b"hi", &mut out, FlushCompress::Finish)
            .expect("compresses");
        assert_eq!(inflate(&out, 10).as_deref(), Ok(&b"hi"[..]));
    }
}
