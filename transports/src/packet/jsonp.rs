//! JSONP long-polling, for old browsers without CORS: the `j` query parameter.
//!
//! A GET is answered with a script that hands the payload to the client's callback:
//! `___eio[3]("4hello");`. A POST carries the payload as the form field `d`
//! (`application/x-www-form-urlencoded`), in which the client escaped newlines as `\n` and
//! literal `\n` sequences as `\\n`.

use bytes::Bytes;

use super::DecodeError;

/// Wraps an encoded payload in the JSONP script for callback `index`.
///
/// Only the digits of `index` are kept, so a crafted `j` cannot inject script.
///
/// ```
/// use tidings_transports::packet::jsonp;
///
/// assert_eq!(jsonp::wrap("3", b"4\"hi\""), br#"___eio[3]("4\"hi\"");"#);
/// assert_eq!(jsonp::wrap("1]);alert(1);//", b"6"), br#"___eio[11]("6");"#);
/// ```
pub fn wrap(index: &str, payload: &[u8]) -> Vec<u8> {
    let payload = String::from_utf8_lossy(payload);
    let literal = serde_json::Value::String(payload.into_owned()).to_string();
    let mut out = Vec::with_capacity(literal.len() + index.len() + 12);
    out.extend_from_slice(b"___eio[");
    out.extend(index.bytes().filter(u8::is_ascii_digit));
    out.extend_from_slice(b"](");
    // JSON allows U+2028 and U+2029 in strings, JavaScript before ES2019 does not.
    for ch in literal.chars() {
        match ch {
            '\u{2028}' => out.extend_from_slice(b"\\u2028"),
            '\u{2029}' => out.extend_from_slice(b"\\u2029"),
            _ => out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes()),
        }
    }
    out.extend_from_slice(b");");
    out
}

/// Extracts the payload from a JSONP POST body.
///
/// ```
/// use tidings_transports::packet::jsonp;
///
/// assert_eq!(&jsonp::decode_body(b"d=4a%5Cnb").unwrap()[..], b"4a\nb");
/// assert!(jsonp::decode_body(b"x=1").is_err());
/// ```
pub fn decode_body(body: &[u8]) -> Result<Bytes, DecodeError> {
    let data = form_urlencoded::parse(body)
        .find(|(key, _)| key == "d")
        .map(|(_, value)| value)
        .ok_or(DecodeError::MissingJsonpData)?;
    Ok(unescape_newlines(data.as_bytes()).into())
}

/// Turns `\n` back into a newline and `\\n` back into `\n`.
fn unescape_newlines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        match (data[i], data.get(i + 1), data.get(i + 2)) {
            (b'\\', Some(b'\\'), Some(b'n')) => {
                out.extend_from_slice(b"\\n");
                i += 3;
            }
            (b'\\', Some(b'n'), _) => {
                out.push(b'\n');
                i += 2;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_payloads() {
        let cases: &[(&str, &[u8], &[u8])] = &[
            ("0", b"6", br#"___eio[0]("6");"#),
            ("", b"6", br#"___eio[]("6");"#),
            ("12", b"4a\x1e4b", br#"___eio[12]("4a\u001e4b");"#),
            (
                "1",
                "4\u{2028}\u{2029}".as_bytes(),
                br#"___eio[1]("4\u2028\u2029");"#,
            ),
            ("1", b"4</script>\\", br#"___eio[1]("4</script>\\");"#),
        ];
        for (index, payload, expected) in cases {
            assert_eq!(
                wrap(index, payload),
                *expected,
                "{}",
                String::from_utf8_lossy(&wrap(index, payload))
            );
        }
    }

    type Case = (&'static [u8], Result<&'static [u8], DecodeError>);

    #[test]
    fn decodes_bodies() {
        let cases: &[Case] = &[
            (b"d=4hello", Ok(b"4hello")),
            (b"d=4hello+world", Ok(b"4hello world")),
            (b"x=1&d=4a%1E4b", Ok(b"4a\x1e4b")),
            (br"d=4line\nbreak", Ok(b"4line\nbreak")),
            (br"d=4literal\\n", Ok(br"4literal\n")),
            (br"d=4keep\\\\n", Ok(br"4keep\\\n")),
            (br"d=4other\t", Ok(br"4other\t")),
            (b"", Err(DecodeError::MissingJsonpData)),
            (b"data=4", Err(DecodeError::MissingJsonpData)),
        ];
        for (body, expected) in cases {
            let got = decode_body(body);
            assert_eq!(
                got.as_deref().map_err(|e| *e),
                *expected,
                "body {}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
