//! HTTP compression of long-polling responses: choosing a content coding from the request's
//! `Accept-Encoding`, and compressing the body with it.
//!
//! gzip is preferred, then deflate (the zlib format, as HTTP's `deflate` coding is), as in
//! Node's engine.io. Only whole responses are compressed: an SSE stream would need a flush
//! after every event, which costs most of what compression saves on small events.

use std::cell::RefCell;

use flate2::{Compress, Compression, FlushCompress, Status};
use http::HeaderMap;
use http::header::{self, HeaderValue};

/// A content coding the server can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    Gzip,
    Deflate,
}

impl Coding {
    fn name(self) -> &'static str {
        match self {
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }
}

thread_local! {
    /// A gzip and a zlib compressor, reset after each response: setting one up costs about as
    /// much as compressing a 1 KiB body.
    static COMPRESSORS: RefCell<[Option<Compress>; 2]> = const { RefCell::new([None, None]) };
}

/// `body` compressed whole with `coding`; `None` if the compressor fails.
fn compress(body: &[u8], coding: Coding) -> Option<Vec<u8>> {
    COMPRESSORS.with_borrow_mut(|compressors| {
        let compress = compressors[coding as usize].get_or_insert_with(|| match coding {
            Coding::Gzip => Compress::new_gzip(Compression::fast(), 15),
            Coding::Deflate => Compress::new(Compression::fast(), true),
        });
        let mut out = Vec::with_capacity(body.len() / 3 + 64);
        let mut input = body;
        let result = loop {
            let before = compress.total_in();
            match compress.compress_vec(input, &mut out, FlushCompress::Finish) {
                Ok(Status::StreamEnd) => break Some(out),
                Ok(_) => {
                    input = &input[(compress.total_in() - before) as usize..];
                    out.reserve(out.capacity().max(64));
                }
                Err(_) => break None,
            }
        };
        compress.reset();
        result
    })
}

/// The coding to answer with: gzip if the request accepts it, else deflate, else none.
/// A coding with `q=0` is refused; `*` stands for any coding not named.
pub(crate) fn choose(headers: &HeaderMap) -> Option<Coding> {
    let (mut gzip, mut deflate, mut any) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let accepted = parts.all(|param| {
                let param = param.trim();
                let Some(q) = param
                    .strip_prefix("q=")
                    .or_else(|| param.strip_prefix("Q="))
                else {
                    return true;
                };
                q.trim().parse::<f32>().is_ok_and(|q| q > 0.0)
            });
            let slot = if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
                &mut gzip
            } else if name.eq_ignore_ascii_case("deflate") {
                &mut deflate
            } else if name == "*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(accepted);
        }
    }
    if gzip.or(any) == Some(true) {
        Some(Coding::Gzip)
    } else if deflate.or(any) == Some(true) {
        Some(Coding::Deflate)
    } else {
        None
    }
}

/// Compresses `body` with `coding` when it is at least `threshold` bytes long, and sets
/// `Content-Encoding` and `Vary` in `headers`; otherwise hands `body` back as is.
pub(crate) fn encode(
    body: Vec<u8>,
    coding: Option<Coding>,
    threshold: usize,
    headers: &mut HeaderMap,
) -> Vec<u8> {
    if body.len() < threshold {
        return body;
    }
    // Whether this response is compressed depends on the request's `Accept-Encoding`.
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    let Some(coding) = coding else {
        return body;
    };
    match compress(&body, coding) {
        Some(compressed) => {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(coding.name()),
            );
            compressed
        }
        None => body,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::{GzDecoder, ZlibDecoder};

    use super::*;

    fn accept(values: &[&str]) -> Option<Coding> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).expect("valid"),
            );
        }
        choose(&headers)
    }

    #[test]
    fn chooses_a_coding() {
        let cases: &[(&[&str], Option<Coding>)] = &[
            (&[], None),
            (&["identity"], None),
            (&["gzip, deflate, br"], Some(Coding::Gzip)),
            (&["deflate"], Some(Coding::Deflate)),
            (&["br", "deflate;q=0.5"], Some(Coding::Deflate)),
            (&["GZIP"], Some(Coding::Gzip)),
            (&["gzip;q=0, deflate"], Some(Coding::Deflate)),
            (&["gzip; q=0.0, deflate;q=0"], None),
            (&["*"], Some(Coding::Gzip)),
            (&["*;q=0"], None),
            (&["gzip;q=0, *"], Some(Coding::Deflate)),
            (&["gzip;q=bad"], None),
            (&[",,;"], None),
        ];
        for (values, expected) in cases {
            assert_eq!(accept(values), *expected, "Accept-Encoding {values:?}");
        }
    }

    #[test]
    fn compresses_from_the_threshold() {
        let body = b"4hello ".repeat(300);
        let mut headers = HeaderMap::new();
        assert_eq!(
            encode(
                body.clone(),
                Some(Coding::Gzip),
                body.len() + 1,
                &mut headers
            ),
            body
        );
        assert!(headers.is_empty(), "{headers:?}");

        // Twice: the reused compressor starts each body afresh.
        for _ in 0..2 {
            let gzipped = encode(body.clone(), Some(Coding::Gzip), body.len(), &mut headers);
            assert_eq!(headers[header::CONTENT_ENCODING], "gzip");
            assert_eq!(headers[header::VARY], "Accept-Encoding");
            let mut plain = Vec::new();
            GzDecoder::new(&gzipped[..])
                .read_to_end(&mut plain)
                .expect("gunzips");
            assert_eq!(plain, body);
        }

        for _ in 0..2 {
            let mut headers = HeaderMap::new();
            let deflated = encode(body.clone(), Some(Coding::Deflate), 0, &mut headers);
            assert_eq!(headers[header::CONTENT_ENCODING], "deflate");
            let mut plain = Vec::new();
            ZlibDecoder::new(&deflated[..])
                .read_to_end(&mut plain)
                .expect("inflates");
            assert_eq!(plain, body);
        }

        let mut headers = HeaderMap::new();
        assert_eq!(encode(body.clone(), None, 0, &mut headers), body);
        assert_eq!(headers[header::VARY], "Accept-Encoding");
        assert!(!headers.contains_key(header::CONTENT_ENCODING));
    }
}
