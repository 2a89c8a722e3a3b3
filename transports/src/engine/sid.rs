//! Session ids: 20 URL-safe characters drawn from 15 random bytes.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const LEN: usize = 20;

/// The id of an Engine.IO session, as sent in the handshake and the `sid` query parameter.
///
/// It holds 120 random bits from a cryptographically secure generator, so it cannot be guessed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; LEN]);

impl Sid {
    /// A new random id.
    pub fn new() -> Self {
        let random: [u8; 15] = rand::random();
        let mut id = [0; LEN];
        let written = URL_SAFE_NO_PAD
            .encode_slice(random, &mut id)
            .expect("15 bytes are 20 base64 characters");
        debug_assert_eq!(written, LEN);
        Sid(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64 is ASCII")
    }
}

impl Default for Sid {
    fn default() -> Self {
        Self::new()
    }
}

/// The text is not a session id that this server could have made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed session id")]
pub struct InvalidSid;

impl FromStr for Sid {
    type Err = InvalidSid;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; LEN] = s.as_bytes().try_into().map_err(|_| InvalidSid)?;
        if bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        {
            Ok(Sid(bytes))
        } else {
            Err(InvalidSid)
        }
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_parse_back_and_differ() {
        let a = Sid::new();
        let b = Sid::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(a.as_str().parse::<Sid>(), Ok(a));
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "short",
            "aaaaaaaaaaaaaaaaaaaaa",
            "aaaaaaaaaaaaaaaaaaa=",
            "aaaaaaaaaaaaaaaaaaa\u{e9}",
        ] {
            assert_eq!(bad.parse::<Sid>(), Err(InvalidSid), "{bad:?}");
        }
    }
}
