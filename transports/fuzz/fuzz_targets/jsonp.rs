//! JSONP: `jsonp::decode_body` on arbitrary bytes and `jsonp::wrap` on an arbitrary callback
//! index and payload.
//!
//! Properties of `decode_body`:
//! - it never panics, and fails exactly when the form has no `d` field;
//! - unescaping only shortens: the result is at most as long as the first `d` value;
//! - what the engine.io client sends round-trips: the client replaces `\n` (backslash, `n`) by
//!   `\\n` and a newline by `\n`, then form-encodes the text as `d`. That is ambiguous for a
//!   backslash right before a newline (`\` + newline and `\n` both become `\\n`), so the
//!   round trip is asserted for every text without that pair.
//!
//! Properties of `wrap(index, payload)` (the input is split: the first byte gives the length of
//! the index, the rest is the payload):
//! - the output is `___eio[`, the digits of `index` and nothing else, `](`, a JavaScript string
//!   literal, `);`;
//! - the literal is a JSON string holding the payload (as lossy UTF-8), with no raw U+2028 or
//!   U+2029 (line terminators for pre-ES2019 JavaScript) and no raw line break.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_transports::DecodeError;
use tidings_transports::packet::jsonp;

fuzz_target!(|input: &[u8]| {
    check_decode_body(input);
    check_client_round_trip(&String::from_utf8_lossy(input));

    let split = match input.first() {
        Some(&n) => (1 + usize::from(n % 16)).min(input.len()),
        None => 0,
    };
    let index = String::from_utf8_lossy(input.get(1..split).unwrap_or_default());
    check_wrap(&index, &input[split..]);
});

fn check_decode_body(body: &[u8]) {
    let first_d = form_urlencoded::parse(body).find(|(key, _)| key == "d");
    match (jsonp::decode_body(body), first_d) {
        (Ok(data), Some((_, value))) => {
            assert!(data.len() <= value.len(), "{data:?} from {value:?}");
            // No escape is left half-applied: a newline only comes from `\n`.
            let newlines = data.iter().filter(|&&b| b == b'\n').count();
            let raw_newlines = value.bytes().filter(|&b| b == b'\n').count();
            assert!(newlines >= raw_newlines);
        }
        (Err(DecodeError::MissingJsonpData), None) => {}
        (got, first_d) => panic!("decode_body {body:?} gave {got:?}, first d field {first_d:?}"),
    }
}

/// What the engine.io client does before posting (polling-jsonp `doWrite`).
fn client_escape(text: &str) -> String {
    text.replace("\\n", "\\\n").replace('\n', "\\n")
}

fn check_client_round_trip(text: &str) {
    let body = format!(
        "d={}",
        form_urlencoded::byte_serialize(client_escape(text).as_bytes()).collect::<String>()
    );
    let decoded = jsonp::decode_body(body.as_bytes()).expect("the body has a d field");
    if !text.contains("\\\n") {
        assert_eq!(
            std::str::from_utf8(&decoded),
            Ok(text),
            "client text {text:?} posted as {body:?}"
        );
    }
}

fn check_wrap(index: &str, payload: &[u8]) {
    let out = jsonp::wrap(index, payload);
    let out = std::str::from_utf8(&out).expect("the script is UTF-8");

    let rest = out.strip_prefix("___eio[").expect("starts with ___eio[");
    let close = rest.find(']').expect("the index is closed");
    let digits = &rest[..close];
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{out:?}");
    let expected: String = index.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits, expected);

    let literal = rest[close..]
        .strip_prefix("](")
        .and_then(|r| r.strip_suffix(");"))
        .expect("a call with one argument");
    assert!(
        !literal.contains(['\u{2028}', '\u{2029}', '\n', '\r']),
        "{literal:?}"
    );
    let value: String = serde_json::from_str(literal).expect("a JSON string literal");
    assert_eq!(value, String::from_utf8_lossy(payload));
}
