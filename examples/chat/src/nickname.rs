//! The nickname middleware: a socket gets in with a nickname that is not empty, not too long,
//! and not in use by another connected socket of the cluster.

use serde::Deserialize;
use tidings::{ConnectError, Socket, TryData};

use crate::member::Member;

/// The longest nickname, in characters.
pub(crate) const MAX_CHARS: usize = 20;

/// The CONNECT auth payload the page sends: `{ nickname }`.
#[derive(Deserialize)]
pub(crate) struct Login {
    nickname: String,
}

/// Lets a socket in when its auth payload holds a free, valid nickname, and attaches it as
/// the socket's [`Member`]; refuses it with a message for the page otherwise.
///
/// The check is not atomic across servers: two sockets that log in with the same nickname at
/// the same moment can both get it.
pub(crate) async fn check(
    socket: Socket,
    TryData(login): TryData<Option<Login>>,
) -> Result<(), ConnectError> {
    let Ok(Some(login)) = login else {
        return Err(refusal("choose a nickname"));
    };
    let nickname = valid(&login.nickname).map_err(refusal)?;
    let key = nickname.to_lowercase();
    let taken = socket
        .ns()
        .fetch_sockets()
        .await
        .iter()
        .filter_map(|other| other.data::<Member>())
        .any(|other| other.nickname.to_lowercase() == key);
    if taken {
        return Err(refusal(format!("the nickname {nickname} is taken")));
    }
    socket.set_data(Member { nickname });
    Ok(())
}

/// The refusal the page shows beside the nickname field (`err.data.field`).
fn refusal(message: impl Into<String>) -> ConnectError {
    ConnectError::new(message).with_data(&serde_json::json!({ "field": "nickname" }))
}

/// `nickname` without the spaces around it, if it is one.
pub(crate) fn valid(nickname: &str) -> Result<String, String> {
    let nickname = nickname.trim();
    if nickname.is_empty() {
        return Err("choose a nickname".to_owned());
    }
    if nickname.chars().count() > MAX_CHARS {
        return Err(format!("a nickname has at most {MAX_CHARS} characters"));
    }
    if nickname.chars().any(char::is_control) {
        return Err("a nickname cannot hold control characters".to_owned());
    }
    Ok(nickname.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_nicknames() {
        let long = "n".repeat(MAX_CHARS + 1);
        let wide = "é".repeat(MAX_CHARS);
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("alice", Ok("alice")),
            ("  bob ", Ok("bob")),
            ("Zoë 🦀", Ok("Zoë 🦀")),
            (&wide, Ok(&wide)),
            ("", Err("choose a nickname")),
            ("   ", Err("choose a nickname")),
            (&long, Err("a nickname has at most 20 characters")),
            ("a\u{7}b", Err("a nickname cannot hold control characters")),
            ("a\nb", Err("a nickname cannot hold control characters")),
        ];
        for (nickname, expected) in cases {
            let expected = expected.map(str::to_owned).map_err(str::to_owned);
            assert_eq!(valid(nickname), expected, "{nickname:?}");
        }
    }
}
