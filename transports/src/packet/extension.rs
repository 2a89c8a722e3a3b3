//! Negotiating permessage-deflate (RFC 7692): reading the client's `Sec-WebSocket-Extensions`
//! offers and choosing the configuration the server answers with.
//!
//! The server always answers with `server_no_context_takeover` (RFC 7692 lets it add the
//! parameter to any offer) so that each message it sends is compressed on its own and one
//! compressed frame can go to every recipient of a broadcast, and with
//! `client_no_context_takeover` (which it may also add) so that each message from the client
//! can be inflated on its own: a connection keeps no compression state between messages.
//!
//! The server compresses with the largest window, so that one compressed message suits every
//! client: an offer that limits the server's window below 2^15 bytes is declined (clients
//! that send one add an offer without it).
//!
//! Anything malformed (bad syntax, an unknown or repeated parameter, a value out of range) is
//! never an error: a malformed header means no extension, and an offer the server cannot
//! accept is skipped for the next one.

/// The LZ77 window the server compresses with, as a power of two: the largest RFC 7692 allows.
const WINDOW_BITS: u8 = 15;

/// The accepted permessage-deflate configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deflate {
    /// Whether the offer had `server_max_window_bits=15`, which the answer must repeat.
    server_max_window_bits: bool,
}

impl Deflate {
    /// The `Sec-WebSocket-Extensions` value that accepts the offer.
    ///
    /// ```
    /// use tidings_transports::packet::extension::negotiate;
    ///
    /// let deflate = negotiate([&b"permessage-deflate; client_max_window_bits"[..]]).unwrap();
    /// assert_eq!(
    ///     deflate.response(),
    ///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    /// );
    /// ```
    pub fn response(&self) -> String {
        let mut response = String::from(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        );
        if self.server_max_window_bits {
            response.push_str("; server_max_window_bits=15");
        }
        response
    }
}

/// Chooses the first permessage-deflate offer the server can accept from the values of the
/// client's `Sec-WebSocket-Extensions` headers; `None` when there is none or a value is
/// malformed.
///
/// ```
/// use tidings_transports::packet::extension::negotiate;
///
/// let offers = [&b"permessage-deflate; server_max_window_bits=10, permessage-deflate"[..]];
/// assert_eq!(negotiate(offers).map(|d| d.response()).as_deref(), Some(
///     "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
/// ));
/// assert_eq!(negotiate([&b"permessage-deflate; x"[..]]), None);
/// assert_eq!(negotiate([&b"permessage-deflate;;"[..]]), None);
/// ```
pub fn negotiate<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Deflate> {
    let mut chosen = None;
    for value in values {
        let mut parser = Parser {
            input: value,
            at: 0,
        };
        while let Some(offer) = parser.next_extension()? {
            if chosen.is_none() && offer.name == b"permessage-deflate" {
                chosen = accept(&offer.params);
            }
        }
    }
    chosen
}

/// The configuration for an offer's parameters, or `None` to decline it.
fn accept(params: &[(&[u8], Option<Vec<u8>>)]) -> Option<Deflate> {
    let mut seen = [false; 4];
    let mut deflate = Deflate {
        server_max_window_bits: false,
    };
    for (name, value) in params {
        let index = match *name {
            b"server_no_context_takeover" => 0,
            b"client_no_context_takeover" => 1,
            b"server_max_window_bits" => 2,
            b"client_max_window_bits" => 3,
            _ => return None,
        };
        if std::mem::replace(&mut seen[index], true) {
            return None;
        }
        match (index, value) {
            (0 | 1, None) => {}
            (2, Some(value)) => {
                if window_bits(value)? < WINDOW_BITS {
                    return None;
                }
                deflate.server_max_window_bits = true;
            }
            // Any window the client compresses with inflates with the largest one.
            (3, None) => {}
            (3, Some(value)) => {
                window_bits(value)?;
            }
            _ => return None,
        }
    }
    Some(deflate)
}

/// A window size value: `8` to `15`, digits only, no leading zero.
fn window_bits(value: &[u8]) -> Option<u8> {
    match value {
        [digit @ b'8'..=b'9'] => Some(digit - b'0'),
        [b'1', digit @ b'0'..=b'5'] => Some(10 + digit - b'0'),
        _ => None,
    }
}

/// One extension of the list, with its parameters in order.
struct Extension<'a> {
    name: &'a [u8],
    params: Vec<(&'a [u8], Option<Vec<u8>>)>,
}

/// A reader of `extension-list` (RFC 6455 section 9.1, with RFC 7230's list rules).
struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Parser<'a> {
    /// The next extension: `Ok(None)` at the end, `None` when the list is malformed.
    fn next_extension(&mut self) -> Option<Option<Extension<'a>>> {
        loop {
            self.skip_space();
            match self.peek() {
                None => return Some(None),
                // Empty list elements are allowed.
                Some(b',') => self.at += 1,
                Some(_) => break,
            }
        }
        let name = self.token()?;
        let mut params = Vec::new();
        loop {
            self.skip_space();
            match self.peek() {
                None => break,
                Some(b',') => {
                    self.at += 1;
                    break;
                }
                Some(b';') => {
                    self.at += 1;
                    self.skip_space();
                    let param = self.token()?;
                    self.skip_space();
                    let value = if self.peek() == Some(b'=') {
                        self.at += 1;
                        self.skip_space();
                        Some(self.value()?)
                    } else {
                        None
                    };
                    params.push((param, value));
                }
                Some(_) => return None,
            }
        }
        Some(Some(Extension { name, params }))
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// A non-empty token.
    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.at;
        while self.peek().is_some_and(is_tchar) {
            self.at += 1;
        }
        (self.at > start).then(|| &self.input[start..self.at])
    }

    /// A token or a quoted string, unescaped.
    fn value(&mut self) -> Option<Vec<u8>> {
        if self.peek() != Some(b'"') {
            return self.token().map(<[u8]>::to_vec);
        }
        self.at += 1;
        let mut value = Vec::new();
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b'"' => return Some(value),
                b'\\' => {
                    value.push(self.peek()?);
                    self.at += 1;
                }
                _ => value.push(byte),
            }
        }
    }
}

/// Whether a byte may appear in a token (RFC 7230 `tchar`).
fn is_tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether an offer was accepted, and with `server_max_window_bits=15` if so.
    fn bits(values: &[&str]) -> Option<bool> {
        negotiate(values.iter().map(|v| v.as_bytes())).map(|d| d.server_max_window_bits)
    }

    #[test]
    fn chooses_the_first_acceptable_offer() {
        let cases: &[(&[&str], Option<bool>)] = &[
            (&["permessage-deflate"], Some(false)),
            (&["permessage-deflate; client_max_window_bits"], Some(false)),
            (
                &["permessage-deflate; client_max_window_bits=10"],
                Some(false),
            ),
            (
                &["permessage-deflate; client_max_window_bits=\"12\""],
                Some(false),
            ),
            (
                &["permessage-deflate; server_max_window_bits=15"],
                Some(true),
            ),
            (
                &["permessage-deflate;server_max_window_bits = \"15\""],
                Some(true),
            ),
            (
                &["permessage-deflate; server_no_context_takeover; client_no_context_takeover"],
                Some(false),
            ),
            // Declined offers are skipped for the next one.
            (
                &[
                    "permessage-deflate; server_max_window_bits=12, permessage-deflate; server_max_window_bits=15",
                ],
                Some(true),
            ),
            (
                &["x-webkit-deflate-frame", "permessage-deflate"],
                Some(false),
            ),
            (&["foo; a=1, , permessage-deflate"], Some(false)),
            (&["PERMESSAGE-DEFLATE"], None),
            (&["x-webkit-deflate-frame"], None),
            (&[], None),
            (&[""], None),
            // Offers the server declines.
            (&["permessage-deflate; server_max_window_bits=8"], None),
            (&["permessage-deflate; server_max_window_bits=14"], None),
            (&["permessage-deflate; server_max_window_bits"], None),
            (&["permessage-deflate; server_max_window_bits=16"], None),
            (&["permessage-deflate; server_max_window_bits=010"], None),
            (&["permessage-deflate; client_max_window_bits=7"], None),
            (&["permessage-deflate; server_no_context_takeover=1"], None),
            (
                &["permessage-deflate; client_no_context_takeover; client_no_context_takeover"],
                None,
            ),
            (&["permessage-deflate; unknown"], None),
            // Malformed headers: no extension at all, even with a good offer beside them.
            (&["permessage-deflate; server_max_window_bits=\"10"], None),
            (&["permessage-deflate;"], None),
            (&["permessage-deflate; =1"], None),
            (&["permessage-deflate x"], None),
            (&["permessage-deflate, @"], None),
            (&["permessage-deflate", "a;"], None),
            (&["per\u{e9}message-deflate"], None),
        ];
        for (values, expected) in cases {
            assert_eq!(bits(values), *expected, "offers {values:?}");
        }
    }

    #[test]
    fn answers_with_both_no_context_takeover_parameters() {
        let deflate = negotiate([&b"permessage-deflate; server_max_window_bits=15"[..]]);
        assert_eq!(
            deflate.map(|d| d.response()).as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=15"
            )
        );
    }

    #[test]
    fn unescapes_quoted_values() {
        assert_eq!(
            bits(&["permessage-deflate; server_max_window_bits=\"1\\5\""]),
            Some(true)
        );
        assert_eq!(
            bits(&["permessage-deflate; server_max_window_bits=\"1\\"]),
            None
        );
    }
}
