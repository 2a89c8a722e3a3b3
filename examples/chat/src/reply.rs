//! [`Reply`]: how the server answers every event of the chat.

use serde::Serialize;
use tidings::{AckSender, DataError};

/// The answer to an event: `{ "ok": value }`, or `{ "error": "what went wrong" }` for the
/// page to show. Bad input always gets an error, never silence.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Reply<T> {
    Ok(T),
    Error(String),
}

impl<T: Serialize> Reply<T> {
    /// Sends the reply, when the client asked for one.
    pub(crate) fn send(self, ack: AckSender) {
        let _ = ack.send(&self);
    }
}

impl<T> From<Result<T, String>> for Reply<T> {
    fn from(result: Result<T, String>) -> Self {
        match result {
            Ok(value) => Reply::Ok(value),
            Err(error) => Reply::Error(error),
        }
    }
}

/// The error for arguments that do not have the shape an event expects.
pub(crate) fn malformed(event: &str, error: DataError) -> String {
    format!("malformed {event}: {error}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_as_ok_or_error() {
        let ok = serde_json::to_string(&Reply::<u32>::from(Ok(7))).expect("serializes");
        assert_eq!(ok, r#"{"ok":7}"#);
        let error = Reply::<u32>::from(Err("no".to_owned()));
        let error = serde_json::to_string(&error).expect("serializes");
        assert_eq!(error, r#"{"error":"no"}"#);
    }
}
