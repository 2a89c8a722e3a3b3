//! The query parameters of an Engine.IO request.

use std::borrow::Cow;

/// The parameters Engine.IO reads from a request's query string, borrowed from it unless
/// they had to be percent-decoded.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Query<'a> {
    /// `EIO`: the protocol version.
    pub(crate) eio: Option<Cow<'a, str>>,
    /// `transport`: the transport's name.
    pub(crate) transport: Option<Cow<'a, str>>,
    /// `sid`: the session, absent on a handshake.
    pub(crate) sid: Option<Cow<'a, str>>,
    /// `j`: the JSONP callback index, for JSONP polling.
    pub(crate) jsonp: Option<Cow<'a, str>>,
}

impl<'a> Query<'a> {
    /// Parses a query string (without the `?`) as `application/x-www-form-urlencoded`; the
    /// first occurrence of a parameter wins. Every request is parsed, and its parameters are
    /// rarely encoded: those that are not are not copied.
    pub(crate) fn parse(query: &'a str) -> Query<'a> {
        let mut out = Query::default();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode(key);
            let slot = match &*key {
                "EIO" => &mut out.eio,
                "transport" => &mut out.transport,
                "sid" => &mut out.sid,
                "j" => &mut out.jsonp,
                _ => continue,
            };
            if slot.is_none() {
                *slot = Some(decode(value));
            }
        }
        out
    }
}

/// Percent-decodes a key or value (`+` is a space), borrowing it when there is nothing to
/// decode.
fn decode(raw: &str) -> Cow<'_, str> {
    if !raw.contains(['%', '+']) {
        return Cow::Borrowed(raw);
    }
    form_urlencoded::parse(raw.as_bytes())
        .next()
        .map(|(decoded, _)| Cow::Owned(decoded.into_owned()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_engine_parameters() {
        let q = Query::parse("EIO=4&transport=polling&t=N8hyd6w&sid=abc%2Dd&j=2&EIO=3");
        assert_eq!(q.eio.as_deref(), Some("4"));
        assert_eq!(q.transport.as_deref(), Some("polling"));
        assert_eq!(q.sid.as_deref(), Some("abc-d"));
        assert_eq!(q.jsonp.as_deref(), Some("2"));
        assert_eq!(Query::parse(""), Query::default());
        let q = Query::parse("&&E%49O=4&transport=a+b&sid&sid=late");
        assert_eq!(q.eio.as_deref(), Some("4"));
        assert_eq!(q.transport.as_deref(), Some("a b"));
        assert_eq!(q.sid.as_deref(), Some(""));
        assert!(matches!(
            Query::parse("EIO=4").eio,
            Some(Cow::Borrowed("4"))
        ));
    }
}
