//! The query parameters of an Engine.IO request.

/// The parameters Engine.IO reads from a request's query string.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Query {
    /// `EIO`: the protocol version.
    pub(crate) eio: Option<String>,
    /// `transport`: the transport's name.
    pub(crate) transport: Option<String>,
    /// `sid`: the session, absent on a handshake.
    pub(crate) sid: Option<String>,
    /// `j`: the JSONP callback index, for JSONP polling.
    pub(crate) jsonp: Option<String>,
}

impl Query {
    /// Parses a query string (without the `?`); the first occurrence of a parameter wins.
    pub(crate) fn parse(query: &str) -> Query {
        let mut out = Query::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            let slot = match &*key {
                "EIO" => &mut out.eio,
                "transport" => &mut out.transport,
                "sid" => &mut out.sid,
                "j" => &mut out.jsonp,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.into_owned());
        }
        out
    }
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
    }
}
