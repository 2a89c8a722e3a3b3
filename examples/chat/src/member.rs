//! [`Member`]: who a socket is, kept as the socket's data and taken by handlers as an
//! extractor.

use serde::{Deserialize, Serialize};
use tidings::{Context, FromContext};

/// The person behind a socket. The nickname middleware attaches it
/// ([`Socket::set_data`](tidings::Socket::set_data)); recovery brings it back with the socket,
/// and other servers of a cluster read it in `fetch_sockets`.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct Member {
    pub(crate) nickname: String,
}

impl Member {
    /// The room that holds this member's sockets: delivery marks for their messages go there.
    pub(crate) fn inbox(&self) -> String {
        inbox(&self.nickname)
    }
}

/// The inbox room of `nickname`.
pub(crate) fn inbox(nickname: &str) -> String {
    format!("@{nickname}")
}

/// A handler that takes a [`Member`] runs only for sockets the middleware let in.
impl FromContext for Member {
    type Error = &'static str;

    fn from_context(context: &Context) -> Result<Self, Self::Error> {
        context
            .socket()
            .data::<Member>()
            .map(|member| Member::clone(&member))
            .ok_or("the socket has no nickname")
    }
}
