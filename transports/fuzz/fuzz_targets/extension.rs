//! `extension::negotiate` on arbitrary `Sec-WebSocket-Extensions` values (see docs/fuzzing.md).
//!
//! Input: header values separated by `\n`.
//! - It never panics, and an accepted offer answers with both no-context-takeover
//!   parameters, and with `server_max_window_bits=15` exactly when an accepted offer had it.
//! - A value the server accepts stays accepted, with the same answer, when whitespace is
//!   added around its separators or an unrelated extension is put before it; splitting one
//!   value at a list comma into two header lines changes nothing.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tidings_transports::packet::extension::negotiate;

fuzz_target!(|data: &[u8]| {
    let values: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
    let Some(deflate) = negotiate(values.iter().copied()) else {
        return;
    };
    let answer = deflate.response();
    assert!(
        answer.starts_with(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        ),
        "answer {answer:?} for {data:?}"
    );
    assert!(
        answer.ends_with("takeover") || answer.ends_with("; server_max_window_bits=15"),
        "answer {answer:?} for {data:?}"
    );

    let mut prefixed = vec![&b"x-other; a=1"[..]];
    prefixed.extend(values.iter().copied());
    assert_eq!(
        negotiate(prefixed).map(|d| d.response()),
        Some(answer.clone()),
        "an unrelated extension first changed the outcome for {data:?}"
    );

    // Only outside quoted strings: spaces around `;`, `,` and `=` are allowed there.
    if !data.contains(&b'"') {
        let spaced: Vec<Vec<u8>> = values
            .iter()
            .map(|value| {
                value
                    .iter()
                    .flat_map(|&b| match b {
                        b';' | b',' | b'=' => vec![b' ', b, b'\t'],
                        _ => vec![b],
                    })
                    .collect()
            })
            .collect();
        assert_eq!(
            negotiate(spaced.iter().map(Vec::as_slice)).map(|d| d.response()),
            Some(answer.clone()),
            "added whitespace changed the outcome for {data:?}"
        );
        let lines: Vec<&[u8]> = values
            .iter()
            .flat_map(|value| value.split(|&b| b == b','))
            .collect();
        assert_eq!(
            negotiate(lines).map(|d| d.response()),
            Some(answer),
            "splitting at commas changed the outcome for {data:?}"
        );
    }
});
